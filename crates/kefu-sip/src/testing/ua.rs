//! The test user agent: an rsipstack endpoint on 127.0.0.1 with a dialog layer, a REGISTER /
//! OPTIONS client with digest, outgoing calls and a queue of incoming ones.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::headers::make_header;
use rsipstack::sip::prelude::HeadersExt as _;
use rsipstack::sip::{Header, Method, Response, SipMessage, StatusCode, StatusCodeKind, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::{Transaction, TransactionReceiver};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TcpListenerConnection, TransportLayer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::call::{
    CallShared, IncomingCall, InviteOutcome, MediaOwner, Outgoing, PendingCall, TestCall, spawn_dialog_task,
};
use super::media::Media;
use super::{CallFailed, Transport, random_u64};
use crate::digest::Challenge;
use crate::sdp::{Codec, build_offer};

/// At most this many challenges are answered per request (a second one only when stale).
const MAX_AUTH_ROUNDS: u8 = 2;

/// A SIP user agent for tests. See the [module documentation](super).
pub struct TestUa {
    inner: Arc<UaInner>,
}

struct UaInner {
    user: String,
    password: Option<String>,
    server: SocketAddr,
    transport: Transport,
    contact: SocketAddr,
    /// Host part of our AoR and of Request-URIs; the server address unless set.
    domain: Mutex<String>,
    codecs: Mutex<Vec<Codec>>,
    endpoint: EndpointInnerRef,
    layer: Arc<DialogLayer>,
    listen: SipAddr,
    cancel: CancellationToken,
    incoming_tx: mpsc::UnboundedSender<IncomingCall>,
    incoming_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<IncomingCall>>,
    register_call_id: String,
    register_tag: String,
    register_seq: AtomicU32,
}

impl fmt::Debug for TestUa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestUa")
            .field("user", &self.inner.user)
            .field("contact", &self.inner.contact)
            .field("server", &self.inner.server)
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

impl Drop for TestUa {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

/// What an outgoing INVITE led to.
enum Invited {
    Answered(TestCall),
    Ringing(Box<PendingCall>),
}

impl TestUa {
    /// Starts an agent listening on 127.0.0.1 (a free port) over `transport`. `user` is its
    /// SIP user (e.g. `1001`, or a phone number for a trunk), `password` answers digest
    /// challenges, `server` is where every out-of-dialog request goes (kefu's SIP address, or
    /// another agent's [`TestUa::contact`]).
    pub async fn start(
        user: &str,
        password: Option<&str>,
        server: SocketAddr,
        transport: Transport,
    ) -> anyhow::Result<TestUa> {
        let cancel = CancellationToken::new();
        let transports = TransportLayer::new(cancel.child_token());
        let (listen, contact) = match transport {
            Transport::Udp => {
                let udp =
                    UdpConnection::create_connection("127.0.0.1:0".parse()?, None, Some(cancel.child_token())).await?;
                let listen = udp.get_addr().clone();
                let contact = listen.get_socketaddr()?;
                transports.add_transport(udp.into());
                (listen, contact)
            }
            Transport::Tcp => {
                // rsipstack binds the listener when the endpoint starts serving, on the port
                // it was given: pick a free one first.
                let contact = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
                let listener = TcpListenerConnection::new(contact, None).await?;
                let listen = listener.get_addr().clone();
                transports.add_transport(listener.into());
                (listen, contact)
            }
        };
        let endpoint = EndpointBuilder::new()
            .with_user_agent("kefu-test-ua")
            .with_transport_layer(transports)
            .with_cancel_token(cancel.child_token())
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let endpoint = endpoint.inner.clone();
        let serving = endpoint.clone();
        tokio::spawn(async move {
            let _ = serving.serve().await;
        });
        if transport == Transport::Tcp {
            wait_listening(contact).await?;
        }
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(UaInner {
            user: user.to_owned(),
            password: password.map(str::to_owned),
            server,
            transport,
            contact,
            domain: Mutex::new(server.to_string()),
            codecs: Mutex::new(vec![Codec::Pcmu, Codec::Pcma]),
            layer: Arc::new(DialogLayer::new(endpoint.clone())),
            endpoint,
            listen,
            cancel,
            incoming_tx,
            incoming_rx: tokio::sync::Mutex::new(incoming_rx),
            register_call_id: format!("{:016x}@kefu-test-ua", random_u64()),
            register_tag: format!("{:08x}", random_u64() as u32),
            register_seq: AtomicU32::new(0),
        });
        tokio::spawn(serve_incoming(inner.clone(), incoming));
        Ok(TestUa { inner })
    }

    /// The address the agent listens on (its Contact).
    pub fn contact(&self) -> SocketAddr {
        self.inner.contact
    }

    /// The agent's SIP user.
    pub fn user(&self) -> &str {
        &self.inner.user
    }

    /// The transport the agent uses.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// Uses `domain` instead of the server's address as the host of the agent's AoR and of
    /// Request-URIs (`sip:1001@kefu.test`); requests still go to the server address.
    pub fn set_domain(&self, domain: &str) {
        *self.inner.domain.lock().unwrap_or_else(|p| p.into_inner()) = domain.to_owned();
    }

    /// The codecs the agent offers and accepts, in preference order (PCMU, PCMA by default);
    /// applies to calls started after this.
    pub fn set_codecs(&self, codecs: &[Codec]) {
        *self.inner.codecs.lock().unwrap_or_else(|p| p.into_inner()) = codecs.to_vec();
    }

    /// REGISTERs the agent's contact for `expires` seconds (0 unregisters) and returns the
    /// final status, answering a 401/407 with digest (SHA-256 when offered, else MD5).
    pub async fn register(&self, expires: u32) -> anyhow::Result<u16> {
        self.register_raw(expires, None).await
    }

    /// Like [`TestUa::register`], but answers the challenge with `password_override` when
    /// given (for wrong-password tests). Without any password the 401 is returned as is.
    pub async fn register_raw(&self, expires: u32, password_override: Option<&str>) -> anyhow::Result<u16> {
        let inner = &self.inner;
        let password = password_override.or(inner.password.as_deref());
        let aor = inner.uri(Some(&inner.user))?;
        let extra = vec![
            Header::Contact(format!("<{}>", inner.contact_uri()?).into()),
            Header::Expires(expires.to_string().into()),
        ];
        let response = inner
            .request(
                Method::Register,
                &inner.uri(None)?,
                &aor,
                &inner.register_call_id,
                &inner.register_tag,
                &inner.register_seq,
                &extra,
                password,
            )
            .await?;
        Ok(response.status_code.code())
    }

    /// Sends an out-of-dialog OPTIONS to the server and returns the final status.
    pub async fn options(&self) -> anyhow::Result<u16> {
        let inner = &self.inner;
        let target = inner.uri(None)?;
        let call_id = format!("{:016x}@kefu-test-ua", random_u64());
        let tag = format!("{:08x}", random_u64() as u32);
        let seq = AtomicU32::new(0);
        let response = inner
            .request(Method::Options, &target, &target, &call_id, &tag, &seq, &[], inner.password.as_deref())
            .await?;
        Ok(response.status_code.code())
    }

    /// Calls `sip:{target}@{server}` with an SDP offer (PCMU, PCMA, telephone-event/101) for a
    /// fresh RTP socket and resolves at the first final response, answering a 401/407 with
    /// digest when the agent has a password.
    pub async fn call(&self, target: &str) -> Result<TestCall, CallFailed> {
        self.call_with_headers(target, &[]).await
    }

    /// Like [`TestUa::call`], with extra headers on the INVITE (e.g. `P-Asserted-Identity`,
    /// `Diversion` for a trunk).
    pub async fn call_with_headers(&self, target: &str, headers: &[(&str, &str)]) -> Result<TestCall, CallFailed> {
        match self.invite(target, headers, false).await? {
            Invited::Answered(call) => Ok(call),
            Invited::Ringing(pending) => (*pending).wait_answer().await,
        }
    }

    /// Calls like [`TestUa::call`] but returns as soon as a 180 or 183 arrives, so the test
    /// can CANCEL or wait for the answer. A final response before any ringing is an error.
    pub async fn call_until_ringing(&self, target: &str) -> anyhow::Result<PendingCall> {
        match self.invite(target, &[], true).await? {
            Invited::Ringing(pending) => Ok(*pending),
            Invited::Answered(call) => {
                let _ = call.hangup().await;
                bail!("the call was answered without ringing first")
            }
        }
    }

    /// Waits for an INVITE to this agent (kefu ringing it). The INVITE has been answered 100
    /// Trying; the test decides what follows.
    pub async fn incoming(&self, timeout: Duration) -> anyhow::Result<IncomingCall> {
        let mut queue = self.inner.incoming_rx.lock().await;
        tokio::time::timeout(timeout, queue.recv())
            .await
            .map_err(|_| anyhow!("no INVITE within {timeout:?}"))?
            .ok_or_else(|| anyhow!("the agent has stopped"))
    }

    /// Sends `bytes` as they are to the server — one datagram from a fresh UDP socket, or a
    /// fresh TCP connection — and returns the first response (UDP) or the first complete
    /// message (TCP) received within `wait`. Responses come back to the fresh socket only if
    /// the server honours `rport` or the connection, so put `;rport` in a hand-written Via.
    pub async fn send_raw(&self, bytes: &[u8], wait: Duration) -> anyhow::Result<Option<String>> {
        match self.inner.transport {
            Transport::Udp => send_raw_udp(self.inner.server, bytes, wait).await,
            Transport::Tcp => send_raw_tcp(self.inner.server, bytes, wait).await,
        }
    }

    /// Sends the INVITE (again after a challenge) and waits for ringing or the final response.
    async fn invite(&self, target: &str, headers: &[(&str, &str)], until_ringing: bool) -> Result<Invited, CallFailed> {
        let inner = &self.inner;
        let codecs = inner.codecs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let media = Media::bind(&inner.user, codecs, inner.cancel.child_token()).await?;
        let owner = MediaOwner(media.clone());
        let callee = inner.uri(Some(target))?;
        let caller = inner.uri(Some(&inner.user))?;
        let contact = inner.contact_uri()?;
        let call_id = format!("{:016x}{:016x}@kefu-test-ua", random_u64(), random_u64());
        let mut authorization: Option<Header> = None;
        let mut rounds = 0;
        loop {
            let offer = build_offer(&media.local_media(None));
            let mut extra: Vec<Header> =
                headers.iter().map(|(name, value)| make_header(name, (*value).to_owned())).collect();
            extra.extend(authorization.take());
            let option = InviteOption {
                caller: caller.clone(),
                callee: callee.clone(),
                destination: Some(inner.server_addr()),
                content_type: Some("application/sdp".to_owned()),
                offer: Some(offer.to_string().into_bytes()),
                contact: contact.clone(),
                headers: Some(extra),
                call_id: Some(call_id.clone()),
                ..Default::default()
            };
            let (states_tx, states_rx) = inner.layer.new_dialog_state_channel();
            let shared = CallShared::new(TransactionRole::Client, media.clone());
            let (dialog, mut handle) =
                inner.layer.do_invite_async(option, states_tx).map_err(|e| anyhow!("sending INVITE: {e}"))?;
            spawn_dialog_task(shared.clone(), states_rx, inner.layer.clone(), inner.cancel.clone());
            let outgoing = Outgoing { dialog, offer, shared: shared.clone(), call_id: call_id.clone() };
            let joined = if until_ringing {
                let mut status = shared.status.subscribe();
                tokio::select! {
                    joined = &mut handle => joined,
                    ringing = status.wait_for(|s| s.provisional.is_some()) => {
                        if ringing.is_err() {
                            return Err(anyhow!("the call's state is gone").into());
                        }
                        return Ok(Invited::Ringing(Box::new(PendingCall::new(outgoing, handle, owner))));
                    }
                }
            } else {
                handle.await
            };
            match InviteOutcome::of(joined) {
                InviteOutcome::Answered(response) => {
                    return outgoing.established(owner, &response).map(Invited::Answered);
                }
                InviteOutcome::Failed(response) => {
                    let password = inner.password.as_deref();
                    if let Some(password) = password.filter(|_| should_answer_challenge(&response, rounds)) {
                        authorization = Some(authorization_for(&inner.user, password, "INVITE", &callee, &response)?);
                        rounds += 1;
                        continue;
                    }
                    return Err(CallFailed::Status {
                        status: response.status_code.code(),
                        response: response.to_string(),
                    });
                }
                InviteOutcome::Error(e) => return Err(CallFailed::Error(e)),
            }
        }
    }
}

impl UaInner {
    fn transport_param(&self) -> &'static str {
        match self.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        }
    }

    /// `sip:[user@]domain[;transport=tcp]`.
    fn uri(&self, user: Option<&str>) -> anyhow::Result<Uri> {
        let domain = self.domain.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        let text = format!("sip:{user}{domain}{}", self.transport_param());
        Uri::try_from(text.as_str()).map_err(|e| anyhow!("bad URI {text}: {e}"))
    }

    /// `sip:user@127.0.0.1:port[;transport=tcp]`: where this agent is reached.
    fn contact_uri(&self) -> anyhow::Result<Uri> {
        let text = format!("sip:{}@{}{}", self.user, self.contact, self.transport_param());
        Uri::try_from(text.as_str()).map_err(|e| anyhow!("bad URI {text}: {e}"))
    }

    fn server_addr(&self) -> SipAddr {
        let transport = match self.transport {
            Transport::Udp => rsipstack::sip::Transport::Udp,
            Transport::Tcp => rsipstack::sip::Transport::Tcp,
        };
        SipAddr { r#type: Some(transport), addr: self.server.into() }
    }

    /// Sends an out-of-dialog request, answering up to [`MAX_AUTH_ROUNDS`] challenges, and
    /// returns the final response.
    #[allow(clippy::too_many_arguments)]
    async fn request(
        &self,
        method: Method,
        request_uri: &Uri,
        to: &Uri,
        call_id: &str,
        from_tag: &str,
        seq: &AtomicU32,
        extra: &[Header],
        password: Option<&str>,
    ) -> anyhow::Result<Response> {
        let mut authorization: Option<Header> = None;
        let mut rounds = 0;
        loop {
            let via = self.endpoint.get_via(Some(self.listen.clone()), None)?;
            let from = rsipstack::sip::typed::From {
                display_name: None,
                uri: self.uri(Some(&self.user))?,
                params: vec![rsipstack::sip::Param::Tag(from_tag.into())],
            };
            let to = rsipstack::sip::typed::To { display_name: None, uri: to.clone(), params: vec![] };
            let cseq = seq.fetch_add(1, Ordering::Relaxed) + 1;
            let mut request = self.endpoint.make_request(
                method,
                request_uri.clone(),
                via,
                from,
                to,
                cseq,
                Some(call_id.to_owned().into()),
            );
            for header in extra.iter().cloned().chain(authorization.take()) {
                request.headers.push(header);
            }
            let response = self.transact(request).await?;
            if let Some(password) = password.filter(|_| should_answer_challenge(&response, rounds)) {
                authorization =
                    Some(authorization_for(&self.user, password, method.to_string().as_str(), request_uri, &response)?);
                rounds += 1;
                continue;
            }
            return Ok(response);
        }
    }

    /// Runs one client transaction to its final response.
    async fn transact(&self, request: rsipstack::sip::Request) -> anyhow::Result<Response> {
        let method = request.method;
        let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
        let mut tx = Transaction::new_client(key, request, self.endpoint.clone(), None);
        tx.destination = Some(self.server_addr());
        tx.send().await.with_context(|| format!("sending {method}"))?;
        while let Some(message) = tx.receive().await {
            if let SipMessage::Response(response) = message
                && response.status_code.kind() != StatusCodeKind::Provisional
            {
                return Ok(response);
            }
        }
        bail!("{method} ended without a final response")
    }
}

/// Whether a response is a challenge to answer: the first one, or a stale one after that.
fn should_answer_challenge(response: &Response, rounds: u8) -> bool {
    let code = response.status_code.code();
    if !matches!(code, 401 | 407) || rounds >= MAX_AUTH_ROUNDS {
        return false;
    }
    rounds == 0 || challenges(response).iter().any(|c| c.stale)
}

/// The digest challenges of a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`).
fn challenges(response: &Response) -> Vec<Challenge> {
    let proxy = response.status_code.code() == 407;
    response
        .headers
        .iter()
        .filter_map(|header| match header {
            Header::WwwAuthenticate(value) if !proxy => Some(value.value()),
            Header::ProxyAuthenticate(value) if proxy => Some(value.value()),
            _ => None,
        })
        .filter_map(|value| Challenge::parse(value).ok())
        .collect()
}

/// The `Authorization` (401) or `Proxy-Authorization` (407) header answering the strongest
/// challenge of `response` for `method` on `uri`.
fn authorization_for(
    user: &str,
    password: &str,
    method: &str,
    uri: &Uri,
    response: &Response,
) -> anyhow::Result<Header> {
    let offered = challenges(response);
    let challenge = Challenge::strongest(&offered)
        .ok_or_else(|| anyhow!("{} without a usable Digest challenge", response.status_code.code()))?;
    let cnonce = format!("{:016x}", random_u64());
    let credentials = challenge.respond(user, password, method, &uri.to_string(), &cnonce, 1)?;
    let value = credentials.to_header_value();
    Ok(if response.status_code.code() == 407 {
        Header::ProxyAuthorization(value.into())
    } else {
        Header::Authorization(value.into())
    })
}

/// Dispatches the server transactions the endpoint creates.
async fn serve_incoming(inner: Arc<UaInner>, mut incoming: TransactionReceiver) {
    loop {
        let tx = tokio::select! {
            () = inner.cancel.cancelled() => return,
            tx = incoming.recv() => match tx {
                Some(tx) => tx,
                None => return,
            },
        };
        on_transaction(&inner, tx);
    }
}

fn on_transaction(inner: &Arc<UaInner>, mut tx: Transaction) {
    let in_dialog = tx.original.to_header().ok().and_then(|to| to.tag().ok().flatten()).is_some();
    if in_dialog {
        // BYE, re-INVITE, INFO, … : the dialog layer matches them by Call-ID and tags.
        match inner.layer.match_dialog(&tx) {
            Some(mut dialog) => {
                tokio::spawn(async move {
                    let _ = dialog.handle(&mut tx).await;
                });
            }
            None => {
                tokio::spawn(async move {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                });
            }
        }
        return;
    }
    match tx.original.method {
        Method::Invite => {
            tokio::spawn(on_invite(inner.clone(), tx));
        }
        Method::Options | Method::Notify | Method::Message => {
            tokio::spawn(async move {
                let _ = tx.reply(StatusCode::OK).await;
            });
        }
        Method::Bye | Method::Info | Method::Update | Method::PRack => {
            tokio::spawn(async move {
                let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
            });
        }
        _ => {
            tokio::spawn(async move {
                let _ = tx.reply(StatusCode::MethodNotAllowed).await;
            });
        }
    }
}

/// A new INVITE: a dialog, a media socket, 100 Trying, and the call queued for the test.
async fn on_invite(inner: Arc<UaInner>, mut tx: Transaction) {
    let codecs = inner.codecs.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (media, contact) =
        match (Media::bind(&inner.user, codecs, inner.cancel.child_token()).await, inner.contact_uri()) {
            (Ok(media), Ok(contact)) => (media, contact),
            _ => {
                let _ = tx.reply(StatusCode::ServerInternalError).await;
                return;
            }
        };
    let owner = MediaOwner(media.clone());
    let shared = CallShared::new(TransactionRole::Server, media);
    let (states_tx, states_rx) = inner.layer.new_dialog_state_channel();
    let dialog = match inner.layer.get_or_create_server_invite(&tx, states_tx, None, Some(contact)) {
        Ok(dialog) => dialog,
        Err(_) => {
            let _ = tx.reply(StatusCode::BadRequest).await;
            return;
        }
    };
    spawn_dialog_task(shared.clone(), states_rx, inner.layer.clone(), inner.cancel.clone());
    let request = tx.original.clone();
    let mut handler = dialog.clone();
    // Drives the INVITE server transaction: 100 Trying, the responses the test asks for,
    // then the ACK or a CANCEL.
    tokio::spawn(async move {
        let _ = handler.handle(&mut tx).await;
    });
    let _ = inner.incoming_tx.send(IncomingCall::new(dialog, request, shared, owner));
}

/// Waits until the TCP listener rsipstack binds in the background accepts connections.
async fn wait_listening(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("the SIP TCP listener on {addr} did not come up")
}

async fn send_raw_udp(server: SocketAddr, bytes: &[u8], wait: Duration) -> anyhow::Result<Option<String>> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    socket.send_to(bytes, server).await?;
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(received) => {
            let (len, _) = received?;
            Ok(Some(String::from_utf8_lossy(buf.get(..len).unwrap_or_default()).into_owned()))
        }
        Err(_) => Ok(None),
    }
}

async fn send_raw_tcp(server: SocketAddr, bytes: &[u8], wait: Duration) -> anyhow::Result<Option<String>> {
    let stream = tokio::net::TcpStream::connect(server).await?;
    let mut sent = 0;
    while sent < bytes.len() {
        stream.writable().await?;
        match stream.try_write(bytes.get(sent..).unwrap_or_default()) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        if complete_message(&received) {
            break;
        }
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => break,
            Ok(ready) => ready?,
        }
        match stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((!received.is_empty()).then(|| String::from_utf8_lossy(&received).into_owned()))
}

/// Whether `data` holds a whole SIP message (headers and the body Content-Length announces).
fn complete_message(data: &[u8]) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(data.get(..end).unwrap_or_default());
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| {
            let name = name.trim();
            name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")
        })
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    data.len() >= end + 4 + length
}
