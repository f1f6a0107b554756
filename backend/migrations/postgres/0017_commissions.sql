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

-- A bill's payer is an enterprise or (a commission bill) a provider.
ALTER TABLE bills ALTER COLUMN enterprise_id DROP NOT NULL;
ALTER TABLE bills ADD COLUMN payer_provider_id TEXT REFERENCES providers(id);
ALTER TABLE bills DROP CONSTRAINT bills_kind_check;
ALTER TABLE bills ADD CONSTRAINT bills_kind_check CHECK (kind IN ('lease', 'credit_note', 'commission', 'edition_fee'));
ALTER TABLE bills ADD CONSTRAINT bills_one_payer CHECK ((enterprise_id IS NULL) <> (payer_provider_id IS NULL));
-- How the usage was found, as flags (was a text note).
ALTER TABLE bills ADD COLUMN interpolated BIGINT NOT NULL DEFAULT 0 CHECK (interpolated IN (0, 1));
ALTER TABLE bills ADD COLUMN incomplete BIGINT NOT NULL DEFAULT 0 CHECK (incomplete IN (0, 1));
UPDATE bills SET interpolated = CASE WHEN usage_note LIKE '%interpolated%' THEN 1 ELSE 0 END,
                 incomplete = CASE WHEN usage_note LIKE '%incomplete%' THEN 1 ELSE 0 END;
ALTER TABLE bills DROP COLUMN usage_note;
-- Every bill is a ledger entry with an idempotency key: `lease:<contract>:<period>`,
-- `commission:<payer>:<period>`, `credit:<id>`. A run repeated anywhere writes nothing twice.
ALTER TABLE bills ADD COLUMN idempotency_key TEXT;
UPDATE bills SET idempotency_key = CASE WHEN kind = 'lease' THEN 'lease:' || contract_id || ':' || period
                                        ELSE 'credit:' || id END;
ALTER TABLE bills ALTER COLUMN idempotency_key SET NOT NULL;
CREATE UNIQUE INDEX bills_idempotency_key ON bills(idempotency_key);
CREATE INDEX bills_payer_provider ON bills(payer_provider_id, period);
CREATE INDEX bills_payee ON bills(payee_provider_id, period);

-- A commission line says what it was taken from: the takings and the rate.
ALTER TABLE bill_lines ADD COLUMN basis_fen BIGINT;
ALTER TABLE bill_lines ADD COLUMN rate_bp BIGINT;
