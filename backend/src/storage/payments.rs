//! Payees' merchant accounts (keys sealed) and enterprises' payment settings.

use sqlx::AnyPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentAccountRow {
    /// `platform`, `provider` or `enterprise`.
    pub owner_kind: String,
    /// The provider's or enterprise's id; empty for the platform.
    pub owner_id: String,
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    pub app_id: String,
    /// WeChat Pay MchID, or the Alipay seller id (PID) when known.
    pub merchant_id: String,
    /// JSON of the non-secret fields.
    pub public_config: String,
    /// JSON of the secret fields, sealed.
    pub secrets_sealed: Vec<u8>,
    /// JSON of the secret fields, masked.
    pub secrets_mask: String,
    pub updated_by: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentSettingsRow {
    pub enterprise_id: String,
    /// `platform`, `provider` or `enterprise`.
    pub payee: String,
    /// `wallet` or `original`.
    pub refund_to: String,
    pub updated_by: String,
    pub updated_at: i64,
}

const ACCOUNT_COLS: &str = "owner_kind, owner_id, provider, app_id, merchant_id, public_config, secrets_sealed, \
                            secrets_mask, updated_by, updated_at";

#[derive(Clone)]
pub struct PaymentRepo {
    pool: AnyPool,
}

impl PaymentRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn upsert_account(&self, a: &PaymentAccountRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO payment_accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (owner_kind, owner_id, provider) DO UPDATE SET app_id = excluded.app_id, \
             merchant_id = excluded.merchant_id, public_config = excluded.public_config, \
             secrets_sealed = excluded.secrets_sealed, secrets_mask = excluded.secrets_mask, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at"
        ))
        .bind(&a.owner_kind)
        .bind(&a.owner_id)
        .bind(&a.provider)
        .bind(&a.app_id)
        .bind(&a.merchant_id)
        .bind(&a.public_config)
        .bind(&a.secrets_sealed)
        .bind(&a.secrets_mask)
        .bind(&a.updated_by)
        .bind(a.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn account(
        &self,
        owner_kind: &str,
        owner_id: &str,
        provider: &str,
    ) -> Result<Option<PaymentAccountRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLS} FROM payment_accounts WHERE owner_kind = $1 AND owner_id = $2 AND provider = $3"
        ))
        .bind(owner_kind)
        .bind(owner_id)
        .bind(provider)
        .fetch_optional(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn accounts_of(&self, owner_kind: &str, owner_id: &str) -> Result<Vec<PaymentAccountRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLS} FROM payment_accounts WHERE owner_kind = $1 AND owner_id = $2 ORDER BY provider"
        ))
        .bind(owner_kind)
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Removes an account; false if there was none.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(&self, owner_kind: &str, owner_id: &str, provider: &str) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM payment_accounts WHERE owner_kind = $1 AND owner_id = $2 AND provider = $3")
                .bind(owner_kind)
                .bind(owner_id)
                .bind(provider)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(skip_all)]
    pub async fn settings(&self, enterprise_id: &str) -> Result<Option<PaymentSettingsRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT enterprise_id, payee, refund_to, updated_by, updated_at \
             FROM enterprise_payment_settings WHERE enterprise_id = $1",
        )
        .bind(enterprise_id)
        .fetch_optional(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn upsert_settings(&self, s: &PaymentSettingsRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO enterprise_payment_settings (enterprise_id, payee, refund_to, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (enterprise_id) DO UPDATE SET payee = excluded.payee, \
             refund_to = excluded.refund_to, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(&s.enterprise_id)
        .bind(&s.payee)
        .bind(&s.refund_to)
        .bind(&s.updated_by)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
