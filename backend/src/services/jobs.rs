//! Print jobs from the owner's and the admins' side: upload (streamed, sniffed, checked, and
//! either stored whole or not at all), options and quotes, cancel and delete, files and
//! history, rates. Processing itself is in `processing.rs`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use futures_util::Stream;

use crate::{
    documents::{
        office, pdf,
        sniff::{self, DocumentKind},
        store::{FileKey, FileReader, FileStore, StoreError, Stored},
        DocumentError,
    },
    domain::{
        ActorKind, AdminRole, ColourMode, Job, JobEvent, JobFilter, JobOptions, JobState, JobTransition, Module,
        Orientation, PageFacts, PageRanges, PaperSize, Permission, Sides, UserEvent, ValueError,
    },
    infra::{events::EventBus, new_id, now_ms},
    services::{
        authz::{AdminPrincipal, UserPrincipal},
        pricing::{self, Quote, QuoteError, RatePlan, RatePlanInput},
        tenants::{TenantError, TenantService},
    },
    storage::{
        jobs::{Actor, JobRepo, JobRow},
        rates::{RateOwner, RateRepo},
        tenants::TenantRepo,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("give the file a name")]
    MissingFileName,
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("the job is {}; this is not allowed now", .0.as_str())]
    StateConflict(JobState),
    #[error("the job is not processed yet")]
    NotReady,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("file store: {0}")]
    Store(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => JobError::TooLarge { limit },
            other => JobError::Store(other.to_string()),
        }
    }
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> JobError {
    move |source| JobError::Invalid { field, source }
}

/// Limits and tools the document pipeline works with.
#[derive(Debug, Clone)]
pub struct JobLimits {
    pub max_upload_bytes: u64,
    pub page_limit: u32,
    /// LibreOffice, when installed.
    pub soffice: Option<PathBuf>,
}

/// Option changes; absent fields stay.
#[derive(Debug, Default)]
pub struct OptionsPatch {
    pub copies: Option<i64>,
    pub sides: Option<String>,
    pub colour_mode: Option<String>,
    pub paper_size: Option<String>,
    pub page_ranges: Option<String>,
    pub pages_per_sheet: Option<i64>,
    pub orientation: Option<String>,
}

pub fn job_prefix(job_id: &str) -> Option<FileKey> {
    FileKey::new(format!("jobs/{}", job_id.to_ascii_lowercase()))
}

pub fn job_file(job_id: &str, name: &str) -> Option<FileKey> {
    FileKey::new(format!("jobs/{}/{name}", job_id.to_ascii_lowercase()))
}

/// Tells the job's owner (on any instance) that it changed.
pub async fn announce(events: &dyn EventBus, j: &JobRow) {
    let event = UserEvent::Job(JobEvent {
        job_id: j.id.clone(),
        state: j.state,
        progress: j.progress,
        error_code: j.error_code.clone(),
    });
    event.publish(events, &j.user_id).await;
}

#[derive(Clone)]
pub struct JobService {
    repo: JobRepo,
    rates: RateRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    store: Arc<dyn FileStore>,
    events: Arc<dyn EventBus>,
    limits: JobLimits,
    wake: Arc<tokio::sync::Notify>,
}

impl JobService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: sqlx::AnyPool,
        tenants: TenantService,
        store: Arc<dyn FileStore>,
        events: Arc<dyn EventBus>,
        limits: JobLimits,
        wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self {
            repo: JobRepo::new(pool.clone()),
            rates: RateRepo::new(pool.clone()),
            tenants_repo: TenantRepo::new(pool),
            tenants,
            store,
            events,
            limits,
            wake,
        }
    }

    pub fn limits(&self) -> &JobLimits {
        &self.limits
    }

    /// Receives a document and creates a job for it. The body is streamed to a temporary
    /// file and checked; only a document that passes is stored, under the new job.
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn upload(
        &self,
        who: &UserPrincipal,
        file_name: &str,
        body: &mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
    ) -> Result<Job, JobError> {
        let display_name = display_file_name(file_name).ok_or(JobError::MissingFileName)?;
        // Before a byte is read: an edition without cloud printing takes no documents.
        self.tenants.require_module(&who.enterprise_id, Module::CloudPrint).await?;
        let (temp, stored) = self.store.receive(body, self.limits.max_upload_bytes).await?;
        let path = temp.to_path_buf();
        let page_limit = self.limits.page_limit;
        let converter = self.limits.soffice.is_some();
        let kind = tokio::task::spawn_blocking(move || check_upload(&path, page_limit, converter))
            .await
            .map_err(|e| DocumentError::Io(e.to_string()))??;

        let now = now_ms();
        let retention_hours = self.tenants_repo.job_retention_hours(&who.enterprise_id).await?;
        let id = new_id();
        let source = job_file(&id, "source").ok_or(JobError::NotFound)?;
        self.store.commit(&temp, &source).await?;
        let expires_at = now.saturating_add(retention_hours.saturating_mul(3_600_000));
        let job = new_job(id.clone(), who, display_name, kind, stored, now, expires_at);
        if let Err(e) = self.repo.insert(&job, &Actor { kind: ActorKind::User, id: who.user_id.clone() }).await {
            // Nothing half-stored: the file goes with the failed insert.
            if let Some(prefix) = job_prefix(&id) {
                let _ = self.store.delete_prefix(&prefix).await;
            }
            return Err(e.into());
        }
        self.wake.notify_one();
        announce(self.events.as_ref(), &job).await;
        Ok(job.into())
    }

    /// The user's own job; anyone else's is "not found".
    pub async fn get(&self, who: &UserPrincipal, id: &str) -> Result<Job, JobError> {
        Ok(self.owned(who, id).await?.into())
    }

    async fn owned(&self, who: &UserPrincipal, id: &str) -> Result<JobRow, JobError> {
        let job = self.repo.get(id).await?;
        job.filter(|j| j.user_id == who.user_id && j.enterprise_id == who.enterprise_id && j.hidden == 0)
            .ok_or(JobError::NotFound)
    }

    pub async fn list(
        &self,
        who: &UserPrincipal,
        state: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Job>, JobError> {
        if let Some(s) = state {
            JobState::parse(s).map_err(invalid("state"))?;
        }
        Ok(self.repo.list_for_user(&who.user_id, state, limit, offset).await?.into_iter().map(Into::into).collect())
    }

    /// Changes options while the job is held; the quote follows.
    pub async fn update_options(&self, who: &UserPrincipal, id: &str, patch: OptionsPatch) -> Result<Job, JobError> {
        let mut job = self.owned(who, id).await?;
        let state = job.state;
        let mut o = job.options();
        if let Some(n) = patch.copies {
            o.copies = JobOptions::parse_copies(n).map_err(invalid("copies"))?;
        }
        if let Some(s) = patch.sides {
            o.sides = Sides::parse(&s).map_err(invalid("sides"))?;
        }
        if let Some(s) = patch.colour_mode {
            o.colour_mode = ColourMode::parse(&s).map_err(invalid("colour_mode"))?;
        }
        if let Some(s) = patch.paper_size {
            o.paper_size = PaperSize::parse(&s).map_err(invalid("paper_size"))?;
        }
        if let Some(s) = patch.page_ranges {
            o.page_ranges = PageRanges::parse(&s).map_err(invalid("page_ranges"))?;
        }
        if let Some(n) = patch.pages_per_sheet {
            o.pages_per_sheet = JobOptions::parse_pages_per_sheet(n).map_err(invalid("pages_per_sheet"))?;
        }
        if let Some(s) = patch.orientation {
            o.orientation = Orientation::parse(&s).map_err(invalid("orientation"))?;
        }
        if !state.is_held() {
            return Err(JobError::StateConflict(job.state));
        }
        job.quote_fen = match job.page_facts() {
            Some(pages) => Some(self.quote_with(&job.enterprise_id, &pages, &o).await?.total.0),
            None => None,
        };
        job.copies = i64::from(o.copies);
        job.sides = o.sides.as_str().into();
        job.colour_mode = o.colour_mode.as_str().into();
        job.paper_size = o.paper_size.as_str().into();
        job.page_ranges = o.page_ranges.to_text();
        job.pages_per_sheet = i64::from(o.pages_per_sheet);
        job.orientation = o.orientation.as_str().into();
        job.updated_at = now_ms();
        if !self.repo.update_options(&job).await? {
            return Err(JobError::StateConflict(JobState::Released));
        }
        Ok(job.into())
    }

    async fn quote_with(&self, enterprise_id: &str, pages: &[PageFacts], o: &JobOptions) -> Result<Quote, JobError> {
        let plan = self.rate_plan(enterprise_id).await?;
        let flags: Vec<bool> = pages.iter().map(|p| p.colour).collect();
        pricing::quote(&plan, &flags, o).map_err(|e| match e {
            QuoteError::NoPages => JobError::Invalid { field: "page_ranges", source: ValueError::NoPagesSelected },
            QuoteError::Overflow => JobError::Invalid { field: "copies", source: ValueError::Copies },
        })
    }

    /// The job's price with its breakdown (None until processed).
    pub async fn quote(&self, who: &UserPrincipal, id: &str) -> Result<Option<Quote>, JobError> {
        let job = self.owned(who, id).await?;
        match job.page_facts() {
            Some(pages) => Ok(Some(self.quote_with(&job.enterprise_id, &pages, &job.options()).await?)),
            None => Ok(None),
        }
    }

    /// Cancels a held job and deletes its files at once.
    pub async fn cancel(&self, who: &UserPrincipal, id: &str) -> Result<Job, JobError> {
        let job = self.owned(who, id).await?;
        let actor = Actor { kind: ActorKind::User, id: who.user_id.clone() };
        if !self
            .repo
            .transition(
                &job.id,
                &[JobState::Uploaded, JobState::Processing, JobState::Ready],
                JobState::Cancelled,
                now_ms(),
                &actor,
                None,
            )
            .await?
        {
            return Err(JobError::StateConflict(job.state));
        }
        self.delete_files(&job.id).await;
        let job = self.repo.get(id).await?.ok_or(JobError::NotFound)?;
        announce(self.events.as_ref(), &job).await;
        Ok(job.into())
    }

    /// Removes the job from the owner's list (cancelling it first if held). The record stays
    /// for billing; jobs at the printer cannot be deleted.
    pub async fn delete(&self, who: &UserPrincipal, id: &str) -> Result<(), JobError> {
        let job = self.owned(who, id).await?;
        let state = job.state;
        if state.is_held() {
            self.cancel(who, id).await?;
        } else if !state.is_final() {
            return Err(JobError::StateConflict(job.state));
        }
        self.delete_files(&job.id).await;
        self.repo.hide(&job.id, now_ms()).await?;
        Ok(())
    }

    pub async fn delete_files(&self, job_id: &str) {
        if let Some(prefix) = job_prefix(job_id) {
            match self.store.delete_prefix(&prefix).await {
                Ok(()) => {
                    if let Err(e) = self.repo.mark_files_deleted(job_id).await {
                        tracing::warn!(error = %e, job = job_id, "cannot mark files deleted");
                    }
                }
                Err(e) => tracing::warn!(error = %e, job = job_id, "cannot delete job files"),
            }
        }
    }

    /// A local path of one of the job's files, once processed and while kept.
    pub async fn file(&self, who: &UserPrincipal, id: &str, name: &str) -> Result<FileReader, JobError> {
        let key = self.ready_file(who, id, name).await?;
        self.store.open(&key).await?.ok_or(JobError::NotFound)
    }

    /// One of the user's job's small files (the thumbnail), whole.
    pub async fn file_bytes(&self, who: &UserPrincipal, id: &str, name: &str) -> Result<Vec<u8>, JobError> {
        let key = self.ready_file(who, id, name).await?;
        self.store.read(&key).await?.ok_or(JobError::NotFound)
    }

    /// The key of a processed job's file, once the user may have it.
    async fn ready_file(&self, who: &UserPrincipal, id: &str, name: &str) -> Result<FileKey, JobError> {
        let job = self.owned(who, id).await?;
        if job.files_deleted != 0 {
            return Err(JobError::NotFound);
        }
        if job.page_count.is_none() {
            return Err(JobError::NotReady);
        }
        job_file(&job.id, name).ok_or(JobError::NotFound)
    }

    /// A stored file for a signed gateway download, if it exists.
    pub async fn stored_file(&self, key: &FileKey) -> Result<Option<FileReader>, JobError> {
        Ok(self.store.open(key).await?)
    }

    /// Renders page `page` of the print-ready PDF as a PNG (longer side `size` px).
    pub async fn preview(&self, who: &UserPrincipal, id: &str, page: u32, size: u32) -> Result<Vec<u8>, JobError> {
        let job = self.owned(who, id).await?;
        let pages = u32::try_from(job.page_count.unwrap_or(0)).unwrap_or(0);
        if page == 0 || page > pages.max(1) {
            return Err(JobError::NotFound);
        }
        let key = self.ready_file(who, id, "print.pdf").await?;
        if !self.store.exists(&key).await {
            return Err(JobError::NotFound);
        }
        // pdftoppm reads a local path; the PNG it writes is scratch, read back here.
        let pdf = self.store.local_path(&key);
        let scratch = self.store.scratch()?;
        let png = crate::documents::render::page_png(
            &pdf,
            page,
            size.clamp(64, 2048),
            &scratch.path().join("preview"),
            std::time::Duration::from_secs(30),
        )
        .await?;
        Ok(tokio::fs::read(png).await.map_err(DocumentError::from)?)
    }

    pub async fn history(&self, who: &UserPrincipal, id: &str) -> Result<Vec<JobTransition>, JobError> {
        let job = self.owned(who, id).await?;
        Ok(self.repo.transitions(&job.id).await?.into_iter().map(Into::into).collect())
    }

    /// 在线文印查询: an enterprise's jobs for admins in scope; region and group admins see
    /// those released at the print points they see.
    pub async fn admin_list(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        filter: JobFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Job>, JobError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let jobs = self.repo.list_for_enterprise(&enterprise.id, &filter, &actor.scoped(), limit, offset).await?;
        Ok(jobs.into_iter().map(Into::into).collect())
    }

    /// One of an enterprise's jobs, for an admin whose list holds it (404 otherwise).
    pub async fn admin_get(&self, actor: &AdminPrincipal, enterprise_id: &str, id: &str) -> Result<Job, JobError> {
        Ok(self.admin_visible(actor, enterprise_id, id).await?.into())
    }

    /// Every state change of a job the admin sees.
    pub async fn admin_history(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        id: &str,
    ) -> Result<Vec<JobTransition>, JobError> {
        let job = self.admin_visible(actor, enterprise_id, id).await?;
        Ok(self.repo.transitions(&job.id).await?.into_iter().map(Into::into).collect())
    }

    async fn admin_visible(&self, actor: &AdminPrincipal, enterprise_id: &str, id: &str) -> Result<JobRow, JobError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        self.repo.get_for_enterprise(&enterprise.id, id, &actor.scoped()).await?.ok_or(JobError::NotFound)
    }

    // ---- rates ----

    pub async fn rate_plan(&self, enterprise_id: &str) -> Result<RatePlan, JobError> {
        Ok(pricing::load_plan(&self.rates, RateOwner::Enterprise(enterprise_id)).await?.unwrap_or_default())
    }

    pub async fn rate_plan_for_admin(&self, actor: &AdminPrincipal, enterprise_id: &str) -> Result<RatePlan, JobError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        self.rate_plan(&e.id).await
    }

    /// Replaces an enterprise's rates: super admins in scope, and admins granted `rates` who
    /// are not held to regions (an enterprise-wide plan reaches beyond any region).
    pub async fn set_rate_plan(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        input: RatePlanInput,
    ) -> Result<RatePlan, JobError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        let (plan, prices) =
            pricing::parse_plan(input, now_ms()).map_err(|(field, source)| JobError::Invalid { field, source })?;
        if !actor.holds(Permission::Rates) || actor.role == AdminRole::Region {
            return Err(JobError::Forbidden);
        }
        self.rates.replace(RateOwner::Enterprise(&e.id), &plan, &prices).await?;
        self.rate_plan(&e.id).await
    }
}

/// The name shown for a file: any Unicode, without path parts or control characters, at most
/// 200 characters. (It is never used as a storage path.)
pub fn display_file_name(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).collect::<String>().trim().chars().take(200).collect();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

/// What an upload is, once its content has been looked at: readable as its kind says
/// (a PDF's pages counted, an Office zip's bounds checked, an image's size read), and
/// convertible here.
fn check_upload(path: &Path, page_limit: u32, converter: bool) -> Result<DocumentKind, DocumentError> {
    let kind = sniff::sniff(path)?;
    match kind {
        DocumentKind::Pdf => {
            pdf::inspect(path, page_limit)?;
        }
        DocumentKind::Office(k) => {
            if matches!(
                k,
                sniff::OfficeKind::Docx
                    | sniff::OfficeKind::Xlsx
                    | sniff::OfficeKind::Pptx
                    | sniff::OfficeKind::Odt
                    | sniff::OfficeKind::Ods
                    | sniff::OfficeKind::Odp
            ) {
                office::check_zip_bounds(path)?;
            }
        }
        DocumentKind::Image(_) => {
            image::ImageReader::open(path)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| DocumentError::Corrupt(e.to_string()))?
                .into_dimensions()
                .map_err(|e| DocumentError::Corrupt(e.to_string()))?;
        }
        DocumentKind::Text(_) => {}
        DocumentKind::Raster(_) => {
            crate::documents::raster::count_pages(path, page_limit)?;
        }
    }
    if kind.needs_converter() && !converter {
        return Err(DocumentError::ConverterUnavailable);
    }
    Ok(kind)
}

/// A new uploaded job with the default options.
fn new_job(
    id: String,
    who: &UserPrincipal,
    file_name: String,
    kind: DocumentKind,
    stored: Stored,
    now: i64,
    expires_at: i64,
) -> JobRow {
    let options = JobOptions::default();
    JobRow {
        id,
        enterprise_id: who.enterprise_id.clone(),
        user_id: who.user_id.clone(),
        file_name,
        document_kind: kind.as_str().into(),
        size_bytes: i64::try_from(stored.size).unwrap_or(i64::MAX),
        sha256: stored.sha256,
        state: JobState::Uploaded,
        copies: i64::from(options.copies),
        sides: options.sides.as_str().into(),
        colour_mode: options.colour_mode.as_str().into(),
        paper_size: options.paper_size.as_str().into(),
        page_ranges: options.page_ranges.to_text(),
        pages_per_sheet: i64::from(options.pages_per_sheet),
        orientation: options.orientation.as_str().into(),
        created_at: now,
        updated_at: now,
        expires_at,
        ..JobRow::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_sanitised() {
        use super::display_file_name as d;
        assert_eq!(d("C:\\Users\\张三\\报告 2026.docx").as_deref(), Some("报告 2026.docx"));
        assert_eq!(d("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(d("a\u{0}b\nc.pdf").as_deref(), Some("abc.pdf"));
        assert_eq!(d("  "), None);
        assert_eq!(d("dir/"), None);
        assert_eq!(d(&"长".repeat(300)).map(|s| s.chars().count()), Some(200));
    }
}
