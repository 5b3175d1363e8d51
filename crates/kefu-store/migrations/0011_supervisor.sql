-- The supervisor's floor: the harassment blocklist (agents' proposals and the numbers blocked),
-- shift handover notes, and the wallboard's alert thresholds. Same rules as 0001: this file
-- runs unchanged on SQLite and PostgreSQL; ids are UUID text, times epoch ms (BIGINT), JSON is
-- TEXT.

-- a number on (or proposed for) the harassment blocklist. The number is personal data: stored
-- only encrypted (`phone_enc`) with a blind index (`phone_idx`) for the check on every call,
-- like customers' numbers (0005). Rows are never deleted: a rejected proposal or a removed
-- number keeps who decided and when.
CREATE TABLE blocklist (
    id           TEXT PRIMARY KEY,
    phone_idx    TEXT NOT NULL,
    phone_enc    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'removed')),
    reason       TEXT NOT NULL DEFAULT '',
    call_id      TEXT,                      -- the call marked as harassment, for proposals
    proposed_by  TEXT REFERENCES users (id),
    proposed_at  BIGINT NOT NULL,
    decided_by   TEXT REFERENCES users (id),  -- who approved, rejected or added it
    decided_at   BIGINT,
    decision_note TEXT NOT NULL DEFAULT '',
    expires_at   BIGINT,                    -- an active entry stops blocking at this time
    removed_by   TEXT REFERENCES users (id),
    removed_at   BIGINT,
    updated_at   BIGINT NOT NULL
);
-- one open entry (pending or active) per number
CREATE UNIQUE INDEX blocklist_open_phone_uq ON blocklist (phone_idx) WHERE status IN ('pending', 'active');
-- the check on every inbound call (`phone_idx = ? AND status = 'active'`): SQLite does not use
-- the partial index above for it
CREATE INDEX blocklist_phone_idx ON blocklist (phone_idx, status);
CREATE INDEX blocklist_status_idx ON blocklist (status, proposed_at, id);

-- shift handover notes (交接班): append-only, newest first
CREATE TABLE handover_notes (
    id           TEXT PRIMARY KEY,
    author_id    TEXT NOT NULL REFERENCES users (id),
    author_name  TEXT NOT NULL,             -- the display name when written
    shift        TEXT NOT NULL,
    body         TEXT NOT NULL,
    open_items   TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
    created_at   BIGINT NOT NULL
);
CREATE INDEX handover_notes_created_idx ON handover_notes (created_at, id);

-- the wallboard's settings as JSON values by key (`thresholds`: amber/red per metric)
CREATE TABLE wallboard_settings (
    key          TEXT PRIMARY KEY,
    value        TEXT NOT NULL,
    updated_by   TEXT REFERENCES users (id),
    updated_at   BIGINT NOT NULL
);
