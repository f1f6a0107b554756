-- Bills paid online (issue 17, section 5): a payment order may pay a bill, started by one of
-- the paying enterprise's admins, to the bill's payee's merchant account. Such an order has no
-- user (no wallet is involved): it names the bill and the admin instead.
--
-- SQLite cannot relax a NOT NULL or change a CHECK, so the table is built again (as in 0007;
-- payment_refunds' foreign key is checked at commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE payment_orders_v2 (
    id                TEXT PRIMARY KEY,
    out_trade_no      TEXT NOT NULL UNIQUE,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    user_id           TEXT REFERENCES users(id),
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
    bill_id           TEXT REFERENCES bills(id),
    admin_id          TEXT REFERENCES admins(id),
    CONSTRAINT payment_orders_state CHECK (state IN ('pending', 'paid', 'closed')),
    CONSTRAINT payment_orders_vocabulary CHECK (
        purpose IN ('top_up', 'release', 'bill')
        AND provider IN ('wechat_pay', 'alipay')
        AND method IN ('jsapi', 'native', 'h5', 'app', 'page', 'wap', 'precreate')
        AND payee_kind IN ('platform', 'provider', 'enterprise')
        AND (release_outcome IS NULL OR release_outcome IN ('released', 'held'))),
    CONSTRAINT payment_orders_amount CHECK (amount_fen > 0),
    CONSTRAINT payment_orders_payer CHECK (
        (purpose = 'bill' AND user_id IS NULL AND bill_id IS NOT NULL AND admin_id IS NOT NULL)
        OR (purpose <> 'bill' AND user_id IS NOT NULL AND bill_id IS NULL))
);
INSERT INTO payment_orders_v2 (id, out_trade_no, enterprise_id, user_id, purpose, provider, method, payee_kind,
    payee_id, app_id, merchant_id, amount_fen, state, provider_trade_no, payer, settled_by, release_id,
    print_point_id, job_ids, release_outcome, created_at, expires_at, settled_at, next_check_at, check_attempts)
SELECT id, out_trade_no, enterprise_id, user_id, purpose, provider, method, payee_kind, payee_id, app_id,
    merchant_id, amount_fen, state, provider_trade_no, payer, settled_by, release_id, print_point_id, job_ids,
    release_outcome, created_at, expires_at, settled_at, next_check_at, check_attempts
FROM payment_orders;
DROP TABLE payment_orders;
ALTER TABLE payment_orders_v2 RENAME TO payment_orders;
CREATE INDEX payment_orders_pending ON payment_orders(state, next_check_at);
CREATE INDEX payment_orders_user ON payment_orders(user_id, created_at);
CREATE INDEX payment_orders_bill ON payment_orders(bill_id);
