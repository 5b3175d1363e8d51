//! One CTI socket: `hello`, then the snapshot or the missed messages, then live messages from
//! its queue, a `heartbeat` every [`HEARTBEAT`] (when the session is checked again), `pong`
//! for a client's `ping`. When the hub marks it lagging it drops its queue and asks for a
//! snapshot. It closes with a close frame when its session ends or the server stops; clear
//! customer numbers it sent are audited (one entry per heartbeat interval, not per frame).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use kefu_core::CustomerId;
use serde_json::json;
use tracing::debug;

use super::{
    CLOSE_GOING_AWAY, CLOSE_SESSION_ENDED, Close, HEARTBEAT, Out, Resume, Start, Subscription, Viewer, envelope,
};
use crate::auth::Principal;
use crate::state::AppState;

/// How long a close frame may take to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the loop ended.
enum Stop {
    /// The client went away (or the connection broke).
    Gone,
    /// The server closes: send this close frame.
    Close(Close),
}

struct Conn {
    state: AppState,
    who: Principal,
    ip: String,
    pii: bool,
    socket: WebSocket,
    close: tokio::sync::watch::Receiver<Option<Close>>,
    last_seq: u64,
    shown: BTreeSet<CustomerId>,
}

/// Serves one upgraded socket until it closes.
pub async fn serve(
    state: AppState,
    who: Principal,
    ip: String,
    viewer: Viewer,
    resume: Option<Resume>,
    socket: WebSocket,
) {
    let _live = state.cti.live_guard();
    state.metrics.cti_sockets(1);
    let pii = viewer.pii();
    let sub = state.cti.subscribe(viewer, who.token_hash.clone(), resume).await;
    let mut conn = Conn {
        close: match &sub {
            Some(s) => s.close.clone(),
            None => tokio::sync::watch::channel(None).1,
        },
        state: state.clone(),
        who,
        ip,
        pii,
        socket,
        last_seq: 0,
        shown: BTreeSet::new(),
    };
    let stop = match sub {
        Some(sub) => {
            let id = sub.id;
            let stop = conn.run(sub).await;
            state.cti.unsubscribe(id);
            stop
        }
        None => Stop::Close(Close { code: CLOSE_GOING_AWAY, reason: "the server is stopping" }),
    };
    if let Stop::Close(why) = stop {
        let frame = CloseFrame { code: why.code, reason: Utf8Bytes::from_static(why.reason) };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.socket.send(Message::Close(Some(frame)))).await;
    }
    conn.audit().await;
    state.metrics.cti_sockets(-1);
}

impl Conn {
    async fn run(&mut self, mut sub: Subscription) -> Stop {
        self.last_seq = sub.seq;
        let hello = json!({
            "user": { "id": self.who.id, "username": self.who.username, "role": self.who.role },
            "epoch": &*sub.epoch,
            "seq": sub.seq,
            "heartbeat_secs": HEARTBEAT.as_secs(),
            "resumed": matches!(sub.start, Start::Backlog(_)),
        });
        let now = self.state.clock.now();
        if let Err(stop) = self.send(envelope(sub.seq, "hello", now, &hello).into()).await {
            return stop;
        }
        let start = std::mem::replace(&mut sub.start, Start::Backlog(Vec::new()));
        match start {
            Start::Backlog(missed) => {
                for msg in missed {
                    if let Err(stop) = self.out(Out::Msg(msg)).await {
                        return stop;
                    }
                }
            }
            Start::Snapshot(snapshot) => {
                if let Err(stop) = self.out(snapshot).await {
                    return stop;
                }
            }
        }
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut resync_asked = false;
        loop {
            if sub.lagging.load(Ordering::Acquire) {
                if !resync_asked {
                    // what is queued is stale: drop it, the snapshot replaces it
                    while sub.rx.try_recv().is_ok() {}
                    self.state.cti.resync(sub.id);
                    resync_asked = true;
                }
            } else {
                resync_asked = false;
            }
            let step = tokio::select! {
                changed = self.close.changed() => Err(self.closing(changed.is_err())),
                out = sub.rx.recv() => match out {
                    Some(out) => self.out(out).await,
                    // the hub let go of the socket: it said why (or is gone)
                    None => Err(self.closing(true)),
                },
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => self.client_text(text.as_str()).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Err(Stop::Gone),
                    Some(Ok(_)) => Ok(()),
                },
                _ = heartbeat.tick() => self.heartbeat().await,
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// The close to send once the hub said so (or went away).
    fn closing(&self, hub_gone: bool) -> Stop {
        match *self.close.borrow() {
            Some(why) => Stop::Close(why),
            None if hub_gone => Stop::Close(Close { code: CLOSE_GOING_AWAY, reason: "the server is stopping" }),
            None => Stop::Gone,
        }
    }

    /// Sends a frame, unless the socket must close first (a client that does not read must
    /// not keep a logout or a shutdown waiting).
    async fn send(&mut self, text: Utf8Bytes) -> Result<(), Stop> {
        let close = &mut self.close;
        let sent = tokio::select! {
            sent = self.socket.send(Message::Text(text)) => sent,
            changed = close.changed() => {
                return Err(match (*close.borrow(), changed.is_err()) {
                    (Some(why), _) => Stop::Close(why),
                    (None, true) => Stop::Close(Close { code: CLOSE_GOING_AWAY, reason: "the server is stopping" }),
                    (None, false) => Stop::Gone,
                });
            }
        };
        match sent {
            Ok(()) => {
                self.state.metrics.cti_sent();
                Ok(())
            }
            Err(e) => {
                debug!(error = %e, "cti socket send failed");
                Err(Stop::Gone)
            }
        }
    }

    async fn out(&mut self, out: Out) -> Result<(), Stop> {
        match out {
            Out::Msg(msg) => {
                let (text, customers) = msg.frame_for(self.pii);
                self.shown.extend(customers.iter().copied());
                let text = text.clone();
                self.send(text).await?;
                self.last_seq = self.last_seq.max(msg.seq);
            }
            Out::Snapshot { seq, text, customers } => {
                self.shown.extend(customers);
                self.send(text).await?;
                self.last_seq = seq;
            }
        }
        Ok(())
    }

    async fn client_text(&mut self, text: &str) -> Result<(), Stop> {
        let kind =
            serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v["type"].as_str().map(str::to_owned));
        if kind.as_deref() == Some("ping") {
            let now = self.state.clock.now();
            return self.send(envelope(self.last_seq, "pong", now, &json!({})).into()).await;
        }
        Ok(())
    }

    /// Checks the session again, then says the socket is alive.
    async fn heartbeat(&mut self) -> Result<(), Stop> {
        let ended = |reason| Err(Stop::Close(Close { code: CLOSE_SESSION_ENDED, reason }));
        let now = self.state.clock.now();
        match self.state.store.session_identity(&self.who.token_hash).await {
            Ok(None) => return ended("the session ended"),
            Ok(Some((session, user))) => {
                if session.revoked_at.is_some() {
                    return ended("the session was revoked");
                }
                if now >= session.expires_at {
                    return ended("the session expired");
                }
                if !user.enabled {
                    return ended("the account is disabled");
                }
            }
            Err(e) => debug!(error = %e, "cti session check failed; trying again at the next heartbeat"),
        }
        self.audit().await;
        self.send(envelope(self.last_seq, "heartbeat", now, &json!({})).into()).await
    }

    /// One audit entry for the customers this socket showed in clear since the last one.
    async fn audit(&mut self) {
        if self.shown.is_empty() {
            return;
        }
        let ids: Vec<CustomerId> = std::mem::take(&mut self.shown).into_iter().collect();
        let fields = ["phones", "id_card", "birthday", "asset_numbers"];
        crate::routes::customers::audit_pii_read(&self.state, &self.who, &self.ip, "cti".to_owned(), &ids, &fields)
            .await;
    }
}
