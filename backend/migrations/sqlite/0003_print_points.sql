-- Print points (打印点), their gateways, printer groups (打印机组), the platform's MAC
-- whitelist (白名单) and per-print-point rates.

CREATE TABLE mac_whitelist (
    mac        TEXT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE gateways (
    id              TEXT PRIMARY KEY,
    enterprise_id   TEXT NOT NULL REFERENCES enterprises(id),
    name            TEXT NOT NULL,
    credential_hash TEXT NOT NULL UNIQUE,
    version         TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER,
    revoked         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gateways_enterprise ON gateways(enterprise_id);

CREATE TABLE printer_groups (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (enterprise_id, name)
);

CREATE TABLE print_points (
    id                     TEXT PRIMARY KEY,
    enterprise_id          TEXT NOT NULL REFERENCES enterprises(id),
    region_id              TEXT REFERENCES regions(id),
    name                   TEXT NOT NULL,
    address                TEXT NOT NULL DEFAULT '',
    latitude               REAL,
    longitude              REAL,
    make_model             TEXT NOT NULL DEFAULT '',
    serial_number          TEXT NOT NULL DEFAULT '',
    printer_uuid           TEXT NOT NULL DEFAULT '',
    mac                    TEXT,
    -- 1 when the MAC was on the whitelist at registration: shared, O&M only.
    mac_shared             INTEGER NOT NULL DEFAULT 0,
    device_uri             TEXT NOT NULL DEFAULT '',
    gateway_id             TEXT REFERENCES gateways(id),
    cloud_print_enabled    INTEGER NOT NULL DEFAULT 1,
    copy_enabled           INTEGER NOT NULL DEFAULT 1,
    scan_enabled           INTEGER NOT NULL DEFAULT 1,
    meter_interval_minutes INTEGER NOT NULL DEFAULT 60,
    status                 TEXT NOT NULL DEFAULT 'offline',
    last_seen_at           INTEGER,
    -- The random half of the QR code; the code adds a signature over it.
    qr_id                  TEXT NOT NULL UNIQUE,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
-- One print point per MAC platform-wide, except whitelisted (shared) MACs.
CREATE UNIQUE INDEX print_points_exclusive_mac ON print_points(mac) WHERE mac_shared = 0;
CREATE INDEX print_points_mac ON print_points(mac);
CREATE INDEX print_points_enterprise ON print_points(enterprise_id);
CREATE INDEX print_points_gateway ON print_points(gateway_id);

CREATE TABLE print_point_groups (
    print_point_id TEXT NOT NULL REFERENCES print_points(id),
    group_id       TEXT NOT NULL REFERENCES printer_groups(id),
    PRIMARY KEY (print_point_id, group_id)
);

-- Group admins: an admin with groups sees and manages only those groups' print points.
CREATE TABLE admin_printer_groups (
    admin_id TEXT NOT NULL REFERENCES admins(id),
    group_id TEXT NOT NULL REFERENCES printer_groups(id),
    PRIMARY KEY (admin_id, group_id)
);

CREATE TABLE print_point_rate_plans (
    print_point_id TEXT PRIMARY KEY REFERENCES print_points(id),
    duplex_pricing TEXT NOT NULL,
    minimum_fen    INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE print_point_rate_prices (
    print_point_id TEXT NOT NULL REFERENCES print_points(id),
    paper_size     TEXT NOT NULL,
    colour         TEXT NOT NULL,
    fen_per_side   INTEGER NOT NULL,
    PRIMARY KEY (print_point_id, paper_size, colour)
);

-- One-time enrolment tokens an admin gives a new gateway (stored hashed).
CREATE TABLE gateway_enrolments (
    token_hash    TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);

-- Commands for a gateway, delivered at least once in seq order until acknowledged.
CREATE TABLE gateway_commands (
    id         TEXT PRIMARY KEY,
    gateway_id TEXT NOT NULL REFERENCES gateways(id),
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    acked_at   INTEGER,
    UNIQUE (gateway_id, seq)
);

-- Wallets (个人账户): one per user and enterprise; every change is a ledger entry.
CREATE TABLE wallets (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    balance_fen   INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL,
    UNIQUE (user_id, enterprise_id)
);

CREATE TABLE wallet_ledger (
    id              TEXT PRIMARY KEY,
    wallet_id       TEXT NOT NULL REFERENCES wallets(id),
    kind            TEXT NOT NULL,
    amount_fen      INTEGER NOT NULL,
    balance_after   INTEGER NOT NULL,
    reference       TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL
);
CREATE INDEX wallet_ledger_wallet ON wallet_ledger(wallet_id, created_at);

-- Where and for how much a job was released, and what the printer did with it.
ALTER TABLE print_jobs ADD COLUMN print_point_id TEXT REFERENCES print_points(id);
ALTER TABLE print_jobs ADD COLUMN charged_fen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE print_jobs ADD COLUMN refunded_fen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE print_jobs ADD COLUMN pages_printed INTEGER;
ALTER TABLE print_jobs ADD COLUMN release_id TEXT;
CREATE INDEX print_jobs_release ON print_jobs(release_id);
