//! Scan records (扫描记录): the user's scans (list, thumbnail, download, rename, delete, print,
//! pay, share links), the gateway's upload of what an MFP sent, and the admins' view (unclaimed
//! scans and counts per print point).

use crate::domain::Permission;
use poem::{Body, Request};
use poem_openapi::{
    param::{Path, Query},
    payload::{Binary, Json, Response},
    ApiResponse, Object, OpenApi,
};

use super::{
    declared_text::FileNameText,
    error::{ApiError, ErrorCode},
    jobs::JobView,
    scan_sessions::busy_error,
    security::{AdminAuth, GatewayAuth, UserAuth},
    upload_form,
    views::Page,
    ApiTags,
};
use crate::{
    domain::{ScanCharge, ScanFormat, ScanRecord, MAX_SHARE_HOURS},
    i18n::Lang,
    services::scans::{ArrivingScan, ScanCount, ScanError, ScanFile, ScanService},
};

pub struct ScanRecordsApi {
    pub scans: ScanService,
}

/// A scan record.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScanRecordView {
    /// Scan id.
    pub id: String,
    /// Where it was scanned.
    pub print_point_id: String,
    /// The user it belongs to; absent for an unclaimed scan (no scan session was open).
    pub user_id: Option<String>,
    /// Name (the MFP's file name until renamed).
    pub name: String,
    /// `pdf`, `jpeg`, `png` or `tiff`.
    pub format: ScanFormat,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Pages.
    pub pages: i64,
    /// Price at the scan rate, fen.
    pub price_fen: i64,
    /// `free`, `paid`, or `unpaid` (the wallet could not cover it: pay to download).
    pub charge: ScanCharge,
    /// When it reached the gateway (Unix epoch ms).
    pub scanned_at: i64,
    /// When it reached the server (Unix epoch ms).
    pub received_at: i64,
    /// Deleted after this (Unix epoch ms): the enterprise's retention.
    pub expires_at: i64,
    /// Until when its share link works, while one does (Unix epoch ms).
    pub shared_until: Option<i64>,
    /// The live share link itself (to its owner only).
    pub share_url: Option<String>,
}

impl From<ScanRecord> for ScanRecordView {
    fn from(s: ScanRecord) -> Self {
        Self {
            id: s.id,
            print_point_id: s.print_point_id,
            user_id: s.user_id,
            name: s.name,
            format: s.format,
            size_bytes: s.size_bytes,
            pages: s.pages,
            price_fen: s.price_fen,
            charge: s.charge,
            scanned_at: s.scanned_at,
            received_at: s.received_at,
            expires_at: s.expires_at,
            shared_until: s.share.map(|(_, until)| until),
            share_url: None,
        }
    }
}

/// Rename a scan record.
#[derive(Debug, Object)]
pub struct RenameScan {
    /// The new name; the format's extension is kept.
    #[oai(validator(max_length = 200))]
    pub name: String,
}

/// Create a share link.
#[derive(Debug, Object)]
pub struct ShareScan {
    /// How long the link works, hours (1-168).
    #[oai(validator(minimum(value = "1"), maximum(value = "168")))]
    pub hours: i64,
}

/// A share link: anyone with it downloads the scan, without signing in, until it expires.
#[derive(Debug, Object)]
pub struct ShareLinkView {
    /// The link.
    pub url: String,
    /// Until when it works (Unix epoch ms).
    pub expires_at: i64,
}

/// Scans counted at one print point.
#[derive(Debug, Object)]
pub struct ScanCountView {
    /// Print point id.
    pub print_point_id: String,
    /// Scans received.
    pub scans: i64,
    /// Pages scanned.
    pub pages: i64,
    /// Of those scans, how many no session claimed.
    pub unclaimed: i64,
    /// Charged at the scan rate, fen.
    pub charged_fen: i64,
}

impl From<ScanCount> for ScanCountView {
    fn from(c: ScanCount) -> Self {
        Self {
            print_point_id: c.print_point_id,
            scans: c.scans,
            pages: c.pages,
            unclaimed: c.unclaimed,
            charged_fen: c.charged_fen,
        }
    }
}

#[derive(ApiResponse)]
enum Received {
    /// A new scan record.
    #[oai(status = 201)]
    Created(Json<ScanRecordView>),
    /// The gateway sent this scan before: the record it made then.
    #[oai(status = 200)]
    Known(Json<ScanRecordView>),
}

#[derive(ApiResponse)]
enum ScanDownload {
    /// The scanned file, served with its own media type (`application/pdf`, `image/jpeg`,
    /// `image/png` or `image/tiff`) and named in `Content-Disposition`.
    #[oai(status = 200, content_type = "application/octet-stream")]
    Ok(Binary<Body>),
}

#[derive(ApiResponse)]
enum Png {
    /// A PNG image.
    #[oai(status = 200, content_type = "image/png")]
    Ok(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum Printed {
    /// The new print job (processed like an upload).
    #[oai(status = 201)]
    Created(Json<JobView>),
}

/// The file with its media type and a UTF-8 file name (RFC 6266 / 5987); `inline` lets a
/// browser show a PDF or image rather than save it.
fn download(f: ScanFile, inline: bool) -> Response<ScanDownload> {
    let encoded: String = f
        .record
        .name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let ascii: String =
        f.record.name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let disposition = if inline { "inline" } else { "attachment" };
    Response::new(ScanDownload::Ok(Binary(Body::from_async_read(f.reader))))
        .header(poem::http::header::CONTENT_TYPE, f.record.format.content_type())
        .header(
            poem::http::header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        )
}

impl ScanRecordsApi {
    /// A record as its owner sees it: with its live share link.
    fn owned_view(&self, s: ScanRecord) -> ScanRecordView {
        let url = s.share.as_ref().map(|(token, _)| self.scans.share_url(token));
        ScanRecordView { share_url: url, ..s.into() }
    }
}

impl From<ScanError> for ApiError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::NotFound => ApiError::new(ErrorCode::NotFound),
            ScanError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            ScanError::Invalid { field, source } => (field, source).into(),
            ScanError::ScanDisabled => ApiError::new(ErrorCode::ScanDisabled),
            ScanError::SessionBusy { until } => busy_error(until),
            ScanError::SessionClosed => ApiError::new(ErrorCode::ScanSessionClosed),
            ScanError::Unpaid => ApiError::new(ErrorCode::ScanUnpaid),
            ScanError::InsufficientBalance { balance_fen } => {
                let detail = match Lang::current() {
                    Lang::ZhCn => format!("余额 {}.{:02} 元", balance_fen / 100, balance_fen % 100),
                    Lang::En => format!("balance {}.{:02} yuan", balance_fen / 100, balance_fen % 100),
                };
                ApiError::detailed(ErrorCode::InsufficientBalance, None, &detail)
            }
            ScanError::TooLarge { .. } => ApiError::field(ErrorCode::FileTooLarge, "file"),
            ScanError::Document(d) => d.into(),
            ScanError::Job(j) => j.into(),
            ScanError::Tenant(t) => t.into(),
            e @ (ScanError::Store(_) | ScanError::Secret(_) | ScanError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Scans")]
impl ScanRecordsApi {
    /// The user's scan records, newest first.
    #[oai(path = "/scans", method = "get", operation_id = "scan_list")]
    async fn list(
        &self,
        auth: UserAuth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<ScanRecordView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let scans = self.scans.list(&auth.0, page.limit, page.offset).await?;
        Ok(Json(scans.into_iter().map(|s| self.owned_view(s)).collect()))
    }

    /// One of the user's scan records.
    #[oai(path = "/scans/:id", method = "get", operation_id = "scan_get")]
    async fn get(&self, auth: UserAuth, id: Path<String>) -> Result<Json<ScanRecordView>, ApiError> {
        Ok(Json(self.owned_view(self.scans.get(&auth.0, &id).await?)))
    }

    /// The first page as a small PNG (also before an unpaid scan is paid).
    #[oai(path = "/scans/:id/thumbnail", method = "get", operation_id = "scan_thumbnail")]
    async fn thumbnail(&self, auth: UserAuth, id: Path<String>) -> Result<Png, ApiError> {
        Ok(Png::Ok(Binary(self.scans.thumbnail(&auth.0, &id).await?)))
    }

    /// The scanned file (`scan_unpaid` until an unpaid scan is paid).
    #[oai(path = "/scans/:id/file", method = "get", operation_id = "scan_file")]
    async fn file(
        &self,
        auth: UserAuth,
        id: Path<String>,
        /// `true` to view it in the browser rather than save it.
        inline: Query<Option<bool>>,
    ) -> Result<Response<ScanDownload>, ApiError> {
        Ok(download(self.scans.file(&auth.0, &id).await?, inline.0.unwrap_or(false)))
    }

    /// Rename a scan record.
    #[oai(path = "/scans/:id", method = "patch", operation_id = "scan_rename")]
    async fn rename(
        &self,
        auth: UserAuth,
        id: Path<String>,
        body: Json<RenameScan>,
    ) -> Result<Json<ScanRecordView>, ApiError> {
        Ok(Json(self.owned_view(self.scans.rename(&auth.0, &id, &body.0.name).await?)))
    }

    /// Delete a scan record and its file.
    #[oai(path = "/scans/:id", method = "delete", operation_id = "scan_delete")]
    async fn delete(&self, auth: UserAuth, id: Path<String>) -> Result<NoContent, ApiError> {
        self.scans.delete(&auth.0, &id).await?;
        Ok(NoContent::Done)
    }

    /// Pay for an unpaid scan from the wallet (`insufficient_balance` if it cannot).
    #[oai(path = "/scans/:id/pay", method = "post", operation_id = "scan_pay")]
    async fn pay(&self, auth: UserAuth, id: Path<String>) -> Result<Json<ScanRecordView>, ApiError> {
        Ok(Json(self.owned_view(self.scans.pay(&auth.0, &id).await?)))
    }

    /// "Print this": the scan becomes one of the user's print jobs, held for release like any
    /// other.
    #[oai(path = "/scans/:id/print", method = "post", operation_id = "scan_print")]
    async fn print(&self, auth: UserAuth, id: Path<String>) -> Result<Printed, ApiError> {
        Ok(Printed::Created(Json(Box::pin(self.scans.print(&auth.0, &id)).await?.into())))
    }

    /// Create a share link (replacing any earlier one) that works until it expires, never
    /// past the record's own expiry.
    #[oai(path = "/scans/:id/share", method = "put", operation_id = "scan_share")]
    async fn share(
        &self,
        auth: UserAuth,
        id: Path<String>,
        body: Json<ShareScan>,
    ) -> Result<Json<ShareLinkView>, ApiError> {
        let hours = body.0.hours.clamp(1, MAX_SHARE_HOURS);
        let link = self.scans.share(&auth.0, &id, hours).await?;
        Ok(Json(ShareLinkView { url: self.scans.share_url(&link.token), expires_at: link.expires_at }))
    }

    /// Revoke the share link.
    #[oai(path = "/scans/:id/share", method = "delete", operation_id = "scan_unshare")]
    async fn unshare(&self, auth: UserAuth, id: Path<String>) -> Result<NoContent, ApiError> {
        self.scans.unshare(&auth.0, &id).await?;
        Ok(NoContent::Done)
    }

    /// A shared scan, by its link (no sign-in; `not_found` once the link expired or was
    /// revoked).
    #[oai(path = "/shared-scans/:token", method = "get", operation_id = "shared_scan_file")]
    async fn shared(&self, token: Path<String>) -> Result<Response<ScanDownload>, ApiError> {
        Ok(download(self.scans.shared(&token).await?, true))
    }

    /// The gateway uploads a scan an MFP sent to its FTP server, as the raw request body.
    /// Retrying with the same `scan_id` records it once (200 with the first record).
    #[oai(path = "/gateway/scans", method = "post", operation_id = "gateway_scan_upload")]
    #[allow(clippy::too_many_arguments)]
    async fn upload(
        &self,
        auth: GatewayAuth,
        req: &Request,
        /// The print point whose scan account the MFP logged in with.
        print_point_id: Query<String>,
        /// The gateway's id for this file (the same on every retry).
        #[oai(validator(min_length = 8, max_length = 64))]
        scan_id: Query<String>,
        /// The file name the MFP chose.
        file_name: Query<FileNameText>,
        /// When the file reached the gateway (Unix epoch ms): it decides whose session it
        /// falls in, however late the upload.
        scanned_at: Query<i64>,
        body: Binary<Body>,
    ) -> Result<Received, ApiError> {
        upload_form::refuse_declared_oversize(req, self.scans.max_upload_bytes())?;
        let arriving = ArrivingScan {
            print_point_id: print_point_id.0,
            gateway_scan_id: scan_id.0,
            file_name: file_name.0.into_string(),
            scanned_at: scanned_at.0,
        };
        let mut stream = Box::pin(body.0.into_bytes_stream());
        // Boxed: receiving (store, check, claim, charge) is a deep future; kept off the stack
        // of the request's task, which every operation shares.
        let (record, new) = Box::pin(self.scans.receive(&auth.0, arriving, &mut stream)).await?;
        Ok(if new { Received::Created(Json(record.into())) } else { Received::Known(Json(record.into())) })
    }

    /// An enterprise's scans at the print points the admin sees, newest first (an admin
    /// sees a user's scan's facts, not its file).
    #[oai(path = "/enterprises/:id/scans", method = "get", operation_id = "scan_admin_list")]
    async fn admin_list(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Only scans no session claimed.
        unclaimed: Query<Option<bool>>,
        /// Only scans from this print point.
        print_point_id: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<ScanRecordView>>, ApiError> {
        auth.0.require(Permission::Jobs)?;
        let page = Page::new(limit.0, offset.0);
        let scans = self
            .scans
            .admin_list(
                &auth.0,
                &id,
                unclaimed.0.unwrap_or(false),
                print_point_id.0.as_deref(),
                page.limit,
                page.offset,
            )
            .await?;
        Ok(Json(scans.into_iter().map(Into::into).collect()))
    }

    /// An unclaimed scan's file, for the admins of its print point (`forbidden` for a user's).
    #[oai(path = "/enterprises/:id/scans/:scan_id/file", method = "get", operation_id = "scan_admin_file")]
    async fn admin_file(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        scan_id: Path<String>,
    ) -> Result<Response<ScanDownload>, ApiError> {
        auth.0.require(Permission::Jobs)?;
        Ok(download(self.scans.admin_file(&auth.0, &id, &scan_id).await?, false))
    }

    /// Delete a scan of the enterprise (an unclaimed one once dealt with).
    #[oai(path = "/enterprises/:id/scans/:scan_id", method = "delete", operation_id = "scan_admin_delete")]
    async fn admin_delete(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        scan_id: Path<String>,
    ) -> Result<NoContent, ApiError> {
        auth.0.require(Permission::Jobs)?;
        self.scans.admin_delete(&auth.0, &id, &scan_id).await?;
        Ok(NoContent::Done)
    }

    /// Scans counted per print point the admin sees, received in [`from`, `before`).
    #[oai(path = "/enterprises/:id/scan-counts", method = "get", operation_id = "scan_counts")]
    async fn counts(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// From (Unix epoch ms, default: the beginning).
        from: Query<Option<i64>>,
        /// Before (Unix epoch ms, default: now and later).
        before: Query<Option<i64>>,
    ) -> Result<Json<Vec<ScanCountView>>, ApiError> {
        auth.0.require(Permission::Reports)?;
        let counts = self.scans.counts(&auth.0, &id, from.0.unwrap_or(0), before.0.unwrap_or(i64::MAX)).await?;
        Ok(Json(counts.into_iter().map(Into::into).collect()))
    }
}
