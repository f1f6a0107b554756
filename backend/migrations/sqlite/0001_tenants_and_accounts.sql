-- Organisation tree, people and sessions. Times are integer milliseconds since the epoch (UTC);
-- flags are integers 0/1 (sqlx Any decodes neither BOOLEAN nor timestamps the same on both).

CREATE TABLE providers (
    id          TEXT PRIMARY KEY,
    parent_id   TEXT REFERENCES providers(id),
    -- Materialised ancestry, '/<root id>/…/<own id>/': subtree checks are one LIKE.
    path        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE enterprises (
    id            TEXT PRIMARY KEY,
    provider_id   TEXT REFERENCES providers(id),
    -- The owning provider's path, or '/' for enterprises directly under the platform.
    owner_path    TEXT NOT NULL,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    contact_name  TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX enterprises_owner_path ON enterprises(owner_path);
CREATE INDEX enterprises_name ON enterprises(name);

CREATE TABLE regions (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    parent_id     TEXT REFERENCES regions(id),
    path          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX regions_enterprise ON regions(enterprise_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    username      TEXT,
    phone         TEXT,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (enterprise_id, username),
    UNIQUE (enterprise_id, phone)
);

CREATE TABLE wechat_apps (
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    kind          TEXT NOT NULL,
    app_id        TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    secret_mask   TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (enterprise_id, kind)
);

CREATE TABLE wechat_identities (
    app_id        TEXT NOT NULL,
    openid        TEXT NOT NULL,
    unionid       TEXT,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (app_id, openid)
);
CREATE INDEX wechat_identities_user ON wechat_identities(user_id);

CREATE TABLE admins (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    scope_kind           TEXT NOT NULL,
    scope_id             TEXT,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    status               TEXT NOT NULL,
    created_at           INTEGER NOT NULL
);

CREATE TABLE admin_regions (
    admin_id  TEXT NOT NULL REFERENCES admins(id),
    region_id TEXT NOT NULL REFERENCES regions(id),
    PRIMARY KEY (admin_id, region_id)
);

CREATE TABLE refresh_tokens (
    token_hash   TEXT PRIMARY KEY,
    family_id    TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id);
