-- Work orders (工单): the category tree with each leaf's defaults, service-process templates,
-- the orders themselves with their history, attachments and linked calls, and the per-day
-- counter behind their numbers. Same rules as 0001: this file runs unchanged on SQLite and
-- PostgreSQL; ids are UUID text, times epoch ms (BIGINT), JSON is TEXT, booleans are BIGINT 0/1.

-- the three-level category tree (e.g. 售后 → 产品质量 → 不新鲜). Inner nodes only group; leaves
-- carry the defaults a new order takes: type, priority, owning group, SLA targets and the
-- solutions an agent picks from. A node used by orders is deactivated rather than deleted.
CREATE TABLE categories (
    id           TEXT PRIMARY KEY,
    parent_key   TEXT NOT NULL,             -- '' for a root, else the parent's id (sibling names unique)
    parent_id    TEXT REFERENCES categories (id),
    name         TEXT NOT NULL,
    level        BIGINT NOT NULL CHECK (level BETWEEN 1 AND 3),
    position     BIGINT NOT NULL,           -- order among siblings
    ticket_type  TEXT,                      -- leaf default: consultation | complaint | suggestion | emergency
    priority     TEXT,                      -- leaf default: p1 .. p4
    team_id      TEXT REFERENCES teams (id),-- leaf default: the owning group
    sla          TEXT,                      -- leaf default: JSON kefu_core::service::category::SlaTargets
    solutions    TEXT NOT NULL DEFAULT '[]',-- JSON list of the solutions an agent may pick
    active       BIGINT NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT categories_sibling_name_uq UNIQUE (parent_key, name)
);
CREATE INDEX categories_parent_idx ON categories (parent_id, position);
CREATE INDEX categories_team_idx ON categories (team_id);

-- service processes (on-site repair, carry-in, mail-in, return / exchange / refund): the
-- steps an order goes through and the extra fields it carries
CREATE TABLE ticket_templates (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    steps       TEXT NOT NULL,              -- JSON [{key, name, due_hours?}]
    fields      TEXT NOT NULL,              -- JSON [{key, label, kind: text|number|date|choice, options?, required}]
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT ticket_templates_name_uq UNIQUE (name)
);

-- the last number handed out per local day: numbers are GD<yyyymmdd>-<seq>, gapless per day
CREATE TABLE ticket_counters (
    day   TEXT PRIMARY KEY,                 -- yyyymmdd in the center's local time
    last  BIGINT NOT NULL
);

-- work orders. Every update is `... WHERE id = ? AND version = ?` (optimistic concurrency).
CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    number           TEXT NOT NULL,          -- GD20261122-0001
    customer_id      TEXT REFERENCES customers (id),
    channel          TEXT NOT NULL,          -- phone | email | chat | sms | web | other
    category_id      TEXT NOT NULL REFERENCES categories (id),
    ticket_type      TEXT NOT NULL,
    priority         TEXT NOT NULL,          -- p1 (urgent, important) .. p4; sorts by urgency
    summary          TEXT NOT NULL,          -- ≤ 200 characters
    details          TEXT NOT NULL DEFAULT '',
    solutions        TEXT NOT NULL DEFAULT '[]', -- JSON list, each from the category's list
    result           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,          -- new | assigned | in_progress | pending | resolved | callback | closed
    pending_reason   TEXT,                   -- customer | third_party while pending
    owner_id         TEXT REFERENCES users (id),
    team_id          TEXT REFERENCES teams (id),
    tier             BIGINT NOT NULL DEFAULT 1,
    amount           BIGINT,                 -- yuan at stake, when known
    media_exposure   BIGINT NOT NULL DEFAULT 0,
    template_id      TEXT REFERENCES ticket_templates (id),
    template_step    TEXT,
    template_fields  TEXT NOT NULL DEFAULT '{}',
    sla_state        TEXT NOT NULL,          -- JSON kefu_core::service::sla::SlaState
    sla_targets      TEXT NOT NULL,          -- JSON SlaTargets copied from the leaf
    sla_breached     BIGINT NOT NULL DEFAULT 0, -- set by the SLA worker when a target is missed
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    resolved_at      BIGINT,
    closed_at        BIGINT,
    version          BIGINT NOT NULL DEFAULT 1,
    CONSTRAINT tickets_number_uq UNIQUE (number)
);
-- the list's filters and sort orders (keyset paging on (sort value, id))
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_priority_idx ON tickets (priority, created_at, id);
CREATE INDEX tickets_status_created_idx ON tickets (status, created_at, id);
CREATE INDEX tickets_status_updated_idx ON tickets (status, updated_at, id);
CREATE INDEX tickets_team_status_idx ON tickets (team_id, status, updated_at, id);
CREATE INDEX tickets_team_created_idx ON tickets (team_id, created_at, id);
CREATE INDEX tickets_owner_status_idx ON tickets (owner_id, status, updated_at, id);
CREATE INDEX tickets_owner_created_idx ON tickets (owner_id, created_at, id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, created_at, id);
CREATE INDEX tickets_category_idx ON tickets (category_id, created_at, id);
CREATE INDEX tickets_breached_idx ON tickets (created_at, id) WHERE sla_breached = 1;

-- every change to an order: who (NULL = the system), when, what (JSON: field, from, to, …)
CREATE TABLE ticket_changes (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    at          BIGINT NOT NULL,
    actor_id    TEXT REFERENCES users (id),
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_changes_ticket_idx ON ticket_changes (ticket_id, at, id);

-- files attached to an order, stored under <data_dir>/attachments/<ticket id>/<attachment id>
CREATE TABLE ticket_attachments (
    id            TEXT PRIMARY KEY,
    ticket_id     TEXT NOT NULL REFERENCES tickets (id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    path          TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, created_at, id);

-- calls (SIP Call-ID) linked to an order
CREATE TABLE ticket_calls (
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    call_id    TEXT NOT NULL,
    linked_by  TEXT REFERENCES users (id),
    linked_at  BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, call_id)
);
CREATE INDEX ticket_calls_call_idx ON ticket_calls (call_id);
