//! Scan sessions, scan records and the print points' scan accounts (扫描记录).

use sqlx::AnyPool;

use super::print_points::{admin_unrestricted, points_visible_to_admin, ScopedAdmin};
use crate::domain::{ScanCharge, ScanFormat, ScanRecord, ScanSession};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanSessionRow {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    pub user_id: String,
    pub opened_at: i64,
    pub expires_at: i64,
    pub closed_at: Option<i64>,
}

impl From<ScanSessionRow> for ScanSession {
    fn from(r: ScanSessionRow) -> Self {
        ScanSession {
            id: r.id,
            enterprise_id: r.enterprise_id,
            print_point_id: r.print_point_id,
            user_id: r.user_id,
            opened_at: r.opened_at,
            expires_at: r.expires_at,
            closed_at: r.closed_at,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanRow {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    pub gateway_id: String,
    pub gateway_scan_id: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub name: String,
    pub format: ScanFormat,
    pub size_bytes: i64,
    pub pages: i64,
    pub price_fen: i64,
    pub charge: ScanCharge,
    pub scanned_at: i64,
    pub received_at: i64,
    pub expires_at: i64,
    pub share_token: Option<String>,
    pub share_expires_at: Option<i64>,
}

impl From<ScanRow> for ScanRecord {
    fn from(r: ScanRow) -> Self {
        ScanRecord {
            id: r.id,
            enterprise_id: r.enterprise_id,
            print_point_id: r.print_point_id,
            user_id: r.user_id,
            session_id: r.session_id,
            name: r.name,
            format: r.format,
            size_bytes: r.size_bytes,
            pages: r.pages,
            price_fen: r.price_fen,
            charge: r.charge,
            scanned_at: r.scanned_at,
            received_at: r.received_at,
            expires_at: r.expires_at,
            share: r.share_token.zip(r.share_expires_at),
        }
    }
}

/// What opening a session found.
#[derive(Debug)]
pub enum Opened {
    /// A new session, or the user's own open one, extended.
    Open(ScanSessionRow),
    /// Another user's session is open until `until`.
    Busy { until: i64 },
}

/// Scans counted at one print point.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanCountRow {
    pub print_point_id: String,
    pub scans: i64,
    pub pages: i64,
    pub unclaimed: i64,
    pub charged_fen: i64,
}

/// A print point's scan account as its gateway needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanAccountRow {
    pub print_point_id: String,
    pub scan_enabled: i64,
    pub scan_password: Option<String>,
}

const SESSION_COLS: &str = "id, enterprise_id, print_point_id, user_id, opened_at, expires_at, closed_at";
const SCAN_COLS: &str = "id, enterprise_id, print_point_id, gateway_id, gateway_scan_id, user_id, session_id, \
    name, format, size_bytes, pages, price_fen, charge, scanned_at, received_at, expires_at, share_token, \
    share_expires_at";

/// SQL: the session is open at `$n` (not closed, not expired).
fn open_at(n: u8) -> String {
    format!("closed_at IS NULL AND expires_at > ${n}")
}

#[derive(Clone)]
pub struct ScanRepo {
    pool: AnyPool,
}

impl ScanRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    // ---- sessions ----

    /// Opens a session for `s.user_id` at `s.print_point_id`, unless another user's is open:
    /// the user's own open session is extended to `s.expires_at` instead of a second one.
    #[tracing::instrument(skip_all)]
    pub async fn open_session(&self, s: &ScanSessionRow) -> Result<Opened, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        // The print point's row lock serialises openers on PostgreSQL (SQLite's transaction
        // already holds the write lock), so two users cannot both find it free.
        sqlx::query("UPDATE print_points SET updated_at = updated_at WHERE id = $1")
            .bind(&s.print_point_id)
            .execute(&mut *tx)
            .await?;
        let current: Option<ScanSessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLS} FROM scan_sessions WHERE print_point_id = $1 AND {} \
             ORDER BY opened_at DESC LIMIT 1",
            open_at(2)
        ))
        .bind(&s.print_point_id)
        .bind(s.opened_at)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match current {
            Some(c) if c.user_id != s.user_id => Opened::Busy { until: c.expires_at },
            Some(mut c) => {
                sqlx::query("UPDATE scan_sessions SET expires_at = $2 WHERE id = $1 AND expires_at < $2")
                    .bind(&c.id)
                    .bind(s.expires_at)
                    .execute(&mut *tx)
                    .await?;
                c.expires_at = c.expires_at.max(s.expires_at);
                Opened::Open(c)
            }
            None => {
                sqlx::query(&format!("INSERT INTO scan_sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
                    .bind(&s.id)
                    .bind(&s.enterprise_id)
                    .bind(&s.print_point_id)
                    .bind(&s.user_id)
                    .bind(s.opened_at)
                    .bind(s.expires_at)
                    .bind(s.closed_at)
                    .execute(&mut *tx)
                    .await?;
                Opened::Open(s.clone())
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn session(&self, id: &str) -> Result<Option<ScanSessionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SESSION_COLS} FROM scan_sessions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Ends an open session early; false when it had already ended.
    pub async fn close_session(&self, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!("UPDATE scan_sessions SET closed_at = $2 WHERE id = $1 AND {}", open_at(2)))
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The session that was open at the print point when a scan reached its gateway at `at`.
    pub async fn session_covering(&self, print_point_id: &str, at: i64) -> Result<Option<ScanSessionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SESSION_COLS} FROM scan_sessions WHERE print_point_id = $1 AND opened_at <= $2 \
             AND expires_at > $2 AND (closed_at IS NULL OR closed_at > $2) ORDER BY opened_at DESC LIMIT 1"
        ))
        .bind(print_point_id)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
    }

    /// Keeps an open session open until at least `until` (a scan just arrived in it).
    pub async fn extend_session(&self, id: &str, until: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "UPDATE scan_sessions SET expires_at = $2 WHERE id = $1 AND expires_at < $2 AND {}",
            open_at(3)
        ))
        .bind(id)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- scan records ----

    /// Records a scan; a scan with the same gateway id already recorded is returned instead
    /// (`false`: it was not new).
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, s: &ScanRow) -> Result<(ScanRow, bool), sqlx::Error> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO scans ({SCAN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18) ON CONFLICT (gateway_id, gateway_scan_id) DO NOTHING"
        ))
        .bind(&s.id)
        .bind(&s.enterprise_id)
        .bind(&s.print_point_id)
        .bind(&s.gateway_id)
        .bind(&s.gateway_scan_id)
        .bind(&s.user_id)
        .bind(&s.session_id)
        .bind(&s.name)
        .bind(s.format)
        .bind(s.size_bytes)
        .bind(s.pages)
        .bind(s.price_fen)
        .bind(s.charge)
        .bind(s.scanned_at)
        .bind(s.received_at)
        .bind(s.expires_at)
        .bind(&s.share_token)
        .bind(s.share_expires_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok((s.clone(), true));
        }
        let existing = self.by_gateway_key(&s.gateway_id, &s.gateway_scan_id).await?;
        existing.map(|e| (e, false)).ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn by_gateway_key(
        &self,
        gateway_id: &str,
        gateway_scan_id: &str,
    ) -> Result<Option<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SCAN_COLS} FROM scans WHERE gateway_id = $1 AND gateway_scan_id = $2"))
            .bind(gateway_id)
            .bind(gateway_scan_id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SCAN_COLS} FROM scans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A user's scan records, newest first.
    pub async fn of_user(
        &self,
        user_id: &str,
        enterprise_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SCAN_COLS} FROM scans WHERE user_id = $1 AND enterprise_id = $2 \
             ORDER BY received_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(user_id)
        .bind(enterprise_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// The scans a session received, oldest first.
    pub async fn of_session(&self, session_id: &str) -> Result<Vec<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SCAN_COLS} FROM scans WHERE session_id = $1 ORDER BY received_at, id"))
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn rename(&self, id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE scans SET name = $2 WHERE id = $1").bind(id).bind(name).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks an unpaid scan paid inside the caller's transaction; false when it was not unpaid.
    pub async fn mark_paid(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE scans SET charge = 'paid' WHERE id = $1 AND charge = 'unpaid'")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_share(&self, id: &str, share: Option<(&str, i64)>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE scans SET share_token = $2, share_expires_at = $3 WHERE id = $1")
            .bind(id)
            .bind(share.map(|(t, _)| t))
            .bind(share.map(|(_, e)| e))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The scan a live share link points at.
    pub async fn by_share_token(&self, token: &str, now: i64) -> Result<Option<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {SCAN_COLS} FROM scans WHERE share_token = $1 AND share_expires_at > $2"))
            .bind(token)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
    }

    /// Deletes a record; false when it was already gone.
    pub async fn delete(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM scans WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records past their retention.
    pub async fn expired_ids(&self, now: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM scans WHERE expires_at <= $1 ORDER BY expires_at LIMIT 500")
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// An enterprise's scans at the print points the admin sees, newest first; `unclaimed`
    /// keeps those no session claimed.
    pub async fn for_enterprise(
        &self,
        enterprise_id: &str,
        viewer: &ScopedAdmin,
        unclaimed: bool,
        print_point_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SCAN_COLS} FROM scans WHERE enterprise_id = $1 AND ($2 = 0 OR user_id IS NULL) \
             AND ($3 = '' OR print_point_id = $3) AND ({} OR print_point_id IN ({})) \
             ORDER BY received_at DESC, id DESC LIMIT $6 OFFSET $7",
            admin_unrestricted(4, 5),
            points_visible_to_admin(4, 5)
        ))
        .bind(enterprise_id)
        .bind(i64::from(unclaimed))
        .bind(print_point_id.unwrap_or(""))
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// One of an enterprise's scans, if the admin's list would hold it.
    pub async fn get_for_enterprise(
        &self,
        enterprise_id: &str,
        id: &str,
        viewer: &ScopedAdmin,
    ) -> Result<Option<ScanRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SCAN_COLS} FROM scans WHERE enterprise_id = $1 AND id = $2 AND ({} OR print_point_id IN ({}))",
            admin_unrestricted(3, 4),
            points_visible_to_admin(3, 4)
        ))
        .bind(enterprise_id)
        .bind(id)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .fetch_optional(&self.pool)
        .await
    }

    /// Scans counted per print point the admin sees, received in [`from`, `before`).
    pub async fn counts(
        &self,
        enterprise_id: &str,
        viewer: &ScopedAdmin,
        from: i64,
        before: i64,
    ) -> Result<Vec<ScanCountRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT print_point_id, CAST(COUNT(*) AS BIGINT) AS scans, CAST(COALESCE(SUM(pages), 0) AS BIGINT) AS pages, \
             CAST(COALESCE(SUM(CASE WHEN user_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS unclaimed, \
             CAST(COALESCE(SUM(CASE WHEN charge = 'paid' THEN price_fen ELSE 0 END), 0) AS BIGINT) AS charged_fen \
             FROM scans WHERE enterprise_id = $1 AND received_at >= $4 AND received_at < $5 \
             AND ({} OR print_point_id IN ({})) GROUP BY print_point_id ORDER BY print_point_id",
            admin_unrestricted(2, 3),
            points_visible_to_admin(2, 3)
        ))
        .bind(enterprise_id)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(from)
        .bind(before)
        .fetch_all(&self.pool)
        .await
    }

    // ---- scan accounts ----

    /// The scan accounts of a gateway's print points.
    pub async fn accounts_of_gateway(&self, gateway_id: &str) -> Result<Vec<ScanAccountRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id AS print_point_id, scan_enabled, scan_password FROM print_points WHERE gateway_id = $1 ORDER BY id",
        )
        .bind(gateway_id)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn scan_password(&self, print_point_id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT scan_password FROM print_points WHERE id = $1")
            .bind(print_point_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(p,)| p))
    }

    /// Gives the print point `password` unless it has one (`replace` = false) or always.
    pub async fn set_scan_password(
        &self,
        print_point_id: &str,
        password: &str,
        replace: bool,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_points SET scan_password = $2 WHERE id = $1 AND ($3 = 1 OR scan_password IS NULL)")
            .bind(print_point_id)
            .bind(password)
            .bind(i64::from(replace))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
