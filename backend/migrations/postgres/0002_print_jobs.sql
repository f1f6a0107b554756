-- Print jobs, their state history, and rate plans (费率) per enterprise.

ALTER TABLE enterprises ADD COLUMN job_retention_hours BIGINT NOT NULL DEFAULT 72;

CREATE TABLE print_jobs (
    id                TEXT PRIMARY KEY,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    user_id           TEXT NOT NULL REFERENCES users(id),
    file_name         TEXT NOT NULL,
    document_kind     TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    sha256            TEXT NOT NULL,
    state             TEXT NOT NULL,
    progress          BIGINT NOT NULL,
    error_code        TEXT,
    copies            BIGINT NOT NULL,
    sides             TEXT NOT NULL,
    colour_mode       TEXT NOT NULL,
    paper_size        TEXT NOT NULL,
    page_ranges       TEXT NOT NULL,
    pages_per_sheet   BIGINT NOT NULL,
    orientation       TEXT NOT NULL,
    page_count        BIGINT,
    colour_page_count BIGINT,
    -- JSON: [{"w":595.3,"h":841.9,"colour":false}, …] in points.
    pages             TEXT,
    quote_fen         BIGINT,
    claimed_by        TEXT,
    lease_until       BIGINT NOT NULL,
    attempts          BIGINT NOT NULL,
    files_deleted     BIGINT NOT NULL,
    -- Deleted by its owner: gone from their list, kept for billing.
    hidden            BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    finished_at       BIGINT
);
CREATE INDEX print_jobs_user ON print_jobs(user_id, created_at);
CREATE INDEX print_jobs_enterprise ON print_jobs(enterprise_id, created_at);
CREATE INDEX print_jobs_queue ON print_jobs(state, lease_until);

CREATE TABLE job_transitions (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES print_jobs(id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    note       TEXT
);
CREATE INDEX job_transitions_job ON job_transitions(job_id, at);

CREATE TABLE rate_plans (
    enterprise_id  TEXT PRIMARY KEY REFERENCES enterprises(id),
    duplex_pricing TEXT NOT NULL,
    minimum_fen    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE rate_prices (
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    paper_size    TEXT NOT NULL,
    colour        TEXT NOT NULL,
    fen_per_side  BIGINT NOT NULL,
    PRIMARY KEY (enterprise_id, paper_size, colour)
);
