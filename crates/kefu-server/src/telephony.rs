//! Telephony inside the server: starts the SIP server (kefu-sip) from the settings, answers its
//! credential lookups from the store, and writes its call events to the event log and its
//! finished recordings to the recordings index.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_core::event::{Event, EventKind};
use kefu_core::{EventId, InteractionId, RecordingId, Timestamp, UserId};
use kefu_sip::media::engine::MediaConfig;
use kefu_sip::registrar::ExpiryPolicy;
use kefu_sip::server::{
    BoxFuture, CallEvent, CallEventKind, Directory, IpNet, Screening, SipConfig, SipHandle, SipSecret, SipServer,
    Trunk, TrunkTransport,
};
use kefu_store::{NewRecording, Store};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::settings::Settings;

/// The running telephony: the SIP handle and the task that records its events.
pub struct Telephony {
    /// Call control, registrations and live calls.
    pub sip: SipHandle,
    /// Calls on their way back into a queue (shared with the IVR runner).
    pub requeues: Arc<crate::ivr_runner::Requeues>,
    stop: Mutex<Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>>,
}

/// Credentials from the store; extension → user id is remembered for event records. Also
/// screens trunk calls against the blocklist (`crate::screening`).
struct StoreDirectory {
    store: Store,
    users: Arc<Mutex<HashMap<String, UserId>>>,
    acd: crate::acd::Acd,
    events: crate::event_sink::EventSink,
    clock: crate::clock::Clock,
}

impl Directory for StoreDirectory {
    fn sip_secret<'a>(&'a self, extension: &'a str) -> BoxFuture<'a, Option<SipSecret>> {
        Box::pin(async move {
            match self.store.sip_secret(extension).await {
                Ok(Some(s)) => {
                    if let Ok(mut users) = self.users.lock() {
                        users.insert(s.extension.clone(), s.user_id);
                    }
                    Some(SipSecret { ha1_md5: s.ha1_md5, ha1_sha256: s.ha1_sha256, realm: s.realm, enabled: s.enabled })
                }
                Ok(None) => None,
                Err(e) => {
                    warn!(error = %e, "SIP credential lookup failed");
                    None
                }
            }
        })
    }

    /// A blocklisted caller is declined with 603 unless the call goes to an IVR flow with a
    /// harassment treatment (the IVR runner diverts it there).
    fn screen<'a>(&'a self, caller: &'a str, dialled: &'a str, route: &'a str) -> BoxFuture<'a, Screening> {
        Box::pin(async move {
            let now = self.clock.now();
            if crate::screening::blocked_by(&self.store, caller, now).await.is_none() {
                return Screening::Accept;
            }
            let flow = match route.strip_prefix("ivr:") {
                Some(name) => crate::ivr_runner::find_flow(&self.store, name, dialled).await,
                None => None,
            };
            match crate::screening::check(&self.store, &self.acd, flow.as_deref(), caller, now).await {
                crate::screening::Verdict::Decline { entry } => {
                    info!(%entry, "blocklisted caller declined");
                    self.events.send(crate::screening::blocked_event(now, None, entry, caller, dialled, "declined"));
                    Screening::Reject(603)
                }
                _ => Screening::Accept,
            }
        })
    }
}

/// The store's trunks as the SIP server wants them; trunks with unusable fields are skipped
/// with a warning (the admin API validates them, so this only guards hand-edited rows).
pub fn sip_trunks(rows: Vec<kefu_store::Trunk>) -> Vec<Trunk> {
    rows.into_iter()
        .filter_map(|t| {
            let allow_from: Result<Vec<IpNet>, _> = t.allow_from.iter().map(|a| a.parse::<IpNet>()).collect();
            match allow_from {
                Ok(allow_from) => Some(Trunk {
                    name: t.name,
                    host: t.host,
                    port: t.port,
                    transport: match t.transport {
                        kefu_store::TrunkTransport::Udp => TrunkTransport::Udp,
                        kefu_store::TrunkTransport::Tcp => TrunkTransport::Tcp,
                    },
                    auth_username: t.auth_username,
                    auth_password: t.auth_password.map(|s| s.expose().to_owned()),
                    allow_from,
                    inbound_routes: t.inbound_routes,
                    caller_id: t.caller_id,
                }),
                Err(e) => {
                    warn!(trunk = %t.name, error = %e, "trunk skipped");
                    None
                }
            }
        })
        .collect()
}

/// Gives the running SIP server the store's current trunks (after an admin change).
pub async fn reload_trunks(state: &crate::state::AppState) {
    let Some(t) = &state.telephony else { return };
    match state.store.enabled_trunks().await {
        Ok(rows) => t.sip.set_trunks(sip_trunks(rows)),
        Err(e) => warn!(error = %e, "trunks could not be reloaded; the SIP server keeps the previous list"),
    }
}

/// Starts telephony when `settings.sip` is set, with the IVR taking the calls routed to it.
pub async fn start(
    settings: &Settings,
    store: &Store,
    acd: &crate::acd::Acd,
    events: &crate::event_sink::EventSink,
    clock: &crate::clock::Clock,
    prompts: &Arc<crate::prompts::PromptLibrary>,
) -> anyhow::Result<Option<Telephony>> {
    let Some(listen) = settings.sip else { return Ok(None) };
    let recordings_dir = settings.recording.then(|| settings.recordings_dir());
    let cfg = SipConfig {
        listen,
        public_ip: settings.sip_public_ip(),
        realm: settings.sip_realm.clone(),
        media: MediaConfig { bind_ip: listen.ip(), port_min: settings.rtp_port_min, port_max: settings.rtp_port_max },
        ring_timeout: settings.ring_timeout(),
        recordings_dir,
        music_on_hold: kefu_sip::media::tones::music_on_hold().into(),
        expiry: ExpiryPolicy::default(),
        digest_algorithms: settings.sip_digest_algorithms.clone(),
    };
    let users = Arc::new(Mutex::new(HashMap::new()));
    let directory = Arc::new(StoreDirectory {
        store: store.clone(),
        users: users.clone(),
        acd: acd.clone(),
        events: events.clone(),
        clock: clock.clone(),
    });
    let trunks = sip_trunks(store.enabled_trunks().await?);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let sip = SipServer::start(cfg, directory, trunks, events_tx)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start SIP on {listen}: {e}"))?;
    info!(sip = %sip.local_addr(), "telephony started");
    info!(prompts = prompts.current().len(), "IVR prompts loaded");
    let requeues = Arc::new(crate::ivr_runner::Requeues::default());
    crate::ivr_runner::start(Arc::new(crate::ivr_runner::IvrContext {
        store: store.clone(),
        sip: sip.clone(),
        prompts: prompts.clone(),
        acd: acd.clone(),
        events: events.clone(),
        clock: clock.clone(),
        voicemails_dir: settings.voicemails_dir(),
        http: reqwest::Client::builder()
            .user_agent(concat!("kefu-ivr/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("HTTP client: {e}"))?,
        requeues: requeues.clone(),
    }));
    let (stop_tx, stop_rx) = oneshot::channel();
    let writer = tokio::spawn(record_events(store.clone(), users, events_rx, stop_rx, events.clone(), acd.clone()));
    Ok(Some(Telephony { sip, requeues, stop: Mutex::new(Some((stop_tx, writer))) }))
}

impl Telephony {
    /// Hangs up live calls, then waits for their last events to be written.
    pub async fn shutdown(&self) {
        self.sip.shutdown().await;
        let stop = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some((tx, task)) = stop {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// Writes call events to the event log (and recordings to their index) until told to stop,
/// then drains what is left.
/// Most call events written in one transaction.
const EVENT_BATCH: usize = 512;
/// How long the first event of a batch waits for others to share its commit.
const EVENT_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// Writes call events (and the recordings they announce) to the store, group-committed: the
/// events of up to [`EVENT_LINGER`] (and whatever queued while the previous write ran) go in one
/// transaction. One commit, and one fsync on SQLite, for many events instead of one each was
/// most of what a call cost (BENCHMARKS.md).
async fn record_events(
    store: Store,
    users: Arc<Mutex<HashMap<String, UserId>>>,
    mut rx: mpsc::UnboundedReceiver<CallEvent>,
    mut stop: oneshot::Receiver<()>,
    sink: crate::event_sink::EventSink,
    acd: crate::acd::Acd,
) {
    let mut batch = Vec::with_capacity(EVENT_BATCH);
    let mut legs = AgentLegs::default();
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, EVENT_BATCH) => {
                if n == 0 {
                    return;
                }
                let deadline = tokio::time::Instant::now() + EVENT_LINGER;
                while batch.len() < EVENT_BATCH {
                    let room = EVENT_BATCH - batch.len();
                    match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                        Ok(n) if n > 0 => {}
                        _ => break, // the linger is over, or the channel closed (the next recv sees it)
                    }
                }
                write_events(&store, &users, &mut legs, std::mem::take(&mut batch), &sink, &acd).await;
            }
            _ = &mut stop => {
                while let Ok(event) = rx.try_recv() {
                    batch.push(event);
                }
                write_events(&store, &users, &mut legs, batch, &sink, &acd).await;
                return;
            }
        }
    }
}

/// The legs of agents (by their extension) on each live call, so the ACD knows who is busy
/// on calls it did not route: the colleague a caller is transferred to, an agent consulted,
/// an agent's click-to-dial. The ACD ignores the notices about calls it routed itself (its
/// own answer and end come from the IVR task), so every agent leg is reported alike.
#[derive(Default)]
struct AgentLegs(HashMap<String, Vec<AgentLeg>>);

struct AgentLeg {
    leg: u64,
    agent: UserId,
    answered: bool,
}

impl AgentLegs {
    async fn follow(
        &mut self,
        store: &Store,
        users: &Mutex<HashMap<String, UserId>>,
        event: &CallEvent,
        acd: &crate::acd::Acd,
    ) {
        use kefu_core::acd::Input;
        use kefu_sip::server::LegRole;
        let Ok(call) = InteractionId::from_str(&event.call.0) else { return };
        match (&event.kind, event.leg) {
            (CallEventKind::LegCreated { role: LegRole::Agent | LegRole::Consult, party, .. }, Some(leg)) => {
                if let Some(agent) = user_of(store, users, party).await {
                    self.0.entry(event.call.0.clone()).or_default().push(AgentLeg { leg, agent, answered: false });
                }
            }
            (CallEventKind::LegAnswered, Some(leg)) => {
                if let Some(l) = self.0.get_mut(&event.call.0).and_then(|v| v.iter_mut().find(|l| l.leg == leg)) {
                    l.answered = true;
                    acd.tell(Input::OutsideCallStarted { agent: l.agent, call });
                }
            }
            (CallEventKind::LegEnded { .. }, Some(leg)) => {
                let Some(on_call) = self.0.get_mut(&event.call.0) else { return };
                if let Some(i) = on_call.iter().position(|l| l.leg == leg) {
                    let l = on_call.swap_remove(i);
                    if l.answered {
                        acd.tell(Input::OutsideCallEnded { agent: l.agent, call });
                    }
                }
                if on_call.is_empty() {
                    self.0.remove(&event.call.0);
                }
            }
            (CallEventKind::CallEnded { .. }, _) => {
                for l in self.0.remove(&event.call.0).unwrap_or_default() {
                    if l.answered {
                        acd.tell(Input::OutsideCallEnded { agent: l.agent, call });
                    }
                }
            }
            _ => {}
        }
    }
}

async fn user_of(store: &Store, users: &Mutex<HashMap<String, UserId>>, extension: &str) -> Option<UserId> {
    if let Some(id) = users.lock().ok().and_then(|u| u.get(extension).copied()) {
        return Some(id);
    }
    let id = store.sip_secret(extension).await.ok().flatten().map(|s| s.user_id)?;
    if let Ok(mut u) = users.lock() {
        u.insert(extension.to_owned(), id);
    }
    Some(id)
}

/// Writes a batch in one transaction; if the store refuses it, row by row, so that one bad row
/// (a recording of an agent deleted meanwhile…) loses nothing else.
async fn write_events(
    store: &Store,
    users: &Mutex<HashMap<String, UserId>>,
    legs: &mut AgentLegs,
    batch: Vec<CallEvent>,
    sink: &crate::event_sink::EventSink,
    acd: &crate::acd::Acd,
) {
    let mut events = Vec::with_capacity(batch.len());
    let mut recordings = Vec::new();
    for event in &batch {
        let Ok(kind) = EventKind::from_str(event.kind.name()) else {
            warn!(kind = event.kind.name(), "call event without an event-log kind");
            continue;
        };
        let agent = match &event.agent {
            Some(ext) => user_of(store, users, ext).await,
            None => None,
        };
        // hold time is the ACD's to count (AHT, the agent's state on the wallboard), whoever
        // held: the desktop through the API or the phone's own hold key
        match (&event.kind, agent) {
            (CallEventKind::Held { .. }, Some(agent)) => acd.tell(kefu_core::acd::Input::CallHold { agent }),
            (CallEventKind::Resumed { .. }, Some(agent)) => acd.tell(kefu_core::acd::Input::CallUnhold { agent }),
            _ => {}
        }
        legs.follow(store, users, event, acd).await;
        let mut record =
            Event::new(EventId::from_uuid(uuid::Uuid::now_v7()), Timestamp::from_millis(event.at_ms), kind);
        record.interaction = InteractionId::from_str(&event.call.0).ok();
        record.agent = agent;
        record.data = event_data(event);
        events.push(record);
        events.extend(identify_customer(store, event).await);
        if let CallEventKind::RecordingSaved(rec) = &event.kind {
            let agent_id = match &rec.agent_extension {
                Some(ext) => user_of(store, users, ext).await,
                None => None,
            };
            let new = NewRecording {
                id: RecordingId::from_uuid(uuid::Uuid::now_v7()),
                call_id: event.call.0.clone(),
                agent_id,
                agent_extension: rec.agent_extension.clone(),
                caller: rec.customer.clone(),
                callee: rec.dialled.clone(),
                started_at: Timestamp::from_millis(rec.started_at_ms),
                duration_ms: i64::try_from(rec.duration_ms).unwrap_or(i64::MAX),
                path: rec.path.display().to_string(),
                size_bytes: i64::try_from(rec.size_bytes).unwrap_or(i64::MAX),
            };
            recordings.push((new, Timestamp::from_millis(event.at_ms)));
        }
    }
    // the live CTI stream (hold, transfer, end of calls) does not wait for the commit
    sink.show(&events);
    let Err(e) = store.append_events_and_recordings(&events, &recordings).await else { return };
    warn!(error = %e, events = events.len(), recordings = recordings.len(), "call events batch refused; writing one by one");
    for (new, at) in &recordings {
        if let Err(e) = store.insert_recording(new, *at).await {
            warn!(error = %e, path = %new.path, "recording could not be indexed");
        }
    }
    for record in &events {
        if let Err(e) = store.append_event(record).await {
            warn!(error = %e, kind = %record.kind, "call event could not be written");
        }
    }
}

/// When a customer leg starts (an inbound caller, or the far end of a click-to-dial) and its
/// number belongs to known customers: a `customer.identified` event per customer, which puts
/// the call on their timelines. A number that is not a phone number, or not known, yields
/// nothing; a failed lookup is logged and costs only the link.
async fn identify_customer(store: &Store, event: &CallEvent) -> Vec<Event> {
    let CallEventKind::LegCreated { role: kefu_sip::server::LegRole::Customer, party, .. } = &event.kind else {
        return Vec::new();
    };
    let Ok(phone) = kefu_core::service::customer::PhoneNumber::parse(party) else { return Vec::new() };
    let found = match store.customers_by_phone(&phone).await {
        Ok(found) => found,
        Err(e) => {
            warn!(error = %e, "customer lookup for a call failed");
            return Vec::new();
        }
    };
    // a shared number (a family landline) belongs to several customers: the call goes on each
    // one's timeline, and the agent tells them apart on the call
    found
        .iter()
        .map(|c| {
            let mut record = Event::new(
                EventId::from_uuid(uuid::Uuid::now_v7()),
                Timestamp::from_millis(event.at_ms),
                EventKind::CustomerIdentified,
            );
            record.interaction = InteractionId::from_str(&event.call.0).ok();
            record.customer = Some(c.id);
            record.data = json!({ "call": event.call.0, "candidates": found.len() });
            record
        })
        .collect()
}

/// The kind-specific details of a call event, as stored in the log.
fn event_data(event: &CallEvent) -> serde_json::Value {
    let mut data = match &event.kind {
        CallEventKind::LegCreated { role, direction, party } => json!({
            "role": role.as_str(),
            "direction": match direction { kefu_sip::server::LegDirection::Inbound => "inbound", kefu_sip::server::LegDirection::Outbound => "outbound" },
            "party": party,
        }),
        CallEventKind::LegRinging | CallEventKind::LegAnswered => json!({}),
        CallEventKind::Bridged { customer, agent } => json!({ "customer_leg": customer, "agent_leg": agent }),
        CallEventKind::Held { by } | CallEventKind::Resumed { by } => json!({ "by": by }),
        CallEventKind::Conferenced { with } => json!({ "with": with }),
        CallEventKind::Transferred { mode, to } => json!({ "mode": mode.as_str(), "to": to }),
        CallEventKind::TransferFailed { to, sip_code } => json!({ "to": to, "sip_code": sip_code }),
        CallEventKind::Digit { digit, via } => json!({
            "digit": digit.to_string(),
            "via": match via { kefu_sip::server::DigitVia::Rfc4733 => "rfc4733", kefu_sip::server::DigitVia::Info => "info" },
        }),
        CallEventKind::LegEnded { cause, sip_code } => json!({ "cause": cause.as_str(), "sip_code": sip_code }),
        CallEventKind::RecordingSaved(r) => json!({
            "path": r.path.display().to_string(),
            "duration_ms": r.duration_ms,
            "size_bytes": r.size_bytes,
            "customer": r.customer,
            "dialled": r.dialled,
        }),
        CallEventKind::RecordingFailed { message } => json!({ "message": message }),
        CallEventKind::CallEnded { cause, talk_ms } => json!({ "cause": cause.as_str(), "talk_ms": talk_ms }),
    };
    if let (Some(leg), Some(obj)) = (event.leg, data.as_object_mut()) {
        obj.insert("leg".into(), json!(leg));
    }
    if let (Some(ext), Some(obj)) = (&event.agent, data.as_object_mut()) {
        obj.insert("agent_extension".into(), json!(ext));
    }
    data
}
