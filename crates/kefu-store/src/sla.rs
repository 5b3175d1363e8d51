//! The SLA worker's storage: the center's service configuration (business calendar,
//! escalation rules, warning percentage), each work order's timers as rows with a due time,
//! and firing them exactly once — the claim (`UPDATE … SET fired_at WHERE fired_at IS NULL`)
//! and its effect (fact row, history row, event, breach flag or tier) commit together, so a
//! crash or a second worker can neither lose nor repeat a timer. Reports read the facts.

use crate::events::{Arg, Args, EventCursor};
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, to_json, ts};
use crate::tickets::{TICKET_COLS, Ticket, insert_changes, ticket_events, ticket_from_row};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::event::EventKind;
use kefu_core::service::calendar::BusinessCalendar;
use kefu_core::service::escalation::{EscalationRule, EscalationTarget, TicketFacts, default_rules, due_escalations};
use kefu_core::service::sla::{DEFAULT_WARN_PERCENT, SlaPolicy, TimerKind, clock_start, sla_calendar, timers};
use kefu_core::service::ticket::TicketStatus;
use kefu_core::{TeamId, TicketId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The configuration key of the center's business calendar.
pub const CONFIG_CALENDAR: &str = "calendar";
/// The configuration key of the escalation rules.
pub const CONFIG_ESCALATION_RULES: &str = "escalation_rules";
/// The configuration key of the warning threshold.
pub const CONFIG_WARN_PERCENT: &str = "warn_percent";
/// The UTC offset of the default calendar: China, +08:00.
const DEFAULT_OFFSET_MIN: i32 = 480;

/// The center's service configuration. A key never set takes its default: office hours
/// Monday–Friday 09:00–18:00 at +08:00 without holidays, the default escalation rules
/// (`kefu_core::service::escalation::default_rules`) and warnings at 80 %.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceConfig {
    /// The center's business calendar (hours, holidays, make-up workdays).
    pub calendar: BusinessCalendar,
    /// The escalation rules, applied in order.
    pub escalation_rules: Vec<EscalationRule>,
    /// Warn when this percentage of an SLA target is used (0: no warnings; at most 99).
    pub warn_percent: u8,
    /// When the configuration was last changed (absent while all defaults).
    pub updated_at: Option<Timestamp>,
    /// Who last changed it.
    pub updated_by: Option<UserId>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            calendar: BusinessCalendar::office(DEFAULT_OFFSET_MIN),
            escalation_rules: default_rules(),
            warn_percent: DEFAULT_WARN_PERCENT,
            updated_at: None,
            updated_by: None,
        }
    }
}

impl ServiceConfig {
    /// Every problem at once: the calendar's, each rule's, and a warning percentage above 99.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.calendar.validate() {
            problems.extend(e.0.into_iter().map(|p| format!("calendar: {p}")));
        }
        if let Err(list) = kefu_core::service::escalation::validate_rules(&self.escalation_rules) {
            problems.extend(list.into_iter().map(|p| format!("escalation_rules: {p}")));
        }
        if self.warn_percent > 99 {
            problems.push(format!("warn_percent must be between 0 (no warnings) and 99, got {}", self.warn_percent));
        }
        problems
    }
}

/// What a timer announces: an SLA warning or breach, or an escalation rule falling due.
/// Stored and shown as the timer kind's name (`first_response_warning`, …) or `escalation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlaKind {
    /// An SLA warning or breach.
    Timer(TimerKind),
    /// An escalation rule (the rule's name is stored beside it).
    Escalation,
}

impl SlaKind {
    /// Every kind, SLA timers first.
    pub fn all() -> Vec<SlaKind> {
        TimerKind::ALL.iter().map(|k| SlaKind::Timer(*k)).chain([SlaKind::Escalation]).collect()
    }

    /// The stable name used in the database and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            SlaKind::Timer(k) => k.as_str(),
            SlaKind::Escalation => "escalation",
        }
    }

    /// Whether this is an SLA breach.
    pub const fn is_breach(self) -> bool {
        matches!(self, SlaKind::Timer(k) if k.is_breach())
    }
}

impl std::fmt::Display for SlaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for SlaKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        SlaKind::all().into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = SlaKind::all().iter().map(|k| k.as_str()).collect();
            StoreError::Invalid(format!(
                "unknown SLA event kind `{}` (expected one of {})",
                s.chars().take(40).collect::<String>(),
                names.join(", ")
            ))
        })
    }
}

impl Serialize for SlaKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SlaKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A timer a work order should have now. Its identity is (kind, rule, clock start): the due
/// time of an unfired timer may move, a fired one is never armed again.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DesiredTimer {
    /// What it announces.
    pub kind: SlaKind,
    /// The escalation rule's name; empty for SLA timers.
    pub rule: String,
    /// When the clock it measures started.
    pub clock_start: Timestamp,
    /// When it falls due.
    pub due_at: Timestamp,
}

/// A stored timer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaTimer {
    /// Unique id.
    pub id: uuid::Uuid,
    /// The work order.
    pub ticket_id: TicketId,
    /// What it announces.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: SlaKind,
    /// The escalation rule's name; empty for SLA timers.
    pub rule: String,
    /// When the clock it measures started.
    pub clock_start: Timestamp,
    /// When it falls due.
    pub due_at: Timestamp,
    /// When it fired; absent while armed.
    pub fired_at: Option<Timestamp>,
    /// When it was armed.
    pub created_at: Timestamp,
}

/// A fired timer, as a fact: a warning, a breach or an escalation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaEvent {
    /// Unique id.
    pub id: uuid::Uuid,
    /// The work order.
    pub ticket_id: TicketId,
    /// What happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: SlaKind,
    /// The escalation rule's name; empty for SLA timers.
    pub rule: String,
    /// When the timer was due.
    pub due_at: Timestamp,
    /// When it fired.
    pub at: Timestamp,
}

/// What became of a due timer handed to [`Store::fire_timer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FireOutcome {
    /// It fired: the fact, history row, event and effect are committed.
    Fired(SlaEvent),
    /// The order changed and the timer is due later now (a pause); it stays armed.
    Moved(Timestamp),
    /// The order no longer wants it (target met, order resolved, rule no longer applies); removed.
    Dropped,
    /// Another worker fired or re-armed it first; nothing was done.
    Taken,
    /// The order changed while firing; nothing was done and the timer stays armed.
    Retry,
}

/// Which SLA facts a report covers.
#[derive(Clone, Debug, Default)]
pub struct SlaReportQuery {
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub to: Option<Timestamp>,
    /// Only this kind in the list; without it, the list holds breaches.
    pub kind: Option<SlaKind>,
    /// Page of the list.
    pub page: PageRequest,
}

/// One fact in a report's list, with its work order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaReportItem {
    /// The fact.
    #[serde(flatten)]
    pub event: SlaEvent,
    /// The order's number.
    pub number: String,
    /// The order's summary.
    pub summary: String,
    /// The order's status now.
    pub status: TicketStatus,
    /// The order's group now.
    pub team_id: Option<TeamId>,
    /// The order's owner now.
    pub owner_id: Option<UserId>,
}

/// Counts of SLA facts by kind, and one page of them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaReport {
    /// Facts per kind in the period (every kind listed, zero included).
    pub counts: BTreeMap<String, i64>,
    /// Work orders with at least one breach in the period.
    pub breached_tickets: i64,
    /// The facts of the asked kind (breaches by default), oldest first.
    pub items: Vec<SlaReportItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What the escalation rules need to know about `t`, given the targets it has reached.
pub fn ticket_facts(t: &Ticket, escalated: &[EscalationTarget]) -> TicketFacts {
    TicketFacts {
        ticket_type: t.ticket_type,
        priority: t.priority,
        tier: t.tier,
        amount: t.amount,
        media_exposure: t.media_exposure,
        status: t.status,
        created_at: t.created_at,
        escalated: escalated.to_vec(),
    }
}

/// The timers `t` should have now under `cfg`: its SLA warnings and breaches on its
/// calendar (the center's when its targets count business hours, else around the clock) and
/// the escalation rules due for it; none once it is resolved, in callback or closed.
pub fn desired_timers(t: &Ticket, escalated: &[EscalationTarget], cfg: &ServiceConfig) -> Vec<DesiredTimer> {
    if !t.status.is_open() {
        return Vec::new();
    }
    let policy = SlaPolicy::from_targets(&t.sla_targets, cfg.warn_percent);
    let cal = sla_calendar(t.sla_targets.business_hours, &cfg.calendar);
    let mut out: Vec<DesiredTimer> = timers(&policy, &t.sla_state, &cal)
        .into_iter()
        .map(|spec| DesiredTimer {
            kind: SlaKind::Timer(spec.kind),
            rule: String::new(),
            clock_start: clock_start(spec.kind, &t.sla_state),
            due_at: spec.due,
        })
        .collect();
    let facts = ticket_facts(t, escalated);
    for (i, due) in due_escalations(&cfg.escalation_rules, &facts, &cfg.calendar) {
        if let Some(rule) = cfg.escalation_rules.get(i) {
            out.push(DesiredTimer {
                kind: SlaKind::Escalation,
                rule: rule.name.clone(),
                clock_start: t.created_at,
                due_at: due,
            });
        }
    }
    out
}

const TIMER_COLS: &str = "id, ticket_id, kind, rule, clock_start, due_at, fired_at, created_at";
const EVENT_COLS: &str = "id, ticket_id, kind, rule, due_at, at";

fn timer_from_row(r: &AnyRow) -> Result<SlaTimer> {
    Ok(SlaTimer {
        id: parse(r, "id")?,
        ticket_id: parse(r, "ticket_id")?,
        kind: parse(r, "kind")?,
        rule: r.try_get("rule")?,
        clock_start: ts(r, "clock_start")?,
        due_at: ts(r, "due_at")?,
        fired_at: r.try_get::<Option<i64>, _>("fired_at")?.map(Timestamp::from_millis),
        created_at: ts(r, "created_at")?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<SlaEvent> {
    Ok(SlaEvent {
        id: parse(r, "id")?,
        ticket_id: parse(r, "ticket_id")?,
        kind: parse(r, "kind")?,
        rule: r.try_get("rule")?,
        due_at: ts(r, "due_at")?,
        at: ts(r, "at")?,
    })
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// The order as committed now, read within `tx`.
async fn ticket_in(tx: &mut Tx<'_>, id: TicketId) -> Result<Option<Ticket>> {
    let row = sqlx::query(&format!("SELECT {TICKET_COLS} FROM tickets WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(ticket_from_row).transpose()
}

/// The escalation targets the order has reached, from its history (as
/// [`Store::ticket_escalations`] reads them), within `tx`.
async fn escalations_in(tx: &mut Tx<'_>, id: TicketId) -> Result<Vec<EscalationTarget>> {
    let rows = sqlx::query("SELECT detail FROM ticket_changes WHERE ticket_id = $1 AND action = 'escalated'")
        .bind(id.to_string())
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let detail: Value = crate::rows::json(r, "detail")?;
        if let Some(t) = detail.get("to").and_then(|to| serde_json::from_value(to.clone()).ok()) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The target a timer kind measures: `first_response`, `update` or `resolution`.
fn target_of(kind: TimerKind) -> &'static str {
    match kind {
        TimerKind::FirstResponseWarning | TimerKind::FirstResponseBreach => "first_response",
        TimerKind::UpdateWarning | TimerKind::UpdateBreach => "update",
        TimerKind::ResolutionWarning | TimerKind::ResolutionBreach => "resolution",
    }
}

impl Store {
    /// The service configuration, defaults filled in for keys never set.
    pub async fn service_config(&self) -> Result<ServiceConfig> {
        let rows =
            sqlx::query("SELECT key, value, updated_at, updated_by FROM service_config").fetch_all(self.pool()).await?;
        let mut cfg = ServiceConfig::default();
        for r in &rows {
            let key: String = r.try_get("key")?;
            let at = ts(r, "updated_at")?;
            if cfg.updated_at.is_none_or(|u| at > u) {
                cfg.updated_at = Some(at);
                cfg.updated_by = parse_opt(r, "updated_by")?;
            }
            match key.as_str() {
                CONFIG_CALENDAR => cfg.calendar = crate::rows::json(r, "value")?,
                CONFIG_ESCALATION_RULES => cfg.escalation_rules = crate::rows::json(r, "value")?,
                CONFIG_WARN_PERCENT => cfg.warn_percent = crate::rows::json(r, "value")?,
                _ => {} // a key of a newer version: ignored
            }
        }
        Ok(cfg)
    }

    /// Stores the whole service configuration (every key) in one transaction, after checking
    /// it ([`ServiceConfig::problems`]; 422 listing them). Returns it as stored.
    pub async fn set_service_config(
        &self,
        cfg: &ServiceConfig,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<ServiceConfig> {
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("; ")));
        }
        let values = [
            (CONFIG_CALENDAR, to_json(&cfg.calendar)?),
            (CONFIG_ESCALATION_RULES, to_json(&cfg.escalation_rules)?),
            (CONFIG_WARN_PERCENT, to_json(&cfg.warn_percent)?),
        ];
        let mut tx = self.pool().begin().await?;
        for (key, value) in values {
            sqlx::query(
                "INSERT INTO service_config (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(key)
            .bind(value)
            .bind(now.as_millis())
            .bind(by.map(|u| u.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                crate::error::constraint_error(
                    e,
                    |_| StoreError::Conflict("the configuration changed at the same time; try again".into()),
                    |_| StoreError::Invalid("the acting user does not exist".into()),
                )
            })?;
        }
        tx.commit().await?;
        self.service_config().await
    }

    /// Brings a work order's timers in step with its current state, in one transaction:
    /// every armed timer is removed and the timers it should have now ([`desired_timers`]
    /// under `cfg`) are armed, except those already fired (same kind, rule and clock start).
    /// Returns the order as it was read.
    pub async fn sync_ticket_timers(&self, id: TicketId, cfg: &ServiceConfig, now: Timestamp) -> Result<Ticket> {
        let mut tx = self.pool().begin().await?;
        // The write comes first: on SQLite it takes the write lock before anything is read,
        // on PostgreSQL it waits for a worker firing one of these timers right now.
        sqlx::query("DELETE FROM sla_timers WHERE ticket_id = $1 AND fired_at IS NULL")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let ticket = ticket_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "work order", id: id.to_string() })?;
        let escalated = escalations_in(&mut tx, id).await?;
        for d in desired_timers(&ticket, &escalated, cfg) {
            sqlx::query(
                "INSERT INTO sla_timers (id, ticket_id, kind, rule, clock_start, due_at, fired_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) ON CONFLICT (ticket_id, kind, rule, clock_start) DO NOTHING",
            )
            .bind(new_uuid().to_string())
            .bind(id.to_string())
            .bind(d.kind.as_str())
            .bind(&d.rule)
            .bind(d.clock_start.as_millis())
            .bind(d.due_at.as_millis())
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ticket)
    }

    /// Every timer of a work order, armed and fired, by due time.
    pub async fn ticket_timers(&self, id: TicketId) -> Result<Vec<SlaTimer>> {
        let rows =
            sqlx::query(&format!("SELECT {TIMER_COLS} FROM sla_timers WHERE ticket_id = $1 ORDER BY due_at, kind, id"))
                .bind(id.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(timer_from_row).collect()
    }

    /// Up to `limit` armed timers due at or before `now`, earliest first.
    pub async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<SlaTimer>> {
        let rows = sqlx::query(&format!(
            "SELECT {TIMER_COLS} FROM sla_timers WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2"
        ))
        .bind(now.as_millis())
        .bind(i64::from(limit.max(1)))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(timer_from_row).collect()
    }

    /// When the next armed timer falls due, if any is armed.
    pub async fn next_timer_due(&self) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT due_at FROM sla_timers WHERE fired_at IS NULL ORDER BY due_at LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| ts(&r, "due_at")).transpose()
    }

    /// Fires a due timer at most once, in one transaction: claims it (another worker that
    /// claimed it first wins: [`FireOutcome::Taken`]), checks against the order's committed
    /// state that it is still wanted and due (else it is removed or re-armed later), then
    /// records the fact, a history row (actor: the system) and an event — and for a breach
    /// flags the order, for an escalation raises its tier or records the role it reached.
    pub async fn fire_timer(&self, timer: &SlaTimer, now: Timestamp, cfg: &ServiceConfig) -> Result<FireOutcome> {
        let mut tx = self.pool().begin().await?;
        let claimed = sqlx::query("UPDATE sla_timers SET fired_at = $1 WHERE id = $2 AND fired_at IS NULL")
            .bind(now.as_millis())
            .bind(timer.id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 0 {
            return Ok(FireOutcome::Taken);
        }
        let Some(ticket) = ticket_in(&mut tx, timer.ticket_id).await? else {
            drop_timer(&mut tx, timer).await?;
            tx.commit().await?;
            return Ok(FireOutcome::Dropped);
        };
        let escalated = escalations_in(&mut tx, ticket.id).await?;
        let wanted = desired_timers(&ticket, &escalated, cfg)
            .into_iter()
            .find(|d| d.kind == timer.kind && d.rule == timer.rule && d.clock_start == timer.clock_start);
        let due = match wanted {
            None => {
                drop_timer(&mut tx, timer).await?;
                tx.commit().await?;
                return Ok(FireOutcome::Dropped);
            }
            Some(d) if d.due_at > now => {
                sqlx::query("UPDATE sla_timers SET fired_at = NULL, due_at = $1 WHERE id = $2")
                    .bind(d.due_at.as_millis())
                    .bind(timer.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(FireOutcome::Moved(d.due_at));
            }
            Some(d) => d.due_at,
        };
        let event = SlaEvent {
            id: new_uuid(),
            ticket_id: ticket.id,
            kind: timer.kind,
            rule: timer.rule.clone(),
            due_at: due,
            at: now,
        };
        let (ticket, change, kind, data) = match timer.kind {
            SlaKind::Timer(k) => {
                if k.is_breach() {
                    sqlx::query("UPDATE tickets SET sla_breached = 1 WHERE id = $1")
                        .bind(ticket.id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                let detail = json!({ "kind": k, "target": target_of(k), "due_at": due });
                let (action, kind) = if k.is_breach() {
                    ("sla_breach", EventKind::TicketSlaBreached)
                } else {
                    ("sla_warning", EventKind::TicketSlaWarning)
                };
                let data = json!({ "kind": k, "target": target_of(k), "due": due });
                (ticket, (action, detail), kind, data)
            }
            SlaKind::Escalation => {
                let Some(rule) = cfg.escalation_rules.iter().find(|r| r.name == timer.rule) else {
                    // desired_timers only names configured rules; nothing to apply otherwise
                    drop_timer(&mut tx, timer).await?;
                    tx.commit().await?;
                    return Ok(FireOutcome::Dropped);
                };
                let mut after = ticket.clone();
                if let EscalationTarget::Tier(n) = rule.to {
                    after.tier = n.max(ticket.tier);
                }
                let raised = sqlx::query(
                    "UPDATE tickets SET tier = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
                )
                .bind(i64::from(after.tier))
                .bind(now.as_millis())
                .bind(ticket.id.to_string())
                .bind(ticket.version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if raised == 0 {
                    return Ok(FireOutcome::Retry);
                }
                let detail = json!({
                    "from_tier": ticket.tier, "to": rule.to, "tier": after.tier, "note": null, "rule": rule.name,
                });
                let data = json!({
                    "rule": rule.name, "target": rule.to, "from_tier": ticket.tier, "tier": after.tier, "note": null,
                });
                (after, ("escalated", detail), EventKind::TicketEscalated, data)
            }
        };
        sqlx::query(&format!("INSERT INTO sla_events ({EVENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(event.id.to_string())
            .bind(event.ticket_id.to_string())
            .bind(event.kind.as_str())
            .bind(&event.rule)
            .bind(event.due_at.as_millis())
            .bind(event.at.as_millis())
            .execute(&mut *tx)
            .await?;
        insert_changes(&mut tx, ticket.id, None, now, &[change]).await?;
        let events = ticket_events(&ticket, None, now, &[(kind, data)]);
        crate::events::insert_events(&mut tx, self.backend(), &events).await?;
        tx.commit().await?;
        Ok(FireOutcome::Fired(event))
    }

    /// The SLA facts of a work order, oldest first.
    pub async fn ticket_sla_events(&self, id: TicketId) -> Result<Vec<SlaEvent>> {
        let rows = sqlx::query(&format!("SELECT {EVENT_COLS} FROM sla_events WHERE ticket_id = $1 ORDER BY at, id"))
            .bind(id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// SLA facts in a period: counts by kind, the number of breached orders, and one page of
    /// the facts of `query.kind` (breaches when none), oldest first, each with its order.
    pub async fn sla_report(&self, query: &SlaReportQuery) -> Result<SlaReport> {
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(StoreError::Invalid("from must not be after to".into()));
        }
        let period = |args: &mut Args, sql: &mut String, col: &str| {
            if let Some(from) = query.from {
                let p = args.push(Arg::Int(from.as_millis()));
                let _ = write!(sql, " AND {col} >= {p}");
            }
            if let Some(to) = query.to {
                let p = args.push(Arg::Int(to.as_millis()));
                let _ = write!(sql, " AND {col} < {p}");
            }
        };
        let mut counts: BTreeMap<String, i64> = SlaKind::all().iter().map(|k| (k.as_str().to_owned(), 0)).collect();
        let mut args = Args::default();
        let mut sql = String::from("SELECT kind, COUNT(*) AS n FROM sla_events WHERE 1 = 1");
        period(&mut args, &mut sql, "at");
        sql.push_str(" GROUP BY kind");
        for r in args.bind(&sql).fetch_all(self.pool()).await? {
            counts.insert(r.try_get("kind")?, r.try_get("n")?);
        }
        let breach_kinds: Vec<SlaKind> = SlaKind::all().into_iter().filter(|k| k.is_breach()).collect();
        let in_list = |args: &mut Args, kinds: &[SlaKind]| {
            kinds.iter().map(|k| args.push(Arg::Text(k.as_str().to_owned()))).collect::<Vec<_>>().join(", ")
        };
        let mut args = Args::default();
        let list = in_list(&mut args, &breach_kinds);
        let mut sql = format!("SELECT COUNT(DISTINCT ticket_id) AS n FROM sla_events WHERE kind IN ({list})");
        period(&mut args, &mut sql, "at");
        let breached_tickets: i64 = args.bind(&sql).fetch_one(self.pool()).await?.try_get("n")?;

        let kinds = query.kind.map_or(breach_kinds, |k| vec![k]);
        let limit = query.page.limit();
        let mut args = Args::default();
        let list = in_list(&mut args, &kinds);
        let mut sql = format!(
            "SELECT e.id, e.ticket_id, e.kind, e.rule, e.due_at, e.at, t.number, t.summary, t.status, t.team_id, \
             t.owner_id FROM sla_events e JOIN tickets t ON t.id = e.ticket_id WHERE e.kind IN ({list})"
        );
        period(&mut args, &mut sql, "e.at");
        if let Some(cursor) = query.page.cursor.as_deref() {
            let c = EventCursor::decode(cursor)?;
            let at1 = args.push(Arg::Int(c.at.as_millis()));
            let at2 = args.push(Arg::Int(c.at.as_millis()));
            let id = args.push(Arg::Text(c.id));
            let _ = write!(sql, " AND (e.at > {at1} OR (e.at = {at2} AND e.id > {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY e.at, e.id LIMIT {p}");
        let items = args
            .bind(&sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(SlaReportItem {
                    event: event_from_row(r)?,
                    number: r.try_get("number")?,
                    summary: r.try_get("summary")?,
                    status: parse(r, "status")?,
                    team_id: parse_opt(r, "team_id")?,
                    owner_id: parse_opt(r, "owner_id")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let page =
            Page::from_rows(items, limit, |i| EventCursor { at: i.event.at, id: i.event.id.to_string() }.encode());
        Ok(SlaReport { counts, breached_tickets, items: page.items, next_cursor: page.next_cursor })
    }

    /// Up to `limit` work orders in `status`, by creation, after `after` (creation time and
    /// id of the last one of the previous batch) — for recomputing every open order's timers.
    pub async fn tickets_in_status(
        &self,
        status: TicketStatus,
        after: Option<(Timestamp, TicketId)>,
        limit: u32,
    ) -> Result<Vec<(Timestamp, TicketId)>> {
        let (at, id) = after.map_or((i64::MIN, String::new()), |(t, id)| (t.as_millis(), id.to_string()));
        let rows = sqlx::query(
            "SELECT created_at, id FROM tickets WHERE status = $1 AND (created_at > $2 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit.max(1)))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((ts(r, "created_at")?, parse(r, "id")?))).collect()
    }
}

/// Removes a claimed timer the order no longer wants (it may be armed again if it is).
async fn drop_timer(tx: &mut Tx<'_>, timer: &SlaTimer) -> Result<()> {
    sqlx::query("DELETE FROM sla_timers WHERE id = $1").bind(timer.id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in SlaKind::all() {
            assert_eq!(k.as_str().parse::<SlaKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
        assert_eq!(SlaKind::all().len(), 7);
        assert!("late".parse::<SlaKind>().unwrap_err().to_string().contains("expected one of first_response_warning"));
        let breaches: Vec<&str> = SlaKind::all().into_iter().filter(|k| k.is_breach()).map(SlaKind::as_str).collect();
        assert_eq!(breaches, ["first_response_breach", "update_breach", "resolution_breach"]);
    }

    #[test]
    fn the_default_config_is_valid_and_bad_ones_list_every_problem() {
        let cfg = ServiceConfig::default();
        assert!(cfg.problems().is_empty());
        assert_eq!(cfg.calendar, BusinessCalendar::office(480));
        assert_eq!(cfg.warn_percent, 80);
        let mut bad = cfg.clone();
        bad.warn_percent = 100;
        bad.calendar.utc_offset_minutes = 2000;
        bad.escalation_rules.push(bad.escalation_rules[0].clone());
        let problems = bad.problems();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("calendar: utc_offset_minutes"), "{problems:#?}");
        assert!(problems[1].starts_with("escalation_rules: rule `tier1_unresolved_30min`"), "{problems:#?}");
        assert!(problems[2].contains("warn_percent"), "{problems:#?}");
    }
}
