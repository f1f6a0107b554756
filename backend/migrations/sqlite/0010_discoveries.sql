-- Printer discovery (issue 13 §1, FAQ Q6, Q12-Q14): an admin asks a gateway to look for
-- printers by address, by range or through its host's print queues; the gateway reports what
-- answered. The command itself travels through gateway_commands like a print command.

CREATE TABLE discoveries (
    id                TEXT PRIMARY KEY,
    gateway_id        TEXT NOT NULL REFERENCES gateways(id),
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    -- The gateway_commands row that carries it (acknowledged when the report is applied).
    command_id        TEXT NOT NULL,
    method            TEXT NOT NULL CHECK (method IN ('host', 'range', 'local_queues')),
    -- The host or range; '' for local queues.
    target            TEXT NOT NULL DEFAULT '',
    snmp_port         INTEGER NOT NULL DEFAULT 161 CHECK (snmp_port BETWEEN 1 AND 65535),
    snmp_version      TEXT NOT NULL DEFAULT 'v2c' CHECK (snmp_version IN ('v1', 'v2c')),
    -- The community when one was given, sealed (SecretBox); filled into the command only
    -- when it is sent, so the outbox never holds it.
    community_sealed  BLOB,
    ipp_port          INTEGER NOT NULL DEFAULT 631 CHECK (ipp_port BETWEEN 1 AND 65535),
    -- 'running' until the report; "timed out" is worked out when read.
    state             TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished', 'failed')),
    error             TEXT,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    finished_at       INTEGER
);
CREATE INDEX discoveries_gateway ON discoveries (gateway_id, created_at);

-- What a discovery found, in the gateway's order.
CREATE TABLE discovered_devices (
    discovery_id      TEXT NOT NULL REFERENCES discoveries(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL CHECK (position >= 0),
    host              TEXT NOT NULL DEFAULT '',
    make_model        TEXT,
    serial_number     TEXT,
    -- The MAC as read, whatever it is (00:00:00:00:00:00 included); NULL when none was read.
    mac_read          TEXT,
    snmp_answered     INTEGER NOT NULL CHECK (snmp_answered IN (0, 1)),
    ipp_answered      INTEGER NOT NULL CHECK (ipp_answered IN (0, 1)),
    ipp_make_model    TEXT,
    ipp_uri           TEXT,
    queue_name        TEXT,
    queue_device_uri  TEXT,
    queue_state       TEXT,
    PRIMARY KEY (discovery_id, position)
);
