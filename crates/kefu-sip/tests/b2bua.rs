//! The SIP server end to end, in process: test user agents register with digest, call through
//! a trunk or from an extension, talk (real RTP both ways), send DTMF, hold, transfer and hang
//! up, and the call events and the recording tell the story.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use kefu_sip::digest::{Algorithm, Challenge};
use kefu_sip::media::engine::MediaConfig;
use kefu_sip::media::wav::WavHeader;
use kefu_sip::registrar::ExpiryPolicy;
use kefu_sip::server::{
    CallEvent, CallEventKind, ControlError, DigitVia, EndCause, IvrSignal, SipConfig, SipHandle, SipSecret, SipServer,
    TransferMode, Trunk, TrunkTransport,
};
use kefu_sip::testing::{CallFailed, TestCall, TestUa, Transport, goertzel_power};
use tokio::sync::mpsc::UnboundedReceiver;

const PASSWORD: &str = "s3cret-pw";
const T: Duration = Duration::from_secs(5);

fn secret(ext: &str) -> SipSecret {
    kefu_sip::testing::secret(ext, PASSWORD, "kefu")
}

static PORTS: AtomicU16 = AtomicU16::new(31000);

struct Kefu {
    sip: SipHandle,
    events: UnboundedReceiver<CallEvent>,
    _dir: tempfile::TempDir,
    recordings: std::path::PathBuf,
}

/// A server with extensions 1001–1003 (1003 disabled) and, when `trunk_port` is given, a trunk
/// that accepts calls from 127.0.0.1 (DID 4000 and anything else → 1001) and sends calls to
/// 127.0.0.1:`trunk_port`.
async fn kefu(trunk_port: Option<u16>, ring: Duration) -> Kefu {
    kefu_with(trunk_port, ring, vec![Algorithm::Md5, Algorithm::Sha256]).await
}

async fn kefu_with(trunk_port: Option<u16>, ring: Duration, digest_algorithms: Vec<Algorithm>) -> Kefu {
    let mut users: HashMap<String, SipSecret> =
        ["1001", "1002", "1009"].iter().map(|e| (e.to_string(), secret(e))).collect();
    users.insert("1003".into(), SipSecret { enabled: false, ..secret("1003") });
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("recordings");
    let base = PORTS.fetch_add(400, Ordering::Relaxed);
    let cfg = SipConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        realm: "kefu".into(),
        media: MediaConfig { bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST), port_min: base, port_max: base + 398 },
        ring_timeout: ring,
        recordings_dir: Some(recordings.clone()),
        music_on_hold: kefu_sip::media::tones::tone(300.0, 2000, 6000).into(),
        expiry: ExpiryPolicy { min_secs: 30, max_secs: 3600, default_secs: 600 },
        digest_algorithms,
    };
    let trunks = trunk_port
        .map(|port| Trunk {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port,
            transport: TrunkTransport::Udp,
            auth_username: None,
            auth_password: None,
            allow_from: vec!["127.0.0.1".parse().unwrap()],
            inbound_routes: [
                ("4000".to_owned(), "1001".to_owned()),
                ("4002".to_owned(), "1002".to_owned()),
                ("4100".to_owned(), "ivr:hotline".to_owned()),
            ]
            .into_iter()
            .collect(),
            caller_id: Some("4000".into()),
        })
        .into_iter()
        .collect();
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let sip = SipServer::start(cfg, Arc::new(kefu_sip::testing::StaticDirectory(users)), trunks, tx).await.unwrap();
    Kefu { sip, events, _dir: dir, recordings }
}

impl Kefu {
    async fn agent(&self, ext: &str) -> TestUa {
        let ua = TestUa::start(ext, Some(PASSWORD), self.sip.local_addr(), Transport::Udp).await.unwrap();
        assert_eq!(ua.register(600).await.unwrap(), 200, "{ext} registers");
        ua
    }

    async fn caller(&self) -> TestUa {
        TestUa::start("13800138000", None, self.sip.local_addr(), Transport::Udp).await.unwrap()
    }

    /// Waits for an event matching `pred`, returning it (and everything seen before it).
    async fn wait_event(&mut self, what: &str, pred: impl Fn(&CallEvent) -> bool) -> (CallEvent, Vec<CallEvent>) {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + T;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if pred(&e) => return (e, seen),
                Ok(Some(e)) => seen.push(e),
                _ => panic!("no {what} event; saw {:#?}", seen.iter().map(|e| e.kind.name()).collect::<Vec<_>>()),
            }
        }
    }

    fn only_call(&self) -> String {
        let calls = self.sip.calls();
        assert_eq!(calls.len(), 1, "{calls:#?}");
        calls[0].id.0.clone()
    }
}

/// Caller (trunk) → 4000 → agent 1001 answers; returns both ends talking with tones.
async fn connected(k: &Kefu, agent: &TestUa, caller: &TestUa) -> (TestCall, TestCall) {
    let dial = caller.call_until_ringing("4000");
    let incoming = async {
        let incoming = agent.incoming(T).await.unwrap();
        incoming.ring().await.unwrap();
        incoming
    };
    let (pending, incoming) = tokio::join!(dial, incoming);
    let pending = pending.unwrap();
    assert_eq!(incoming.from_user(), "13800138000", "the agent's phone shows the caller's number");
    let agent_call = incoming.answer().await.unwrap();
    let caller_call = pending.wait_answer().await.unwrap();
    caller_call.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.expect("agent hears the caller");
    caller_call.wait_for_tone(1000.0, T).await.expect("caller hears the agent");
    assert_eq!(k.sip.calls().len(), 1);
    (caller_call, agent_call)
}

#[tokio::test]
async fn register_with_digest_refuses_wrong_passwords_and_strangers() {
    let k = kefu(None, T).await;
    let ua = TestUa::start("1001", Some(PASSWORD), k.sip.local_addr(), Transport::Udp).await.unwrap();
    assert_eq!(ua.register(600).await.unwrap(), 200);
    let regs = k.sip.registrations();
    assert_eq!(regs.len(), 1, "{regs:#?}");
    assert_eq!(regs[0].extension, "1001");
    assert!(regs[0].expires_in_secs > 590 && regs[0].expires_in_secs <= 600);
    assert!(regs[0].source.starts_with("udp:127.0.0.1:"), "{}", regs[0].source);

    assert_eq!(ua.register_raw(600, Some("wrong")).await.unwrap(), 403, "wrong password");
    let stranger = TestUa::start("7777", Some(PASSWORD), k.sip.local_addr(), Transport::Udp).await.unwrap();
    assert_eq!(stranger.register(600).await.unwrap(), 403, "unknown extension");
    let disabled = TestUa::start("1003", Some(PASSWORD), k.sip.local_addr(), Transport::Udp).await.unwrap();
    assert_eq!(disabled.register(600).await.unwrap(), 403, "disabled user");
    assert_eq!(k.sip.registrations().len(), 1, "failed attempts change nothing");

    // A second phone for the same extension, over TCP: both contacts are kept.
    let desk = TestUa::start("1001", Some(PASSWORD), k.sip.local_addr(), Transport::Tcp).await.unwrap();
    assert_eq!(desk.register(600).await.unwrap(), 200);
    let regs = k.sip.registrations();
    assert_eq!(regs.len(), 2, "{regs:#?}");
    assert!(regs.iter().any(|r| r.source.starts_with("tcp:")), "{regs:#?}");

    // Unregister.
    assert_eq!(ua.register(0).await.unwrap(), 200);
    assert_eq!(k.sip.registrations().len(), 1);
    assert_eq!(ua.options().await.unwrap(), 200, "OPTIONS keep-alive answered");
}

#[tokio::test]
async fn trunk_call_talks_both_ways_with_dtmf_hold_and_recording() {
    let mut k = kefu(Some(9), T).await;
    let agent = k.agent("1001").await;
    let caller = k.caller().await;
    let (caller_call, agent_call) = connected(&k, &agent, &caller).await;
    let call = k.only_call();
    assert_eq!(k.sip.call(&call).unwrap().state, "talking");
    let (bridged, _) = k.wait_event("bridged", |e| matches!(e.kind, CallEventKind::Bridged { .. })).await;
    assert_eq!(bridged.agent.as_deref(), Some("1001"));

    // DTMF by RFC 4733 and by SIP INFO.
    caller_call.send_dtmf('5').await.unwrap();
    let (digit, _) = k.wait_event("digit", |e| matches!(e.kind, CallEventKind::Digit { .. })).await;
    assert_eq!(digit.kind, CallEventKind::Digit { digit: '5', via: DigitVia::Rfc4733 });
    assert_eq!(caller_call.send_info_dtmf('#').await.unwrap(), 200);
    let (digit, _) = k.wait_event("info digit", |e| matches!(e.kind, CallEventKind::Digit { .. })).await;
    assert_eq!(digit.kind, CallEventKind::Digit { digit: '#', via: DigitVia::Info });
    assert!(
        agent_call.received().digits.is_empty(),
        "digits are not relayed as audio: {:?}",
        agent_call.received().digits
    );

    // Hold from the API: the caller hears music (300 Hz here), not the agent.
    k.sip.hold(&call).await.unwrap();
    caller_call.wait_for_tone(300.0, T).await.expect("music on hold");
    assert_eq!(k.sip.call(&call).unwrap().state, "held");
    assert!(k.sip.hold(&call).await.is_err(), "holding twice is refused");
    k.sip.unhold(&call).await.unwrap();
    caller_call.wait_for_tone(1000.0, T).await.expect("agent again after unhold");

    // Hold from the agent's phone (re-INVITE sendonly).
    assert_eq!(agent_call.hold().await.unwrap(), 200);
    k.wait_event("held by phone", |e| e.kind == CallEventKind::Held { by: "phone" }).await;
    caller_call.wait_for_tone(300.0, T).await.expect("music on hold from the phone's hold");
    assert_eq!(agent_call.unhold().await.unwrap(), 200);
    k.wait_event("resumed by phone", |e| e.kind == CallEventKind::Resumed { by: "phone" }).await;
    caller_call.wait_for_tone(1000.0, T).await.unwrap();

    // Let audio flow for a moment, then the caller hangs up: the agent gets a BYE.
    tokio::time::sleep(Duration::from_millis(600)).await;
    caller_call.hangup().await.unwrap();
    agent_call.wait_bye(T).await.expect("BYE relayed to the agent");
    let (saved, _) = k.wait_event("recording", |e| matches!(e.kind, CallEventKind::RecordingSaved(_))).await;
    let CallEventKind::RecordingSaved(rec) = saved.kind else { unreachable!() };
    assert_eq!(rec.customer, "13800138000");
    assert_eq!(rec.dialled, "4000");
    assert_eq!(rec.agent_extension.as_deref(), Some("1001"));
    assert!(rec.path.starts_with(&k.recordings));
    let bytes = std::fs::read(&rec.path).unwrap();
    assert_eq!(bytes.len() as u64, rec.size_bytes);
    let header = WavHeader::parse(&bytes).unwrap();
    assert_eq!(header.channels, 2);
    let data = header.data(&bytes).unwrap();
    let (mut left, mut right) = (0f64, 0f64);
    for frame in data.chunks_exact(4) {
        left += f64::from(i16::from_le_bytes([frame[0], frame[1]])).powi(2);
        right += f64::from(i16::from_le_bytes([frame[2], frame[3]])).powi(2);
    }
    let frames = (data.len() / 4) as f64;
    assert!((left / frames).sqrt() > 300.0, "caller channel has audio");
    assert!((right / frames).sqrt() > 300.0, "agent channel has audio");
    assert!(rec.duration_ms > 1000, "{}", rec.duration_ms);
    let (ended, _) = k.wait_event("ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    assert!(
        matches!(ended.kind, CallEventKind::CallEnded { cause: EndCause::CustomerHangup, talk_ms } if talk_ms > 1000)
    );
    assert!(k.sip.calls().is_empty());
}

#[tokio::test]
async fn agent_hangup_ends_the_callers_leg() {
    let mut k = kefu(Some(9), T).await;
    let agent = k.agent("1001").await;
    let caller = k.caller().await;
    let (caller_call, agent_call) = connected(&k, &agent, &caller).await;
    agent_call.hangup().await.unwrap();
    caller_call.wait_bye(T).await.expect("BYE relayed to the caller");
    let (ended, _) = k.wait_event("ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    assert!(matches!(ended.kind, CallEventKind::CallEnded { cause: EndCause::AgentHangup, .. }));
}

#[tokio::test]
async fn cancel_while_ringing_cancels_the_agent_leg() {
    let mut k = kefu(Some(9), T).await;
    let agent = k.agent("1001").await;
    let caller = k.caller().await;
    let (pending, incoming) = tokio::join!(caller.call_until_ringing("4000"), async {
        let incoming = agent.incoming(T).await.unwrap();
        incoming.ring().await.unwrap();
        incoming
    });
    let pending = pending.unwrap();
    assert_eq!(pending.cancel().await.unwrap(), 487);
    incoming.wait_cancelled(T).await.expect("kefu cancels the ringing agent");
    let (ended, _) = k.wait_event("ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    assert!(matches!(ended.kind, CallEventKind::CallEnded { cause: EndCause::Cancelled, talk_ms: 0 }));
}

#[tokio::test]
async fn busy_unregistered_unknown_and_unanswered_targets_fail_cleanly() {
    let mut k = kefu(Some(9), Duration::from_millis(1500)).await;
    let caller = k.caller().await;
    // 1002 exists but has no phone registered.
    match caller.call("4002").await {
        Err(CallFailed::Status { status, .. }) => assert_eq!(status, 480),
        other => panic!("expected 480, got {:?}", other.map(|c| c.call_id())),
    }
    // A DID with no inbound route.
    match caller.call("5555").await {
        Err(CallFailed::Status { status, .. }) => assert_eq!(status, 404),
        other => panic!("expected 404, got {:?}", other.map(|c| c.call_id())),
    }
    // Busy.
    let agent = k.agent("1001").await;
    let (result, ()) = tokio::join!(caller.call("4000"), async {
        let incoming = agent.incoming(T).await.unwrap();
        incoming.reject(486).await.unwrap();
    });
    assert_eq!(result.err().and_then(|e| e.status()), Some(486));
    k.wait_event("busy", |e| matches!(e.kind, CallEventKind::CallEnded { cause: EndCause::Busy, .. })).await;
    // Nobody answers: the ring timeout cancels the agent and the caller gets 480.
    let (result, cancelled) = tokio::join!(caller.call("4000"), async {
        let incoming = agent.incoming(T).await.unwrap();
        incoming.ring().await.unwrap();
        incoming.wait_cancelled(T).await
    });
    assert_eq!(result.err().and_then(|e| e.status()), Some(480));
    cancelled.expect("the unanswered phone is cancelled");
    k.wait_event("no answer", |e| matches!(e.kind, CallEventKind::CallEnded { cause: EndCause::NoAnswer, .. })).await;
}

#[tokio::test]
async fn extensions_call_each_other_after_proxy_authentication() {
    let k = kefu(None, T).await; // no trunk: every INVITE must authenticate
    let a = k.agent("1001").await;
    let b = k.agent("1002").await;
    let (call, incoming) = tokio::join!(b.call("1001"), async {
        let i = a.incoming(T).await.unwrap();
        assert_eq!(i.from_user(), "1002");
        i.answer().await.unwrap()
    });
    let call = call.unwrap();
    call.start_tone(700.0);
    incoming.wait_for_tone(700.0, T).await.unwrap();
    call.hangup().await.unwrap();
    incoming.wait_bye(T).await.unwrap();

    // Unknown extension: 404 after authentication; a stranger without credentials: refused.
    assert_eq!(b.call("8888").await.err().and_then(|e| e.status()), Some(404));
    let stranger = TestUa::start("555", None, k.sip.local_addr(), Transport::Udp).await.unwrap();
    let status = stranger.call("1001").await.err().and_then(|e| e.status());
    assert_eq!(status, Some(407), "no trunk matches and no credentials were given");
}

#[tokio::test]
async fn blind_transfer_moves_the_caller_to_another_agent() {
    let mut k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let caller = k.caller().await;
    let (caller_call, first_call) = connected(&k, &first, &caller).await;
    let call = k.only_call();
    k.sip.transfer(&call, "1002").await.unwrap();
    first_call.wait_bye(T).await.expect("the transferring agent leaves at once");
    let incoming = second.incoming(T).await.unwrap();
    assert_eq!(k.sip.call(&call).unwrap().state, "transferring");
    let second_call = incoming.answer().await.unwrap();
    second_call.start_tone(1500.0);
    caller_call.wait_for_tone(1500.0, T).await.expect("caller talks to the new agent");
    second_call.wait_for_tone(440.0, T).await.expect("new agent hears the caller");
    let (t, _) = k.wait_event("transferred", |e| matches!(e.kind, CallEventKind::Transferred { .. })).await;
    assert_eq!(t.kind, CallEventKind::Transferred { mode: TransferMode::Blind, to: "1002".into() });
    assert_eq!(k.sip.call(&call).unwrap().agent.as_deref(), Some("1002"));
    caller_call.hangup().await.unwrap();
    second_call.wait_bye(T).await.unwrap();
    let (saved, _) = k.wait_event("recording", |e| matches!(e.kind, CallEventKind::RecordingSaved(_))).await;
    let CallEventKind::RecordingSaved(rec) = saved.kind else { unreachable!() };
    assert_eq!(rec.agent_extension.as_deref(), Some("1002"), "the recording names the agent who finished the call");
}

#[tokio::test]
async fn attended_transfer_consults_then_joins() {
    let mut k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let caller = k.caller().await;
    let (caller_call, first_call) = connected(&k, &first, &caller).await;
    let call = k.only_call();
    k.sip.consult(&call, "1002").await.unwrap();
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    second_call.start_tone(1500.0);
    first_call.wait_for_tone(1500.0, T).await.expect("the agents talk privately");
    second_call.wait_for_tone(1000.0, T).await.expect("the consulted agent hears the first agent");
    caller_call.wait_for_tone(300.0, T).await.expect("the caller hears music meanwhile");
    assert_eq!(k.sip.call(&call).unwrap().state, "consulting");
    assert!(k.sip.hold(&call).await.is_err(), "no hold during a consultation");
    k.sip.complete_transfer(&call).await.unwrap();
    first_call.wait_bye(T).await.expect("the first agent leaves");
    caller_call.wait_for_tone(1500.0, T).await.expect("caller joined to the second agent");
    let (t, _) = k.wait_event("transferred", |e| matches!(e.kind, CallEventKind::Transferred { .. })).await;
    assert_eq!(t.kind, CallEventKind::Transferred { mode: TransferMode::Attended, to: "1002".into() });
    assert!(k.sip.complete_transfer(&call).await.is_err(), "nothing left to complete");
    second_call.hangup().await.unwrap();
    caller_call.wait_bye(T).await.unwrap();
}

#[tokio::test]
async fn consultation_can_be_cancelled() {
    let k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let caller = k.caller().await;
    let (caller_call, first_call) = connected(&k, &first, &caller).await;
    let call = k.only_call();
    k.sip.consult(&call, "1002").await.unwrap();
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    k.sip.cancel_consult(&call).await.unwrap();
    second_call.wait_bye(T).await.unwrap();
    caller_call.wait_for_tone(1000.0, T).await.expect("back with the first agent");
    first_call.wait_for_tone(440.0, T).await.unwrap();
    assert_eq!(k.sip.call(&call).unwrap().state, "talking");
    k.sip.hangup(&call).await.unwrap();
    caller_call.wait_bye(T).await.unwrap();
    first_call.wait_bye(T).await.unwrap();
}

/// Waits until the last 160 ms of `call`'s received audio hold every tone of `hz` at once
/// (a mix of two tones gives each about half the energy).
async fn wait_for_tones(call: &TestCall, hz: &[f32]) {
    let window = Duration::from_millis(160);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let heard = call.received();
        let fresh = heard.last_audio.is_some_and(|at| at.elapsed() < Duration::from_millis(200));
        if fresh && hz.iter().all(|&f| heard.has_tone(f, window)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all of {hz:?} Hz at once; shares {:?}, dominant {:?}",
            hz.iter().map(|&f| heard.tone_fraction(f, window)).collect::<Vec<_>>(),
            heard.dominant_frequency(window),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the last 160 ms of `call`'s received audio hold the tone at `hz` and none of
/// the tones at `not`.
async fn wait_for_only(call: &TestCall, hz: f32, not: &[f32]) {
    let window = Duration::from_millis(160);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let heard = call.received();
        let fresh = heard.last_audio.is_some_and(|at| at.elapsed() < Duration::from_millis(200));
        if fresh && heard.has_tone(hz, window) && not.iter().all(|&f| heard.tone_fraction(f, window) < 0.05) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {hz} Hz alone; shares of {not:?}: {:?}, dominant {:?}",
            not.iter().map(|&f| heard.tone_fraction(f, window)).collect::<Vec<_>>(),
            heard.dominant_frequency(window),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A call 1001 has with the caller, in consultation with 1002, turned into a conference: the
/// caller sends 440 Hz, 1001 1000 Hz and 1002 1500 Hz, and each hears both others.
async fn conference(k: &mut Kefu) -> (String, TestCall, TestCall, TestCall, TestUa, TestUa, TestUa) {
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let caller = k.caller().await;
    let (caller_call, first_call) = connected(k, &first, &caller).await;
    let call = k.only_call();
    k.sip.consult(&call, "1002").await.unwrap();
    let incoming = second.incoming(T).await.unwrap();
    match k.sip.conference(&call).await {
        Err(ControlError::InvalidState(m)) => assert!(m.contains("not answered"), "{m}"),
        other => panic!("a ringing consultation cannot become a conference: {other:?}"),
    }
    let second_call = incoming.answer().await.unwrap();
    second_call.start_tone(1500.0);
    first_call.wait_for_tone(1500.0, T).await.expect("the agents talk privately first");
    caller_call.wait_for_tone(300.0, T).await.expect("the caller hears music meanwhile");
    k.sip.conference(&call).await.unwrap();
    assert_eq!(k.sip.call(&call).unwrap().state, "conference");
    wait_for_tones(&caller_call, &[1000.0, 1500.0]).await;
    wait_for_tones(&first_call, &[440.0, 1500.0]).await;
    wait_for_tones(&second_call, &[440.0, 1000.0]).await;
    assert!(!caller_call.received().has_tone(300.0, Duration::from_millis(160)), "no more music for the caller");
    let (e, _) = k.wait_event("conferenced", |e| matches!(e.kind, CallEventKind::Conferenced { .. })).await;
    assert_eq!(e.kind, CallEventKind::Conferenced { with: "1002".into() });
    assert_eq!(e.agent.as_deref(), Some("1001"));
    k.wait_event("resumed", |e| e.kind == CallEventKind::Resumed { by: "conference" }).await;
    (call, caller_call, first_call, second_call, caller, first, second)
}

#[tokio::test]
async fn a_consultation_becomes_a_conference_where_everyone_hears_everyone() {
    let mut k = kefu(Some(9), T).await;
    let (call, caller_call, first_call, second_call, _caller, _first, _second) = conference(&mut k).await;
    match k.sip.hold(&call).await {
        Err(ControlError::InvalidState(m)) => assert_eq!(m, "hold is not available in a conference"),
        other => panic!("hold must be refused in a conference: {other:?}"),
    }
    assert!(matches!(k.sip.consult(&call, "1009").await, Err(ControlError::InvalidState(_))), "no second consult");
    assert!(matches!(k.sip.conference(&call).await, Err(ControlError::InvalidState(_))), "already a conference");
    assert!(matches!(k.sip.transfer(&call, "1009").await, Err(ControlError::InvalidState(_))));
    assert_eq!(k.sip.call(&call).unwrap().state, "conference", "refusals change nothing");

    // A supervisor listening hears all three; nobody hears the supervisor.
    let supervisor = k.agent("1009").await;
    k.sip.monitor(&call, "1009", kefu_sip::media::MonitorMode::Listen).await.unwrap();
    let listening = supervisor.incoming(T).await.unwrap().answer().await.unwrap();
    listening.start_tone(2200.0);
    wait_for_tones(&listening, &[440.0, 1000.0, 1500.0]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let window = Duration::from_millis(300);
    for (who, party) in [("caller", &caller_call), ("agent", &first_call), ("third", &second_call)] {
        assert!(party.received().tone_fraction(2200.0, window) < 0.05, "the {who} hears the silent listener");
    }
    // The supervisor barges: everyone hears them now.
    k.sip.set_monitor_mode(&call, "1009", kefu_sip::media::MonitorMode::Barge).await.unwrap();
    wait_for_tones(&caller_call, &[1000.0, 1500.0, 2200.0]).await;
    wait_for_tones(&first_call, &[440.0, 1500.0, 2200.0]).await;
    wait_for_tones(&second_call, &[440.0, 1000.0, 2200.0]).await;
    k.sip.stop_monitor(&call, "1009").await.unwrap();
    listening.wait_bye(T).await.unwrap();

    // The caller hangs up: the whole call ends.
    caller_call.hangup().await.unwrap();
    first_call.wait_bye(T).await.expect("the agent's leg ends");
    second_call.wait_bye(T).await.expect("the third party's leg ends");
    k.wait_event("ended", |e| matches!(e.kind, CallEventKind::CallEnded { cause: EndCause::CustomerHangup, .. })).await;
    assert!(k.sip.calls().is_empty());
}

#[tokio::test]
async fn a_conference_needs_an_answered_consultation() {
    let mut k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let caller = k.caller().await;
    let (caller_call, first_call) = connected(&k, &first, &caller).await;
    let call = k.only_call();
    match k.sip.conference(&call).await {
        Err(ControlError::InvalidState(m)) => assert!(m.contains("consult"), "{m}"),
        other => panic!("no consultation, no conference: {other:?}"),
    }
    assert!(matches!(k.sip.conference("no-such-call").await, Err(ControlError::NoSuchCall(_))));
    assert_eq!(k.sip.call(&call).unwrap().state, "talking");
    caller_call.wait_for_tone(1000.0, T).await.expect("the call goes on");
    first_call.wait_for_tone(440.0, T).await.unwrap();
    k.sip.hangup(&call).await.unwrap();
    caller_call.wait_bye(T).await.unwrap();
    first_call.wait_bye(T).await.unwrap();
    k.wait_event("ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
}

#[tokio::test]
async fn the_agent_leaving_a_conference_leaves_the_caller_with_the_third_party() {
    let mut k = kefu(Some(9), T).await;
    let (call, caller_call, first_call, second_call, _caller, _first, _second) = conference(&mut k).await;
    first_call.hangup().await.unwrap();
    let (t, _) = k.wait_event("transferred", |e| matches!(e.kind, CallEventKind::Transferred { .. })).await;
    assert_eq!(t.kind, CallEventKind::Transferred { mode: TransferMode::Attended, to: "1002".into() });
    caller_call.wait_for_tone(1500.0, T).await.expect("the caller still hears the third party");
    second_call.wait_for_tone(440.0, T).await.expect("the third party still hears the caller");
    let snapshot = k.sip.call(&call).unwrap();
    assert_eq!(snapshot.state, "talking");
    assert_eq!(snapshot.agent.as_deref(), Some("1002"), "the third party is the call's agent now");
    // Hold works again, with the new agent.
    k.sip.hold(&call).await.unwrap();
    caller_call.wait_for_tone(300.0, T).await.expect("music on hold");
    k.sip.unhold(&call).await.unwrap();
    caller_call.wait_for_tone(1500.0, T).await.unwrap();
    caller_call.hangup().await.unwrap();
    second_call.wait_bye(T).await.unwrap();
    let (saved, _) = k.wait_event("recording", |e| matches!(e.kind, CallEventKind::RecordingSaved(_))).await;
    let CallEventKind::RecordingSaved(rec) = saved.kind else { unreachable!() };
    assert_eq!(rec.agent_extension.as_deref(), Some("1002"));
}

/// Frames (20 ms) of `channel` where the tone at `hz` dominates the frame's energy.
fn frames_with(channel: &[i16], hz: f64) -> usize {
    channel
        .chunks_exact(160)
        .filter(|f| {
            let energy: f64 = f.iter().map(|&s| f64::from(s).powi(2)).sum();
            // A pure tone's Goertzel power over N samples is about N/2 times its energy.
            energy > 160.0 * 300.0 * 300.0 && goertzel_power(f, hz as f32) > 0.2 * 80.0 * energy
        })
        .count()
}

#[tokio::test]
async fn the_third_party_leaving_a_conference_returns_to_a_two_party_call() {
    let mut k = kefu(Some(9), T).await;
    let (call, caller_call, first_call, second_call, _caller, _first, _second) = conference(&mut k).await;
    // Let the conference run so the recording has a stretch of it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    second_call.hangup().await.unwrap();
    k.wait_event("third party left", |e| matches!(e.kind, CallEventKind::LegEnded { .. })).await;
    k.wait_event("bridged again", |e| matches!(e.kind, CallEventKind::Bridged { .. })).await;
    // The caller hears the agent alone: no music (not on hold), no third party.
    wait_for_only(&caller_call, 1000.0, &[300.0, 1500.0]).await;
    wait_for_only(&first_call, 440.0, &[1500.0]).await;
    let snapshot = k.sip.call(&call).unwrap();
    assert_eq!(snapshot.state, "talking");
    assert_eq!(snapshot.agent.as_deref(), Some("1001"));
    k.sip.hold(&call).await.expect("hold works again after the conference");
    k.sip.unhold(&call).await.unwrap();

    k.sip.hangup(&call).await.unwrap();
    caller_call.wait_bye(T).await.unwrap();
    first_call.wait_bye(T).await.unwrap();
    let (saved, _) = k.wait_event("recording", |e| matches!(e.kind, CallEventKind::RecordingSaved(_))).await;
    let CallEventKind::RecordingSaved(rec) = saved.kind else { unreachable!() };
    assert_eq!(rec.agent_extension.as_deref(), Some("1001"));
    let bytes = std::fs::read(&rec.path).unwrap();
    let header = WavHeader::parse(&bytes).unwrap();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for frame in header.data(&bytes).unwrap().chunks_exact(4) {
        left.push(i16::from_le_bytes([frame[0], frame[1]]));
        right.push(i16::from_le_bytes([frame[2], frame[3]]));
    }
    // The right channel carried the agent (1000 Hz) and, during the conference, the third
    // party (1500 Hz) too; the left channel only ever the caller.
    let (agent, third) = (frames_with(&right, 1000.0), frames_with(&right, 1500.0));
    assert!(agent >= 50, "agent frames on the right: {agent}");
    assert!(third >= 10, "third-party frames on the right: {third}");
    assert_eq!(frames_with(&left, 1500.0), 0, "the third party is not on the caller's channel");
}

#[tokio::test]
async fn click_to_dial_rings_the_agent_then_the_customer_through_the_trunk() {
    let carrier = TestUa::start("carrier", None, "127.0.0.1:9".parse().unwrap(), Transport::Udp).await.unwrap();
    let mut k = kefu(Some(carrier.contact().port()), T).await;
    let agent = k.agent("1001").await;
    let call = k.sip.dial("1001", "13900139000").await.unwrap();
    let agent_call = agent.incoming(T).await.unwrap().answer().await.unwrap();
    let incoming = carrier.incoming(T).await.unwrap();
    assert!(incoming.request_uri().starts_with("sip:13900139000@"), "{}", incoming.request_uri());
    assert_eq!(incoming.from_user(), "4000", "the trunk's caller id is presented");
    let customer = incoming.answer().await.unwrap();
    customer.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    customer.wait_for_tone(1000.0, T).await.unwrap();
    k.wait_event("bridged", |e| matches!(e.kind, CallEventKind::Bridged { .. })).await;
    k.sip.hangup(&call.0).await.unwrap();
    agent_call.wait_bye(T).await.unwrap();
    customer.wait_bye(T).await.unwrap();
    assert!(matches!(k.sip.dial("1002", "1").await, Err(kefu_sip::server::ControlError::NotRegistered(_))));
}

#[tokio::test]
async fn malformed_sip_never_crashes_the_server() {
    let k = kefu(None, T).await;
    let ua = k.caller().await;
    let junk: [&[u8]; 6] = [
        b"\x00\x01\x02garbage",
        b"INVITE\r\n\r\n",
        b"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\n\r\n",
        b"REGISTER sip:kefu SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort",
        b"SIP/2.0 200 OK\r\n\r\n",
        &[0xff; 1400],
    ];
    for bytes in junk {
        if let Some(reply) = ua.send_raw(bytes, Duration::from_millis(200)).await.unwrap() {
            assert!(reply.starts_with("SIP/2.0 400"), "malformed input gets 400 or nothing, got {reply}");
        }
    }
    assert_eq!(ua.options().await.unwrap(), 200, "still serving");

    let future = "OPTIONS sip:127.0.0.1 SIP/3.0\r\nVia: SIP/3.0/UDP 127.0.0.1:9;branch=z9hG4bKv3\r\n\
        From: <sip:a@127.0.0.1>;tag=v3\r\nTo: <sip:127.0.0.1>\r\nCall-ID: version-3\r\nCSeq: 1 OPTIONS\r\n\
        Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let reply = ua.send_raw(future.as_bytes(), Duration::from_millis(500)).await.unwrap().expect("an answer");
    assert!(reply.starts_with("SIP/2.0 505"), "another SIP version gets 505: {reply}");
}

#[tokio::test]
async fn an_invite_with_a_broken_contact_gets_400() {
    let k = kefu(Some(9), T).await;
    let _agent = k.agent("1001").await;
    let ua = k.caller().await;
    let invite = "INVITE sip:4000@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbadcontact1;rport\r\n\
        From: <sip:13800138000@127.0.0.1>;tag=bc1\r\nTo: <sip:4000@127.0.0.1>\r\n\
        Call-ID: broken-contact-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
        Contact: <sip:13800138000@127.0.0.1:5099~\r\nContent-Length: 0\r\n\r\n";
    let reply = ua.send_raw(invite.as_bytes(), Duration::from_millis(500)).await.unwrap();
    let reply = reply.expect("kefu answers the INVITE");
    assert!(reply.starts_with("SIP/2.0 400"), "{reply}");
    assert!(k.sip.calls().is_empty(), "no call was created");
}

/// `REGISTER` from extension `ext`, over UDP from `127.0.0.1:9`, with an optional Authorization.
fn raw_register(ext: &str, seq: u32, authorization: Option<&str>) -> String {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKalg{seq};rport\r\n\
         From: <sip:{ext}@127.0.0.1>;tag=alg\r\nTo: <sip:{ext}@127.0.0.1>\r\nCall-ID: algorithms-{ext}\r\n\
         CSeq: {seq} REGISTER\r\nMax-Forwards: 70\r\nContact: <sip:{ext}@127.0.0.1:9>\r\n{auth}\
         Expires: 60\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn challenges_offer_only_the_configured_digest_algorithms() {
    // Old libre-based phones (baresip 1.0) give up on a 401 carrying any non-MD5 challenge, so
    // an operator can offer MD5 alone; a response with an algorithm not offered is refused.
    let k = kefu_with(None, T, vec![Algorithm::Md5]).await;
    let ua = k.caller().await;
    let reply = ua.send_raw(raw_register("1001", 1, None).as_bytes(), T).await.unwrap().expect("a 401");
    assert!(reply.starts_with("SIP/2.0 401"), "{reply}");
    let offered: Vec<Challenge> = reply
        .lines()
        .filter_map(|l| l.strip_prefix("WWW-Authenticate:"))
        .map(|v| Challenge::parse(v.trim()).unwrap())
        .collect();
    assert_eq!(offered.iter().map(|c| c.algorithm).collect::<Vec<_>>(), vec![Algorithm::Md5], "{reply}");

    let sha = Challenge { algorithm: Algorithm::Sha256, ..offered[0].clone() };
    let answer = |c: &Challenge| c.respond("1001", PASSWORD, "REGISTER", "sip:127.0.0.1", "0a1b2c3d", 1).unwrap();
    let reply = ua
        .send_raw(raw_register("1001", 2, Some(&answer(&sha).to_header_value())).as_bytes(), T)
        .await
        .unwrap()
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 403"), "SHA-256 was not offered: {reply}");
    let reply = ua
        .send_raw(raw_register("1001", 3, Some(&answer(&offered[0]).to_header_value())).as_bytes(), T)
        .await
        .unwrap()
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 200"), "the MD5 answer is accepted: {reply}");

    // The default offers both, MD5 first.
    let k = kefu(None, T).await;
    let ua = k.caller().await;
    let reply = ua.send_raw(raw_register("1002", 1, None).as_bytes(), T).await.unwrap().expect("a 401");
    let offered: Vec<Algorithm> = reply
        .lines()
        .filter_map(|l| l.strip_prefix("WWW-Authenticate:"))
        .map(|v| Challenge::parse(v.trim()).unwrap().algorithm)
        .collect();
    assert_eq!(offered, vec![Algorithm::Md5, Algorithm::Sha256], "{reply}");
}

async fn next_signal(signals: &mut tokio::sync::mpsc::UnboundedReceiver<IvrSignal>) -> IvrSignal {
    tokio::time::timeout(T, signals.recv()).await.expect("a signal in time").expect("the call is still there")
}

#[tokio::test]
async fn the_ivr_answers_plays_hears_keys_and_connects_an_agent() {
    let mut k = kefu(Some(9), T).await;
    let (ivr_tx, mut ivr_rx) = tokio::sync::mpsc::unbounded_channel();
    k.sip.attach_ivr(ivr_tx);
    let agent = k.agent("1001").await;
    let caller = k.caller().await;
    let call = caller.call("4100").await.expect("the IVR answers at once");
    let mut ivr = tokio::time::timeout(T, ivr_rx.recv()).await.unwrap().unwrap();
    assert_eq!((ivr.flow.as_str(), ivr.dialled.as_str(), ivr.caller.as_str()), ("hotline", "4100", "13800138000"));
    let id = ivr.call.0.clone();
    assert_eq!(k.sip.call(&id).unwrap().state, "ivr");

    // A prompt (a 600 Hz tone) is heard, and its end is reported with its token.
    k.sip.play(&id, 7, kefu_sip::media::tones::tone(600.0, 600, 8000).into()).await.unwrap();
    call.wait_for_tone(600.0, T).await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::PlaybackDone { token: 7 });
    // Keys by RFC 4733 and by SIP INFO reach the IVR.
    call.send_dtmf('1').await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::Key('1'));
    assert_eq!(call.send_info_dtmf('#').await.unwrap(), 200);
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::Key('#'));
    // A stopped prompt reports nothing.
    k.sip.play(&id, 8, kefu_sip::media::tones::tone(600.0, 3000, 8000).into()).await.unwrap();
    k.sip.stop_playback(&id).await.unwrap();

    // The IVR hands the caller to agent 1001: the caller hears the IVR's audio while it rings.
    k.sip.play(&id, 9, kefu_sip::media::tones::tone(300.0, 3000, 8000).into()).await.unwrap();
    k.sip.connect(&id, "1001", false).await.unwrap();
    let incoming = agent.incoming(T).await.unwrap();
    incoming.ring().await.unwrap();
    call.wait_for_tone(300.0, T).await.unwrap();
    let agent_call = incoming.answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1001".into() });
    call.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    call.wait_for_tone(1000.0, T).await.unwrap();
    assert_eq!(k.sip.call(&id).unwrap().state, "talking");

    // While the agent talks, the IVR stays attached but can do nothing and hears no keys.
    let invalid = |r: Result<(), ControlError>| matches!(r, Err(ControlError::InvalidState(_)));
    assert!(invalid(k.sip.play(&id, 10, kefu_sip::media::tones::tone(600.0, 100, 8000).into()).await));
    assert!(invalid(k.sip.play_music(&id).await));
    assert!(invalid(k.sip.stop_playback(&id).await));
    assert!(invalid(k.sip.connect(&id, "1001", false).await));
    assert!(invalid(k.sip.cancel_agent(&id).await));
    assert!(invalid(k.sip.record_voicemail(&id, k.recordings.join("vm.wav"), 1000).await));
    assert!(invalid(k.sip.stop_voicemail(&id).await));
    call.send_dtmf('4').await.unwrap();
    k.wait_event("digit while bridged", |e| matches!(e.kind, CallEventKind::Digit { digit: '4', .. })).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ivr.signals.try_recv().is_err(), "keys are not the IVR's while an agent talks");

    // The end of the call still reaches the IVR, last.
    call.hangup().await.unwrap();
    agent_call.wait_bye(T).await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::Ended { cause: EndCause::CustomerHangup });
    assert!(ivr.signals.recv().await.is_none(), "nothing after Ended");
    let (_, seen) = k.wait_event("call.ended", |e| e.kind.name() == "call.ended").await;
    assert!(seen.iter().any(|e| e.kind.name() == "recording.saved"), "the bridged call was recorded");
}

#[tokio::test]
async fn an_agent_who_does_not_answer_leaves_the_caller_with_the_ivr() {
    let k = kefu(Some(9), Duration::from_millis(800)).await;
    let (ivr_tx, mut ivr_rx) = tokio::sync::mpsc::unbounded_channel();
    k.sip.attach_ivr(ivr_tx);
    let agent = k.agent("1001").await;
    let caller = k.caller().await;
    let call = caller.call("4100").await.unwrap();
    let mut ivr = ivr_rx.recv().await.unwrap();
    let id = ivr.call.0.clone();
    assert!(matches!(k.sip.connect(&id, "1002", false).await, Err(ControlError::NotRegistered(_))));
    k.sip.connect(&id, "1001", false).await.unwrap();
    let _incoming = agent.incoming(T).await.unwrap(); // rings, never answered
    match next_signal(&mut ivr.signals).await {
        IvrSignal::AgentFailed { extension, cause, .. } => {
            assert_eq!((extension.as_str(), cause), ("1001", EndCause::NoAnswer));
        }
        other => panic!("{other:?}"),
    }
    // Still with the IVR: it plays, and the caller hears it.
    k.sip.play(&id, 1, kefu_sip::media::tones::tone(700.0, 800, 8000).into()).await.unwrap();
    call.wait_for_tone(700.0, T).await.unwrap();
    call.hangup().await.unwrap();
    loop {
        match next_signal(&mut ivr.signals).await {
            IvrSignal::Ended { cause } => {
                assert_eq!(cause, EndCause::CustomerHangup);
                break;
            }
            IvrSignal::PlaybackDone { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_ivr_route_without_an_ivr_is_refused() {
    let k = kefu(Some(9), T).await;
    let caller = k.caller().await;
    match caller.call("4100").await {
        Err(CallFailed::Status { status, .. }) => assert_eq!(status, 480),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("answered"),
    }
}

/// An IVR attached to `k`, and a trunk caller (its UA, which must outlive the call, and the
/// call) the IVR answered on 4100.
async fn ivr_call(k: &Kefu) -> (TestUa, TestCall, kefu_sip::server::IvrCall) {
    let (ivr_tx, mut ivr_rx) = tokio::sync::mpsc::unbounded_channel();
    k.sip.attach_ivr(ivr_tx);
    let caller = k.caller().await;
    let call = caller.call("4100").await.expect("the IVR answers at once");
    let ivr = tokio::time::timeout(T, ivr_rx.recv()).await.unwrap().unwrap();
    (caller, call, ivr)
}

fn tone(freq: f32, ms: u32) -> Arc<[i16]> {
    kefu_sip::media::tones::tone(freq, ms, 8000).into()
}

/// The next signal that is not a `PlaybackDone`.
async fn next_non_playback(signals: &mut tokio::sync::mpsc::UnboundedReceiver<IvrSignal>) -> IvrSignal {
    loop {
        match next_signal(signals).await {
            IvrSignal::PlaybackDone { .. } => {}
            other => return other,
        }
    }
}

/// Every signal up to the closing of the channel.
async fn all_signals(signals: &mut tokio::sync::mpsc::UnboundedReceiver<IvrSignal>) -> Vec<IvrSignal> {
    let mut all = Vec::new();
    while let Some(s) = tokio::time::timeout(T, signals.recv()).await.expect("the channel closes in time") {
        all.push(s);
    }
    all
}

/// Mono 16-bit samples of a WAV file, after checking its header is a complete 8 kHz mono PCM one.
fn mono_wav(bytes: &[u8]) -> Vec<i16> {
    let h = WavHeader::parse(bytes).unwrap();
    assert_eq!((h.format, h.channels, h.sample_rate, h.bits_per_sample), (1, 1, 8000, 16), "{h:?}");
    assert_eq!(h.data_len as usize, bytes.len() - h.data_offset, "the header covers all the data");
    assert_eq!(h.riff_size as usize, bytes.len() - 8);
    h.data(bytes).unwrap().chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

#[tokio::test]
async fn an_agent_who_hangs_up_first_hands_the_caller_back_to_the_ivr() {
    let mut k = kefu(Some(9), T).await;
    let agent = k.agent("1001").await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    k.sip.connect(&id, "1001", true).await.unwrap();
    let agent_call = agent.incoming(T).await.unwrap().answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1001".into() });
    call.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    call.wait_for_tone(1000.0, T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The agent hangs up: the caller stays, back with the IVR, which hears of it.
    agent_call.hangup().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentLeft { extension: "1001".into() });
    assert!(!call.is_ended(), "the caller is still on the line");
    let snapshot = k.sip.call(&id).unwrap();
    assert_eq!((snapshot.state, snapshot.agent.as_deref()), ("ivr", None));
    call.stop_tone();

    // The IVR plays a survey question the caller hears, and hears the answer key.
    let packets = call.received().audio_packets;
    k.sip.play(&id, 21, tone(600.0, 800)).await.unwrap();
    call.wait_for_tone(600.0, T).await.expect("the IVR's audio reaches the caller after AgentLeft");
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::PlaybackDone { token: 21 });
    let arrived = call.received().audio_packets - packets;
    assert!(arrived >= 30, "the 800 ms prompt arrived as RTP: {arrived} packets");
    call.send_dtmf('5').await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::Key('5'));

    // The IVR hangs up.
    k.sip.hangup(&id).await.unwrap();
    call.wait_bye(T).await.unwrap();
    assert_eq!(all_signals(&mut ivr.signals).await, vec![IvrSignal::Ended { cause: EndCause::Api }]);

    let (ended, seen) = k.wait_event("call.ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    assert!(matches!(ended.kind, CallEventKind::CallEnded { cause: EndCause::Api, talk_ms } if talk_ms > 300));
    let saved: Vec<_> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            CallEventKind::RecordingSaved(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), 1, "{seen:#?}");
    assert_eq!(saved[0].agent_extension.as_deref(), Some("1001"));
    assert!(WavHeader::parse(&std::fs::read(&saved[0].path).unwrap()).is_ok());
    assert!(
        seen.iter().any(|e| matches!(e.kind, CallEventKind::LegEnded { cause: EndCause::AgentHangup, .. })),
        "the agent leg ended as usual"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(k.events.try_recv().is_err(), "CallEnded is the very last event");
    assert!(k.sip.calls().is_empty());
}

#[tokio::test]
async fn a_caller_back_with_the_ivr_can_talk_to_a_second_agent() {
    let mut k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    k.sip.connect(&id, "1001", true).await.unwrap();
    let first_call = first.incoming(T).await.unwrap().answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1001".into() });
    first_call.hangup().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentLeft { extension: "1001".into() });

    // Without back_to_ivr this time: the second agent's hang-up ends the call.
    k.sip.connect(&id, "1002", false).await.unwrap();
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1002".into() });
    call.start_tone(440.0);
    second_call.start_tone(1500.0);
    call.wait_for_tone(1500.0, T).await.unwrap();
    second_call.wait_for_tone(440.0, T).await.unwrap();
    assert_eq!(k.sip.call(&id).unwrap().state, "talking");
    second_call.hangup().await.unwrap();
    call.wait_bye(T).await.expect("the call ends with the second agent");
    assert_eq!(all_signals(&mut ivr.signals).await, vec![IvrSignal::Ended { cause: EndCause::AgentHangup }]);

    let (_, seen) = k.wait_event("call.ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    let saved: Vec<_> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            CallEventKind::RecordingSaved(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), 2, "one recording per agent: {seen:#?}");
    assert_ne!(saved[0].path, saved[1].path);
    assert_eq!(saved[0].agent_extension.as_deref(), Some("1001"));
    assert_eq!(saved[1].agent_extension.as_deref(), Some("1002"));
}

#[tokio::test]
async fn cancel_agent_stops_the_ringing_phone_and_keeps_the_caller_with_the_ivr() {
    let mut k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    assert!(matches!(k.sip.cancel_agent(&id).await, Err(ControlError::InvalidState(_))), "nobody rings yet");

    k.sip.connect(&id, "1001", false).await.unwrap();
    let incoming = first.incoming(T).await.unwrap();
    incoming.ring().await.unwrap();
    k.wait_event("ringing", |e| e.kind == CallEventKind::LegRinging).await;
    k.sip.cancel_agent(&id).await.unwrap();
    incoming.wait_cancelled(T).await.expect("the agent's phone gets a CANCEL");
    assert_eq!(
        next_signal(&mut ivr.signals).await,
        IvrSignal::AgentFailed { extension: "1001".into(), cause: EndCause::Cancelled, sip_code: 487 }
    );
    let (ended, _) = k.wait_event("leg ended", |e| matches!(e.kind, CallEventKind::LegEnded { .. })).await;
    assert_eq!(ended.kind, CallEventKind::LegEnded { cause: EndCause::Cancelled, sip_code: 487 });
    assert!(matches!(k.sip.cancel_agent(&id).await, Err(ControlError::InvalidState(_))), "nothing left to cancel");

    // The caller is still with the IVR.
    assert!(!call.is_ended());
    assert_eq!(k.sip.call(&id).unwrap().state, "ivr");
    k.sip.play(&id, 1, tone(700.0, 600)).await.unwrap();
    call.wait_for_tone(700.0, T).await.unwrap();

    // Another agent, who answers: the bridge works.
    k.sip.connect(&id, "1002", false).await.unwrap();
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    assert_eq!(next_non_playback(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1002".into() });
    call.start_tone(440.0);
    second_call.start_tone(1500.0);
    call.wait_for_tone(1500.0, T).await.unwrap();
    second_call.wait_for_tone(440.0, T).await.unwrap();
    call.hangup().await.unwrap();
    second_call.wait_bye(T).await.unwrap();
    assert_eq!(next_non_playback(&mut ivr.signals).await, IvrSignal::Ended { cause: EndCause::CustomerHangup });
}

#[tokio::test]
async fn play_music_loops_the_hold_music_until_replaced() {
    let k = kefu(Some(9), T).await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    k.sip.play_music(&id).await.unwrap();
    // The music on hold here is a 2 s, 300 Hz tone: it must go on well past its end.
    call.wait_for_tone(300.0, T).await.unwrap();
    let start = std::time::Instant::now();
    let before = call.received().audio_packets;
    while start.elapsed() < Duration::from_millis(3200) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = call.received();
        assert!(r.last_audio.is_some_and(|t| t.elapsed() < Duration::from_millis(400)), "audio keeps coming");
        assert!(r.has_tone(300.0, Duration::from_millis(160)), "still the music after {:?}", start.elapsed());
    }
    let packets = call.received().audio_packets - before;
    assert!(packets >= 130, "{packets} packets in 3.2 s");
    assert!(ivr.signals.try_recv().is_err(), "looped music never reports PlaybackDone");

    // A prompt replaces it, and reports its end.
    k.sip.play(&id, 4, tone(600.0, 500)).await.unwrap();
    call.wait_for_tone(600.0, T).await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::PlaybackDone { token: 4 });
    // stop_playback stops the music too.
    k.sip.play_music(&id).await.unwrap();
    call.wait_for_tone(300.0, T).await.unwrap();
    k.sip.stop_playback(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(call.received().rms(Duration::from_millis(160)) < 100.0, "silence after stop_playback");
    k.sip.hangup(&id).await.unwrap();
    assert_eq!(all_signals(&mut ivr.signals).await, vec![IvrSignal::Ended { cause: EndCause::Api }]);
}

#[tokio::test]
async fn a_voicemail_records_the_caller_until_they_hang_up() {
    let k = kefu(Some(9), T).await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voicemail").join("2026").join("message.wav");
    call.start_tone(1000.0);
    // A beep plays to the caller while recording: only the caller is recorded.
    k.sip.play(&id, 1, tone(600.0, 300)).await.unwrap();
    let started = tokio::time::Instant::now();
    k.sip.record_voicemail(&id, path.clone(), 60_000).await.unwrap();
    assert!(
        matches!(k.sip.record_voicemail(&id, path.clone(), 60_000).await, Err(ControlError::InvalidState(_))),
        "one voicemail at a time"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    call.send_dtmf('#').await.unwrap();
    tokio::time::sleep_until(started + Duration::from_millis(1500)).await;
    call.hangup().await.unwrap();

    let signals = all_signals(&mut ivr.signals).await;
    let signals: Vec<_> = signals.into_iter().filter(|s| !matches!(s, IvrSignal::PlaybackDone { .. })).collect();
    assert_eq!(signals.len(), 3, "{signals:#?}");
    assert_eq!(signals[0], IvrSignal::Key('#'), "keys are signalled while recording");
    let IvrSignal::VoicemailRecorded { path: got, duration_ms, size_bytes } = &signals[1] else {
        panic!("{signals:#?}")
    };
    assert_eq!(signals[2], IvrSignal::Ended { cause: EndCause::CustomerHangup }, "Ended comes last");
    assert_eq!(got, &path);
    assert!((1200..=1800).contains(duration_ms), "{duration_ms} ms");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, *size_bytes);
    let samples = mono_wav(&bytes);
    assert_eq!(samples.len() as u64 / 8, *duration_ms);
    let rms = kefu_sip::testing::rms(&samples);
    assert!(rms > 1000.0, "the caller's tone is in the file: rms {rms}");
    let share = kefu_sip::testing::tone_fraction(&samples, 1000.0);
    assert!(share > 0.6, "it is the caller's 1 kHz, not the beep: {share}");
}

#[tokio::test]
async fn a_voicemail_stops_at_its_limit_or_on_request_and_failures_are_signalled() {
    let k = kefu(Some(9), T).await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(k.sip.stop_voicemail(&id).await, Err(ControlError::InvalidState(_))), "nothing recording");
    call.start_tone(1000.0);

    // The time limit stops it; the call goes on.
    let limited = dir.path().join("limited.wav");
    k.sip.record_voicemail(&id, limited.clone(), 800).await.unwrap();
    match next_signal(&mut ivr.signals).await {
        IvrSignal::VoicemailRecorded { path, duration_ms, size_bytes } => {
            assert_eq!(path, limited);
            assert!((600..=1100).contains(&duration_ms), "{duration_ms} ms");
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, size_bytes);
            assert!(kefu_sip::testing::rms(&mono_wav(&bytes)) > 1000.0);
        }
        other => panic!("{other:?}"),
    }
    assert!(!call.is_ended());
    assert_eq!(k.sip.call(&id).unwrap().state, "ivr");
    k.sip.play(&id, 2, tone(600.0, 400)).await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::PlaybackDone { token: 2 });

    // stop_voicemail stops it.
    let stopped = dir.path().join("stopped.wav");
    k.sip.record_voicemail(&id, stopped.clone(), 60_000).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    k.sip.stop_voicemail(&id).await.unwrap();
    match next_signal(&mut ivr.signals).await {
        IvrSignal::VoicemailRecorded { path, duration_ms, .. } => {
            assert_eq!(path, stopped);
            assert!((300..=800).contains(&duration_ms), "{duration_ms} ms");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(k.sip.stop_voicemail(&id).await, Err(ControlError::InvalidState(_))));

    // A file that cannot be created: signalled, no panic, the call goes on.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    k.sip.record_voicemail(&id, blocker.join("vm.wav"), 60_000).await.unwrap();
    match next_signal(&mut ivr.signals).await {
        IvrSignal::VoicemailFailed { message } => assert!(message.contains("vm.wav"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(k.sip.stop_voicemail(&id).await, Err(ControlError::InvalidState(_))), "it has stopped");
    k.sip.play(&id, 3, tone(700.0, 500)).await.unwrap();
    call.wait_for_tone(700.0, T).await.unwrap();
    k.sip.hangup(&id).await.unwrap();
    call.wait_bye(T).await.unwrap();
    let rest = all_signals(&mut ivr.signals).await;
    assert_eq!(rest.last(), Some(&IvrSignal::Ended { cause: EndCause::Api }), "{rest:#?}");
}

#[tokio::test]
async fn the_ivr_transfers_the_caller_to_an_extension() {
    let mut k = kefu(Some(9), T).await;
    let target = k.agent("1002").await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    k.sip.play(&id, 1, tone(600.0, 5000)).await.unwrap();
    call.wait_for_tone(600.0, T).await.unwrap();

    k.sip.transfer(&id, "1002").await.unwrap();
    let incoming = target.incoming(T).await.unwrap();
    incoming.ring().await.unwrap();
    // The IVR's prompt stopped: the caller hears the music on hold (300 Hz) while it rings.
    call.wait_for_tone(300.0, T).await.expect("music instead of the IVR's prompt");
    assert_eq!(k.sip.call(&id).unwrap().state, "transferring");
    assert!(matches!(k.sip.play(&id, 2, tone(600.0, 100)).await, Err(ControlError::InvalidState(_))));
    let target_call = incoming.answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::Transferred { to: "1002".into() });
    call.start_tone(440.0);
    target_call.start_tone(1500.0);
    call.wait_for_tone(1500.0, T).await.unwrap();
    target_call.wait_for_tone(440.0, T).await.unwrap();
    let snapshot = k.sip.call(&id).unwrap();
    assert_eq!((snapshot.state, snapshot.agent.as_deref(), snapshot.recording), ("talking", Some("1002"), true));
    assert!(matches!(k.sip.play(&id, 3, tone(600.0, 100)).await, Err(ControlError::InvalidState(_))));
    tokio::time::sleep(Duration::from_millis(300)).await;

    call.hangup().await.unwrap();
    target_call.wait_bye(T).await.unwrap();
    assert_eq!(all_signals(&mut ivr.signals).await, vec![IvrSignal::Ended { cause: EndCause::CustomerHangup }]);
    let (ended, seen) = k.wait_event("call.ended", |e| matches!(e.kind, CallEventKind::CallEnded { .. })).await;
    assert!(
        matches!(ended.kind, CallEventKind::CallEnded { cause: EndCause::CustomerHangup, talk_ms } if talk_ms > 300)
    );
    assert!(seen.iter().any(|e| e.kind == CallEventKind::Transferred { mode: TransferMode::Blind, to: "1002".into() }));
    let rec = seen
        .iter()
        .find_map(|e| match &e.kind {
            CallEventKind::RecordingSaved(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the transferred call was recorded");
    assert_eq!(rec.agent_extension.as_deref(), Some("1002"));
    assert!(rec.duration_ms > 300, "{rec:?}");
}

#[tokio::test]
async fn an_agent_leaving_a_conference_tells_the_ivr_the_caller_was_handed_on() {
    let k = kefu(Some(9), T).await;
    let first = k.agent("1001").await;
    let second = k.agent("1002").await;
    let (_caller, call, mut ivr) = ivr_call(&k).await;
    let id = ivr.call.0.clone();
    k.sip.connect(&id, "1001", true).await.unwrap();
    let first_call = first.incoming(T).await.unwrap().answer().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentAnswered { extension: "1001".into() });
    k.sip.consult(&id, "1002").await.unwrap();
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    k.sip.conference(&id).await.unwrap();
    call.start_tone(440.0);
    first_call.start_tone(1000.0);
    second_call.start_tone(1500.0);
    wait_for_tones(&call, &[1000.0, 1500.0]).await;

    // The agent leaves: even with `back_to_ivr`, the caller stays with the third party, and the
    // IVR (which frees the agent in the ACD on it) hears the caller was handed on.
    first_call.hangup().await.unwrap();
    assert_eq!(next_signal(&mut ivr.signals).await, IvrSignal::AgentTransferred { to: "1002".into() });
    wait_for_only(&call, 1500.0, &[1000.0]).await;
    second_call.wait_for_tone(440.0, T).await.unwrap();
    assert_eq!(k.sip.call(&id).unwrap().agent.as_deref(), Some("1002"));
    call.hangup().await.unwrap();
    second_call.wait_bye(T).await.unwrap();
    assert_eq!(all_signals(&mut ivr.signals).await, vec![IvrSignal::Ended { cause: EndCause::CustomerHangup }]);
}
