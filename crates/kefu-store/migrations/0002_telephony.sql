-- Telephony: SIP digest credentials, trunks and call recordings. Same rules as 0001: this
-- file runs unchanged on SQLite and PostgreSQL; ids are UUID text, times epoch ms (BIGINT),
-- JSON is TEXT, booleans are BIGINT 0/1.

-- SIP digest secrets, one row per user with an extension. The digest username is the user's
-- extension; only HA1 = H(extension ":" realm ":" password) is stored, never the password.
CREATE TABLE sip_credentials (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    realm       TEXT NOT NULL,
    ha1_md5     TEXT NOT NULL,
    ha1_sha256  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- SIP trunks to carriers and PBXs
CREATE TABLE trunks (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    host            TEXT NOT NULL,
    port            BIGINT NOT NULL,
    transport       TEXT NOT NULL,          -- udp | tcp
    auth_username   TEXT,
    auth_password   TEXT,                   -- write-only over the API, never logged
    allow_from      TEXT NOT NULL,          -- JSON list of IPs or CIDRs that may send us calls
    inbound_routes  TEXT NOT NULL,          -- JSON object: dialled number (or "*") -> target
    caller_id       TEXT,                   -- caller id presented on outbound calls
    enabled         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT trunks_name_uq UNIQUE (name)
);

-- call recordings: the WAV file's place and the call it belongs to
CREATE TABLE recordings (
    id               TEXT PRIMARY KEY,
    call_id          TEXT NOT NULL,
    agent_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    agent_extension  TEXT,
    caller           TEXT NOT NULL,
    callee           TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    path             TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX recordings_started_idx ON recordings (started_at, id);
CREATE INDEX recordings_agent_idx ON recordings (agent_id, started_at, id);
CREATE INDEX recordings_caller_idx ON recordings (caller, started_at, id);
CREATE INDEX recordings_callee_idx ON recordings (callee, started_at, id);
CREATE INDEX recordings_call_idx ON recordings (call_id);
