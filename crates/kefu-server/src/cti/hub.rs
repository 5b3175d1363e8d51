//! The hub's task: owns the stream's state (sequence, ring buffer, subscribers, what it knows
//! of agents, calls and queues) and turns events into messages. It never awaits anything but
//! its own channel: lookups (screen-pops, the directory, queue figures) run in tasks of their
//! own and come back as commands, and sockets are fed with `try_send` only.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use kefu_core::agent::{NotReadyReason, StateKind};
use kefu_core::event::{Event, EventKind};
use kefu_core::service::customer::{mask_account, show_number};
use kefu_core::{CustomerId, InteractionId, QueueId, TeamId, Timestamp, UserId};
use serde_json::{Value, json};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use super::filter::{Scope, Sight, Viewer, sees};
use super::screen_pop::{CallerCard, CategoryPaths, caller_card};
use super::{CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, Close, Msg, Out, Resume, Start, Subscription, envelope};
use crate::acd::QueueView;
use crate::state::AppState;

mod view;
use view::{Directory, Member};

/// Queue figures are sent at most this often per queue (changes in between are coalesced).
const STATS_EVERY: Duration = Duration::from_millis(500);
/// How often the directory is read again (team moves) and forgotten calls are swept.
const HOUSEKEEPING: Duration = Duration::from_secs(60);
/// A call the hub heard nothing about for this long is forgotten (its end was missed).
const CALL_TTL_MS: i64 = 6 * 3600 * 1000;

/// What the hub is asked to do.
#[derive(Debug)]
pub(crate) enum Cmd {
    Event(Arc<Event>),
    CallVars(InteractionId, BTreeMap<String, String>),
    Subscribe(Box<SubscribeReq>),
    Unsubscribe(u64),
    Resync(u64),
    CloseSession(String),
    CloseUser(UserId),
    Shutdown,
    // results of the hub's own lookups
    Card(InteractionId, Arc<CallerCard>),
    Stats(Option<Vec<QueueView>>),
    Directory(Box<Directory>),
    Member(UserId, Option<Member>),
}

/// A socket asking to join.
#[derive(Debug)]
pub(crate) struct SubscribeReq {
    pub viewer: Viewer,
    pub token_hash: String,
    pub resume: Option<Resume>,
    pub reply: oneshot::Sender<Option<Subscription>>,
}

/// An agent's state as the events told it.
#[derive(Clone, Copy, Debug)]
struct AgentLive {
    state: StateKind,
    reason: Option<NotReadyReason>,
    call: Option<InteractionId>,
    since: Timestamp,
}

/// An offer waiting for its caller's card.
#[derive(Clone, Copy, Debug)]
struct Offer {
    agent: UserId,
    queue: Option<QueueId>,
    wait_ms: i64,
    at: Timestamp,
}

enum Card {
    None,
    Building(Vec<Offer>),
    Ready(Arc<CallerCard>),
}

/// What the hub knows of a live call.
struct CallCtx {
    seen: Timestamp,
    caller: Option<String>,
    dialled: Option<String>,
    flow: Option<String>,
    path: Vec<String>,
    /// Collected digits: variable and how many digits.
    collected: Vec<(String, usize)>,
    vars: BTreeMap<String, String>,
    queue: Option<QueueId>,
    agent: Option<UserId>,
    answered: bool,
    ended_sent: bool,
    card: Card,
}

impl CallCtx {
    fn new(at: Timestamp) -> CallCtx {
        CallCtx {
            seen: at,
            caller: None,
            dialled: None,
            flow: None,
            path: Vec::new(),
            collected: Vec::new(),
            vars: BTreeMap::new(),
            queue: None,
            agent: None,
            answered: false,
            ended_sent: false,
            card: Card::None,
        }
    }
}

/// The screen-pop last offered to an agent (for their snapshots).
struct OfferRec {
    call: InteractionId,
    masked: Value,
    clear: Value,
    customers: Arc<[CustomerId]>,
}

struct Sub {
    id: u64,
    viewer: Viewer,
    /// The viewer's sight, worked out once.
    sight: Sight,
    token_hash: String,
    tx: mpsc::Sender<Out>,
    lagging: Arc<AtomicBool>,
    close: watch::Sender<Option<Close>>,
}

/// The hub's state.
pub(crate) struct Task {
    rx: mpsc::UnboundedReceiver<Cmd>,
    me: mpsc::WeakUnboundedSender<Cmd>,
    epoch: Arc<str>,
    seq: u64,
    ring: VecDeque<Arc<Msg>>,
    ring_cap: usize,
    queue_cap: usize,
    subs: Vec<Sub>,
    next_sub: u64,
    shut: bool,
    agents: HashMap<UserId, AgentLive>,
    directory: Directory,
    asked: HashSet<UserId>,
    calls: HashMap<InteractionId, CallCtx>,
    offers: HashMap<UserId, OfferRec>,
    queues: Vec<QueueView>,
    stats_dirty: bool,
    stats_in_flight: bool,
    next_stats: tokio::time::Instant,
    categories: Arc<CategoryPaths>,
}

impl Task {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<Cmd>,
        me: mpsc::WeakUnboundedSender<Cmd>,
        ring_cap: usize,
        queue_cap: usize,
    ) -> Task {
        Task {
            rx,
            me,
            epoch: uuid::Uuid::now_v7().simple().to_string().into(),
            seq: 0,
            ring: VecDeque::with_capacity(ring_cap.min(1 << 16)),
            ring_cap,
            queue_cap,
            subs: Vec::new(),
            next_sub: 0,
            shut: false,
            agents: HashMap::new(),
            directory: Directory::default(),
            asked: HashSet::new(),
            calls: HashMap::new(),
            offers: HashMap::new(),
            queues: Vec::new(),
            stats_dirty: true,
            stats_in_flight: false,
            next_stats: tokio::time::Instant::now(),
            categories: Arc::default(),
        }
    }

    pub(crate) async fn run(mut self, state: AppState) {
        self.load_directory(&state);
        let mut housekeeping = tokio::time::interval_at(tokio::time::Instant::now() + HOUSEKEEPING, HOUSEKEEPING);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stats_due = self.stats_dirty && !self.stats_in_flight;
            tokio::select! {
                cmd = self.rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    self.command(&state, cmd);
                }
                () = tokio::time::sleep_until(self.next_stats), if stats_due => self.fetch_stats(&state),
                _ = housekeeping.tick() => {
                    self.load_directory(&state);
                    let now = state.clock.now();
                    self.calls.retain(|_, c| now.millis_since(c.seen) < CALL_TTL_MS);
                }
            }
        }
        self.close_all(Close { code: CLOSE_GOING_AWAY, reason: "the server is stopping" });
    }

    fn command(&mut self, state: &AppState, cmd: Cmd) {
        match cmd {
            Cmd::Event(e) => self.event(state, &e),
            Cmd::CallVars(call, vars) => {
                self.calls.entry(call).or_insert_with(|| CallCtx::new(state.clock.now())).vars = vars;
            }
            Cmd::Subscribe(req) => {
                let SubscribeReq { viewer, token_hash, resume, reply } = *req;
                let sub = self.subscribe(viewer, token_hash, resume, state.clock.now());
                let _ = reply.send(sub);
            }
            Cmd::Unsubscribe(id) => self.subs.retain(|s| s.id != id),
            Cmd::Resync(id) => self.resync(state, id),
            Cmd::CloseSession(hash) => {
                self.close_where(|s| s.token_hash == hash, Close { code: CLOSE_SESSION_ENDED, reason: "logged out" });
            }
            Cmd::CloseUser(user) => {
                let why = Close { code: CLOSE_SESSION_ENDED, reason: "the account changed; log in again" };
                self.close_where(|s| s.viewer.user == user, why);
                self.asked.remove(&user);
                self.ask_member(state, user);
            }
            Cmd::Shutdown => {
                self.shut = true;
                self.close_all(Close { code: CLOSE_GOING_AWAY, reason: "the server is stopping" });
            }
            Cmd::Card(call, card) => self.card_ready(state, call, card),
            Cmd::Stats(views) => self.stats(state, views),
            Cmd::Directory(d) => {
                self.directory = *d;
                self.asked.clear();
            }
            Cmd::Member(id, Some(m)) => {
                self.directory.members.insert(id, m);
                self.asked.remove(&id);
            }
            // no such user (or the read failed): not asked again until the directory is re-read
            Cmd::Member(id, None) => {
                self.directory.members.remove(&id);
            }
        }
    }

    // ------------------------------------------------------------------ publishing

    /// Numbers a message, keeps it in the ring and queues it for every socket that may see it.
    fn publish(&mut self, state: &AppState, scope: Scope, kind: &str, at: Timestamp, data: &Value, clear: Clear) {
        self.seq += 1;
        let seq = self.seq;
        let text = Utf8Bytes::from(envelope(seq, kind, at, data));
        let clear = clear.map(|(data, customers)| (Utf8Bytes::from(envelope(seq, kind, at, &data)), customers));
        let msg = Arc::new(Msg { seq, scope, text, clear });
        if self.ring.len() >= self.ring_cap {
            self.ring.pop_front();
        }
        self.ring.push_back(msg.clone());
        let mut gone = Vec::new();
        for sub in &self.subs {
            if sub.lagging.load(Ordering::Acquire) || !sees(sub.viewer.user, sub.sight, scope) {
                continue;
            }
            match sub.tx.try_send(Out::Msg(msg.clone())) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    // the socket is behind: stop feeding it; it drops its queue and gets a
                    // snapshot when it reads again
                    sub.lagging.store(true, Ordering::Release);
                    state.metrics.cti_lagging();
                    debug!(sub = sub.id, user = %sub.viewer.user, "cti socket lagging");
                }
                Err(TrySendError::Closed(_)) => gone.push(sub.id),
            }
        }
        if !gone.is_empty() {
            self.subs.retain(|s| !gone.contains(&s.id));
        }
    }

    fn team_of(&mut self, state: &AppState, agent: UserId) -> Option<TeamId> {
        match self.directory.members.get(&agent) {
            Some(m) => m.team,
            None => {
                self.ask_member(state, agent);
                None
            }
        }
    }

    fn agent_scope(&mut self, state: &AppState, agent: UserId) -> Scope {
        Scope::Agent { agent, team: self.team_of(state, agent) }
    }

    // ------------------------------------------------------------------ events

    fn event(&mut self, state: &AppState, e: &Event) {
        match e.kind {
            EventKind::AgentStateChanged => self.agent_state(state, e),
            EventKind::CallQueued => {
                self.stats_dirty = true;
                let Some(call) = e.interaction else { return };
                let ctx = self.calls.entry(call).or_insert_with(|| CallCtx::new(e.at));
                ctx.seen = e.at;
                ctx.queue = e.queue;
                ctx.agent = None;
                self.build_card(state, call);
            }
            EventKind::CallOffered => self.offered(state, e),
            EventKind::CallAnswered => {
                self.stats_dirty = true;
                if let (Some(call), Some(agent)) = (e.interaction, e.agent) {
                    if let Some(ctx) = self.calls.get_mut(&call) {
                        ctx.agent = Some(agent);
                        ctx.answered = true;
                    }
                    let detail = json!({ "wait_ms": e.data.get("wait_ms"), "ring_ms": e.data.get("ring_ms") });
                    self.progress(state, call, agent, "answered", e.at, detail);
                }
            }
            EventKind::CallNoAnswer => {
                self.stats_dirty = true;
                if let (Some(call), Some(agent)) = (e.interaction, e.agent) {
                    if let Some(ctx) = self.calls.get_mut(&call) {
                        ctx.agent = None;
                    }
                    if self.offers.get(&agent).is_some_and(|o| o.call == call) {
                        self.offers.remove(&agent);
                    }
                    let detail = json!({ "ring_ms": e.data.get("ring_ms"), "declined": e.data.get("declined") });
                    self.progress(state, call, agent, "no_answer", e.at, detail);
                }
            }
            EventKind::CallCompleted => {
                self.stats_dirty = true;
                if let (Some(call), Some(agent)) = (e.interaction, e.agent) {
                    if let Some(ctx) = self.calls.get_mut(&call) {
                        ctx.ended_sent = true;
                    }
                    let detail = json!({ "talk_ms": e.data.get("talk_ms"), "hold_ms": e.data.get("hold_ms") });
                    self.progress(state, call, agent, "ended", e.at, detail);
                }
            }
            EventKind::CallAbandoned | EventKind::CallLeftQueue => {
                self.stats_dirty = true;
                // an agent whose phone was ringing for it learns that it is gone
                let Some(call) = e.interaction else { return };
                let ringing = self.calls.get_mut(&call).and_then(|ctx| {
                    let agent = ctx.agent.filter(|_| !ctx.answered)?;
                    ctx.agent = None;
                    Some(agent)
                });
                if let Some(agent) = ringing {
                    let reason = if e.kind == EventKind::CallAbandoned { "abandoned" } else { "left_queue" };
                    self.progress(state, call, agent, "ended", e.at, json!({ "reason": reason }));
                }
            }
            // an overflow that takes the call away shows as the agent's state change
            EventKind::CallOverflowed | EventKind::QueuesMerged | EventKind::QueuesSplit => self.stats_dirty = true,
            EventKind::IvrStarted => {
                let Some(call) = e.interaction else { return };
                let ctx = self.calls.entry(call).or_insert_with(|| CallCtx::new(e.at));
                let text = |k: &str| e.data.get(k).and_then(Value::as_str).map(str::to_owned);
                ctx.caller = text("caller");
                ctx.dialled = text("dialled");
                ctx.flow = text("flow");
            }
            EventKind::IvrCollected => {
                if let Some(ctx) = e.interaction.and_then(|c| self.calls.get_mut(&c)) {
                    let var = e.data.get("var").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let digits = e.data.get("digits").and_then(Value::as_u64).unwrap_or(0);
                    ctx.collected.push((var, usize::try_from(digits).unwrap_or(0)));
                }
            }
            EventKind::IvrEnded => {
                if let Some(ctx) = e.interaction.and_then(|c| self.calls.get_mut(&c))
                    && let Some(path) = e.data.get("path").and_then(Value::as_array)
                {
                    ctx.path = path.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
                }
            }
            EventKind::LegRinging | EventKind::LegAnswered => {
                // the agent's own phone (queued calls' answers come from the ACD)
                let (Some(call), Some(agent)) = (e.interaction, e.agent) else { return };
                let queued = self.calls.get(&call).is_some_and(|c| c.queue.is_some());
                if e.kind == EventKind::LegRinging {
                    self.progress(state, call, agent, "ringing", e.at, json!({}));
                } else if !queued {
                    self.progress(state, call, agent, "answered", e.at, json!({}));
                }
            }
            EventKind::CallHeld | EventKind::CallResumed | EventKind::CallTransferred | EventKind::CallConferenced => {
                let Some(call) = e.interaction else { return };
                let Some(agent) = e.agent.or_else(|| self.calls.get(&call).and_then(|c| c.agent)) else { return };
                let (what, detail) = match e.kind {
                    EventKind::CallHeld => ("held", json!({})),
                    EventKind::CallResumed => ("resumed", json!({})),
                    EventKind::CallConferenced => ("conferenced", json!({ "with": e.data.get("with") })),
                    _ => ("transferred", json!({ "mode": e.data.get("mode") })),
                };
                self.progress(state, call, agent, what, e.at, detail);
            }
            EventKind::CallEnded => {
                let Some(call) = e.interaction else { return };
                let ctx = self.calls.remove(&call);
                let sent = ctx.as_ref().is_some_and(|c| c.ended_sent);
                let agent = e.agent.or_else(|| ctx.as_ref().and_then(|c| c.agent));
                if let (false, Some(agent)) = (sent, agent) {
                    self.progress(state, call, agent, "ended", e.at, json!({ "cause": e.data.get("cause") }));
                }
            }
            _ => self.floor_event(state, e),
        }
    }

    /// Supervisors' actions and agents' calls for help (by name, so a kind added later needs
    /// no change here): for the agent's watchers, never the agent — a silent listen stays silent.
    fn floor_event(&mut self, state: &AppState, e: &Event) {
        const FLOOR_KINDS: [&str; 3] = ["supervisor.action", "support.requested", "call.harassment"];
        let kind = e.kind.as_str();
        if !FLOOR_KINDS.contains(&kind) {
            return;
        }
        let scope = match e.agent {
            Some(agent) => Scope::Watchers { agent, team: self.team_of(state, agent) },
            None => Scope::Monitors,
        };
        let data = json!({ "agent": e.agent, "call": e.interaction, "queue": e.queue, "detail": e.data });
        self.publish(state, scope, kind, e.at, &data, None);
    }

    fn agent_state(&mut self, state: &AppState, e: &Event) {
        self.stats_dirty = true;
        let Some(agent) = e.agent else { return };
        let Some(to) = e.data.get("to").and_then(|v| serde_json::from_value::<StateKind>(v.clone()).ok()) else {
            warn!(event = %e.id, "agent state change without a readable state");
            return;
        };
        let reason = e.data.get("reason").and_then(|v| serde_json::from_value::<NotReadyReason>(v.clone()).ok());
        let live = AgentLive { state: to, reason, call: e.interaction, since: e.at };
        self.agents.insert(agent, live);
        if matches!(to, StateKind::Ready | StateKind::NotReady | StateKind::LoggedOut) {
            self.offers.remove(&agent);
        }
        let scope = self.agent_scope(state, agent);
        let mut data = self.agent_row(agent, &live);
        if let Some(obj) = data.as_object_mut() {
            obj.insert("from".into(), e.data.get("from").cloned().unwrap_or(Value::Null));
        }
        self.publish(state, scope, "agent.state", e.at, &data, None);
    }

    fn progress(
        &mut self,
        state: &AppState,
        call: InteractionId,
        agent: UserId,
        what: &str,
        at: Timestamp,
        detail: Value,
    ) {
        let queue = self.calls.get(&call).and_then(|c| c.queue);
        let mut data = json!({ "call": call, "agent": agent, "what": what, "queue": self.queue_ref(queue) });
        if let (Some(obj), Value::Object(more)) = (data.as_object_mut(), detail) {
            obj.extend(more);
        }
        let scope = self.agent_scope(state, agent);
        self.publish(state, scope, "call.progress", at, &data, None);
    }

    fn queue_ref(&self, queue: Option<QueueId>) -> Value {
        match queue {
            Some(id) => {
                let name = self.queues.iter().find(|q| q.stats.queue == id).map(|q| q.name.as_str());
                json!({ "id": id, "name": name })
            }
            None => Value::Null,
        }
    }

    // ------------------------------------------------------------------ screen-pops

    /// Starts looking the caller up, once per call.
    fn build_card(&mut self, state: &AppState, call: InteractionId) {
        let Some(ctx) = self.calls.get_mut(&call) else { return };
        if !matches!(ctx.card, Card::None) {
            return;
        }
        ctx.card = Card::Building(Vec::new());
        let caller = ctx.caller.clone();
        let (state, me, categories) = (state.clone(), self.me.clone(), self.categories.clone());
        tokio::spawn(async move {
            let card = caller_card(&state, &categories, caller.as_deref()).await;
            if let Some(tx) = me.upgrade() {
                let _ = tx.send(Cmd::Card(call, Arc::new(card)));
            }
        });
    }

    fn offered(&mut self, state: &AppState, e: &Event) {
        self.stats_dirty = true;
        let (Some(call), Some(agent)) = (e.interaction, e.agent) else { return };
        let wait_ms = e.data.get("wait_ms").and_then(Value::as_i64).unwrap_or(0);
        let offer = Offer { agent, queue: e.queue, wait_ms, at: e.at };
        let ctx = self.calls.entry(call).or_insert_with(|| CallCtx::new(e.at));
        ctx.seen = e.at;
        ctx.agent = Some(agent);
        ctx.answered = false;
        ctx.queue = e.queue.or(ctx.queue);
        match &mut ctx.card {
            Card::Ready(card) => {
                let card = card.clone();
                self.pop(state, call, offer, &card);
            }
            Card::Building(waiting) => waiting.push(offer),
            Card::None => {
                self.build_card(state, call);
                if let Some(CallCtx { card: Card::Building(waiting), .. }) = self.calls.get_mut(&call) {
                    waiting.push(offer);
                }
            }
        }
    }

    fn card_ready(&mut self, state: &AppState, call: InteractionId, card: Arc<CallerCard>) {
        let Some(ctx) = self.calls.get_mut(&call) else { return };
        let waiting = match std::mem::replace(&mut ctx.card, Card::Ready(card.clone())) {
            Card::Building(waiting) => waiting,
            _ => Vec::new(),
        };
        // only the offer still standing rings (one that rang out meanwhile is history)
        let current = ctx.agent;
        for offer in waiting.into_iter().filter(|o| Some(o.agent) == current) {
            self.pop(state, call, offer, &card);
        }
    }

    /// Publishes the screen-pop of `offer` to the offered agent (and those who watch them).
    fn pop(&mut self, state: &AppState, call: InteractionId, offer: Offer, card: &CallerCard) {
        let Some(ctx) = self.calls.get(&call) else { return };
        let data = |masked: bool| {
            let mut data = if masked { card.masked.clone() } else { card.clear.clone() };
            let collected: Vec<Value> = ctx
                .collected
                .iter()
                .map(|(var, len)| {
                    let digits = ctx.vars.get(var).map(|d| if masked { mask_account(d) } else { d.clone() });
                    json!({ "var": var, "length": len, "digits": digits })
                })
                .collect();
            let more = json!({
                "call": call,
                "agent": offer.agent,
                "queue": self.queue_ref(offer.queue.or(ctx.queue)),
                "wait_ms": offer.wait_ms,
                "caller": ctx.caller.as_deref().map(|c| show_number(c, masked)),
                "caller_masked": masked,
                "dialled": ctx.dialled,
                "ivr": {
                    "flow": ctx.flow,
                    "path": ctx.path,
                    "collected": collected,
                    "vip_tier": ctx.vars.get("vip_tier"),
                },
            });
            if let (Some(obj), Value::Object(more)) = (data.as_object_mut(), more) {
                obj.extend(more);
            }
            data
        };
        let (masked, clear) = (data(true), data(false));
        let customers: Arc<[CustomerId]> = card.customers.clone().into();
        let scope = self.agent_scope(state, offer.agent);
        self.publish(state, scope, "call.offer", offer.at, &masked, Some((clear.clone(), customers.clone())));
        self.offers.insert(offer.agent, OfferRec { call, masked, clear, customers });
    }

    // ------------------------------------------------------------------ queue figures

    fn fetch_stats(&mut self, state: &AppState) {
        self.stats_dirty = false;
        self.stats_in_flight = true;
        let (acd, me) = (state.acd.clone(), self.me.clone());
        tokio::spawn(async move {
            let views = acd.status().await.map(|s| s.queues);
            if let Some(tx) = me.upgrade() {
                let _ = tx.send(Cmd::Stats(views));
            }
        });
    }

    /// Sends the figures of every queue that changed since the last ones sent.
    fn stats(&mut self, state: &AppState, views: Option<Vec<QueueView>>) {
        self.stats_in_flight = false;
        self.next_stats = tokio::time::Instant::now() + STATS_EVERY;
        let Some(views) = views else { return };
        // while calls wait, their longest wait grows without an event: look again
        if views.iter().any(|v| v.stats.waiting > 0) {
            self.stats_dirty = true;
        }
        let changed: Vec<Value> = views
            .iter()
            .filter(|v| !self.queues.iter().any(|old| old.stats == v.stats && old.name == v.name))
            .map(|v| json!(v))
            .collect();
        self.queues = views;
        let now = state.clock.now();
        for data in changed {
            self.publish(state, Scope::Monitors, "queue.stats", now, &data, None);
        }
    }

    // ------------------------------------------------------------------ subscribers

    fn subscribe(
        &mut self,
        viewer: Viewer,
        token_hash: String,
        resume: Option<Resume>,
        now: Timestamp,
    ) -> Option<Subscription> {
        if self.shut {
            return None;
        }
        let start = match resume {
            Some(r) if self.can_resume(&r) => Start::Backlog(self.backlog(r.since, &viewer)),
            Some(_) => Start::Snapshot(self.snapshot(&viewer, "resume_unavailable", now)),
            None => Start::Snapshot(self.snapshot(&viewer, "connect", now)),
        };
        let (tx, rx) = mpsc::channel(self.queue_cap);
        let (close_tx, close_rx) = watch::channel(None);
        let lagging = Arc::new(AtomicBool::new(false));
        self.next_sub += 1;
        let id = self.next_sub;
        let sight = viewer.sight();
        self.subs.push(Sub { id, viewer, sight, token_hash, tx, lagging: lagging.clone(), close: close_tx });
        Some(Subscription { id, epoch: self.epoch.clone(), seq: self.seq, start, rx, lagging, close: close_rx })
    }

    /// Whether the ring still holds everything after `since` of this hub's numbering.
    fn can_resume(&self, r: &Resume) -> bool {
        let same_epoch = r.epoch.as_deref().is_none_or(|e| e == &*self.epoch);
        let oldest_kept = self.seq - self.ring.len() as u64;
        same_epoch && r.since <= self.seq && r.since >= oldest_kept
    }

    fn backlog(&self, since: u64, viewer: &Viewer) -> Vec<Arc<Msg>> {
        let oldest_kept = self.seq - self.ring.len() as u64;
        let skip = usize::try_from(since - oldest_kept).unwrap_or(usize::MAX);
        self.ring.iter().skip(skip).filter(|m| viewer.sees(m.scope)).cloned().collect()
    }

    fn resync(&mut self, state: &AppState, id: u64) {
        let now = state.clock.now();
        let Some(sub) = self.subs.iter().find(|s| s.id == id) else { return };
        let snapshot = self.snapshot(&sub.viewer, "lagging", now);
        match sub.tx.try_send(snapshot) {
            Ok(()) => sub.lagging.store(false, Ordering::Release),
            Err(TrySendError::Full(_)) => {} // not drained yet: it asks again
            Err(TrySendError::Closed(_)) => self.subs.retain(|s| s.id != id),
        }
    }

    fn close_where(&mut self, pred: impl Fn(&Sub) -> bool, why: Close) {
        self.subs.retain(|s| {
            if pred(s) {
                let _ = s.close.send(Some(why));
                false
            } else {
                true
            }
        });
    }

    fn close_all(&mut self, why: Close) {
        self.close_where(|_| true, why);
    }
}

/// The clear form of a message and the customers it shows.
type Clear = Option<(Value, Arc<[CustomerId]>)>;
