//! Reading work orders in bulk: the filtered, sorted, keyset-paged list (each filter and sort
//! backed by an index of 0006), a customer's orders for their timeline, the rows of a CSV
//! export with names resolved, and a bulk insert for imports and benchmarks.

use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::to_json;
use crate::tickets::{TICKET_COLS, Ticket, day_key, local_date, ticket_from_row};
use crate::{Backend, Result, Store, StoreError};
use kefu_core::service::category::SlaTargets;
use kefu_core::service::sla::SlaState;
use kefu_core::service::ticket::{Channel, Priority, TicketStatus, TicketType, ticket_number};
use kefu_core::{CategoryId, CustomerId, TeamId, TicketId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Which work orders to list. Every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    /// Any of these statuses (all when empty).
    pub statuses: Vec<TicketStatus>,
    /// On this group's list.
    pub team: Option<TeamId>,
    /// Owned by this user.
    pub owner: Option<UserId>,
    /// For this customer.
    pub customer: Option<CustomerId>,
    /// In this category or any below it.
    pub category: Option<CategoryId>,
    /// Of this type.
    pub ticket_type: Option<TicketType>,
    /// Of this priority.
    pub priority: Option<Priority>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Text in the summary (case-insensitive), or the exact number.
    pub q: Option<String>,
    /// Whether an SLA target was missed.
    pub breached: Option<bool>,
}

/// What the list is sorted by (then by id, for a stable order).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSort {
    /// When created.
    #[default]
    CreatedAt,
    /// When last changed.
    UpdatedAt,
    /// Priority (`p1` first ascending), then creation.
    Priority,
}

/// Ascending or descending.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest (newest) first.
    #[default]
    Desc,
}

/// A work order with the names a person reads in an export.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketExportRow {
    /// The order.
    pub ticket: Ticket,
    /// Its category's path (`售后/产品质量/不新鲜`).
    pub category_path: String,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The owner's display name.
    pub owner_name: Option<String>,
    /// The group's name.
    pub team_name: Option<String>,
}

/// A work order for [`Store::insert_tickets_bulk`]: every field given, no checks beyond the
/// database's (imports and benchmarks).
#[derive(Clone, Debug)]
pub struct NewTicketBulk {
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// The channel.
    pub channel: Channel,
    /// The category (must exist).
    pub category_id: CategoryId,
    /// The type.
    pub ticket_type: TicketType,
    /// The priority.
    pub priority: Priority,
    /// The summary.
    pub summary: String,
    /// The details.
    pub details: String,
    /// The status.
    pub status: TicketStatus,
    /// The owner.
    pub owner_id: Option<UserId>,
    /// The group.
    pub team_id: Option<TeamId>,
    /// The SLA targets.
    pub sla_targets: SlaTargets,
    /// Whether an SLA target was missed.
    pub sla_breached: bool,
    /// Who created it.
    pub created_by: UserId,
    /// When created (numbers follow the local day of this).
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
    /// When resolved.
    pub resolved_at: Option<Timestamp>,
    /// When closed.
    pub closed_at: Option<Timestamp>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The cursor prefix of a sort: one letter for the key, one for the direction.
fn cursor_prefix(sort: TicketSort, order: SortOrder) -> &'static str {
    match (sort, order) {
        (TicketSort::CreatedAt, SortOrder::Asc) => "ca",
        (TicketSort::CreatedAt, SortOrder::Desc) => "cd",
        (TicketSort::UpdatedAt, SortOrder::Asc) => "ua",
        (TicketSort::UpdatedAt, SortOrder::Desc) => "ud",
        (TicketSort::Priority, SortOrder::Asc) => "pa",
        (TicketSort::Priority, SortOrder::Desc) => "pd",
    }
}

fn encode_cursor(t: &Ticket, sort: TicketSort, order: SortOrder) -> String {
    let p = cursor_prefix(sort, order);
    match sort {
        TicketSort::CreatedAt => format!("{p}.{}.{}", t.created_at.as_millis(), t.id),
        TicketSort::UpdatedAt => format!("{p}.{}.{}", t.updated_at.as_millis(), t.id),
        TicketSort::Priority => format!("{p}.{}.{}.{}", t.priority.code(), t.created_at.as_millis(), t.id),
    }
}

/// The decoded position: (priority code for priority sorts, time, id).
fn decode_cursor(text: &str, sort: TicketSort, order: SortOrder) -> Result<(Option<Priority>, i64, TicketId)> {
    let bad =
        || StoreError::Invalid(format!("malformed work-order cursor `{}`", text.chars().take(80).collect::<String>()));
    let mut parts = text.split('.');
    let prefix = parts.next().ok_or_else(bad)?;
    if prefix != cursor_prefix(sort, order) {
        return Err(StoreError::Invalid(
            "the cursor belongs to a list with another sort or order; start again without it".into(),
        ));
    }
    let priority = match sort {
        TicketSort::Priority => Some(parts.next().ok_or_else(bad)?.parse::<Priority>().map_err(|_| bad())?),
        _ => None,
    };
    let at: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let id: TicketId = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((priority, at, id))
}

/// Most branches of one merged list query (SQLite allows 500 compound terms).
const MAX_BRANCHES: usize = 120;

impl Store {
    /// Work orders matching `filter`, sorted by `sort` in `order` (ties broken by id), one
    /// keyset page at a time (the cursor carries the sort value and id of the last item).
    pub async fn list_tickets(
        &self,
        filter: &TicketFilter,
        sort: TicketSort,
        order: SortOrder,
        page: &PageRequest,
    ) -> Result<Page<Ticket>> {
        let limit = page.limit();
        // Some filters are answered best as one index-ordered branch per value, merged:
        // - several statuses under a time sort, with no narrower equality filter: one branch
        //   per status (on (status, time, id), or (team or owner, status, updated_at, id)). A
        //   plain `status IN (…)` there makes SQLite without statistics read every matching
        //   row and sort them; with an owner, team or customer filter the plain form walks
        //   that filter's index and is the better plan;
        // - a category subtree by creation: one branch per category of the subtree (and per
        //   status, when statuses are asked for) on (category_id[, status], created_at, id).
        //   The plain form reads the whole subtree's orders and sorts them (seconds at 1M).
        let split_statuses = filter.statuses.len() > 1
            && sort != TicketSort::Priority
            && filter.customer.is_none()
            && filter.category.is_none()
            && (sort == TicketSort::UpdatedAt || (filter.team.is_none() && filter.owner.is_none()));
        let split_categories = match filter.category {
            Some(category)
                if sort == TicketSort::CreatedAt
                    && filter.customer.is_none()
                    && filter.team.is_none()
                    && filter.owner.is_none() =>
            {
                Some(self.category_ids_under(category).await?)
            }
            _ => None,
        };
        let statuses: Vec<Option<TicketStatus>> =
            if split_statuses || (split_categories.is_some() && !filter.statuses.is_empty()) {
                filter.statuses.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
        let categories: Vec<Option<CategoryId>> = match &split_categories {
            Some(ids) => ids.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        let mut branches: Vec<(Option<CategoryId>, Option<TicketStatus>)> =
            categories.iter().flat_map(|c| statuses.iter().map(move |s| (*c, *s))).collect();
        if branches.len() > MAX_BRANCHES {
            // a huge subtree: one plain query (correct, slower) rather than a statement
            // SQLite refuses (at most 500 compound terms)
            branches = vec![(None, None)];
        }
        let mut rest = String::new();
        let mut args = Args::default();
        let narrowed;
        let filter = if branches.len() == 1 && branches[0] == (None, None) {
            filter
        } else {
            let any_status = branches.iter().any(|(_, s)| s.is_some());
            let any_category = branches.iter().any(|(c, _)| c.is_some());
            narrowed = TicketFilter {
                statuses: if any_status { Vec::new() } else { filter.statuses.clone() },
                category: if any_category { None } else { filter.category },
                ..filter.clone()
            };
            &narrowed
        };
        self.filter_sql(filter, &mut rest, &mut args).await?;
        let (cmp, dir) = match order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some(cursor) = page.cursor.as_deref() {
            let (priority, at, id) = decode_cursor(cursor, sort, order)?;
            let at = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = match (sort, priority) {
                (TicketSort::Priority, Some(p)) => {
                    let p = args.push(Arg::Text(p.code().to_owned()));
                    write!(rest, " AND (priority, created_at, id) {cmp} ({p}, {at}, {id})")
                }
                (TicketSort::UpdatedAt, _) => write!(rest, " AND (updated_at, id) {cmp} ({at}, {id})"),
                _ => write!(rest, " AND (created_at, id) {cmp} ({at}, {id})"),
            };
        }
        let order_by = match sort {
            TicketSort::CreatedAt => format!(" ORDER BY created_at {dir}, id {dir}"),
            TicketSort::UpdatedAt => format!(" ORDER BY updated_at {dir}, id {dir}"),
            TicketSort::Priority => format!(" ORDER BY priority {dir}, created_at {dir}, id {dir}"),
        };
        let n = args.push(Arg::Int(i64::from(limit) + 1));
        let sql = if branches.len() == 1 && branches[0] == (None, None) {
            format!("SELECT {TICKET_COLS} FROM tickets WHERE 1 = 1{rest}{order_by} LIMIT {n}")
        } else {
            let branches: Vec<String> = branches
                .iter()
                .enumerate()
                .map(|(i, (category, status))| {
                    let mut own = String::new();
                    if let Some(c) = category {
                        let p = args.push(Arg::Text(c.to_string()));
                        let _ = write!(own, " AND category_id = {p}");
                    }
                    if let Some(st) = status {
                        let p = args.push(Arg::Text(st.as_str().to_owned()));
                        let _ = write!(own, " AND status = {p}");
                    }
                    format!(
                        "SELECT * FROM (SELECT {TICKET_COLS} FROM tickets WHERE 1 = 1{own}{rest}{order_by} LIMIT {n}) AS s{i}"
                    )
                })
                .collect();
            format!("{}{order_by} LIMIT {n}", branches.join(" UNION ALL "))
        };
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(ticket_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |t| encode_cursor(t, sort, order)))
    }

    /// The category and every one below it (an error for an unknown category).
    async fn category_ids_under(&self, category: CategoryId) -> Result<Vec<CategoryId>> {
        let ids = self.category_subtree(category).await?;
        if ids.is_empty() {
            return Err(StoreError::Invalid(format!("unknown category `{category}`")));
        }
        Ok(ids)
    }

    /// Appends the filter's conditions to a `WHERE 1 = 1` query.
    async fn filter_sql(&self, f: &TicketFilter, sql: &mut String, args: &mut Args) -> Result<()> {
        if !f.statuses.is_empty() {
            let ps: Vec<String> = f.statuses.iter().map(|s| args.push(Arg::Text(s.as_str().to_owned()))).collect();
            let _ = write!(sql, " AND status IN ({})", ps.join(", "));
        }
        if let Some(team) = f.team {
            let p = args.push(Arg::Text(team.to_string()));
            let _ = write!(sql, " AND team_id = {p}");
        }
        if let Some(owner) = f.owner {
            let p = args.push(Arg::Text(owner.to_string()));
            let _ = write!(sql, " AND owner_id = {p}");
        }
        if let Some(customer) = f.customer {
            let p = args.push(Arg::Text(customer.to_string()));
            let _ = write!(sql, " AND customer_id = {p}");
        }
        if let Some(category) = f.category {
            let ids = self.category_ids_under(category).await?;
            let ps: Vec<String> = ids.iter().map(|c| args.push(Arg::Text(c.to_string()))).collect();
            let _ = write!(sql, " AND category_id IN ({})", ps.join(", "));
        }
        if let Some(t) = f.ticket_type {
            let p = args.push(Arg::Text(t.as_str().to_owned()));
            let _ = write!(sql, " AND ticket_type = {p}");
        }
        if let Some(pr) = f.priority {
            let p = args.push(Arg::Text(pr.code().to_owned()));
            let _ = write!(sql, " AND priority = {p}");
        }
        if let Some(from) = f.created_from {
            let p = args.push(Arg::Int(from.as_millis()));
            let _ = write!(sql, " AND created_at >= {p}");
        }
        if let Some(to) = f.created_to {
            let p = args.push(Arg::Int(to.as_millis()));
            let _ = write!(sql, " AND created_at < {p}");
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let like = args.push(Arg::Text(format!("%{}%", like_escape(&q.to_lowercase()))));
            let number = args.push(Arg::Text(q.to_owned()));
            let _ = write!(sql, " AND (LOWER(summary) LIKE {like} ESCAPE '\\' OR number = {number})");
        }
        match f.breached {
            // literals, so that SQLite can use the partial index of breached orders
            Some(true) => sql.push_str(" AND sla_breached = 1"),
            Some(false) => sql.push_str(" AND sla_breached = 0"),
            None => {}
        }
        Ok(())
    }

    /// A customer's work orders, newest first (for their timeline).
    pub async fn tickets_for_customer(&self, customer: CustomerId, limit: u32) -> Result<Vec<Ticket>> {
        let rows = sqlx::query(&format!(
            "SELECT {TICKET_COLS} FROM tickets WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(customer.to_string())
        .bind(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ticket_from_row).collect()
    }

    /// Up to `max_rows` work orders matching `filter` in list order, with the names an export
    /// shows (category path, customer, owner, group). Reads page by page.
    pub async fn export_tickets(
        &self,
        filter: &TicketFilter,
        sort: TicketSort,
        order: SortOrder,
        max_rows: usize,
    ) -> Result<Vec<TicketExportRow>> {
        let paths: HashMap<CategoryId, String> =
            self.category_tree().await?.into_iter().map(|c| (c.id, c.path)).collect();
        let mut teams: HashMap<TeamId, String> = HashMap::new();
        let mut users: HashMap<UserId, String> = HashMap::new();
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let limit = PageRequest::MAX_LIMIT.min(u32::try_from(max_rows - out.len()).unwrap_or(u32::MAX)).max(1);
            let page = self.list_tickets(filter, sort, order, &PageRequest { limit: Some(limit), cursor }).await?;
            let customers = self.customer_names(page.items.iter().filter_map(|t| t.customer_id)).await?;
            for t in page.items {
                if let Some(team) = t.team_id
                    && !teams.contains_key(&team)
                {
                    let name = self.team(team).await.map(|x| x.name).unwrap_or_default();
                    teams.insert(team, name);
                }
                if let Some(owner) = t.owner_id
                    && !users.contains_key(&owner)
                {
                    let name = self.user(owner).await.map(|u| u.display_name).unwrap_or_default();
                    users.insert(owner, name);
                }
                out.push(TicketExportRow {
                    category_path: paths.get(&t.category_id).cloned().unwrap_or_default(),
                    customer_name: t.customer_id.and_then(|c| customers.get(&c).cloned()),
                    owner_name: t.owner_id.and_then(|o| users.get(&o).cloned()),
                    team_name: t.team_id.and_then(|x| teams.get(&x).cloned()),
                    ticket: t,
                });
            }
            cursor = page.next_cursor;
            if cursor.is_none() || out.len() >= max_rows {
                break;
            }
        }
        Ok(out)
    }

    async fn customer_names(&self, ids: impl Iterator<Item = CustomerId>) -> Result<HashMap<CustomerId, String>> {
        let ids: Vec<String> =
            ids.map(|c| c.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut out = HashMap::new();
        for chunk in ids.chunks(200) {
            let mut args = Args::default();
            let ps: Vec<String> = chunk.iter().map(|c| args.push(Arg::Text(c.clone()))).collect();
            let sql = format!("SELECT id, name FROM customers WHERE id IN ({})", ps.join(", "));
            for r in args.bind(&sql).fetch_all(self.pool()).await? {
                out.insert(crate::rows::parse(&r, "id")?, r.try_get("name")?);
            }
        }
        Ok(out)
    }

    /// Inserts many work orders in one transaction (multi-row statements), numbering them per
    /// local day (`local_offset_min` from UTC) in the order given. No history rows or events
    /// are written: imports bring their own history. Returns the numbers handed out.
    pub async fn insert_tickets_bulk(&self, tickets: &[NewTicketBulk], local_offset_min: i32) -> Result<Vec<String>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let mut per_day: BTreeMap<String, (kefu_core::service::calendar::Date, Vec<usize>)> = BTreeMap::new();
        for (i, t) in tickets.iter().enumerate() {
            let d = local_date(t.created_at, local_offset_min);
            per_day.entry(day_key(d)).or_insert_with(|| (d, Vec::new())).1.push(i);
        }
        let mut numbers = vec![String::new(); tickets.len()];
        let mut tx = self.pool().begin().await?;
        for (day, (date, idxs)) in &per_day {
            let n = i64::try_from(idxs.len()).unwrap_or(i64::MAX);
            let last: i64 = sqlx::query(
                "INSERT INTO ticket_counters (day, last) VALUES ($1, $2) \
                 ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + $3 RETURNING last",
            )
            .bind(day)
            .bind(n)
            .bind(n)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")?;
            for (k, &i) in idxs.iter().enumerate() {
                let seq = last - n + 1 + i64::try_from(k).unwrap_or(0);
                let seq =
                    u32::try_from(seq).map_err(|_| StoreError::Invalid(format!("too many work orders on {day}")))?;
                numbers[i] = ticket_number(*date, seq);
            }
        }
        let rows_per_statement = match self.backend() {
            Backend::Sqlite => 16,
            Backend::Postgres => 500,
        };
        let width = TICKET_COLS.split(',').count();
        for (c, chunk) in tickets.chunks(rows_per_statement).enumerate() {
            let mut sql = format!("INSERT INTO tickets ({TICKET_COLS}) VALUES ");
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..width {
                    let _ = write!(sql, "{}${}", if j == 0 { "" } else { ", " }, i * width + j + 1);
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for (k, t) in chunk.iter().enumerate() {
                let id = TicketId::from_uuid(crate::new_uuid());
                let mut sla = SlaState::new(t.created_at);
                if let Some(r) = t.resolved_at {
                    sla.responded(r);
                    sla.resolved_at = Some(r);
                }
                q = q
                    .bind(id.to_string())
                    .bind(numbers[c * rows_per_statement + k].clone())
                    .bind(t.customer_id.map(|v| v.to_string()))
                    .bind(t.channel.as_str())
                    .bind(t.category_id.to_string())
                    .bind(t.ticket_type.as_str())
                    .bind(t.priority.code())
                    .bind(t.summary.clone())
                    .bind(t.details.clone())
                    .bind("[]")
                    .bind("")
                    .bind(t.status.as_str())
                    .bind(None::<String>)
                    .bind(t.owner_id.map(|v| v.to_string()))
                    .bind(t.team_id.map(|v| v.to_string()))
                    .bind(1_i64)
                    .bind(None::<i64>)
                    .bind(0_i64)
                    .bind(None::<String>)
                    .bind(None::<String>)
                    .bind("{}")
                    .bind(to_json(&sla)?)
                    .bind(to_json(&t.sla_targets)?)
                    .bind(i64::from(t.sla_breached))
                    .bind(t.created_by.to_string())
                    .bind(t.created_at.as_millis())
                    .bind(t.updated_at.as_millis())
                    .bind(t.resolved_at.map(Timestamp::as_millis))
                    .bind(t.closed_at.map(Timestamp::as_millis))
                    .bind(1_i64);
            }
            q.execute(&mut *tx).await.map_err(|e| {
                crate::error::constraint_error(
                    e,
                    |_| StoreError::Conflict("a work-order number is already taken".into()),
                    |_| StoreError::Invalid("a referenced customer, category, user or team does not exist".into()),
                )
            })?;
        }
        tx.commit().await?;
        Ok(numbers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(like_escape("鲜花"), "鲜花");
    }
}
