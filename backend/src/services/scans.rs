//! Scan to cloud (扫描记录): a user opens a scan session at a print point by its QR code; the
//! MFP sends its scans to the gateway's FTP server; the gateway uploads each one here, and it
//! becomes a scan record of the user whose session was open when it reached the gateway — or,
//! with no session, an unclaimed scan the print point's admins see until it expires. Scans are
//! priced per page at the print point's scan rate and charged to the wallet.

use std::{path::Path, sync::Arc};

use base64::Engine;
use futures_util::Stream;
use rand::{distributions::Alphanumeric, Rng};
use sha2::{Digest, Sha256};

use crate::{
    documents::{
        pdf, render,
        sniff::{self, DocumentKind, ImageKind},
        store::{FileKey, FileReader, FileStore, StoreError},
        tiff, DocumentError,
    },
    domain::{
        scan_name, Fen, Gateway, Job, LedgerKind, Module, ScanCharge, ScanEvent, ScanFormat, ScanRecord, ScanSession,
        UserEvent, ValueError, MAX_SHARE_HOURS, SCAN_SESSION_MS,
    },
    infra::{events::EventBus, new_id, now_ms, secrets::SecretBox},
    services::{
        authz::{AdminPrincipal, UserPrincipal},
        jobs::{JobError, JobService},
        pricing,
        print_points::{PrintPointError, PrintPointService},
        tenants::{TenantError, TenantService},
    },
    storage::{
        print_points::PrintPointRow,
        rates::RateRepo,
        scans::{Opened, ScanCountRow, ScanRepo, ScanRow, ScanSessionRow},
        tenants::TenantRepo,
        wallets::{Applied, Change, WalletRepo},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("scanning is not enabled at this print point")]
    ScanDisabled,
    #[error("another user's scan session is open until {until}")]
    SessionBusy { until: i64 },
    #[error("the scan session has ended")]
    SessionClosed,
    #[error("the scan is not paid for")]
    Unpaid,
    #[error("the wallet holds {balance_fen} fen")]
    InsufficientBalance { balance_fen: i64 },
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("file store: {0}")]
    Store(String),
    #[error("sealed scan password: {0}")]
    Secret(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

impl From<StoreError> for ScanError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => ScanError::TooLarge { limit },
            other => ScanError::Store(other.to_string()),
        }
    }
}

impl From<PrintPointError> for ScanError {
    fn from(e: PrintPointError) -> Self {
        match e {
            PrintPointError::NotFound => ScanError::NotFound,
            PrintPointError::Forbidden => ScanError::Forbidden,
            PrintPointError::Tenant(t) => t.into(),
            PrintPointError::Storage(s) => s.into(),
            other => ScanError::Store(other.to_string()),
        }
    }
}

/// A scan as the gateway announces it.
#[derive(Debug, Clone)]
pub struct ArrivingScan {
    pub print_point_id: String,
    /// The gateway's id for the file (its retries carry the same).
    pub gateway_scan_id: String,
    pub file_name: String,
    /// When the file reached the gateway (Unix ms).
    pub scanned_at: i64,
}

/// A print point's scan account on its gateway's FTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanAccount {
    pub print_point_id: String,
    pub user: String,
    pub password: String,
}

/// A session with what it has received.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: ScanSession,
    pub print_point_name: String,
    pub scan_fen_per_page: i64,
    pub scans: Vec<ScanRecord>,
}

/// A live share link.
#[derive(Debug, Clone)]
pub struct ShareLink {
    pub token: String,
    pub expires_at: i64,
}

/// A downloadable scan file.
pub struct ScanFile {
    pub record: ScanRecord,
    pub reader: FileReader,
}

/// Scans counted at one print point.
pub type ScanCount = ScanCountRow;

/// The FTP user name of a print point's scan account: short enough for an MFP's form, and
/// the same every time.
pub fn scan_user(print_point_id: &str) -> String {
    let digest = Sha256::digest(print_point_id.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("scan-{hex}")
}

fn scan_file(id: &str, name: &str) -> Option<FileKey> {
    FileKey::new(format!("scans/{}/{name}", id.to_ascii_lowercase()))
}

fn scan_prefix(id: &str) -> Option<FileKey> {
    FileKey::new(format!("scans/{}", id.to_ascii_lowercase()))
}

fn random_text(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Settings of the scan service.
#[derive(Debug, Clone)]
pub struct ScanLimits {
    pub max_upload_bytes: u64,
    pub page_limit: u32,
    /// Where share links point (`{base}/api/v1/shared-scans/{token}`).
    pub public_base_url: String,
}

#[derive(Clone)]
pub struct ScanService {
    repo: ScanRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    rates: RateRepo,
    wallets: WalletRepo,
    print_points: PrintPointService,
    jobs: JobService,
    store: Arc<dyn FileStore>,
    events: Arc<dyn EventBus>,
    secrets: SecretBox,
    limits: Arc<ScanLimits>,
}

/// What a scan's format and page count are.
fn inspect(path: &Path, page_limit: u32) -> Result<(ScanFormat, i64), DocumentError> {
    let format = match sniff::sniff(path)? {
        DocumentKind::Pdf => ScanFormat::Pdf,
        DocumentKind::Image(ImageKind::Jpeg) => ScanFormat::Jpeg,
        DocumentKind::Image(ImageKind::Png) => ScanFormat::Png,
        DocumentKind::Image(ImageKind::Tiff) => ScanFormat::Tiff,
        _ => return Err(DocumentError::Unsupported),
    };
    let pages = match format {
        ScanFormat::Pdf => i64::try_from(pdf::inspect(path, page_limit)?.pages.len()).unwrap_or(i64::MAX),
        ScanFormat::Tiff => i64::from(tiff::count_pages(path, page_limit)?),
        _ => {
            image::ImageReader::open(path)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| DocumentError::Corrupt(e.to_string()))?
                .into_dimensions()
                .map_err(|e| DocumentError::Corrupt(e.to_string()))?;
            1
        }
    };
    Ok((format, pages))
}

/// A PNG thumbnail of an image scan, longer side 320 px.
fn image_thumbnail(from: &Path, to: &Path) -> Result<(), DocumentError> {
    let img = image::ImageReader::open(from)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| DocumentError::Corrupt(e.to_string()))?
        .decode()
        .map_err(|e| DocumentError::Corrupt(e.to_string()))?;
    img.thumbnail(320, 320).save_with_format(to, image::ImageFormat::Png).map_err(|e| DocumentError::Io(e.to_string()))
}

/// The database and the services scans build on.
pub struct ScanParts {
    pub pool: sqlx::AnyPool,
    pub tenants: TenantService,
    pub print_points: PrintPointService,
    pub jobs: JobService,
}

/// A received scan file, checked and stored under its new record's id.
struct StoredScan {
    id: String,
    format: ScanFormat,
    pages: i64,
    size_bytes: i64,
}

impl ScanService {
    pub fn new(
        parts: ScanParts,
        store: Arc<dyn FileStore>,
        events: Arc<dyn EventBus>,
        secrets: SecretBox,
        limits: ScanLimits,
    ) -> Self {
        let ScanParts { pool, tenants, print_points, jobs } = parts;
        Self {
            repo: ScanRepo::new(pool.clone()),
            tenants_repo: TenantRepo::new(pool.clone()),
            rates: RateRepo::new(pool.clone()),
            wallets: WalletRepo::new(pool),
            tenants,
            print_points,
            jobs,
            store,
            events,
            secrets,
            limits: Arc::new(limits),
        }
    }

    /// The largest scan the server takes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.limits.max_upload_bytes
    }

    // ---- sessions ----

    /// Opens a scan session at the print point behind a scanned QR code (or extends the
    /// user's own open one).
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn open_session(&self, who: &UserPrincipal, code: &str) -> Result<SessionView, ScanError> {
        let point = self.point_of_user(who, code).await?;
        self.tenants.require_module(&point.enterprise_id, Module::ScanToCloud).await?;
        if point.scan_enabled == 0 {
            return Err(ScanError::ScanDisabled);
        }
        let now = now_ms();
        let row = ScanSessionRow {
            id: new_id(),
            enterprise_id: point.enterprise_id.clone(),
            print_point_id: point.id.clone(),
            user_id: who.user_id.clone(),
            opened_at: now,
            expires_at: now + SCAN_SESSION_MS,
            closed_at: None,
        };
        match self.repo.open_session(&row).await? {
            Opened::Busy { until } => Err(ScanError::SessionBusy { until }),
            Opened::Open(s) => self.view(s.into(), &point).await,
        }
    }

    /// One of the user's sessions, with the scans it received.
    pub async fn session(&self, who: &UserPrincipal, id: &str) -> Result<SessionView, ScanError> {
        let s = self.own_session(who, id).await?;
        let point = self.print_points.repo().get(&s.print_point_id).await?.ok_or(ScanError::NotFound)?;
        self.view(s, &point).await
    }

    /// Ends the user's session: later scans at the print point are no longer theirs.
    pub async fn close_session(&self, who: &UserPrincipal, id: &str) -> Result<SessionView, ScanError> {
        let s = self.own_session(who, id).await?;
        if !self.repo.close_session(&s.id, now_ms()).await? {
            return Err(ScanError::SessionClosed);
        }
        self.session(who, id).await
    }

    async fn own_session(&self, who: &UserPrincipal, id: &str) -> Result<ScanSession, ScanError> {
        let s = self.repo.session(id).await?.ok_or(ScanError::NotFound)?;
        if s.user_id != who.user_id || s.enterprise_id != who.enterprise_id {
            return Err(ScanError::NotFound);
        }
        Ok(s.into())
    }

    async fn view(&self, session: ScanSession, point: &PrintPointRow) -> Result<SessionView, ScanError> {
        let plan = pricing::effective_plan(&self.rates, &point.enterprise_id, &point.id).await?;
        let scans = self.repo.of_session(&session.id).await?.into_iter().map(Into::into).collect();
        Ok(SessionView {
            session,
            print_point_name: point.name.clone(),
            scan_fen_per_page: plan.scan_per_page.0,
            scans,
        })
    }

    async fn point_of_user(&self, who: &UserPrincipal, code: &str) -> Result<PrintPointRow, ScanError> {
        let point = self.print_points.by_code(code).await?;
        // Another enterprise's print point does not exist for this user.
        if point.enterprise_id != who.enterprise_id {
            return Err(ScanError::NotFound);
        }
        Ok(point)
    }

    // ---- arrival ----

    /// Takes a scan the gateway uploads: stored whole or not at all, recorded once however
    /// often the gateway retries (`false`: it was already here), given to the session that
    /// was open when it reached the gateway, and charged at the scan rate.
    #[tracing::instrument(skip_all, fields(gateway = %gateway.id, print_point = %arriving.print_point_id))]
    pub async fn receive(
        &self,
        gateway: &Gateway,
        arriving: ArrivingScan,
        body: &mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
    ) -> Result<(ScanRecord, bool), ScanError> {
        let point = self.print_points.repo().get(&arriving.print_point_id).await?;
        let point =
            point.filter(|p| p.gateway_id.as_deref() == Some(gateway.id.as_str())).ok_or(ScanError::NotFound)?;
        if let Some(known) = self.repo.by_gateway_key(&gateway.id, &arriving.gateway_scan_id).await? {
            return Ok((known.into(), false));
        }
        let file = self.store_scan(body).await?;
        let (id, format, pages) = (file.id.clone(), file.format, file.pages);
        let now = now_ms();
        // A gateway's clock may run ahead; a scan cannot have arrived after now.
        let scanned_at = arriving.scanned_at.min(now);
        let session = self.repo.session_covering(&point.id, scanned_at).await?;
        let enterprise = self.tenants_repo.enterprise(&point.enterprise_id).await?.ok_or(ScanError::NotFound)?;
        let plan = pricing::effective_plan(&self.rates, &point.enterprise_id, &point.id).await?;
        let price = match &session {
            Some(_) => Fen(pages).checked_mul(plan.scan_per_page.0).filter(|f| f.is_payable()),
            None => Some(Fen::ZERO),
        };
        let price = price.ok_or(ScanError::Invalid { field: "file", source: ValueError::AmountOutOfRange })?;
        let expires_at = match &session {
            Some(_) => now.saturating_add(enterprise.scan_retention_days.saturating_mul(86_400_000)),
            None => now.saturating_add(enterprise.unclaimed_scan_hours.saturating_mul(3_600_000)),
        };
        let name = scan_name(&arriving.file_name, format)
            .or_else(|_| scan_name(&format!("scan-{}", arriving.gateway_scan_id), format))
            .map_err(|source| ScanError::Invalid { field: "file_name", source })?;
        let row = ScanRow {
            id: id.clone(),
            enterprise_id: point.enterprise_id.clone(),
            print_point_id: point.id.clone(),
            gateway_id: gateway.id.clone(),
            gateway_scan_id: arriving.gateway_scan_id.clone(),
            user_id: session.as_ref().map(|s| s.user_id.clone()),
            session_id: session.as_ref().map(|s| s.id.clone()),
            name,
            format,
            size_bytes: file.size_bytes,
            pages,
            price_fen: price.0,
            charge: if price.0 == 0 { ScanCharge::Free } else { ScanCharge::Unpaid },
            scanned_at,
            received_at: now,
            expires_at,
            share_token: None,
            share_expires_at: None,
        };
        let (row, new) = match self.repo.insert(&row).await {
            Ok(done) => done,
            Err(e) => {
                self.delete_files(&id).await;
                return Err(e.into());
            }
        };
        if !new {
            // The same file came twice at once: the first one kept is the record.
            self.delete_files(&id).await;
            return Ok((row.into(), false));
        }
        let record = match session {
            Some(s) => self.settle_in_session(row.into(), &s, now).await?,
            None => row.into(),
        };
        tracing::info!(scan = %record.id, pages = record.pages, claimed = record.user_id.is_some(), "scan received");
        Ok((record, true))
    }

    /// A scan its session claimed: the session stays open a while longer, the wallet pays
    /// (or the scan waits, unpaid), and the user's app is told.
    async fn settle_in_session(
        &self,
        mut record: ScanRecord,
        s: &ScanSessionRow,
        now: i64,
    ) -> Result<ScanRecord, ScanError> {
        self.repo.extend_session(&s.id, now + SCAN_SESSION_MS, now).await?;
        if record.charge == ScanCharge::Unpaid {
            match self.charge(&record).await {
                Ok(paid) => record = paid,
                Err(ScanError::InsufficientBalance { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let event = UserEvent::Scan(ScanEvent {
            scan_id: record.id.clone(),
            session_id: s.id.clone(),
            name: record.name.clone(),
            pages: record.pages,
            charge: record.charge.as_str().into(),
        });
        event.publish(self.events.as_ref(), &s.user_id).await;
        Ok(record)
    }

    /// Streams the upload to a temporary file, checks it is a scan (PDF or image) and stores
    /// it with its thumbnail under a new id.
    async fn store_scan(
        &self,
        body: &mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
    ) -> Result<StoredScan, ScanError> {
        let (temp, stored) = self.store.receive(body, self.limits.max_upload_bytes).await?;
        let path = temp.to_path_buf();
        let page_limit = self.limits.page_limit;
        let (format, pages) = tokio::task::spawn_blocking(move || inspect(&path, page_limit))
            .await
            .map_err(|e| DocumentError::Io(e.to_string()))??;
        let id = new_id();
        let source = scan_file(&id, "source").ok_or(ScanError::NotFound)?;
        self.store.commit(&temp, &source).await?;
        self.make_thumbnail(&id, format).await;
        Ok(StoredScan { id, format, pages, size_bytes: i64::try_from(stored.size).unwrap_or(i64::MAX) })
    }

    /// Debits the wallet for an unpaid scan and marks it paid, both or neither.
    async fn charge(&self, record: &ScanRecord) -> Result<ScanRecord, ScanError> {
        let user_id = record.user_id.as_deref().ok_or(ScanError::NotFound)?;
        let wallet = self.wallets.ensure(user_id, &record.enterprise_id, now_ms()).await?;
        let mut tx = crate::storage::begin_write(self.wallets.pool()).await?;
        let key = format!("scan:{}", record.id);
        let change = Change {
            kind: LedgerKind::ScanCharge,
            amount_fen: -record.price_fen,
            reference: &record.id,
            actor_kind: "user",
            actor_id: user_id,
            idempotency_key: &key,
        };
        match WalletRepo::apply(&mut tx, &wallet.id, &change, now_ms()).await? {
            Applied::Done(_) | Applied::AlreadyDone(_) => {
                ScanRepo::mark_paid(&mut tx, &record.id).await?;
                tx.commit().await?;
            }
            Applied::Insufficient { balance_fen } | Applied::OverCeiling { balance_fen } => {
                tx.rollback().await?;
                return Err(ScanError::InsufficientBalance { balance_fen });
            }
        }
        let row = self.repo.get(&record.id).await?.ok_or(ScanError::NotFound)?;
        Ok(row.into())
    }

    async fn make_thumbnail(&self, id: &str, format: ScanFormat) {
        let (Some(source), Some(thumb)) = (scan_file(id, "source"), scan_file(id, "thumb.png")) else { return };
        let from = self.store.local_path(&source);
        let Ok(scratch) = self.store.scratch() else { return };
        let made = match format {
            ScanFormat::Pdf => {
                render::page_png(&from, 1, 320, &scratch.path().join("thumb"), std::time::Duration::from_secs(30)).await
            }
            _ => {
                let to = scratch.path().join("thumb.png");
                let target = to.clone();
                tokio::task::spawn_blocking(move || image_thumbnail(&from, &target))
                    .await
                    .map_err(|e| DocumentError::Io(e.to_string()))
                    .and_then(|r| r)
                    .map(|()| to)
            }
        };
        match made {
            Ok(png) => {
                if let Err(e) = self.store.commit(&png, &thumb).await {
                    tracing::warn!(error = %e, "cannot store a scan thumbnail");
                }
            }
            // A scan without a thumbnail is still a scan (e.g. a fax-coded TIFF).
            Err(e) => tracing::info!(error = %e, "no thumbnail for a scan"),
        }
    }

    async fn delete_files(&self, id: &str) {
        if let Some(prefix) = scan_prefix(id) {
            if let Err(e) = self.store.delete_prefix(&prefix).await {
                tracing::warn!(error = %e, scan = id, "cannot delete a scan's files");
            }
        }
    }

    // ---- the user's scan records ----

    pub async fn list(&self, who: &UserPrincipal, limit: i64, offset: i64) -> Result<Vec<ScanRecord>, ScanError> {
        self.tenants.require_module(&who.enterprise_id, Module::ScanToCloud).await?;
        let rows = self.repo.of_user(&who.user_id, &who.enterprise_id, limit, offset).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn get(&self, who: &UserPrincipal, id: &str) -> Result<ScanRecord, ScanError> {
        Ok(self.owned(who, id).await?.into())
    }

    async fn owned(&self, who: &UserPrincipal, id: &str) -> Result<ScanRow, ScanError> {
        let row = self.repo.get(id).await?;
        row.filter(|s| s.user_id.as_deref() == Some(who.user_id.as_str()) && s.enterprise_id == who.enterprise_id)
            .ok_or(ScanError::NotFound)
    }

    /// The scanned file; an unpaid scan is kept from its owner until paid.
    pub async fn file(&self, who: &UserPrincipal, id: &str) -> Result<ScanFile, ScanError> {
        let row = self.owned(who, id).await?;
        if row.charge == ScanCharge::Unpaid {
            return Err(ScanError::Unpaid);
        }
        self.open_file(row).await
    }

    async fn open_file(&self, row: ScanRow) -> Result<ScanFile, ScanError> {
        let key = scan_file(&row.id, "source").ok_or(ScanError::NotFound)?;
        let reader = self.store.open(&key).await?.ok_or(ScanError::NotFound)?;
        Ok(ScanFile { record: row.into(), reader })
    }

    /// The first page as a small PNG (shown even before payment: it is how the user knows
    /// which scan to pay for).
    pub async fn thumbnail(&self, who: &UserPrincipal, id: &str) -> Result<Vec<u8>, ScanError> {
        let row = self.owned(who, id).await?;
        let key = scan_file(&row.id, "thumb.png").ok_or(ScanError::NotFound)?;
        self.store.read(&key).await?.ok_or(ScanError::NotFound)
    }

    pub async fn rename(&self, who: &UserPrincipal, id: &str, name: &str) -> Result<ScanRecord, ScanError> {
        let row = self.owned(who, id).await?;
        let name = scan_name(name, row.format).map_err(|source| ScanError::Invalid { field: "name", source })?;
        self.repo.rename(&row.id, &name).await?;
        Ok(ScanRecord { name, ..row.into() })
    }

    pub async fn delete(&self, who: &UserPrincipal, id: &str) -> Result<(), ScanError> {
        let row = self.owned(who, id).await?;
        self.remove(&row.id).await
    }

    async fn remove(&self, id: &str) -> Result<(), ScanError> {
        // The row first: a file left behind by a failed delete is swept, a row without its
        // file would be a broken record.
        if self.repo.delete(id).await? {
            self.delete_files(id).await;
        }
        Ok(())
    }

    /// Pays for an unpaid scan from the wallet.
    pub async fn pay(&self, who: &UserPrincipal, id: &str) -> Result<ScanRecord, ScanError> {
        let row = self.owned(who, id).await?;
        match row.charge {
            ScanCharge::Unpaid => self.charge(&row.into()).await,
            _ => Ok(row.into()),
        }
    }

    /// "Print this": the scan becomes a print job of its owner, processed like an upload.
    pub async fn print(&self, who: &UserPrincipal, id: &str) -> Result<Job, ScanError> {
        let ScanFile { record, reader } = self.file(who, id).await?;
        let mut stream = Box::pin(poem::Body::from_async_read(reader).into_bytes_stream());
        Ok(self.jobs.upload(who, &record.name, &mut stream).await?)
    }

    /// Creates (or replaces) a share link that works without signing in until it expires.
    pub async fn share(&self, who: &UserPrincipal, id: &str, hours: i64) -> Result<ShareLink, ScanError> {
        let row = self.owned(who, id).await?;
        if row.charge == ScanCharge::Unpaid {
            return Err(ScanError::Unpaid);
        }
        if !(1..=MAX_SHARE_HOURS).contains(&hours) {
            return Err(ScanError::Invalid { field: "hours", source: ValueError::UnknownVariant });
        }
        let link = ShareLink { token: random_text(32), expires_at: now_ms().saturating_add(hours * 3_600_000) };
        // Never past the record itself.
        let link = ShareLink { expires_at: link.expires_at.min(row.expires_at), ..link };
        self.repo.set_share(&row.id, Some((&link.token, link.expires_at))).await?;
        Ok(link)
    }

    pub async fn unshare(&self, who: &UserPrincipal, id: &str) -> Result<(), ScanError> {
        let row = self.owned(who, id).await?;
        self.repo.set_share(&row.id, None).await?;
        Ok(())
    }

    /// The scan a live share link points at.
    pub async fn shared(&self, token: &str) -> Result<ScanFile, ScanError> {
        let row = self.repo.by_share_token(token, now_ms()).await?.ok_or(ScanError::NotFound)?;
        self.open_file(row).await
    }

    pub fn share_url(&self, token: &str) -> String {
        format!("{}/api/v1/shared-scans/{token}", self.limits.public_base_url.trim_end_matches('/'))
    }

    // ---- admins ----

    /// An enterprise's scans at the print points the admin sees.
    pub async fn admin_list(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        unclaimed: bool,
        print_point_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ScanRecord>, ScanError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        self.tenants.require_module(&e.id, Module::ScanToCloud).await?;
        let rows = self.repo.for_enterprise(&e.id, &actor.scoped(), unclaimed, print_point_id, limit, offset).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn admin_visible(&self, actor: &AdminPrincipal, enterprise_id: &str, id: &str) -> Result<ScanRow, ScanError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        self.repo.get_for_enterprise(&e.id, id, &actor.scoped()).await?.ok_or(ScanError::NotFound)
    }

    /// An admin downloads an unclaimed scan (a user's scans are the user's).
    pub async fn admin_file(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        id: &str,
    ) -> Result<ScanFile, ScanError> {
        let row = self.admin_visible(actor, enterprise_id, id).await?;
        if row.user_id.is_some() {
            return Err(ScanError::Forbidden);
        }
        self.open_file(row).await
    }

    pub async fn admin_delete(&self, actor: &AdminPrincipal, enterprise_id: &str, id: &str) -> Result<(), ScanError> {
        let row = self.admin_visible(actor, enterprise_id, id).await?;
        self.remove(&row.id).await
    }

    /// Scans per print point the admin sees, received in [`from`, `before`).
    pub async fn counts(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        from: i64,
        before: i64,
    ) -> Result<Vec<ScanCount>, ScanError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        Ok(self.repo.counts(&e.id, &actor.scoped(), from, before).await?)
    }

    // ---- scan accounts ----

    /// A print point's scan account, for the admins who see it (the password only for those
    /// who manage it).
    pub async fn account(
        &self,
        actor: &AdminPrincipal,
        print_point_id: &str,
    ) -> Result<(ScanAccount, bool), ScanError> {
        let (point, manages) = self.print_points.visible_point(actor, print_point_id).await?;
        let account = self.account_of(&point.id).await?;
        Ok((account, manages))
    }

    /// Gives a print point a new scan password (the MFP's form must be updated too).
    pub async fn reset_account(&self, actor: &AdminPrincipal, print_point_id: &str) -> Result<ScanAccount, ScanError> {
        let (point, manages) = self.print_points.visible_point(actor, print_point_id).await?;
        if !manages {
            return Err(ScanError::Forbidden);
        }
        let password = random_text(12);
        self.repo.set_scan_password(&point.id, &self.seal(&point.id, &password), true).await?;
        Ok(ScanAccount { user: scan_user(&point.id), print_point_id: point.id, password })
    }

    /// The scan accounts of a gateway's print points whose scan switch is on.
    pub async fn accounts_of_gateway(&self, gateway: &Gateway) -> Result<Vec<ScanAccount>, ScanError> {
        let mut out = Vec::new();
        for row in self.repo.accounts_of_gateway(&gateway.id).await? {
            if row.scan_enabled != 0 {
                out.push(self.account_of(&row.print_point_id).await?);
            }
        }
        Ok(out)
    }

    /// The account, made on first use.
    async fn account_of(&self, print_point_id: &str) -> Result<ScanAccount, ScanError> {
        let sealed = match self.repo.scan_password(print_point_id).await? {
            Some(sealed) => sealed,
            None => {
                let password = random_text(12);
                self.repo.set_scan_password(print_point_id, &self.seal(print_point_id, &password), false).await?;
                // Read back: a first use racing on another instance may have set its own
                // first, and the one stored is the one the gateway will be given.
                self.repo.scan_password(print_point_id).await?.ok_or(ScanError::NotFound)?
            }
        };
        let password = self.open(print_point_id, &sealed)?;
        Ok(ScanAccount { print_point_id: print_point_id.into(), user: scan_user(print_point_id), password })
    }

    fn seal(&self, print_point_id: &str, password: &str) -> String {
        let sealed = self.secrets.seal(password, &format!("scan-account:{print_point_id}"));
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }

    fn open(&self, print_point_id: &str, sealed: &str) -> Result<String, ScanError> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|e| ScanError::Secret(e.to_string()))?;
        self.secrets
            .open(&bytes, &format!("scan-account:{print_point_id}"))
            .map_err(|e| ScanError::Secret(e.to_string()))
    }

    // ---- retention ----

    /// Deletes scans past their retention (users' after the enterprise's days, unclaimed ones
    /// after its hours).
    pub async fn sweep_once(&self) -> Result<usize, ScanError> {
        let ids = self.repo.expired_ids(now_ms()).await?;
        for id in &ids {
            self.remove(id).await?;
        }
        Ok(ids.len())
    }

    /// Sweeps every `every` until `stop` turns true.
    pub fn spawn_sweeper(
        &self,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match this.sweep_once().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired scans deleted"),
                    Err(e) => tracing::warn!(error = %e, "scan retention sweep failed"),
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_users_are_short_stable_and_distinct() {
        let a = scan_user("0193a5b2-7c1e-7000-8000-000000000001");
        assert_eq!(a, scan_user("0193a5b2-7c1e-7000-8000-000000000001"));
        assert_ne!(a, scan_user("0193a5b2-7c1e-7000-8000-000000000002"));
        assert_eq!(a.len(), "scan-".len() + 10);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
