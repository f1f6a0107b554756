//! A print point's scan account (扫描账号): what its MFP's scan-to-FTP destination logs in to
//! the gateway's FTP server with.

use crate::domain::Permission;
use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::scans::{ScanAccount, ScanService};

pub struct ScanAccountsApi {
    pub scans: ScanService,
}

/// A print point's scan account. On the MFP: scan to FTP (or "network folder, FTP"), server =
/// the gateway's address, port 2121 unless the gateway is set otherwise, this user and password.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScanAccountView {
    /// Print point id.
    pub print_point_id: String,
    /// FTP user name.
    pub user: String,
    /// FTP password; only for admins who manage the print point.
    pub password: Option<String>,
}

impl ScanAccountView {
    fn of(a: ScanAccount, with_password: bool) -> Self {
        Self { print_point_id: a.print_point_id, user: a.user, password: with_password.then_some(a.password) }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Scans")]
impl ScanAccountsApi {
    /// The print point's scan account (made on first request).
    #[oai(path = "/print-points/:id/scan-account", method = "get", operation_id = "scan_account_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<ScanAccountView>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let (account, manages) = self.scans.account(&auth.0, &id).await?;
        Ok(Json(ScanAccountView::of(account, manages)))
    }

    /// Give the print point a new scan password; the gateway takes it on its next refresh,
    /// and the MFP's destination must be updated to match.
    #[oai(path = "/print-points/:id/scan-account/reset", method = "post", operation_id = "scan_account_reset")]
    async fn reset(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<ScanAccountView>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Json(ScanAccountView::of(self.scans.reset_account(&auth.0, &id).await?, true)))
    }
}
