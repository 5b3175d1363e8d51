-- Indexes for the work-order list shapes that were still slow at 1,000,000 orders
-- (docs/BENCHMARKS.md). Runs unchanged on SQLite and PostgreSQL.

-- a category subtree's orders in some statuses, newest first: one index-ordered branch per
-- (category, status), merged (tickets_query.rs)
CREATE INDEX tickets_category_status_idx ON tickets (category_id, status, created_at, id);

-- breached orders in some statuses by last change: 2 % of the orders, so walking
-- (status, updated_at, id) and skipping the others read ~50 rows per row shown
CREATE INDEX tickets_breached_status_updated_idx ON tickets (status, updated_at, id) WHERE sla_breached = 1;
