//! The server as an IPP Everywhere printer per enterprise: the rules behind its job
//! operations. A job printed this way goes through `JobService::upload` like any other
//! upload and lands, held, in the user's list; the IPP side keeps only the integer job id
//! each enterprise's printer hands out (table `ipp_jobs`), Create-Job jobs until their
//! Send-Document, and the job template attributes the client gave.

use futures_util::Stream;

use crate::{
    domain::{ColourMode, JobState, Module, OrgStatus, PageRanges, PaperSize, Sides},
    infra::now_ms,
    services::{
        authz::UserPrincipal,
        jobs::{JobError, JobService, OptionsPatch},
        tenants::{TenantError, TenantService},
    },
    storage::{
        printing_tokens::{IppJobRow, NewIppJob, PrintingTokenRepo},
        tenants::TenantRepo,
    },
};

/// A Create-Job waits this long for its document (IPP's `multiple-operation-time-out`).
pub const MULTIPLE_OPERATION_TIMEOUT_SECS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum IppError {
    #[error("no such printer")]
    PrinterNotFound,
    #[error("the enterprise is suspended")]
    PrinterStopped,
    #[error("no such job")]
    JobNotFound,
    #[error("not possible in the job's state")]
    NotPossible,
    #[error("the job already has its document")]
    AlreadyHasDocument,
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("encoding the answer: {0}")]
    Encoding(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

/// The enterprise a printer URL names.
#[derive(Debug, Clone)]
pub struct IppPrinter {
    pub enterprise_id: String,
    pub code: String,
    pub name: String,
    pub accepting: bool,
    /// Why it is not accepting jobs, for `printer-state-message` (None while accepting).
    pub stopped_because: Option<&'static str>,
    /// When the enterprise was made: the printer's clock starts there.
    pub created_at: i64,
}

/// IPP `job-state` (RFC 8011 5.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IppJobState {
    Pending = 3,
    PendingHeld = 4,
    Processing = 5,
    ProcessingStopped = 6,
    Canceled = 7,
    Aborted = 8,
    Completed = 9,
}

impl IppJobState {
    pub fn is_final(self) -> bool {
        matches!(self, IppJobState::Canceled | IppJobState::Aborted | IppJobState::Completed)
    }
}

/// Job template attributes as the client gave them (None: not given).
#[derive(Debug, Clone, Default)]
pub struct IppTicket {
    pub copies: Option<u32>,
    pub sides: Option<Sides>,
    pub colour_mode: Option<ColourMode>,
    pub media: Option<PaperSize>,
    pub page_ranges: Option<PageRanges>,
}

/// A job at an enterprise's printer as IPP describes it.
#[derive(Debug, Clone)]
pub struct IppJob {
    pub ipp_job_id: i64,
    pub job_id: Option<String>,
    pub user_id: String,
    pub name: String,
    pub document_format: String,
    pub state: IppJobState,
    pub reasons: Vec<&'static str>,
    pub ticket: IppTicket,
    pub page_count: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Our state for an IPP job: the job's once it has one, else the IPP row's own.
pub fn ipp_state(row_state: &str, job_state: Option<JobState>) -> (IppJobState, Vec<&'static str>) {
    match job_state {
        Some(JobState::Uploaded | JobState::Processing) => (IppJobState::Processing, vec!["job-transforming"]),
        Some(JobState::Ready) => (IppJobState::PendingHeld, vec!["job-hold-until-specified"]),
        Some(JobState::Released) => (IppJobState::Processing, vec!["job-queued-for-marker"]),
        Some(JobState::Printing) => (IppJobState::Processing, vec!["job-printing"]),
        Some(JobState::Completed) => (IppJobState::Completed, vec!["job-completed-successfully"]),
        Some(JobState::Failed) => (IppJobState::Aborted, vec!["aborted-by-system"]),
        Some(JobState::Cancelled) => (IppJobState::Canceled, vec!["job-canceled-by-user"]),
        Some(JobState::Expired) => (IppJobState::Aborted, vec!["aborted-by-system"]),
        None => match row_state {
            "awaiting_document" => (IppJobState::PendingHeld, vec!["job-incoming"]),
            "canceled" => (IppJobState::Canceled, vec!["job-canceled-by-user"]),
            _ => (IppJobState::Aborted, vec!["aborted-by-system"]),
        },
    }
}

impl From<IppJobRow> for IppJob {
    fn from(r: IppJobRow) -> Self {
        let job_state = r.job_state.as_deref().and_then(|s| JobState::parse(s).ok());
        let (state, reasons) = ipp_state(&r.state, job_state);
        let ticket = IppTicket {
            copies: u32::try_from(r.copies).ok().filter(|n| *n > 0),
            sides: Sides::parse(&r.sides).ok(),
            colour_mode: ColourMode::parse(&r.colour_mode).ok(),
            media: PaperSize::parse(&r.media).ok(),
            page_ranges: Some(r.page_ranges.as_str()).filter(|t| !t.is_empty()).and_then(|t| PageRanges::parse(t).ok()),
        };
        Self {
            ipp_job_id: r.ipp_job_id,
            job_id: r.job_id,
            user_id: r.user_id,
            name: r.job_name,
            document_format: r.document_format,
            state,
            reasons,
            ticket,
            page_count: r.job_page_count,
            created_at: r.created_at,
            updated_at: r.job_updated_at.unwrap_or(r.updated_at).max(r.updated_at),
        }
    }
}

/// A document body as it arrives.
pub type Body<'a> = &'a mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin);

#[derive(Clone)]
pub struct IppService {
    repo: PrintingTokenRepo,
    tenants: TenantRepo,
    editions: TenantService,
    jobs: JobService,
}

impl IppService {
    pub fn new(pool: sqlx::AnyPool, jobs: JobService, editions: TenantService) -> Self {
        Self { repo: PrintingTokenRepo::new(pool.clone()), tenants: TenantRepo::new(pool), editions, jobs }
    }

    /// The printer of the enterprise with this code: stopped while the enterprise is
    /// suspended or its edition lacks IPP printing (clients show the printer's message).
    pub async fn printer(&self, code: &str) -> Result<IppPrinter, IppError> {
        let e = self.tenants.enterprise_by_code(code).await?.ok_or(IppError::PrinterNotFound)?;
        let stopped_because = if e.status != OrgStatus::Active {
            Some("Stopped: the enterprise is suspended")
        } else {
            match self.editions.require_module(&e.id, Module::IppPrinting).await {
                Ok(()) => None,
                Err(TenantError::ModuleNotInEdition(_)) => {
                    Some("Stopped: the enterprise's edition does not include printing from computers")
                }
                Err(other) => return Err(other.into()),
            }
        };
        Ok(IppPrinter {
            accepting: stopped_because.is_none(),
            stopped_because,
            enterprise_id: e.id,
            code: e.code,
            name: e.name,
            created_at: e.created_at,
        })
    }

    /// Jobs queued at the printer for this user (pending or held).
    pub async fn queued(&self, who: &UserPrincipal) -> Result<usize, IppError> {
        Ok(self.list(who, false, 500).await?.iter().filter(|j| !j.state.is_final()).count())
    }

    /// Print-Job: the IPP job and our job from one document.
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn print(
        &self,
        who: &UserPrincipal,
        name: &str,
        format: &str,
        ticket: &IppTicket,
        body: Body<'_>,
    ) -> Result<IppJob, IppError> {
        let id = self.create(who, name, format, ticket).await?;
        self.send_document(who, id.ipp_job_id, None, body).await
    }

    /// Create-Job: an IPP job waiting for its document.
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn create(
        &self,
        who: &UserPrincipal,
        name: &str,
        format: &str,
        ticket: &IppTicket,
    ) -> Result<IppJob, IppError> {
        let now = now_ms();
        let stale_before = now.saturating_sub(MULTIPLE_OPERATION_TIMEOUT_SECS * 1000);
        self.repo.abort_stale(&who.enterprise_id, stale_before, now).await?;
        let new = NewIppJob {
            enterprise_id: who.enterprise_id.clone(),
            user_id: who.user_id.clone(),
            job_name: name.to_string(),
            document_format: format.to_string(),
            copies: ticket.copies.map_or(0, i64::from),
            sides: ticket.sides.map(|s| s.as_str().to_string()).unwrap_or_default(),
            colour_mode: ticket.colour_mode.map(|c| c.as_str().to_string()).unwrap_or_default(),
            media: ticket.media.map(|m| m.as_str().to_string()).unwrap_or_default(),
            page_ranges: ticket.page_ranges.as_ref().map(PageRanges::to_text).unwrap_or_default(),
            state: "awaiting_document",
            now,
        };
        let id = self.repo.insert_ipp_job(&new).await?;
        self.get(who, id).await
    }

    /// Send-Document: the document of a Create-Job job becomes our job, named after the IPP
    /// job (or `document_name` when the job has none), with the ticket's options.
    #[tracing::instrument(skip_all, fields(user = %who.user_id, ipp_job = ipp_job_id))]
    pub async fn send_document(
        &self,
        who: &UserPrincipal,
        ipp_job_id: i64,
        document_name: Option<&str>,
        body: Body<'_>,
    ) -> Result<IppJob, IppError> {
        let ipp = self.get(who, ipp_job_id).await?;
        if ipp.job_id.is_some() {
            return Err(IppError::AlreadyHasDocument);
        }
        if ipp.state != IppJobState::PendingHeld {
            return Err(IppError::NotPossible);
        }
        let file_name = match document_name.filter(|_| ipp.name.trim().is_empty() || ipp.name == "Untitled") {
            Some(d) if !d.trim().is_empty() => d.to_string(),
            _ if ipp.name.trim().is_empty() => "Untitled".to_string(),
            _ => ipp.name.clone(),
        };
        let job = match self.jobs.upload(who, &file_name, body).await {
            Ok(job) => job,
            Err(e) => {
                let _ = self
                    .repo
                    .set_ipp_state(&who.enterprise_id, ipp_job_id, "awaiting_document", "aborted", now_ms())
                    .await;
                return Err(e.into());
            }
        };
        if !self.repo.attach_job(&who.enterprise_id, ipp_job_id, &job.id, now_ms()).await? {
            // Cancelled meanwhile: the job goes too.
            let _ = self.jobs.cancel(who, &job.id).await;
            return Err(IppError::NotPossible);
        }
        let t = &ipp.ticket;
        if t.copies.is_some()
            || t.sides.is_some()
            || t.colour_mode.is_some()
            || t.media.is_some()
            || t.page_ranges.is_some()
        {
            let patch = OptionsPatch {
                copies: t.copies.map(i64::from),
                sides: t.sides.map(|s| s.as_str().to_string()),
                colour_mode: t.colour_mode.map(|c| c.as_str().to_string()),
                paper_size: t.media.map(|m| m.as_str().to_string()),
                page_ranges: t.page_ranges.as_ref().map(PageRanges::to_text),
                ..OptionsPatch::default()
            };
            if let Err(e) = self.jobs.update_options(who, &job.id, patch).await {
                tracing::warn!(error = %e, job = %job.id, "IPP job options not applied");
            }
        }
        self.get(who, ipp_job_id).await
    }

    /// One of the user's IPP jobs; anyone else's is "not found".
    pub async fn get(&self, who: &UserPrincipal, ipp_job_id: i64) -> Result<IppJob, IppError> {
        let row = self.repo.ipp_job(&who.enterprise_id, ipp_job_id).await?;
        row.filter(|r| r.user_id == who.user_id).map(Into::into).ok_or(IppError::JobNotFound)
    }

    /// The user's IPP jobs, newest first: the unfinished ones, or only the finished ones.
    pub async fn list(&self, who: &UserPrincipal, completed: bool, limit: i64) -> Result<Vec<IppJob>, IppError> {
        let rows = self.repo.ipp_jobs_of_user(&who.enterprise_id, &who.user_id, 1000).await?;
        let mut jobs: Vec<IppJob> =
            rows.into_iter().map(IppJob::from).filter(|j| j.state.is_final() == completed).collect();
        jobs.truncate(usize::try_from(limit.max(0)).unwrap_or(usize::MAX));
        Ok(jobs)
    }

    /// Close-Job (or a last Send-Document without data): no more documents come. A job still
    /// waiting for its first document is aborted, having nothing to print.
    #[tracing::instrument(skip_all, fields(user = %who.user_id, ipp_job = ipp_job_id))]
    pub async fn close(&self, who: &UserPrincipal, ipp_job_id: i64) -> Result<IppJob, IppError> {
        let ipp = self.get(who, ipp_job_id).await?;
        if ipp.job_id.is_none() {
            self.repo.set_ipp_state(&who.enterprise_id, ipp_job_id, "awaiting_document", "aborted", now_ms()).await?;
        }
        self.get(who, ipp_job_id).await
    }

    /// Cancel-Job: a job still held (or still waiting for its document) is cancelled.
    #[tracing::instrument(skip_all, fields(user = %who.user_id, ipp_job = ipp_job_id))]
    pub async fn cancel(&self, who: &UserPrincipal, ipp_job_id: i64) -> Result<IppJob, IppError> {
        let ipp = self.get(who, ipp_job_id).await?;
        match &ipp.job_id {
            None => {
                if !self
                    .repo
                    .set_ipp_state(&who.enterprise_id, ipp_job_id, "awaiting_document", "canceled", now_ms())
                    .await?
                {
                    return Err(IppError::NotPossible);
                }
            }
            Some(job_id) => match self.jobs.cancel(who, job_id).await {
                Ok(_) => {}
                Err(JobError::StateConflict(_)) => return Err(IppError::NotPossible),
                Err(e) => return Err(e.into()),
            },
        }
        self.get(who, ipp_job_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_states_map_to_ipp_job_states() {
        let cases = [
            (JobState::Uploaded, IppJobState::Processing),
            (JobState::Processing, IppJobState::Processing),
            (JobState::Ready, IppJobState::PendingHeld),
            (JobState::Released, IppJobState::Processing),
            (JobState::Printing, IppJobState::Processing),
            (JobState::Completed, IppJobState::Completed),
            (JobState::Failed, IppJobState::Aborted),
            (JobState::Cancelled, IppJobState::Canceled),
            (JobState::Expired, IppJobState::Aborted),
        ];
        for (ours, theirs) in cases {
            assert_eq!(ipp_state("submitted", Some(ours)).0, theirs, "{ours:?}");
        }
        assert_eq!(ipp_state("ready", Some(JobState::Ready)).1, vec!["job-hold-until-specified"]);
    }

    #[test]
    fn jobs_without_a_document_have_the_ipp_rows_state() {
        assert_eq!(ipp_state("awaiting_document", None), (IppJobState::PendingHeld, vec!["job-incoming"]));
        assert_eq!(ipp_state("canceled", None).0, IppJobState::Canceled);
        assert_eq!(ipp_state("aborted", None).0, IppJobState::Aborted);
        assert!(IppJobState::Completed.is_final() && !IppJobState::PendingHeld.is_final());
    }
}
