//! Print jobs: the row, its guarded state transitions (each recorded with time and actor),
//! and the persistent processing queue (claims with a lease, so a crashed worker's job is
//! picked up again).

use sqlx::{Any, AnyPool, Transaction};

use super::print_points::{admin_unrestricted, points_visible_to_admin, ScopedAdmin};
use crate::{
    domain::{
        ActorKind, ColourMode, Fen, Job, JobFilter, JobOptions, JobState, JobTransition, Orientation, PageFacts,
        PageRanges, PaperSize, Sides,
    },
    infra::new_id,
};

/// A job as stored. `Default` is a blank row: nothing set, nothing charged.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub enterprise_id: String,
    pub user_id: String,
    pub file_name: String,
    pub document_kind: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Parsed when read: a value the database should never hold fails the read.
    pub state: JobState,
    pub progress: i64,
    pub error_code: Option<String>,
    pub copies: i64,
    pub sides: String,
    pub colour_mode: String,
    pub paper_size: String,
    pub page_ranges: String,
    pub pages_per_sheet: i64,
    pub orientation: String,
    pub page_count: Option<i64>,
    pub colour_page_count: Option<i64>,
    pub pages: Option<String>,
    pub quote_fen: Option<i64>,
    pub claimed_by: Option<String>,
    pub lease_until: i64,
    pub attempts: i64,
    pub files_deleted: i64,
    pub hidden: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub finished_at: Option<i64>,
    /// Where it was released (set at release).
    pub print_point_id: Option<String>,
    /// What the release charged, fen.
    pub charged_fen: i64,
    /// What has been refunded of it, fen.
    pub refunded_fen: i64,
    /// Sheets the printer reported printed, when known.
    pub pages_printed: Option<i64>,
    /// The release (idempotency key) that released it.
    pub release_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransitionRow {
    /// Parsed when read, like the job's state.
    pub from_state: Option<JobState>,
    pub to_state: JobState,
    pub at: i64,
    pub actor_kind: ActorKind,
    pub actor_id: String,
    pub note: Option<String>,
}

impl JobRow {
    /// The stored options, typed. Columns are written only from parsed options, so a value
    /// that does not parse (never expected) falls back to the default rather than failing.
    pub fn options(&self) -> JobOptions {
        let d = JobOptions::default();
        JobOptions {
            copies: u32::try_from(self.copies).unwrap_or(d.copies),
            sides: Sides::parse(&self.sides).unwrap_or(d.sides),
            colour_mode: ColourMode::parse(&self.colour_mode).unwrap_or(d.colour_mode),
            paper_size: PaperSize::parse(&self.paper_size).unwrap_or(d.paper_size),
            page_ranges: PageRanges::parse(&self.page_ranges).unwrap_or_default(),
            pages_per_sheet: u32::try_from(self.pages_per_sheet).unwrap_or(d.pages_per_sheet),
            orientation: Orientation::parse(&self.orientation).unwrap_or(d.orientation),
        }
    }

    /// Each page's facts, once processing stored them.
    pub fn page_facts(&self) -> Option<Vec<PageFacts>> {
        self.pages.as_deref().and_then(|p| serde_json::from_str(p).ok())
    }
}

impl From<JobRow> for Job {
    fn from(j: JobRow) -> Self {
        Job {
            options: j.options(),
            pages: j.page_facts().unwrap_or_default(),
            files_available: j.files_deleted == 0,
            id: j.id,
            enterprise_id: j.enterprise_id,
            user_id: j.user_id,
            file_name: j.file_name,
            document_kind: j.document_kind,
            size_bytes: j.size_bytes,
            sha256: j.sha256,
            state: j.state,
            progress: j.progress,
            error_code: j.error_code,
            page_count: j.page_count,
            colour_page_count: j.colour_page_count,
            quote: j.quote_fen.map(Fen),
            print_point_id: j.print_point_id,
            charged: Fen(j.charged_fen),
            refunded: Fen(j.refunded_fen),
            pages_printed: j.pages_printed,
            created_at: j.created_at,
            updated_at: j.updated_at,
            expires_at: j.expires_at,
            finished_at: j.finished_at,
        }
    }
}

impl From<TransitionRow> for JobTransition {
    fn from(t: TransitionRow) -> Self {
        JobTransition {
            from_state: t.from_state,
            to_state: t.to_state,
            at: t.at,
            actor_kind: t.actor_kind,
            actor_id: t.actor_id,
            note: t.note,
        }
    }
}

/// Who moved a job.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn system(id: &str) -> Self {
        Self { kind: ActorKind::System, id: id.into() }
    }
}

/// The columns set at upload.
const INSERT_COLS: &str = "id, enterprise_id, user_id, file_name, document_kind, size_bytes, sha256, state, progress, \
    error_code, copies, sides, colour_mode, paper_size, page_ranges, pages_per_sheet, orientation, page_count, \
    colour_page_count, pages, quote_fen, claimed_by, lease_until, attempts, files_deleted, hidden, created_at, \
    updated_at, expires_at, finished_at";
pub(crate) const COLS: &str =
    "id, enterprise_id, user_id, file_name, document_kind, size_bytes, sha256, state, progress, \
    error_code, copies, sides, colour_mode, paper_size, page_ranges, pages_per_sheet, orientation, page_count, \
    colour_page_count, pages, quote_fen, claimed_by, lease_until, attempts, files_deleted, hidden, created_at, \
    updated_at, expires_at, finished_at, print_point_id, charged_fen, refunded_fen, pages_printed, release_id";

/// The facts a finished processing run stores.
pub struct Processed<'a> {
    pub page_count: i64,
    pub colour_page_count: i64,
    pub pages_json: &'a str,
    pub quote_fen: i64,
}

#[derive(Clone)]
pub struct JobRepo {
    pool: AnyPool,
}

/// Moves a job from one of `from` to `to` inside the caller's transaction and records it;
/// `None` (and nothing written) when the job is in none of `from`. Returns the state it left.
pub(crate) async fn transition_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    from: &[JobState],
    to: JobState,
    now: i64,
    actor: &Actor,
    note: Option<&str>,
) -> Result<Option<JobState>, sqlx::Error> {
    // The row first (the portable `SELECT … FOR UPDATE`: a row lock to the end of the
    // transaction on PostgreSQL; SQLite's write lock is held from `begin_write`), so the state
    // read next is still the job's state at the guarded UPDATE below. Without it, on PostgreSQL
    // a move committed in between (the document worker taking a job just uploaded) made a
    // cancel that was allowed answer 409.
    sqlx::query("UPDATE print_jobs SET state = state WHERE id = $1").bind(id).execute(&mut **tx).await?;
    let current: Option<(JobState,)> =
        sqlx::query_as("SELECT state FROM print_jobs WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
    let Some((current,)) = current.filter(|(s,)| from.contains(s)) else { return Ok(None) };
    let finished = to.is_final().then_some(now);
    let moved = sqlx::query(
        "UPDATE print_jobs SET state = $3, updated_at = $4, finished_at = COALESCE($5, finished_at), \
         error_code = CASE WHEN $3 = 'failed' THEN COALESCE($6, error_code) ELSE error_code END \
         WHERE id = $1 AND state = $2",
    )
    .bind(id)
    .bind(current)
    .bind(to)
    .bind(now)
    .bind(finished)
    .bind(note)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved != 1 {
        return Ok(None);
    }
    record(tx, id, Some(current), to, now, actor, note).await?;
    Ok(Some(current))
}

pub(crate) async fn record(
    tx: &mut Transaction<'_, Any>,
    job_id: &str,
    from: Option<JobState>,
    to: JobState,
    at: i64,
    actor: &Actor,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    // History follows causality even when two instances' clocks (or the moments they read
    // them) disagree: a transition is never earlier than the one before it, which it saw
    // because the guarded state UPDATE serialises them.
    let last: Option<(i64,)> =
        sqlx::query_as("SELECT at FROM job_transitions WHERE job_id = $1 ORDER BY at DESC LIMIT 1")
            .bind(job_id)
            .fetch_optional(&mut **tx)
            .await?;
    let at = last.map_or(at, |(prev,)| at.max(prev + 1));
    sqlx::query(
        "INSERT INTO job_transitions (id, job_id, from_state, to_state, at, actor_kind, actor_id, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(job_id)
    .bind(from)
    .bind(to)
    .bind(at)
    .bind(actor.kind)
    .bind(&actor.id)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl JobRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, j: &JobRow, actor: &Actor) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query(&format!(
            "INSERT INTO print_jobs ({INSERT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
        ))
        .bind(&j.id)
        .bind(&j.enterprise_id)
        .bind(&j.user_id)
        .bind(&j.file_name)
        .bind(&j.document_kind)
        .bind(j.size_bytes)
        .bind(&j.sha256)
        .bind(j.state.as_str())
        .bind(j.progress)
        .bind(&j.error_code)
        .bind(j.copies)
        .bind(&j.sides)
        .bind(&j.colour_mode)
        .bind(&j.paper_size)
        .bind(&j.page_ranges)
        .bind(j.pages_per_sheet)
        .bind(&j.orientation)
        .bind(j.page_count)
        .bind(j.colour_page_count)
        .bind(&j.pages)
        .bind(j.quote_fen)
        .bind(&j.claimed_by)
        .bind(j.lease_until)
        .bind(j.attempts)
        .bind(j.files_deleted)
        .bind(j.hidden)
        .bind(j.created_at)
        .bind(j.updated_at)
        .bind(j.expires_at)
        .bind(j.finished_at)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, &j.id, None, j.state, j.created_at, actor, None).await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLS} FROM print_jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A user's own jobs (not hidden), newest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_for_user(
        &self,
        user_id: &str,
        state: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM print_jobs WHERE user_id = $1 AND hidden = 0 AND ($2 = '' OR state = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(user_id)
        .bind(state.unwrap_or(""))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// An enterprise's jobs for its admins (hidden ones too: they are billing records).
    #[tracing::instrument(skip_all)]
    pub async fn list_for_enterprise(
        &self,
        enterprise_id: &str,
        f: &JobFilter,
        viewer: &ScopedAdmin,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<JobRow>, sqlx::Error> {
        // Region and group admins see the jobs released at print points they see.
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM print_jobs WHERE enterprise_id = $1 AND ($2 = '' OR state = $2) \
             AND ($3 = '' OR user_id = $3) AND ($4 = '' OR LOWER(file_name) LIKE LOWER($4) ESCAPE '\\') \
             AND ({} OR print_point_id IN ({})) \
             AND ($9 = '' OR print_point_id = $9) AND created_at >= $10 AND created_at < $11 \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6",
            admin_unrestricted(7, 8),
            points_visible_to_admin(7, 8)
        ))
        .bind(enterprise_id)
        .bind(f.state.map(JobState::as_str).unwrap_or(""))
        .bind(f.user_id.as_deref().unwrap_or(""))
        .bind(f.name.as_deref().map(|n| format!("%{}%", super::like_literal(n))).unwrap_or_default())
        .bind(limit)
        .bind(offset)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(f.print_point_id.as_deref().unwrap_or(""))
        .bind(f.created_from.unwrap_or(0))
        .bind(f.created_before.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
    }

    /// One of an enterprise's jobs, if the admin's list would hold it.
    #[tracing::instrument(skip_all)]
    pub async fn get_for_enterprise(
        &self,
        enterprise_id: &str,
        id: &str,
        viewer: &ScopedAdmin,
    ) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM print_jobs WHERE enterprise_id = $1 AND id = $2 AND ({} OR print_point_id IN ({}))",
            admin_unrestricted(3, 4),
            points_visible_to_admin(3, 4)
        ))
        .bind(enterprise_id)
        .bind(id)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .fetch_optional(&self.pool)
        .await
    }

    /// Moves the job from one of `from` to `to`, atomically; false when it was in none of them
    /// (someone else moved it first). The move is recorded.
    #[tracing::instrument(skip_all, fields(job = %id, to = to.as_str()))]
    pub async fn transition(
        &self,
        id: &str,
        from: &[JobState],
        to: JobState,
        now: i64,
        actor: &Actor,
        note: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        if transition_in(&mut tx, id, from, to, now, actor, note).await?.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A user's ready jobs in an enterprise, oldest first (what a release may print).
    pub async fn ready_of_user(&self, user_id: &str, enterprise_id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM print_jobs WHERE user_id = $1 AND enterprise_id = $2 AND state = 'ready' AND hidden = 0 \
             ORDER BY created_at, id"
        ))
        .bind(user_id)
        .bind(enterprise_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Records, inside the release's transaction, where a job is printed, what it was charged
    /// and under which release.
    pub async fn assign_release_in(
        tx: &mut Transaction<'_, Any>,
        id: &str,
        print_point_id: &str,
        charged_fen: i64,
        release_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_jobs SET print_point_id = $2, charged_fen = $3, release_id = $4 WHERE id = $1")
            .bind(id)
            .bind(print_point_id)
            .bind(charged_fen)
            .bind(release_id)
            .execute(&mut **tx)
            .await
            .map(drop)
    }

    /// How many sides the printer says it printed.
    pub async fn set_pages_printed_in(
        tx: &mut Transaction<'_, Any>,
        id: &str,
        printed: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_jobs SET pages_printed = $2 WHERE id = $1")
            .bind(id)
            .bind(printed)
            .execute(&mut **tx)
            .await
            .map(drop)
    }

    /// Adds a refund to what the job has had back (with the refund's own record, in one
    /// transaction).
    pub async fn add_refunded_in(tx: &mut Transaction<'_, Any>, id: &str, fen: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_jobs SET refunded_fen = refunded_fen + $2 WHERE id = $1")
            .bind(id)
            .bind(fen)
            .execute(&mut **tx)
            .await
            .map(drop)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The jobs a release made, for replaying an already-confirmed release.
    pub async fn by_release(&self, user_id: &str, release_id: &str) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLS} FROM print_jobs WHERE user_id = $1 AND release_id = $2 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .bind(release_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Claims the oldest waiting job (or one whose worker's lease ran out) for `worker`.
    #[tracing::instrument(skip_all)]
    pub async fn claim_next(&self, worker: &str, lease_until: i64, now: i64) -> Result<Option<JobRow>, sqlx::Error> {
        for _ in 0..5 {
            let candidate: Option<(String, JobState)> = sqlx::query_as(
                "SELECT id, state FROM print_jobs WHERE state = 'uploaded' OR (state = 'processing' AND lease_until < $1) \
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
            let Some((id, state)) = candidate else { return Ok(None) };
            let mut tx = super::begin_write(&self.pool).await?;
            let claimed = sqlx::query(
                "UPDATE print_jobs SET state = 'processing', claimed_by = $2, lease_until = $3, attempts = attempts + 1, \
                 progress = 0, updated_at = $4 WHERE id = $1 AND state = $5 AND (state = 'uploaded' OR lease_until < $4)",
            )
            .bind(&id)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(state)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 1 {
                let note = (state == JobState::Processing).then_some("lease expired; picked up again");
                record(&mut tx, &id, Some(state), JobState::Processing, now, &Actor::system(worker), note).await?;
                tx.commit().await?;
                return self.get(&id).await;
            }
            tx.rollback().await?;
        }
        Ok(None)
    }

    /// Extends a claim; false when the claim was lost (job cancelled or taken over).
    pub async fn renew_lease(
        &self,
        id: &str,
        worker: &str,
        lease_until: i64,
        progress: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE print_jobs SET lease_until = $3, progress = $4 WHERE id = $1 AND claimed_by = $2 AND state = 'processing'",
        )
        .bind(id)
        .bind(worker)
        .bind(lease_until)
        .bind(progress)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Stores the facts and quote and moves processing → ready, if the claim still holds.
    #[tracing::instrument(skip_all, fields(job = %id))]
    pub async fn finish_processing(
        &self,
        id: &str,
        worker: &str,
        p: &Processed<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        let n = sqlx::query(
            "UPDATE print_jobs SET state = 'ready', progress = 100, page_count = $3, colour_page_count = $4, pages = $5, \
             quote_fen = $6, updated_at = $7, claimed_by = NULL WHERE id = $1 AND claimed_by = $2 AND state = 'processing'",
        )
        .bind(id)
        .bind(worker)
        .bind(p.page_count)
        .bind(p.colour_page_count)
        .bind(p.pages_json)
        .bind(p.quote_fen)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        record(&mut tx, id, Some(JobState::Processing), JobState::Ready, now, &Actor::system(worker), None).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts this worker's claims back in the queue (graceful shutdown).
    pub async fn release_claims(&self, worker: &str, now: i64) -> Result<Vec<String>, sqlx::Error> {
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM print_jobs WHERE claimed_by = $1 AND state = 'processing'")
                .bind(worker)
                .fetch_all(&self.pool)
                .await?;
        let mut released = Vec::new();
        for (id,) in ids {
            if self
                .transition(
                    &id,
                    &[JobState::Processing],
                    JobState::Uploaded,
                    now,
                    &Actor::system(worker),
                    Some("server stopping; back in the queue"),
                )
                .await?
            {
                released.push(id);
            }
        }
        Ok(released)
    }

    /// Changes options (and the quote) while the job is still held.
    #[tracing::instrument(skip_all)]
    pub async fn update_options(&self, j: &JobRow) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE print_jobs SET copies = $2, sides = $3, colour_mode = $4, paper_size = $5, page_ranges = $6, \
             pages_per_sheet = $7, orientation = $8, quote_fen = $9, updated_at = $10 \
             WHERE id = $1 AND state IN ('uploaded', 'processing', 'ready')",
        )
        .bind(&j.id)
        .bind(j.copies)
        .bind(&j.sides)
        .bind(&j.colour_mode)
        .bind(&j.paper_size)
        .bind(&j.page_ranges)
        .bind(j.pages_per_sheet)
        .bind(&j.orientation)
        .bind(j.quote_fen)
        .bind(j.updated_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn mark_files_deleted(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_jobs SET files_deleted = 1 WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn hide(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE print_jobs SET hidden = 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Held jobs past their expiry.
    pub async fn expired_ids(&self, now: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM print_jobs WHERE state IN ('uploaded', 'ready') AND expires_at <= $1 ORDER BY expires_at LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Final jobs whose files are still kept, finished before `finished_before`.
    pub async fn files_due(&self, finished_before: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM print_jobs WHERE files_deleted = 0 AND finished_at IS NOT NULL AND finished_at <= $1 \
             AND state IN ('completed', 'failed', 'cancelled', 'expired') LIMIT 500",
        )
        .bind(finished_before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn transitions(&self, job_id: &str) -> Result<Vec<TransitionRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT from_state, to_state, at, actor_kind, actor_id, note FROM job_transitions WHERE job_id = $1 ORDER BY at, id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await
    }
}
