-- The SLA worker, callbacks and surveys: timers as rows with a due time (each fires at most
-- once), the facts they produced, the center's service configuration, follow-up callbacks
-- with their attempts, and the satisfaction survey of a work order. Same rules as 0001: this
-- file runs unchanged on SQLite and PostgreSQL; ids are UUID text, times epoch ms (BIGINT),
-- JSON is TEXT.

-- one row per timer a work order should have: an SLA warning or breach (kind = a
-- kefu_core::service::sla::TimerKind name) or an escalation rule (kind 'escalation', rule = its
-- name). A timer is identified by the clock it measures (clock_start): while unfired its due
-- time may move (pauses), once fired (fired_at set) the same key is never inserted again, so a
-- timer fires at most once however often the order changes or the server restarts.
CREATE TABLE sla_timers (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    rule         TEXT NOT NULL DEFAULT '',
    clock_start  BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    fired_at     BIGINT,
    created_at   BIGINT NOT NULL,
    CONSTRAINT sla_timers_key_uq UNIQUE (ticket_id, kind, rule, clock_start)
);
-- the worker's question: which unfired timers are due, earliest first
CREATE INDEX sla_timers_due_idx ON sla_timers (due_at, id) WHERE fired_at IS NULL;

-- warnings, breaches and escalations as facts (one per fired timer), counted for reports
CREATE TABLE sla_events (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,              -- first_response_warning … resolution_breach | escalation
    rule        TEXT NOT NULL DEFAULT '',
    due_at      BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX sla_events_at_idx ON sla_events (at, id);
CREATE INDEX sla_events_kind_idx ON sla_events (kind, at, id);
CREATE INDEX sla_events_ticket_idx ON sla_events (ticket_id, at);

-- the center's service configuration, one JSON value per key: `calendar` (BusinessCalendar),
-- `escalation_rules` (list of EscalationRule), `warn_percent` (number). A missing key means
-- the built-in default.
CREATE TABLE service_config (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT REFERENCES users (id)
);

-- callbacks (回访) after resolution: up to three attempts
CREATE TABLE followups (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,             -- open | done | failed | cancelled
    attempts     BIGINT NOT NULL DEFAULT 0,
    due_at       BIGINT NOT NULL,
    assigned_to  TEXT REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX followups_status_due_idx ON followups (status, due_at, id);
CREATE INDEX followups_due_idx ON followups (due_at, id);
CREATE INDEX followups_ticket_idx ON followups (ticket_id, created_at);
-- at most one open callback per work order
CREATE UNIQUE INDEX followups_open_uq ON followups (ticket_id) WHERE status = 'open';

CREATE TABLE followup_attempts (
    id            TEXT PRIMARY KEY,
    followup_id   TEXT NOT NULL REFERENCES followups (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    attempted_by  TEXT NOT NULL REFERENCES users (id),
    outcome       TEXT NOT NULL,            -- answered | no_answer | busy | unreachable | wrong_number | refused
    note          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX followup_attempts_followup_idx ON followup_attempts (followup_id, at, id);

-- the customer's satisfaction with a work order (SURV-1): three scores 1–5 and a comment
CREATE TABLE ticket_surveys (
    ticket_id    TEXT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    speed        BIGINT NOT NULL CHECK (speed BETWEEN 1 AND 5),
    attitude     BIGINT NOT NULL CHECK (attitude BETWEEN 1 AND 5),
    quality      BIGINT NOT NULL CHECK (quality BETWEEN 1 AND 5),
    comment      TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL CHECK (channel IN ('phone', 'sms', 'ivr', 'web')),
    surveyed_by  TEXT REFERENCES users (id),
    at           BIGINT NOT NULL
);
CREATE INDEX ticket_surveys_at_idx ON ticket_surveys (at);
