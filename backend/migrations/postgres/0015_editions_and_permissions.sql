-- Editions gate modules; lower admins hold permissions (issue 17, sections 1 and 2).

-- An edition (版本): a named set of modules and limits, defined by the platform. `modules` is
-- a comma-separated list of module names; a NULL limit is no limit.
CREATE TABLE editions (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    modules          TEXT NOT NULL,
    max_print_points BIGINT,
    max_users        BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- The edition an enterprise runs on, assigned by its provider (or the platform). NULL: none
-- assigned, every module (a self-hosted deployment needs no editions).
ALTER TABLE enterprises ADD COLUMN edition_id TEXT REFERENCES editions(id);
-- A provider's own edition, assigned by the level above: it may offer its enterprises only
-- editions within it. NULL: not limited.
ALTER TABLE providers ADD COLUMN edition_id TEXT REFERENCES editions(id);

-- What a region or ordinary admin may do, a comma-separated list of permission names; super
-- admins hold every permission whatever this says. Lower admins made before permissions
-- existed keep what they could do: everything but managing admins.
ALTER TABLE admins ADD COLUMN permissions TEXT NOT NULL DEFAULT '';
UPDATE admins SET permissions = 'alerts,gateways,jobs,payments,print_points,rates,reports,users_wallets'
    WHERE role <> 'super';
