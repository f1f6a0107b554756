//! Alerts, their lifecycle columns, and each admin's alert levels.

use sqlx::{Any, AnyPool, Transaction};

use super::print_points::{admin_unrestricted, points_visible_to_admin, ScopedAdmin};
use crate::domain::{Alert, AlertState, AlertType};

const COLS: &str = "id, print_point_id, enterprise_id, alert_type, subject, state, detail, raised_at, last_seen_at, \
    acknowledged_at, acknowledged_by, resolved_at, absent_streak, occurrences, updated_at";

/// A stored alert.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: String,
    pub print_point_id: String,
    pub enterprise_id: String,
    pub alert_type: String,
    pub subject: String,
    pub state: String,
    pub detail: String,
    pub raised_at: i64,
    pub last_seen_at: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub absent_streak: i64,
    pub occurrences: i64,
    pub updated_at: i64,
}

impl AlertRow {
    pub fn alert_type(&self) -> Option<AlertType> {
        AlertType::parse(&self.alert_type).ok()
    }

    pub fn state(&self) -> Option<AlertState> {
        AlertState::parse(&self.state).ok()
    }
}

impl TryFrom<AlertRow> for Alert {
    type Error = sqlx::Error;

    fn try_from(r: AlertRow) -> Result<Self, Self::Error> {
        let bad = |what: &str| sqlx::Error::Decode(format!("alerts.{what} holds an unknown name").into());
        Ok(Alert {
            alert_type: r.alert_type().ok_or_else(|| bad("alert_type"))?,
            state: r.state().ok_or_else(|| bad("state"))?,
            id: r.id,
            print_point_id: r.print_point_id,
            enterprise_id: r.enterprise_id,
            subject: r.subject,
            detail: r.detail,
            raised_at: r.raised_at,
            last_seen_at: r.last_seen_at,
            acknowledged_at: r.acknowledged_at,
            acknowledged_by: r.acknowledged_by,
            resolved_at: r.resolved_at,
            occurrences: r.occurrences,
        })
    }
}

/// Which alerts an admin asks for. Empty strings and `None` select all.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub enterprise_id: String,
    pub print_point_id: String,
    pub region_id: String,
    pub group_id: String,
    /// `open` (raised or acknowledged), or one state's name.
    pub state: String,
    /// Alert types (of the asked level, as the viewer's levels make them); `None`: any.
    pub types: Option<Vec<String>>,
}

/// The enterprises an admin's scope holds, for SQL: a subtree prefix of owner paths, or one
/// enterprise.
#[derive(Debug, Clone)]
pub enum EnterpriseScope {
    Subtree(String),
    One(String),
}

#[derive(Clone)]
pub struct AlertRepo {
    pool: AnyPool,
}

impl AlertRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A print point's alerts that are not resolved, and those resolved since `since`.
    pub async fn current_of_point_in(
        tx: &mut Transaction<'_, Any>,
        print_point_id: &str,
        since: i64,
    ) -> Result<Vec<AlertRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM alerts WHERE print_point_id = $1 \
             AND (state <> 'resolved' OR resolved_at >= $2) ORDER BY raised_at, id"
        ))
        .bind(print_point_id)
        .bind(since)
        .fetch_all(&mut **tx)
        .await
    }

    pub async fn insert_in(tx: &mut Transaction<'_, Any>, a: &AlertRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO alerts ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&a.id)
        .bind(&a.print_point_id)
        .bind(&a.enterprise_id)
        .bind(&a.alert_type)
        .bind(&a.subject)
        .bind(&a.state)
        .bind(&a.detail)
        .bind(a.raised_at)
        .bind(a.last_seen_at)
        .bind(a.acknowledged_at)
        .bind(&a.acknowledged_by)
        .bind(a.resolved_at)
        .bind(a.absent_streak)
        .bind(a.occurrences)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes what a reading changed of an alert: its state, detail, times and counters.
    pub async fn update_in(tx: &mut Transaction<'_, Any>, a: &AlertRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE alerts SET state = $2, detail = $3, last_seen_at = $4, resolved_at = $5, absent_streak = $6, \
             occurrences = $7, acknowledged_at = $8, acknowledged_by = $9, updated_at = $10 WHERE id = $1",
        )
        .bind(&a.id)
        .bind(&a.state)
        .bind(&a.detail)
        .bind(a.last_seen_at)
        .bind(a.resolved_at)
        .bind(a.absent_streak)
        .bind(a.occurrences)
        .bind(a.acknowledged_at)
        .bind(&a.acknowledged_by)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<AlertRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM alerts WHERE id = $1")).bind(id).fetch_optional(&self.pool).await
    }

    /// Acknowledges a raised alert; false when it was not raised (acknowledged or resolved).
    pub async fn acknowledge(&self, id: &str, admin_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, updated_at = $2 \
             WHERE id = $1 AND state = 'raised'",
        )
        .bind(id)
        .bind(now)
        .bind(admin_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The alerts of the print points an admin sees, newest first.
    pub async fn list(
        &self,
        scope: &EnterpriseScope,
        viewer: &ScopedAdmin,
        q: &AlertQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AlertRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLS} FROM alerts al WHERE {} ORDER BY al.raised_at DESC, al.id DESC LIMIT $12 OFFSET $13",
            list_condition()
        );
        bind_list_condition(sqlx::query_as(&sql), scope, viewer, q).bind(limit).bind(offset).fetch_all(&self.pool).await
    }

    /// How many alerts `list` would give without paging.
    pub async fn count(
        &self,
        scope: &EnterpriseScope,
        viewer: &ScopedAdmin,
        q: &AlertQuery,
    ) -> Result<i64, sqlx::Error> {
        let sql = format!("SELECT COUNT(*) FROM alerts al WHERE {}", list_condition());
        let (n,): (i64,) = bind_list_condition(sqlx::query_as(&sql), scope, viewer, q).fetch_one(&self.pool).await?;
        Ok(n)
    }

    // ---- alert levels ----

    /// The levels an admin chose: (alert type, level).
    pub async fn levels_of(&self, admin_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT alert_type, level FROM alert_levels WHERE admin_id = $1 ORDER BY alert_type")
            .bind(admin_id)
            .fetch_all(&self.pool)
            .await
    }

    /// Replaces an admin's levels with `levels`, at once.
    pub async fn set_levels(&self, admin_id: &str, levels: &[(String, i64)], now: i64) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM alert_levels WHERE admin_id = $1").bind(admin_id).execute(&mut *tx).await?;
        for (alert_type, level) in levels {
            sqlx::query("INSERT INTO alert_levels (admin_id, alert_type, level, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(admin_id)
                .bind(alert_type)
                .bind(level)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// The active admins who see `print_point_id`, with the level each has set for
    /// `alert_type` (`None`: the default): platform admins, admins of a provider above the
    /// enterprise, the enterprise's own admins — held to their regions and groups.
    pub async fn admins_seeing_in(
        tx: &mut Transaction<'_, Any>,
        print_point_id: &str,
        alert_type: &str,
    ) -> Result<Vec<(String, Option<i64>)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.id, (SELECT l.level FROM alert_levels l WHERE l.admin_id = a.id AND l.alert_type = $2) \
             FROM admins a JOIN print_points pp ON pp.id = $1 JOIN enterprises e ON e.id = pp.enterprise_id \
             WHERE a.status = 'active' AND (a.scope_kind = 'platform' \
               OR (a.scope_kind = 'provider' AND EXISTS (SELECT 1 FROM providers pr WHERE pr.id = a.scope_id \
                   AND SUBSTR(e.owner_path, 1, LENGTH(pr.path)) = pr.path)) \
               OR (a.scope_kind = 'enterprise' AND a.scope_id = e.id)) \
             AND (a.role <> 'region' OR EXISTS (SELECT 1 FROM admin_regions ar JOIN regions ra ON ra.id = ar.region_id \
                 JOIN regions rr ON rr.id = pp.region_id WHERE ar.admin_id = a.id \
                 AND SUBSTR(rr.path, 1, LENGTH(ra.path)) = ra.path)) \
             AND (NOT EXISTS (SELECT 1 FROM admin_printer_groups g1 WHERE g1.admin_id = a.id) \
                 OR EXISTS (SELECT 1 FROM print_point_groups m JOIN admin_printer_groups g2 ON g2.group_id = m.group_id \
                 WHERE m.print_point_id = pp.id AND g2.admin_id = a.id)) \
             ORDER BY a.id",
        )
        .bind(print_point_id)
        .bind(alert_type)
        .fetch_all(&mut **tx)
        .await
    }
}

/// The condition of `list` and `count`: placeholders $1-$11, bound by `bind_list_condition`.
fn list_condition() -> String {
    format!(
        "al.enterprise_id IN (SELECT e.id FROM enterprises e WHERE \
           ($1 <> '' AND SUBSTR(e.owner_path, 1, LENGTH($1)) = $1) OR e.id = $2) \
         AND ($3 = '' OR al.enterprise_id = $3) AND ($4 = '' OR al.print_point_id = $4) \
         AND ($5 = '' OR al.print_point_id IN (SELECT p.id FROM print_points p JOIN regions r ON r.id = p.region_id \
            JOIN regions top ON top.id = $5 WHERE SUBSTR(r.path, 1, LENGTH(top.path)) = top.path)) \
         AND ($6 = '' OR al.print_point_id IN (SELECT g.print_point_id FROM print_point_groups g WHERE g.group_id = $6)) \
         AND ($7 = '' OR ($7 = 'open' AND al.state <> 'resolved') OR al.state = $7) \
         AND ($8 = 0 OR (',' || $9 || ',') LIKE ('%,' || al.alert_type || ',%')) \
         AND ({} OR al.print_point_id IN ({}))",
        admin_unrestricted(10, 11),
        points_visible_to_admin(10, 11)
    )
}

type AnyQueryAs<'q, O> = sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments<'q>>;

fn bind_list_condition<'q, O>(
    query: AnyQueryAs<'q, O>,
    scope: &'q EnterpriseScope,
    viewer: &'q ScopedAdmin,
    q: &'q AlertQuery,
) -> AnyQueryAs<'q, O> {
    let (prefix, one) = match scope {
        EnterpriseScope::Subtree(p) => (p.as_str(), ""),
        EnterpriseScope::One(id) => ("", id.as_str()),
    };
    let types = q.types.as_ref().map(|t| t.join(",")).unwrap_or_default();
    query
        .bind(prefix)
        .bind(one)
        .bind(q.enterprise_id.as_str())
        .bind(q.print_point_id.as_str())
        .bind(q.region_id.as_str())
        .bind(q.group_id.as_str())
        .bind(q.state.as_str())
        .bind(i64::from(q.types.is_some()))
        .bind(types)
        .bind(viewer.admin_id.as_str())
        .bind(viewer.region_flag())
}
