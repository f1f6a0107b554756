//! Server-sent events for a signed-in user: job progress, refunds and payments as they happen,
//! from whichever instance did the work.

use futures_util::{stream::BoxStream, StreamExt};
use poem_openapi::{payload::EventStream, OpenApi};

use super::{error::ApiError, security::UserAuth, ApiTags};
use crate::{
    domain::{user_topic, UserEvent},
    infra::events::EventBus,
};

pub struct EventsApi {
    pub events: std::sync::Arc<dyn EventBus>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// A `text/event-stream` of the user's events (`job`, `refund`, `refund_settled`,
    /// `payment`, `payment_held`, told apart by `type`), kept alive with comments every 15 s.
    #[oai(path = "/events", method = "get", operation_id = "user_events")]
    /// Its errors are the API's (401 without a valid token, 403 for an admin's), declared
    /// with the stream so that clients are generated for both.
    async fn stream(&self, auth: UserAuth) -> Result<EventStream<BoxStream<'static, UserEvent>>, ApiError> {
        let events = self
            .events
            .subscribe(&user_topic(&auth.0.user_id))
            .filter_map(|e| async move {
                // Every publisher writes a `UserEvent`; anything else on the topic is a bug,
                // logged rather than passed on half-understood.
                match serde_json::from_str::<UserEvent>(&e.payload) {
                    Ok(event) => Some(event),
                    Err(error) => {
                        tracing::error!(%error, "an unreadable user event was dropped");
                        None
                    }
                }
            })
            .boxed();
        Ok(EventStream::new(events).keep_alive(std::time::Duration::from_secs(15)))
    }
}
