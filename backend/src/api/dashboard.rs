//! The admin dashboard (概览): print points by status, open alerts, today's printing.

use poem_openapi::{param::Query, payload::Json, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::dashboard::{Dashboard, DashboardError, DashboardService};

pub struct DashboardApi {
    pub dashboard: DashboardService,
}

/// What needs attention in the admin's scope, and today's printing. Each number is what the
/// matching list shows to this admin (region and group admins: their print points only).
#[derive(Debug, Object)]
pub struct DashboardView {
    /// Print points online.
    pub print_points_online: i64,
    /// Print points offline (their gateway or device is not answering).
    pub print_points_offline: i64,
    /// Print points whose device reports an error.
    pub print_points_error: i64,
    /// Alerts not yet resolved (raised or acknowledged).
    pub alerts_open: i64,
    /// Of those, the ones at level 1 for this admin (shown in red).
    pub alerts_open_level1: i64,
    /// Jobs printed today.
    pub jobs_today: i64,
    /// Pages they printed (as the printer reported, else pages × copies).
    pub pages_today: i64,
    /// Money taken for them, less refunds (fen).
    pub takings_today_fen: i64,
    /// When today began: 00:00 China time (Unix epoch ms), for "today" links to the lists.
    pub day_started_at: i64,
}

impl From<Dashboard> for DashboardView {
    fn from(d: Dashboard) -> Self {
        Self {
            print_points_online: d.print_points_online,
            print_points_offline: d.print_points_offline,
            print_points_error: d.print_points_error,
            alerts_open: d.alerts_open,
            alerts_open_level1: d.alerts_open_level1,
            jobs_today: d.jobs_today,
            pages_today: d.pages_today,
            takings_today_fen: d.takings_today_fen,
            day_started_at: d.day_started_at,
        }
    }
}

impl From<DashboardError> for ApiError {
    fn from(e: DashboardError) -> Self {
        match e {
            DashboardError::Tenant(t) => t.into(),
            DashboardError::Alert(a) => a.into(),
            e @ DashboardError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Dashboard")]
impl DashboardApi {
    /// The dashboard of everything the admin sees, or of one enterprise in their scope.
    #[oai(path = "/dashboard", method = "get", operation_id = "dashboard_get")]
    async fn get(
        &self,
        auth: AdminAuth,
        /// Only this enterprise.
        #[oai(validator(max_length = 64))]
        enterprise_id: Query<Option<String>>,
    ) -> Result<Json<DashboardView>, ApiError> {
        Ok(Json(self.dashboard.dashboard(&auth.0, enterprise_id.0.as_deref()).await?.into()))
    }
}
