//! Payment orders (WeChat Pay / Alipay) and the notifications accepted for them. An order
//! leaves `pending` once, by a conditional UPDATE inside the caller's transaction.

use sqlx::{Any, AnyPool, Transaction};

use super::{
    print_points::{admin_unrestricted, ScopedAdmin},
    users::visible_user,
};
use crate::domain::{OrderPurpose, OrderState, PayMethod, Payee, PaymentProvider, RefundState, ReleaseOutcome};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentOrderRow {
    pub id: String,
    pub out_trade_no: String,
    pub enterprise_id: String,
    /// The paying user (None for a bill: no wallet is involved).
    pub user_id: Option<String>,
    /// Parsed when read, like the state.
    pub purpose: OrderPurpose,
    /// Parsed when read, like the state.
    pub provider: PaymentProvider,
    pub method: PayMethod,
    pub payee_kind: Payee,
    pub payee_id: String,
    pub app_id: String,
    pub merchant_id: String,
    pub amount_fen: i64,
    /// `pending`, `paid` or `closed`.
    pub state: OrderState,
    pub provider_trade_no: Option<String>,
    pub payer: Option<String>,
    /// `notification` or `query`: what settled it.
    pub settled_by: Option<String>,
    pub release_id: Option<String>,
    pub print_point_id: Option<String>,
    /// Comma-separated job ids a release order pays for.
    pub job_ids: String,
    /// For a paid release order: `released`, or `held` (the money stayed in the wallet
    /// because the jobs could not be released any more).
    pub release_outcome: Option<ReleaseOutcome>,
    pub created_at: i64,
    pub expires_at: i64,
    pub settled_at: Option<i64>,
    pub next_check_at: i64,
    pub check_attempts: i64,
    /// For a bill: the bill, and the admin who started paying it.
    pub bill_id: Option<String>,
    pub admin_id: Option<String>,
}

const COLS: &str = "id, out_trade_no, enterprise_id, user_id, purpose, provider, method, payee_kind, payee_id, \
                    app_id, merchant_id, amount_fen, state, provider_trade_no, payer, settled_by, release_id, \
                    print_point_id, job_ids, release_outcome, created_at, expires_at, settled_at, next_check_at, \
                    check_attempts, bill_id, admin_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRefundRow {
    pub id: String,
    /// Our refund number at the provider (its idempotency key there too).
    pub out_refund_no: String,
    pub order_id: String,
    pub job_id: Option<String>,
    pub amount_fen: i64,
    /// `pending`, `succeeded` or `failed`.
    pub state: RefundState,
    pub created_at: i64,
    pub settled_at: Option<i64>,
    pub next_check_at: i64,
    pub check_attempts: i64,
}

const REFUND_COLS: &str =
    "id, out_refund_no, order_id, job_id, amount_fen, state, created_at, settled_at, next_check_at, check_attempts";

#[derive(Clone)]
pub struct PaymentOrderRepo {
    pool: AnyPool,
}

impl PaymentOrderRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, o: &PaymentOrderRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO payment_orders ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)"
        ))
        .bind(&o.id)
        .bind(&o.out_trade_no)
        .bind(&o.enterprise_id)
        .bind(&o.user_id)
        .bind(o.purpose)
        .bind(o.provider)
        .bind(o.method)
        .bind(o.payee_kind)
        .bind(&o.payee_id)
        .bind(&o.app_id)
        .bind(&o.merchant_id)
        .bind(o.amount_fen)
        .bind(o.state)
        .bind(&o.provider_trade_no)
        .bind(&o.payer)
        .bind(&o.settled_by)
        .bind(&o.release_id)
        .bind(&o.print_point_id)
        .bind(&o.job_ids)
        .bind(o.release_outcome)
        .bind(o.created_at)
        .bind(o.expires_at)
        .bind(o.settled_at)
        .bind(o.next_check_at)
        .bind(o.check_attempts)
        .bind(&o.bill_id)
        .bind(&o.admin_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a bill has an order still open for payment at `now`.
    #[tracing::instrument(skip_all)]
    pub async fn bill_order_open(&self, bill_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM payment_orders WHERE bill_id = $1 AND state = 'pending' AND expires_at > $2 LIMIT 1",
        )
        .bind(bill_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, id: &str) -> Result<Option<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM payment_orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_out_trade_no(&self, out_trade_no: &str) -> Result<Option<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM payment_orders WHERE out_trade_no = $1"))
            .bind(out_trade_no)
            .fetch_optional(&self.pool)
            .await
    }

    /// A user's orders, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn of_user(&self, user_id: &str, limit: i64) -> Result<Vec<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM payment_orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// An enterprise's orders, newest first; a region or group admin sees those of the users
    /// they see (and not the enterprise's bill payments, which no user makes).
    #[tracing::instrument(skip_all)]
    pub async fn of_enterprise(
        &self,
        enterprise_id: &str,
        state: Option<OrderState>,
        viewer: &ScopedAdmin,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM payment_orders o WHERE enterprise_id = $1 AND ($2 = '' OR state = $2) \
             AND ((o.user_id IS NULL AND {}) OR EXISTS (SELECT 1 FROM users WHERE users.id = o.user_id AND {})) \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6",
            admin_unrestricted(3, 4),
            visible_user(3, 4)
        ))
        .bind(enterprise_id)
        .bind(state.map(OrderState::as_str).unwrap_or(""))
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// The user's WeChat openid under `app_id`, if they signed in through it (JSAPI needs it).
    #[tracing::instrument(skip_all)]
    pub async fn openid_of(&self, app_id: &str, user_id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT openid FROM wechat_identities WHERE app_id = $1 AND user_id = $2 LIMIT 1")
                .bind(app_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Marks a pending order paid, inside the caller's transaction; false when it was not
    /// pending any more (already settled by a duplicate, the query, or closed).
    pub async fn mark_paid(
        tx: &mut Transaction<'_, Any>,
        id: &str,
        provider_trade_no: &str,
        payer: Option<&str>,
        settled_by: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_orders SET state = 'paid', provider_trade_no = $2, payer = $3, settled_by = $4, \
             settled_at = $5 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(provider_trade_no)
        .bind(payer)
        .bind(settled_by)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks paid an order already closed here, for which the provider took money all the same,
    /// inside the caller's transaction (with its wallet credit); false when it is not closed
    /// (a repeat found it paid already). A release order is not carried out any more: its
    /// outcome is `held` (the money stays in the wallet).
    pub async fn mark_paid_after_close(
        tx: &mut Transaction<'_, Any>,
        id: &str,
        provider_trade_no: &str,
        payer: Option<&str>,
        settled_by: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_orders SET state = 'paid', provider_trade_no = $2, payer = $3, settled_by = $4, \
             settled_at = $5, release_outcome = CASE WHEN purpose = 'release' THEN 'held' ELSE release_outcome END \
             WHERE id = $1 AND state = 'closed'",
        )
        .bind(id)
        .bind(provider_trade_no)
        .bind(payer)
        .bind(settled_by)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes a pending order (expired, or closed at the provider); false if it was not pending.
    #[tracing::instrument(skip_all)]
    pub async fn mark_closed(&self, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_orders SET state = 'closed', settled_by = 'query', settled_at = $2 \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a notification as seen, inside the caller's transaction; false for a repeat.
    pub async fn record_notification(
        tx: &mut Transaction<'_, Any>,
        provider: &str,
        notification_id: &str,
        out_trade_no: &str,
        outcome: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO payment_notifications (provider, notification_id, out_trade_no, outcome, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, notification_id) DO NOTHING",
        )
        .bind(provider)
        .bind(notification_id)
        .bind(out_trade_no)
        .bind(outcome)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending orders due for a reconciliation query, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn due(&self, now: i64, limit: i64) -> Result<Vec<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM payment_orders WHERE state = 'pending' AND next_check_at <= $1 \
             ORDER BY next_check_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Claims a due order for one check (so two instances do not both query it): moves its
    /// next check to `next`; false if another instance claimed it first.
    #[tracing::instrument(skip_all)]
    pub async fn claim_check(&self, id: &str, seen_next: i64, next: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_orders SET next_check_at = $3, check_attempts = check_attempts + 1 \
             WHERE id = $1 AND state = 'pending' AND next_check_at = $2",
        )
        .bind(id)
        .bind(seen_next)
        .bind(next)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what became of the release a paid order was for (`released` or `held`).
    #[tracing::instrument(skip_all)]
    pub async fn set_release_outcome(&self, id: &str, outcome: ReleaseOutcome) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE payment_orders SET release_outcome = $2 WHERE id = $1")
            .bind(id)
            .bind(outcome)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Paid release orders whose release was not carried out yet (the instance stopped in
    /// between, or the database was away).
    #[tracing::instrument(skip_all)]
    pub async fn unreleased_paid(&self, limit: i64) -> Result<Vec<PaymentOrderRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM payment_orders WHERE purpose = 'release' AND state = 'paid' \
             AND release_outcome IS NULL ORDER BY settled_at LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Whether an order was already started for this user's release.
    #[tracing::instrument(skip_all)]
    pub async fn release_order_exists(&self, user_id: &str, release_id: &str) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM payment_orders WHERE user_id = $1 AND release_id = $2 LIMIT 1")
                .bind(user_id)
                .bind(release_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// The paid order (id) a user's release was paid with directly, inside a transaction (not
    /// one whose payment was held in the wallet: that release was not paid by it).
    pub async fn paid_release_order_in(
        tx: &mut Transaction<'_, Any>,
        user_id: &str,
        release_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM payment_orders WHERE user_id = $1 AND release_id = $2 AND purpose = 'release' \
             AND state = 'paid' AND (release_outcome IS NULL OR release_outcome = 'released') LIMIT 1",
        )
        .bind(user_id)
        .bind(release_id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Whether an enterprise refunds failed jobs through the original channel.
    pub async fn refunds_to_original_in(
        tx: &mut Transaction<'_, Any>,
        enterprise_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT refund_to FROM enterprise_payment_settings WHERE enterprise_id = $1")
                .bind(enterprise_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(row.is_some_and(|r| r.0 == "original"))
    }

    /// Queues a refund through the original channel; false if that refund exists already.
    pub async fn insert_refund_in(tx: &mut Transaction<'_, Any>, r: &PaymentRefundRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!(
            "INSERT INTO payment_refunds ({REFUND_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (out_refund_no) DO NOTHING"
        ))
        .bind(&r.id)
        .bind(&r.out_refund_no)
        .bind(&r.order_id)
        .bind(&r.job_id)
        .bind(r.amount_fen)
        .bind(r.state)
        .bind(r.created_at)
        .bind(r.settled_at)
        .bind(r.next_check_at)
        .bind(r.check_attempts)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending refunds due for an attempt.
    #[tracing::instrument(skip_all)]
    pub async fn due_refunds(&self, now: i64, limit: i64) -> Result<Vec<PaymentRefundRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {REFUND_COLS} FROM payment_refunds WHERE state = 'pending' AND next_check_at <= $1 \
             ORDER BY next_check_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// A refund by our refund number.
    #[tracing::instrument(skip_all)]
    pub async fn refund_by_out_no(&self, out_refund_no: &str) -> Result<Option<PaymentRefundRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {REFUND_COLS} FROM payment_refunds WHERE out_refund_no = $1"))
            .bind(out_refund_no)
            .fetch_optional(&self.pool)
            .await
    }

    /// Refunds of an order, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn refunds_of_order(&self, order_id: &str) -> Result<Vec<PaymentRefundRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {REFUND_COLS} FROM payment_refunds WHERE order_id = $1 ORDER BY created_at"))
            .bind(order_id)
            .fetch_all(&self.pool)
            .await
    }

    /// Claims a due refund for one attempt; false if another instance has it.
    #[tracing::instrument(skip_all)]
    pub async fn claim_refund(&self, id: &str, seen_next: i64, next: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_refunds SET next_check_at = $3, check_attempts = check_attempts + 1 \
             WHERE id = $1 AND state = 'pending' AND next_check_at = $2",
        )
        .bind(id)
        .bind(seen_next)
        .bind(next)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Settles a pending refund inside the caller's transaction (with its wallet credit).
    pub async fn settle_refund_in(
        tx: &mut Transaction<'_, Any>,
        id: &str,
        state: RefundState,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE payment_refunds SET state = $2, settled_at = $3 WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .bind(state)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Settles a pending refund: `succeeded` through the channel, or `to_wallet` when the
    /// channel could not carry it out and the wallet took it instead.
    #[tracing::instrument(skip_all)]
    pub async fn settle_refund(&self, id: &str, state: RefundState, now: i64) -> Result<bool, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let settled = Self::settle_refund_in(&mut tx, id, state, now).await?;
        tx.commit().await?;
        Ok(settled)
    }
}
