//! Release (扫码认证 / 释放): a user scans a print point's QR code, sees their ready jobs priced
//! at that print point, and confirms. Payment (free, or from the wallet) and release are one
//! transaction: no print without payment, no payment without release. A job that then fails
//! at the printer is refunded at once, pro rata when the printer says how much it printed.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{Any, Transaction};

use crate::{
    domain::{ActorKind, Fen, Job, JobState, LedgerKind, Module, PrintPoint},
    infra::{events::EventBus, new_id, now_ms, secrets::MasterKey},
    services::{
        authz::UserPrincipal,
        gateways::GatewayService,
        jobs::announce,
        pricing::{self, Quote, RatePlan},
        print_points::{PrintPointError, PrintPointService},
        push::{JobNews, Notification, PushService, Recipient, Topic},
        refunds::{JobRefund, RefundService},
    },
    storage::{
        gateways::{CommandRow, GatewayRepo},
        jobs::{transition_in, Actor, JobRepo, JobRow},
        print_points::PrintPointRow,
        rates::RateRepo,
        wallets::{Applied, Change, WalletRepo},
    },
};
use yunyin_gateway::protocol::{CommandBody, JobProgress, JobUpdate, PrintCommand};

/// How a release names its print point: by the QR code scanned, or by id (a paid order).
#[derive(Debug, Clone, Copy)]
enum PointRef<'a> {
    Code(&'a str),
    Id(&'a str),
}

/// Why a print point cannot take cloud print now; told before anyone pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No gateway, or its gateway is not connected.
    Offline,
    /// Cloud print is switched off for this print point.
    CloudPrintDisabled,
    /// Its MAC is whitelisted: operations & maintenance only.
    WhitelistedMac,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("not found")]
    NotFound,
    #[error("print point unavailable: {0:?}")]
    Unavailable(Unavailable),
    #[error("no ready job selected")]
    NothingToRelease,
    #[error("a selected job is not ready")]
    JobNotReady,
    #[error("wallet short by {missing} fen")]
    InsufficientBalance { balance: Fen, total: Fen, missing: Fen },
    #[error("release id must be 8-64 letters, digits, '-' or '_'")]
    InvalidReleaseId,
    #[error("the job's price cannot be computed: {0}")]
    Pricing(String),
    /// A job named more than once: it would be charged more than once.
    #[error("a job is named more than once")]
    DuplicateJob,
    /// A price or total past `Fen::MAX_AMOUNT` (or past what i64 holds).
    #[error("amount out of range")]
    AmountOutOfRange,
    #[error(transparent)]
    PrintPoint(#[from] PrintPointError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// A print command could not be encoded: the release is undone (nothing is charged)
    /// rather than a paid job queued with an empty command that no gateway can carry out.
    #[error("the print command cannot be encoded: {0}")]
    CommandEncoding(#[from] serde_json::Error),
}

/// A ready job priced at a print point.
#[derive(Debug, Clone)]
pub struct PricedJob {
    pub job: Job,
    pub quote: Quote,
}

/// What the release page shows.
#[derive(Debug, Clone)]
pub struct ReleaseView {
    pub print_point: PrintPoint,
    /// Whether the enterprise's edition includes scan to cloud (the page offers Scan only then).
    pub scan_in_edition: bool,
    pub unavailable: Option<Unavailable>,
    pub jobs: Vec<PricedJob>,
    pub total: Fen,
    pub balance: Fen,
}

/// A confirmed release.
#[derive(Debug, Clone)]
pub struct Released {
    pub release_id: String,
    pub jobs: Vec<Job>,
    pub charged: Fen,
    pub balance: Fen,
}

#[derive(Clone)]
pub struct ReleaseService {
    jobs_repo: JobRepo,
    rates: RateRepo,
    wallets: WalletRepo,
    print_points: PrintPointService,
    gateways: GatewayService,
    events: Arc<dyn EventBus>,
    refunds: RefundService,
    push: PushService,
    url_key: [u8; 32],
}

/// How long a gateway may use a document URL.
const DOCUMENT_URL_TTL_MS: i64 = 10 * 60_000;

impl ReleaseService {
    pub fn new(
        pool: sqlx::AnyPool,
        print_points: PrintPointService,
        gateways: GatewayService,
        events: Arc<dyn EventBus>,
        refunds: RefundService,
        push: PushService,
        master: &MasterKey,
    ) -> Self {
        Self {
            refunds,
            push,
            jobs_repo: JobRepo::new(pool.clone()),
            rates: RateRepo::new(pool.clone()),
            wallets: WalletRepo::new(pool),
            print_points,
            gateways,
            events,
            url_key: master.derive("yunyin document url v1"),
        }
    }

    /// The refunds service, which payments settles channel refunds with.
    pub fn refunds(&self) -> &RefundService {
        &self.refunds
    }

    pub fn wallets(&self) -> &WalletRepo {
        &self.wallets
    }

    fn url_mac(&self, job_id: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.url_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("{job_id}.{expires}").as_bytes());
        mac
    }

    /// A short-lived signed path (relative to the server URL) to a job's print-ready PDF.
    pub fn document_path(&self, job_id: &str) -> String {
        let expires = now_ms() + DOCUMENT_URL_TTL_MS;
        let sig = hex(&self.url_mac(job_id, expires).finalize().into_bytes());
        format!("/api/v1/gateway/documents/{job_id}?expires={expires}&sig={sig}")
    }

    /// Whether a document URL is genuine and unexpired.
    pub fn verify_document(&self, job_id: &str, expires: i64, sig: &str) -> bool {
        if expires < now_ms() {
            return false;
        }
        let Some(bytes) = unhex(sig) else { return false };
        self.url_mac(job_id, expires).verify_slice(&bytes).is_ok()
    }

    async fn point_for(&self, who: &UserPrincipal, code: &str) -> Result<PrintPointRow, ReleaseError> {
        let point = self.print_points.by_code(code).await.map_err(|e| match e {
            PrintPointError::NotFound => ReleaseError::NotFound,
            e => e.into(),
        })?;
        // Another enterprise's print point does not exist for this user.
        if point.enterprise_id != who.enterprise_id {
            return Err(ReleaseError::NotFound);
        }
        Ok(point)
    }

    async fn unavailable(&self, p: &PrintPointRow) -> Option<Unavailable> {
        if p.mac_shared == 1 {
            return Some(Unavailable::WhitelistedMac);
        }
        if p.cloud_print_enabled == 0 {
            return Some(Unavailable::CloudPrintDisabled);
        }
        match &p.gateway_id {
            Some(g) if self.gateways.is_online(g).await => None,
            _ => Some(Unavailable::Offline),
        }
    }

    async fn ready_jobs(&self, who: &UserPrincipal) -> Result<Vec<JobRow>, ReleaseError> {
        Ok(self.jobs_repo.ready_of_user(&who.user_id, &who.enterprise_id).await?)
    }

    fn price(plan: &RatePlan, job: JobRow) -> Result<PricedJob, ReleaseError> {
        let job = Job::from(job);
        let flags: Vec<bool> = job.pages.iter().map(|p| p.colour).collect();
        let quote = pricing::quote(plan, &flags, &job.options).map_err(|e| match e {
            pricing::QuoteError::Overflow => ReleaseError::AmountOutOfRange,
            other => ReleaseError::Pricing(other.to_string()),
        })?;
        Ok(PricedJob { job, quote })
    }

    /// The jobs a release names, in the order named (all `ready` ones when it names none).
    /// Every job once: the one rule for the wallet and the paid path, since a job named twice
    /// would be priced, and so charged, twice.
    pub fn choose<'a, T>(
        ready: &'a [T],
        job_ids: &[String],
        id_of: impl Fn(&T) -> &str,
    ) -> Result<Vec<&'a T>, ReleaseError> {
        if job_ids.is_empty() {
            return Ok(ready.iter().collect());
        }
        let mut named = std::collections::HashSet::new();
        if !job_ids.iter().all(|id| named.insert(id.as_str())) {
            return Err(ReleaseError::DuplicateJob);
        }
        job_ids.iter().map(|id| ready.iter().find(|j| id_of(j) == id).ok_or(ReleaseError::JobNotReady)).collect()
    }

    /// What `jobs` cost together, at most `Fen::MAX_AMOUNT`.
    pub fn total(jobs: &[&PricedJob]) -> Result<Fen, ReleaseError> {
        Fen::checked_sum(jobs.iter().map(|j| j.quote.total))
            .filter(|t| t.is_payable())
            .ok_or(ReleaseError::AmountOutOfRange)
    }

    /// The release page: the print point, whether it can print now, and the user's ready
    /// jobs priced at its rates.
    pub async fn view(&self, who: &UserPrincipal, code: &str) -> Result<ReleaseView, ReleaseError> {
        let point = self.point_for(who, code).await?;
        let plan = pricing::effective_plan(&self.rates, &point.enterprise_id, &point.id).await?;
        let mut jobs = Vec::new();
        for job in self.ready_jobs(who).await? {
            // A job whose ranges select nothing is left for the user to fix.
            if let Ok(priced) = Self::price(&plan, job) {
                jobs.push(priced);
            }
        }
        let total = Fen::checked_sum(jobs.iter().map(|j| j.quote.total)).ok_or(ReleaseError::AmountOutOfRange)?;
        let wallet = self.wallets.ensure(&who.user_id, &who.enterprise_id, now_ms()).await?;
        let unavailable = self.unavailable(&point).await;
        let scan_in_edition = self.print_points.in_edition(&point.enterprise_id, Module::ScanToCloud).await?;
        Ok(ReleaseView {
            print_point: point.into(),
            scan_in_edition,
            unavailable,
            jobs,
            total,
            balance: Fen(wallet.balance_fen),
        })
    }

    /// Confirms a release of `job_ids` (all ready jobs when empty). `release_id` is the
    /// client's idempotency key: confirming again returns the first result and charges
    /// nothing more.
    pub async fn confirm(
        &self,
        who: &UserPrincipal,
        code: &str,
        job_ids: &[String],
        release_id: &str,
    ) -> Result<Released, ReleaseError> {
        self.confirm_with(who, PointRef::Code(code), job_ids, release_id).await
    }

    /// Confirms a release that a payment order paid for (the payment is already in the
    /// wallet): the same rules, at the print point the order names.
    pub async fn confirm_paid(
        &self,
        who: &UserPrincipal,
        print_point_id: &str,
        job_ids: &[String],
        release_id: &str,
    ) -> Result<Released, ReleaseError> {
        self.confirm_with(who, PointRef::Id(print_point_id), job_ids, release_id).await
    }

    async fn confirm_with(
        &self,
        who: &UserPrincipal,
        point: PointRef<'_>,
        job_ids: &[String],
        release_id: &str,
    ) -> Result<Released, ReleaseError> {
        // Two confirms at once: the second waits for the first's write transaction, then finds
        // the jobs released and the debit made, and is told so (on both backends).
        self.confirm_once(who, point, job_ids, release_id).await
    }

    async fn confirm_once(
        &self,
        who: &UserPrincipal,
        point: PointRef<'_>,
        job_ids: &[String],
        release_id: &str,
    ) -> Result<Released, ReleaseError> {
        check_release_id(release_id)?;
        let point = self.resolve_point(who, point).await?;
        if let Some(released) = self.released_before(who, release_id).await? {
            return Ok(released);
        }
        match self.release_now(who, &point, job_ids, release_id).await {
            // The same release carried out meanwhile (a payment notification and a retry, or
            // a client sending twice): its result stands, for this call too.
            Err(e @ (ReleaseError::JobNotReady | ReleaseError::NothingToRelease)) => {
                self.released_before(who, release_id).await?.ok_or(e)
            }
            other => other,
        }
    }

    /// Prices the chosen jobs at the print point and carries the release out.
    async fn release_now(
        &self,
        who: &UserPrincipal,
        point: &PrintPointRow,
        job_ids: &[String],
        release_id: &str,
    ) -> Result<Released, ReleaseError> {
        if let Some(why) = self.unavailable(point).await {
            return Err(ReleaseError::Unavailable(why));
        }
        let gateway_id = point.gateway_id.clone().ok_or(ReleaseError::Unavailable(Unavailable::Offline))?;
        let plan = pricing::effective_plan(&self.rates, &point.enterprise_id, &point.id).await?;
        let ready = self.ready_jobs(who).await?;
        let chosen = Self::choose(&ready, job_ids, |j| &j.id)?;
        if chosen.is_empty() {
            return Err(ReleaseError::NothingToRelease);
        }
        let priced = chosen.into_iter().map(|j| Self::price(&plan, j.clone())).collect::<Result<Vec<_>, _>>()?;
        let total = Self::total(&priced.iter().collect::<Vec<_>>())?;
        let wallet = self.wallets.ensure(&who.user_id, &who.enterprise_id, now_ms()).await?;
        let now = now_ms();

        self.carry_out(who, point, &gateway_id, &priced, &wallet.id, release_id, total, now).await?;
        self.gateways.wake(&gateway_id).await;
        let jobs = self.jobs_repo.by_release(&who.user_id, release_id).await?;
        for j in &jobs {
            announce(self.events.as_ref(), j).await;
        }
        let balance = self.wallets.ensure(&who.user_id, &who.enterprise_id, now_ms()).await?.balance_fen;
        let jobs = jobs.into_iter().map(Into::into).collect();
        Ok(Released { release_id: release_id.into(), jobs, charged: total, balance: Fen(balance) })
    }

    /// The debit and every job's release and print command, in one transaction: an error
    /// drops it, undoing them all.
    #[allow(clippy::too_many_arguments)] // The release's parts, as confirm has them.
    async fn carry_out(
        &self,
        who: &UserPrincipal,
        point: &PrintPointRow,
        gateway_id: &str,
        priced: &[PricedJob],
        wallet_id: &str,
        release_id: &str,
        total: Fen,
        now: i64,
    ) -> Result<(), ReleaseError> {
        let mut tx = crate::storage::begin_write(self.jobs_repo.pool()).await?;
        if total > Fen::ZERO {
            Self::debit_in(&mut tx, who, wallet_id, release_id, total, now).await?;
        }
        for p in priced {
            self.queue_print_in(&mut tx, who, point, gateway_id, p, release_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The print point a release names, within the user's enterprise.
    async fn resolve_point(&self, who: &UserPrincipal, point: PointRef<'_>) -> Result<PrintPointRow, ReleaseError> {
        match point {
            PointRef::Code(code) => self.point_for(who, code).await,
            PointRef::Id(id) => self
                .print_points
                .repo()
                .get(id)
                .await?
                .filter(|p| p.enterprise_id == who.enterprise_id)
                .ok_or(ReleaseError::NotFound),
        }
    }

    /// The first result of a release confirmed before under the same id.
    async fn released_before(&self, who: &UserPrincipal, release_id: &str) -> Result<Option<Released>, ReleaseError> {
        let done = self.jobs_repo.by_release(&who.user_id, release_id).await?;
        if done.is_empty() {
            return Ok(None);
        }
        let charged =
            Fen::checked_sum(done.iter().map(|j| Fen(j.charged_fen))).ok_or(ReleaseError::AmountOutOfRange)?;
        let wallet = self.wallets.ensure(&who.user_id, &who.enterprise_id, now_ms()).await?;
        let jobs = done.into_iter().map(Into::into).collect();
        Ok(Some(Released { release_id: release_id.into(), jobs, charged, balance: Fen(wallet.balance_fen) }))
    }

    /// Takes a release's total from the wallet, inside the release's transaction.
    async fn debit_in(
        tx: &mut Transaction<'_, Any>,
        who: &UserPrincipal,
        wallet_id: &str,
        release_id: &str,
        total: Fen,
        now: i64,
    ) -> Result<(), ReleaseError> {
        let change = Change {
            kind: LedgerKind::JobPayment,
            amount_fen: -total.0,
            reference: &format!("release:{release_id}"),
            actor_kind: "user",
            actor_id: &who.user_id,
            idempotency_key: &format!("release:{}:{release_id}", who.user_id),
        };
        match WalletRepo::apply(tx, wallet_id, &change, now).await? {
            Applied::Done(_) => Ok(()),
            Applied::Insufficient { balance_fen } => {
                let balance = Fen(balance_fen);
                let missing = total.checked_sub(balance).ok_or(ReleaseError::AmountOutOfRange)?;
                Err(ReleaseError::InsufficientBalance { balance, total, missing })
            }
            Applied::OverCeiling { .. } => Err(sqlx::Error::Protocol("a debit is never capped".into()).into()),
            // The same release raced in: its jobs are no longer ready.
            Applied::AlreadyDone(_) => Err(ReleaseError::JobNotReady),
        }
    }

    /// Releases one priced job to the print point and queues its print command for the
    /// gateway, inside the release's transaction.
    #[allow(clippy::too_many_arguments)] // The release's parts, as the transaction holds them.
    async fn queue_print_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        who: &UserPrincipal,
        point: &PrintPointRow,
        gateway_id: &str,
        p: &PricedJob,
        release_id: &str,
        now: i64,
    ) -> Result<(), ReleaseError> {
        let actor = Actor { kind: ActorKind::User, id: who.user_id.clone() };
        if transition_in(tx, &p.job.id, &[JobState::Ready], JobState::Released, now, &actor, None).await?.is_none() {
            // Released (or cancelled) meanwhile: nothing of this release happens.
            return Err(ReleaseError::JobNotReady);
        }
        JobRepo::assign_release_in(tx, &p.job.id, &point.id, p.quote.total.0, release_id).await?;
        let o = &p.job.options;
        let command = PrintCommand {
            job_id: p.job.id.clone(),
            print_point_id: point.id.clone(),
            device_uri: point.device_uri.clone(),
            document_url: self.document_path(&p.job.id),
            copies: o.copies,
            sides: o.sides.as_str().into(),
            colour: p.quote.lines.iter().any(|l| l.colour),
            media: o.paper_size.as_str().into(),
            job_name: p.job.file_name.clone(),
            user_name: who.user_id.clone(),
        };
        let row = CommandRow {
            id: new_id(),
            gateway_id: gateway_id.to_string(),
            seq: 0,
            kind: "print".into(),
            payload: serde_json::to_string(&CommandBody::Print(command))?,
            created_at: now,
            job_id: Some(p.job.id.clone()),
        };
        GatewayRepo::enqueue(tx, &row).await?;
        Ok(())
    }

    /// Retires a queued command whose payload cannot be read (an older or broken writer):
    /// it can never be printed, so its job fails and is refunded in full like any failed
    /// print, and the command is acknowledged so the link stops offering it. If the job
    /// cannot be failed now (storage), the command stays and the next look tries again.
    pub async fn retire_unreadable_command(&self, gateway_id: &str, command: &CommandRow) {
        tracing::error!(command = %command.id, job = ?command.job_id, "a queued print command cannot be read; its job fails and is refunded");
        if let Some(job_id) = &command.job_id {
            let failed = JobUpdate {
                report_id: String::new(),
                job_id: job_id.clone(),
                progress: JobProgress::Failed,
                ipp_job_id: None,
                ipp_state: None,
                pages_printed: None,
                reason: Some("the print command could not be read".into()),
            };
            if let Err(e) = self.on_job_update(gateway_id, &failed).await {
                tracing::warn!(error = %e, job = %job_id, "cannot fail the job of an unreadable command yet; will retry");
                return;
            }
        }
        if let Err(e) = self.gateways.ack(gateway_id, &command.id).await {
            tracing::warn!(error = %e, command = %command.id, "cannot retire an unreadable command yet; will retry");
        }
    }

    /// Applies a gateway's report on a job it was sent. A failure after payment refunds at
    /// once: in full, or for the part not printed when the printer says how much it printed.
    pub async fn on_job_update(&self, gateway_id: &str, u: &JobUpdate) -> Result<(), ReleaseError> {
        let Some(job) = self.jobs_repo.get(&u.job_id).await? else { return Ok(()) };
        let Some(point_id) = &job.print_point_id else { return Ok(()) };
        let point = self.print_points.repo().get(point_id).await?;
        // Only the gateway holding the print point may speak for its jobs.
        if point.and_then(|p| p.gateway_id).as_deref() != Some(gateway_id) {
            tracing::warn!(job = %job.id, "job update from a gateway that does not hold its print point; ignored");
            return Ok(());
        }
        let actor = Actor { kind: ActorKind::Gateway, id: gateway_id.to_string() };
        let now = now_ms();
        let mut tx = crate::storage::begin_write(self.jobs_repo.pool()).await?;
        let (from, to): (&[JobState], JobState) = match u.progress {
            JobProgress::Accepted | JobProgress::Printing => (&[JobState::Released], JobState::Printing),
            JobProgress::Completed => (&[JobState::Released, JobState::Printing], JobState::Completed),
            JobProgress::Failed => (&[JobState::Released, JobState::Printing], JobState::Failed),
        };
        let note = u.reason.as_deref().map(|r| r.chars().take(200).collect::<String>());
        let code_or_note = if to == JobState::Failed { Some("printer_failed") } else { None };
        let moved = transition_in(&mut tx, &job.id, from, to, now, &actor, code_or_note.or(note.as_deref())).await?;
        if moved.is_none() {
            // Duplicate or late report: the job has moved on already.
            tx.rollback().await?;
            return Ok(());
        }
        if let Some(printed) = u.pages_printed {
            JobRepo::set_pages_printed_in(&mut tx, &job.id, printed).await?;
        }
        let refund = if to == JobState::Failed {
            self.refunds.refund_failed_job_in(&mut tx, &job, u.pages_printed, now).await?
        } else {
            None
        };
        // The user hears of the outcome on their devices: queued with it, sent after.
        let queued = match outcome_notification(&job, to, refund.as_ref()) {
            Some((topic, note)) => {
                self.push.enqueue_in(&mut tx, &Recipient::User(job.user_id.clone()), &topic, &note).await?
            }
            None => 0,
        };
        tx.commit().await?;
        if queued > 0 {
            self.push.wake().await;
        }
        if let Some(now) = self.jobs_repo.get(&job.id).await? {
            announce(self.events.as_ref(), &now).await;
            if let Some(refund) = refund {
                self.refunds.announce_job_refund(&now, refund).await;
            }
        }
        Ok(())
    }
}

/// The push a user gets when their job ends: printed, or failed (and refunded).
fn outcome_notification(job: &JobRow, to: JobState, refund: Option<&JobRefund>) -> Option<(Topic, Notification)> {
    let (event, title, body) = match (to, refund) {
        (JobState::Completed, _) => ("printed", "文件已打印", format!("《{}》已打印完成，请取件", job.file_name)),
        (JobState::Failed, Some(r)) => {
            ("failed", "打印失败，已退款", format!("《{}》打印失败，{} 已退回", job.file_name, Fen(r.fen)))
        }
        (JobState::Failed, None) => ("failed", "打印失败", format!("《{}》打印失败，未扣费", job.file_name)),
        _ => return None,
    };
    let topic = Topic { kind: "job", id: job.id.clone(), event };
    let note = Notification {
        title: title.into(),
        body,
        url: format!("/m/jobs/{}", job.id),
        tag: format!("job-{}", job.id),
        level: None,
        job: Some(JobNews { file_name: job.file_name.clone(), refund_fen: refund.map(|r| r.fen) }),
    };
    Some((topic, note))
}

/// A release id is the client's idempotency key: 8-64 letters, digits, '-' or '_'.
pub fn check_release_id(release_id: &str) -> Result<(), ReleaseError> {
    let ok = (8..=64).contains(&release_id.len())
        && release_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::InvalidReleaseId)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 15, 255])), Some(vec![0, 15, 255]));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }
}
