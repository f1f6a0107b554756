//! Enterprises' WeChat applications (AppID + sealed AppSecret) and the WeChat identities
//! (openid per app) bound to users.

use sqlx::{Any, AnyPool, Transaction};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WechatAppRow {
    pub enterprise_id: String,
    pub kind: String,
    pub app_id: String,
    pub secret_sealed: Vec<u8>,
    pub secret_mask: String,
    pub updated_at: i64,
    /// The official account's template for job outcomes ('' when none).
    pub job_template_id: String,
    /// A mini-program's subscription templates for "printed" and "failed" ('' when none).
    pub printed_template_id: String,
    pub failed_template_id: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub app_id: String,
    pub openid: String,
    pub unionid: Option<String>,
    pub enterprise_id: String,
    pub user_id: String,
    pub created_at: i64,
}

const APP_COLS: &str = "enterprise_id, kind, app_id, secret_sealed, secret_mask, updated_at, job_template_id, \
                        printed_template_id, failed_template_id";

#[derive(Clone)]
pub struct WechatRepo {
    pool: AnyPool,
}

impl WechatRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn upsert_app(&self, a: &WechatAppRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO wechat_apps (enterprise_id, kind, app_id, secret_sealed, secret_mask, updated_at, \
             job_template_id, printed_template_id, failed_template_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (enterprise_id, kind) DO UPDATE SET app_id = excluded.app_id, \
             secret_sealed = excluded.secret_sealed, secret_mask = excluded.secret_mask, \
             updated_at = excluded.updated_at, job_template_id = excluded.job_template_id, \
             printed_template_id = excluded.printed_template_id, failed_template_id = excluded.failed_template_id",
        )
        .bind(&a.enterprise_id)
        .bind(&a.kind)
        .bind(&a.app_id)
        .bind(&a.secret_sealed)
        .bind(&a.secret_mask)
        .bind(a.updated_at)
        .bind(&a.job_template_id)
        .bind(&a.printed_template_id)
        .bind(&a.failed_template_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn app(&self, enterprise_id: &str, kind: &str) -> Result<Option<WechatAppRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {APP_COLS} FROM wechat_apps WHERE enterprise_id = $1 AND kind = $2"))
            .bind(enterprise_id)
            .bind(kind)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn apps(&self, enterprise_id: &str) -> Result<Vec<WechatAppRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {APP_COLS} FROM wechat_apps WHERE enterprise_id = $1 ORDER BY kind"))
            .bind(enterprise_id)
            .fetch_all(&self.pool)
            .await
    }

    /// The most recently set application of `kind` with this AppID (a mini-program shared by
    /// several enterprises has one row per enterprise).
    pub async fn app_of_kind(&self, app_id: &str, kind: &str) -> Result<Option<WechatAppRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {APP_COLS} FROM wechat_apps WHERE app_id = $1 AND kind = $2 ORDER BY updated_at DESC LIMIT 1"
        ))
        .bind(app_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn identity(&self, app_id: &str, openid: &str) -> Result<Option<IdentityRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT app_id, openid, unionid, enterprise_id, user_id, created_at \
             FROM wechat_identities WHERE app_id = $1 AND openid = $2",
        )
        .bind(app_id)
        .bind(openid)
        .fetch_optional(&self.pool)
        .await
    }

    /// Binds an identity to an existing user; a duplicate (already bound) is a unique violation.
    #[tracing::instrument(skip_all)]
    pub async fn bind(&self, identity: &IdentityRow) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        insert_identity(&mut tx, identity).await?;
        tx.commit().await
    }
}

pub(super) async fn insert_identity(tx: &mut Transaction<'_, Any>, i: &IdentityRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO wechat_identities (app_id, openid, unionid, enterprise_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&i.app_id)
    .bind(&i.openid)
    .bind(&i.unionid)
    .bind(&i.enterprise_id)
    .bind(&i.user_id)
    .bind(i.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
