//! The processing queue: a bounded pool of workers turning uploaded documents into
//! print-ready jobs. The queue is the `print_jobs` table itself, so it survives restarts:
//! a worker claims a job with a lease it keeps renewing; on graceful shutdown claims go back
//! to the queue at once, and after a crash the lease runs out and another worker takes over.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::sync::{watch, Notify};

use crate::{
    documents::{
        convert,
        pdf::{self, PdfFacts},
        render,
        sniff::{self, DocumentKind},
        store::FileStore,
        DocumentError,
    },
    domain::{JobOptions, JobState, PageFacts},
    infra::{events::EventBus, now_ms},
    services::{
        jobs::{announce, job_file, job_prefix, JobService},
        pricing,
    },
    storage::jobs::{Actor, JobRepo, JobRow, Processed},
};

#[derive(Debug, Clone)]
pub struct ProcessingConfig {
    pub workers: usize,
    pub lease: Duration,
    pub conversion_timeout: Duration,
    pub page_limit: u32,
    pub soffice: Option<std::path::PathBuf>,
    /// How often the retention sweep runs.
    pub sweep_every: Duration,
}

pub struct Processor {
    repo: JobRepo,
    jobs: JobService,
    store: Arc<dyn FileStore>,
    events: Arc<dyn EventBus>,
    config: ProcessingConfig,
    /// Names this instance's claims.
    instance: String,
    wake: Arc<Notify>,
}

/// The stable code stored on a failed job (the same code the API uses for the error).
pub fn failure_code(e: &DocumentError) -> &'static str {
    match e {
        DocumentError::Empty => "file_empty",
        DocumentError::Executable | DocumentError::Archive => "file_type_not_allowed",
        DocumentError::Unsupported => "unsupported_file_type",
        DocumentError::Corrupt(_) => "file_corrupt",
        DocumentError::Encrypted => "pdf_encrypted",
        DocumentError::Bomb => "document_unpacks_too_large",
        DocumentError::TooManyPages { .. } => "too_many_pages",
        DocumentError::ConverterUnavailable => "conversion_unavailable",
        DocumentError::Timeout(_) => "conversion_timeout",
        DocumentError::ConversionFailed(_) => "conversion_failed",
        DocumentError::Io(_) => "internal_error",
    }
}

impl Processor {
    pub fn new(
        pool: sqlx::AnyPool,
        jobs: JobService,
        store: Arc<dyn FileStore>,
        events: Arc<dyn EventBus>,
        config: ProcessingConfig,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            repo: JobRepo::new(pool),
            jobs,
            store,
            events,
            config,
            instance: format!("worker-{}", uuid::Uuid::new_v4()),
            wake,
        }
    }

    /// Starts the workers and the retention sweep; they stop when `stop` turns true, after
    /// which claims still held go back to the queue.
    pub fn start(self: Arc<Self>, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for n in 0..self.config.workers.max(1) {
                let me = self.clone();
                let stop = stop.clone();
                tasks.push(tokio::spawn(async move { me.worker(n, stop).await }));
            }
            let me = self.clone();
            let sweep_stop = stop.clone();
            tasks.push(tokio::spawn(async move { me.sweeper(sweep_stop).await }));
            for t in tasks {
                let _ = t.await;
            }
            match self.repo.release_claims(&self.instance, now_ms()).await {
                Ok(released) if !released.is_empty() => {
                    tracing::info!(count = released.len(), "jobs handed back to the queue")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "cannot hand claimed jobs back; their leases will expire"),
            }
        })
    }

    async fn worker(&self, n: usize, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let lease_until = now_ms() + self.config.lease.as_millis() as i64;
            match self.repo.claim_next(&self.instance, lease_until, now_ms()).await {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("process", job = %job.id, worker = n);
                    tokio::select! {
                        () = tracing::Instrument::instrument(self.process_with_lease(job), span) => {}
                        _ = stop.changed() => return,
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = stop.changed() => return,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the processing queue");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Processes while renewing the lease; gives up when the claim is lost (cancelled).
    async fn process_with_lease(&self, job: JobRow) {
        let progress = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let work = self.process(job.clone(), progress.clone());
        tokio::pin!(work);
        let mut tick = tokio::time::interval(self.config.lease / 3);
        tick.tick().await;
        let outcome = loop {
            tokio::select! {
                r = &mut work => break Some(r),
                _ = tick.tick() => {
                    let until = now_ms() + self.config.lease.as_millis() as i64;
                    let p = progress.load(std::sync::atomic::Ordering::Relaxed);
                    match self.repo.renew_lease(&job.id, &self.instance, until, p).await {
                        Ok(true) => {
                            let mut shown = job.clone();
                            shown.progress = p;
                            announce(self.events.as_ref(), &shown).await;
                        }
                        Ok(false) => break None,
                        Err(e) => tracing::warn!(error = %e, "cannot renew lease"),
                    }
                }
            }
        };
        match outcome {
            None => {
                tracing::info!(job = %job.id, "claim lost (cancelled?); processing abandoned");
                if let Ok(Some(now)) = self.repo.get(&job.id).await {
                    if now.state.is_final() {
                        self.jobs.delete_files(&job.id).await;
                    }
                }
            }
            Some(Ok(())) => {}
            Some(Err(e)) => {
                let code = failure_code(&e);
                tracing::info!(job = %job.id, error = %e, code, "processing failed");
                let moved = self
                    .repo
                    .transition(
                        &job.id,
                        &[JobState::Processing],
                        JobState::Failed,
                        now_ms(),
                        &Actor::system(&self.instance),
                        Some(code),
                    )
                    .await;
                if matches!(moved, Ok(true)) {
                    self.jobs.delete_files(&job.id).await;
                }
            }
        }
        if let Ok(Some(now)) = self.repo.get(&job.id).await {
            announce(self.events.as_ref(), &now).await;
        }
    }

    async fn process(&self, job: JobRow, progress: Arc<std::sync::atomic::AtomicI64>) -> Result<(), DocumentError> {
        let set = |p: i64| progress.store(p, std::sync::atomic::Ordering::Relaxed);
        let kind = DocumentKind::parse(&job.document_kind).ok_or(DocumentError::Unsupported)?;
        let options = job.options();
        let missing = || DocumentError::Io("job file key".into());
        let source = self.store.local_path(&job_file(&job.id, "source").ok_or_else(missing)?);
        let scratch = self.store.scratch().map_err(|e| DocumentError::Io(e.to_string()))?;
        let dir = scratch.path().to_path_buf();

        // 1. A print-ready PDF (with the PDF's facts when it was read for them already).
        let (ready, pdf_facts) = self.print_ready(kind, &options, &source, &dir).await?;
        set(30);

        // 2. Pages and sizes.
        let facts = match pdf_facts {
            Some(facts) => facts,
            None => {
                let (path, limit) = (ready.clone(), self.config.page_limit);
                tokio::task::spawn_blocking(move || pdf::inspect(&path, limit))
                    .await
                    .map_err(|e| DocumentError::Io(e.to_string()))??
            }
        };
        set(40);

        // 3. Colour per page, in parallel ranges.
        let parallel = std::thread::available_parallelism().map_or(2, |p| p.get()) as u32;
        let pages_total = facts.pages.len() as u32;
        let colour =
            render::classify_pages(&ready, pages_total, parallel, self.config.conversion_timeout, |done, total| {
                progress
                    .store(40 + 50 * i64::from(done) / i64::from(total.max(1)), std::sync::atomic::Ordering::Relaxed);
            })
            .await?;
        // 4. Thumbnail.
        render::page_png(&ready, 1, 320, &dir.join("thumb"), Duration::from_secs(60)).await?;
        set(95);

        let pages: Vec<PageFacts> = facts
            .pages
            .iter()
            .zip(&colour)
            .map(|(p, c)| PageFacts { w: round2(p.width), h: round2(p.height), colour: *c })
            .collect();
        let plan = self.jobs.rate_plan(&job.enterprise_id).await.map_err(|e| DocumentError::Io(e.to_string()))?;
        // Ranges beyond the document's end price as nothing until the user fixes them.
        let quote = pricing::quote(&plan, &colour, &options).map(|q| q.total.0).unwrap_or(0);
        self.commit_files(&job.id, &ready, &source, &dir).await?;
        let pages_json = serde_json::to_string(&pages).unwrap_or_else(|_| "[]".into());
        let processed = Processed {
            page_count: pages.len() as i64,
            colour_page_count: colour.iter().filter(|c| **c).count() as i64,
            pages_json: &pages_json,
            quote_fen: quote,
        };
        let done = self
            .repo
            .finish_processing(&job.id, &self.instance, &processed, now_ms())
            .await
            .map_err(|e| DocumentError::Io(e.to_string()))?;
        if !done {
            // Cancelled meanwhile: the files just committed must not outlive the job.
            tracing::info!(job = %job.id, "job changed while processing (cancelled?); result dropped");
            self.jobs.delete_files(&job.id).await;
        }
        Ok(())
    }

    /// An uploaded PDF as it is, or rebuilt when it needed repair (read once here, for its
    /// facts too); an image placed on the page; text and Office documents through LibreOffice.
    async fn print_ready(
        &self,
        kind: DocumentKind,
        options: &JobOptions,
        source: &Path,
        dir: &Path,
    ) -> Result<(PathBuf, Option<PdfFacts>), DocumentError> {
        let mut pdf_facts = None;
        let ready = match kind {
            DocumentKind::Pdf => {
                let repaired = dir.join("repaired.pdf");
                let (src, out, limit) = (source.to_path_buf(), repaired.clone(), self.config.page_limit);
                let facts = tokio::task::spawn_blocking(move || pdf::inspect_and_repair(&src, limit, &out))
                    .await
                    .map_err(|e| DocumentError::Io(e.to_string()))??;
                let ready = if facts.repaired { repaired } else { source.to_path_buf() };
                pdf_facts = Some(facts);
                ready
            }
            DocumentKind::Image(image_kind) => {
                let out = dir.join("print.pdf");
                let (src, dst) = (source.to_path_buf(), out.clone());
                let (paper, orientation) = (options.paper_size, options.orientation);
                tokio::task::spawn_blocking(move || pdf::image_to_pdf(&src, image_kind, paper, orientation, &dst))
                    .await
                    .map_err(|e| DocumentError::Io(e.to_string()))??;
                out
            }
            DocumentKind::Raster(_) => {
                let out = dir.join("print.pdf");
                let (src, dst, limit) = (source.to_path_buf(), out.clone(), self.config.page_limit);
                tokio::task::spawn_blocking(move || crate::documents::raster::to_pdf(&src, &dst, limit))
                    .await
                    .map_err(|e| DocumentError::Io(e.to_string()))??;
                out
            }
            DocumentKind::Text(encoding) => {
                let soffice = self.config.soffice.clone().ok_or(DocumentError::ConverterUnavailable)?;
                let bytes = tokio::fs::read(source).await?;
                let fodt = convert::text_as_fodt(&sniff::decode_text(&bytes, encoding), options.paper_size);
                let input = dir.join("document.fodt");
                tokio::fs::write(&input, fodt).await?;
                convert::to_pdf(&soffice, &input, dir, self.config.conversion_timeout).await?
            }
            DocumentKind::Office(office_kind) => {
                let soffice = self.config.soffice.clone().ok_or(DocumentError::ConverterUnavailable)?;
                let input = dir.join(convert::office_input_name(office_kind));
                tokio::fs::copy(source, &input).await?;
                convert::to_pdf(&soffice, &input, dir, self.config.conversion_timeout).await?
            }
        };
        Ok((ready, pdf_facts))
    }

    /// Commits the print-ready PDF and the thumbnail to the job's files.
    async fn commit_files(&self, job_id: &str, ready: &Path, source: &Path, dir: &Path) -> Result<(), DocumentError> {
        let missing = || DocumentError::Io("job file key".into());
        if ready != source {
            self.store
                .commit(ready, &job_file(job_id, "print.pdf").ok_or_else(missing)?)
                .await
                .map_err(|e| DocumentError::Io(e.to_string()))?;
        } else {
            // The upload is already print-ready: link it rather than copy (scans are large).
            let copy = dir.join("print.pdf");
            if tokio::fs::hard_link(source, &copy).await.is_err() {
                tokio::fs::copy(source, &copy).await?;
            }
            self.store
                .commit(&copy, &job_file(job_id, "print.pdf").ok_or_else(missing)?)
                .await
                .map_err(|e| DocumentError::Io(e.to_string()))?;
        }
        self.store
            .commit(&dir.join("thumb.png"), &job_file(job_id, "thumb.png").ok_or_else(missing)?)
            .await
            .map_err(|e| DocumentError::Io(e.to_string()))?;
        Ok(())
    }

    /// Retention: held jobs past their expiry become `expired`; files of finished jobs go
    /// an hour after they finished.
    async fn sweeper(&self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.sweep_once().await {
                tracing::warn!(error = %e, "retention sweep failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.sweep_every) => {}
                _ = stop.changed() => return,
            }
        }
    }

    pub async fn sweep_once(&self) -> Result<(), sqlx::Error> {
        let now = now_ms();
        for id in self.repo.expired_ids(now).await? {
            if self
                .repo
                .transition(
                    &id,
                    &[JobState::Uploaded, JobState::Ready],
                    JobState::Expired,
                    now,
                    &Actor::system("retention"),
                    None,
                )
                .await?
            {
                self.jobs.delete_files(&id).await;
                if let Some(job) = self.repo.get(&id).await? {
                    announce(self.events.as_ref(), &job).await;
                }
            }
        }
        for id in self.repo.files_due(now - 3_600_000).await? {
            if let Some(prefix) = job_prefix(&id) {
                if self.store.delete_prefix(&prefix).await.is_ok() {
                    self.repo.mark_files_deleted(&id).await?;
                }
            }
        }
        Ok(())
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
