-- The database refuses what the domain never writes (issue 12): job, order and refund states
-- outside their vocabularies (domain/job.rs JobState, domain/payment.rs OrderState,
-- RefundState, PaymentProvider, PayMethod), negative balances and refunds beyond the charge.
-- A bug that got past the services now fails its write instead of being stored.
--
-- SQLite cannot add a constraint to a table, so each table is built again with its
-- constraints, filled from the old one, and takes its name (the procedure of
-- https://www.sqlite.org/lang_altertable.html#otheralter). Foreign keys are checked at commit
-- (defer_foreign_keys), when every table is back under its name; none of these tables has a
-- cascading action, so dropping the old table deletes nothing else.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE print_jobs_checked (
    id                TEXT PRIMARY KEY,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    user_id           TEXT NOT NULL REFERENCES users(id),
    file_name         TEXT NOT NULL,
    document_kind     TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    state             TEXT NOT NULL,
    progress          INTEGER NOT NULL,
    error_code        TEXT,
    copies            INTEGER NOT NULL,
    sides             TEXT NOT NULL,
    colour_mode       TEXT NOT NULL,
    paper_size        TEXT NOT NULL,
    page_ranges       TEXT NOT NULL,
    pages_per_sheet   INTEGER NOT NULL,
    orientation       TEXT NOT NULL,
    page_count        INTEGER,
    colour_page_count INTEGER,
    pages             TEXT,
    quote_fen         INTEGER,
    claimed_by        TEXT,
    lease_until       INTEGER NOT NULL,
    attempts          INTEGER NOT NULL,
    files_deleted     INTEGER NOT NULL,
    hidden            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    print_point_id    TEXT REFERENCES print_points(id),
    charged_fen       INTEGER NOT NULL DEFAULT 0,
    refunded_fen      INTEGER NOT NULL DEFAULT 0,
    pages_printed     INTEGER,
    release_id        TEXT,
    CONSTRAINT print_jobs_state CHECK (state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')),
    CONSTRAINT print_jobs_money CHECK (charged_fen >= 0 AND refunded_fen >= 0 AND refunded_fen <= charged_fen AND (quote_fen IS NULL OR quote_fen >= 0))
);
INSERT INTO print_jobs_checked SELECT * FROM print_jobs;
DROP TABLE print_jobs;
ALTER TABLE print_jobs_checked RENAME TO print_jobs;
CREATE INDEX print_jobs_user ON print_jobs(user_id, created_at);
CREATE INDEX print_jobs_enterprise ON print_jobs(enterprise_id, created_at);
CREATE INDEX print_jobs_queue ON print_jobs(state, lease_until);
CREATE INDEX print_jobs_release ON print_jobs(release_id);

CREATE TABLE job_transitions_checked (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES print_jobs(id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    note       TEXT,
    CONSTRAINT job_transitions_states CHECK (
        to_state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')
        AND (from_state IS NULL OR from_state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')))
);
INSERT INTO job_transitions_checked SELECT * FROM job_transitions;
DROP TABLE job_transitions;
ALTER TABLE job_transitions_checked RENAME TO job_transitions;
CREATE INDEX job_transitions_job ON job_transitions(job_id, at);

CREATE TABLE wallets_checked (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    balance_fen   INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL,
    UNIQUE (user_id, enterprise_id),
    CONSTRAINT wallets_balance CHECK (balance_fen >= 0)
);
INSERT INTO wallets_checked SELECT * FROM wallets;
DROP TABLE wallets;
ALTER TABLE wallets_checked RENAME TO wallets;

CREATE TABLE wallet_ledger_checked (
    id              TEXT PRIMARY KEY,
    wallet_id       TEXT NOT NULL REFERENCES wallets(id),
    kind            TEXT NOT NULL,
    amount_fen      INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    reference       TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    CONSTRAINT wallet_ledger_balance CHECK (balance_after >= 0)
);
INSERT INTO wallet_ledger_checked SELECT * FROM wallet_ledger;
DROP TABLE wallet_ledger;
ALTER TABLE wallet_ledger_checked RENAME TO wallet_ledger;
CREATE INDEX wallet_ledger_wallet ON wallet_ledger(wallet_id, created_at);

CREATE TABLE payment_orders_checked (
    id                TEXT PRIMARY KEY,
    out_trade_no      TEXT NOT NULL UNIQUE,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    user_id           TEXT NOT NULL REFERENCES users(id),
    purpose           TEXT NOT NULL,
    provider          TEXT NOT NULL,
    method            TEXT NOT NULL,
    payee_kind        TEXT NOT NULL,
    payee_id          TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    merchant_id       TEXT NOT NULL,
    amount_fen        INTEGER NOT NULL,
    state             TEXT NOT NULL,
    provider_trade_no TEXT,
    payer             TEXT,
    settled_by        TEXT,
    release_id        TEXT,
    print_point_id    TEXT,
    job_ids           TEXT NOT NULL DEFAULT '',
    release_outcome   TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    settled_at        INTEGER,
    next_check_at     INTEGER NOT NULL,
    check_attempts    INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT payment_orders_state CHECK (state IN ('pending', 'paid', 'closed')),
    CONSTRAINT payment_orders_vocabulary CHECK (
        purpose IN ('top_up', 'release')
        AND provider IN ('wechat_pay', 'alipay')
        AND method IN ('jsapi', 'native', 'h5', 'app', 'page', 'wap', 'precreate')
        AND payee_kind IN ('platform', 'provider', 'enterprise')
        AND (release_outcome IS NULL OR release_outcome IN ('released', 'held'))),
    CONSTRAINT payment_orders_amount CHECK (amount_fen > 0)
);
INSERT INTO payment_orders_checked SELECT * FROM payment_orders;
DROP TABLE payment_orders;
ALTER TABLE payment_orders_checked RENAME TO payment_orders;
CREATE INDEX payment_orders_pending ON payment_orders(state, next_check_at);
CREATE INDEX payment_orders_user ON payment_orders(user_id, created_at);

CREATE TABLE payment_refunds_checked (
    id             TEXT PRIMARY KEY,
    out_refund_no  TEXT NOT NULL UNIQUE,
    order_id       TEXT NOT NULL REFERENCES payment_orders(id),
    job_id         TEXT,
    amount_fen     INTEGER NOT NULL,
    state          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    settled_at     INTEGER,
    next_check_at  INTEGER NOT NULL,
    check_attempts INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT payment_refunds_state CHECK (state IN ('pending', 'succeeded', 'to_wallet')),
    CONSTRAINT payment_refunds_amount CHECK (amount_fen > 0)
);
INSERT INTO payment_refunds_checked SELECT * FROM payment_refunds;
DROP TABLE payment_refunds;
ALTER TABLE payment_refunds_checked RENAME TO payment_refunds;
CREATE INDEX payment_refunds_pending ON payment_refunds(state, next_check_at);
