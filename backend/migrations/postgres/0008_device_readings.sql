-- Cloud O&M (issue 13): how the gateway reaches each print point's SNMP agent, the meter
-- readings it takes on schedule, and each device's latest state (status, supplies, alerts).

-- SNMP settings of a print point. Communities and v3 keys are sealed (SecretBox) with a mask
-- kept beside them for display; they are opened only to hand them to the gateway.
CREATE TABLE print_point_snmp (
    print_point_id        TEXT PRIMARY KEY REFERENCES print_points(id) ON DELETE CASCADE,
    -- '' means the host of the print point's device URI.
    host                  TEXT NOT NULL DEFAULT '',
    port                  INTEGER NOT NULL DEFAULT 161 CHECK (port BETWEEN 1 AND 65535),
    version               TEXT NOT NULL DEFAULT 'v2c' CHECK (version IN ('v1', 'v2c', 'v3')),
    community_sealed      BYTEA,
    community_mask        TEXT NOT NULL DEFAULT '',
    v3_user               TEXT NOT NULL DEFAULT '',
    v3_auth_protocol      TEXT NOT NULL DEFAULT '',
    v3_auth_key_sealed    BYTEA,
    v3_priv_protocol      TEXT NOT NULL DEFAULT '',
    v3_priv_key_sealed    BYTEA,
    updated_at            BIGINT NOT NULL
);

-- One meter reading (抄表) of one device. The counters are what the device said; the usage
-- columns are what was used since the previous reading of the same counter, worked out when
-- the reading arrives (across a Counter32 wrap), or NULL where it cannot be known (the first
-- reading, a device restart that reset the counter).
CREATE TABLE meter_readings (
    id                    TEXT PRIMARY KEY,
    print_point_id        TEXT NOT NULL REFERENCES print_points(id) ON DELETE CASCADE,
    gateway_id            TEXT NOT NULL,
    read_at               BIGINT NOT NULL,
    received_at           BIGINT NOT NULL,
    -- sysUpTime at the reading: a smaller one than before means the device restarted.
    uptime_centis         BIGINT,
    total_count           BIGINT,
    mono_count            BIGINT,
    colour_count          BIGINT,
    print_count           BIGINT,
    copy_count            BIGINT,
    scan_count            BIGINT,
    fax_count             BIGINT,
    total_used            BIGINT CHECK (total_used >= 0),
    mono_used             BIGINT CHECK (mono_used >= 0),
    colour_used           BIGINT CHECK (colour_used >= 0),
    -- 1 when a counter went down without a wrap (the device reset it): no usage for it.
    counter_reset         INTEGER NOT NULL DEFAULT 0 CHECK (counter_reset IN (0, 1)),
    -- A batch sent twice (a lost confirmation) is stored once.
    UNIQUE (print_point_id, read_at)
);
CREATE INDEX meter_readings_point_time ON meter_readings (print_point_id, read_at);

-- The newest state each device reported: whether it answered, its status and error bits,
-- supplies and its own alert table (JSON arrays in the gateway link's shapes).
CREATE TABLE device_states (
    print_point_id        TEXT PRIMARY KEY REFERENCES print_points(id) ON DELETE CASCADE,
    read_at               BIGINT NOT NULL,
    answered              INTEGER NOT NULL CHECK (answered IN (0, 1)),
    printer_status        TEXT,
    device_status         TEXT,
    -- Comma-separated RFC 3805 names of the set hrPrinterDetectedErrorState bits.
    errors                TEXT NOT NULL DEFAULT '',
    supplies              TEXT NOT NULL DEFAULT '[]',
    alerts                TEXT NOT NULL DEFAULT '[]',
    uptime_centis         BIGINT
);
