//! The live CTI stream (`GET /api/v1/events`, a WebSocket) on the demo tenant: hello and
//! snapshot on connect, 401 before the upgrade for a bad token, each agent sees only their own
//! events (proved by order: a later own event arrives, an earlier other's never did), team
//! leads their team, supervisors all; the screen-pop of a real SIP call with the caller's
//! number masked for agents and clear for supervisors; resume with `since` after a drop; a
//! client that does not read gets a `lagging` snapshot instead of unbounded queues; logout,
//! a disabled account and shutdown close sockets.

use crate::{PASSWORD, TestApp, settings};
use futures_util::{SinkExt, StreamExt};
use kefu_core::EventId;
use kefu_core::event::{Event, EventKind};
use kefu_core::ivr::Flow;
use kefu_server::Settings;
use kefu_sip::testing::{TestUa, Transport};
use kefu_store::PageRequest;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const T: Duration = Duration::from_secs(10);
static RTP: AtomicU16 = AtomicU16::new(49000);

/// The demo tenant (teams, agents 1001–1010, lead1/lead2, super, customers) with the test
/// password; the hotline 4000 queues straight into `general`.
async fn demo(mut s: Settings) -> TestApp {
    s.acw_secs = 0;
    TestApp::spawn_seeded(s, |store, _| async move {
        let clock = kefu_server::clock::Clock::default();
        let flow =
            Flow::from_yaml("name: hotline\nstart: q\nnodes:\n  q:\n    type: queue\n    queue: general\n").unwrap();
        store.save_flow(&flow, &["4000".into()], clock.now()).await.unwrap();
        kefu_server::demo::seed(&store, &clock, PASSWORD, "kefu").await.unwrap();
    })
    .await
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Ws {
    stream: Stream,
}

fn ws_url(app: &TestApp, query: &str) -> String {
    format!("{}/api/v1/events{query}", app.base.replacen("http://", "ws://", 1))
}

/// Opens the stream with `?token=` (as a browser does) and extra `query` (`&since=…`).
async fn connect(app: &TestApp, token: &str, query: &str) -> Ws {
    let (stream, resp) =
        tokio_tungstenite::connect_async(ws_url(app, &format!("?token={token}{query}"))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    Ws { stream }
}

impl Ws {
    /// The next JSON frame (heartbeats included), failing on a close or after [`T`].
    async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(T, self.stream.next()).await.expect("a frame within the timeout");
            match msg.expect("the socket is open").expect("a frame") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    }

    /// The next frame of `kind`, skipping heartbeats only: anything else fails.
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let m = self.next().await;
            match m["type"].as_str() {
                Some(k) if k == kind => return m,
                Some("heartbeat") => {}
                other => panic!("expected {kind}, got {other:?}: {m}"),
            }
        }
    }

    /// The next `agent.state` frame of a monitor's socket (skipping heartbeats and queue
    /// figures; anything else fails).
    async fn next_state(&mut self) -> Value {
        loop {
            let m = self.next().await;
            match m["type"].as_str() {
                Some("agent.state") => return m,
                Some("heartbeat" | "queue.stats") => {}
                other => panic!("expected agent.state, got {other:?}: {m}"),
            }
        }
    }

    /// The raw text of the next frame of `kind` (skipping everything else).
    async fn text_of(&mut self, kind: &str) -> String {
        loop {
            let msg = tokio::time::timeout(T, self.stream.next()).await.expect("a frame within the timeout");
            if let Message::Text(t) = msg.expect("open").expect("a frame") {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == kind {
                    return t.as_str().to_owned();
                }
            }
        }
    }

    /// Reads until the server's close frame.
    async fn closed(&mut self) -> CloseFrame {
        loop {
            let msg = tokio::time::timeout(T, self.stream.next()).await.expect("a close within the timeout");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => return frame,
                Some(Ok(Message::Close(None))) | None => panic!("closed without a close frame"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("socket error before a close frame: {e}"),
            }
        }
    }
}

async fn set_state(app: &TestApp, token: &str, state: &str) {
    let (st, body) =
        app.call(Method::PUT, "/api/v1/agents/me/state", Some(token), Some(json!({ "state": state }))).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn user_id(app: &TestApp, username: &str) -> String {
    app.store.user_by_username(username).await.unwrap().id.to_string()
}

/// Connects and checks `hello`, then returns the socket and the snapshot.
async fn joined(app: &TestApp, token: &str) -> (Ws, Value, Value) {
    let mut ws = connect(app, token, "").await;
    let hello = ws.next_of("hello").await;
    let snapshot = ws.next_of("snapshot").await;
    (ws, hello, snapshot)
}

#[tokio::test]
async fn hello_and_snapshot_on_connect_and_401_before_the_upgrade() {
    let app = demo(settings()).await;
    let agent = app.login("1001", PASSWORD).await;
    let (mut ws, hello, snap) = joined(&app, &agent).await;
    assert_eq!(hello["data"]["user"]["username"], "1001", "{hello}");
    assert_eq!(hello["data"]["user"]["role"], "agent");
    assert_eq!(hello["data"]["heartbeat_secs"], 15);
    assert!(hello["data"]["epoch"].as_str().is_some_and(|e| !e.is_empty()), "{hello}");
    assert!(hello["at"].as_str().is_some_and(|a| a.ends_with('Z')), "{hello}");
    assert_eq!(snap["data"]["reason"], "connect");
    let agents = snap["data"]["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "an agent sees only themselves: {snap}");
    assert_eq!(agents[0]["username"], "1001");
    assert_eq!(agents[0]["state"], "logged_out");
    assert_eq!(snap["data"]["queues"], json!([]), "no queue-wide figures for agents");
    // a ping is answered
    ws.stream.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(ws.next_of("pong").await["type"], "pong");

    // a supervisor sees the floor: every queue with its figures
    let sup = app.login("super", PASSWORD).await;
    let (_sws, hello, snap) = joined(&app, &sup).await;
    assert_eq!(hello["data"]["user"]["role"], "supervisor");
    let names: Vec<&str> =
        snap["data"]["queues"].as_array().unwrap().iter().filter_map(|q| q["name"].as_str()).collect();
    assert!(names.contains(&"general") && names.contains(&"complaints"), "{snap}");
    assert!(snap["data"]["queues"][0]["waiting"].is_number(), "{snap}");

    // the Authorization header works too
    let mut req = ws_url(&app, "").into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {agent}").parse().unwrap());
    let (mut hws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert!(matches!(hws.next().await, Some(Ok(Message::Text(_)))));

    // bad, missing or expired tokens: 401 before any upgrade
    for query in ["?token=nope", "", "?token="] {
        match tokio_tungstenite::connect_async(ws_url(&app, query)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{query}");
                let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
                assert!(body["error"]["code"].is_string(), "{body}");
            }
            other => panic!("{query}: expected a 401, got {other:?}"),
        }
    }
    // a plain GET (no upgrade) is a clear 400; a query token is not accepted outside upgrades
    let (st, body) = app.call(Method::GET, "/api/v1/events", Some(&agent), None).await;
    crate::assert_error(st, &body, 400, "bad_request");
    let (st, body) = app.call(Method::GET, &format!("/api/v1/users/me?token={agent}"), None, None).await;
    crate::assert_error(st, &body, 401, "unauthenticated");
    // bad parameters
    match tokio_tungstenite::connect_async(ws_url(&app, &format!("?token={agent}&since=x"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), StatusCode::BAD_REQUEST),
        other => panic!("expected a 400, got {other:?}"),
    }
    // expired sessions too
    app.clock.advance(13 * 3600 * 1000);
    match tokio_tungstenite::connect_async(ws_url(&app, &format!("?token={agent}"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), StatusCode::UNAUTHORIZED),
        other => panic!("expected a 401, got {other:?}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn agents_see_only_themselves_team_leads_their_team_supervisors_everyone() {
    let app = demo(settings()).await;
    // 1001 is in team 1 with lead1, 1002 in team 2 with lead2
    let (a, b) = (app.login("1001", PASSWORD).await, app.login("1002", PASSWORD).await);
    let (a_id, b_id) = (user_id(&app, "1001").await, user_id(&app, "1002").await);
    let (mut a_ws, _, _) = joined(&app, &a).await;
    let (mut b_ws, _, _) = joined(&app, &b).await;
    let (mut sup, _, _) = joined(&app, &app.login("super", PASSWORD).await).await;
    let (mut lead1, _, _) = joined(&app, &app.login("lead1", PASSWORD).await).await;
    let (mut lead2, _, _) = joined(&app, &app.login("lead2", PASSWORD).await).await;

    // B signs in and gets ready first, then A, then B takes a break
    set_state(&app, &b, "ready").await;
    set_state(&app, &a, "ready").await;
    set_state(&app, &b, "not_ready").await;

    // A: their own two changes are the first agent events they get; B's (published before
    // them) never arrived, and nothing about B came after either
    for want in ["not_ready", "ready"] {
        let m = a_ws.next_of("agent.state").await;
        assert_eq!(m["data"]["id"], a_id, "A received someone else's event: {m}");
        assert_eq!(m["data"]["state"], want, "{m}");
    }
    // B: own three, never A's (A's came between B's second and third)
    for want in ["not_ready", "ready", "not_ready"] {
        let m = b_ws.next_of("agent.state").await;
        assert_eq!(m["data"]["id"], b_id, "B received someone else's event: {m}");
        assert_eq!(m["data"]["state"], want, "{m}");
    }
    // the supervisor: all five, in order, with names and teams
    let mut seen = Vec::new();
    for _ in 0..5 {
        let m = sup.next_state().await;
        seen.push((
            m["data"]["username"].as_str().unwrap().to_owned(),
            m["data"]["state"].as_str().unwrap().to_owned(),
        ));
        assert!(m["data"]["team"].is_string(), "{m}");
    }
    let want: Vec<(String, String)> =
        [("1002", "not_ready"), ("1002", "ready"), ("1001", "not_ready"), ("1001", "ready"), ("1002", "not_ready")]
            .iter()
            .map(|(u, s)| ((*u).to_owned(), (*s).to_owned()))
            .collect();
    assert_eq!(seen, want);
    // lead1 (team 1): A's two only; lead2 (team 2): B's three only
    for want in ["not_ready", "ready"] {
        let m = lead1.next_state().await;
        assert_eq!((m["data"]["id"].as_str(), m["data"]["state"].as_str()), (Some(a_id.as_str()), Some(want)), "{m}");
    }
    for want in ["not_ready", "ready", "not_ready"] {
        let m = lead2.next_state().await;
        assert_eq!((m["data"]["id"].as_str(), m["data"]["state"].as_str()), (Some(b_id.as_str()), Some(want)), "{m}");
    }
    // one more of A's: lead1 gets it next (so B's last never reached lead1), lead2 not at all
    // (its next event is B's, below)
    set_state(&app, &a, "not_ready").await;
    set_state(&app, &b, "ready").await;
    let m = lead1.next_state().await;
    assert_eq!((m["data"]["id"].as_str(), m["data"]["state"].as_str()), (Some(a_id.as_str()), Some("not_ready")));
    let m = lead2.next_state().await;
    assert_eq!((m["data"]["id"].as_str(), m["data"]["state"].as_str()), (Some(b_id.as_str()), Some("ready")));
    let m = a_ws.next_of("agent.state").await;
    assert_eq!((m["data"]["id"].as_str(), m["data"]["state"].as_str()), (Some(a_id.as_str()), Some("not_ready")));
    // queue figures reach the supervisor, never an agent (A's and B's sockets only ever had
    // their own states: `next_of` fails on anything else)
    sup.next_of_skipping("queue.stats").await;
    app.stop().await;
}

#[tokio::test]
async fn the_offered_agent_gets_the_screen_pop_with_the_callers_number_masked() {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    let app = demo(s).await;
    let sip = app.sip_addr.unwrap();
    let agent = app.login("1001", PASSWORD).await;
    let agent_id = user_id(&app, "1001").await;
    let phone = TestUa::start("1001", Some(PASSWORD), sip, Transport::Udp).await.unwrap();
    assert_eq!(phone.register(600).await.unwrap(), 200);
    let (mut a_ws, _, _) = joined(&app, &agent).await;
    let (mut sup, _, _) = joined(&app, &app.login("super", PASSWORD).await).await;
    let (mut lead1, _, _) = joined(&app, &app.login("lead1", PASSWORD).await).await;
    let (mut lead2, _, _) = joined(&app, &app.login("lead2", PASSWORD).await).await;
    set_state(&app, &agent, "ready").await;

    // 张晓明 (+86 138 0013 8000) calls the hotline; it queues straight into `general`
    let caller = TestUa::start("+8613800138000", None, sip, Transport::Udp).await.unwrap();
    let (call, ringing) = tokio::join!(caller.call("4000"), phone.incoming(T));
    let call = call.unwrap();
    let ringing = ringing.unwrap();

    let text = a_ws.text_of("call.offer").await;
    assert!(!text.contains("13800138000"), "a clear number in the agent's frame: {text}");
    let pop: Value = serde_json::from_str(&text).unwrap();
    let d = &pop["data"];
    assert_eq!(d["agent"], agent_id);
    assert_eq!(d["caller"], "138****8000", "{pop}");
    assert_eq!(d["caller_masked"], true);
    assert_eq!(d["customer"]["name"], "张晓明", "{pop}");
    assert_eq!(d["customer"]["masked"], true);
    assert!(d["customer"]["phones"].as_array().unwrap().iter().any(|p| p["number"] == "138****8000"), "{pop}");
    assert!(d["customer"]["tier"].is_string() && d["customer"]["tags"].is_array(), "{pop}");
    assert!(d["customer"]["assets"].is_array() && d["customer"]["recent"].is_array(), "{pop}");
    assert!(d["customer"]["recent"].as_array().unwrap().len() <= 5);
    assert!(d["customer"]["open_orders"].is_array(), "{pop}");
    assert_eq!(d["queue"]["name"], "general", "{pop}");
    assert!(d["wait_ms"].is_number());
    assert_eq!(d["ivr"]["flow"], "hotline");
    assert_eq!(d["ivr"]["path"], json!(["q"]), "{pop}");

    // the supervisor (pii_read) sees it in clear; a team lead (no pii_read) masked; the other
    // team's lead not at all (their next frame is about their own team, below)
    let sp: Value = serde_json::from_str(&sup.text_of("call.offer").await).unwrap();
    assert_eq!(sp["data"]["caller"], "13800138000", "{sp}");
    assert_eq!(sp["data"]["caller_masked"], false);
    assert!(sp["data"]["customer"]["phones"].as_array().unwrap().iter().any(|p| p["number"] == "13800138000"));
    let lt = lead1.text_of("call.offer").await;
    assert!(!lt.contains("13800138000"), "{lt}");

    // the agent answers, the caller hangs up: progress on the agent's socket
    let agent_call = ringing.answer().await.unwrap();
    let answered = a_ws.own_until("call.progress", &agent_id).await;
    assert_eq!(answered["data"]["what"], "answered", "{answered}");
    assert_eq!(answered["data"]["call"], d["call"]);
    call.hangup().await.unwrap();
    agent_call.wait_bye(T).await.unwrap();
    loop {
        let m = a_ws.next().await;
        if m["type"] == "call.progress" && m["data"]["what"] == "ended" {
            break;
        }
        assert!(matches!(m["type"].as_str(), Some("agent.state" | "call.progress" | "heartbeat")), "{m}");
        assert!(m["type"] != "agent.state" || m["data"]["id"] == agent_id, "{m}");
    }

    // an unknown caller: no customer, still the queue and the IVR
    let stranger = TestUa::start("+8613311112222", None, sip, Transport::Udp).await.unwrap();
    let (call2, ringing2) = tokio::join!(stranger.call("4000"), phone.incoming(T));
    let (call2, _ringing2) = (call2.unwrap(), ringing2.unwrap());
    let pop2 = a_ws.next_of_skipping("call.offer").await;
    assert_eq!(pop2["data"]["customer"], Value::Null, "{pop2}");
    assert_eq!(pop2["data"]["caller"], "133****2222");
    assert_eq!(pop2["data"]["queue"]["name"], "general");
    call2.hangup().await.unwrap();

    // lead2 (team 2) saw none of it: their first agent event is their own agent's
    let b = app.login("1002", PASSWORD).await;
    set_state(&app, &b, "ready").await;
    loop {
        let m = lead2.next().await;
        assert!(m["type"] != "call.offer" && m["type"] != "call.progress", "{m}");
        if m["type"] == "agent.state" {
            assert_eq!(m["data"]["username"], "1002", "{m}");
            break;
        }
    }

    // the supervisor's clear view is audited once the socket closes
    drop(sup);
    let mut audited = false;
    for _ in 0..100 {
        let log = app.store.list_audit(&PageRequest { limit: Some(200), cursor: None }).await.unwrap();
        if log.items.iter().any(|e| e.action == "customer.pii_read" && e.target == "cti") {
            audited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(audited, "the clear screen-pop was not audited");
    app.stop().await;
}

impl Ws {
    /// The next frame of `kind`, allowing only `agent.state` frames about `me` (and heartbeats)
    /// before it.
    async fn own_until(&mut self, kind: &str, me: &str) -> Value {
        loop {
            let m = self.next().await;
            match m["type"].as_str() {
                Some(k) if k == kind => return m,
                Some("heartbeat") => {}
                Some("agent.state") if m["data"]["id"] == me => {}
                _ => panic!("expected {kind} or own states, got {m}"),
            }
        }
    }

    /// The next frame of `kind`, skipping any other kind.
    async fn next_of_skipping(&mut self, kind: &str) -> Value {
        loop {
            let m = self.next().await;
            if m["type"] == kind {
                return m;
            }
        }
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let mut s = settings();
    s.cti_buffer = 8;
    let app = demo(s).await;
    let (a, b) = (app.login("1001", PASSWORD).await, app.login("1002", PASSWORD).await);
    let (mut ws, hello, _) = joined(&app, &a).await;
    let epoch = hello["data"]["epoch"].as_str().unwrap().to_owned();
    set_state(&app, &a, "ready").await;
    ws.next_of("agent.state").await;
    let last = ws.next_of("agent.state").await;
    assert_eq!(last["data"]["state"], "ready");
    let since = last["seq"].as_u64().unwrap();
    drop(ws);

    // while away: two changes of A's, two of B's (not A's business)
    set_state(&app, &a, "not_ready").await;
    set_state(&app, &b, "ready").await;
    set_state(&app, &a, "ready").await;
    let mut ws = connect(&app, &a, &format!("&since={since}&epoch={epoch}")).await;
    let hello = ws.next_of("hello").await;
    assert_eq!(hello["data"]["resumed"], true, "{hello}");
    // then a live one
    set_state(&app, &a, "not_ready").await;
    let mut got = Vec::new();
    loop {
        let m = ws.next().await;
        assert_ne!(m["type"], "snapshot", "a resume within the buffer gets no snapshot: {m}");
        if m["type"] != "agent.state" {
            continue;
        }
        assert_eq!(m["data"]["username"], "1001", "{m}");
        got.push((m["seq"].as_u64().unwrap(), m["data"]["state"].as_str().unwrap().to_owned()));
        if got.len() == 3 {
            break;
        }
    }
    let states: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(states, ["not_ready", "ready", "not_ready"], "the two missed, in order, then the live one");
    assert!(got[0].0 > since && got.windows(2).all(|w| w[0].0 < w[1].0), "{got:?}");
    drop(ws);

    // another epoch (a restarted server) or a gap the buffer no longer holds: a snapshot
    let mut ws = connect(&app, &a, &format!("&since={since}&epoch=0000")).await;
    ws.next_of("hello").await;
    let snap = ws.next_of("snapshot").await;
    assert_eq!(snap["data"]["reason"], "resume_unavailable");
    assert_eq!(snap["data"]["agents"][0]["state"], "not_ready", "the snapshot is current: {snap}");
    drop(ws);
    for i in 0..6 {
        set_state(&app, &b, if i % 2 == 0 { "not_ready" } else { "ready" }).await;
    }
    let mut ws = connect(&app, &a, &format!("&since={since}&epoch={epoch}")).await;
    assert_eq!(ws.next_of("hello").await["data"]["resumed"], false);
    assert_eq!(ws.next_of("snapshot").await["data"]["reason"], "resume_unavailable");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_gets_a_lagging_snapshot_instead_of_growing_queues() {
    let mut s = settings();
    s.cti_socket_queue = 8;
    let app = demo(s).await;
    let agent = app.login("1001", PASSWORD).await;
    let agent_id: kefu_core::UserId = user_id(&app, "1001").await.parse().unwrap();
    let sup = app.login("super", PASSWORD).await;

    // a supervisor's socket with a small receive buffer that nobody reads
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let req = ws_url(&app, &format!("?token={sup}")).into_client_request().unwrap();
    let (stream, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp)).await.unwrap();
    let mut slow = Ws { stream };

    // the agent's state flips, as fast as the ACD could report it (straight into the hub,
    // the way the event sink hands events over), until the server has dropped the slow
    // socket's queue: the kernel's socket buffers absorb a few hundred kilobytes first
    let lagged = || async {
        let (_, body) = app.call(Method::GET, "/metrics", None, None).await;
        let text = body.as_str().unwrap_or_default().to_owned();
        text.lines().any(|l| l.starts_with("kefu_cti_lagging_drops_total") && !l.ends_with(" 0"))
    };
    let mut changes = 0u32;
    let mut last = "ready";
    while !lagged().await {
        for _ in 0..1000 {
            let from = last;
            last = if last == "ready" { "not_ready" } else { "ready" };
            let mut e =
                Event::new(EventId::from_uuid(uuid::Uuid::now_v7()), app.clock.now(), EventKind::AgentStateChanged);
            e.agent = Some(agent_id);
            e.data =
                json!({ "agent": agent_id, "from": from, "to": last, "reason": null, "duration_ms": 1, "call": null });
            app.cti.publish(Arc::new(e));
            changes += 1;
        }
        assert!(changes < 200_000, "the slow socket never lagged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // reading again: what was in flight, then the snapshot (current state), then live frames
    let mut before = 0u32;
    let snap = loop {
        let m = slow.next().await;
        if m["type"] == "snapshot" && m["data"]["reason"] == "lagging" {
            break m;
        }
        before += 1;
    };
    assert!(before < changes, "every change was kept for the slow socket ({before} of {changes})");
    let row = snap["data"]["agents"].as_array().unwrap().iter().find(|a| a["username"] == "1001").cloned().unwrap();
    assert_eq!(row["state"], last, "the snapshot is the current state: {snap}");
    set_state(&app, &agent, "ready").await;
    let live = slow.next_state().await;
    assert_eq!(live["data"]["username"], "1001");
    assert!(live["seq"].as_u64() > snap["seq"].as_u64(), "{live} after {snap}");
    app.stop().await;
}

#[tokio::test]
async fn logout_a_disabled_account_and_shutdown_close_the_socket() {
    let app = demo(settings()).await;
    let agent = app.login("1001", PASSWORD).await;
    let (mut ws, _, _) = joined(&app, &agent).await;
    let (st, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&agent), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let frame = ws.closed().await;
    assert_eq!(u16::from(frame.code), 4001, "{frame:?}");

    // an administrator disables the account: its sockets close
    let other = app.login("1002", PASSWORD).await;
    let (mut ws, _, _) = joined(&app, &other).await;
    let id = user_id(&app, "1002").await;
    let (st, body) = app
        .send(Method::PATCH, &format!("/api/v1/users/{id}"), kefu_core::Role::Admin, json!({ "enabled": false }))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(u16::from(ws.closed().await.code), 4001);

    // shutdown closes the rest and does not wait for them
    let sup = app.login("super", PASSWORD).await;
    let (mut ws, _, _) = joined(&app, &sup).await;
    tokio::time::timeout(T, app.stop()).await.expect("shutdown is not held up by a socket");
    assert_eq!(u16::from(ws.closed().await.code), 1001);
}
