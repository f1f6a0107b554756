//! The admin dashboard (概览): what needs attention in the admin's scope, and today's printing.
//! "Today" starts at 00:00 China time, the day the enterprises and their users live in.

use crate::{
    domain::PrintPointStatus,
    infra::now_ms,
    services::{
        alerts::{AlertError, AlertService},
        authz::AdminPrincipal,
        tenants::{TenantError, TenantService},
    },
    storage::dashboard::DashboardRepo,
};

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The dashboard's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dashboard {
    pub print_points_online: i64,
    pub print_points_offline: i64,
    pub print_points_error: i64,
    pub alerts_open: i64,
    /// Open alerts at level 1 for this admin (their alert levels decide).
    pub alerts_open_level1: i64,
    pub jobs_today: i64,
    pub pages_today: i64,
    pub takings_today_fen: i64,
    /// When "today" began (Unix epoch ms).
    pub day_started_at: i64,
}

#[derive(Clone)]
pub struct DashboardService {
    repo: DashboardRepo,
    tenants: TenantService,
    alerts: AlertService,
}

const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The start of the China civil day holding `now` (UTC+8 all year: China has no summer time).
pub fn china_day_start(now: i64) -> i64 {
    (now + CHINA_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CHINA_OFFSET_MS
}

impl DashboardService {
    pub fn new(repo: DashboardRepo, tenants: TenantService, alerts: AlertService) -> Self {
        Self { repo, tenants, alerts }
    }

    /// Everything the admin sees, or one enterprise of it (404 outside their scope).
    pub async fn dashboard(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: Option<&str>,
    ) -> Result<Dashboard, DashboardError> {
        let only = match enterprise_id {
            Some(id) => self.tenants.enterprise(actor, id).await?.id,
            None => String::new(),
        };
        let (scope, viewer) = (actor.enterprise_scope(), actor.scoped());
        let day_started_at = china_day_start(now_ms());
        let mut d = Dashboard { day_started_at, ..Dashboard::default() };
        for (status, n) in self.repo.print_points_by_status(&scope, &viewer, &only).await? {
            match PrintPointStatus::parse(&status) {
                Ok(PrintPointStatus::Online) => d.print_points_online += n,
                Ok(PrintPointStatus::Offline) => d.print_points_offline += n,
                Ok(PrintPointStatus::Error) => d.print_points_error += n,
                Err(_) => tracing::warn!(status, "print point in an unknown status"),
            }
        }
        (d.alerts_open, d.alerts_open_level1) =
            self.alerts.open_counts(actor, enterprise_id.map(|_| only.as_str())).await?;
        let printed = self.repo.printed_since(&scope, &viewer, &only, day_started_at).await?;
        (d.jobs_today, d.pages_today, d.takings_today_fen) = (printed.jobs, printed.pages, printed.takings_fen);
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_starts_at_midnight_in_china() {
        // 2026-12-04 00:30 in Beijing is 2026-12-03 16:30 UTC.
        let half_past_midnight = 1_796_315_400_000; // 2026-12-03T16:30:00Z
        assert_eq!(china_day_start(half_past_midnight), 1_796_313_600_000); // 2026-12-03T16:00:00Z
                                                                            // 2026-12-04 23:59 in Beijing belongs to the same day.
        assert_eq!(china_day_start(1_796_313_600_000 + DAY_MS - 60_000), 1_796_313_600_000);
        // Midnight itself starts the next day.
        assert_eq!(china_day_start(1_796_313_600_000 + DAY_MS), 1_796_313_600_000 + DAY_MS);
    }
}
