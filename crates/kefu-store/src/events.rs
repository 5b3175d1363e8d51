//! The append-only event log: batched appends and queries by time range and kind.
//! Rows are never updated or deleted; reports and KPIs are derived from them.

use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, parse_opt, to_json, ts};
use crate::{Result, Store, StoreError};
use kefu_core::event::{Event, EventKind};
use kefu_core::{CustomerId, InteractionId, QueueId, Timestamp, UserId};
use std::fmt::Write as _;

/// Rows per INSERT statement on SQLite. SQLite resolves `$N` parameters by a linear scan
/// of the statement's parameter names, so binding costs grow with the square of the
/// parameters in one statement: 32 rows (256 parameters) appended 3× faster than 400 rows
/// in `benches/event_log.rs` (see docs/BENCHMARKS.md).
const SQLITE_ROWS_PER_STATEMENT: usize = 32;
/// Rows per INSERT statement on PostgreSQL, where each statement is a network round trip.
const POSTGRES_ROWS_PER_STATEMENT: usize = 400;

/// Which events to read.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// At or after this instant.
    pub since: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
    /// Only these kinds (all kinds when empty).
    pub kinds: Vec<EventKind>,
    /// Only events about this agent.
    pub agent: Option<UserId>,
    /// Only events about this queue.
    pub queue: Option<QueueId>,
    /// Only events of this call, chat or email.
    pub interaction: Option<InteractionId>,
    /// Only events about this customer.
    pub customer: Option<CustomerId>,
    /// Page size and position.
    pub page: PageRequest,
}

/// Position in the log: events are ordered by (at, id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCursor {
    /// Time of the last event read.
    pub at: Timestamp,
    /// Id of the last event read.
    pub id: String,
}

impl EventCursor {
    /// The opaque text form (`<at>_<id>`).
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.as_millis(), self.id)
    }

    /// Parses the text form.
    pub fn decode(text: &str) -> Result<Self> {
        let bad =
            || StoreError::Invalid(format!("malformed event cursor `{}`", text.chars().take(80).collect::<String>()));
        let (at, id) = text.split_once('_').ok_or_else(bad)?;
        let at: i64 = at.parse().map_err(|_| bad())?;
        uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(EventCursor { at: Timestamp::from_millis(at), id: id.to_owned() })
    }
}

impl Store {
    /// Appends one event.
    pub async fn append_event(&self, event: &Event) -> Result<()> {
        self.append_events(std::slice::from_ref(event)).await
    }

    /// Appends events atomically: all of them are stored, or none (one transaction,
    /// multi-row statements). When this returns `Ok`, the events are durable.
    pub async fn append_events(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        insert_events(&mut tx, self.backend(), events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Events matching `query`, ordered by time then id, one page at a time.
    pub async fn query_events(&self, query: &EventQuery) -> Result<Page<Event>> {
        let limit = query.page.limit();
        let mut sql =
            String::from("SELECT id, at, kind, interaction, agent, queue, customer, data FROM events WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(since) = query.since {
            let p = args.push(Arg::Int(since.as_millis()));
            let _ = write!(sql, " AND at >= {p}");
        }
        if let Some(until) = query.until {
            let p = args.push(Arg::Int(until.as_millis()));
            let _ = write!(sql, " AND at < {p}");
        }
        if !query.kinds.is_empty() {
            let ps: Vec<String> = query.kinds.iter().map(|k| args.push(Arg::Text(k.as_str().to_owned()))).collect();
            let _ = write!(sql, " AND kind IN ({})", ps.join(", "));
        }
        if let Some(agent) = query.agent {
            let p = args.push(Arg::Text(agent.to_string()));
            let _ = write!(sql, " AND agent = {p}");
        }
        if let Some(queue) = query.queue {
            let p = args.push(Arg::Text(queue.to_string()));
            let _ = write!(sql, " AND queue = {p}");
        }
        if let Some(interaction) = query.interaction {
            let p = args.push(Arg::Text(interaction.to_string()));
            let _ = write!(sql, " AND interaction = {p}");
        }
        if let Some(customer) = query.customer {
            let p = args.push(Arg::Text(customer.to_string()));
            let _ = write!(sql, " AND customer = {p}");
        }
        if let Some(cursor) = query.page.cursor.as_deref() {
            let c = EventCursor::decode(cursor)?;
            let at1 = args.push(Arg::Int(c.at.as_millis()));
            let at2 = args.push(Arg::Int(c.at.as_millis()));
            let id = args.push(Arg::Text(c.id));
            let _ = write!(sql, " AND (at > {at1} OR (at = {at2} AND id > {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY at, id LIMIT {p}");

        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Event {
                    id: parse(r, "id")?,
                    at: ts(r, "at")?,
                    kind: parse(r, "kind")?,
                    interaction: parse_opt(r, "interaction")?,
                    agent: parse_opt(r, "agent")?,
                    queue: parse_opt(r, "queue")?,
                    customer: parse_opt(r, "customer")?,
                    data: json(r, "data")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| EventCursor { at: e.at, id: e.id.to_string() }.encode()))
    }

    /// Number of events in the log.
    pub async fn count_events(&self) -> Result<i64> {
        use sqlx::Row;
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM events").fetch_one(self.pool()).await?.try_get("n")?)
    }
}

/// One bound value of a query built at run time.
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// The values of a query whose WHERE clause is built at run time: [`Args::push`] returns the
/// placeholder (`$n`) to write into the SQL, [`Args::bind`] binds them all in order.
#[derive(Default)]
pub(crate) struct Args(Vec<Arg>);

impl Args {
    pub(crate) fn push(&mut self, a: Arg) -> String {
        self.0.push(a);
        format!("${}", self.0.len())
    }

    pub(crate) fn bind(self, sql: &str) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(sql);
        for a in self.0 {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        q
    }
}

/// Inserts `events` within `tx`, in multi-row statements.
pub(crate) async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    events: &[Event],
) -> Result<()> {
    let rows_per_statement = match backend {
        crate::Backend::Sqlite => SQLITE_ROWS_PER_STATEMENT,
        crate::Backend::Postgres => POSTGRES_ROWS_PER_STATEMENT,
    };
    for chunk in events.chunks(rows_per_statement) {
        let mut sql =
            String::from("INSERT INTO events (id, at, kind, interaction, agent, queue, customer, data) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(
                sql,
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            );
        }
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.id.to_string())
                .bind(e.at.as_millis())
                .bind(e.kind.as_str())
                .bind(e.interaction.map(|v| v.to_string()))
                .bind(e.agent.map(|v| v.to_string()))
                .bind(e.queue.map(|v| v.to_string()))
                .bind(e.customer.map(|v| v.to_string()))
                .bind(to_json(&e.data)?);
        }
        q.execute(&mut **tx).await.map_err(|err| {
            crate::error::constraint_error(
                err,
                |_| StoreError::Conflict("an event with one of these ids is already in the log".into()),
                |d| StoreError::Invalid(d.to_owned()),
            )
        })?;
    }
    Ok(())
}
