//! Printing tokens (a user's secrets for the IPP printer, kept as hashes) and the IPP job
//! table (IPP's integer job ids per enterprise, mapped to our jobs).

use sqlx::AnyPool;

const TOKEN_COLS: &str = "id, enterprise_id, user_id, name, token_hash, hint, created_at, last_used_at";
const IPP_JOB_COLS: &str = "i.enterprise_id, i.ipp_job_id, i.user_id, i.job_id, i.job_name, i.document_format, \
    i.copies, i.sides, i.colour_mode, i.media, i.page_ranges, i.state, i.created_at, i.updated_at, \
    j.state AS job_state, j.error_code AS job_error_code, j.page_count AS job_page_count, \
    j.updated_at AS job_updated_at";
const IPP_JOB_FROM: &str = "ipp_jobs i LEFT JOIN print_jobs j ON j.id = i.job_id";

/// A stored printing token (the secret itself is never stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrintingTokenRow {
    pub id: String,
    pub enterprise_id: String,
    pub user_id: String,
    pub name: String,
    /// SHA-256 of the secret, lowercase hex.
    pub token_hash: String,
    /// The secret's last four characters.
    pub hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// An IPP job with, once its document arrived, our job's state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IppJobRow {
    pub enterprise_id: String,
    pub ipp_job_id: i64,
    pub user_id: String,
    pub job_id: Option<String>,
    pub job_name: String,
    pub document_format: String,
    pub copies: i64,
    pub sides: String,
    pub colour_mode: String,
    pub media: String,
    /// `PageRanges` text ('' for all pages).
    pub page_ranges: String,
    /// `awaiting_document`, `submitted`, `canceled` or `aborted`.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Our job's state (`JobState` names), once there is a job.
    pub job_state: Option<String>,
    pub job_error_code: Option<String>,
    pub job_page_count: Option<i64>,
    pub job_updated_at: Option<i64>,
}

/// What a new IPP job row holds.
#[derive(Debug, Clone)]
pub struct NewIppJob {
    pub enterprise_id: String,
    pub user_id: String,
    pub job_name: String,
    pub document_format: String,
    pub copies: i64,
    pub sides: String,
    pub colour_mode: String,
    pub media: String,
    pub page_ranges: String,
    pub state: &'static str,
    pub now: i64,
}

#[derive(Clone)]
pub struct PrintingTokenRepo {
    pool: AnyPool,
}

impl PrintingTokenRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    // ---- printing tokens ----

    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, t: &PrintingTokenRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("INSERT INTO printing_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(&t.id)
            .bind(&t.enterprise_id)
            .bind(&t.user_id)
            .bind(&t.name)
            .bind(&t.token_hash)
            .bind(&t.hint)
            .bind(t.created_at)
            .bind(t.last_used_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_for_user(&self, user_id: &str) -> Result<Vec<PrintingTokenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TOKEN_COLS} FROM printing_tokens WHERE user_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn count_for_user(&self, user_id: &str) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM printing_tokens WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_hash(&self, token_hash: &str) -> Result<Option<PrintingTokenRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {TOKEN_COLS} FROM printing_tokens WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn exists(&self, id: &str) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM printing_tokens WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    /// Deletes the user's own token; false when there is none with that id.
    #[tracing::instrument(skip_all)]
    pub async fn delete(&self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM printing_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn touch(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE printing_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- IPP jobs ----

    /// Adds an IPP job with the enterprise's next job id. Two requests racing for the same id
    /// collide on the primary key; the loser tries the next one.
    #[tracing::instrument(skip_all)]
    pub async fn insert_ipp_job(&self, j: &NewIppJob) -> Result<i64, sqlx::Error> {
        let mut last = None;
        for _ in 0..8 {
            let result: Result<(i64,), sqlx::Error> = sqlx::query_as(
                "INSERT INTO ipp_jobs (enterprise_id, ipp_job_id, user_id, job_id, job_name, document_format, \
                 copies, sides, colour_mode, media, page_ranges, state, created_at, updated_at) \
                 SELECT $1, COALESCE(MAX(ipp_job_id), 0) + 1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 \
                 FROM ipp_jobs WHERE enterprise_id = $1 RETURNING ipp_job_id",
            )
            .bind(&j.enterprise_id)
            .bind(&j.user_id)
            .bind(&j.job_name)
            .bind(&j.document_format)
            .bind(j.copies)
            .bind(&j.sides)
            .bind(&j.colour_mode)
            .bind(&j.media)
            .bind(&j.page_ranges)
            .bind(j.state)
            .bind(j.now)
            .fetch_one(&self.pool)
            .await;
            match result {
                Ok((id,)) => return Ok(id),
                Err(e) if super::is_unique_violation(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(sqlx::Error::RowNotFound))
    }

    #[tracing::instrument(skip_all)]
    pub async fn ipp_job(&self, enterprise_id: &str, ipp_job_id: i64) -> Result<Option<IppJobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {IPP_JOB_COLS} FROM {IPP_JOB_FROM} WHERE i.enterprise_id = $1 AND i.ipp_job_id = $2"
        ))
        .bind(enterprise_id)
        .bind(ipp_job_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The user's IPP jobs at the enterprise's printer, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn ipp_jobs_of_user(
        &self,
        enterprise_id: &str,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<IppJobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {IPP_JOB_COLS} FROM {IPP_JOB_FROM} WHERE i.enterprise_id = $1 AND i.user_id = $2 \
             ORDER BY i.ipp_job_id DESC LIMIT $3"
        ))
        .bind(enterprise_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Ties the job made from the IPP job's document to it; false when it was not awaiting one.
    #[tracing::instrument(skip_all)]
    pub async fn attach_job(
        &self,
        enterprise_id: &str,
        ipp_job_id: i64,
        job_id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE ipp_jobs SET job_id = $3, state = 'submitted', updated_at = $4 \
             WHERE enterprise_id = $1 AND ipp_job_id = $2 AND job_id IS NULL AND state = 'awaiting_document'",
        )
        .bind(enterprise_id)
        .bind(ipp_job_id)
        .bind(job_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves an IPP job that has no job yet from `from` to `to`; false when it was not in `from`.
    pub async fn set_ipp_state(
        &self,
        enterprise_id: &str,
        ipp_job_id: i64,
        from: &str,
        to: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE ipp_jobs SET state = $4, updated_at = $5 \
             WHERE enterprise_id = $1 AND ipp_job_id = $2 AND state = $3 AND job_id IS NULL",
        )
        .bind(enterprise_id)
        .bind(ipp_job_id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Create-Job jobs whose document never came within `before`: aborted.
    pub async fn abort_stale(&self, enterprise_id: &str, before: i64, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE ipp_jobs SET state = 'aborted', updated_at = $3 \
             WHERE enterprise_id = $1 AND state = 'awaiting_document' AND created_at < $2",
        )
        .bind(enterprise_id)
        .bind(before)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
