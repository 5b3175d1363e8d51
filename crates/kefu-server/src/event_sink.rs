//! The event log's writer for the live ACD and the IVR: events are handed over without waiting
//! and group-committed, so routing never waits on the disk and a burst costs one commit. Each
//! event is also handed to the live CTI stream's hub (one shared allocation, no copy, no wait).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kefu_core::InteractionId;
use kefu_core::event::Event;
use kefu_store::Store;
use tokio::sync::mpsc;
use tracing::warn;

/// Most events written in one transaction.
const BATCH: usize = 512;
/// How long the first event of a batch waits for others to share its commit.
const LINGER: Duration = Duration::from_millis(20);

/// Where events go; cheap to clone. Writing stops when every clone is dropped, after what was
/// handed over is written.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<Msg>,
    hub: Option<crate::cti::Hub>,
}

#[derive(Debug)]
enum Msg {
    Event(Arc<Event>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl EventSink {
    /// Starts the writer task; `done` resolves once the last sink is dropped and all is written.
    pub fn start(store: Store) -> (EventSink, tokio::task::JoinHandle<()>) {
        Self::start_with_hub(store, None)
    }

    /// Like [`EventSink::start`], also handing every event to the CTI stream's hub.
    pub fn start_with_hub(store: Store, hub: Option<crate::cti::Hub>) -> (EventSink, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (EventSink { tx, hub }, tokio::spawn(write_all(store, rx)))
    }

    /// Hands an event over (never blocks).
    pub fn send(&self, event: Event) {
        let event = Arc::new(event);
        if let Some(hub) = &self.hub {
            hub.publish(event.clone());
        }
        if self.tx.send(Msg::Event(event)).is_err() {
            warn!("event writer gone; an event was dropped");
        }
    }

    /// Hands events that are written elsewhere (telephony's own writer) to the live stream only.
    pub fn show(&self, events: &[Event]) {
        if let Some(hub) = &self.hub {
            for e in events {
                hub.publish(Arc::new(e.clone()));
            }
        }
    }

    /// The variables of a call's IVR flow as it enters a queue, for its screen-pop (not logged:
    /// collected digits may be an account number).
    pub fn call_vars(&self, call: InteractionId, vars: &BTreeMap<String, String>) {
        if let Some(hub) = &self.hub {
            hub.call_vars(call, vars.clone());
        }
    }

    /// Waits until everything handed over so far is written (shutdown).
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_all(store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut msgs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut msgs, BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + LINGER;
        while msgs.len() < BATCH && !msgs.iter().any(|m| matches!(m, Msg::Flush(_))) {
            let room = BATCH - msgs.len();
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut msgs, room)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let mut batch = Vec::with_capacity(msgs.len());
        let mut flushed = Vec::new();
        for m in msgs.drain(..) {
            match m {
                // the hub has usually let go of its reference by now: no copy
                Msg::Event(e) => batch.push(Arc::unwrap_or_clone(e)),
                Msg::Flush(done) => flushed.push(done),
            }
        }
        if batch.is_empty() {
            // only flushes: nothing to write
        } else if let Err(e) = store.append_events(&batch).await {
            warn!(error = %e, events = batch.len(), "event batch refused; writing one by one");
            for event in &batch {
                if let Err(e) = store.append_event(event).await {
                    warn!(error = %e, kind = %event.kind, "event could not be written");
                }
            }
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}
