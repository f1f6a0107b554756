-- Driverless printing from PCs and Macs (IPP Everywhere, issue 16 section 2). Numbered after
-- 0013, which landed first; 0012 is unused.

-- A user's printing tokens: secrets the user makes in the app for a PC or Mac, given as the
-- password of HTTP Basic at the enterprise's IPP printer. Only a SHA-256 of the secret is
-- kept (the secret is 160 random bits, so a fast hash is enough); `hint` is its last four
-- characters, to tell tokens apart in the list.
CREATE TABLE printing_tokens (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    hint          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX printing_tokens_user ON printing_tokens(user_id, created_at);

-- IPP's integer job ids per enterprise printer, mapped to our jobs. A Create-Job row waits
-- here with no job (job_id NULL) until its Send-Document; `state` is the IPP side's own
-- state while there is no job (`awaiting_document`, `canceled`, `aborted`) and `submitted`
-- once the job exists (its state is then the job's).
CREATE TABLE ipp_jobs (
    enterprise_id   TEXT NOT NULL REFERENCES enterprises(id),
    ipp_job_id      BIGINT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id),
    job_id          TEXT REFERENCES print_jobs(id),
    job_name        TEXT NOT NULL,
    document_format TEXT NOT NULL,
    -- The job template attributes the client gave ('' or 0 when none).
    copies          BIGINT NOT NULL DEFAULT 0,
    sides           TEXT NOT NULL DEFAULT '',
    colour_mode     TEXT NOT NULL DEFAULT '',
    media           TEXT NOT NULL DEFAULT '',
    page_ranges     TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (enterprise_id, ipp_job_id)
);
CREATE INDEX ipp_jobs_user ON ipp_jobs(user_id, ipp_job_id);
CREATE INDEX ipp_jobs_job ON ipp_jobs(job_id);
