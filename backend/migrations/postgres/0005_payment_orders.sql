-- Payment orders (WeChat Pay / Alipay): a top-up of the wallet, or a release paid directly.
-- An order moves pending → paid | closed once, by one conditional UPDATE, whichever of the
-- provider's notification or our reconciliation query gets there first.
CREATE TABLE payment_orders (
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
    amount_fen        BIGINT NOT NULL,
    state             TEXT NOT NULL,
    provider_trade_no TEXT,
    payer             TEXT,
    settled_by        TEXT,
    release_id        TEXT,
    print_point_id    TEXT,
    job_ids           TEXT NOT NULL DEFAULT '',
    release_outcome   TEXT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    settled_at        BIGINT,
    next_check_at     BIGINT NOT NULL,
    check_attempts    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX payment_orders_pending ON payment_orders(state, next_check_at);
CREATE INDEX payment_orders_user ON payment_orders(user_id, created_at);

-- Every notification accepted, once: a repeat is recognised by the provider's id.
CREATE TABLE payment_notifications (
    provider        TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    out_trade_no    TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (provider, notification_id)
);

-- Refunds through the original channel; each issued once (out_refund_no is the key the
-- provider deduplicates on too).
CREATE TABLE payment_refunds (
    id            TEXT PRIMARY KEY,
    out_refund_no TEXT NOT NULL UNIQUE,
    order_id      TEXT NOT NULL REFERENCES payment_orders(id),
    job_id        TEXT,
    amount_fen    BIGINT NOT NULL,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    settled_at    BIGINT,
    next_check_at BIGINT NOT NULL,
    check_attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX payment_refunds_pending ON payment_refunds(state, next_check_at);
