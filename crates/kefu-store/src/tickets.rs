//! Work orders (工单): creating them (a gapless number per local day, defaults from the leaf
//! category), reading them, and changing them under optimistic concurrency — every change is
//! one `UPDATE … WHERE id = ? AND version = ?`, recorded as history rows (who, when, what) and
//! event-log records in the same transaction. The workflow moves, assignment, comments and
//! files are in `tickets_ops.rs`; lists and exports in `tickets_query.rs`.

use crate::error::constraint_error;
use crate::rows::{json, parse, parse_opt, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::event::{Event, EventKind};
use kefu_core::service::calendar::Date;
use kefu_core::service::category::SlaTargets;
use kefu_core::service::sla::SlaState;
use kefu_core::service::ticket::{
    Channel, PendingReason, Priority, TicketStatus, TicketType, check_summary, ticket_number,
};
use kefu_core::{CategoryId, CustomerId, EventId, TeamId, TemplateId, TicketId, Timestamp, UserId};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The longest details text, in characters.
pub const MAX_DETAILS_CHARS: usize = 10_000;
/// The longest result text, in characters.
pub const MAX_RESULT_CHARS: usize = 10_000;
/// The UTC offset used for numbers when the caller has no calendar: China, +08:00.
pub const DEFAULT_LOCAL_OFFSET_MIN: i32 = 480;
/// How often a change without an expected version is retried when another change wins.
const RETRIES: usize = 8;

/// A work order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ticket {
    /// Unique id.
    pub id: TicketId,
    /// Human-readable number, `GD20261122-0001` (local date and a per-day sequence).
    pub number: String,
    /// The customer, when known.
    pub customer_id: Option<CustomerId>,
    /// Where the request came in.
    pub channel: Channel,
    /// The leaf category.
    pub category_id: CategoryId,
    /// Consultation, complaint, suggestion or emergency.
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    /// `p1` … `p4`.
    pub priority: Priority,
    /// One-line summary, ≤ 200 characters.
    pub summary: String,
    /// Details, ≤ 10,000 characters.
    pub details: String,
    /// Solutions picked from the category's list.
    pub solutions: Vec<String>,
    /// What was done, in words.
    pub result: String,
    /// Where it is in the workflow.
    pub status: TicketStatus,
    /// Whom a pending order waits for.
    pub pending_reason: Option<PendingReason>,
    /// The user working it.
    pub owner_id: Option<UserId>,
    /// The group (department) whose list it is on.
    pub team_id: Option<TeamId>,
    /// Support tier, 1 (first line) to 3.
    pub tier: u8,
    /// Money at stake, in yuan.
    pub amount: Option<i64>,
    /// Whether the media are involved.
    pub media_exposure: bool,
    /// The service-process template, if any.
    pub template_id: Option<TemplateId>,
    /// The template step the order is at.
    pub template_step: Option<String>,
    /// The template's field values.
    pub template_fields: Map<String, Value>,
    /// The SLA clock's state.
    pub sla_state: SlaState,
    /// The SLA targets, copied from the category.
    pub sla_targets: SlaTargets,
    /// Whether an SLA target was missed (set by the SLA worker).
    pub sla_breached: bool,
    /// Who created it.
    pub created_by: UserId,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
    /// When last resolved.
    pub resolved_at: Option<Timestamp>,
    /// When closed.
    pub closed_at: Option<Timestamp>,
    /// Counts changes; send it back to change the order (409 when someone changed it since).
    pub version: i64,
}

/// A work order to create. Type, priority and group default to the leaf category's.
#[derive(Clone, Debug)]
pub struct NewTicket {
    /// The customer, if known (must exist).
    pub customer_id: Option<CustomerId>,
    /// Where the request came in.
    pub channel: Channel,
    /// An active leaf category.
    pub category_id: CategoryId,
    /// Type; the category's when `None`.
    pub ticket_type: Option<TicketType>,
    /// Priority; the category's when `None`.
    pub priority: Option<Priority>,
    /// Group; the category's when `None`.
    pub team_id: Option<TeamId>,
    /// Owner; the order starts `assigned` when given, else `new`.
    pub owner_id: Option<UserId>,
    /// Summary (checked by `check_summary`).
    pub summary: String,
    /// Details.
    pub details: String,
    /// Solutions, each from the category's list.
    pub solutions: Vec<String>,
    /// The result, when it is known as the order is filed (an agent's wrap-up after the call);
    /// empty otherwise.
    pub result: String,
    /// Money at stake, in yuan (≥ 0).
    pub amount: Option<i64>,
    /// Whether the media are involved.
    pub media_exposure: bool,
    /// A service-process template; the order starts at its first step.
    pub template_id: Option<TemplateId>,
    /// The template's field values (checked against the template).
    pub template_fields: Map<String, Value>,
    /// A call (SIP Call-ID) to link at once.
    pub call_id: Option<String>,
    /// Who creates it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// A change to a work order's content; `None` leaves a field as it is. Status, owner,
/// group and tier change through their own operations.
#[derive(Clone, Debug, Default)]
pub struct TicketPatch {
    /// New summary.
    pub summary: Option<String>,
    /// New details.
    pub details: Option<String>,
    /// New solutions (each from the category's list).
    pub solutions: Option<Vec<String>>,
    /// New result text.
    pub result: Option<String>,
    /// New type.
    pub ticket_type: Option<TicketType>,
    /// New priority.
    pub priority: Option<Priority>,
    /// Another active leaf category (its SLA targets are copied).
    pub category_id: Option<CategoryId>,
    /// Set or clear the customer.
    pub customer_id: Option<Option<CustomerId>>,
    /// Set or clear the amount.
    pub amount: Option<Option<i64>>,
    /// Media exposure.
    pub media_exposure: Option<bool>,
    /// Replace the template's field values.
    pub template_fields: Option<Map<String, Value>>,
}

pub(crate) const TICKET_COLS: &str = "id, number, customer_id, channel, category_id, ticket_type, priority, summary, \
    details, solutions, result, status, pending_reason, owner_id, team_id, tier, amount, media_exposure, template_id, \
    template_step, template_fields, sla_state, sla_targets, sla_breached, created_by, created_at, updated_at, \
    resolved_at, closed_at, version";

fn ts_opt(r: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
}

pub(crate) fn ticket_from_row(r: &AnyRow) -> Result<Ticket> {
    let tier: i64 = r.try_get("tier")?;
    Ok(Ticket {
        id: parse(r, "id")?,
        number: r.try_get("number")?,
        customer_id: parse_opt(r, "customer_id")?,
        channel: parse(r, "channel")?,
        category_id: parse(r, "category_id")?,
        ticket_type: parse(r, "ticket_type")?,
        priority: parse(r, "priority")?,
        summary: r.try_get("summary")?,
        details: r.try_get("details")?,
        solutions: json(r, "solutions")?,
        result: r.try_get("result")?,
        status: parse(r, "status")?,
        pending_reason: parse_opt(r, "pending_reason")?,
        owner_id: parse_opt(r, "owner_id")?,
        team_id: parse_opt(r, "team_id")?,
        tier: u8::try_from(tier).map_err(|_| StoreError::Corrupt(format!("column tier: {tier}")))?,
        amount: r.try_get("amount")?,
        media_exposure: r.try_get::<i64, _>("media_exposure")? != 0,
        template_id: parse_opt(r, "template_id")?,
        template_step: r.try_get("template_step")?,
        template_fields: json(r, "template_fields")?,
        sla_state: json(r, "sla_state")?,
        sla_targets: json(r, "sla_targets")?,
        sla_breached: r.try_get::<i64, _>("sla_breached")? != 0,
        created_by: parse(r, "created_by")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
        resolved_at: ts_opt(r, "resolved_at")?,
        closed_at: ts_opt(r, "closed_at")?,
        version: r.try_get("version")?,
    })
}

/// The local calendar date of `at` at a UTC offset.
pub fn local_date(at: Timestamp, offset_min: i32) -> Date {
    let local = at.as_millis().saturating_add(i64::from(offset_min) * 60_000);
    Date::from_days_since_epoch(local.div_euclid(86_400_000))
}

/// The counter key of a day: `yyyymmdd`.
pub(crate) fn day_key(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year, d.month, d.day)
}

/// Checks free text: at most `max` characters, no control characters but newlines and tabs.
pub(crate) fn check_text(field: &str, text: &str, max: usize) -> Result<String> {
    let n = text.chars().count();
    if n > max {
        return Err(StoreError::Invalid(format!("{field} must be at most {max} characters, got {n}")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(StoreError::Invalid(format!("{field} must not contain control characters")));
    }
    Ok(text.trim().to_owned())
}

/// Checks picked solutions against a leaf's list; returns them without duplicates.
pub(crate) fn check_solutions(picked: &[String], allowed: &[String], path: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in picked {
        if !allowed.contains(s) {
            return Err(StoreError::Invalid(format!(
                "solution `{}` is not in the list of `{path}` ({})",
                s.chars().take(64).collect::<String>(),
                allowed.join(", ")
            )));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// One change to apply: the order's new state, the history rows and the events.
pub(crate) struct Edit {
    /// The order as it should be stored.
    pub ticket: Ticket,
    /// History rows: (action, detail).
    pub changes: Vec<(&'static str, Value)>,
    /// Events: (kind, data); `ticket` and `number` are added to the data.
    pub events: Vec<(EventKind, Value)>,
}

impl Edit {
    pub(crate) fn new(ticket: Ticket) -> Self {
        Edit { ticket, changes: Vec::new(), events: Vec::new() }
    }
}

pub(crate) fn stale(id: TicketId, expected: i64, actual: i64) -> StoreError {
    StoreError::Conflict(format!(
        "work order `{id}` was changed by someone else (you sent version {expected}, it is now at {actual}); \
         reload it and try again"
    ))
}

/// Inserts history rows within a transaction.
pub(crate) async fn insert_changes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: TicketId,
    actor: Option<UserId>,
    at: Timestamp,
    changes: &[(&'static str, Value)],
) -> Result<()> {
    for (action, detail) in changes {
        sqlx::query(
            "INSERT INTO ticket_changes (id, ticket_id, at, actor_id, action, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_uuid().to_string())
        .bind(ticket.to_string())
        .bind(at.as_millis())
        .bind(actor.map(|a| a.to_string()))
        .bind(*action)
        .bind(to_json(detail)?)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            let unknown = |_: &str| StoreError::Invalid("the acting user does not exist".into());
            constraint_error(e, unknown, unknown)
        })?;
    }
    Ok(())
}

/// The event-log records of a change to `t`.
pub(crate) fn ticket_events(
    t: &Ticket,
    actor: Option<UserId>,
    at: Timestamp,
    events: &[(EventKind, Value)],
) -> Vec<Event> {
    events
        .iter()
        .map(|(kind, data)| {
            let mut e = Event::new(EventId::from_uuid(new_uuid()), at, *kind);
            e.agent = actor;
            e.customer = t.customer_id;
            let mut map = match data {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            map.insert("ticket".into(), json!(t.id));
            map.insert("number".into(), json!(t.number));
            if !map.contains_key("by") {
                map.insert("by".into(), json!(actor));
            }
            e.data = Value::Object(map);
            e
        })
        .collect()
}

impl Store {
    /// Creates a work order: checks it against its leaf category (active, solutions from its
    /// list, defaults for what is not given) and template, hands out the next number of the
    /// local day (`local_offset_min` from UTC) and records the `created` history row, the
    /// linked call and a `ticket.created` event — all in one transaction.
    pub async fn create_ticket(&self, new: &NewTicket, local_offset_min: i32) -> Result<Ticket> {
        let summary = check_summary(&new.summary).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let details = check_text("details", &new.details, MAX_DETAILS_CHARS)?;
        if new.amount.is_some_and(|a| a < 0) {
            return Err(StoreError::Invalid("amount cannot be negative".into()));
        }
        let category = self.category(new.category_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::Invalid(format!("unknown category `{}`", new.category_id)),
            other => other,
        })?;
        let Some(defaults) = category.defaults.as_ref().filter(|_| category.active) else {
            return Err(StoreError::Invalid(format!(
                "category `{}` {}; file work orders under an active leaf category",
                category.path,
                if category.active { "is not a leaf" } else { "is inactive" }
            )));
        };
        let solutions = check_solutions(&new.solutions, &defaults.solutions, &category.path)?;
        let (template_step, template_fields) = match new.template_id {
            None => {
                if !new.template_fields.is_empty() {
                    return Err(StoreError::Invalid("template_fields need a template".into()));
                }
                (None, Map::new())
            }
            Some(tid) => {
                let t = self.template(tid).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => StoreError::Invalid(format!("unknown template `{tid}`")),
                    other => other,
                })?;
                let problems = t.value_problems(&new.template_fields);
                if !problems.is_empty() {
                    return Err(StoreError::Invalid(problems.join("; ")));
                }
                (t.steps.first().map(|s| s.key.clone()), new.template_fields.clone())
            }
        };
        if let Some(c) = new.customer_id {
            self.require_row("customers", "customer", &c.to_string()).await?;
        }
        if let Some(o) = new.owner_id {
            self.require_row("users", "owner", &o.to_string()).await?;
        }
        let team_id = new.team_id.or(Some(defaults.team_id));
        if let Some(t) = new.team_id {
            self.require_row("teams", "team", &t.to_string()).await?;
        }
        let call_id = match new.call_id.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(c) if c.chars().count() > 256 => {
                return Err(StoreError::Invalid("call_id must be at most 256 characters".into()));
            }
            Some(c) => Some(c.to_owned()),
        };
        let now = new.created_at;
        let status = if new.owner_id.is_some() { TicketStatus::Assigned } else { TicketStatus::New };
        let mut ticket = Ticket {
            id: TicketId::from_uuid(new_uuid()),
            number: String::new(),
            customer_id: new.customer_id,
            channel: new.channel,
            category_id: category.id,
            ticket_type: new.ticket_type.unwrap_or(defaults.ticket_type),
            priority: new.priority.unwrap_or(defaults.priority),
            summary,
            details,
            solutions,
            result: check_text("result", &new.result, MAX_RESULT_CHARS)?,
            status,
            pending_reason: None,
            owner_id: new.owner_id,
            team_id,
            tier: 1,
            amount: new.amount,
            media_exposure: new.media_exposure,
            template_id: new.template_id,
            template_step,
            template_fields,
            sla_state: SlaState::new(now),
            sla_targets: defaults.sla,
            sla_breached: false,
            created_by: new.created_by,
            created_at: now,
            updated_at: now,
            resolved_at: None,
            closed_at: None,
            version: 1,
        };
        let date = local_date(now, local_offset_min);
        let mut tx = self.pool().begin().await?;
        // the counter first: it takes the write lock, and rolls back with the order
        let seq: i64 = sqlx::query(
            "INSERT INTO ticket_counters (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last",
        )
        .bind(day_key(date))
        .fetch_one(&mut *tx)
        .await?
        .try_get("last")?;
        let seq = u32::try_from(seq).map_err(|_| StoreError::Corrupt(format!("ticket counter {seq}")))?;
        ticket.number = ticket_number(date, seq);
        insert_ticket_row(&mut tx, &ticket).await?;
        let mut changes = vec![(
            "created",
            json!({
                "number": ticket.number, "category": category.path, "type": ticket.ticket_type,
                "priority": ticket.priority, "status": ticket.status, "owner": ticket.owner_id, "team": ticket.team_id,
            }),
        )];
        if let Some(call) = &call_id {
            link_call_row(&mut tx, ticket.id, call, Some(new.created_by), now).await?;
            changes.push(("call_linked", json!({ "call_id": call })));
        }
        insert_changes(&mut tx, ticket.id, Some(new.created_by), now, &changes).await?;
        let events = ticket_events(
            &ticket,
            Some(new.created_by),
            now,
            &[(
                EventKind::TicketCreated,
                json!({
                    "category": ticket.category_id, "type": ticket.ticket_type, "priority": ticket.priority,
                    "channel": ticket.channel, "team": ticket.team_id, "owner": ticket.owner_id,
                }),
            )],
        );
        crate::events::insert_events(&mut tx, self.backend(), &events).await?;
        tx.commit().await?;
        self.ticket(ticket.id).await
    }

    /// A work order by id.
    pub async fn ticket(&self, id: TicketId) -> Result<Ticket> {
        let row = sqlx::query(&format!("SELECT {TICKET_COLS} FROM tickets WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "work order", id: id.to_string() })?;
        ticket_from_row(&row)
    }

    /// A work order by its number (`GD20261122-0001`).
    pub async fn ticket_by_number(&self, number: &str) -> Result<Ticket> {
        let row = sqlx::query(&format!("SELECT {TICKET_COLS} FROM tickets WHERE number = $1"))
            .bind(number)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "work order", id: number.chars().take(64).collect() })?;
        ticket_from_row(&row)
    }

    /// Changes a work order's content (one history row per field that changed). `expected_version`
    /// must be the order's current version (409 otherwise).
    pub async fn update_ticket(
        &self,
        id: TicketId,
        expected_version: i64,
        patch: &TicketPatch,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Ticket> {
        let summary = patch
            .summary
            .as_deref()
            .map(|s| check_summary(s).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()?;
        let details = patch.details.as_deref().map(|d| check_text("details", d, MAX_DETAILS_CHARS)).transpose()?;
        let result = patch.result.as_deref().map(|d| check_text("result", d, MAX_RESULT_CHARS)).transpose()?;
        if patch.amount.flatten().is_some_and(|a| a < 0) {
            return Err(StoreError::Invalid("amount cannot be negative".into()));
        }
        if let Some(Some(c)) = patch.customer_id {
            self.require_row("customers", "customer", &c.to_string()).await?;
        }
        let current = self.ticket(id).await?;
        let category_id = patch.category_id.unwrap_or(current.category_id);
        let category = self.category(category_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::Invalid(format!("unknown category `{category_id}`")),
            other => other,
        })?;
        let new_category = patch.category_id.filter(|c| *c != current.category_id);
        let allowed = match (&category.defaults, new_category) {
            (Some(d), Some(_)) if category.active => d.solutions.clone(),
            (_, Some(_)) => {
                return Err(StoreError::Invalid(format!(
                    "category `{}` is not an active leaf; pick an active leaf category",
                    category.path
                )));
            }
            (Some(d), None) => d.solutions.clone(),
            (None, None) => Vec::new(),
        };
        let solutions = match &patch.solutions {
            Some(s) => Some(check_solutions(s, &allowed, &category.path)?),
            None if new_category.is_some() => Some(check_solutions(&current.solutions, &allowed, &category.path)?),
            None => None,
        };
        let template = match (current.template_id, &patch.template_fields) {
            (Some(t), Some(_)) => Some(self.template(t).await?),
            (None, Some(f)) if !f.is_empty() => {
                return Err(StoreError::Invalid("template_fields need a template".into()));
            }
            _ => None,
        };
        if let (Some(t), Some(f)) = (&template, &patch.template_fields) {
            let problems = t.value_problems(f);
            if !problems.is_empty() {
                return Err(StoreError::Invalid(problems.join("; ")));
            }
        }
        let sla = new_category.and_then(|_| category.defaults.as_ref().map(|d| d.sla));
        let path = category.path.clone();
        self.apply_edit(id, Some(expected_version), actor, now, |t| {
            let mut e = Edit::new(t.clone());
            let n = &mut e.ticket;
            let mut fields: Vec<(&str, Value, Value)> = Vec::new();
            macro_rules! set {
                ($field:ident, $name:literal, $value:expr) => {
                    if let Some(v) = $value {
                        if n.$field != v {
                            fields.push(($name, json!(n.$field), json!(v)));
                            n.$field = v;
                        }
                    }
                };
            }
            set!(summary, "summary", summary.clone());
            set!(details, "details", details.clone());
            set!(solutions, "solutions", solutions.clone());
            set!(result, "result", result.clone());
            set!(ticket_type, "type", patch.ticket_type);
            set!(priority, "priority", patch.priority);
            set!(customer_id, "customer", patch.customer_id);
            set!(amount, "amount", patch.amount);
            set!(media_exposure, "media_exposure", patch.media_exposure);
            set!(template_fields, "template_fields", patch.template_fields.clone());
            if let Some(c) = new_category
                && n.category_id != c
            {
                fields.push(("category", json!(n.category_id), json!({ "id": c, "path": path })));
                n.category_id = c;
                if let Some(s) = sla {
                    n.sla_targets = s;
                }
            }
            e.changes = fields
                .into_iter()
                .map(|(f, from, to)| ("updated", json!({ "field": f, "from": from, "to": to })))
                .collect();
            Ok(e)
        })
        .await
    }

    /// Fails with a clear 422 when a referenced row does not exist.
    pub(crate) async fn require_row(&self, table: &'static str, what: &'static str, id: &str) -> Result<()> {
        let found = sqlx::query(&format!("SELECT 1 AS x FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .is_some();
        if found { Ok(()) } else { Err(StoreError::Invalid(format!("unknown {what} `{id}`"))) }
    }

    /// Applies `edit` to the current order under its version: with `expected` a stale version
    /// is a conflict; without, a lost race is retried on the fresh order. An edit that changes
    /// nothing writes nothing.
    pub(crate) async fn apply_edit(
        &self,
        id: TicketId,
        expected: Option<i64>,
        actor: Option<UserId>,
        now: Timestamp,
        edit: impl Fn(&Ticket) -> Result<Edit>,
    ) -> Result<Ticket> {
        for _ in 0..RETRIES {
            let current = self.ticket(id).await?;
            if let Some(v) = expected
                && v != current.version
            {
                return Err(stale(id, v, current.version));
            }
            let e = edit(&current)?;
            if e.changes.is_empty() {
                return Ok(current);
            }
            let mut tx = self.pool().begin().await?;
            let done = update_ticket_row(&mut tx, &e.ticket, current.version, now).await?;
            if done == 0 {
                drop(tx);
                if let Some(v) = expected {
                    let actual = self.ticket(id).await?.version;
                    return Err(stale(id, v, actual));
                }
                continue;
            }
            insert_changes(&mut tx, id, actor, now, &e.changes).await?;
            let events = ticket_events(&e.ticket, actor, now, &e.events);
            crate::events::insert_events(&mut tx, self.backend(), &events).await?;
            tx.commit().await?;
            return self.ticket(id).await;
        }
        Err(StoreError::Conflict(format!("work order `{id}` is changing too often right now; try again")))
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the columns an insert and an update both write, `customer_id` to `sla_targets` in
/// the order of [`TICKET_COLS`].
fn bind_content<'q>(q: AnyQuery<'q>, t: &'q Ticket) -> Result<AnyQuery<'q>> {
    Ok(q.bind(t.customer_id.map(|v| v.to_string()))
        .bind(t.channel.as_str())
        .bind(t.category_id.to_string())
        .bind(t.ticket_type.as_str())
        .bind(t.priority.code())
        .bind(&t.summary)
        .bind(&t.details)
        .bind(to_json(&t.solutions)?)
        .bind(&t.result)
        .bind(t.status.as_str())
        .bind(t.pending_reason.map(|r| r.as_str()))
        .bind(t.owner_id.map(|v| v.to_string()))
        .bind(t.team_id.map(|v| v.to_string()))
        .bind(i64::from(t.tier))
        .bind(t.amount)
        .bind(i64::from(t.media_exposure))
        .bind(t.template_id.map(|v| v.to_string()))
        .bind(t.template_step.clone())
        .bind(to_json(&t.template_fields)?)
        .bind(to_json(&t.sla_state)?)
        .bind(to_json(&t.sla_targets)?))
}

async fn insert_ticket_row(tx: &mut sqlx::Transaction<'_, sqlx::Any>, t: &Ticket) -> Result<()> {
    let sql = format!(
        "INSERT INTO tickets ({TICKET_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
    );
    bind_content(sqlx::query(&sql).bind(t.id.to_string()).bind(&t.number), t)?
        .bind(i64::from(t.sla_breached))
        .bind(t.created_by.to_string())
        .bind(t.created_at.as_millis())
        .bind(t.updated_at.as_millis())
        .bind(t.resolved_at.map(Timestamp::as_millis))
        .bind(t.closed_at.map(Timestamp::as_millis))
        .bind(t.version)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("work order number `{}` is already taken", t.number)),
                |_| {
                    StoreError::Invalid("a referenced customer, category, user, team or template does not exist".into())
                },
            )
        })?;
    Ok(())
}

/// Writes every changeable column of `t` if the stored version is still `version`; the
/// number of rows written (0: someone else changed it first).
async fn update_ticket_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    t: &Ticket,
    version: i64,
    now: Timestamp,
) -> Result<u64> {
    let q = sqlx::query(
        "UPDATE tickets SET customer_id = $1, channel = $2, category_id = $3, ticket_type = $4, priority = $5, \
         summary = $6, details = $7, solutions = $8, result = $9, status = $10, pending_reason = $11, owner_id = $12, \
         team_id = $13, tier = $14, amount = $15, media_exposure = $16, template_id = $17, template_step = $18, \
         template_fields = $19, sla_state = $20, sla_targets = $21, updated_at = $22, resolved_at = $23, \
         closed_at = $24, version = version + 1 WHERE id = $25 AND version = $26",
    );
    let done = bind_content(q, t)?
        .bind(now.as_millis())
        .bind(t.resolved_at.map(Timestamp::as_millis))
        .bind(t.closed_at.map(Timestamp::as_millis))
        .bind(t.id.to_string())
        .bind(version)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict("the change clashes with another work order".into()),
                |_| StoreError::Invalid("a referenced customer, category, user or team does not exist".into()),
            )
        })?;
    Ok(done.rows_affected())
}

/// Links a call within a transaction; linking the same call twice is a conflict.
pub(crate) async fn link_call_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ticket: TicketId,
    call_id: &str,
    actor: Option<UserId>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO ticket_calls (ticket_id, call_id, linked_by, linked_at) VALUES ($1, $2, $3, $4)")
        .bind(ticket.to_string())
        .bind(call_id)
        .bind(actor.map(|a| a.to_string()))
        .bind(now.as_millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("call `{call_id}` is already linked to this work order")),
                |_| StoreError::Invalid("the work order or the user does not exist".into()),
            )
        })?;
    Ok(())
}
