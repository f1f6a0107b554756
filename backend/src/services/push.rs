//! Push (智能推送): admins' and users' devices subscribe (Web Push); alerts and job outcomes
//! are queued as deliveries in the same transaction as what they announce, and a worker on
//! every instance sends them — woken at once through the event bus, retried with backoff,
//! dropping subscriptions the push service says are gone (404 / 410).

use std::{sync::Arc, time::Duration};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{
    infra::{
        cache::Cache,
        events::EventBus,
        new_id, now_ms,
        secrets::{SecretBox, SecretError},
    },
    push::web_push::{PushOptions, PushOutcome, PushSubscription, Urgency, VapidKey, WebPushClient},
    services::{
        authz::{AdminPrincipal, UserPrincipal},
        tenants::TenantService,
        wechat::WechatClient,
    },
    storage::push::{DeliveryRow, PushRepo, SubscriptionRow},
};

mod wechat;
pub use wechat::job_outcome_message;

/// The event-bus topic that wakes the delivery workers.
const PUSH_TOPIC: &str = "push";
/// Attempts before a delivery is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// A worker's claim on a delivery while it sends it.
const LEASE_MS: i64 = 30_000;
/// How long a push service keeps an undelivered message for an offline device.
const TTL_SECS: u32 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("not found")]
    NotFound,
    /// The subscription is not one a browser gives (endpoint, keys).
    #[error("invalid subscription: {0}")]
    InvalidSubscription(String),
    #[error("platform key: {0}")]
    Key(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Who a push is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Admin(String),
    User(String),
}

impl Recipient {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Recipient::Admin(id) => ("admin", id),
            Recipient::User(id) => ("user", id),
        }
    }

    pub fn of_admin(a: &AdminPrincipal) -> Self {
        Recipient::Admin(a.admin_id.clone())
    }

    pub fn of_user(u: &UserPrincipal) -> Self {
        Recipient::User(u.user_id.clone())
    }
}

/// What a push is about, for the delivery log and its idempotency key: the same event of the
/// same topic is delivered once per destination.
#[derive(Debug, Clone)]
pub struct Topic {
    /// `alert` or `job`.
    pub kind: &'static str,
    pub id: String,
    /// `raised`, `printed`, `refunded`, ….
    pub event: &'static str,
}

/// The message the app's service worker shows (mobile/public/sw.js reads these fields).
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub title: String,
    pub body: String,
    /// Where a tap on it leads, in the app.
    pub url: String,
    /// A later notification with the same tag replaces the earlier one on the device.
    pub tag: String,
    /// The alert level (1 is urgent); none for job news.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// For job news: the facts WeChat's subscription messages are filled from (their fields
    /// are typed, not free text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobNews>,
}

/// The facts of a job's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobNews {
    pub file_name: String,
    /// What was refunded, fen (a paid job that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_fen: Option<i64>,
}

/// A subscription as the browser's `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone)]
pub struct SubscriptionInput {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub device_name: String,
}

/// A subscription as its owner sees it (no keys).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub endpoint: String,
    pub device_name: String,
    pub created_at: i64,
    pub last_delivered_at: Option<i64>,
}

impl From<SubscriptionRow> for Subscription {
    fn from(r: SubscriptionRow) -> Self {
        Self {
            id: r.id,
            endpoint: r.endpoint,
            device_name: r.device_name,
            created_at: r.created_at,
            last_delivered_at: r.last_delivered_at,
        }
    }
}

/// One line of the delivery log.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub channel: String,
    pub recipient: Recipient,
    pub subscription_id: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_result: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

impl From<DeliveryRow> for Delivery {
    fn from(d: DeliveryRow) -> Self {
        let recipient =
            if d.owner_kind == "admin" { Recipient::Admin(d.owner_id) } else { Recipient::User(d.owner_id) };
        Self {
            id: d.id,
            channel: d.channel,
            recipient,
            subscription_id: d.subscription_id,
            state: d.state,
            attempts: d.attempts,
            last_result: d.last_result,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// What sending WeChat template messages needs: the official accounts' credentials, the
/// WeChat API, the shared access-token cache, and where the app's pages are.
#[derive(Clone)]
pub struct WechatChannel {
    pub tenants: TenantService,
    pub client: WechatClient,
    pub cache: Arc<dyn Cache>,
    pub public_base_url: String,
}

#[derive(Clone)]
pub struct PushService {
    repo: PushRepo,
    secrets: SecretBox,
    events: Arc<dyn EventBus>,
    subject: String,
    client: Arc<tokio::sync::OnceCell<WebPushClient>>,
    wechat: WechatChannel,
}

impl PushService {
    pub fn new(
        repo: PushRepo,
        secrets: SecretBox,
        events: Arc<dyn EventBus>,
        subject: &str,
        wechat: WechatChannel,
    ) -> Self {
        Self { repo, secrets, events, subject: subject.into(), client: Arc::default(), wechat }
    }

    pub fn repo(&self) -> &PushRepo {
        &self.repo
    }

    // ---- the platform's VAPID key ----

    /// The key pushes are signed with: made once, sealed, shared by every instance.
    async fn vapid_key(&self) -> Result<VapidKey, PushError> {
        const NAME: &str = "vapid";
        const CONTEXT: &str = "platform_key:vapid";
        if self.repo.platform_key(NAME).await?.is_none() {
            let fresh = base64::engine::general_purpose::STANDARD.encode(VapidKey::generate().to_bytes());
            self.repo.put_platform_key_once(NAME, &self.secrets.seal(&fresh, CONTEXT), now_ms()).await?;
        }
        // Read back: if another instance stored one first, theirs is the key.
        let sealed = self.repo.platform_key(NAME).await?.ok_or_else(|| PushError::Key("vanished".into()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.secrets.open(&sealed, CONTEXT)?)
            .map_err(|e| PushError::Key(e.to_string()))?;
        VapidKey::from_bytes(&bytes).map_err(|e| PushError::Key(e.to_string()))
    }

    async fn client(&self) -> Result<&WebPushClient, PushError> {
        self.client
            .get_or_try_init(|| async { Ok(WebPushClient::new(self.vapid_key().await?, self.subject.clone())) })
            .await
    }

    /// The applicationServerKey a browser subscribes with (base64url, uncompressed P-256).
    pub async fn public_key(&self) -> Result<String, PushError> {
        Ok(self.vapid_key().await?.public_key_base64url())
    }

    // ---- subscriptions ----

    /// Subscribes a device of `owner`. The same endpoint again replaces it (new keys, or
    /// another account on the same device).
    pub async fn subscribe(&self, owner: &Recipient, input: SubscriptionInput) -> Result<Subscription, PushError> {
        let sub = PushSubscription { endpoint: input.endpoint, p256dh: input.p256dh, auth: input.auth };
        sub.validate().map_err(|e| PushError::InvalidSubscription(e.to_string()))?;
        let (kind, id) = owner.parts();
        let row = SubscriptionRow {
            id: new_id(),
            owner_kind: kind.into(),
            owner_id: id.into(),
            endpoint: sub.endpoint,
            p256dh: sub.p256dh,
            auth: sub.auth,
            device_name: input.device_name,
            created_at: now_ms(),
            last_delivered_at: None,
        };
        Ok(self.repo.put_subscription(&row).await?.into())
    }

    pub async fn subscriptions(&self, owner: &Recipient) -> Result<Vec<Subscription>, PushError> {
        let (kind, id) = owner.parts();
        Ok(self.repo.subscriptions_of(kind, id).await?.into_iter().map(Into::into).collect())
    }

    pub async fn unsubscribe(&self, owner: &Recipient, id: &str) -> Result<(), PushError> {
        let (kind, owner_id) = owner.parts();
        if self.repo.remove_subscription(id, kind, owner_id).await? {
            Ok(())
        } else {
            Err(PushError::NotFound)
        }
    }

    /// The delivery log of one alert or job.
    pub async fn deliveries(&self, topic_kind: &str, topic_id: &str) -> Result<Vec<Delivery>, PushError> {
        Ok(self.repo.deliveries_of(topic_kind, topic_id).await?.into_iter().map(Into::into).collect())
    }

    // ---- queueing and delivering ----

    /// Queues `notification` to every device of `recipient` (and, for a user who signed in
    /// through an official account with a job template or a mini-program with subscription
    /// templates, to their WeChat), inside the caller's
    /// transaction, so a push exists exactly when what it announces does. Call
    /// [`PushService::wake`] after the commit.
    pub async fn enqueue_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        recipient: &Recipient,
        topic: &Topic,
        notification: &Notification,
    ) -> Result<usize, sqlx::Error> {
        let (kind, owner_id) = recipient.parts();
        let payload = serde_json::to_string(notification).unwrap_or_else(|_| "{}".into());
        let now = now_ms();
        let delivery = |channel: &str, destination: &str| DeliveryRow {
            id: new_id(),
            idempotency_key: format!("{}:{}:{}:{channel}:{destination}", topic.kind, topic.id, topic.event),
            channel: channel.into(),
            subscription_id: None,
            wechat_app_id: None,
            wechat_openid: None,
            owner_kind: kind.into(),
            owner_id: owner_id.into(),
            topic_kind: topic.kind.into(),
            topic_id: topic.id.clone(),
            payload: payload.clone(),
            state: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            lease_until: 0,
            last_result: String::new(),
            created_at: now,
            delivered_at: None,
        };
        let mut queued = 0;
        for s in PushRepo::subscriptions_of_in(tx, kind, owner_id).await? {
            let d = DeliveryRow { subscription_id: Some(s.id.clone()), ..delivery("web_push", &s.id) };
            queued += usize::from(PushRepo::queue_in(tx, &d).await?);
        }
        if let Recipient::User(user_id) = recipient {
            for dest in PushRepo::wechat_destinations_in(tx, user_id).await? {
                let Some(template) = dest.template_for(topic.event) else { continue };
                let d = DeliveryRow {
                    wechat_app_id: Some(dest.app_id.clone()),
                    wechat_openid: Some(dest.openid.clone()),
                    payload: wechat::payload(notification, &dest.kind, template, topic.event),
                    ..delivery("wechat", &format!("{}:{}", dest.app_id, dest.openid))
                };
                queued += usize::from(PushRepo::queue_in(tx, &d).await?);
            }
        }
        Ok(queued)
    }

    /// Wakes the delivery workers of every instance.
    pub async fn wake(&self) {
        if let Err(e) = self.events.publish(PUSH_TOPIC, "wake").await {
            tracing::warn!(error = %e, "could not wake the push workers; they poll");
        }
    }

    /// Runs the delivery worker until `stop`: on a wake-up, and every few seconds for
    /// retries that fall due.
    pub fn spawn_worker(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        use futures_util::StreamExt;
        let me = self.clone();
        let mut wakes = self.events.subscribe_signals(PUSH_TOPIC);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = wakes.next() => {}
                    _ = stop.changed() => return,
                }
                loop {
                    match me.deliver_due().await {
                        Ok(tried) if tried > 0 && !*stop.borrow() => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "push delivery round failed; retrying on the next tick");
                            break;
                        }
                    }
                }
            }
        })
    }

    /// Sends the deliveries that are due; how many it tried.
    #[tracing::instrument(skip_all)]
    pub async fn deliver_due(&self) -> Result<usize, PushError> {
        let now = now_ms();
        let claimed = self.repo.claim_due(now, now + LEASE_MS, 32).await?;
        let tried = claimed.len();
        let sends = claimed.into_iter().map(|d| self.deliver_one(d));
        for result in futures_util::future::join_all(sends).await {
            if let Err(e) = result {
                tracing::warn!(error = %e, "push delivery could not be recorded");
            }
        }
        Ok(tried)
    }

    async fn deliver_one(&self, mut d: DeliveryRow) -> Result<(), PushError> {
        let outcome = match (d.subscription_id.as_deref(), d.wechat_app_id.as_deref(), d.wechat_openid.as_deref()) {
            (Some(id), _, _) => match self.repo.subscription(id).await? {
                Some(s) => self.send_web_push(&s, &d.payload).await,
                None => Attempt::Gone("subscription removed".into()),
            },
            (None, Some(app_id), Some(openid)) => self.send_wechat(app_id, openid, &d.payload).await,
            _ => Attempt::Failed("no destination".into()),
        };
        let now = now_ms();
        d.attempts += 1;
        match outcome {
            Attempt::Delivered => {
                d.state = "delivered".into();
                d.delivered_at = Some(now);
                d.last_result = "201".into();
                if let Some(id) = &d.subscription_id {
                    self.repo.mark_delivered_to(id, now).await?;
                }
            }
            Attempt::Gone(why) => {
                d.state = "dropped".into();
                d.last_result = why;
                if let Some(id) = &d.subscription_id {
                    self.repo.drop_subscription(id).await?;
                }
            }
            Attempt::Retry { after, why } if d.attempts < MAX_ATTEMPTS => {
                d.next_attempt_at = now + backoff_ms(d.attempts, after);
                d.last_result = why;
            }
            Attempt::Retry { why, .. } | Attempt::Failed(why) => {
                d.state = "failed".into();
                d.last_result = why;
            }
        }
        tracing::info!(delivery = %d.id, state = %d.state, attempts = d.attempts, result = %d.last_result, "push attempt");
        self.repo.finish_attempt(&d).await?;
        Ok(())
    }

    async fn send_web_push(&self, s: &SubscriptionRow, payload: &str) -> Attempt {
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => return Attempt::Retry { after: None, why: format!("vapid key: {e}") },
        };
        let sub = PushSubscription { endpoint: s.endpoint.clone(), p256dh: s.p256dh.clone(), auth: s.auth.clone() };
        let level = serde_json::from_str::<serde_json::Value>(payload).ok().and_then(|v| v.get("level")?.as_u64());
        let urgent = level == Some(1);
        let options = PushOptions {
            ttl_secs: TTL_SECS,
            urgency: if urgent { Urgency::High } else { Urgency::Normal },
            topic: None,
        };
        match client.send(&sub, payload.as_bytes(), &options).await {
            Ok(PushOutcome::Delivered) => Attempt::Delivered,
            Ok(PushOutcome::Gone) => Attempt::Gone("gone (404/410)".into()),
            Ok(PushOutcome::Retry { after }) => Attempt::Retry { after, why: "push service busy".into() },
            Ok(PushOutcome::Rejected { status }) => Attempt::Failed(format!("rejected {status}")),
            Err(e) => Attempt::Retry { after: None, why: e.to_string() },
        }
    }
}

/// How one send went.
pub(super) enum Attempt {
    Delivered,
    Gone(String),
    Retry { after: Option<Duration>, why: String },
    Failed(String),
}

/// Wait before attempt `attempts + 1`: doubling from 1 s, at most 10 min, and never sooner
/// than the push service asked (Retry-After).
pub fn backoff_ms(attempts: i64, asked: Option<Duration>) -> i64 {
    let exp = 1_000i64.saturating_mul(1 << attempts.clamp(0, 20)).min(600_000);
    let asked = asked.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    exp.max(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        assert_eq!(backoff_ms(0, None), 1_000);
        assert_eq!(backoff_ms(1, None), 2_000);
        assert_eq!(backoff_ms(3, None), 8_000);
        assert_eq!(backoff_ms(30, None), 600_000);
        assert_eq!(backoff_ms(1, Some(Duration::from_secs(30))), 30_000);
        assert_eq!(backoff_ms(9, Some(Duration::from_secs(1))), 512_000);
    }
}
