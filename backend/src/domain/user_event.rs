//! What a signed-in user is told as it happens (the event stream, `GET /api/v1/events`).
//!
//! One type is both what services publish on the event bus and what the spec declares, so the
//! two cannot drift: a kind that is published is a variant here, and the stream passes every
//! variant on. The wire form is a JSON object tagged by `type`.

use poem_openapi::{Object, Union};
use serde::{Deserialize, Serialize};

use super::{JobState, OrderState};
use crate::infra::events::EventBus;

/// One event for one user, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Union, Serialize, Deserialize)]
#[oai(discriminator_name = "type", one_of)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserEvent {
    /// A job's state or processing progress changed.
    #[oai(mapping = "job")]
    Job(JobEvent),
    /// A job failed after payment and was refunded (to the wallet at once, or through the
    /// original channel, settled later by `refund_settled`).
    #[oai(mapping = "refund")]
    Refund(RefundEvent),
    /// A refund through WeChat Pay / Alipay settled (or fell back to the wallet).
    #[oai(mapping = "refund_settled")]
    RefundSettled(RefundSettledEvent),
    /// A payment order was paid.
    #[oai(mapping = "payment")]
    Payment(PaymentEvent),
    /// A paid release could not be carried out; the payment stays in the wallet.
    #[oai(mapping = "payment_held")]
    PaymentHeld(PaymentHeldEvent),
    /// A scan arrived in the user's scan records (during their scan session).
    #[oai(mapping = "scan")]
    Scan(ScanEvent),
}

/// A scan arrived.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
pub struct ScanEvent {
    /// The scan record.
    pub scan_id: String,
    /// The scan session that claimed it.
    pub session_id: String,
    /// Its name.
    pub name: String,
    /// Pages scanned.
    pub pages: i64,
    /// `free`, `paid` (charged to the wallet) or `unpaid` (the wallet could not cover it).
    pub charge: String,
}

/// A job's state or progress changed.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
#[oai(skip_serializing_if_is_none)]
pub struct JobEvent {
    /// The job.
    pub job_id: String,
    /// Its state now.
    pub state: JobState,
    /// Processing progress, 0-100.
    pub progress: i64,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub error_code: Option<String>,
}

/// A failed paid job was refunded.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
#[oai(skip_serializing_if_is_none)]
pub struct RefundEvent {
    /// The job.
    pub job_id: String,
    /// Its state now (`failed`).
    pub state: JobState,
    /// Processing progress, 0-100.
    pub progress: i64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub error_code: Option<String>,
    /// How much comes back, fen.
    pub refund_fen: i64,
    /// `wallet` (credited now) or `original` (back through WeChat Pay / Alipay).
    pub channel: String,
}

/// A refund through the original channel settled.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
#[oai(skip_serializing_if_is_none)]
pub struct RefundSettledEvent {
    /// The refunded job, when the refund was for a job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub job_id: Option<String>,
    /// `succeeded`.
    pub state: String,
    /// How much came back, fen.
    pub refund_fen: i64,
    /// `original` (the provider paid it back) or `wallet` (the provider could not, so the
    /// wallet was credited instead).
    pub channel: String,
}

/// A payment order was paid.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
pub struct PaymentEvent {
    /// The order.
    pub order_id: String,
    /// `paid`.
    pub state: OrderState,
    /// The amount paid, fen.
    pub amount_fen: i64,
}

/// A paid release could not be carried out; the money is in the wallet.
#[derive(Debug, Clone, PartialEq, Object, Serialize, Deserialize)]
pub struct PaymentHeldEvent {
    /// The order.
    pub order_id: String,
    /// The amount now in the wallet, fen.
    pub amount_fen: i64,
}

/// The event-bus topic of one user's events.
pub fn user_topic(user_id: &str) -> String {
    format!("user:{user_id}")
}

impl UserEvent {
    /// Tells the user (on whichever instance holds their stream). Best effort: an event lost
    /// here is only a late screen update; the state itself is in the database.
    pub async fn publish(&self, events: &dyn EventBus, user_id: &str) {
        let payload = match serde_json::to_string(self) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a user event");
                return;
            }
        };
        if let Err(e) = events.publish(&user_topic(user_id), &payload).await {
            tracing::warn!(error = %e, "cannot publish a user event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_the_wire_form() {
        let all = [
            UserEvent::Job(JobEvent { job_id: "j".into(), state: JobState::Ready, progress: 100, error_code: None }),
            UserEvent::Refund(RefundEvent {
                job_id: "j".into(),
                state: JobState::Failed,
                progress: 100,
                error_code: Some("printer_failed".into()),
                refund_fen: 20,
                channel: "wallet".into(),
            }),
            UserEvent::RefundSettled(RefundSettledEvent {
                job_id: None,
                state: "succeeded".into(),
                refund_fen: 5,
                channel: "original".into(),
            }),
            UserEvent::Payment(PaymentEvent { order_id: "o".into(), state: OrderState::Paid, amount_fen: 100 }),
            UserEvent::PaymentHeld(PaymentHeldEvent { order_id: "o".into(), amount_fen: 100 }),
            UserEvent::Scan(ScanEvent {
                scan_id: "s".into(),
                session_id: "x".into(),
                name: "a.pdf".into(),
                pages: 2,
                charge: "paid".into(),
            }),
        ];
        let kinds = ["job", "refund", "refund_settled", "payment", "payment_held", "scan"];
        for (event, kind) in all.iter().zip(kinds) {
            let wire = serde_json::to_value(event).ok();
            assert_eq!(wire.as_ref().and_then(|w| w["type"].as_str()), Some(kind));
            // The spec's form (poem-openapi) and the bus's form (serde) are the same JSON.
            assert_eq!(poem_openapi::types::ToJSON::to_json(event), wire);
            let back: Option<UserEvent> = wire.and_then(|w| serde_json::from_value(w).ok());
            assert_eq!(back.as_ref(), Some(event));
        }
    }
}
