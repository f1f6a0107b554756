-- Scan to cloud (扫描记录, issue 16).

-- The print point's scan account on its gateway's FTP server (the MFP's scan-to-FTP
-- destination logs in with it): made when first asked for, changed by an admin. NULL: none yet.
ALTER TABLE print_points ADD COLUMN scan_password TEXT;

-- How long a user's scan records are kept, and how long a scan nobody's session claimed is
-- kept for the print point's admins.
ALTER TABLE enterprises ADD COLUMN scan_retention_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE enterprises ADD COLUMN unclaimed_scan_hours INTEGER NOT NULL DEFAULT 24;

-- The scan rate: fen per scanned page (0: scanning is free).
ALTER TABLE rate_plans ADD COLUMN scan_fen_per_page INTEGER NOT NULL DEFAULT 0;
ALTER TABLE print_point_rate_plans ADD COLUMN scan_fen_per_page INTEGER NOT NULL DEFAULT 0;

-- A user's scan session at a print point: scans that reach the gateway while it is open are
-- that user's. One open session per print point at a time.
CREATE TABLE scan_sessions (
    id             TEXT PRIMARY KEY,
    enterprise_id  TEXT NOT NULL REFERENCES enterprises(id),
    print_point_id TEXT NOT NULL REFERENCES print_points(id),
    user_id        TEXT NOT NULL REFERENCES users(id),
    opened_at      INTEGER NOT NULL,
    -- Moves later with every scan that arrives; the session is open until then.
    expires_at     INTEGER NOT NULL,
    -- Set when the user ends it early.
    closed_at      INTEGER
);
CREATE INDEX scan_sessions_point ON scan_sessions(print_point_id, expires_at);

-- Scan records. A scan with no user is unclaimed: its print point's admins see it until it
-- expires.
CREATE TABLE scans (
    id              TEXT PRIMARY KEY,
    enterprise_id   TEXT NOT NULL REFERENCES enterprises(id),
    print_point_id  TEXT NOT NULL REFERENCES print_points(id),
    gateway_id      TEXT NOT NULL,
    -- The gateway's id for the file: a retried upload is the same scan.
    gateway_scan_id TEXT NOT NULL,
    user_id         TEXT REFERENCES users(id),
    session_id      TEXT,
    name            TEXT NOT NULL,
    -- pdf, jpeg, png or tiff.
    format          TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    pages           INTEGER NOT NULL,
    -- What it costs at the scan rate, and whether that is paid ('free', 'paid', 'unpaid').
    price_fen       INTEGER NOT NULL,
    charge          TEXT NOT NULL,
    -- When the file reached the gateway (which decides the session), and the server.
    scanned_at      INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    share_token     TEXT UNIQUE,
    share_expires_at INTEGER,
    UNIQUE (gateway_id, gateway_scan_id)
);
CREATE INDEX scans_user ON scans(user_id, received_at);
CREATE INDEX scans_point ON scans(print_point_id, received_at);
CREATE INDEX scans_expiry ON scans(expires_at);
