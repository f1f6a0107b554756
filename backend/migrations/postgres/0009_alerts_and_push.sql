-- Cloud O&M alerts and push (issue 13): alerts raised from device readings, each admin's
-- alert levels, push subscriptions of admins' and users' devices, and the delivery log.

-- One alert: a condition of one print point, from raised to resolved. At most one alert per
-- (print point, type, subject) is open (raised or acknowledged) at a time: a condition seen
-- again while open updates it, and one that comes back soon after it resolved reopens it.
CREATE TABLE alerts (
    id                TEXT PRIMARY KEY,
    print_point_id    TEXT NOT NULL REFERENCES print_points(id) ON DELETE CASCADE,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    alert_type        TEXT NOT NULL,
    -- What the condition is about beyond its type ('' for the device as a whole).
    subject           TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    -- What the device said, for people (supply levels, the alert table's description).
    detail            TEXT NOT NULL DEFAULT '',
    -- Times are the readings' own (read_at), so buffered readings date alerts right.
    raised_at         BIGINT NOT NULL,
    last_seen_at      BIGINT NOT NULL,
    acknowledged_at   BIGINT,
    acknowledged_by   TEXT,
    resolved_at       BIGINT,
    -- Answered readings in a row without the condition; it resolves at the clearing bound.
    absent_streak     INTEGER NOT NULL DEFAULT 0 CHECK (absent_streak >= 0),
    -- How often it came back after resolving (a flapping condition is one alert).
    occurrences       INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    updated_at        BIGINT NOT NULL
);
CREATE INDEX alerts_point_state ON alerts (print_point_id, state);
CREATE INDEX alerts_enterprise_time ON alerts (enterprise_id, raised_at);

-- An admin's level (1, 2 or 3) for an alert type; types without a row have their default.
CREATE TABLE alert_levels (
    admin_id          TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    alert_type        TEXT NOT NULL,
    level             INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (admin_id, alert_type)
);

-- A device that receives pushes: a Web Push subscription of a browser's service worker,
-- owned by an admin or a user. The endpoint is the push service's capability URL.
CREATE TABLE push_subscriptions (
    id                TEXT PRIMARY KEY,
    owner_kind        TEXT NOT NULL CHECK (owner_kind IN ('admin', 'user')),
    owner_id          TEXT NOT NULL,
    endpoint          TEXT NOT NULL UNIQUE,
    p256dh            TEXT NOT NULL,
    auth              TEXT NOT NULL,
    device_name       TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    last_delivered_at BIGINT
);
CREATE INDEX push_subscriptions_owner ON push_subscriptions (owner_kind, owner_id);

-- The delivery log: one message to one destination (a subscription, or a WeChat openid),
-- retried with backoff until delivered, refused or out of attempts. The key makes an event
-- queued twice (a reading batch applied again) one delivery.
CREATE TABLE push_deliveries (
    id                TEXT PRIMARY KEY,
    idempotency_key   TEXT NOT NULL UNIQUE,
    channel           TEXT NOT NULL CHECK (channel IN ('web_push', 'wechat')),
    subscription_id   TEXT,
    -- The WeChat destination: the official account's app id and the openid.
    wechat_app_id     TEXT,
    wechat_openid     TEXT,
    owner_kind        TEXT NOT NULL CHECK (owner_kind IN ('admin', 'user')),
    owner_id          TEXT NOT NULL,
    -- What it is about: an alert or a job.
    topic_kind        TEXT NOT NULL CHECK (topic_kind IN ('alert', 'job')),
    topic_id          TEXT NOT NULL,
    payload           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   BIGINT NOT NULL,
    -- A worker's claim while it sends (so two instances never send one delivery twice).
    lease_until       BIGINT NOT NULL DEFAULT 0,
    last_result       TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    delivered_at      BIGINT
);
CREATE INDEX push_deliveries_due ON push_deliveries (state, next_attempt_at);
CREATE INDEX push_deliveries_topic ON push_deliveries (topic_kind, topic_id);

-- Keys the platform makes for itself once (the VAPID signing key), sealed like every secret.
CREATE TABLE platform_keys (
    name              TEXT PRIMARY KEY,
    sealed            BYTEA NOT NULL,
    created_at        BIGINT NOT NULL
);

-- The official account's template (模板消息) for telling users how their jobs ended; '' sends
-- none. Users who signed in through the account and follow it get it beside Web Push.
ALTER TABLE wechat_apps ADD COLUMN job_template_id TEXT NOT NULL DEFAULT '';
