//! Refresh tokens, stored only as SHA-256 hashes. One sign-in starts a family; each refresh
//! rotates the token within the family; presenting a rotated token again revokes the family.

use sqlx::AnyPool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub state: String,
    pub expires_at: i64,
    pub created_at: i64,
    /// The WeChat application signed in through (AppID), '' for a password sign-in.
    pub wechat_app_id: String,
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live; it is now rotated and `next` is the family's live token.
    Rotated { family_id: String, subject_kind: String, subject_id: String, wechat_app_id: String },
    /// The token had already been rotated: it was stolen or replayed. The family is revoked.
    ReuseDetected { family_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

#[derive(Clone)]
pub struct SessionRepo {
    pool: AnyPool,
}

impl SessionRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, t: &RefreshTokenRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, subject_kind, subject_id, state, \
             expires_at, created_at, wechat_app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.subject_kind)
        .bind(&t.subject_id)
        .bind(&t.state)
        .bind(t.expires_at)
        .bind(t.created_at)
        .bind(&t.wechat_app_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rotates `presented` to `next_hash` atomically: of two concurrent refreshes with the same
    /// token exactly one wins, and the other is treated as reuse.
    #[tracing::instrument(skip_all)]
    pub async fn rotate(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: i64,
        now: i64,
    ) -> Result<Rotation, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET state = 'rotated' \
             WHERE token_hash = $1 AND state = 'active' AND expires_at > $2",
        )
        .bind(presented_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let row: Option<RefreshTokenRow> = sqlx::query_as(
            "SELECT token_hash, family_id, subject_kind, subject_id, state, expires_at, created_at, \
             wechat_app_id FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(Rotation::Invalid);
        };
        if claimed == 1 {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, subject_kind, subject_id, \
                 state, expires_at, created_at, wechat_app_id) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7)",
            )
            .bind(next_hash)
            .bind(&row.family_id)
            .bind(&row.subject_kind)
            .bind(&row.subject_id)
            .bind(next_expires_at)
            .bind(now)
            .bind(&row.wechat_app_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated {
                family_id: row.family_id,
                subject_kind: row.subject_kind,
                subject_id: row.subject_id,
                wechat_app_id: row.wechat_app_id,
            });
        }
        if row.state == "rotated" {
            revoke_family_in(&mut tx, &row.family_id).await?;
            tx.commit().await?;
            return Ok(Rotation::ReuseDetected { family_id: row.family_id });
        }
        tx.rollback().await?;
        Ok(Rotation::Invalid)
    }

    #[tracing::instrument(skip_all)]
    pub async fn family_of(&self, token_hash: &str) -> Result<Option<String>, sqlx::Error> {
        let family: Option<(String,)> = sqlx::query_as("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(family.map(|(f,)| f))
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_family(&self, family_id: &str) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        revoke_family_in(&mut tx, family_id).await?;
        tx.commit().await
    }
}

/// Revokes every live session of a subject inside `tx`, except the family `keep` (the session
/// that changed the password); returns the families it ended, for the cache marks.
pub async fn revoke_subject_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subject_kind: &str,
    subject_id: &str,
    keep: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let keep = keep.unwrap_or("");
    let families: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT family_id FROM refresh_tokens \
         WHERE subject_kind = $1 AND subject_id = $2 AND family_id <> $3 AND state <> 'revoked'",
    )
    .bind(subject_kind)
    .bind(subject_id)
    .bind(keep)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET state = 'revoked' \
         WHERE subject_kind = $1 AND subject_id = $2 AND family_id <> $3 AND state <> 'revoked'",
    )
    .bind(subject_kind)
    .bind(subject_id)
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    Ok(families.into_iter().map(|(f,)| f).collect())
}

/// Revokes every live session of an enterprise's users and admins inside `tx` (suspension);
/// returns the families it ended.
pub async fn revoke_enterprise_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    enterprise_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    const OF_ENTERPRISE: &str = "state <> 'revoked' AND ( \
        (subject_kind = 'user' AND subject_id IN (SELECT id FROM users WHERE enterprise_id = $1)) \
        OR (subject_kind = 'admin' AND subject_id IN \
            (SELECT id FROM admins WHERE scope_kind = 'enterprise' AND scope_id = $1)))";
    let families: Vec<(String,)> =
        sqlx::query_as(&format!("SELECT DISTINCT family_id FROM refresh_tokens WHERE {OF_ENTERPRISE}"))
            .bind(enterprise_id)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query(&format!("UPDATE refresh_tokens SET state = 'revoked' WHERE {OF_ENTERPRISE}"))
        .bind(enterprise_id)
        .execute(&mut **tx)
        .await?;
    Ok(families.into_iter().map(|(f,)| f).collect())
}

async fn revoke_family_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, family_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = $1")
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
