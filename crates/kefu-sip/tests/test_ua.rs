//! The SIP test agent against itself (two agents calling each other directly) and against a
//! small digest-challenging server, so it is known to work before kefu's SIP server exists.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_sip::digest::{Algorithm, Challenge, Credentials, Expected, Secret, verify};
use kefu_sip::sdp::{Codec, Direction};
use kefu_sip::testing::{CallFailed, TestUa, Transport};
use rsipstack::EndpointBuilder;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::{CancellationToken, DropGuard};

const T: Duration = Duration::from_secs(5);

/// Nothing listens here: the callee agent never sends out-of-dialog requests.
fn nowhere() -> SocketAddr {
    "127.0.0.1:9".parse().unwrap()
}

async fn pair(transport: Transport) -> (TestUa, TestUa) {
    let bob = TestUa::start("bob", None, nowhere(), transport).await.unwrap();
    let alice = TestUa::start("alice", None, bob.contact(), transport).await.unwrap();
    (alice, bob)
}

async fn full_call(transport: Transport) {
    let (alice, bob) = pair(transport).await;
    let (call, answered) = tokio::join!(alice.call("bob"), async {
        let incoming = bob.incoming(T).await?;
        assert_eq!(incoming.from_user(), "alice");
        assert_eq!(incoming.to_user(), "bob");
        assert!(incoming.request_uri().starts_with("sip:bob@127.0.0.1:"), "{}", incoming.request_uri());
        assert!(incoming.header("content-type").is_some_and(|v| v.contains("application/sdp")));
        assert!(incoming.sdp().contains("a=rtpmap:101 telephone-event/8000"));
        incoming.ring().await?;
        incoming.answer().await
    });
    let a = call.unwrap();
    let b = answered.unwrap();
    assert_eq!(a.call_id(), b.call_id());
    assert_eq!((a.codec(), b.codec()), (Codec::Pcmu, Codec::Pcmu));
    assert_eq!(a.rtp_remote(), Some(b.rtp_local()));
    assert_eq!(b.rtp_remote(), Some(a.rtp_local()));

    // Both talk; each hears the other's tone and not its own.
    a.start_tone(440.0);
    b.start_tone(1000.0);
    b.wait_for_tone(440.0, T).await.unwrap();
    a.wait_for_tone(1000.0, T).await.unwrap();
    let heard = a.received();
    assert!(!heard.has_tone(440.0, Duration::from_millis(160)));
    assert_eq!(heard.dominant_frequency(Duration::from_millis(160)), Some(1000.0));
    assert_eq!(heard.sources, vec![b.rtp_local()]);
    assert_eq!(heard.payload_types, vec![0]);

    // DTMF both ways it can travel.
    a.send_dtmf('5').await.unwrap();
    b.wait_for_digits("5", T).await.unwrap();
    assert!(b.received().event_packets >= 3);
    assert_eq!(a.send_info_dtmf('7').await.unwrap(), 200);
    assert_eq!(b.info_received(), vec!["Signal=7\r\nDuration=160\r\n".to_owned()]);

    // Alice holds Bob: Bob answers recvonly and goes quiet.
    assert_eq!(a.hold().await.unwrap(), 200);
    assert_eq!(b.reinvites_received(), 1);
    assert_eq!(
        (b.remote_direction(), b.direction(), b.held_by_remote()),
        (Direction::SendOnly, Direction::RecvOnly, true)
    );
    assert_eq!(a.direction(), Direction::SendOnly);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let last = a.received().last_audio.unwrap();
    assert!(last.elapsed() >= Duration::from_millis(200), "Bob kept sending while held");
    b.wait_for_tone(440.0, T).await.unwrap();
    assert_eq!(a.unhold().await.unwrap(), 200);
    assert_eq!(b.direction(), Direction::SendRecv);
    a.wait_for_tone(1000.0, T).await.unwrap();

    // The callee holds the caller (as kefu will): the caller side answers re-INVITEs too.
    assert_eq!(b.hold().await.unwrap(), 200);
    assert_eq!((a.reinvites_received(), a.held_by_remote()), (1, true));
    assert_eq!(b.unhold().await.unwrap(), 200);
    assert_eq!(a.direction(), Direction::SendRecv);

    a.hangup().await.unwrap();
    b.wait_bye(T).await.unwrap();
    assert!(a.is_ended() && b.is_ended());
    // The call is over: no more in-dialog requests.
    assert!(a.send_info_dtmf('1').await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_tones_dtmf_hold_and_hangup_over_udp() {
    full_call(Transport::Udp).await;
}

// The default single-threaded test runtime, as most integration tests use.
#[tokio::test]
async fn call_tones_dtmf_hold_and_hangup_over_tcp() {
    full_call(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_ringing_gives_487() {
    let (alice, bob) = pair(Transport::Udp).await;
    let (pending, incoming) = tokio::join!(alice.call_until_ringing("bob"), async {
        let incoming = bob.incoming(T).await?;
        incoming.ring().await?;
        anyhow::Ok(incoming)
    });
    let pending = pending.unwrap();
    let incoming = incoming.unwrap();
    assert_eq!(pending.provisional_status(), 180);
    let (status, cancelled) = tokio::join!(pending.cancel(), incoming.wait_cancelled(T));
    assert_eq!(status.unwrap(), 487);
    cancelled.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_call_fails_with_its_status() {
    let (alice, bob) = pair(Transport::Udp).await;
    let (result, rejected) = tokio::join!(alice.call("bob"), async { bob.incoming(T).await?.reject(486).await });
    rejected.unwrap();
    match result {
        Err(CallFailed::Status { status: 486, response }) => assert!(response.starts_with("SIP/2.0 486")),
        other => panic!("expected a 486, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_only_callee_gets_pcma() {
    let (alice, bob) = pair(Transport::Udp).await;
    bob.set_codecs(&[Codec::Pcma]);
    let (call, answered) = tokio::join!(alice.call("bob"), async { bob.incoming(T).await?.answer().await });
    let (a, b) = (call.unwrap(), answered.unwrap());
    assert_eq!((a.codec(), b.codec()), (Codec::Pcma, Codec::Pcma));
    b.start_tone(700.0);
    a.wait_for_tone(700.0, T).await.unwrap();
    assert_eq!(a.received().payload_types, vec![8]);
    b.hangup().await.unwrap();
    a.wait_bye(T).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_and_raw_messages() {
    let (alice, bob) = pair(Transport::Udp).await;
    assert_eq!(alice.options().await.unwrap(), 200);

    let options = format!(
        "OPTIONS sip:bob@{bob} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKraw1;rport\r\n\
         From: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: <sip:bob@{bob}>\r\nCall-ID: raw-1@test\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        bob = bob.contact()
    );
    let response = alice.send_raw(options.as_bytes(), T).await.unwrap().expect("a response via rport");
    assert!(response.starts_with("SIP/2.0 200"), "{response}");
    assert_eq!(alice.send_raw(b"not sip at all\r\n\r\n", Duration::from_millis(200)).await.unwrap(), None);
}

const REALM: &str = "kefu.test";
const PASSWORD: &str = "s3cret";

/// A server that challenges REGISTER with MD5 and SHA-256 (answered 200) and INVITE with a
/// 407 MD5 challenge (answered 486 once authenticated); it records what it accepted.
struct DigestServer {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<String>>>,
    _stop: DropGuard,
}

async fn digest_server() -> DigestServer {
    let cancel = CancellationToken::new();
    let transports = TransportLayer::new(cancel.child_token());
    let udp = UdpConnection::create_connection("127.0.0.1:0".parse().unwrap(), None, Some(cancel.child_token()))
        .await
        .unwrap();
    let addr = udp.get_addr().get_socketaddr().unwrap();
    transports.add_transport(udp.into());
    let endpoint = EndpointBuilder::new().with_transport_layer(transports).with_cancel_token(cancel.clone()).build();
    let mut incoming = endpoint.incoming_transactions().unwrap();
    let inner = endpoint.inner.clone();
    tokio::spawn(async move { inner.serve().await });
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let log = accepted.clone();
    tokio::spawn(async move {
        while let Some(tx) = incoming.recv().await {
            tokio::spawn(challenge_or_accept(tx, log.clone()));
        }
    });
    DigestServer { addr, accepted, _stop: cancel.drop_guard() }
}

async fn challenge_or_accept(mut tx: Transaction, accepted: Arc<Mutex<Vec<String>>>) {
    let method = tx.original.method;
    let (ok, challenged, credentials_header) = match method {
        Method::Register => (StatusCode::OK, StatusCode::Unauthorized, "Authorization"),
        Method::Invite => (StatusCode::BusyHere, StatusCode::ProxyAuthenticationRequired, "Proxy-Authorization"),
        _ => {
            tx.reply(StatusCode::OK).await.unwrap();
            return;
        }
    };
    let uri = tx.original.uri.to_string();
    let method_name = method.to_string();
    let expected = Expected { method: &method_name, request_uri: &uri, realm: REALM };
    let credentials = tx
        .original
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(credentials_header))
        .and_then(|h| Credentials::parse(h.value()).ok());
    match credentials {
        Some(c) if verify(&c, &expected, &Secret::Password(PASSWORD)).is_ok() => {
            accepted.lock().unwrap().push(format!("{method_name} {}", c.algorithm.as_str()));
            tx.reply(ok).await.unwrap();
        }
        _ => {
            let headers = if method == Method::Register {
                [Algorithm::Md5, Algorithm::Sha256]
                    .map(|a| Header::WwwAuthenticate(Challenge::new(REALM, "nonce-1", a).to_header_value().into()))
                    .to_vec()
            } else {
                let challenge = Challenge::new(REALM, "nonce-2", Algorithm::Md5);
                vec![Header::ProxyAuthenticate(challenge.to_header_value().into())]
            };
            tx.reply_with(challenged, headers, None).await.unwrap();
        }
    }
    // Keep the transaction for the ACK of a non-2xx INVITE response and retransmissions.
    while tx.receive().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_sha256_register_md5_invite_and_wrong_password() {
    let server = digest_server().await;
    let alice = TestUa::start("1001", Some(PASSWORD), server.addr, Transport::Udp).await.unwrap();
    alice.set_domain(REALM);
    let started = Instant::now();
    assert_eq!(alice.register(300).await.unwrap(), 200);
    assert_eq!(alice.register_raw(300, Some("wrong")).await.unwrap(), 401);
    assert_eq!(alice.register(0).await.unwrap(), 200);
    match alice.call("2000").await {
        Err(CallFailed::Status { status: 486, .. }) => {}
        other => panic!("expected the authenticated INVITE to get 486, got {other:?}"),
    }
    let anonymous = TestUa::start("trunk", None, server.addr, Transport::Udp).await.unwrap();
    assert_eq!(anonymous.register(300).await.unwrap(), 401);
    assert_eq!(anonymous.call("2000").await.unwrap_err().status(), Some(407));
    assert_eq!(
        *server.accepted.lock().unwrap(),
        ["REGISTER SHA-256", "REGISTER SHA-256", "INVITE MD5"].map(str::to_owned).to_vec()
    );
    assert!(started.elapsed() < T);
}
