-- Who gets paid (支付对象, the payee) and with which merchant accounts.

-- A payee's merchant account with one provider. The payee is the platform (owner_id ''),
-- a service provider or an enterprise. Secret fields (keys) are sealed together as JSON and
-- shown only masked; the rest is public configuration.
CREATE TABLE payment_accounts (
    owner_kind     TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    provider       TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    merchant_id    TEXT NOT NULL,
    public_config  TEXT NOT NULL,
    secrets_sealed BLOB NOT NULL,
    secrets_mask   TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, provider)
);

-- How an enterprise is paid: the payee, and where refunds of failed paid jobs go.
CREATE TABLE enterprise_payment_settings (
    enterprise_id TEXT PRIMARY KEY REFERENCES enterprises(id),
    payee         TEXT NOT NULL,
    refund_to     TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);
