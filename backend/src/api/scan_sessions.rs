//! Scan sessions (扫描): after scanning a print point's QR code, a user chooses Scan; scans the
//! MFP sends while the session is open become theirs.

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::{
    error::{ApiError, ErrorCode},
    scans::ScanRecordView,
    security::UserAuth,
    ApiTags,
};
use crate::{
    i18n::Lang,
    infra::now_ms,
    services::scans::{ScanService, SessionView},
};

pub struct ScanSessionsApi {
    pub scans: ScanService,
}

/// Open a scan session.
#[derive(Debug, Object)]
pub struct OpenScanSession {
    /// The print point's code, as in its QR URL (`…/p/{code}`).
    #[oai(validator(min_length = 1, max_length = 200))]
    pub print_point_code: String,
}

/// A scan session and what it has received.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScanSessionView {
    /// Session id.
    pub id: String,
    /// The print point.
    pub print_point_id: String,
    /// Its name.
    pub print_point_name: String,
    /// Opened (Unix epoch ms).
    pub opened_at: i64,
    /// Scans reaching the gateway until then are the user's (Unix epoch ms); each scan that
    /// arrives keeps the session open a few minutes longer.
    pub expires_at: i64,
    /// Ended early by the user (Unix epoch ms).
    pub closed_at: Option<i64>,
    /// Whether it still takes scans.
    pub open: bool,
    /// The scan rate here, fen per page (0: free).
    pub scan_fen_per_page: i64,
    /// The scans it received, oldest first.
    pub scans: Vec<ScanRecordView>,
}

impl From<SessionView> for ScanSessionView {
    fn from(v: SessionView) -> Self {
        let now = now_ms();
        Self {
            open: v.session.covers(now),
            id: v.session.id,
            print_point_id: v.session.print_point_id,
            print_point_name: v.print_point_name,
            opened_at: v.session.opened_at,
            expires_at: v.session.expires_at,
            closed_at: v.session.closed_at,
            scan_fen_per_page: v.scan_fen_per_page,
            scans: v.scans.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(ApiResponse)]
enum Opened {
    /// The session is open (a new one, or the user's own, extended).
    #[oai(status = 201)]
    Created(Json<ScanSessionView>),
}

/// "Someone else is scanning here until HH:MM".
pub(super) fn busy_error(until: i64) -> ApiError {
    let minutes = ((until - now_ms()).max(0) + 59_999) / 60_000;
    let detail = match Lang::current() {
        Lang::ZhCn => format!("另一位用户正在该打印点扫描，约 {minutes} 分钟后可用"),
        Lang::En => format!("Someone else is scanning at this print point; free in about {minutes} min"),
    };
    ApiError::detailed(ErrorCode::ScanSessionBusy, None, &detail)
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Scans")]
impl ScanSessionsApi {
    /// Open a scan session at the print point behind a scanned QR code: scans the MFP sends
    /// for the next few minutes are the user's. Opening again extends the user's own session;
    /// while another user's is open the answer is `scan_session_busy`.
    #[oai(path = "/scan-sessions", method = "post", operation_id = "scan_session_open")]
    async fn open(&self, auth: UserAuth, body: Json<OpenScanSession>) -> Result<Opened, ApiError> {
        let v = self.scans.open_session(&auth.0, &body.0.print_point_code).await?;
        Ok(Opened::Created(Json(v.into())))
    }

    /// One of the user's scan sessions, with the scans it received.
    #[oai(path = "/scan-sessions/:id", method = "get", operation_id = "scan_session_get")]
    async fn get(&self, auth: UserAuth, id: Path<String>) -> Result<Json<ScanSessionView>, ApiError> {
        Ok(Json(self.scans.session(&auth.0, &id).await?.into()))
    }

    /// End the session: later scans at the print point are no longer the user's.
    #[oai(path = "/scan-sessions/:id", method = "delete", operation_id = "scan_session_close")]
    async fn close(&self, auth: UserAuth, id: Path<String>) -> Result<Json<ScanSessionView>, ApiError> {
        Ok(Json(self.scans.close_session(&auth.0, &id).await?.into()))
    }
}
