//! Calls of the test agent: ringing out ([`PendingCall`]), ringing in ([`IncomingCall`]) and
//! established ([`TestCall`]), with the background task that follows each dialog.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteAsyncResult;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::{HeadersExt as _, ToTypedHeader as _};
use rsipstack::sip::{Header, Method, Request, Response, StatusCode, StatusCodeKind};
use rsipstack::transaction::key::TransactionRole;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::CallFailed;
use super::media::{Media, Received};
use crate::sdp::{Codec, Direction, SessionDescription, answer_offer, build_offer, read_answer};

/// How long [`IncomingCall::answer`] waits for the ACK of its 200.
const ACK_WAIT: Duration = Duration::from_secs(5);

/// Where a call stands, as the dialog task saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallStatus {
    /// The last provisional response of 180 or above (outgoing calls).
    pub(crate) provisional: Option<u16>,
    /// The 2xx was received (outgoing) or ACKed (incoming).
    pub(crate) confirmed: bool,
    /// How the call ended, once it has.
    pub(crate) ended: Option<Ended>,
    /// Re-INVITEs the far end sent.
    pub(crate) reinvites: usize,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The far end sent BYE.
    RemoteBye,
    /// We sent BYE.
    LocalBye,
    /// The far end CANCELled the INVITE it sent us.
    RemoteCancel,
    /// Anything else (rejection, timeout, …), as rsipstack named it.
    Other(String),
}

/// State shared by a call's handle and its dialog task.
pub(crate) struct CallShared {
    role: TransactionRole,
    pub(crate) status: watch::Sender<CallStatus>,
    pub(crate) media: Arc<Media>,
    infos: Mutex<Vec<String>>,
}

impl CallShared {
    pub(crate) fn new(role: TransactionRole, media: Arc<Media>) -> Arc<Self> {
        Arc::new(CallShared { role, status: watch::Sender::new(CallStatus::default()), media, infos: Mutex::default() })
    }

    fn snapshot(&self) -> CallStatus {
        self.status.borrow().clone()
    }

    /// Waits until `done` holds for the status, for at most `timeout`.
    async fn wait(
        &self,
        timeout: Duration,
        what: &str,
        done: impl FnMut(&CallStatus) -> bool,
    ) -> anyhow::Result<CallStatus> {
        let mut status = self.status.subscribe();
        match tokio::time::timeout(timeout, status.wait_for(done)).await {
            Ok(Ok(status)) => Ok(status.clone()),
            Ok(Err(_)) => bail!("the call's state is gone"),
            Err(_) => bail!("no {what} within {timeout:?} (call state: {:?})", self.snapshot()),
        }
    }

    fn ended_by(&self, reason: &TerminatedReason) -> Ended {
        match (self.role, reason) {
            (TransactionRole::Client, TerminatedReason::UasBye)
            | (TransactionRole::Server, TerminatedReason::UacBye) => Ended::RemoteBye,
            (TransactionRole::Client, TerminatedReason::UacBye)
            | (TransactionRole::Server, TerminatedReason::UasBye) => Ended::LocalBye,
            (TransactionRole::Server, TerminatedReason::UacCancel) => Ended::RemoteCancel,
            (_, other) => Ended::Other(format!("{other:?}")),
        }
    }

    /// Answers a re-INVITE or UPDATE from the far end: 200 with our SDP answer (or with an
    /// offer when the request had none), 488 when nothing can be agreed.
    async fn answer_in_dialog(&self, request: &Request, handle: TransactionHandle) {
        if request.method == Method::Invite {
            self.status.send_modify(|s| s.reinvites += 1);
        }
        let sdp = || Some(vec![sdp_content_type()]);
        if request.body.is_empty() {
            // No offer: ours goes in the 200 and the answer comes in the ACK (not read).
            let offer = build_offer(&self.media.local_media(None)).to_string();
            let _ = handle.respond(StatusCode::OK, sdp(), Some(offer.into_bytes())).await;
            return;
        }
        let offer = match parse_sdp(&request.body) {
            Ok(offer) => offer,
            Err(_) => {
                let _ = handle.reply(StatusCode::BadRequest).await;
                return;
            }
        };
        match answer_offer(&offer, &self.media.local_media(None)) {
            Ok((answer, negotiated)) => {
                self.media.apply(&negotiated, offer.media_direction(negotiated.media_index));
                let _ = handle.respond(StatusCode::OK, sdp(), Some(answer.to_string().into_bytes())).await;
            }
            Err(e) => {
                let _ = handle.reply(StatusCode::from(e.sip_status())).await;
            }
        }
    }
}

/// `Content-Type: application/sdp`.
pub(crate) fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
}

pub(crate) fn parse_sdp(body: &[u8]) -> anyhow::Result<SessionDescription> {
    let text = std::str::from_utf8(body).context("SDP is not UTF-8")?;
    Ok(SessionDescription::parse(text)?)
}

/// Follows one dialog's states until it ends: records provisional responses, confirmation
/// and the end, answers in-dialog requests, and removes the dialog from the layer at the end
/// (rsipstack leaves that to the application).
pub(crate) fn spawn_dialog_task(
    shared: Arc<CallShared>,
    mut states: DialogStateReceiver,
    layer: Arc<DialogLayer>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let state = tokio::select! {
                () = cancel.cancelled() => return,
                state = states.recv() => match state {
                    Some(state) => state,
                    None => return,
                },
            };
            match state {
                DialogState::Early(_, response) => {
                    let code = response.status_code.code();
                    if code >= 180 {
                        shared.status.send_modify(|s| s.provisional = Some(code));
                    }
                }
                DialogState::Confirmed(..) => shared.status.send_modify(|s| s.confirmed = true),
                DialogState::Updated(_, request, handle) => shared.answer_in_dialog(&request, handle).await,
                DialogState::Info(_, request, handle) => {
                    let body = String::from_utf8_lossy(&request.body).into_owned();
                    shared.infos.lock().unwrap_or_else(|p| p.into_inner()).push(body);
                    let _ = handle.reply(StatusCode::OK).await;
                }
                DialogState::Options(_, _, handle)
                | DialogState::Notify(_, _, handle)
                | DialogState::Message(_, _, handle) => {
                    let _ = handle.reply(StatusCode::OK).await;
                }
                DialogState::Terminated(id, reason) => {
                    let ended = shared.ended_by(&reason);
                    shared.media.stop_tone();
                    shared.status.send_modify(|s| s.ended = Some(ended));
                    layer.remove_dialog(&id);
                    return;
                }
                // REFER and PUBLISH: dropping the handle answers 501 at once.
                _ => {}
            }
        }
    });
}

/// Owns a call's media: dropping it stops the recorder and the tone.
pub(crate) struct MediaOwner(pub(crate) Arc<Media>);

impl Drop for MediaOwner {
    fn drop(&mut self) {
        self.0.cancel.cancel();
    }
}

/// How an outgoing INVITE ended.
pub(crate) enum InviteOutcome {
    /// A 2xx.
    Answered(Response),
    /// A final non-2xx.
    Failed(Response),
    /// No final response, or an error of the stack.
    Error(anyhow::Error),
}

impl InviteOutcome {
    pub(crate) fn of(joined: Result<InviteAsyncResult, tokio::task::JoinError>) -> Self {
        match joined {
            Err(e) => InviteOutcome::Error(anyhow!("the INVITE task failed: {e}")),
            Ok(Err(e)) => InviteOutcome::Error(anyhow!("INVITE failed: {e}")),
            Ok(Ok((_, None))) => InviteOutcome::Error(anyhow!("the INVITE got no final response")),
            Ok(Ok((_, Some(response)))) if response.status_code.kind() == StatusCodeKind::Successful => {
                InviteOutcome::Answered(response)
            }
            Ok(Ok((_, Some(response)))) => InviteOutcome::Failed(response),
        }
    }
}

/// The parts of an outgoing call before its final response.
pub(crate) struct Outgoing {
    pub(crate) dialog: InviteDialog,
    pub(crate) offer: SessionDescription,
    pub(crate) shared: Arc<CallShared>,
    pub(crate) call_id: String,
}

impl Outgoing {
    /// Takes the 2xx: reads the SDP answer and starts the call.
    pub(crate) fn established(self, media: MediaOwner, response: &Response) -> Result<TestCall, CallFailed> {
        let answer = parse_sdp(&response.body).context("the 200 carries no usable SDP answer")?;
        let negotiated = read_answer(&self.offer, &answer).context("the SDP answer does not fit the offer")?;
        self.shared.media.apply(&negotiated, answer.media_direction(negotiated.media_index));
        Ok(TestCall { dialog: self.dialog, shared: self.shared, call_id: self.call_id, _media: media })
    }
}

/// An outgoing call that is ringing (a 180 or 183 arrived): cancel it or wait for the answer.
pub struct PendingCall {
    outgoing: Outgoing,
    handle: JoinHandle<InviteAsyncResult>,
    media: MediaOwner,
}

impl fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingCall").field("call_id", &self.outgoing.call_id).finish_non_exhaustive()
    }
}

impl PendingCall {
    pub(crate) fn new(outgoing: Outgoing, handle: JoinHandle<InviteAsyncResult>, media: MediaOwner) -> Self {
        PendingCall { outgoing, handle, media }
    }

    /// The last provisional status (180 or 183).
    pub fn provisional_status(&self) -> u16 {
        self.outgoing.shared.snapshot().provisional.unwrap_or(0)
    }

    /// The Call-ID of the INVITE.
    pub fn call_id(&self) -> String {
        self.outgoing.call_id.clone()
    }

    /// What the call's RTP socket received so far (early media).
    pub fn received(&self) -> Received {
        self.media.0.received()
    }

    /// Sends CANCEL and returns the INVITE's final status: 487 normally; 200 when the answer
    /// crossed the CANCEL (the agent then ends that call with a BYE itself).
    pub async fn cancel(self) -> anyhow::Result<u16> {
        let cancelled = self.outgoing.dialog.cancel().await;
        match InviteOutcome::of(self.handle.await) {
            InviteOutcome::Answered(response) | InviteOutcome::Failed(response) => Ok(response.status_code.code()),
            InviteOutcome::Error(e) => match cancelled {
                Err(cancel_error) => Err(e.context(format!("CANCEL failed: {cancel_error}"))),
                Ok(()) => Err(e),
            },
        }
    }

    /// Waits for the final response: the established call on a 2xx.
    pub async fn wait_answer(self) -> Result<TestCall, CallFailed> {
        match InviteOutcome::of(self.handle.await) {
            InviteOutcome::Answered(response) => self.outgoing.established(self.media, &response),
            InviteOutcome::Failed(response) => {
                Err(CallFailed::Status { status: response.status_code.code(), response: response.to_string() })
            }
            InviteOutcome::Error(e) => Err(CallFailed::Error(e)),
        }
    }
}

/// An INVITE that reached this agent (kefu ringing it as an agent, or another agent calling).
pub struct IncomingCall {
    dialog: InviteDialog,
    request: Request,
    shared: Arc<CallShared>,
    media: MediaOwner,
}

impl fmt::Debug for IncomingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingCall")
            .field("request_uri", &self.request.uri.to_string())
            .field("call_id", &self.call_id())
            .finish_non_exhaustive()
    }
}

impl IncomingCall {
    pub(crate) fn new(dialog: InviteDialog, request: Request, shared: Arc<CallShared>, media: MediaOwner) -> Self {
        IncomingCall { dialog, request, shared, media }
    }

    /// The Request-URI, e.g. `sip:1001@127.0.0.1:40000`.
    pub fn request_uri(&self) -> String {
        self.request.uri.to_string()
    }

    /// The user part of the From URI (the calling number as kefu presents it).
    pub fn from_user(&self) -> String {
        self.request
            .from_header()
            .ok()
            .and_then(|from| from.typed().ok())
            .and_then(|from| from.uri.user().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The user part of the To URI.
    pub fn to_user(&self) -> String {
        self.request
            .to_header()
            .ok()
            .and_then(|to| to.typed().ok())
            .and_then(|to| to.uri.user().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The first header named `name` (case-insensitive, compact forms too), as received.
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.request, name)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> String {
        self.request.call_id_header().map(|c| c.value().to_owned()).unwrap_or_default()
    }

    /// The INVITE's body (the SDP offer; empty for an offerless INVITE).
    pub fn sdp(&self) -> String {
        String::from_utf8_lossy(&self.request.body).into_owned()
    }

    /// The whole INVITE as text.
    pub fn request_text(&self) -> String {
        self.request.to_string()
    }

    /// What this call's RTP socket received so far.
    pub fn received(&self) -> Received {
        self.media.0.received()
    }

    /// Sends 180 Ringing.
    pub async fn ring(&self) -> anyhow::Result<()> {
        self.dialog.ringing(None, None).map_err(|e| anyhow!("sending 180: {e}"))
    }

    /// Sends 200 with an SDP answer (or an offer, for an offerless INVITE — the answer is then
    /// read from the ACK) and waits for the ACK. A 488 goes out instead when the offer has
    /// nothing in common with us, and this returns an error.
    pub async fn answer(self) -> anyhow::Result<TestCall> {
        let media = self.shared.media.clone();
        let local = media.local_media(None);
        let (body, our_offer) = if self.request.body.is_empty() {
            let offer = build_offer(&local);
            (offer.to_string(), Some(offer))
        } else {
            let offer = parse_sdp(&self.request.body)?;
            match answer_offer(&offer, &local) {
                Ok((answer, negotiated)) => {
                    media.apply(&negotiated, offer.media_direction(negotiated.media_index));
                    (answer.to_string(), None)
                }
                Err(e) => {
                    let _ = self.dialog.reject(Some(StatusCode::from(e.sip_status())), None);
                    bail!("cannot answer the offer: {e}");
                }
            }
        };
        self.dialog
            .accept(Some(vec![sdp_content_type()]), Some(body.into_bytes()))
            .map_err(|e| anyhow!("sending 200: {e}"))?;
        let status = self.shared.wait(ACK_WAIT, "ACK", |s| s.confirmed || s.ended.is_some()).await?;
        if let Some(ended) = status.ended {
            bail!("the call ended before it was confirmed: {ended:?}");
        }
        if let Some(offer) = our_offer {
            let ack = self.dialog.last_remote_ack().ok_or_else(|| anyhow!("no ACK recorded"))?;
            let answer = parse_sdp(&ack.body).context("the ACK carries no SDP answer")?;
            let negotiated = read_answer(&offer, &answer)?;
            media.apply(&negotiated, answer.media_direction(negotiated.media_index));
        }
        let call_id = self.call_id();
        Ok(TestCall { dialog: self.dialog, shared: self.shared, call_id, _media: self.media })
    }

    /// Rejects the INVITE with `status` (486 Busy Here, 603 Decline, …).
    pub async fn reject(self, status: u16) -> anyhow::Result<()> {
        self.dialog.reject(Some(StatusCode::from(status)), None).map_err(|e| anyhow!("sending {status}: {e}"))
    }

    /// Waits until the far end CANCELs this INVITE (the agent has answered 487 by then).
    pub async fn wait_cancelled(&self, timeout: Duration) -> anyhow::Result<()> {
        let status = self.shared.wait(timeout, "CANCEL", |s| s.ended.is_some()).await?;
        match status.ended {
            Some(Ended::RemoteCancel) => Ok(()),
            other => bail!("the call ended otherwise: {other:?}"),
        }
    }
}

/// The first header named `name` of a request.
pub(crate) fn header_value(request: &Request, name: &str) -> Option<String> {
    request.headers.iter().find(|h| h.name().eq_ignore_ascii_case(name)).map(|h| h.value().to_owned())
}

/// An established call, on either side.
pub struct TestCall {
    dialog: InviteDialog,
    shared: Arc<CallShared>,
    call_id: String,
    _media: MediaOwner,
}

impl fmt::Debug for TestCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCall")
            .field("call_id", &self.call_id)
            .field("rtp_local", &self.rtp_local())
            .field("rtp_remote", &self.rtp_remote())
            .finish_non_exhaustive()
    }
}

impl TestCall {
    fn media(&self) -> &Arc<Media> {
        &self.shared.media
    }

    /// Where this call receives RTP.
    pub fn rtp_local(&self) -> SocketAddr {
        self.media().local()
    }

    /// Where this call sends RTP (from the far end's SDP); `None` when it gave no address.
    pub fn rtp_remote(&self) -> Option<SocketAddr> {
        self.media().remote()
    }

    /// The negotiated codec.
    pub fn codec(&self) -> Codec {
        self.media().codec()
    }

    /// Our negotiated direction (whether we may send).
    pub fn direction(&self) -> Direction {
        self.media().direction()
    }

    /// The direction the far end wrote in its last SDP: `SendOnly` while kefu holds us.
    pub fn remote_direction(&self) -> Direction {
        self.media().remote_direction()
    }

    /// Whether the far end does not want our media (it holds us).
    pub fn held_by_remote(&self) -> bool {
        self.media().remote_hold()
    }

    /// The Call-ID of this call's dialog.
    pub fn call_id(&self) -> String {
        self.call_id.clone()
    }

    /// Starts sending a sine tone at `freq_hz` as 20 ms G.711 packets, replacing any tone
    /// already playing, until [`TestCall::stop_tone`], the end of the call or the drop of
    /// this handle. Nothing is sent while the direction forbids it (we are held).
    pub fn start_tone(&self, freq_hz: f32) {
        self.media().start_tone(freq_hz);
    }

    /// Stops the tone.
    pub fn stop_tone(&self) {
        self.media().stop_tone();
    }

    /// What this call's RTP socket has received so far.
    pub fn received(&self) -> Received {
        self.media().received()
    }

    /// Waits until recent audio (the last 160 ms, with a packet in the last 200 ms) holds a
    /// tone at `freq_hz`.
    pub async fn wait_for_tone(&self, freq_hz: f32, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.media().hears(freq_hz) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let received = self.received();
                bail!(
                    "no {freq_hz} Hz tone within {timeout:?}: {} audio packets, dominant frequency {:?}, {} Hz share {:.2}",
                    received.audio_packets,
                    received.dominant_frequency(super::media::TONE_WINDOW),
                    freq_hz,
                    received.tone_fraction(freq_hz, super::media::TONE_WINDOW),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the RFC 4733 digits received so far contain `digits`.
    pub async fn wait_for_digits(&self, digits: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.media().digits();
            if received.contains(digits) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("digits {digits:?} not received within {timeout:?} (got {received:?})");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends one key press as RFC 4733 telephone-events (100 ms, on the negotiated payload
    /// type); returns once the last packet is sent.
    pub async fn send_dtmf(&self, digit: char) -> anyhow::Result<()> {
        self.media().send_dtmf(digit).await
    }

    /// Sends the key press as SIP INFO (`application/dtmf-relay`, `Signal=5\r\nDuration=160`)
    /// and returns the response status.
    pub async fn send_info_dtmf(&self, digit: char) -> anyhow::Result<u16> {
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        let headers = vec![Header::ContentType("application/dtmf-relay".into())];
        let response = self
            .dialog
            .info(Some(headers), Some(body.into_bytes()))
            .await
            .map_err(|e| anyhow!("INFO failed: {e}"))?
            .ok_or_else(|| anyhow!("INFO got no response (is the call confirmed?)"))?;
        Ok(response.status_code.code())
    }

    /// The bodies of the INFO requests the far end sent, in order.
    pub fn info_received(&self) -> Vec<String> {
        self.shared.infos.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts the far end on hold: a re-INVITE offering `a=sendonly`. Returns its status.
    pub async fn hold(&self) -> anyhow::Result<u16> {
        self.reinvite(Direction::SendOnly).await
    }

    /// Takes the far end off hold: a re-INVITE offering `a=sendrecv`. Returns its status.
    pub async fn unhold(&self) -> anyhow::Result<u16> {
        self.reinvite(Direction::SendRecv).await
    }

    async fn reinvite(&self, wanted: Direction) -> anyhow::Result<u16> {
        let offer = build_offer(&self.media().local_media(Some(wanted)));
        let response = self
            .dialog
            .reinvite(Some(vec![sdp_content_type()]), Some(offer.to_string().into_bytes()))
            .await
            .map_err(|e| anyhow!("re-INVITE failed: {e}"))?
            .ok_or_else(|| anyhow!("re-INVITE got no response (is the call confirmed?)"))?;
        if response.status_code.kind() == StatusCodeKind::Successful {
            self.media().set_wanted(wanted);
            if !response.body.is_empty() {
                let answer = parse_sdp(&response.body)?;
                let negotiated = read_answer(&offer, &answer)?;
                self.media().apply(&negotiated, answer.media_direction(negotiated.media_index));
            }
        }
        Ok(response.status_code.code())
    }

    /// Hangs up: sends BYE (the call counts as ended whatever the answer).
    pub async fn hangup(&self) -> anyhow::Result<()> {
        self.dialog.bye().await.map_err(|e| anyhow!("BYE failed: {e}"))?;
        // The dialog task records the end (and removes the dialog) just after.
        self.shared.wait(Duration::from_secs(1), "end of the call", |s| s.ended.is_some()).await?;
        Ok(())
    }

    /// Waits until the far end ends the call with a BYE.
    pub async fn wait_bye(&self, timeout: Duration) -> anyhow::Result<()> {
        let status = self.shared.wait(timeout, "BYE", |s| s.ended.is_some()).await?;
        match status.ended {
            Some(Ended::RemoteBye) => Ok(()),
            other => bail!("the call ended otherwise: {other:?}"),
        }
    }

    /// Whether the call has ended (either side, any way).
    pub fn is_ended(&self) -> bool {
        self.shared.snapshot().ended.is_some()
    }

    /// Re-INVITEs the far end sent in this call (kefu's hold and resume).
    pub fn reinvites_received(&self) -> usize {
        self.shared.snapshot().reinvites
    }
}
