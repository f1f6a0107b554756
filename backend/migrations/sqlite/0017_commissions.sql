-- Commissions up the agent tree (各级代理; issue 17, section 4) and bills any node pays.
--
-- A commission rule is set by a level (the platform or a provider) for one node directly
-- below it (a provider or an enterprise): the share, in basis points, of one kind of takings
-- in that node's subtree that the node owes the level, from a billing period on. A period's
-- commission bill for a node is paid by the node to the level that set its rules.
CREATE TABLE commission_rules (
    id                  TEXT PRIMARY KEY,
    subject_kind        TEXT NOT NULL CHECK (subject_kind IN ('provider', 'enterprise')),
    subject_id          TEXT NOT NULL,
    -- The level that set it and is owed (NULL: the platform).
    payee_provider_id   TEXT REFERENCES providers(id),
    takings_kind        TEXT NOT NULL CHECK (takings_kind IN ('pay_per_use', 'top_up', 'lease_fee')),
    rate_bp             BIGINT NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    -- The first billing period (`YYYY-MM`) it applies to; the latest one not after a period wins.
    effective_from      TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    UNIQUE (subject_id, takings_kind, effective_from)
);

-- A bill's payer is an enterprise or (a commission bill) a provider; usage flags instead of a
-- text note; an idempotency key on every bill: `lease:<contract>:<period>`,
-- `commission:<payer>:<period>`, `credit:<id>`. SQLite cannot change a column's constraints,
-- so the table is built again (as in 0007; foreign keys checked at commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE bills_v2 (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('lease', 'credit_note', 'commission', 'edition_fee')),
    contract_id         TEXT REFERENCES lease_contracts(id),
    period              TEXT NOT NULL,
    -- Who pays (an enterprise, or a provider) and who is paid (NULL: the platform).
    enterprise_id       TEXT REFERENCES enterprises(id),
    payer_provider_id   TEXT REFERENCES providers(id),
    payee_provider_id   TEXT REFERENCES providers(id),
    state               TEXT NOT NULL CHECK (state IN ('draft', 'issued', 'paid', 'void')),
    total_fen           BIGINT NOT NULL,
    interpolated        BIGINT NOT NULL DEFAULT 0 CHECK (interpolated IN (0, 1)),
    incomplete          BIGINT NOT NULL DEFAULT 0 CHECK (incomplete IN (0, 1)),
    credit_of           TEXT REFERENCES bills(id),
    reason              TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    issued_at           BIGINT,
    paid_at             BIGINT,
    paid_by             TEXT,
    voided_at           BIGINT,
    idempotency_key     TEXT NOT NULL,
    CHECK ((enterprise_id IS NULL) <> (payer_provider_id IS NULL))
);
INSERT INTO bills_v2 (id, kind, contract_id, period, enterprise_id, payer_provider_id, payee_provider_id, state,
                      total_fen, interpolated, incomplete, credit_of, reason, created_at, issued_at, paid_at,
                      paid_by, voided_at, idempotency_key)
SELECT id, kind, contract_id, period, enterprise_id, NULL, payee_provider_id, state, total_fen,
       CASE WHEN usage_note LIKE '%interpolated%' THEN 1 ELSE 0 END,
       CASE WHEN usage_note LIKE '%incomplete%' THEN 1 ELSE 0 END,
       credit_of, reason, created_at, issued_at, paid_at, paid_by, voided_at,
       CASE WHEN kind = 'lease' THEN 'lease:' || contract_id || ':' || period ELSE 'credit:' || id END
FROM bills;
DROP TABLE bills;
ALTER TABLE bills_v2 RENAME TO bills;
CREATE UNIQUE INDEX bills_one_per_period ON bills(contract_id, period) WHERE kind = 'lease';
CREATE UNIQUE INDEX bills_idempotency_key ON bills(idempotency_key);
CREATE INDEX bills_enterprise ON bills(enterprise_id, period);
CREATE INDEX bills_payer_provider ON bills(payer_provider_id, period);
CREATE INDEX bills_payee ON bills(payee_provider_id, period);

-- A commission line says what it was taken from: the takings and the rate.
ALTER TABLE bill_lines ADD COLUMN basis_fen BIGINT;
ALTER TABLE bill_lines ADD COLUMN rate_bp BIGINT;
