//! The admin dashboard's counts: print points by status, and the day's printing, over the
//! enterprises an admin's scope holds and the print points they see.

use sqlx::AnyPool;

use super::alerts::EnterpriseScope;
use super::print_points::{admin_unrestricted, points_visible_to_admin, ScopedAdmin};

/// The day's printing: jobs printed, pages printed, money taken (charged less refunded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct PrintingTotals {
    pub jobs: i64,
    pub pages: i64,
    pub takings_fen: i64,
}

#[derive(Clone)]
pub struct DashboardRepo {
    pool: AnyPool,
}

/// `$1` subtree prefix, `$2` one enterprise (the scope), `$3` only this enterprise ('' for
/// all), `$4`/`$5` the viewer, for a print point id column `point`.
fn in_scope(enterprise: &str, point: &str) -> String {
    format!(
        "{enterprise} IN (SELECT e.id FROM enterprises e WHERE \
           ($1 <> '' AND SUBSTR(e.owner_path, 1, LENGTH($1)) = $1) OR e.id = $2) \
         AND ($3 = '' OR {enterprise} = $3) AND ({} OR {point} IN ({}))",
        admin_unrestricted(4, 5),
        points_visible_to_admin(4, 5)
    )
}

fn scope_binds(scope: &EnterpriseScope) -> (&str, &str) {
    match scope {
        EnterpriseScope::Subtree(p) => (p.as_str(), ""),
        EnterpriseScope::One(id) => ("", id.as_str()),
    }
}

impl DashboardRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// How many print points the viewer sees in each status (`online`, `offline`, `error`).
    #[tracing::instrument(skip_all)]
    pub async fn print_points_by_status(
        &self,
        scope: &EnterpriseScope,
        viewer: &ScopedAdmin,
        enterprise_id: &str,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let (prefix, one) = scope_binds(scope);
        sqlx::query_as(&format!(
            "SELECT pp.status, COUNT(*) FROM print_points pp WHERE {} GROUP BY pp.status",
            in_scope("pp.enterprise_id", "pp.id")
        ))
        .bind(prefix)
        .bind(one)
        .bind(enterprise_id)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .fetch_all(&self.pool)
        .await
    }

    /// The jobs printed (completed) since `since`, their pages, and the money taken for them
    /// (less what was refunded).
    #[tracing::instrument(skip_all)]
    pub async fn printed_since(
        &self,
        scope: &EnterpriseScope,
        viewer: &ScopedAdmin,
        enterprise_id: &str,
        since: i64,
    ) -> Result<PrintingTotals, sqlx::Error> {
        let (prefix, one) = scope_binds(scope);
        // Pages: what the printer reported, else the document's pages times the copies. CAST
        // keeps PostgreSQL's SUM(bigint) from becoming NUMERIC, which `Any` cannot decode.
        sqlx::query_as(&format!(
            "SELECT COUNT(*) AS jobs, \
               CAST(COALESCE(SUM(COALESCE(j.pages_printed, j.page_count * j.copies, 0)), 0) AS BIGINT) AS pages, \
               CAST(COALESCE(SUM(j.charged_fen - j.refunded_fen), 0) AS BIGINT) AS takings_fen \
             FROM print_jobs j WHERE j.state = 'completed' AND j.finished_at >= $6 AND {}",
            in_scope("j.enterprise_id", "j.print_point_id")
        ))
        .bind(prefix)
        .bind(one)
        .bind(enterprise_id)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(since)
        .fetch_one(&self.pool)
        .await
    }
}
