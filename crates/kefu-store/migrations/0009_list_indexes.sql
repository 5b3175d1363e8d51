-- Reads that the service side's lists need at scale (measured on 1,000,000 work orders,
-- docs/BENCHMARKS.md). Runs unchanged on SQLite and PostgreSQL.

-- a customer's timeline reads the event log by customer (the calls they made)
CREATE INDEX events_customer_idx ON events (customer, at, id);

-- a group's or an agent's orders in priority order: without these the whole group's orders
-- (hundreds of thousands) were read and sorted for one page (2 s on SQLite)
CREATE INDEX tickets_team_priority_idx ON tickets (team_id, priority, created_at, id);
CREATE INDEX tickets_owner_priority_idx ON tickets (owner_id, priority, created_at, id);
