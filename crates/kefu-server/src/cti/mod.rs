//! The live CTI stream (`GET /api/v1/events`, AG-3, SV-1, SV-3): one hub per node receives
//! every event the ACD, the IVR and telephony produce, turns the relevant ones into messages
//! (`agent.state`, `call.offer` with the screen-pop, `call.progress`, `queue.stats`), numbers
//! them (`seq`), keeps the last ones in a ring buffer for reconnecting clients, and hands each
//! to the sockets allowed to see it (see `filter`). The hub never waits on a socket: each has
//! a bounded queue, and one that falls behind loses its queue and gets a snapshot instead
//! (ADR 0012).
//!
//! Frames are JSON text: `{"seq":123,"type":"agent.state","at":"…","data":{…}}`.

pub mod filter;
mod hub;
pub mod screen_pop;
pub mod socket;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use kefu_core::event::Event;
use kefu_core::{CustomerId, InteractionId, Timestamp, UserId};
use tokio::sync::{mpsc, oneshot, watch};

pub use filter::{Scope, Sight, Viewer};

/// How often the server sends a `heartbeat` (and re-checks the socket's session).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Close code for a session that ended (logout, revoked, expired, account disabled or
/// changed): the client must log in (again) before reconnecting.
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Close code when the server shuts down (WebSocket "going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// Why the server closes a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// Words for people (and logs).
    pub reason: &'static str,
}

/// One numbered message of the stream. Messages that show customers' numbers carry a clear
/// form for viewers with `pii_read` beside the masked one.
#[derive(Debug)]
pub struct Msg {
    /// Its place in the node's stream.
    pub seq: u64,
    /// Who may receive it.
    pub scope: Scope,
    /// The frame (masked where masking applies).
    pub text: Utf8Bytes,
    /// The frame in clear, and the customers it shows.
    pub clear: Option<(Utf8Bytes, Arc<[CustomerId]>)>,
}

impl Msg {
    /// The frame for a viewer, with the customers shown in clear (to audit).
    pub fn frame_for(&self, pii: bool) -> (&Utf8Bytes, &[CustomerId]) {
        match &self.clear {
            Some((clear, customers)) if pii => (clear, customers),
            _ => (&self.text, &[]),
        }
    }
}

/// What a socket's queue carries.
#[derive(Debug)]
pub enum Out {
    /// A message of the stream.
    Msg(Arc<Msg>),
    /// A snapshot made for this socket (after it lagged), with the customers it shows in clear.
    Snapshot {
        /// The stream position it reflects.
        seq: u64,
        /// The frame.
        text: Utf8Bytes,
        /// Customers shown in clear.
        customers: Vec<CustomerId>,
    },
}

/// Where a reconnecting client left off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The `seq` of the last message it received.
    pub since: u64,
    /// The `epoch` of the hub that numbered it (from `hello`).
    pub epoch: Option<String>,
}

/// How a subscription starts.
#[derive(Debug)]
pub enum Start {
    /// The missed messages this viewer may see, in order (a resume).
    Backlog(Vec<Arc<Msg>>),
    /// A fresh picture (`Out::Snapshot`).
    Snapshot(Out),
}

/// A socket's place in the stream.
#[derive(Debug)]
pub struct Subscription {
    /// The subscription's id (to unsubscribe, resync).
    pub id: u64,
    /// The hub's epoch (changes with every start of the server).
    pub epoch: Arc<str>,
    /// The stream position when it started.
    pub seq: u64,
    /// Backlog or snapshot.
    pub start: Start,
    /// Live messages.
    pub rx: mpsc::Receiver<Out>,
    /// Set by the hub when the queue overflowed; the socket drops its queue and asks for a
    /// snapshot.
    pub lagging: Arc<AtomicBool>,
    /// Set when the socket must close, and why.
    pub close: watch::Receiver<Option<Close>>,
}

/// Handle to the node's hub (cheap to clone).
#[derive(Clone, Debug)]
pub struct Hub {
    tx: mpsc::UnboundedSender<hub::Cmd>,
    live: Arc<AtomicUsize>,
}

/// The hub's task, not yet running (it needs the app's state, which needs the hub).
pub struct HubRunner {
    task: hub::Task,
}

impl Hub {
    /// A hub with a ring of `buffer` messages and socket queues of `queue` messages.
    pub fn new(buffer: usize, queue: usize) -> (Hub, HubRunner) {
        let (tx, rx) = mpsc::unbounded_channel();
        let live = Arc::new(AtomicUsize::new(0));
        let task = hub::Task::new(rx, tx.downgrade(), buffer.max(1), queue.max(1));
        (Hub { tx, live }, HubRunner { task })
    }

    /// Hands an event over (never blocks, never waits: the ACD calls this).
    pub fn publish(&self, event: Arc<Event>) {
        let _ = self.tx.send(hub::Cmd::Event(event));
    }

    /// The variables of a call's IVR flow as it enters a queue (collected digits for the
    /// screen-pop).
    pub fn call_vars(&self, call: InteractionId, vars: BTreeMap<String, String>) {
        let _ = self.tx.send(hub::Cmd::CallVars(call, vars));
    }

    /// Closes the sockets opened with this session (logout).
    pub fn close_session(&self, token_hash: &str) {
        let _ = self.tx.send(hub::Cmd::CloseSession(token_hash.to_owned()));
    }

    /// Closes every socket of a user whose sessions ended or whose account changed (disabled,
    /// password, role, team), and reads their directory entry again.
    pub fn close_user(&self, user: UserId) {
        let _ = self.tx.send(hub::Cmd::CloseUser(user));
    }

    /// Opens a subscription for `viewer` (`None` once the hub has shut down).
    pub async fn subscribe(&self, viewer: Viewer, token_hash: String, resume: Option<Resume>) -> Option<Subscription> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(hub::Cmd::Subscribe(Box::new(hub::SubscribeReq { viewer, token_hash, resume, reply }))).ok()?;
        rx.await.ok().flatten()
    }

    /// Ends a subscription.
    pub fn unsubscribe(&self, id: u64) {
        let _ = self.tx.send(hub::Cmd::Unsubscribe(id));
    }

    /// A lagging socket has dropped its queue: send it a snapshot and resume it.
    pub fn resync(&self, id: u64) {
        let _ = self.tx.send(hub::Cmd::Resync(id));
    }

    /// Closes every socket (shutdown); new ones are refused.
    pub fn shutdown(&self) {
        let _ = self.tx.send(hub::Cmd::Shutdown);
    }

    /// Sockets being served now.
    pub fn live_sockets(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Waits until every socket task has finished, at most `timeout`.
    pub async fn wait_closed(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.live_sockets() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn live_guard(&self) -> LiveGuard {
        self.live.fetch_add(1, Ordering::Relaxed);
        LiveGuard(self.live.clone())
    }
}

/// Counts a socket task while it runs.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HubRunner {
    /// Starts the hub's task.
    pub fn start(self, state: crate::state::AppState) {
        tokio::spawn(self.task.run(state));
    }
}

/// One frame: `{"seq":…,"type":…,"at":…,"data":…}`.
pub fn envelope(seq: u64, kind: &str, at: Timestamp, data: &serde_json::Value) -> String {
    let data = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    let kind = serde_json::to_string(kind).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"seq":{seq},"type":{kind},"at":"{}","data":{data}}}"#, at.to_iso8601())
}
