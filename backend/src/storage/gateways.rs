//! Gateways (网关): enrolment tokens, credentials, and the command outbox each gateway drains
//! over its WebSocket (at least once, in order, until acknowledged).

use sqlx::{Any, AnyPool, Transaction};

use crate::domain::Gateway;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GatewayRow {
    pub id: String,
    pub enterprise_id: String,
    pub name: String,
    pub credential_hash: String,
    pub version: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked: i64,
}

impl From<GatewayRow> for Gateway {
    fn from(g: GatewayRow) -> Self {
        Gateway {
            id: g.id,
            enterprise_id: g.enterprise_id,
            name: g.name,
            version: g.version,
            created_at: g.created_at,
            last_seen_at: g.last_seen_at,
            revoked: g.revoked != 0,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommandRow {
    pub id: String,
    pub gateway_id: String,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
    /// The job a print command is for (named here too, so an unreadable payload still
    /// leads to its job).
    pub job_id: Option<String>,
}

const COLS: &str = "id, enterprise_id, name, credential_hash, version, created_at, last_seen_at, revoked";

#[derive(Clone)]
pub struct GatewayRepo {
    pool: AnyPool,
}

impl GatewayRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn insert_enrolment(
        &self,
        token_hash: &str,
        enterprise_id: &str,
        by: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO gateway_enrolments (token_hash, enterprise_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(enterprise_id)
        .bind(by)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends an enrolment token and creates the gateway, in one transaction; `None` when
    /// the token is unknown, used, expired or of another enterprise.
    pub async fn enrol(
        &self,
        token_hash: &str,
        enterprise_id: &str,
        g: &GatewayRow,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let spent = sqlx::query(
            "UPDATE gateway_enrolments SET used_at = $3 WHERE token_hash = $1 AND enterprise_id = $2 \
             AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(enterprise_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(&format!("INSERT INTO gateways ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(&g.id)
            .bind(&g.enterprise_id)
            .bind(&g.name)
            .bind(&g.credential_hash)
            .bind(&g.version)
            .bind(g.created_at)
            .bind(g.last_seen_at)
            .bind(g.revoked)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn by_credential(&self, credential_hash: &str) -> Result<Option<GatewayRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM gateways WHERE credential_hash = $1 AND revoked = 0"))
            .bind(credential_hash)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<GatewayRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM gateways WHERE id = $1")).bind(id).fetch_optional(&self.pool).await
    }

    pub async fn of_enterprise(&self, enterprise_id: &str) -> Result<Vec<GatewayRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM gateways WHERE enterprise_id = $1 ORDER BY created_at"))
            .bind(enterprise_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn touch(&self, id: &str, version: Option<&str>, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE gateways SET last_seen_at = $2, version = COALESCE($3, version) WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queues a command inside the caller's transaction, numbered after the gateway's last.
    pub async fn enqueue(tx: &mut Transaction<'_, Any>, c: &CommandRow) -> Result<i64, sqlx::Error> {
        // The gateway's row first (the portable `SELECT … FOR UPDATE`; SQLite's write lock is
        // held from `begin_write`): on PostgreSQL two releases to one gateway at once read the
        // same last seq otherwise, and the second insert broke UNIQUE (gateway_id, seq).
        sqlx::query("UPDATE gateways SET name = name WHERE id = $1").bind(&c.gateway_id).execute(&mut **tx).await?;
        let (seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM gateway_commands WHERE gateway_id = $1")
                .bind(&c.gateway_id)
                .fetch_one(&mut **tx)
                .await?;
        sqlx::query(
            "INSERT INTO gateway_commands (id, gateway_id, seq, kind, payload, created_at, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
        .bind(&c.gateway_id)
        .bind(seq)
        .bind(&c.kind)
        .bind(&c.payload)
        .bind(c.created_at)
        .bind(&c.job_id)
        .execute(&mut **tx)
        .await?;
        Ok(seq)
    }

    /// Unacknowledged commands after `after_seq`, oldest first.
    pub async fn pending(&self, gateway_id: &str, after_seq: i64) -> Result<Vec<CommandRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, gateway_id, seq, kind, payload, created_at, job_id FROM gateway_commands \
             WHERE gateway_id = $1 AND acked_at IS NULL AND seq > $2 ORDER BY seq LIMIT 500",
        )
        .bind(gateway_id)
        .bind(after_seq)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn ack(&self, gateway_id: &str, command_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE gateway_commands SET acked_at = $3 WHERE id = $1 AND gateway_id = $2 AND acked_at IS NULL")
            .bind(command_id)
            .bind(gateway_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
