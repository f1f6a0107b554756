-- Leasing and automatic billing (issue 17, sections 3 and 5).

-- A lease contract (租赁合同): a print point (a machine) leased to its enterprise for a period,
-- for a monthly fee with pages included (mono and colour apart) and overage prices per page.
-- The lessor is the provider that leases the machine (NULL: the platform). Times are Unix
-- epoch ms; `ends_at` is exclusive.
CREATE TABLE lease_contracts (
    id                  TEXT PRIMARY KEY,
    enterprise_id       TEXT NOT NULL REFERENCES enterprises(id),
    print_point_id      TEXT NOT NULL REFERENCES print_points(id),
    lessor_provider_id  TEXT REFERENCES providers(id),
    monthly_fee_fen     BIGINT NOT NULL CHECK (monthly_fee_fen >= 0),
    included_mono       BIGINT NOT NULL CHECK (included_mono >= 0),
    included_colour     BIGINT NOT NULL CHECK (included_colour >= 0),
    mono_overage_fen    BIGINT NOT NULL CHECK (mono_overage_fen >= 0),
    colour_overage_fen  BIGINT NOT NULL CHECK (colour_overage_fen >= 0),
    starts_at           BIGINT NOT NULL,
    ends_at             BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX lease_contracts_enterprise ON lease_contracts(enterprise_id);
CREATE INDEX lease_contracts_time ON lease_contracts(starts_at, ends_at);

-- A bill: a lease bill per contract and period (`YYYY-MM`, China time), or a credit note
-- correcting an issued bill (never an edit of it). draft → issued → paid | void.
CREATE TABLE bills (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('lease', 'credit_note')),
    contract_id         TEXT REFERENCES lease_contracts(id),
    period              TEXT NOT NULL,
    -- Who pays and who is paid (the payee's provider; NULL: the platform).
    enterprise_id       TEXT NOT NULL REFERENCES enterprises(id),
    payee_provider_id   TEXT REFERENCES providers(id),
    state               TEXT NOT NULL CHECK (state IN ('draft', 'issued', 'paid', 'void')),
    total_fen           BIGINT NOT NULL,
    -- How the usage was found: 'interpolated', 'incomplete', both, or ''.
    usage_note          TEXT NOT NULL DEFAULT '',
    -- For a credit note: the bill it corrects, and why.
    credit_of           TEXT REFERENCES bills(id),
    reason              TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    issued_at           BIGINT,
    paid_at             BIGINT,
    paid_by             TEXT,
    voided_at           BIGINT
);
-- Exactly one lease bill per contract and period, however many runs and instances.
CREATE UNIQUE INDEX bills_one_per_period ON bills(contract_id, period) WHERE kind = 'lease';
CREATE INDEX bills_enterprise ON bills(enterprise_id, period);

-- A bill's lines; the total is their sum. A usage line names the readings it was read from.
CREATE TABLE bill_lines (
    bill_id             TEXT NOT NULL REFERENCES bills(id),
    line_no             BIGINT NOT NULL,
    kind                TEXT NOT NULL,
    description         TEXT NOT NULL,
    quantity            BIGINT NOT NULL,
    unit_fen            BIGINT NOT NULL,
    amount_fen          BIGINT NOT NULL,
    first_reading_id    TEXT,
    last_reading_id     TEXT,
    PRIMARY KEY (bill_id, line_no)
);
