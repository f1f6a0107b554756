//! Server-sent events for a signed-in user: job progress and state changes as they happen,
//! from whichever instance did the work.

use futures_util::{stream::BoxStream, StreamExt};
use poem_openapi::{payload::EventStream, Object, OpenApi};

use super::{security::UserAuth, ApiTags};
use crate::infra::events::EventBus;

pub struct EventsApi {
    pub events: std::sync::Arc<dyn EventBus>,
}

/// Something about one of the user's jobs changed.
#[derive(Debug, Object, serde::Deserialize)]
pub struct UserEvent {
    /// `job` (its state or progress changed) or `refund` (it failed after payment and was
    /// refunded).
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// The job.
    pub job_id: String,
    /// Its state now.
    pub state: String,
    /// Processing progress, 0-100.
    pub progress: i64,
    /// Why it failed, if it did.
    pub error_code: Option<String>,
    /// For `refund`: how much came back, fen.
    #[serde(default)]
    pub refund_fen: Option<i64>,
    /// For `refund`: `wallet` or `original` (back through WeChat Pay / Alipay).
    #[serde(default)]
    pub channel: Option<String>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// A `text/event-stream` of the user's job events, kept alive with comments every 15 s.
    #[oai(path = "/events", method = "get", operation_id = "user_events")]
    async fn stream(&self, auth: UserAuth) -> EventStream<BoxStream<'static, UserEvent>> {
        let events = self
            .events
            .subscribe(&format!("user:{}", auth.0.user_id))
            .filter_map(|e| async move { serde_json::from_str::<UserEvent>(&e.payload).ok() })
            .boxed();
        EventStream::new(events).keep_alive(std::time::Duration::from_secs(15))
    }
}
