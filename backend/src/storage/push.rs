//! Push subscriptions, the delivery log (with workers' leases), and the platform's own keys.

use sqlx::{Any, AnyPool, Transaction};

const SUB_COLS: &str = "id, owner_kind, owner_id, endpoint, p256dh, auth, device_name, created_at, last_delivered_at";
const SUBS_OF_OWNER: &str = "SELECT id, owner_kind, owner_id, endpoint, p256dh, auth, device_name, created_at, \
    last_delivered_at FROM push_subscriptions WHERE owner_kind = $1 AND owner_id = $2 ORDER BY created_at, id";
const DELIVERY_COLS: &str = "id, idempotency_key, channel, subscription_id, wechat_app_id, wechat_openid, owner_kind, \
    owner_id, topic_kind, topic_id, payload, state, attempts, next_attempt_at, lease_until, last_result, created_at, \
    delivered_at";

/// A device's Web Push subscription.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    /// `admin` or `user`.
    pub owner_kind: String,
    pub owner_id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub device_name: String,
    pub created_at: i64,
    pub last_delivered_at: Option<i64>,
}

/// A WeChat app a user is bound to, with its message templates ('' when none).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WechatDestinationRow {
    pub app_id: String,
    pub openid: String,
    /// `official_account` or `mini_program`.
    pub kind: String,
    pub job_template_id: String,
    pub printed_template_id: String,
    pub failed_template_id: String,
}

impl WechatDestinationRow {
    /// The template that carries news of `event` (`printed`, `failed`), if the app has one.
    pub fn template_for(&self, event: &str) -> Option<&str> {
        let template = match (self.kind.as_str(), event) {
            ("official_account", _) => &self.job_template_id,
            ("mini_program", "printed") => &self.printed_template_id,
            ("mini_program", "failed") => &self.failed_template_id,
            _ => return None,
        };
        Some(template.as_str()).filter(|t| !t.is_empty())
    }
}

/// One message to one destination, and how its delivery went.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub idempotency_key: String,
    /// `web_push` or `wechat`.
    pub channel: String,
    pub subscription_id: Option<String>,
    pub wechat_app_id: Option<String>,
    pub wechat_openid: Option<String>,
    pub owner_kind: String,
    pub owner_id: String,
    pub topic_kind: String,
    pub topic_id: String,
    pub payload: String,
    /// `pending`, `delivered`, `failed` or `dropped`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: i64,
    pub last_result: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Clone)]
pub struct PushRepo {
    pool: AnyPool,
}

impl PushRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    // ---- subscriptions ----

    /// Stores a subscription. The endpoint is the device: subscribing it again (new keys, or
    /// another account signed in on it) replaces what was stored. Returns the stored row.
    pub async fn put_subscription(&self, s: &SubscriptionRow) -> Result<SubscriptionRow, sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO push_subscriptions ({SUB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (endpoint) DO UPDATE SET owner_kind = excluded.owner_kind, owner_id = excluded.owner_id, \
             p256dh = excluded.p256dh, auth = excluded.auth, device_name = excluded.device_name"
        ))
        .bind(&s.id)
        .bind(&s.owner_kind)
        .bind(&s.owner_id)
        .bind(&s.endpoint)
        .bind(&s.p256dh)
        .bind(&s.auth)
        .bind(&s.device_name)
        .bind(s.created_at)
        .bind(s.last_delivered_at)
        .execute(&self.pool)
        .await?;
        sqlx::query_as(&format!("SELECT {SUB_COLS} FROM push_subscriptions WHERE endpoint = $1"))
            .bind(&s.endpoint)
            .fetch_one(&self.pool)
            .await
    }

    pub async fn subscriptions_of(
        &self,
        owner_kind: &str,
        owner_id: &str,
    ) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
        sqlx::query_as(SUBS_OF_OWNER).bind(owner_kind).bind(owner_id).fetch_all(&self.pool).await
    }

    pub async fn subscriptions_of_in(
        tx: &mut Transaction<'_, Any>,
        owner_kind: &str,
        owner_id: &str,
    ) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
        sqlx::query_as(SUBS_OF_OWNER).bind(owner_kind).bind(owner_id).fetch_all(&mut **tx).await
    }

    /// Where a user hears through WeChat: each official account of theirs with a template for
    /// job outcomes, and each mini-program with subscription templates.
    pub async fn wechat_destinations_in(
        tx: &mut Transaction<'_, Any>,
        user_id: &str,
    ) -> Result<Vec<WechatDestinationRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT wi.app_id, wi.openid, wa.kind, wa.job_template_id, wa.printed_template_id, wa.failed_template_id \
             FROM wechat_identities wi JOIN wechat_apps wa ON wa.app_id = wi.app_id \
             AND wa.enterprise_id = wi.enterprise_id \
             WHERE wi.user_id = $1 AND ((wa.kind = 'official_account' AND wa.job_template_id <> '') \
             OR (wa.kind = 'mini_program' AND (wa.printed_template_id <> '' OR wa.failed_template_id <> ''))) \
             ORDER BY wi.app_id, wi.openid",
        )
        .bind(user_id)
        .fetch_all(&mut **tx)
        .await
    }

    pub async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SUB_COLS} FROM push_subscriptions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Removes a subscription of this owner; false when they have none by that id.
    pub async fn remove_subscription(&self, id: &str, owner_kind: &str, owner_id: &str) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND owner_kind = $2 AND owner_id = $3")
            .bind(id)
            .bind(owner_kind)
            .bind(owner_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Forgets a subscription the push service says is gone.
    pub async fn drop_subscription(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    // ---- deliveries ----

    /// Queues a delivery; one with the same idempotency key already queued is kept instead.
    pub async fn queue_in(tx: &mut Transaction<'_, Any>, d: &DeliveryRow) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(&format!(
            "INSERT INTO push_deliveries ({DELIVERY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18) ON CONFLICT (idempotency_key) DO NOTHING"
        ))
        .bind(&d.id)
        .bind(&d.idempotency_key)
        .bind(&d.channel)
        .bind(&d.subscription_id)
        .bind(&d.wechat_app_id)
        .bind(&d.wechat_openid)
        .bind(&d.owner_kind)
        .bind(&d.owner_id)
        .bind(&d.topic_kind)
        .bind(&d.topic_id)
        .bind(&d.payload)
        .bind(&d.state)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(d.lease_until)
        .bind(&d.last_result)
        .bind(d.created_at)
        .bind(d.delivered_at)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Claims up to `limit` due deliveries until `lease_until`: each is claimed by one worker
    /// of one instance (the claim is a conditional update), and comes back if it dies.
    pub async fn claim_due(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM push_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 AND lease_until < $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for (id,) in due {
            let won = sqlx::query(
                "UPDATE push_deliveries SET lease_until = $2 WHERE id = $1 AND state = 'pending' AND lease_until < $3",
            )
            .bind(&id)
            .bind(lease_until)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if won == 1 {
                let row: Option<DeliveryRow> =
                    sqlx::query_as(&format!("SELECT {DELIVERY_COLS} FROM push_deliveries WHERE id = $1"))
                        .bind(&id)
                        .fetch_optional(&self.pool)
                        .await?;
                claimed.extend(row);
            }
        }
        Ok(claimed)
    }

    /// Records an attempt's outcome and releases the claim.
    pub async fn finish_attempt(&self, d: &DeliveryRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE push_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, lease_until = 0, \
             last_result = $5, delivered_at = $6 WHERE id = $1",
        )
        .bind(&d.id)
        .bind(&d.state)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(&d.last_result)
        .bind(d.delivered_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_delivered_to(&self, subscription_id: &str, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE push_subscriptions SET last_delivered_at = $2 WHERE id = $1")
            .bind(subscription_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The deliveries about one alert or job, oldest first.
    pub async fn deliveries_of(&self, topic_kind: &str, topic_id: &str) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM push_deliveries WHERE topic_kind = $1 AND topic_id = $2 ORDER BY created_at, id"
        ))
        .bind(topic_kind)
        .bind(topic_id)
        .fetch_all(&self.pool)
        .await
    }

    // ---- platform keys ----

    pub async fn platform_key(&self, name: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT sealed FROM platform_keys WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Stores a key unless one by that name exists (another instance made it first).
    pub async fn put_platform_key_once(&self, name: &str, sealed: &[u8], now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO platform_keys (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
