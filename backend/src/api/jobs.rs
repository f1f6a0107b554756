//! Print jobs (打印作业): upload any document, follow its processing, set options with a live
//! quote, cancel or delete; the thumbnail, page previews and the print-ready PDF; and the
//! admins' online job query (在线文印查询与管理).

use crate::domain::Permission;
use poem::{Body, Request};
use poem_openapi::{
    param::{Path, Query},
    payload::{Binary, Json},
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{
    ColourModeText, FileNameText, JobStateText, OrientationText, PageRangesText, PagesPerSheetNumber, PaperSizeText,
    SidesText,
};
use super::upload_form::{self, UploadForm};
use super::{
    error::{ApiError, ErrorCode},
    security::{AdminAuth, UserAuth},
    views::Page,
    ApiTags,
};
use crate::{
    domain::{ActorKind, Job, JobFilter, JobState, JobTransition, PaperSize},
    services::{
        jobs::{JobError, JobService, OptionsPatch},
        pricing::Quote,
    },
};

pub struct JobsApi {
    pub jobs: JobService,
}

/// How a job prints.
#[derive(Debug, Object)]
pub struct JobOptionsView {
    /// Copies, 1-99.
    pub copies: i64,
    /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
    pub sides: SidesText,
    /// `auto` (each page as it is), `mono` or `colour`.
    pub colour_mode: ColourModeText,
    /// `A4`, `A3`, `A5`, `B5` or `Letter`.
    pub paper_size: PaperSizeText,
    /// Pages to print, e.g. `1-3,5,8-`; empty for all.
    pub page_ranges: String,
    /// Pages per sheet side: 1, 2 or 4.
    pub pages_per_sheet: i64,
    /// `auto`, `portrait` or `landscape`.
    pub orientation: OrientationText,
}

/// One page of the print-ready document.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PageView {
    /// 1-based page number.
    pub number: i64,
    /// Width in points (1/72 inch), as printed (after rotation).
    pub width_pt: f64,
    /// Height in points.
    pub height_pt: f64,
    /// The named paper size it matches, if any.
    pub paper_size: Option<String>,
    /// Whether anything on the page prints in colour.
    pub colour: bool,
}

/// A print job.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct JobView {
    /// Job id.
    pub id: String,
    /// The file name as uploaded (display only).
    pub file_name: String,
    /// What the content is: `pdf`, `jpeg`, `png`, …, `text-utf8`, `text-gb18030`, `docx`, ….
    pub document_kind: String,
    /// Uploaded size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the uploaded bytes (hex).
    pub sha256: String,
    /// `uploaded`, `processing`, `ready`, `released`, `printing`, `completed`, `failed`,
    /// `cancelled` or `expired`.
    pub state: JobState,
    /// Processing progress, 0-100.
    pub progress: i64,
    /// Why the job failed (same codes as API errors).
    pub error_code: Option<String>,
    /// Print options.
    pub options: JobOptionsView,
    /// Pages of the print-ready document, once processed.
    pub page_count: Option<i64>,
    /// How many of them are colour.
    pub colour_page_count: Option<i64>,
    /// Each page's size and colour, once processed.
    pub pages: Vec<PageView>,
    /// Price at the enterprise's rates, in fen, once processed.
    pub quote_fen: Option<i64>,
    /// Whether the document files are still kept (thumbnail, previews, PDF).
    pub files_available: bool,
    /// Upload time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When an unreleased job expires.
    pub expires_at: i64,
    /// The owner (shown to admins).
    pub user_id: String,
    /// Where it was released, once it was.
    pub print_point_id: Option<String>,
    /// What its release charged (fen; 0 before release or when free).
    pub charged_fen: i64,
    /// What was refunded of that (fen).
    pub refunded_fen: i64,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let o = j.options;
        let pages = j
            .pages
            .into_iter()
            .enumerate()
            .map(|(i, p)| PageView {
                number: i as i64 + 1,
                width_pt: p.w,
                height_pt: p.h,
                paper_size: PaperSize::recognise(p.w, p.h).map(|s| s.as_str().to_string()),
                colour: p.colour,
            })
            .collect();
        Self {
            options: JobOptionsView {
                copies: i64::from(o.copies),
                sides: o.sides.as_str().into(),
                colour_mode: o.colour_mode.as_str().into(),
                paper_size: o.paper_size.as_str().into(),
                page_ranges: o.page_ranges.to_text(),
                pages_per_sheet: i64::from(o.pages_per_sheet),
                orientation: o.orientation.as_str().into(),
            },
            pages,
            files_available: j.files_available,
            id: j.id,
            file_name: j.file_name,
            document_kind: j.document_kind,
            size_bytes: j.size_bytes,
            sha256: j.sha256,
            state: j.state,
            progress: j.progress,
            error_code: j.error_code,
            page_count: j.page_count,
            colour_page_count: j.colour_page_count,
            quote_fen: j.quote.map(|q| q.0),
            created_at: j.created_at,
            updated_at: j.updated_at,
            expires_at: j.expires_at,
            user_id: j.user_id,
            print_point_id: j.print_point_id,
            charged_fen: j.charged.0,
            refunded_fen: j.refunded.0,
        }
    }
}

/// Option changes; omitted fields stay as they are.
#[derive(Debug, Object)]
pub struct UpdateOptionsRequest {
    /// Copies, 1-99.
    #[oai(validator(minimum(value = "1"), maximum(value = "99")))]
    #[oai(nullable)]
    pub copies: Option<i64>,
    /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
    #[oai(nullable)]
    pub sides: Option<SidesText>,
    /// `auto`, `mono` or `colour`.
    #[oai(nullable)]
    pub colour_mode: Option<ColourModeText>,
    /// `A4`, `A3`, `A5`, `B5` or `Letter`.
    #[oai(nullable)]
    pub paper_size: Option<PaperSizeText>,
    /// e.g. `1-3,5,8-`; empty for all pages.
    #[oai(nullable)]
    pub page_ranges: Option<PageRangesText>,
    /// 1, 2 or 4.
    #[oai(nullable)]
    pub pages_per_sheet: Option<PagesPerSheetNumber>,
    /// `auto`, `portrait` or `landscape`.
    #[oai(nullable)]
    pub orientation: Option<OrientationText>,
}

/// One line of a quote.
#[derive(Debug, Object)]
pub struct QuoteLineView {
    /// Paper size priced.
    pub paper_size: String,
    /// Colour or mono.
    pub colour: bool,
    /// `side` or `sheet` (two-sided jobs priced per sheet).
    pub unit: String,
    /// Units per copy.
    pub units: i64,
    /// Price of one unit, fen.
    pub unit_fen: i64,
    /// units × unit price × copies, fen.
    pub subtotal_fen: i64,
}

/// A price quote with its breakdown.
#[derive(Debug, Object)]
pub struct QuoteView {
    /// The breakdown by class.
    pub lines: Vec<QuoteLineView>,
    /// Copies.
    pub copies: i64,
    /// Pages selected by the page ranges.
    pub pages: i64,
    /// Printed sides per copy (after pages-per-sheet).
    pub sides: i64,
    /// Sheets of paper per copy.
    pub sheets: i64,
    /// Whether the enterprise's minimum charge raised the total.
    pub minimum_applied: bool,
    /// Total, fen.
    pub total_fen: i64,
}

impl From<Quote> for QuoteView {
    fn from(q: Quote) -> Self {
        Self {
            lines: q
                .lines
                .into_iter()
                .map(|l| QuoteLineView {
                    paper_size: l.paper_size.as_str().into(),
                    colour: l.colour,
                    unit: l.unit.into(),
                    units: l.units,
                    unit_fen: l.unit_price.0,
                    subtotal_fen: l.subtotal.0,
                })
                .collect(),
            copies: q.copies,
            pages: q.pages,
            sides: q.sides,
            sheets: q.sheets,
            minimum_applied: q.minimum_applied,
            total_fen: q.total.0,
        }
    }
}

/// One recorded state change.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TransitionView {
    /// Previous state (absent for the first).
    pub from_state: Option<JobState>,
    /// New state.
    pub to_state: JobState,
    /// When (Unix epoch milliseconds, UTC).
    pub at: i64,
    /// Who moved it: the owner, an admin, the gateway that printed it, or the system.
    pub actor_kind: ActorKind,
    /// Who.
    pub actor_id: String,
    /// Why, when known (e.g. a failure code).
    pub note: Option<String>,
}

impl From<JobTransition> for TransitionView {
    fn from(t: JobTransition) -> Self {
        Self {
            from_state: t.from_state,
            to_state: t.to_state,
            at: t.at,
            actor_kind: t.actor_kind,
            actor_id: t.actor_id,
            note: t.note,
        }
    }
}

#[derive(ApiResponse)]
enum Created {
    /// Received and queued for processing.
    #[oai(status = 201)]
    Created(Json<JobView>),
}

#[derive(ApiResponse)]
enum Png {
    /// A PNG image.
    #[oai(status = 200, content_type = "image/png")]
    Ok(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
enum Pdf {
    /// The print-ready PDF.
    #[oai(status = 200, content_type = "application/pdf")]
    Ok(Binary<Body>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::NotFound => ApiError::new(ErrorCode::NotFound),
            JobError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            JobError::Invalid { field, source } => (field, source).into(),
            JobError::MissingFileName => ApiError::field(ErrorCode::MissingFileName, "file_name"),
            JobError::TooLarge { .. } => ApiError::field(ErrorCode::FileTooLarge, "file"),
            JobError::Document(d) => d.into(),
            JobError::StateConflict(_) => ApiError::new(ErrorCode::JobStateConflict),
            JobError::NotReady => ApiError::new(ErrorCode::JobNotReady),
            JobError::Tenant(t) => t.into(),
            e @ (JobError::Store(_) | JobError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Jobs")]
impl JobsApi {
    /// Upload a document as the raw request body (`application/octet-stream`) and create a
    /// job. The type is decided from the content, never from the name.
    #[oai(path = "/jobs", method = "post", operation_id = "job_upload")]
    async fn upload(
        &self,
        auth: UserAuth,
        req: &Request,
        /// The file's name, for display (any Unicode).
        file_name: Query<FileNameText>,
        body: Binary<Body>,
    ) -> Result<Created, ApiError> {
        upload_form::refuse_declared_oversize(req, self.jobs.limits().max_upload_bytes)?;
        let mut stream = Box::pin(body.0.into_bytes_stream());
        let job = self.jobs.upload(&auth.0, &file_name, &mut stream).await?;
        Ok(Created::Created(Json(job.into())))
    }

    /// Upload a document as a multipart form (`file` field) and create a job.
    #[oai(path = "/jobs/multipart", method = "post", operation_id = "job_upload_multipart")]
    async fn upload_multipart(
        &self,
        auth: UserAuth,
        /// The name to show, when the form part's own file name is not the user's: the
        /// mini-program's `wx.uploadFile` names the part after a temporary file.
        file_name: Query<Option<FileNameText>>,
        form: UploadForm,
    ) -> Result<Created, ApiError> {
        let name = match file_name.0 {
            Some(given) => given.into_string(),
            None => form.file.file_name().unwrap_or("").to_string(),
        };
        // The form part was spooled to a temporary file by the parser, not held in memory.
        let reader = form.file.into_async_read();
        let mut stream = Box::pin(futures_util::stream::unfold(reader, |mut r| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 64 * 1024];
            match r.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), r))
                }
                Err(e) => Some((Err(e), r)),
            }
        }));
        let job = self.jobs.upload(&auth.0, &name, &mut stream).await?;
        Ok(Created::Created(Json(job.into())))
    }

    /// The user's jobs, newest first.
    #[oai(path = "/jobs", method = "get", operation_id = "job_list")]
    async fn list(
        &self,
        auth: UserAuth,
        /// Only jobs in this state.
        state: Query<Option<JobStateText>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<JobView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let jobs = self.jobs.list(&auth.0, state.0.as_deref(), page.limit, page.offset).await?;
        Ok(Json(jobs.into_iter().map(Into::into).collect()))
    }

    /// One of the user's jobs.
    #[oai(path = "/jobs/:id", method = "get", operation_id = "job_get")]
    async fn get(&self, auth: UserAuth, id: Path<String>) -> Result<Json<JobView>, ApiError> {
        Ok(Json(self.jobs.get(&auth.0, &id).await?.into()))
    }

    /// Change a held job's options; the quote is recomputed.
    #[oai(path = "/jobs/:id/options", method = "patch", operation_id = "job_update_options")]
    async fn update_options(
        &self,
        auth: UserAuth,
        id: Path<String>,
        body: Json<UpdateOptionsRequest>,
    ) -> Result<Json<JobView>, ApiError> {
        let b = body.0;
        let patch = OptionsPatch {
            copies: b.copies,
            sides: b.sides.map(Into::into),
            colour_mode: b.colour_mode.map(Into::into),
            paper_size: b.paper_size.map(Into::into),
            page_ranges: b.page_ranges.map(Into::into),
            pages_per_sheet: b.pages_per_sheet.map(|n| n.0),
            orientation: b.orientation.map(Into::into),
        };
        Ok(Json(self.jobs.update_options(&auth.0, &id, patch).await?.into()))
    }

    /// The job's price at the enterprise's rates, with the breakdown (409 until processed).
    #[oai(path = "/jobs/:id/quote", method = "get", operation_id = "job_quote")]
    async fn quote(&self, auth: UserAuth, id: Path<String>) -> Result<Json<QuoteView>, ApiError> {
        match self.jobs.quote(&auth.0, &id).await? {
            Some(q) => Ok(Json(q.into())),
            None => Err(ApiError::new(ErrorCode::JobNotReady)),
        }
    }

    /// Cancel a job that is not yet released; its files are deleted at once.
    #[oai(path = "/jobs/:id/cancel", method = "post", operation_id = "job_cancel")]
    async fn cancel(&self, auth: UserAuth, id: Path<String>) -> Result<Json<JobView>, ApiError> {
        Ok(Json(self.jobs.cancel(&auth.0, &id).await?.into()))
    }

    /// Delete a job from the list (cancelling it if held). Billing records stay.
    #[oai(path = "/jobs/:id", method = "delete", operation_id = "job_delete")]
    async fn delete(&self, auth: UserAuth, id: Path<String>) -> Result<NoContent, ApiError> {
        self.jobs.delete(&auth.0, &id).await?;
        Ok(NoContent::Done)
    }

    /// The first page as a small PNG.
    #[oai(path = "/jobs/:id/thumbnail", method = "get", operation_id = "job_thumbnail")]
    async fn thumbnail(&self, auth: UserAuth, id: Path<String>) -> Result<Png, ApiError> {
        Ok(Png::Ok(Binary(self.jobs.file_bytes(&auth.0, &id, "thumb.png").await?)))
    }

    /// A page rendered as PNG on request.
    #[oai(path = "/jobs/:id/pages/:page/preview", method = "get", operation_id = "job_page_preview")]
    async fn preview(
        &self,
        auth: UserAuth,
        id: Path<String>,
        /// 1-based page number.
        #[oai(validator(minimum(value = "1")))]
        page: Path<u32>,
        /// Longer side in pixels, 64-2048 (default 1024).
        #[oai(validator(minimum(value = "64"), maximum(value = "2048")))]
        size: Query<Option<u32>>,
    ) -> Result<Png, ApiError> {
        Ok(Png::Ok(Binary(self.jobs.preview(&auth.0, &id, page.0, size.0.unwrap_or(1024)).await?)))
    }

    /// The print-ready PDF.
    #[oai(path = "/jobs/:id/document", method = "get", operation_id = "job_document")]
    async fn document(&self, auth: UserAuth, id: Path<String>) -> Result<Pdf, ApiError> {
        let file = self.jobs.file(&auth.0, &id, "print.pdf").await?;
        Ok(Pdf::Ok(Binary(Body::from_async_read(file))))
    }

    /// Every state change of the job, with time and actor.
    #[oai(path = "/jobs/:id/history", method = "get", operation_id = "job_history")]
    async fn history(&self, auth: UserAuth, id: Path<String>) -> Result<Json<Vec<TransitionView>>, ApiError> {
        Ok(Json(self.jobs.history(&auth.0, &id).await?.into_iter().map(Into::into).collect()))
    }

    /// 在线文印查询: an enterprise's jobs, for admins in scope (region and group admins: those
    /// released at the print points they see), newest first. Filters combine.
    #[oai(path = "/enterprises/:id/jobs", method = "get", operation_id = "enterprise_jobs")]
    #[allow(clippy::too_many_arguments)]
    async fn enterprise_jobs(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Only jobs in this state.
        state: Query<Option<JobStateText>>,
        /// Only this user's jobs.
        user_id: Query<Option<String>>,
        /// Only jobs released at this print point.
        print_point_id: Query<Option<String>>,
        /// Only jobs uploaded at or after this time (Unix epoch ms).
        #[oai(validator(minimum(value = "0")))]
        from: Query<Option<i64>>,
        /// Only jobs uploaded before this time (Unix epoch ms).
        #[oai(validator(minimum(value = "0")))]
        to: Query<Option<i64>>,
        /// Part of the file name.
        q: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<JobView>>, ApiError> {
        auth.0.require(Permission::Jobs)?;
        let page = Page::new(limit.0, offset.0);
        let state = state.0.map(|s| JobState::parse(&s)).transpose();
        let filter = JobFilter {
            state: state.map_err(|source| JobError::Invalid { field: "state", source })?,
            user_id: user_id.0,
            print_point_id: print_point_id.0,
            name: q.0.filter(|s| !s.trim().is_empty()),
            created_from: from.0,
            created_before: to.0,
        };
        let jobs = self.jobs.admin_list(&auth.0, &id, filter, page.limit, page.offset).await?;
        Ok(Json(jobs.into_iter().map(Into::into).collect()))
    }

    /// One of an enterprise's jobs, for admins who see it in `GET /enterprises/{id}/jobs`.
    #[oai(path = "/enterprises/:id/jobs/:job_id", method = "get", operation_id = "enterprise_job_get")]
    async fn enterprise_job(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        job_id: Path<String>,
    ) -> Result<Json<JobView>, ApiError> {
        auth.0.require(Permission::Jobs)?;
        Ok(Json(self.jobs.admin_get(&auth.0, &id, &job_id).await?.into()))
    }

    /// Every state change of one of an enterprise's jobs, with time and actor (admins who see
    /// the job).
    #[oai(path = "/enterprises/:id/jobs/:job_id/history", method = "get", operation_id = "enterprise_job_history")]
    async fn enterprise_job_history(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        job_id: Path<String>,
    ) -> Result<Json<Vec<TransitionView>>, ApiError> {
        auth.0.require(Permission::Jobs)?;
        Ok(Json(self.jobs.admin_history(&auth.0, &id, &job_id).await?.into_iter().map(Into::into).collect()))
    }
}
