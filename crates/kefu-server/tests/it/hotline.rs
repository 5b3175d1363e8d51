//! The golden path on live calls, in process: a caller dials the hotline 4000 through a trunk,
//! hears the welcome, presses 1 (RFC 4733), waits in the complaints queue while its only agent
//! is busy, hears the position announcement, reaches the agent when they free up, talks
//! (recorded), and answers the survey after the agent hangs up. Also: the overflow to
//! voicemail, an abandon with its wait, and HTTP nodes whose service is down, slow or talks
//! garbage.

use crate::{PASSWORD, TestApp, password_hash, settings};
use kefu_core::Role::Supervisor;
use kefu_core::acd::{OverflowAction, OverflowStep, OverflowWhen};
use kefu_core::event::{Event, EventKind};
use kefu_core::ivr::{Flow, Language, Node, OpenSpan};
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::{InteractionId, Role};
use kefu_server::clock::Clock;
use kefu_server::prompts::Prompts;
use kefu_sip::media::Law;
use kefu_sip::sdp::Codec;
use kefu_sip::testing::{TestCall, TestUa, Transport};
use kefu_store::{EventQuery, NewQueue, NewSkill, NewTrunk, NewUser, QueueSkill, Store, TrunkTransport, UserSkill};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
static RTP: AtomicU16 = AtomicU16::new(45000);

/// The demo hotline, open round the clock (an administrator's change for a 24/7 line), so the
/// test does not depend on the hour it runs at.
fn hotline_24_7() -> Flow {
    let mut flow = kefu_server::demo::demo_flow().unwrap();
    let Some(Node::Hours { weekly, holidays, .. }) = flow.nodes.get_mut("hours") else { panic!("no hours node") };
    *weekly = vec![OpenSpan { days: vec![1, 2, 3, 4, 5, 6, 7], from: "00:00".into(), to: "24:00".into() }];
    holidays.clear();
    flow
}

struct Hotline {
    app: TestApp,
    sip: SocketAddr,
    phone: TestUa,
    agent_token: String,
    _dir: tempfile::TempDir,
}

/// kefu with the demo hotline on 4000 (a trunk from 127.0.0.1), the five queues it names,
/// one agent `wang` (extension 2001, complaints skill) registered and ready. `overflow` are
/// the complaints queue's rules; `flow` replaces the hotline.
async fn hotline(overflow: Vec<OverflowStep>, flow: Option<Flow>) -> Hotline {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    s.acw_secs = 0;
    s.announce_every_secs = 3;
    s.ring_timeout_secs = 5;
    let app = TestApp::spawn_seeded(s, |store: Store, _| async move {
        let now = Clock::default().now();
        let skill = store.create_skill(&NewSkill { name: "complaints".into(), description: String::new() }, now).await;
        let skill = skill.unwrap().id;
        for name in ["complaints", "product", "after_sales", "general", "harassment"] {
            let new = NewQueue {
                name: name.into(),
                description: String::new(),
                strategy: QueueStrategy::LongestIdle,
                targets: ServiceTargets::default(),
                skills: vec![QueueSkill { skill_id: skill, min_proficiency: Proficiency::new(1).unwrap() }],
                overflow: if name == "complaints" { overflow.clone() } else { vec![] },
            };
            store.create_queue(&new, now).await.unwrap();
        }
        let agent = NewUser {
            username: "wang".into(),
            display_name: "王芳".into(),
            role: Role::Agent,
            password_hash: password_hash().to_owned(),
            team_id: None,
            extension: Some("2001".into()),
            skills: vec![UserSkill { skill_id: skill, proficiency: Proficiency::new(5).unwrap() }],
            sip: kefu_server::auth::sip::for_user("kefu", Some("2001"), PASSWORD),
        };
        store.create_user(&agent, now).await.unwrap();
        let flow = flow.unwrap_or_else(hotline_24_7);
        store.save_flow(&flow, &["4000".into()], now).await.unwrap();
        let trunk = NewTrunk {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port: 5080,
            transport: TrunkTransport::Udp,
            auth_username: None,
            auth_password: None,
            allow_from: vec!["127.0.0.1".into()],
            inbound_routes: BTreeMap::from([("4000".to_owned(), format!("ivr:{}", flow.name))]),
            caller_id: None,
            enabled: true,
        };
        store.create_trunk(&trunk, now).await.unwrap();
    })
    .await;
    let sip = app.sip_addr.unwrap();
    let phone = TestUa::start("2001", Some(PASSWORD), sip, Transport::Udp).await.unwrap();
    assert_eq!(phone.register(600).await.unwrap(), 200);
    let agent_token = app.login("wang", PASSWORD).await;
    let (st, body) =
        app.call(Method::PUT, "/api/v1/agents/me/state", Some(&agent_token), Some(json!({"state": "ready"}))).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "ready", "{body}");
    Hotline { app, sip, phone, agent_token, _dir: dir }
}

/// Every event of the call, oldest first.
async fn story(store: &Store, call: InteractionId) -> Vec<Event> {
    let q = EventQuery {
        interaction: Some(call),
        page: kefu_store::PageRequest { limit: Some(500), cursor: None },
        ..Default::default()
    };
    store.query_events(&q).await.unwrap().items
}

/// Waits for an event of `kind` matching `pred`, anywhere in the log.
async fn wait_event(store: &Store, kind: EventKind, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let q = EventQuery {
            kinds: vec![kind],
            page: kefu_store::PageRequest { limit: Some(500), cursor: None },
            ..Default::default()
        };
        if let Some(e) = store.query_events(&q).await.unwrap().items.into_iter().find(|e| pred(e)) {
            return e;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {kind} event within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The call the IVR took from `caller`.
async fn ivr_call(store: &Store, caller: &str) -> InteractionId {
    let e = wait_event(store, EventKind::IvrStarted, T, |e| e.data["caller"] == caller).await;
    e.interaction.unwrap()
}

async fn wait_audio(call: &TestCall) {
    let deadline = tokio::time::Instant::now() + T;
    while call.received().audio_packets < 10 {
        assert!(tokio::time::Instant::now() < deadline, "no audio from the IVR");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn law(codec: Codec) -> Law {
    match codec {
        Codec::Pcmu => Law::Mu,
        Codec::Pcma => Law::A,
    }
}

/// Listens to `call` until `want` distinct 20 ms frames of `expected` (after the G.711 round
/// trip; silent frames left out) have arrived: proof that those prompts, and not others, were
/// played to this caller.
async fn hears_prompts(call: &TestCall, expected: &[i16], want: usize, timeout: Duration) {
    let law = law(call.codec());
    let frame = |chunk: &[i16]| -> Option<Vec<i16>> {
        let coded: Vec<i16> = chunk.iter().map(|&s| law.decode(law.encode(s))).collect();
        coded.iter().any(|s| s.unsigned_abs() > 200).then_some(coded)
    };
    let wanted: HashSet<Vec<i16>> = expected.chunks_exact(160).filter_map(frame).collect();
    assert!(wanted.len() >= want, "the prompts have only {} audible frames", wanted.len());
    let mut heard = HashSet::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while heard.len() < want {
        let got = call.received().samples;
        for chunk in got.rchunks_exact(160) {
            if wanted.contains(chunk) {
                heard.insert(chunk.to_vec());
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "heard {} of {want} frames of the prompts within {timeout:?}",
            heard.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A caller dials 4000 and presses 1 once the IVR speaks.
async fn call_and_press_1(sip: SocketAddr, number: &str) -> (TestUa, TestCall) {
    let ua = TestUa::start(number, None, sip, Transport::Udp).await.unwrap();
    let call = ua.call("4000").await.unwrap();
    wait_audio(&call).await;
    call.send_dtmf('1').await.unwrap();
    (ua, call)
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// `want` appear in `events` in this order (others may come between).
#[track_caller]
fn in_order(events: &[Event], want: &[EventKind]) {
    let mut it = events.iter();
    for k in want {
        assert!(it.any(|e| e.kind == *k), "{k} missing or out of order in {:?}", kinds(events));
    }
}

#[tokio::test]
async fn a_caller_waits_hears_the_position_reaches_the_agent_and_answers_the_survey() {
    let h = hotline(vec![], None).await;
    let store = h.app.store.clone();

    // Caller A takes the only agent with the complaints skill.
    let (_a, call_a) = call_and_press_1(h.sip, "13800138000").await;
    let agent_a = h.phone.incoming(T).await.unwrap().answer().await.unwrap();
    call_a.start_tone(440.0);
    agent_a.start_tone(1000.0);
    agent_a.wait_for_tone(440.0, T).await.unwrap();
    call_a.wait_for_tone(1000.0, T).await.unwrap();

    // Caller B presses 1 too and waits: the agent is busy.
    let (_b, call_b) = call_and_press_1(h.sip, "13700137000").await;
    let b = ivr_call(&store, "13700137000").await;
    let announced = wait_event(&store, EventKind::CallAnnounced, T, |e| e.interaction == Some(b)).await;
    assert_eq!(announced.data["position"], 1, "{announced:?}");
    let names: Vec<String> =
        announced.data["prompts"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect();
    assert_eq!(names[0], "queue_position_pre");
    assert!(names.contains(&"n1".to_owned()), "position one is spoken: {names:?}");
    let (expected, missing) = Prompts::builtin().concat(Language::ZhCn, &names);
    assert!(missing.is_empty(), "{missing:?}");
    hears_prompts(&call_b, &expected, 40, Duration::from_secs(20)).await;
    let (_, acd) = h.app.get("/api/v1/acd", Supervisor).await;
    let complaints = acd["queues"].as_array().unwrap().iter().find(|q| q["name"] == "complaints").unwrap().clone();
    assert_eq!(complaints["waiting"], 1, "{acd}");
    assert_eq!(acd["agents"][0]["state"], "talking", "{acd}");

    // A hangs up; the agent (no after-call work here) is offered B at once.
    call_a.hangup().await.unwrap();
    agent_a.wait_bye(T).await.unwrap();
    let agent_b = h.phone.incoming(T).await.unwrap().answer().await.unwrap();
    call_b.start_tone(500.0);
    agent_b.start_tone(1200.0);
    agent_b.wait_for_tone(500.0, T).await.unwrap();
    call_b.wait_for_tone(1200.0, T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;

    // The agent hangs up first: B hears the survey and scores 5, 4, 5.
    call_b.stop_tone();
    agent_b.hangup().await.unwrap();
    let prompts = Prompts::builtin();
    let intro = prompts.get(Language::ZhCn, "survey_intro").unwrap().len() as u64 / 8;
    tokio::time::sleep(Duration::from_millis(intro + 800)).await;
    for key in ['5', '4', '5'] {
        call_b.send_dtmf(key).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    call_b.wait_bye(Duration::from_secs(20)).await.unwrap();

    // The event log holds B's whole story.
    wait_event(&store, EventKind::CallEnded, T, |e| e.interaction == Some(b)).await;
    wait_event(&store, EventKind::RecordingSaved, T, |e| e.interaction == Some(b)).await;
    let events = story(&store, b).await;
    // what the IVR and the ACD decided, in order …
    in_order(
        &events,
        &[
            EventKind::IvrStarted,
            EventKind::IvrChoice,
            EventKind::IvrEnded,
            EventKind::CallQueued,
            EventKind::CallAnnounced,
            EventKind::CallOffered,
            EventKind::CallAnswered,
            EventKind::CallCompleted,
            EventKind::SurveyAnswered,
        ],
    );
    // … and what happened on the line, in order
    in_order(
        &events,
        &[
            EventKind::LegCreated,
            EventKind::LegAnswered,
            EventKind::CallDigit,
            EventKind::CallBridged,
            EventKind::RecordingSaved,
            EventKind::CallEnded,
        ],
    );
    let at = |k: EventKind| events.iter().find(|e| e.kind == k).unwrap().at;
    assert!(at(EventKind::CallBridged) >= at(EventKind::CallOffered), "bridged after the offer");
    assert_eq!(kinds(&events).iter().filter(|k| **k == EventKind::CallEnded).count(), 1, "one end");
    let digits: Vec<&str> =
        events.iter().filter(|e| e.kind == EventKind::CallDigit).map(|e| e.data["digit"].as_str().unwrap()).collect();
    assert_eq!(digits, ["1", "5", "4", "5"], "the menu key, then the survey's");
    let choice = events.iter().find(|e| e.kind == EventKind::IvrChoice).unwrap();
    assert_eq!((choice.data["key"].as_str(), choice.data["next"].as_str()), (Some("1"), Some("complaints")));
    let ended = events.iter().find(|e| e.kind == EventKind::IvrEnded).unwrap();
    assert_eq!(ended.data["outcome"], "queued");
    let answered = events.iter().find(|e| e.kind == EventKind::CallAnswered).unwrap();
    assert!(answered.data["wait_ms"].as_i64().unwrap() > 1000, "B waited: {answered:?}");
    let completed = events.iter().find(|e| e.kind == EventKind::CallCompleted).unwrap();
    assert!(completed.data["talk_ms"].as_i64().unwrap() > 300, "{completed:?}");
    assert!(!kinds(&events).contains(&EventKind::CallAbandoned));
    let survey = events.iter().find(|e| e.kind == EventKind::SurveyAnswered).unwrap();
    assert_eq!(survey.data["answers"], json!({"speed": 5, "attitude": 4, "overall": 5}), "{survey:?}");

    // The recording of B's talk exists on disk.
    let rec = events.iter().find(|e| e.kind == EventKind::RecordingSaved).unwrap();
    let path = rec.data["path"].as_str().unwrap();
    let size = std::fs::metadata(path).unwrap().len();
    assert!(size > 44 + 8000, "{path}: {size} bytes");
    let (st, answers) = h.app.get(&format!("/api/v1/surveys?call={b}"), Supervisor).await;
    assert_eq!(st, StatusCode::OK, "{answers}");
    h.app.stop().await;
}

#[tokio::test]
async fn a_caller_who_waits_too_long_leaves_a_voicemail_and_one_who_hangs_up_is_abandoned() {
    let overflow = vec![OverflowStep { after_secs: 2, when: OverflowWhen::Always, action: OverflowAction::Voicemail }];
    let h = hotline(overflow, None).await;
    let store = h.app.store.clone();
    let (st, body) = h
        .app
        .call(
            Method::PUT,
            "/api/v1/agents/me/state",
            Some(&h.agent_token),
            Some(json!({"state": "not_ready", "reason": "meeting"})),
        )
        .await;
    assert_eq!((st, body["state"].as_str()), (StatusCode::OK, Some("not_ready")), "{body}");

    // Nobody takes the call: after 2 s the caller is asked for a message, speaks, hangs up.
    let (_c, call) = call_and_press_1(h.sip, "13900139000").await;
    let c = ivr_call(&store, "13900139000").await;
    wait_event(&store, EventKind::CallOverflowed, Duration::from_secs(8), |e| e.interaction == Some(c)).await;
    let prompts = Prompts::builtin();
    let prompt_ms = (prompts.get(Language::ZhCn, "voicemail").unwrap().len()
        + prompts.get(Language::ZhCn, "beep").unwrap().len()) as u64
        / 8;
    tokio::time::sleep(Duration::from_millis(prompt_ms + 300)).await;
    call.start_tone(700.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    call.hangup().await.unwrap();
    let saved = wait_event(&store, EventKind::VoicemailSaved, T, |e| e.interaction == Some(c)).await;
    assert_eq!(saved.data["queue"], "complaints", "{saved:?}");
    let (st, list) = h.app.get("/api/v1/voicemails", Role::Agent).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let vm = list["items"].as_array().unwrap().iter().find(|v| v["call_id"] == c.to_string()).unwrap().clone();
    assert_eq!(vm["caller"], "13900139000", "{vm}");
    let ms = vm["duration_ms"].as_i64().unwrap();
    assert!((1000..=2600).contains(&ms), "the message is the 1.5 s the caller spoke: {ms} ms");
    let wav = std::fs::read(vm["path"].as_str().unwrap()).unwrap();
    assert!(wav.len() > 44 + 2 * 8000, "{} bytes", wav.len());

    // Another caller gives up after 6 s in the queue (position 1): an abandon with that wait.
    let (_d, call) = call_and_press_1(h.sip, "13600136000").await;
    let d = ivr_call(&store, "13600136000").await;
    wait_event(&store, EventKind::CallQueued, T, |e| e.interaction == Some(d)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    call.hangup().await.unwrap();
    let abandoned = wait_event(&store, EventKind::CallAbandoned, T, |e| e.interaction == Some(d)).await;
    let wait = abandoned.data["wait_ms"].as_i64().unwrap();
    assert!((1400..=2600).contains(&wait), "waited about 1.5 s: {wait}");
    assert_eq!(abandoned.data["position"], 1);
    h.app.stop().await;
}

/// A flow that looks up an order over HTTP at `url` and says which branch it took by queueing
/// the call in `product` (found) or `general` (failed).
fn lookup_flow(url: &str) -> Flow {
    Flow::from_yaml(&format!(
        r#"
name: lookup
language: en
start: lookup
nodes:
  lookup:
    type: http
    url: "{url}"
    timeout_ms: 800
    extract: {{ status: "$.status" }}
    next: found
    on_failure: failed
  found:
    type: queue
    queue: product
  failed:
    type: queue
    queue: general
"#
    ))
    .unwrap()
}

/// A one-shot HTTP server on 127.0.0.1 answering every request with `reply` after `delay`
/// (`None`: accept and never answer).
async fn fake_service(reply: Option<&'static str>, delay: Duration) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                match reply {
                    Some(body) => {
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_nodes_take_the_failure_branch_within_their_timeout() {
    let ok = fake_service(Some(r#"{"status":"shipped"}"#), Duration::ZERO).await;
    let garbage = fake_service(Some("<html>oops"), Duration::ZERO).await;
    let slow = fake_service(None, Duration::ZERO).await;
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap() // closed when `l` drops: connections are refused
    };
    let cases = [(ok, true), (garbage, false), (slow, false), (down, false)];
    for (i, (addr, ok)) in cases.into_iter().enumerate() {
        let h = hotline(vec![], Some(lookup_flow(&format!("http://{addr}/orders/{{caller}}")))).await;
        let store = h.app.store.clone();
        let number = format!("1380000000{i}");
        let ua = TestUa::start(&number, None, h.sip, Transport::Udp).await.unwrap();
        let _call = ua.call("4000").await.unwrap();
        let call = ivr_call(&store, &number).await;
        let http =
            wait_event(&store, EventKind::IvrHttp, Duration::from_secs(3), |e| e.interaction == Some(call)).await;
        let started = wait_event(&store, EventKind::IvrStarted, T, |e| e.interaction == Some(call)).await;
        let took = http.at.millis_since(started.at);
        assert_eq!(http.data["ok"], ok, "case {i}: {http:?}");
        assert!(took <= 800 + 300, "case {i}: the answer took {took} ms, the timeout is 800 ms");
        let queued = wait_event(&store, EventKind::CallQueued, T, |e| e.interaction == Some(call)).await;
        let (_, q) = h.app.get(&format!("/api/v1/queues/{}", queued.queue.unwrap()), Role::Admin).await;
        assert_eq!(q["name"], if ok { "product" } else { "general" }, "case {i}");
        h.app.stop().await;
    }
}

/// The state in the ACD of the agent with this extension, as the supervisor's API shows it.
async fn agent_state(h: &Hotline, extension: &str) -> String {
    let (_, acd) = h.app.get("/api/v1/acd", Supervisor).await;
    let agent = acd["agents"].as_array().unwrap().iter().find(|a| a["extension"] == extension).cloned();
    agent.map(|a| a["state"].as_str().unwrap_or_default().to_owned()).unwrap_or_default()
}

/// Waits until the queue's agent (2001) is in `want`.
async fn wait_state(h: &Hotline, want: &str) {
    wait_state_of(h, "2001", want).await
}

async fn wait_state_of(h: &Hotline, extension: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let got = agent_state(h, extension).await;
        if got == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "agent {extension} is {got}, expected {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn hold_shows_in_the_acd_and_an_agent_who_transfers_is_free_while_the_caller_talks_on() {
    let h = hotline(vec![], None).await;
    let store = h.app.store.clone();
    // a colleague outside the queue, with a phone of their own
    let (st, body) = h
        .app
        .send(
            Method::POST,
            "/api/v1/users",
            kefu_core::Role::Admin,
            json!({"username": "li", "display_name": "李娜", "role": "agent", "password": PASSWORD, "extension": "2002"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let colleague = TestUa::start("2002", Some(PASSWORD), h.sip, Transport::Udp).await.unwrap();
    assert_eq!(colleague.register(600).await.unwrap(), 200);
    let li = h.app.login("li", PASSWORD).await;
    let (st, body) =
        h.app.call(Method::PUT, "/api/v1/agents/me/state", Some(&li), Some(json!({"state": "ready"}))).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    let (_ua, caller) = call_and_press_1(h.sip, "13800138000").await;
    let agent = h.phone.incoming(T).await.unwrap().answer().await.unwrap();
    let call = ivr_call(&store, "13800138000").await;
    wait_state(&h, "talking").await;

    // hold through the API: the ACD counts it (the wallboard shows it)
    let hold = |action: &'static str| {
        let token = h.agent_token.clone();
        let app = &h.app;
        async move {
            let (st, body) =
                app.call(Method::POST, &format!("/api/v1/calls/{call}/{action}"), Some(&token), None).await;
            assert_eq!(st, StatusCode::NO_CONTENT, "{action}: {body}");
        }
    };
    hold("hold").await;
    wait_state(&h, "on_hold").await;
    hold("unhold").await;
    wait_state(&h, "talking").await;

    // a blind transfer to the colleague: the agent's conversation is over at once (no
    // after-call work in this setup: ready again), while the caller talks on with 2002
    let (st, body) = h
        .app
        .call(
            Method::POST,
            &format!("/api/v1/calls/{call}/transfer"),
            Some(&h.agent_token),
            Some(json!({"target": "2002", "mode": "blind"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    agent.wait_bye(T).await.unwrap();
    let other = colleague.incoming(T).await.unwrap().answer().await.unwrap();
    caller.start_tone(440.0);
    other.start_tone(1000.0);
    other.wait_for_tone(440.0, T).await.unwrap();
    caller.wait_for_tone(1000.0, T).await.unwrap();
    wait_state(&h, "ready").await;
    let completed = wait_event(&store, EventKind::CallCompleted, T, |e| e.interaction == Some(call)).await;
    assert!(completed.data["hold_ms"].as_i64().unwrap() > 0, "hold time counted: {completed:?}");
    // the colleague took the call outside the queue: busy in the ACD (no queue call is
    // offered to them) until it ends, and their hold counts like any other
    wait_state_of(&h, "2002", "talking").await;
    let (st, body) = h.app.call(Method::POST, &format!("/api/v1/calls/{call}/hold"), Some(&li), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "the colleague controls the call now: {body}");
    wait_state_of(&h, "2002", "on_hold").await;
    let (st, body) = h.app.call(Method::POST, &format!("/api/v1/calls/{call}/unhold"), Some(&li), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    wait_state_of(&h, "2002", "talking").await;
    caller.hangup().await.unwrap();
    other.wait_bye(T).await.unwrap();
    wait_state_of(&h, "2002", "ready").await;
    h.app.stop().await;
}
