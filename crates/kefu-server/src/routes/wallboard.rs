//! The supervisor's wallboard (SV-1, SV-3): per queue what waits now (from the live ACD) and
//! how today went (offered, answered, abandoned, service level, ASA, abandon rate — computed
//! from today's event log with `kefu_core::kpi`, the definitions of KPI.md), every agent's
//! state with time in state and current call; the trend per 15 minutes for the chart; and the
//! amber/red alert thresholds per metric.
//!
//! "Today" starts at local midnight in the center's calendar (the service configuration's UTC
//! offset). A call counts in the interval it entered a queue (KPI.md), so a call queued
//! before midnight and answered after it is yesterday's. Today's figures are recomputed at
//! most every [`TODAY_TTL`]; what waits now and agents' states are always live.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::ClientIp;
use crate::routes::customers::masked_for;
use crate::routes::supervisor::all_users;
use crate::state::AppState;
use axum::extract::State;
use kefu_core::acd::RouterEvent;
use kefu_core::agent::{AgentState, StateKind};
use kefu_core::event::EventKind;
use kefu_core::kpi::{self, Counts, KpiAccumulator, KpiConfig};
use kefu_core::service::customer::show_number;
use kefu_core::{InteractionId, QueueId, TeamId, Timestamp, UserId};
use kefu_store::{EventQuery, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long today's figures are reused before the event log is read again.
pub const TODAY_TTL: Duration = Duration::from_secs(2);
/// The trend's interval.
pub const TREND_INTERVAL_MS: i64 = 15 * 60_000;
/// The SL threshold for all-queue totals when queues differ in theirs (KPI.md's example).
const DEFAULT_SL_MS: i64 = 20_000;
const DAY_MS: i64 = 86_400_000;
/// The settings key of the thresholds.
const THRESHOLDS_KEY: &str = "thresholds";

/// The router events KPIs are computed from.
const KPI_KINDS: [EventKind; 6] = [
    EventKind::CallQueued,
    EventKind::CallAnswered,
    EventKind::CallAbandoned,
    EventKind::CallOverflowed,
    EventKind::CallLeftQueue,
    EventKind::CallCompleted,
];

/// Today's figures, kept between requests.
#[derive(Debug, Default)]
pub struct WallboardCache(Mutex<Option<Today>>);

#[derive(Clone, Debug)]
struct Today {
    computed: Instant,
    day_start: Timestamp,
    thresholds: Vec<(QueueId, i64)>,
    queues: HashMap<QueueId, Counts>,
    total: Counts,
    /// The queue each call of today was last queued in.
    call_queue: HashMap<InteractionId, QueueId>,
}

// ------------------------------------------------------------------ thresholds

/// A wallboard metric with alert thresholds.
#[derive(Serialize, Deserialize, utoipa::ToSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Calls waiting now.
    Waiting,
    /// Longest current wait, seconds.
    LongestWaitSecs,
    /// Today's service level, 0–1 (lower is worse).
    ServiceLevel,
    /// Today's average speed of answer, seconds.
    AsaSecs,
    /// Today's abandon rate, 0–1.
    AbandonRate,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 5] =
        [Metric::Waiting, Metric::LongestWaitSecs, Metric::ServiceLevel, Metric::AsaSecs, Metric::AbandonRate];

    fn lower_is_worse(self) -> bool {
        self == Metric::ServiceLevel
    }

    fn is_fraction(self) -> bool {
        matches!(self, Metric::ServiceLevel | Metric::AbandonRate)
    }

    fn as_str(self) -> &'static str {
        match self {
            Metric::Waiting => "waiting",
            Metric::LongestWaitSecs => "longest_wait_secs",
            Metric::ServiceLevel => "service_level",
            Metric::AsaSecs => "asa_secs",
            Metric::AbandonRate => "abandon_rate",
        }
    }

    /// The defaults: the seeds' targets (SL 80 %, ASA ≤ 20 s, abandon ≤ 5 %) as amber, with
    /// red a step beyond.
    fn default_threshold(self) -> Threshold {
        let (amber, red) = match self {
            Metric::Waiting => (5.0, 10.0),
            Metric::LongestWaitSecs => (60.0, 120.0),
            Metric::ServiceLevel => (0.8, 0.7),
            Metric::AsaSecs => (20.0, 30.0),
            Metric::AbandonRate => (0.05, 0.1),
        };
        Threshold { amber, red }
    }
}

/// When a metric turns amber and red.
#[derive(Serialize, Deserialize, utoipa::ToSchema, Clone, Copy, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// At or beyond this value the cell is amber.
    pub amber: f64,
    /// At or beyond this value the cell is red.
    pub red: f64,
}

/// How bad a value is.
#[derive(Serialize, utoipa::ToSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Within the thresholds (or no data).
    Ok,
    /// Past amber.
    Amber,
    /// Past red.
    Red,
}

fn level_of(metric: Metric, t: Threshold, value: Option<f64>) -> Level {
    let Some(v) = value else { return Level::Ok };
    let past = |limit: f64| if metric.lower_is_worse() { v <= limit } else { v >= limit };
    if past(t.red) {
        Level::Red
    } else if past(t.amber) {
        Level::Amber
    } else {
        Level::Ok
    }
}

/// One metric's thresholds as shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ThresholdView {
    /// Amber from here.
    pub amber: f64,
    /// Red from here.
    pub red: f64,
    /// `higher_is_worse` or `lower_is_worse`.
    pub direction: &'static str,
}

/// The thresholds in force.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Thresholds {
    /// Per metric (`waiting`, `longest_wait_secs`, `service_level`, `asa_secs`, `abandon_rate`).
    pub metrics: BTreeMap<String, ThresholdView>,
    /// Last change (absent while all defaults).
    pub updated_at: Option<Timestamp>,
    /// Who made it.
    pub updated_by: Option<UserId>,
}

async fn load_thresholds(
    state: &AppState,
) -> ApiResult<(BTreeMap<Metric, Threshold>, Option<kefu_store::WallboardSetting>)> {
    let mut out: BTreeMap<Metric, Threshold> = Metric::ALL.iter().map(|m| (*m, m.default_threshold())).collect();
    let stored = state.store.wallboard_setting(THRESHOLDS_KEY).await?;
    if let Some(s) = &stored {
        // a stored metric this build no longer knows is ignored, not an error
        if let serde_json::Value::Object(map) = &s.value {
            for (k, v) in map {
                let (Ok(m), Ok(t)) =
                    (serde_json::from_value::<Metric>(json!(k)), serde_json::from_value::<Threshold>(v.clone()))
                else {
                    continue;
                };
                out.insert(m, t);
            }
        }
    }
    Ok((out, stored))
}

fn thresholds_view(map: &BTreeMap<Metric, Threshold>, stored: Option<&kefu_store::WallboardSetting>) -> Thresholds {
    Thresholds {
        metrics: map
            .iter()
            .map(|(m, t)| {
                let direction = if m.lower_is_worse() { "lower_is_worse" } else { "higher_is_worse" };
                (m.as_str().to_owned(), ThresholdView { amber: t.amber, red: t.red, direction })
            })
            .collect(),
        updated_at: stored.map(|s| s.updated_at),
        updated_by: stored.and_then(|s| s.updated_by),
    }
}

/// The alert thresholds per metric.
#[utoipa::path(get, path = "/api/v1/wallboard/thresholds", tag = "wallboard", security(("bearer" = [])),
    responses((status = 200, body = Thresholds), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get_thresholds(State(state): State<AppState>) -> ApiResult<Json<Thresholds>> {
    let (map, stored) = load_thresholds(&state).await?;
    Ok(Json(thresholds_view(&map, stored.as_ref())))
}

/// Changes the thresholds of the metrics given (the others keep theirs). Each needs amber and
/// red, finite and not negative, fractions (`service_level`, `abandon_rate`) at most 1, and
/// red beyond amber in the metric's direction.
#[utoipa::path(put, path = "/api/v1/wallboard/thresholds", tag = "wallboard", security(("bearer" = [])),
    request_body = BTreeMap<String, Threshold>,
    responses((status = 200, body = Thresholds), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_thresholds(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<BTreeMap<Metric, Threshold>>,
) -> ApiResult<Json<Thresholds>> {
    let mut problems = Vec::new();
    for (m, t) in &req {
        let name = m.as_str();
        if !t.amber.is_finite() || !t.red.is_finite() || t.amber < 0.0 || t.red < 0.0 {
            problems.push(format!("{name}: amber and red must be numbers of 0 or more"));
            continue;
        }
        if m.is_fraction() && (t.amber > 1.0 || t.red > 1.0) {
            problems.push(format!("{name}: amber and red are fractions from 0 to 1"));
        }
        if m.lower_is_worse() && t.red > t.amber {
            problems.push(format!("{name}: lower is worse, so red ({}) must not be above amber ({})", t.red, t.amber));
        }
        if !m.lower_is_worse() && t.red < t.amber {
            problems.push(format!("{name}: higher is worse, so red ({}) must not be below amber ({})", t.red, t.amber));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation_details("the thresholds are not valid", problems));
    }
    let (mut map, _) = load_thresholds(&state).await?;
    map.extend(req.iter().map(|(m, t)| (*m, *t)));
    let value = serde_json::to_value(&map).map_err(|e| ApiError::internal(&e))?;
    let stored = state.store.put_wallboard_setting(THRESHOLDS_KEY, &value, p.id, state.clock.now()).await?;
    let changed: Vec<&str> = req.keys().map(|m| m.as_str()).collect();
    super::audit_change(
        &state,
        &p,
        &ip,
        "wallboard.thresholds",
        THRESHOLDS_KEY.to_owned(),
        json!({ "changed": changed }),
    )
    .await;
    Ok(Json(thresholds_view(&map, Some(&stored))))
}

// ------------------------------------------------------------------ figures from the log

/// Router events of the KPI kinds at or after `since`, in time order.
async fn router_events(state: &AppState, since: Timestamp) -> ApiResult<Vec<RouterEvent>> {
    let mut out = Vec::new();
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let q = EventQuery { since: Some(since), kinds: KPI_KINDS.to_vec(), page: page.clone(), ..Default::default() };
        let got = state.store.query_events(&q).await?;
        out.extend(got.items.iter().filter_map(RouterEvent::from_event));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The KPI reports of `events` for each distinct SL threshold of `queues`, plus the
/// all-queue one (`None` key) with the common threshold, or [`DEFAULT_SL_MS`] when they differ.
fn reports(
    events: &[RouterEvent],
    origin: Timestamp,
    interval_ms: i64,
    short_abandon_ms: i64,
    queues: &[(QueueId, i64)],
) -> HashMap<Option<i64>, kpi::KpiReport> {
    let distinct: BTreeSet<i64> = queues.iter().map(|(_, t)| *t).collect();
    let total_sl =
        if distinct.len() == 1 { distinct.iter().next().copied().unwrap_or(DEFAULT_SL_MS) } else { DEFAULT_SL_MS };
    let mut out = HashMap::new();
    let keys = distinct.iter().map(|t| (Some(*t), *t)).chain([(None, total_sl)]);
    for (key, sl) in keys {
        let mut acc = KpiAccumulator::new(KpiConfig { origin, interval_ms, sl_threshold_ms: sl, short_abandon_ms });
        for e in events {
            acc.observe(e);
        }
        out.insert(key, acc.report());
    }
    out
}

/// The counts of interval `index` of a queue (or of all queues) in `report`.
fn counts_at(report: &kpi::KpiReport, queue: Option<QueueId>, index: i64) -> Counts {
    let intervals = match queue {
        Some(q) => report.queues.iter().find(|r| r.queue == q).map(|r| r.intervals.as_slice()).unwrap_or(&[]),
        None => report.intervals.as_slice(),
    };
    intervals.iter().find(|i| i.index == index).map(|i| i.counts).unwrap_or_default()
}

fn day_start(state: &AppState, now: Timestamp) -> Timestamp {
    let offset = i64::from(state.sla.config().calendar.utc_offset_minutes) * 60_000;
    let local = now.as_millis() + offset;
    Timestamp::from_millis(local.div_euclid(DAY_MS) * DAY_MS - offset)
}

async fn today(state: &AppState, thresholds: Vec<(QueueId, i64)>) -> ApiResult<Today> {
    let now = state.clock.now();
    let start = day_start(state, now);
    if let Ok(cache) = state.wallboard.0.lock()
        && let Some(t) = cache.as_ref()
        && t.day_start == start
        && t.thresholds == thresholds
        && t.computed.elapsed() < TODAY_TTL
    {
        return Ok(t.clone());
    }
    let events = router_events(state, start).await?;
    let short = state.settings.acd().short_abandon_ms;
    let reports = reports(&events, start, DAY_MS, short, &thresholds);
    let queues = thresholds
        .iter()
        .map(|(q, t)| (*q, reports.get(&Some(*t)).map(|r| counts_at(r, Some(*q), 0)).unwrap_or_default()))
        .collect();
    let total = reports.get(&None).map(|r| counts_at(r, None, 0)).unwrap_or_default();
    let mut call_queue = HashMap::new();
    for e in &events {
        if let kefu_core::acd::RouterEventDetail::CallQueued { call, queue, .. } = &e.detail {
            call_queue.insert(*call, *queue);
        }
    }
    let t = Today { computed: Instant::now(), day_start: start, thresholds, queues, total, call_queue };
    if let Ok(mut cache) = state.wallboard.0.lock() {
        *cache = Some(t.clone());
    }
    Ok(t)
}

// ------------------------------------------------------------------ the wallboard

/// Today's figures and what waits now, for one queue or all.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueFigures {
    /// The queue (absent for the totals).
    pub id: Option<QueueId>,
    /// Its name (`all` for the totals).
    pub name: String,
    /// Calls waiting now.
    pub waiting: u32,
    /// Longest current wait, ms.
    pub longest_wait_ms: i64,
    /// The service-level threshold, seconds.
    pub sl_threshold_secs: i64,
    /// Calls that entered the queue today.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned (short abandons included).
    pub abandoned: u64,
    /// Of the abandoned, short ones (left out of the rates).
    pub short_abandoned: u64,
    /// Calls that left by an overflow rule.
    pub overflowed: u64,
    /// Answered within T ÷ (answered + abandoned after T), today; none before any such call.
    pub service_level: Option<f64>,
    /// Σ wait of answered ÷ answered, seconds, today.
    pub asa_secs: Option<f64>,
    /// Abandoned ÷ (answered + abandoned), short abandons left out, today.
    pub abandon_rate: Option<f64>,
    /// Agents (qualified for the queue; for the totals every agent) by state.
    pub agents: BTreeMap<String, u32>,
    /// Each metric's alert level.
    pub alerts: BTreeMap<String, Level>,
}

/// An agent's live card.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgentCard {
    /// User id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Login name.
    pub username: String,
    /// Extension.
    pub extension: Option<String>,
    /// Team id.
    pub team_id: Option<TeamId>,
    /// Team name.
    pub team: Option<String>,
    /// `logged_out`, `ready`, `not_ready`, `reserved`, `talking`, `on_hold`, `after_call_work`.
    pub state: StateKind,
    /// Why not ready.
    pub reason: Option<kefu_core::agent::NotReadyReason>,
    /// In this state since (epoch ms); none when never signed in since the start.
    pub since: Option<Timestamp>,
    /// Time in state, ms.
    pub time_in_state_ms: Option<i64>,
    /// The ACD call the state is about (ringing, talking, on hold, wrapping up).
    pub call: Option<InteractionId>,
    /// The queue of that call.
    pub queue_id: Option<QueueId>,
    /// Its name.
    pub queue: Option<String>,
    /// The live call on the agent's phone, if any.
    pub live_call: Option<LiveCall>,
}

/// A live call on an agent's phone.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveCall {
    /// Call id.
    pub id: String,
    /// `ringing`, `talking`, `held`, `consulting`, `transferring`.
    pub state: &'static str,
    /// The customer's number, masked unless the caller holds `pii_read`.
    pub customer: String,
    /// Answered at (epoch ms).
    pub answered_at: Option<i64>,
    /// Supervisors' monitor legs on it.
    pub monitored: bool,
}

/// A threshold breach.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// The queue (absent: all queues).
    pub queue_id: Option<QueueId>,
    /// Its name.
    pub queue: String,
    /// The metric.
    pub metric: Metric,
    /// Amber or red.
    pub level: Level,
    /// The value.
    pub value: f64,
}

/// The wallboard.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Wallboard {
    /// When (epoch ms).
    pub at: Timestamp,
    /// Local midnight today (epoch ms): today's figures count calls queued since.
    pub day_start: Timestamp,
    /// Every queue.
    pub queues: Vec<QueueFigures>,
    /// All queues together.
    pub total: QueueFigures,
    /// Every agent (enabled agents, and anyone signed in to the ACD).
    pub agents: Vec<AgentCard>,
    /// Metrics past amber or red, worst first.
    pub alerts: Vec<Alert>,
}

#[allow(clippy::too_many_arguments, reason = "the figures of one card, from the live ACD and today's counts")]
fn figures(
    id: Option<QueueId>,
    name: String,
    waiting: u32,
    longest_wait_ms: i64,
    sl_ms: i64,
    c: &Counts,
    agents: BTreeMap<String, u32>,
    thresholds: &BTreeMap<Metric, Threshold>,
    alerts: &mut Vec<Alert>,
) -> QueueFigures {
    let k = kpi::Kpis::from_counts(c);
    let values = [
        (Metric::Waiting, Some(f64::from(waiting))),
        (Metric::LongestWaitSecs, Some(longest_wait_ms as f64 / 1000.0)),
        (Metric::ServiceLevel, k.service_level),
        (Metric::AsaSecs, k.asa_secs),
        (Metric::AbandonRate, k.abandon_rate),
    ];
    let mut levels = BTreeMap::new();
    for (m, v) in values {
        let t = thresholds.get(&m).copied().unwrap_or_else(|| m.default_threshold());
        let level = level_of(m, t, v);
        if level != Level::Ok
            && let Some(value) = v
        {
            alerts.push(Alert { queue_id: id, queue: name.clone(), metric: m, level, value });
        }
        levels.insert(m.as_str().to_owned(), level);
    }
    QueueFigures {
        id,
        name,
        waiting,
        longest_wait_ms,
        sl_threshold_secs: sl_ms / 1000,
        offered: c.offered,
        answered: c.answered,
        abandoned: c.abandoned,
        short_abandoned: c.short_abandoned,
        overflowed: c.overflowed,
        service_level: k.service_level,
        asa_secs: k.asa_secs,
        abandon_rate: k.abandon_rate,
        agents,
        alerts: levels,
    }
}

fn state_call(s: &AgentState) -> Option<InteractionId> {
    match s {
        AgentState::Reserved { call }
        | AgentState::Talking { call }
        | AgentState::OnHold { call }
        | AgentState::AfterCallWork { call, .. } => Some(*call),
        _ => None,
    }
}

/// Every queue with what waits now and today's figures, every agent's state and call, and
/// the metrics past their thresholds.
#[utoipa::path(get, path = "/api/v1/wallboard", tag = "wallboard", security(("bearer" = [])),
    responses((status = 200, body = Wallboard), (status = 403, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn wallboard(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Wallboard>> {
    let status = state
        .acd
        .status()
        .await
        .ok_or_else(|| ApiError::new(crate::error::ErrorCode::Unavailable, "the ACD is stopped"))?;
    let queue_thresholds: Vec<(QueueId, i64)> =
        status.queues.iter().map(|q| (q.stats.queue, q.stats.sl_threshold_ms)).collect();
    let today = today(&state, queue_thresholds).await?;
    let (thresholds, _) = load_thresholds(&state).await?;
    let now = state.clock.now();
    let names: HashMap<QueueId, String> = status.queues.iter().map(|q| (q.stats.queue, q.name.clone())).collect();

    // agents
    let users = all_users(&state).await?;
    let mut teams: HashMap<TeamId, String> = HashMap::new();
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let got = state.store.list_teams(&page).await?;
        teams.extend(got.items.into_iter().map(|t| (t.id, t.name)));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let calls = state.telephony.as_ref().map(|t| t.sip.calls()).unwrap_or_default();
    let masked = masked_for(&p);
    let mut agents = Vec::new();
    let mut by_state: BTreeMap<String, u32> = BTreeMap::new();
    for u in &users {
        let view = status.agents.iter().find(|a| a.agent == u.id);
        if view.is_none() && !(u.enabled && u.role == kefu_core::Role::Agent) {
            continue;
        }
        let kind = view.map_or(StateKind::LoggedOut, |v| v.state.kind());
        *by_state.entry(kind.as_str().to_owned()).or_default() += 1;
        let call = view.and_then(|v| state_call(&v.state));
        let mut queue_id = call.and_then(|c| today.call_queue.get(&c).copied());
        if queue_id.is_none()
            && let Some(c) = call
        {
            let q = EventQuery {
                interaction: Some(c),
                kinds: vec![EventKind::CallQueued],
                page: PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None },
                ..Default::default()
            };
            queue_id = state.store.query_events(&q).await?.items.last().and_then(|e| e.queue);
        }
        let extension = view.and_then(|v| v.extension.clone()).or_else(|| u.extension.clone());
        let live_call = extension
            .as_deref()
            .and_then(|ext| calls.iter().find(|c| c.agent.as_deref() == Some(ext)))
            .map(|c| LiveCall {
                id: c.id.0.clone(),
                state: c.state,
                customer: show_number(&c.customer, masked),
                answered_at: c.answered_at_ms,
                monitored: c.legs.iter().any(|l| l.role.as_str() == "monitor" && l.state != "ended"),
            });
        agents.push(AgentCard {
            id: u.id,
            name: u.display_name.clone(),
            username: u.username.clone(),
            extension,
            team_id: u.team_id,
            team: u.team_id.and_then(|t| teams.get(&t).cloned()),
            state: kind,
            reason: match view.map(|v| &v.state) {
                Some(AgentState::NotReady { reason }) => Some(*reason),
                _ => None,
            },
            since: view.map(|v| v.since),
            time_in_state_ms: view.map(|v| now.millis_since(v.since).max(0)),
            call,
            queue: queue_id.and_then(|q| names.get(&q).cloned()),
            queue_id,
            live_call,
        });
    }

    // queues
    let mut alerts = Vec::new();
    let mut queues = Vec::new();
    let (mut waiting, mut longest) = (0u32, 0i64);
    for q in &status.queues {
        let s = &q.stats;
        waiting += s.waiting;
        longest = longest.max(s.longest_wait_ms);
        let agents_by_state = s.agents.iter().map(|(k, n)| (k.as_str().to_owned(), *n)).collect();
        let counts = today.queues.get(&s.queue).copied().unwrap_or_default();
        queues.push(figures(
            Some(s.queue),
            q.name.clone(),
            s.waiting,
            s.longest_wait_ms,
            s.sl_threshold_ms,
            &counts,
            agents_by_state,
            &thresholds,
            &mut alerts,
        ));
    }
    let distinct: BTreeSet<i64> = status.queues.iter().map(|q| q.stats.sl_threshold_ms).collect();
    let total_sl =
        if distinct.len() == 1 { distinct.iter().next().copied().unwrap_or(DEFAULT_SL_MS) } else { DEFAULT_SL_MS };
    let total =
        figures(None, "all".into(), waiting, longest, total_sl, &today.total, by_state, &thresholds, &mut alerts);
    alerts.sort_by(|a, b| b.level.cmp(&a.level).then(a.queue.cmp(&b.queue)));
    Ok(Json(Wallboard { at: now, day_start: today.day_start, queues, total, agents, alerts }))
}

// ------------------------------------------------------------------ the trend

/// The trend's range.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// How many hours back, 1–24 (default 8).
    pub hours: Option<u32>,
}

/// One 15-minute interval.
#[derive(Serialize, utoipa::ToSchema, Clone)]
pub struct TrendPoint {
    /// Start of the interval (epoch ms).
    pub start: Timestamp,
    /// Calls that entered the queue in it.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned (short ones included).
    pub abandoned: u64,
    /// Service level of those calls; none without any answered or long-abandoned.
    pub service_level: Option<f64>,
}

/// One queue's trend.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueTrend {
    /// The queue (absent for all queues).
    pub id: Option<QueueId>,
    /// Its name (`all` for all queues).
    pub name: String,
    /// Every interval of the range, oldest first (empty ones included).
    pub points: Vec<TrendPoint>,
}

/// The trend for the chart.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Trend {
    /// Interval length, seconds (900).
    pub interval_secs: i64,
    /// Start of the first interval (epoch ms).
    pub from: Timestamp,
    /// Now (epoch ms).
    pub to: Timestamp,
    /// Per queue.
    pub queues: Vec<QueueTrend>,
    /// All queues.
    pub total: QueueTrend,
}

fn points(report: Option<&kpi::KpiReport>, queue: Option<QueueId>, first: i64, last: i64) -> Vec<TrendPoint> {
    (first..=last)
        .map(|i| {
            let c = report.map(|r| counts_at(r, queue, i)).unwrap_or_default();
            TrendPoint {
                start: Timestamp::from_millis(i * TREND_INTERVAL_MS),
                offered: c.offered,
                answered: c.answered,
                abandoned: c.abandoned,
                service_level: kpi::service_level(&c),
            }
        })
        .collect()
}

/// Offered, answered, abandoned and service level per queue and 15 minutes over the last
/// hours (calls counted in the interval they entered the queue).
#[utoipa::path(get, path = "/api/v1/wallboard/trend", tag = "wallboard", security(("bearer" = [])), params(TrendQuery),
    responses((status = 200, body = Trend), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn trend(State(state): State<AppState>, Query(q): Query<TrendQuery>) -> ApiResult<Json<Trend>> {
    let hours = q.hours.unwrap_or(8);
    if !(1..=24).contains(&hours) {
        return Err(ApiError::bad_request(format!("hours must be 1–24, got {hours}")));
    }
    let status = state
        .acd
        .status()
        .await
        .ok_or_else(|| ApiError::new(crate::error::ErrorCode::Unavailable, "the ACD is stopped"))?;
    let now = state.clock.now();
    let last = now.as_millis().div_euclid(TREND_INTERVAL_MS);
    let first = last - i64::from(hours) * 4 + 1;
    let from = Timestamp::from_millis(first * TREND_INTERVAL_MS);
    let events = router_events(&state, from).await?;
    let thresholds: Vec<(QueueId, i64)> =
        status.queues.iter().map(|q| (q.stats.queue, q.stats.sl_threshold_ms)).collect();
    let short = state.settings.acd().short_abandon_ms;
    let reports = reports(&events, Timestamp::from_millis(0), TREND_INTERVAL_MS, short, &thresholds);
    let queues = status
        .queues
        .iter()
        .map(|q| QueueTrend {
            id: Some(q.stats.queue),
            name: q.name.clone(),
            points: points(reports.get(&Some(q.stats.sl_threshold_ms)), Some(q.stats.queue), first, last),
        })
        .collect();
    let total = QueueTrend { id: None, name: "all".into(), points: points(reports.get(&None), None, first, last) };
    Ok(Json(Trend { interval_secs: TREND_INTERVAL_MS / 1000, from, to: now, queues, total }))
}
