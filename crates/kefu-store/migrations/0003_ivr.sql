-- IVR flows. Same rules as 0001: this file runs unchanged on SQLite and PostgreSQL; ids are
-- UUID text, times epoch ms (BIGINT), JSON is TEXT.

-- one row per flow: the definition as JSON (kefu_core::ivr::Flow), the dialled numbers that
-- start it, and a version that counts its saves
CREATE TABLE ivr_flows (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,              -- zh-CN | en (the flow's own language)
    definition  TEXT NOT NULL,              -- JSON: the flow
    numbers     TEXT NOT NULL DEFAULT '[]', -- JSON list of dialled numbers (DIDs) that start it
    version     INTEGER NOT NULL,           -- 1 when created, +1 on every save
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT ivr_flows_name_uq UNIQUE (name)
);

-- the same numbers, one row each, so that a number starts at most one flow (the database
-- refuses a second) and a call finds its flow by index; kept in step with ivr_flows.numbers
CREATE TABLE ivr_flow_numbers (
    number   TEXT PRIMARY KEY,
    flow_id  TEXT NOT NULL REFERENCES ivr_flows (id) ON DELETE CASCADE
);
CREATE INDEX ivr_flow_numbers_flow_idx ON ivr_flow_numbers (flow_id);
