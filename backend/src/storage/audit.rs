//! The audit log: who did what to whom (password resets, and later money adjustments).

use sqlx::AnyPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
}

#[derive(Clone)]
pub struct AuditRepo {
    pool: AnyPool,
}

impl AuditRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn record(&self, e: &AuditEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_kind, actor_id, action, target_kind, target_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.id)
        .bind(e.at)
        .bind(&e.actor_kind)
        .bind(&e.actor_id)
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(&e.target_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn record_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, e: &AuditEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_kind, actor_id, action, target_kind, target_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.id)
        .bind(e.at)
        .bind(&e.actor_kind)
        .bind(&e.actor_id)
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(&e.target_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn for_target(&self, target_kind: &str, target_id: &str) -> Result<Vec<AuditEntry>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, at, actor_kind, actor_id, action, target_kind, target_id FROM audit_log \
             WHERE target_kind = $1 AND target_id = $2 ORDER BY at, id",
        )
        .bind(target_kind)
        .bind(target_id)
        .fetch_all(&self.pool)
        .await
    }
}
