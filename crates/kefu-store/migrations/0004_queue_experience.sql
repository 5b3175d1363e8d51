-- What a caller meets around a queue: overflow rules on the queue itself, voicemails left,
-- callbacks asked for, and post-call survey answers. Same rules as 0001: this file runs
-- unchanged on SQLite and PostgreSQL; ids are UUID text, times epoch ms (BIGINT), JSON is TEXT.

-- the queue's overflow rules, in order: JSON list of kefu_core::acd::OverflowStep
ALTER TABLE queues ADD COLUMN overflow TEXT NOT NULL DEFAULT '[]';

-- voicemails: the WAV file's place and the call that left it; heard once an agent listened
-- and marked it (the user who did stays referenced: such a user is disabled, not deleted)
CREATE TABLE voicemails (
    id           TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL,
    caller       TEXT NOT NULL,
    dialled      TEXT NOT NULL,
    flow         TEXT NOT NULL DEFAULT '',   -- IVR flow name, '' when none
    queue_id     TEXT REFERENCES queues (id) ON DELETE SET NULL,
    path         TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    heard_by     TEXT REFERENCES users (id),
    heard_at     BIGINT
);
CREATE INDEX voicemails_created_idx ON voicemails (created_at, id);
CREATE INDEX voicemails_queue_idx ON voicemails (queue_id);

-- callers who asked to be called back; agents work the open ones oldest first
CREATE TABLE callback_requests (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    number      TEXT NOT NULL,              -- the number to call back
    caller      TEXT NOT NULL,              -- the number the call came from
    queue_id    TEXT REFERENCES queues (id) ON DELETE SET NULL,
    flow        TEXT NOT NULL DEFAULT '',   -- IVR flow name, '' when none
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_at  BIGINT NOT NULL,
    handled_by  TEXT REFERENCES users (id),
    handled_at  BIGINT,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX callback_requests_status_idx ON callback_requests (status, created_at, id);

-- post-call survey: one score 1..5 per question per call
CREATE TABLE survey_answers (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    agent_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    question    TEXT NOT NULL,
    score       BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    created_at  BIGINT NOT NULL,
    CONSTRAINT survey_answers_call_question_uq UNIQUE (call_id, question)
);
CREATE INDEX survey_answers_agent_idx ON survey_answers (agent_id, created_at);
