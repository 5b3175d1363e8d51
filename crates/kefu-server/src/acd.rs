//! The live ACD: one task owns the router (`kefu_core::acd::Router`), feeds it agent state
//! changes and call progress, fires its timers, writes its events to the log, and tells each
//! waiting call's IVR task what the router decided for it (ring this agent, stop ringing,
//! announce the position, overflow).

use std::collections::HashMap;
use std::time::Duration;

use kefu_core::acd::{
    AcdError, AcdSettings, Action, Input, OverflowAction, Priority, QueueConfig, QueueStats, Router, SkillRequirement,
};
use kefu_core::agent::AgentState;
use kefu_core::{EventId, InteractionId, QueueId, UserId};
use kefu_store::{PageRequest, Store};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::clock::Clock;
use crate::event_sink::EventSink;

/// What the router decided for a queued call, sent to the task that holds the call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallNote {
    /// Ring this agent.
    Offer {
        /// The agent.
        agent: UserId,
        /// Their extension (none: they cannot be rung; reject the offer).
        extension: Option<String>,
    },
    /// Stop ringing this agent (the router's own ring timer ran out).
    CancelOffer {
        /// The agent.
        agent: UserId,
    },
    /// Tell the caller their position and estimated wait.
    Announce {
        /// 1-based position.
        position: usize,
        /// Estimated wait, seconds.
        ewt_secs: u32,
    },
    /// A queue overflow rule fired.
    Overflow {
        /// Where the call goes.
        action: OverflowAction,
    },
}

/// Why a call could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnqueueError {
    /// No queue of that name.
    #[error("no queue named `{0}`")]
    UnknownQueue(String),
    /// The router refused.
    #[error("{0}")]
    Refused(String),
    /// The ACD is not running.
    #[error("the ACD is not running")]
    Stopped,
}

/// One agent as the ACD sees them.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    /// The agent.
    pub agent: UserId,
    /// Their extension.
    pub extension: Option<String>,
    /// Their state (with the call, for call states).
    #[serde(flatten)]
    pub state: AgentState,
    /// When they entered it (epoch ms).
    pub since: kefu_core::Timestamp,
}

/// One queue's live figures.
#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    /// The queue's name.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub stats: QueueStats,
}

/// The ACD right now.
#[derive(Debug, Clone, Serialize)]
pub struct AcdStatus {
    /// Agents signed in (or who were since the start).
    pub agents: Vec<AgentView>,
    /// Every queue.
    pub queues: Vec<QueueView>,
}

enum Cmd {
    Input(Input, Option<oneshot::Sender<Result<(), AcdError>>>),
    Login {
        agent: UserId,
        extension: Option<String>,
        input: Input,
        reply: oneshot::Sender<Result<(), AcdError>>,
    },
    Enqueue {
        call: InteractionId,
        queue: String,
        priority: Priority,
        notes: mpsc::UnboundedSender<CallNote>,
        reply: oneshot::Sender<Result<QueueId, EnqueueError>>,
    },
    Status(oneshot::Sender<AcdStatus>),
    Position(InteractionId, oneshot::Sender<Option<(usize, u32)>>),
    QueueId(String, oneshot::Sender<Option<QueueId>>),
}

/// Handle to the ACD task (cheap to clone).
#[derive(Clone, Debug)]
pub struct Acd {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcdCmd")
    }
}

/// Every queue in the store, as the router sees it.
pub async fn queue_configs(store: &Store) -> anyhow::Result<Vec<QueueConfig>> {
    let mut out = Vec::new();
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let got = store.list_queues(&page).await?;
        for q in got.items {
            let mut cfg = QueueConfig::new(q.id, q.name);
            cfg.strategy = q.strategy;
            cfg.skills =
                q.skills.iter().map(|s| SkillRequirement { skill: s.skill_id, min: s.min_proficiency }).collect();
            cfg.sl_threshold_ms = i64::from(q.targets.service_level_secs) * 1000;
            cfg.overflow = q.overflow;
            out.push(cfg);
        }
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

impl Acd {
    /// Starts the ACD over the store's queues.
    pub async fn start(store: &Store, settings: AcdSettings, clock: Clock, events: EventSink) -> anyhow::Result<Acd> {
        let mut queues = queue_configs(store).await?;
        let router = match Router::new(settings.clone(), queues.clone()) {
            Ok(r) => r,
            Err(problems) => {
                // A rule naming a queue deleted since (say) must not keep the server from
                // starting: set the broken queues' overflow rules aside, loudly, and route.
                for p in &problems {
                    warn!(problem = %p, "ACD configuration problem");
                }
                for (i, q) in queues.iter_mut().enumerate() {
                    let prefix = format!("queues[{i}].overflow");
                    if problems.iter().any(|p| p.field.starts_with(&prefix)) {
                        warn!(queue = %q.name, "the queue's overflow rules are ignored until they are fixed");
                        q.overflow.clear();
                    }
                }
                Router::new(settings, queues).map_err(|problems| {
                    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    anyhow::anyhow!("the queues cannot be routed: {}", text.join("; "))
                })?
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task =
            Task { router, clock, events, names: HashMap::new(), extensions: HashMap::new(), calls: HashMap::new() };
        tokio::spawn(task.run(rx));
        Ok(Acd { tx })
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).ok()?;
        rx.await.ok()
    }

    /// Applies an input and waits for the router's verdict.
    pub async fn input(&self, input: Input) -> Result<(), AcdError> {
        self.ask(|tx| Cmd::Input(input, Some(tx))).await.unwrap_or(Ok(()))
    }

    /// Applies an input without waiting (call progress from the IVR tasks).
    pub fn tell(&self, input: Input) {
        let _ = self.tx.send(Cmd::Input(input, None));
    }

    /// Signs an agent in (not ready) with their skills and the extension offers ring.
    pub async fn login(
        &self,
        agent: UserId,
        extension: Option<String>,
        skills: Vec<(kefu_core::SkillId, kefu_core::org::Proficiency)>,
    ) -> Result<(), AcdError> {
        let input = Input::AgentLogin { agent, skills };
        self.ask(|reply| Cmd::Login { agent, extension, input, reply }).await.unwrap_or(Ok(()))
    }

    /// Queues a call; the router's decisions for it arrive on `notes`.
    pub async fn enqueue(
        &self,
        call: InteractionId,
        queue: &str,
        priority: Priority,
        notes: mpsc::UnboundedSender<CallNote>,
    ) -> Result<QueueId, EnqueueError> {
        let queue = queue.to_owned();
        self.ask(|reply| Cmd::Enqueue { call, queue, priority, notes, reply })
            .await
            .unwrap_or(Err(EnqueueError::Stopped))
    }

    /// The call's position and estimated wait, if it is waiting.
    pub async fn position(&self, call: InteractionId) -> Option<(usize, u32)> {
        self.ask(|tx| Cmd::Position(call, tx)).await.flatten()
    }

    /// The id of the queue of this name.
    pub async fn queue_id(&self, name: &str) -> Option<QueueId> {
        let name = name.to_owned();
        self.ask(|tx| Cmd::QueueId(name, tx)).await.flatten()
    }

    /// Agents and queues now.
    pub async fn status(&self) -> Option<AcdStatus> {
        self.ask(Cmd::Status).await
    }
}

struct Task {
    router: Router,
    clock: Clock,
    events: EventSink,
    /// Queue name → id.
    names: HashMap<String, QueueId>,
    extensions: HashMap<UserId, Option<String>>,
    /// Where each queued call's decisions go.
    calls: HashMap<InteractionId, mpsc::UnboundedSender<CallNote>>,
}

/// The longest the task sleeps without looking at the clock (the test clock can jump).
const MAX_SLEEP: Duration = Duration::from_millis(250);

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut out = Vec::new();
        loop {
            let sleep = match self.router.next_deadline() {
                Some(at) => {
                    let ms = at.millis_since(self.clock.now()).max(0);
                    Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(MAX_SLEEP)
                }
                None => MAX_SLEEP,
            };
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { return };
                    self.command(cmd, &mut out);
                }
                () = tokio::time::sleep(sleep) => {
                    let now = self.clock.now();
                    if self.router.next_deadline().is_some_and(|at| at <= now)
                        && let Err(e) = self.router.handle_into(now, Input::Tick, &mut out)
                    {
                        warn!(error = %e, "ACD tick failed");
                    }
                }
            }
            self.dispatch(&mut out);
        }
    }

    fn command(&mut self, cmd: Cmd, out: &mut Vec<Action>) {
        let now = self.clock.now();
        match cmd {
            Cmd::Input(input, reply) => {
                let forget = match &input {
                    Input::CallAbandoned { call } | Input::CallEnded { call } | Input::CallLeft { call, .. } => {
                        Some(*call)
                    }
                    _ => None,
                };
                let result = self.router.handle_into(now, input, out);
                if let Err(e) = &result {
                    debug!(error = %e, "ACD input refused");
                }
                if let Some(call) = forget {
                    self.calls.remove(&call);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Cmd::Login { agent, extension, input, reply } => {
                self.extensions.insert(agent, extension);
                let _ = reply.send(self.router.handle_into(now, input, out));
            }
            Cmd::Enqueue { call, queue, priority, notes, reply } => {
                let id = match self.queue_id(&queue) {
                    Some(id) => id,
                    None => {
                        let _ = reply.send(Err(EnqueueError::UnknownQueue(queue)));
                        return;
                    }
                };
                self.calls.insert(call, notes);
                let input = Input::CallQueued { call, queue: id, priority, customer: None };
                let result = self.router.handle_into(now, input, out);
                if result.is_err() {
                    self.calls.remove(&call);
                }
                let _ = reply.send(result.map(|()| id).map_err(|e| EnqueueError::Refused(e.to_string())));
            }
            Cmd::Status(reply) => {
                let agents = self
                    .router
                    .agent_ids()
                    .filter_map(|id| {
                        let a = self.router.agent(id)?;
                        Some(AgentView {
                            agent: id,
                            extension: self.extensions.get(&id).cloned().flatten(),
                            state: a.state(),
                            since: a.since(),
                        })
                    })
                    .collect();
                let mut queues: Vec<QueueView> = self
                    .all_queues()
                    .into_iter()
                    .filter_map(|(name, id)| Some(QueueView { name, stats: self.router.stats(id, now)? }))
                    .collect();
                queues.sort_by(|a, b| a.name.cmp(&b.name));
                let _ = reply.send(AcdStatus { agents, queues });
            }
            Cmd::QueueId(name, reply) => {
                let _ = reply.send(self.queue_id(&name));
            }
            Cmd::Position(call, reply) => {
                let got = self.router.position(call, now).map(|(q, p)| (p, self.router.ewt_secs(q, p).unwrap_or(0)));
                let _ = reply.send(got);
            }
        }
    }

    fn all_queues(&mut self) -> Vec<(String, QueueId)> {
        self.router.queue_names().map(|(id, name)| (name.to_owned(), id)).collect()
    }

    fn queue_id(&mut self, name: &str) -> Option<QueueId> {
        if self.names.is_empty() {
            self.names = self.all_queues().into_iter().collect();
        }
        self.names.get(name).copied()
    }

    /// Performs what the router decided.
    fn dispatch(&mut self, out: &mut Vec<Action>) {
        for action in out.drain(..) {
            match action {
                Action::Offer { call, agent, .. } => {
                    let extension = self.extensions.get(&agent).cloned().flatten();
                    self.note(call, CallNote::Offer { agent, extension });
                }
                Action::CancelOffer { call, agent } => self.note(call, CallNote::CancelOffer { agent }),
                Action::Announce { call, position, ewt_secs } => {
                    self.note(call, CallNote::Announce { position, ewt_secs });
                }
                Action::Overflow { call, action, .. } => {
                    let leaves = action.leaves_router();
                    self.note(call, CallNote::Overflow { action });
                    if leaves {
                        self.calls.remove(&call);
                    }
                }
                Action::Event(e) => self.events.send(e.to_event(EventId::from_uuid(uuid::Uuid::now_v7()))),
            }
        }
    }

    fn note(&self, call: InteractionId, note: CallNote) {
        match self.calls.get(&call) {
            Some(tx) => {
                if tx.send(note).is_err() {
                    debug!(%call, "the call's task is gone");
                }
            }
            None => debug!(%call, "a decision for a call the ACD does not hold"),
        }
    }
}
