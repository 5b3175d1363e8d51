//! The SIP server: registrar, trunks and the B2BUA, on rsipstack's transport, transaction and
//! dialog layers (ADR 0008), with kefu's own call model and RTP engine.
//!
//! [`SipServer::start`] binds UDP and TCP on one address and returns a [`SipHandle`], the
//! call-control surface the HTTP API uses. Call events flow out through the channel given at
//! start; the store behind credentials is reached through [`Directory`].

mod auth;
mod b2bua;
mod registrar;
pub mod trunk;
pub mod types;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{HeadersExt, Method, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipConnection, TransportLayer};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::digest::NonceKey;
use crate::media::engine::{MediaConfig, MediaEngine};
use crate::registrar::{Bindings, ExpiryPolicy};

pub use trunk::{IpNet, Trunk, TrunkTransport};
pub use types::*;

use b2bua::{CallCmd, CallHandle, Target};

/// What the server needs to know about a SIP user (an agent's extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipSecret {
    /// HA1 for MD5 digest, hex.
    pub ha1_md5: String,
    /// HA1 for SHA-256 digest, hex.
    pub ha1_sha256: String,
    /// Realm the HA1s were computed for; a mismatch means the password must be set again.
    pub realm: String,
    /// A disabled user may not register or call.
    pub enabled: bool,
}

/// A boxed future, for the object-safe [`Directory`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whether a call from a trunk may come in (see [`Directory::screen`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screening {
    /// Route it as usual.
    Accept,
    /// Refuse it with this SIP status (e.g. 603 Decline for a blocklisted caller).
    Reject(u16),
}

/// Where the server looks up SIP users (the store, in kefu-server).
pub trait Directory: Send + Sync + 'static {
    /// The credentials of an extension, or `None` if no such extension exists.
    fn sip_secret<'a>(&'a self, extension: &'a str) -> BoxFuture<'a, Option<SipSecret>>;

    /// Screens a call a trunk delivers before it is answered or rung: from `caller`, to
    /// `dialled`, routed to `route` (an extension or `ivr:FLOW`). Accepts everything unless
    /// the directory says otherwise (kefu-server refuses blocklisted callers).
    fn screen<'a>(&'a self, caller: &'a str, dialled: &'a str, route: &'a str) -> BoxFuture<'a, Screening> {
        let _ = (caller, dialled, route);
        Box::pin(async { Screening::Accept })
    }
}

/// Telephony settings.
#[derive(Clone, Debug)]
pub struct SipConfig {
    /// Where SIP listens, on UDP and TCP (port 0: any free port, the same for both).
    pub listen: SocketAddr,
    /// The address written into Contact, Via and SDP (reachable by phones and trunks).
    pub public_ip: IpAddr,
    /// Digest realm.
    pub realm: String,
    /// RTP ports and bind address.
    pub media: MediaConfig,
    /// How long an agent's phone rings before the leg counts as not answered.
    pub ring_timeout: Duration,
    /// Where recordings go; `None` turns recording off.
    pub recordings_dir: Option<PathBuf>,
    /// Music on hold (8 kHz mono PCM), looped.
    pub music_on_hold: Arc<[i16]>,
    /// Registration expiry limits.
    pub expiry: ExpiryPolicy,
    /// The digest algorithms challenges offer, one header each, in this order (MD5 and/or
    /// SHA-256). A response using an algorithm not offered is refused.
    pub digest_algorithms: Vec<crate::digest::Algorithm>,
}

/// The running SIP server's control surface. Cheap to clone.
#[derive(Clone)]
pub struct SipHandle {
    inner: Arc<Inner>,
}

/// The SIP server.
pub struct SipServer;

pub(crate) struct Inner {
    cfg: SipConfig,
    local: SocketAddr,
    dialogs: Arc<DialogLayer>,
    directory: Arc<dyn Directory>,
    bindings: Mutex<Bindings>,
    user_agents: Mutex<HashMap<(String, String), String>>,
    trunks: RwLock<Arc<Vec<Trunk>>>,
    nonce: NonceKey,
    media: MediaEngine,
    calls: Mutex<HashMap<CallId, CallHandle>>,
    /// Where calls routed to `ivr:FLOW` go; without it they are refused with 480.
    ivr: Mutex<Option<mpsc::UnboundedSender<IvrCall>>>,
    events: mpsc::UnboundedSender<CallEvent>,
    cancel: CancellationToken,
}

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SipServer {
    /// Binds UDP and TCP on `cfg.listen` and starts serving. Call events are sent to `events`.
    pub async fn start(
        cfg: SipConfig,
        directory: Arc<dyn Directory>,
        trunks: Vec<Trunk>,
        events: mpsc::UnboundedSender<CallEvent>,
    ) -> std::io::Result<SipHandle> {
        let cancel = CancellationToken::new();
        let io = |e: rsipstack::Error| std::io::Error::other(e.to_string());
        let transport = TransportLayer::new(cancel.child_token());
        let port = match cfg.listen.port() {
            0 => free_udp_tcp_port(cfg.listen.ip())?,
            port => port,
        };
        let local = SocketAddr::new(cfg.listen.ip(), port);
        let advertised = SocketAddr::new(cfg.public_ip, port);
        // Bind TCP now so a taken port is reported here, not later in a background task.
        drop(std::net::TcpListener::bind(local)?);
        let udp =
            UdpConnection::create_connection(local, Some(advertised), Some(cancel.child_token())).await.map_err(io)?;
        transport.add_transport(udp.into());
        let tcp = TcpListenerConnection::new(local, Some(advertised)).await.map_err(io)?;
        transport.add_transport(SipConnection::TcpListener(tcp));

        let endpoint = EndpointBuilder::new()
            .with_transport_layer(transport)
            .with_cancel_token(cancel.clone())
            .with_user_agent("kefu")
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Cancel,
                Method::Bye,
                Method::Options,
                Method::Info,
                Method::Register,
            ])
            .build();
        let mut incoming = endpoint.incoming_transactions().map_err(io)?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let inner = Arc::new(Inner {
            media: MediaEngine::new(cfg.media),
            bindings: Mutex::new(Bindings::new(cfg.expiry)),
            cfg,
            local: advertised,
            dialogs,
            directory,
            user_agents: Mutex::new(HashMap::new()),
            trunks: RwLock::new(Arc::new(trunks)),
            nonce: NonceKey::new(secret.as_bytes()),
            calls: Mutex::new(HashMap::new()),
            ivr: Mutex::new(None),
            events,
            cancel: cancel.clone(),
        });
        tokio::spawn(async move { endpoint.serve().await });
        let server = inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = server.cancel.cancelled() => break,
                    tx = incoming.recv() => match tx {
                        Some(tx) => server.dispatch(tx),
                        None => break,
                    },
                }
            }
        });
        let expiry = inner.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    () = expiry.cancel.cancelled() => break,
                    _ = tick.tick() => expiry.expire_bindings(),
                }
            }
        });
        info!(sip = %local, public = %advertised, "SIP listening on UDP and TCP");
        Ok(SipHandle { inner })
    }
}

impl Inner {
    /// Routes one new server transaction: in-dialog requests to their dialog, the rest by method.
    fn dispatch(self: &Arc<Self>, mut tx: Transaction) {
        let server = self.clone();
        tokio::spawn(async move {
            if tx.original.version != rsipstack::sip::Version::V2 {
                // RFC 3261 §8.2.2 is silent, but a request we cannot read as SIP/2.0 gets 505.
                if tx.original.method != Method::Ack {
                    let mut response =
                        tx.endpoint_inner.make_response(&tx.original, StatusCode::VersionNotSupported, None);
                    response.version = rsipstack::sip::Version::V2;
                    tx.respond(response).await.ok();
                }
                return;
            }
            let has_to_tag = tx.original.to_header().ok().and_then(|to| to.tag().ok().flatten()).is_some();
            if has_to_tag && tx.original.method != Method::Register && tx.original.method != Method::Options {
                match server.dialogs.match_dialog(&tx) {
                    Some(mut dialog) => {
                        if let Err(e) = dialog.handle(&mut tx).await {
                            debug!(error = %e, method = %tx.original.method, "in-dialog request failed");
                        }
                    }
                    None => {
                        if tx.original.method != Method::Ack {
                            tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                        }
                    }
                }
                return;
            }
            match tx.original.method {
                Method::Register => server.handle_register(tx).await,
                Method::Options => {
                    tx.reply_with(StatusCode::OK, vec![allow_header()], None).await.ok();
                }
                Method::Invite => b2bua::inbound(server, tx).await,
                Method::Ack => {}
                Method::Bye | Method::Info | Method::Update | Method::PRack => {
                    tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                }
                Method::Cancel => {
                    tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                }
                _ => {
                    tx.reply_with(StatusCode::MethodNotAllowed, vec![allow_header()], None).await.ok();
                }
            }
        });
    }

    fn expire_bindings(&self) {
        let gone = match self.bindings.lock() {
            Ok(mut b) => b.expire(now_ms()),
            Err(_) => return,
        };
        for (aor, binding) in gone {
            debug!(extension = %aor, contact = %binding.uri, "registration expired");
            if let Ok(mut uas) = self.user_agents.lock() {
                uas.remove(&(aor, binding.uri));
            }
        }
    }

    fn emit(&self, call: &CallId, leg: Option<u64>, agent: Option<String>, kind: CallEventKind) {
        let event = CallEvent { call: call.clone(), leg, agent, at_ms: now_ms(), kind };
        if self.events.send(event).is_err() {
            debug!("call event dropped: nobody listens");
        }
    }

    fn trunks(&self) -> Arc<Vec<Trunk>> {
        self.trunks.read().map(|t| t.clone()).unwrap_or_default()
    }
}

/// A port free for both UDP and TCP on `ip` (for `listen` port 0).
fn free_udp_tcp_port(ip: IpAddr) -> std::io::Result<u16> {
    for _ in 0..32 {
        let udp = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let port = udp.local_addr()?.port();
        if std::net::TcpListener::bind(SocketAddr::new(ip, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "no port free for both UDP and TCP"))
}

fn allow_header() -> rsipstack::sip::Header {
    rsipstack::sip::Header::Allow("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER".into())
}

impl SipHandle {
    /// The address SIP listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        SocketAddr::new(self.inner.cfg.listen.ip(), self.inner.local.port())
    }

    /// Replaces the trunk list (after an admin change).
    pub fn set_trunks(&self, trunks: Vec<Trunk>) {
        if let Ok(mut t) = self.inner.trunks.write() {
            *t = Arc::new(trunks);
        }
    }

    /// Current registrations, by extension.
    pub fn registrations(&self) -> Vec<RegistrationView> {
        let now = now_ms();
        let Ok(bindings) = self.inner.bindings.lock() else { return Vec::new() };
        let uas = self.inner.user_agents.lock().ok();
        let mut out = Vec::new();
        for (aor, list) in bindings.registered(now) {
            for b in list {
                out.push(RegistrationView {
                    extension: aor.to_owned(),
                    contact: b.uri.clone(),
                    source: b.source.clone(),
                    expires_in_secs: b.remaining_secs(now),
                    user_agent: uas.as_ref().and_then(|u| u.get(&(aor.to_owned(), b.uri.clone())).cloned()),
                });
            }
        }
        out.sort_by(|a, b| a.extension.cmp(&b.extension).then(a.contact.cmp(&b.contact)));
        out
    }

    /// Whether an extension has at least one live registration.
    pub fn is_registered(&self, extension: &str) -> bool {
        self.inner.bindings.lock().map(|b| !b.lookup(now_ms(), extension).is_empty()).unwrap_or(false)
    }

    /// Live calls, oldest first.
    pub fn calls(&self) -> Vec<CallSnapshot> {
        let mut out: Vec<CallSnapshot> = match self.inner.calls.lock() {
            Ok(calls) => calls.values().filter_map(|c| c.snapshot()).collect(),
            Err(_) => Vec::new(),
        };
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// One live call.
    pub fn call(&self, id: &str) -> Option<CallSnapshot> {
        let calls = self.inner.calls.lock().ok()?;
        calls.get(&CallId(id.to_owned())).and_then(|c| c.snapshot())
    }

    /// Counts of what the server holds right now (for metrics, and for finding leaks).
    pub fn stats(&self) -> SipStats {
        let endpoint = self.inner.dialogs.endpoint.get_stats();
        let (rtp_packets_received, rtp_packets_sent) = self.inner.media.packets();
        SipStats {
            rtp_packets_received,
            rtp_packets_sent,
            calls: self.inner.calls.lock().map(|c| c.len()).unwrap_or(0),
            media_sessions: self.inner.media.active_sessions(),
            dialogs: self.inner.dialogs.len(),
            transactions_running: endpoint.running_transactions,
            transactions_finished: endpoint.finished_transactions,
            transactions_waiting_ack: endpoint.waiting_ack,
            registrations: self
                .inner
                .bindings
                .lock()
                .map(|b| b.registered(now_ms()).iter().map(|(_, l)| l.len()).sum())
                .unwrap_or(0),
        }
    }

    async fn command<T>(
        &self,
        id: &str,
        make: impl FnOnce(oneshot::Sender<Result<T, ControlError>>) -> CallCmd,
    ) -> Result<T, ControlError> {
        let sender = {
            let calls = self.inner.calls.lock().map_err(|_| ControlError::ShuttingDown)?;
            calls
                .get(&CallId(id.to_owned()))
                .map(|c| c.sender())
                .ok_or_else(|| ControlError::NoSuchCall(id.to_owned()))?
        };
        let (reply, rx) = oneshot::channel();
        sender.send(make(reply)).map_err(|_| ControlError::NoSuchCall(id.to_owned()))?;
        rx.await.map_err(|_| ControlError::NoSuchCall(id.to_owned()))?
    }

    /// Puts the customer on hold (music) and mutes the agent's side.
    pub async fn hold(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::Hold { on: true, reply }).await
    }

    /// Takes the customer off hold.
    pub async fn unhold(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::Hold { on: false, reply }).await
    }

    /// Takes the calls that trunk routes send to `ivr:FLOW` (replacing an earlier taker).
    pub fn attach_ivr(&self, calls: mpsc::UnboundedSender<IvrCall>) {
        if let Ok(mut ivr) = self.inner.ivr.lock() {
            *ivr = Some(calls);
        }
    }

    /// IVR: plays `samples` (8 kHz mono) to the caller from their start, replacing what they
    /// heard; [`IvrSignal::PlaybackDone`] with `token` follows at the end. Fails with
    /// [`ControlError::InvalidState`] unless the IVR has the caller (see [`IvrCall`]).
    pub async fn play(&self, call: &str, token: u64, samples: Arc<[i16]>) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::Play { token, samples, reply }).await
    }

    /// IVR: plays the configured music on hold to the caller, looped, until a later
    /// [`SipHandle::play`] or [`SipHandle::stop_playback`] replaces it (no
    /// [`IvrSignal::PlaybackDone`] ever comes for it). Same conditions as `play`.
    pub async fn play_music(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::PlayMusic { reply }).await
    }

    /// IVR: stops what [`SipHandle::play`] or [`SipHandle::play_music`] started (a key barged
    /// in); the caller hears silence.
    pub async fn stop_playback(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::StopPlayback { reply }).await
    }

    /// IVR: rings an agent's phones for the caller. The answer comes as
    /// [`IvrSignal::AgentAnswered`] or [`IvrSignal::AgentFailed`]; meanwhile the caller keeps
    /// hearing the IVR. With `back_to_ivr`, an agent who hangs up while the caller is still on
    /// the line hands the caller back to the IVR ([`IvrSignal::AgentLeft`]) instead of ending
    /// the call (this also holds for whoever the agent transfers the caller to).
    pub async fn connect(&self, call: &str, extension: &str, back_to_ivr: bool) -> Result<(), ControlError> {
        if !self.is_registered(extension) {
            return Err(ControlError::NotRegistered(extension.to_owned()));
        }
        let target = Target::Extension(extension.to_owned());
        self.command(call, |reply| CallCmd::Connect { target, back_to_ivr, reply }).await
    }

    /// IVR: stops ringing the agent [`SipHandle::connect`] rang (CANCEL). The caller stays with
    /// the IVR, which hears [`IvrSignal::AgentFailed`] with [`EndCause::Cancelled`] and 487.
    /// [`ControlError::InvalidState`] when no agent is ringing.
    pub async fn cancel_agent(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::CancelAgent { reply }).await
    }

    /// IVR: records what the caller says (decoded, 8 kHz mono 16-bit PCM WAV) into a new file at
    /// `path` (never overwritten; missing folders are created), for at most `max_ms`. It stops
    /// on [`SipHandle::stop_voicemail`], at the time limit, when an agent answers or a transfer
    /// is started, or when the call ends; then the IVR hears [`IvrSignal::VoicemailRecorded`]
    /// (before [`IvrSignal::Ended`], if the call is ending). A file that cannot be written is
    /// reported as [`IvrSignal::VoicemailFailed`], not as an error here. Prompts may play
    /// meanwhile (only the caller is recorded) and keys are still signalled. Same conditions as
    /// [`SipHandle::play`]; one voicemail at a time.
    pub async fn record_voicemail(&self, call: &str, path: PathBuf, max_ms: u64) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::RecordVoicemail { path, max_ms, reply }).await
    }

    /// IVR: stops the voicemail [`SipHandle::record_voicemail`] started;
    /// [`IvrSignal::VoicemailRecorded`] follows once the file is complete.
    /// [`ControlError::InvalidState`] when none is recording.
    pub async fn stop_voicemail(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::StopVoicemail { reply }).await
    }

    /// Ends the call: every leg is hung up.
    pub async fn hangup(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::Hangup { reply }).await
    }

    /// Blind transfer: the agent leaves now, the customer hears music while `target` rings.
    ///
    /// Also for a call the IVR has (no agent ringing): the IVR's audio stops (and a voicemail),
    /// it lets go of the caller at once, and hears [`IvrSignal::Transferred`] when the target
    /// answers (then caller and target are bridged and recorded). If the target cannot be
    /// reached the call ends, as for any blind transfer ([`IvrSignal::Ended`]).
    pub async fn transfer(&self, call: &str, target: &str) -> Result<(), ControlError> {
        let target = self.inner.resolve_target(target).await?;
        self.command(call, |reply| CallCmd::BlindTransfer { target, reply }).await
    }

    /// Attended transfer, step 1: the customer holds, the agent is connected to `target`.
    pub async fn consult(&self, call: &str, target: &str) -> Result<(), ControlError> {
        let target = self.inner.resolve_target(target).await?;
        self.command(call, |reply| CallCmd::Consult { target, reply }).await
    }

    /// Attended transfer, step 2: the customer is joined to the consulted party; the agent leaves.
    pub async fn complete_transfer(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::CompleteTransfer { reply }).await
    }

    /// Ends a consultation and returns the agent to the customer.
    pub async fn cancel_consult(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::CancelConsult { reply }).await
    }

    /// Turns an answered consultation into a three-way conference: the customer comes off hold
    /// and customer, agent and consulted party each hear the other two (the call's state is
    /// `conference`; hold and a second consultation are refused meanwhile). If the consulted
    /// party hangs up, customer and agent talk on; if the agent hangs up (or completes the
    /// transfer), the consulted party becomes the call's agent. Refused with
    /// [`ControlError::InvalidState`] unless a consulted party has answered.
    pub async fn conference(&self, call: &str) -> Result<(), ControlError> {
        self.command(call, |reply| CallCmd::Conference { reply }).await
    }

    /// Adds a supervisor (their extension's phone rings) who listens, whispers or barges.
    pub async fn monitor(
        &self,
        call: &str,
        supervisor_extension: &str,
        mode: crate::media::MonitorMode,
    ) -> Result<(), ControlError> {
        let target = self.inner.resolve_target(supervisor_extension).await?;
        if !matches!(target, Target::Extension(_)) {
            return Err(ControlError::NoRoute(supervisor_extension.to_owned()));
        }
        self.command(call, |reply| CallCmd::Monitor { target, mode, reply }).await
    }

    /// Switches a supervisor's monitoring of the call (every live monitor leg of
    /// `supervisor_extension`) to `mode`: listen → whisper → barge or back, without ringing
    /// their phone again. [`ControlError::InvalidState`] when that extension does not monitor
    /// the call.
    pub async fn set_monitor_mode(
        &self,
        call: &str,
        supervisor_extension: &str,
        mode: crate::media::MonitorMode,
    ) -> Result<(), ControlError> {
        let extension = supervisor_extension.to_owned();
        self.command(call, |reply| CallCmd::SetMonitorMode { extension, mode, reply }).await
    }

    /// Ends a supervisor's monitoring of the call: their monitor legs are hung up (or stop
    /// ringing); the customer and the agent carry on. [`ControlError::InvalidState`] when that
    /// extension does not monitor the call.
    pub async fn stop_monitor(&self, call: &str, supervisor_extension: &str) -> Result<(), ControlError> {
        let extension = supervisor_extension.to_owned();
        self.command(call, |reply| CallCmd::StopMonitor { extension, reply }).await
    }

    /// Takes the agent off a call the IVR took and gives the caller back to the IVR, which
    /// hears [`IvrSignal::AgentLeft`] (a transfer back into a queue; `to` names it in the
    /// `Transferred` event). The agent's phone is hung up and the recording finished.
    /// [`ControlError::InvalidState`] for a call the IVR never had, during a consultation, or
    /// without an agent talking to the customer.
    pub async fn release_agent(&self, call: &str, to: &str) -> Result<(), ControlError> {
        let to = to.to_owned();
        self.command(call, |reply| CallCmd::ReleaseAgent { to, reply }).await
    }

    /// Click-to-dial: rings the agent's phone first, then `number`; returns the call id.
    pub async fn dial(&self, agent_extension: &str, number: &str) -> Result<CallId, ControlError> {
        if !self.is_registered(agent_extension) {
            return Err(ControlError::NotRegistered(agent_extension.to_owned()));
        }
        let customer = self.inner.resolve_target(number).await?;
        b2bua::click_to_dial(self.inner.clone(), agent_extension.to_owned(), customer).await
    }

    /// Stops serving: live calls are hung up, sockets closed.
    pub async fn shutdown(&self) {
        let senders: Vec<_> = match self.inner.calls.lock() {
            Ok(calls) => calls.values().map(|c| c.sender()).collect(),
            Err(_) => Vec::new(),
        };
        for sender in senders {
            let (reply, rx) = oneshot::channel();
            if sender.send(CallCmd::Shutdown { reply }).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
            }
        }
        self.inner.cancel.cancel();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
        if !self.calls.get_mut().map(|c| c.is_empty()).unwrap_or(true) {
            warn!("SIP server dropped with live calls");
        }
    }
}
