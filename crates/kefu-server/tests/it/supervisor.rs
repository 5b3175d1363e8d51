//! The supervisor's floor (SV-1…SV-6, AG-5, AG-6, REC-1): listen, whisper and barge on live
//! calls with real SIP phones and audio; forced transfer, hang-up and sign-out; agents get 403
//! for each and the call is untouched; floor support; harassment → blocklist proposal →
//! approval → the caller declined (603) or diverted to the harassment queue; the blocklist's
//! rules and masking; the wallboard's figures against the KPI definitions; thresholds; the
//! handover log; queue merge and split; recordings' audio with Range requests.

use crate::{PASSWORD, TestApp, assert_error, password_hash, settings};
use kefu_core::Role::{self, Admin, Agent, Supervisor, TeamLead};
use kefu_core::acd::{Priority, RouterEvent, RouterEventDetail};
use kefu_core::event::{Event, EventKind};
use kefu_core::ivr::{Flow, Node, OpenSpan};
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::service::customer::PhoneNumber;
use kefu_core::{EventId, InteractionId, QueueId, RecordingId, Timestamp, UserId};
use kefu_server::clock::Clock;
use kefu_sip::testing::{TestCall, TestUa, Transport};
use kefu_store::{
    BlocklistStatus, EventQuery, NewBlocklistEntry, NewQueue, NewRecording, NewSkill, NewTrunk, NewUser, QueueSkill,
    Store, TrunkTransport, UserSkill,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
static RTP: AtomicU16 = AtomicU16::new(52000);
const CALLER: &str = "13800138000";
const CALLER_MASKED: &str = "138****8000";

/// The demo hotline open round the clock.
fn hotline_24_7() -> Flow {
    let mut flow = kefu_server::demo::demo_flow().unwrap();
    let Some(Node::Hours { weekly, holidays, .. }) = flow.nodes.get_mut("hours") else { panic!("no hours node") };
    *weekly = vec![OpenSpan { days: vec![1, 2, 3, 4, 5, 6, 7], from: "00:00".into(), to: "24:00".into() }];
    holidays.clear();
    flow
}

/// kefu with SIP, the queues complaints, general and harassment, agents `li` (2001) and
/// `zhao` (2002), supervisor `boss` (3001) and team lead `lead` (3002); a trunk from
/// 127.0.0.1 sends 4000 to the demo hotline and every other number to 2001.
struct Floor {
    app: TestApp,
    sip: SocketAddr,
    ids: HashMap<&'static str, UserId>,
    tokens: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

const PEOPLE: [(&str, &str, Role); 4] = [
    ("li", "2001", Role::Agent),
    ("zhao", "2002", Role::Agent),
    ("boss", "3001", Role::Supervisor),
    ("lead", "3002", Role::TeamLead),
];

async fn floor() -> Floor {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    s.acw_secs = 0;
    s.ring_timeout_secs = 5;
    let app = TestApp::spawn_seeded(s, |store: Store, _| async move {
        let now = Clock::default().now();
        let skill = NewSkill { name: "complaints".into(), description: String::new() };
        let skill = store.create_skill(&skill, now).await.unwrap().id;
        for name in ["complaints", "general", "harassment"] {
            let new = NewQueue {
                name: name.into(),
                description: String::new(),
                strategy: QueueStrategy::LongestIdle,
                targets: ServiceTargets::default(),
                skills: vec![QueueSkill { skill_id: skill, min_proficiency: Proficiency::new(1).unwrap() }],
                overflow: vec![],
            };
            store.create_queue(&new, now).await.unwrap();
        }
        for (name, ext, role) in PEOPLE {
            let user = NewUser {
                username: name.into(),
                display_name: format!("{name} ({ext})"),
                role,
                password_hash: password_hash().to_owned(),
                team_id: None,
                extension: Some(ext.into()),
                skills: vec![UserSkill { skill_id: skill, proficiency: Proficiency::new(5).unwrap() }],
                sip: kefu_server::auth::sip::for_user("kefu", Some(ext), PASSWORD),
            };
            store.create_user(&user, now).await.unwrap();
        }
        let flow = hotline_24_7();
        store.save_flow(&flow, &["4000".into()], now).await.unwrap();
        let trunk = NewTrunk {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port: 5080,
            transport: TrunkTransport::Udp,
            auth_username: None,
            auth_password: None,
            allow_from: vec!["127.0.0.1".into()],
            inbound_routes: BTreeMap::from([
                ("4000".to_owned(), "ivr:hotline".to_owned()),
                ("*".into(), "2001".into()),
            ]),
            caller_id: None,
            enabled: true,
        };
        store.create_trunk(&trunk, now).await.unwrap();
    })
    .await;
    let sip = app.sip_addr.unwrap();
    let mut ids = HashMap::new();
    let mut tokens = HashMap::new();
    for (name, _, _) in PEOPLE {
        ids.insert(name, app.store.user_by_username(name).await.unwrap().id);
        tokens.insert(name, app.login(name, PASSWORD).await);
    }
    Floor { app, sip, ids, tokens, _dir: dir }
}

impl Floor {
    async fn phone(&self, ext: &str) -> TestUa {
        let ua = TestUa::start(ext, Some(PASSWORD), self.sip, Transport::Udp).await.unwrap();
        assert_eq!(ua.register(600).await.unwrap(), 200);
        ua
    }

    async fn as_(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.call(method, path, Some(&self.tokens[who]), body).await
    }

    /// A customer call through the trunk that rings 2001, answered there; tones 440 Hz
    /// (customer) and 1000 Hz (agent) flowing both ways. Returns both ends and the call id.
    async fn answered_call(&self, customer: &TestUa, agent: &TestUa) -> (TestCall, TestCall, String) {
        let (call, agent_call) =
            tokio::join!(customer.call("5550100"), async { agent.incoming(T).await.unwrap().answer().await.unwrap() });
        let call = call.unwrap();
        call.start_tone(440.0);
        agent_call.start_tone(1000.0);
        agent_call.wait_for_tone(440.0, T).await.unwrap();
        call.wait_for_tone(1000.0, T).await.unwrap();
        let (_, calls) = self.as_("boss", Method::GET, "/api/v1/calls", None).await;
        let id =
            calls.as_array().unwrap().iter().find(|c| c["agent"] == "2001").unwrap()["id"].as_str().unwrap().to_owned();
        (call, agent_call, id)
    }
}

/// The share of the last half second of `call`'s audio that is a tone at `hz`.
fn share(call: &TestCall, hz: f32) -> f64 {
    call.received().tone_fraction(hz, Duration::from_millis(500))
}

async fn events_of(store: &Store, call: &str) -> Vec<Event> {
    let q = EventQuery {
        interaction: Some(call.parse().unwrap()),
        page: kefu_store::PageRequest { limit: Some(500), cursor: None },
        ..Default::default()
    };
    store.query_events(&q).await.unwrap().items
}

/// Waits for an event of `kind` matching `pred`.
async fn wait_event(store: &Store, kind: EventKind, pred: impl Fn(&Event) -> bool) -> Event {
    wait_event_for(store, kind, T, pred).await
}

/// Waits up to `timeout` for an event of `kind` matching `pred`.
async fn wait_event_for(store: &Store, kind: EventKind, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Event {
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

async fn audit_actions(app: &TestApp) -> Vec<(String, Value)> {
    let (_, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["detail"].clone()))
        .collect()
}

#[tokio::test]
async fn a_supervisor_listens_whispers_barges_and_leaves_while_agents_get_403() {
    let f = floor().await;
    let li = f.phone("2001").await;
    let boss = f.phone("3001").await;
    let customer = TestUa::start(CALLER, None, f.sip, Transport::Udp).await.unwrap();
    let (call, agent, id) = f.answered_call(&customer, &li).await;
    let monitor = format!("/api/v1/calls/{id}/monitor");

    // every supervisor action is refused to the agent, and the call is untouched
    let attempts = [
        (Method::POST, monitor.clone(), Some(json!({ "mode": "barge", "extension": "2001" }))),
        (Method::PUT, monitor.clone(), Some(json!({ "mode": "barge" }))),
        (Method::DELETE, monitor.clone(), None),
        (Method::POST, format!("/api/v1/calls/{id}/force-transfer"), Some(json!({ "target": "2002" }))),
        (Method::POST, format!("/api/v1/calls/{id}/force-hangup"), Some(json!({}))),
        (Method::POST, format!("/api/v1/agents/{}/logout", f.ids["zhao"]), Some(json!({}))),
    ];
    for (method, path, body) in attempts {
        let (s, b) = f.as_("li", method.clone(), &path, body).await;
        assert_error(s, &b, 403, "forbidden");
    }
    let (_, c) = f.as_("boss", Method::GET, &format!("/api/v1/calls/{id}"), None).await;
    assert_eq!((c["state"].as_str(), c["legs"].as_array().unwrap().len()), (Some("talking"), 2), "{c}");
    assert!(audit_actions(&f.app).await.iter().all(|(a, _)| !a.starts_with("call.")), "nothing audited");
    call.wait_for_tone(1000.0, T).await.unwrap();

    // listen: the supervisor's phone rings and hears both; nobody hears the supervisor
    let (s, b) = f.as_("boss", Method::POST, &monitor, Some(json!({ "mode": "listen" }))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b, json!({ "call": id, "extension": "3001", "mode": "listen" }));
    let sup = boss.incoming(T).await.unwrap().answer().await.unwrap();
    sup.start_tone(1500.0);
    sup.wait_for_tone(440.0, T).await.unwrap();
    sup.wait_for_tone(1000.0, T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(share(&call, 1500.0) < 0.05, "the caller hears the listener: {}", share(&call, 1500.0));
    assert!(share(&agent, 1500.0) < 0.05, "the agent hears the listener: {}", share(&agent, 1500.0));
    let (s, b) = f.as_("boss", Method::POST, &monitor, Some(json!({ "mode": "listen" }))).await;
    assert_error(s, &b, 409, "conflict");

    // whisper: only the agent hears the supervisor
    let (s, b) = f.as_("boss", Method::PUT, &monitor, Some(json!({ "mode": "whisper" }))).await;
    assert_eq!((s, b["mode"].as_str()), (StatusCode::OK, Some("whisper")), "{b}");
    agent.wait_for_tone(1500.0, T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(share(&call, 1500.0) < 0.05, "the caller hears a whisper: {}", share(&call, 1500.0));
    assert!(share(&agent, 440.0) > 0.2, "the agent still hears the caller");

    // barge: the caller hears the supervisor too
    let (s, _) = f.as_("boss", Method::PUT, &monitor, Some(json!({ "mode": "barge" }))).await;
    assert_eq!(s, StatusCode::OK);
    call.wait_for_tone(1500.0, T).await.unwrap();
    agent.wait_for_tone(1500.0, T).await.unwrap();

    // leaving hangs up the supervisor's phone; caller and agent carry on, alone
    let (s, b) = f.as_("boss", Method::DELETE, &monitor, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    sup.wait_bye(T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(share(&call, 1500.0) < 0.05);
    call.wait_for_tone(1000.0, T).await.unwrap();
    let (_, c) = f.as_("boss", Method::GET, &format!("/api/v1/calls/{id}"), None).await;
    assert_eq!(c["state"], "talking", "{c}");
    let monitor_leg = c["legs"].as_array().unwrap().iter().find(|l| l["role"] == "monitor").unwrap().clone();
    assert_eq!(monitor_leg["state"], "ended", "{c}");
    let (s, b) = f.as_("boss", Method::PUT, &monitor, Some(json!({ "mode": "barge" }))).await;
    assert_error(s, &b, 409, "conflict");
    let (s, b) = f.as_("boss", Method::DELETE, &monitor, None).await;
    assert_error(s, &b, 409, "conflict");

    // a team lead may monitor with their own phone, not an agent's
    let (s, b) = f.as_("lead", Method::POST, &monitor, Some(json!({ "mode": "listen", "extension": "2002" }))).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = f.as_("lead", Method::POST, &monitor, Some(json!({ "mode": "listen" }))).await;
    assert_error(s, &b, 409, "conflict"); // 3002 has no registered phone
    assert!(b["error"]["message"].as_str().unwrap().contains("no registered phone"), "{b}");

    // audited, and told to the CTI stream as events
    let actions: Vec<String> = audit_actions(&f.app).await.into_iter().map(|(a, _)| a).collect();
    for want in ["call.monitor", "call.monitor_mode", "call.monitor_stop"] {
        assert!(actions.iter().any(|a| a == want), "{want} missing from {actions:?}");
    }
    let events = events_of(&f.app.store, &id).await;
    let sv: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == EventKind::SupervisorAction)
        .map(|e| e.data["action"].as_str().unwrap())
        .collect();
    assert_eq!(sv, ["call.monitor", "call.monitor_mode", "call.monitor_mode", "call.monitor_stop"]);
    let first = events.iter().find(|e| e.kind == EventKind::SupervisorAction).unwrap();
    assert_eq!(first.agent, Some(f.ids["li"]), "{first:?}");
    assert_eq!(first.data["by"], json!(f.ids["boss"]));

    // force hang-up ends the call for both
    let (s, b) = f
        .as_("boss", Method::POST, &format!("/api/v1/calls/{id}/force-hangup"), Some(json!({ "reason": "abuse" })))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    call.wait_bye(T).await.unwrap();
    agent.wait_bye(T).await.unwrap();
    let audit = audit_actions(&f.app).await;
    let (_, detail) = audit.iter().find(|(a, _)| a == "call.force_hangup").unwrap();
    assert_eq!(detail["reason"], "abuse");
    f.app.stop().await;
}

#[tokio::test]
async fn forced_transfers_reach_another_agent_or_a_queue_and_forced_sign_outs_are_audited() {
    let f = floor().await;
    let li = f.phone("2001").await;
    let zhao = f.phone("2002").await;
    let customer = TestUa::start(CALLER, None, f.sip, Transport::Udp).await.unwrap();
    let (call, agent, id) = f.answered_call(&customer, &li).await;

    // an agent's own transfer names a colleague by id too: refused while their phone is off
    let transfer = format!("/api/v1/calls/{id}/transfer");
    let boss_target = json!({ "target": format!("agent:{}", f.ids["boss"]), "mode": "blind" });
    let (s, b) = f.as_("li", Method::POST, &transfer, Some(boss_target)).await;
    assert_error(s, &b, 409, "conflict");
    assert!(b["error"]["message"].as_str().unwrap().contains("not registered"), "{b}");
    // … and a queue only for callers the IVR took (this one came straight to the extension)
    let (s, b) = f.as_("li", Method::POST, &transfer, Some(json!({ "target": "general", "mode": "blind" }))).await;
    assert_error(s, &b, 409, "conflict");
    call.wait_for_tone(1000.0, T).await.unwrap();

    // to an agent by id: the first agent leaves, the second one's phone rings
    let zhao_id = f.ids["zhao"];
    let path = format!("/api/v1/calls/{id}/force-transfer");
    let (s, b) = f.as_("boss", Method::POST, &path, Some(json!({ "target": "agent:not-an-id" }))).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = f.as_("boss", Method::POST, &path, Some(json!({ "target": "queue:nowhere" }))).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = f.as_("boss", Method::POST, &path, Some(json!({ "target": zhao_id, "reason": "VIP" }))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    agent.wait_bye(T).await.unwrap();
    let second = zhao.incoming(T).await.unwrap().answer().await.unwrap();
    second.start_tone(1200.0);
    call.wait_for_tone(1200.0, T).await.unwrap();
    let audit = audit_actions(&f.app).await;
    let (_, detail) = audit.iter().find(|(a, _)| a == "call.force_transfer").unwrap();
    assert_eq!(detail["to"], json!({ "agent": zhao_id, "extension": "2002" }), "{detail}");
    assert_eq!(detail["reason"], "VIP");
    call.hangup().await.unwrap();
    second.wait_bye(T).await.unwrap();

    // a forced sign-out: audited, refused for someone not signed in
    let zhao_token = &f.tokens["zhao"];
    let (s, b) =
        f.app.call(Method::PUT, "/api/v1/agents/me/state", Some(zhao_token), Some(json!({ "state": "ready" }))).await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("ready")), "{b}");
    let logout = format!("/api/v1/agents/{zhao_id}/logout");
    let (s, b) = f.as_("lead", Method::POST, &logout, Some(json!({ "reason": "end of shift" }))).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, me) = f.app.call(Method::GET, "/api/v1/agents/me/state", Some(zhao_token), None).await;
    assert_eq!(me["state"], "logged_out", "{me}");
    let (s, b) = f.as_("lead", Method::POST, &logout, Some(json!({}))).await;
    assert_error(s, &b, 409, "conflict");
    // a forced state through the existing route is audited too
    let (s, b) = f
        .as_(
            "boss",
            Method::PUT,
            &format!("/api/v1/agents/{zhao_id}/state"),
            Some(json!({ "state": "not_ready", "reason": "meeting" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let audit = audit_actions(&f.app).await;
    assert!(audit.iter().any(|(a, d)| a == "agent.force_logout" && d["reason"] == "end of shift"), "{audit:?}");
    assert!(audit.iter().any(|(a, d)| a == "agent.force_state" && d["state"] == "not_ready"), "{audit:?}");
    let forced =
        wait_event(&f.app.store, EventKind::SupervisorAction, |e| e.data["action"] == "agent.force_logout").await;
    assert_eq!(forced.agent, Some(zhao_id));

    // to a queue: a caller of the IVR goes back in line when the supervisor moves them
    let (s, b) = f
        .app
        .call(Method::PUT, "/api/v1/agents/me/state", Some(&f.tokens["li"]), Some(json!({ "state": "ready" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ivr_caller = TestUa::start("13700137000", None, f.sip, Transport::Udp).await.unwrap();
    let c = ivr_caller.call("4000").await.unwrap();
    let deadline = tokio::time::Instant::now() + T;
    while c.received().audio_packets < 10 {
        assert!(tokio::time::Instant::now() < deadline, "no audio from the IVR");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.send_dtmf('1').await.unwrap();
    let a1 = li.incoming(T).await.unwrap().answer().await.unwrap();
    let started = wait_event(&f.app.store, EventKind::IvrStarted, |e| e.data["caller"] == "13700137000").await;
    let call_id = started.interaction.unwrap();
    wait_event(&f.app.store, EventKind::CallAnswered, |e| e.interaction == Some(call_id)).await;
    // a queue takes blind transfers only
    let (s, b) = f
        .app
        .call(
            Method::POST,
            &format!("/api/v1/calls/{call_id}/transfer"),
            Some(&f.tokens["li"]),
            Some(json!({ "target": "queue:general", "mode": "attended" })),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = f
        .as_(
            "boss",
            Method::POST,
            &format!("/api/v1/calls/{call_id}/force-transfer"),
            Some(json!({ "target": "general" })),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    a1.wait_bye(T).await.unwrap();
    let general = f.app.store.list_queues(&Default::default()).await.unwrap().items;
    let general = general.iter().find(|q| q.name == "general").unwrap().id;
    wait_event(&f.app.store, EventKind::CallQueued, |e| e.interaction == Some(call_id) && e.queue == Some(general))
        .await;
    // li is free again (no ACW here) and is offered the caller from the general queue
    let a2 = li.incoming(T).await.unwrap().answer().await.unwrap();
    a2.start_tone(900.0);
    c.wait_for_tone(900.0, T).await.unwrap();
    let transferred = wait_event(&f.app.store, EventKind::CallTransferred, |e| e.interaction == Some(call_id)).await;
    assert_eq!(transferred.data["to"], "queue:general", "{transferred:?}");
    c.hangup().await.unwrap();
    f.app.stop().await;
}

#[tokio::test]
async fn floor_support_notifies_the_on_duty_leads_and_consults_the_first_free_one() {
    let f = floor().await;
    let li = f.phone("2001").await;
    let lead = f.phone("3002").await;
    let customer = TestUa::start(CALLER, None, f.sip, Transport::Udp).await.unwrap();
    let (call, agent, id) = f.answered_call(&customer, &li).await;
    // the supervisor has no phone registered and is not signed in: off duty
    let (s, b) = f
        .as_(
            "li",
            Method::POST,
            &format!("/api/v1/calls/{id}/support"),
            Some(json!({ "consult": true, "note": "退款纠纷" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let notified: Vec<&str> =
        b["notified"].as_array().unwrap().iter().map(|n| n["extension"].as_str().unwrap()).collect();
    assert_eq!(notified, ["3002"], "{b}");
    assert_eq!(b["consulted"]["extension"], "3002", "{b}");
    let consult = lead.incoming(T).await.unwrap().answer().await.unwrap();
    consult.start_tone(700.0);
    agent.wait_for_tone(700.0, T).await.unwrap();
    let (_, c) = f.as_("boss", Method::GET, &format!("/api/v1/calls/{id}"), None).await;
    assert_eq!(c["state"], "consulting", "{c}");
    let e = wait_event(&f.app.store, EventKind::SupportRequested, |e| {
        e.interaction.map(|i| i.to_string()) == Some(id.clone())
    })
    .await;
    assert_eq!(e.agent, Some(f.ids["li"]));
    assert_eq!(e.data["notified"], json!([f.ids["lead"]]));
    assert_eq!(e.data["consulted"], json!(f.ids["lead"]));
    assert_eq!(e.data["note"], "退款纠纷");
    // another agent cannot ask for support on li's call
    let (s, b) = f.as_("zhao", Method::POST, &format!("/api/v1/calls/{id}/support"), Some(json!({}))).await;
    assert_error(s, &b, 404, "not_found");
    call.hangup().await.unwrap();
    f.app.stop().await;
}

#[tokio::test]
async fn a_harassing_caller_is_proposed_approved_then_declined_or_diverted() {
    let f = floor().await;
    let li = f.phone("2001").await;
    let customer = TestUa::start(CALLER, None, f.sip, Transport::Udp).await.unwrap();
    let (call, agent, id) = f.answered_call(&customer, &li).await;

    // the agent marks the call: it ends, and the number is proposed, masked for the agent
    let (s, b) =
        f.as_("li", Method::POST, &format!("/api/v1/calls/{id}/harassment"), Some(json!({ "note": "辱骂坐席" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!((b["proposed"].as_bool(), b["hung_up"].as_bool()), (Some(true), Some(true)), "{b}");
    assert_eq!(b["entry"]["number"], CALLER_MASKED);
    assert_eq!((b["entry"]["masked"].as_bool(), b["entry"]["status"].as_str()), (Some(true), Some("pending")));
    assert_eq!(b["entry"]["reason"], "辱骂坐席");
    assert!(!b.to_string().contains(CALLER), "{b}");
    call.wait_bye(T).await.unwrap();
    agent.wait_bye(T).await.unwrap();
    let entry = b["entry"]["id"].as_str().unwrap().to_owned();

    // the agent sees their proposal masked, the team lead masked, the supervisor in clear
    let (_, mine) = f.as_("li", Method::GET, "/api/v1/blocklist", None).await;
    assert_eq!(mine["items"][0]["number"], CALLER_MASKED, "{mine}");
    let (_, other) = f.as_("zhao", Method::GET, "/api/v1/blocklist", None).await;
    assert_eq!(other["items"], json!([]), "another agent's proposals are not listed");
    let (_, lead) = f.as_("lead", Method::GET, "/api/v1/blocklist", None).await;
    assert_eq!(lead["items"][0]["number"], CALLER_MASKED, "{lead}");
    let (_, boss) = f.as_("boss", Method::GET, "/api/v1/blocklist", None).await;
    assert_eq!(
        (boss["items"][0]["number"].as_str(), boss["items"][0]["masked"].as_bool()),
        (Some(CALLER), Some(false))
    );
    assert!(
        audit_actions(&f.app).await.iter().any(|(a, d)| a == "blocklist.pii_read" && d["entries"] == json!([entry]))
    );
    // the number is stored encrypted, and the event log holds it masked only
    let stored = f.app.store.blocklist_entry(entry.parse().unwrap()).await.unwrap();
    assert_eq!(stored.number.as_str(), CALLER);
    let harassment = wait_event(&f.app.store, EventKind::HarassmentReported, |_| true).await;
    assert_eq!(harassment.data["number"], CALLER_MASKED);
    let proposed = wait_event(&f.app.store, EventKind::BlocklistChanged, |e| e.data["action"] == "proposed").await;
    assert!(!proposed.data.to_string().contains(CALLER));

    // pending: the caller still gets through
    let (again, agent) =
        tokio::join!(customer.call("5550100"), async { li.incoming(T).await.unwrap().answer().await.unwrap() });
    again.unwrap().hangup().await.unwrap();
    agent.wait_bye(T).await.unwrap();

    // only supervisors decide
    let approve = format!("/api/v1/blocklist/{entry}/approve");
    let (s, b) = f.as_("li", Method::POST, &approve, Some(json!({}))).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = f.as_("lead", Method::POST, &approve, Some(json!({}))).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = f.as_("boss", Method::POST, &approve, Some(json!({ "note": "三次骚扰" }))).await;
    assert_eq!((s, b["status"].as_str(), b["blocking"].as_bool()), (StatusCode::OK, Some("active"), Some(true)), "{b}");
    assert_eq!(b["decided_by"], json!(f.ids["boss"]));
    let (s, b) = f.as_("boss", Method::POST, &approve, Some(json!({}))).await;
    assert_error(s, &b, 409, "conflict");

    // approved: a call to an agent is declined with 603, and no phone rings
    let refused = customer.call("5550100").await.unwrap_err();
    assert_eq!(refused.status(), Some(603), "{refused}");
    assert!(li.incoming(Duration::from_millis(500)).await.is_err(), "the agent's phone must not ring");
    let declined = wait_event(&f.app.store, EventKind::CallBlocked, |e| e.data["outcome"] == "declined").await;
    assert_eq!(declined.data["number"], CALLER_MASKED);
    assert_eq!(declined.data["entry"], json!(entry));

    // a call to the hotline is diverted to the harassment queue (after the deterrent message)
    let hotline = customer.call("4000").await.unwrap();
    let diverted = wait_event(&f.app.store, EventKind::CallBlocked, |e| e.data["outcome"] == "diverted").await;
    let call_id = diverted.interaction.unwrap();
    let harassment_queue = f.app.store.list_queues(&Default::default()).await.unwrap().items;
    let harassment_queue = harassment_queue.iter().find(|q| q.name == "harassment").unwrap().id;
    // the deterrent message cannot be skipped: the caller is queued once it has played
    let warning =
        kefu_server::prompts::Prompts::builtin().get(kefu_core::ivr::Language::ZhCn, "harassment").unwrap().len();
    let wait = Duration::from_millis(warning as u64 / 8) + T;
    let queued = wait_event_for(&f.app.store, EventKind::CallQueued, wait, |e| e.interaction == Some(call_id)).await;
    assert_eq!(queued.queue, Some(harassment_queue));
    let nodes: Vec<String> = events_of(&f.app.store, &call_id.to_string())
        .await
        .iter()
        .filter(|e| e.kind == EventKind::IvrNode)
        .map(|e| e.data["node"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(nodes, ["harassment_warning", "harassment"], "straight to the harassment treatment");
    hotline.hangup().await.unwrap();

    // taken off the list: the caller gets through again
    let (s, _) = f.as_("boss", Method::DELETE, &format!("/api/v1/blocklist/{entry}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (again, agent) =
        tokio::join!(customer.call("5550100"), async { li.incoming(T).await.unwrap().answer().await.unwrap() });
    again.unwrap().hangup().await.unwrap();
    agent.wait_bye(T).await.unwrap();
    f.app.stop().await;
}

#[tokio::test]
async fn the_blocklist_keeps_its_rules() {
    let app = TestApp::spawn().await;
    let number = "13900139000";
    // a supervisor blocks a number directly, in any common form
    let (s, e) = app
        .send(Method::POST, "/api/v1/blocklist", Supervisor, json!({ "number": "+86 139 0013 9000", "reason": "推销" }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!(
        (e["number"].as_str(), e["status"].as_str(), e["blocking"].as_bool()),
        (Some(number), Some("active"), Some(true))
    );
    let id = e["id"].as_str().unwrap().to_owned();
    let (s, b) = app.send(Method::POST, "/api/v1/blocklist", Admin, json!({ "number": number })).await;
    assert_error(s, &b, 409, "conflict");
    for bad in [
        json!({ "number": "abc" }),
        json!({ "number": "139****9000" }),
        json!({ "number": "13700137000", "expires_at": 1 }),
        json!({ "number": "13700137000", "extra": 1 }),
    ] {
        let (s, b) = app.send(Method::POST, "/api/v1/blocklist", Supervisor, bad.clone()).await;
        assert_error(s, &b, 422, "validation_failed");
    }
    let (s, b) = app.send(Method::POST, "/api/v1/blocklist", Agent, json!({ "number": "13700137000" })).await;
    assert_error(s, &b, 403, "forbidden");
    let (_, page) = app.get("/api/v1/blocklist", Supervisor).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "nothing half-written: {page}");
    let (_, lead) = app.get("/api/v1/blocklist", TeamLead).await;
    assert_eq!(lead["items"][0]["number"], "139****9000");

    // removed: kept as removed, no longer listed by default, not removed twice
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/blocklist/{id}"), Some(app.token(Supervisor)), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app.call(Method::DELETE, &format!("/api/v1/blocklist/{id}"), Some(app.token(Supervisor)), None).await;
    assert_error(s, &b, 409, "conflict");
    let (_, page) = app.get("/api/v1/blocklist", Supervisor).await;
    assert_eq!(page["items"], json!([]));
    let (_, page) = app.get("/api/v1/blocklist?status=removed", Supervisor).await;
    assert_eq!(page["items"][0]["removed_by"], json!(app.users[&Supervisor].id), "{page}");
    let (s, b) = app.get("/api/v1/blocklist?status=gone", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let ghost = kefu_store::new_uuid();
    let (s, b) = app.send(Method::POST, &format!("/api/v1/blocklist/{ghost}/approve"), Supervisor, json!({})).await;
    assert_error(s, &b, 404, "not_found");

    // a proposal rejected stays rejected; the number can be proposed again afterwards
    let pending = NewBlocklistEntry {
        number: PhoneNumber::parse("13600136000").unwrap(),
        status: BlocklistStatus::Pending,
        reason: "骚扰".into(),
        call_id: None,
        by: app.users[&Agent].id,
        expires_at: None,
    };
    let p = app.store.add_blocklist_entry(&pending, app.clock.now()).await.unwrap();
    let reject = format!("/api/v1/blocklist/{}/reject", p.id);
    let (s, b) = app.send(Method::POST, &reject, Supervisor, json!({ "expires_at": 4_102_444_800_000i64 })).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = app.send(Method::POST, &reject, Supervisor, json!({ "note": "误报" })).await;
    assert_eq!(
        (s, b["status"].as_str(), b["decision_note"].as_str()),
        (StatusCode::OK, Some("rejected"), Some("误报"))
    );
    let (s, b) = app.send(Method::POST, &format!("/api/v1/blocklist/{}/approve", p.id), Supervisor, json!({})).await;
    assert_error(s, &b, 409, "conflict");
    app.store.add_blocklist_entry(&pending, app.clock.now()).await.unwrap();
    // the agent lists their own proposals, masked
    let (_, mine) = app.get("/api/v1/blocklist?status=pending,rejected", Agent).await;
    let numbers: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|e| e["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["136****6000", "136****6000"], "{mine}");

    // the log says what changed, never the number in clear
    wait_event(&app.store, EventKind::BlocklistChanged, |e| e.data["action"] == "rejected").await;
    let q = EventQuery { kinds: vec![EventKind::BlocklistChanged], ..Default::default() };
    let events = app.store.query_events(&q).await.unwrap().items;
    let actions: Vec<&str> = events.iter().map(|e| e.data["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["added", "removed", "rejected"]);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(number) && !text.contains("13600136000"), "{text}");
    app.stop().await;
}

fn router_event(at: Timestamp, detail: RouterEventDetail) -> Event {
    RouterEvent { at, detail }.to_event(EventId::from_uuid(kefu_store::new_uuid()))
}

fn call_id(n: u128) -> InteractionId {
    InteractionId::from_uuid(uuid::Uuid::from_u128(n))
}

fn queued(at: Timestamp, call: u128, queue: QueueId) -> Event {
    let detail = RouterEventDetail::CallQueued {
        call: call_id(call),
        queue,
        priority: Priority::NORMAL,
        position: 1,
        customer: None,
        overflowed_from: None,
    };
    router_event(at, detail)
}

fn answered(at: Timestamp, call: u128, queue: QueueId, agent: UserId, wait_ms: i64) -> Event {
    router_event(at, RouterEventDetail::CallAnswered { call: call_id(call), queue, agent, wait_ms, ring_ms: 2000 })
}

fn abandoned(at: Timestamp, call: u128, queue: QueueId, wait_ms: i64) -> Event {
    router_event(at, RouterEventDetail::CallAbandoned { call: call_id(call), queue, wait_ms, position: 1 })
}

async fn spawn_with_queues() -> (TestApp, QueueId, QueueId) {
    let app = TestApp::spawn_seeded(settings(), |store: Store, _| async move {
        let now = Clock::default().now();
        for (name, sl) in [("complaints", 20), ("product", 30)] {
            let new = NewQueue {
                name: name.into(),
                description: String::new(),
                strategy: QueueStrategy::LongestIdle,
                targets: ServiceTargets { service_level_secs: sl, ..ServiceTargets::default() },
                skills: vec![],
                overflow: vec![],
            };
            store.create_queue(&new, now).await.unwrap();
        }
    })
    .await;
    let queues = app.store.list_queues(&Default::default()).await.unwrap().items;
    let id = |n: &str| queues.iter().find(|q| q.name == n).unwrap().id;
    let (c, p) = (id("complaints"), id("product"));
    (app, c, p)
}

#[tokio::test]
async fn the_wallboard_counts_today_by_the_kpi_definitions() {
    let (app, complaints, product) = spawn_with_queues().await;
    let agent = app.users[&Agent].id;
    // today starts at local midnight of the center (+08:00 by default)
    let offset = 8 * 3_600_000;
    let now = app.clock.now().as_millis();
    let day = Timestamp::from_millis((now + offset).div_euclid(86_400_000) * 86_400_000 - offset);
    let at = |ms: i64| Timestamp::from_millis(day.as_millis() + ms);
    let events = vec![
        // yesterday's caller, answered after midnight: yesterday's figures (KPI.md: by queue entry)
        queued(at(-60_000), 100, complaints),
        answered(at(5_000), 100, complaints, agent, 65_000),
        // today: waits 10 s and 30 s (answered), 3 s (short abandon), 40 s (abandoned)
        queued(at(1_000), 1, complaints),
        queued(at(2_000), 2, complaints),
        queued(at(3_000), 3, complaints),
        queued(at(4_000), 4, complaints),
        abandoned(at(6_000), 3, complaints, 3_000),
        answered(at(11_000), 1, complaints, agent, 10_000),
        answered(at(32_000), 2, complaints, agent, 30_000),
        abandoned(at(44_000), 4, complaints, 40_000),
        // product: one answered after 25 s (within its 30 s)
        queued(at(5_000), 5, product),
        answered(at(30_000), 5, product, agent, 25_000),
    ];
    let mut sorted = events.clone();
    sorted.sort_by_key(|e| e.at);
    app.store.append_events(&sorted).await.unwrap();
    let (s, b) = app
        .call(Method::PUT, "/api/v1/agents/me/state", Some(app.token(Agent)), Some(json!({ "state": "ready" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, w) = app.get("/api/v1/wallboard", Supervisor).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["day_start"], json!(day.as_millis()));
    let q = |name: &str| w["queues"].as_array().unwrap().iter().find(|q| q["name"] == name).unwrap().clone();
    let c = q("complaints");
    assert_eq!(
        (c["offered"].as_u64(), c["answered"].as_u64(), c["abandoned"].as_u64()),
        (Some(4), Some(2), Some(2)),
        "{c}"
    );
    assert_eq!(c["short_abandoned"], 1);
    // SL = answered within 20 s ÷ (answered + abandoned after 20 s) = 1 ÷ 3
    assert!((c["service_level"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9, "{c}");
    // ASA = (10 + 30) ÷ 2; abandon rate = 1 ÷ (2 + 1), the short abandon left out
    assert_eq!(c["asa_secs"], 20.0);
    assert!((c["abandon_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(c["sl_threshold_secs"], 20);
    assert_eq!((c["alerts"]["service_level"].as_str(), c["alerts"]["asa_secs"].as_str()), (Some("red"), Some("amber")));
    assert_eq!(c["alerts"]["waiting"], "ok");
    let p = q("product");
    assert_eq!(
        (p["offered"].as_u64(), p["answered"].as_u64(), p["service_level"].as_f64()),
        (Some(1), Some(1), Some(1.0))
    );
    assert_eq!(p["sl_threshold_secs"], 30);
    // all queues: each call once; the SL threshold differs by queue, so the default 20 s
    let t = &w["total"];
    assert_eq!((t["offered"].as_u64(), t["answered"].as_u64()), (Some(5), Some(3)), "{t}");
    assert!((t["service_level"].as_f64().unwrap() - 1.0 / 4.0).abs() < 1e-9, "{t}");
    assert_eq!(t["agents"]["ready"], 1, "{t}");
    let card = w["agents"].as_array().unwrap().iter().find(|a| a["id"] == json!(agent)).unwrap().clone();
    assert_eq!((card["state"].as_str(), card["name"].as_str()), (Some("ready"), Some("The agent")), "{card}");
    assert!(card["time_in_state_ms"].as_i64().unwrap() >= 0);
    let red: Vec<(&str, &str)> = w["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["level"] == "red")
        .map(|a| (a["queue"].as_str().unwrap(), a["metric"].as_str().unwrap()))
        .collect();
    assert!(red.contains(&("complaints", "service_level")) && red.contains(&("complaints", "abandon_rate")), "{red:?}");

    // the trend: the last hour in 15-minute steps, calls in the interval they queued
    let recent = Timestamp::from_millis(now - 5 * 60_000);
    app.store
        .append_events(&[
            queued(recent, 7, complaints),
            answered(recent.plus_millis(4_000), 7, complaints, agent, 4_000),
        ])
        .await
        .unwrap();
    let (s, tr) = app.get("/api/v1/wallboard/trend?hours=1", TeamLead).await;
    assert_eq!(s, StatusCode::OK, "{tr}");
    assert_eq!(tr["interval_secs"], 900);
    let from = tr["from"].as_i64().unwrap();
    let series = tr["queues"].as_array().unwrap().iter().find(|q| q["name"] == "complaints").unwrap().clone();
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let offered: u64 = points.iter().map(|p| p["offered"].as_u64().unwrap()).sum();
    let expected = events
        .iter()
        .filter(|e| e.kind == EventKind::CallQueued && e.queue == Some(complaints) && e.at.as_millis() >= from)
        .count() as u64
        + 1;
    assert_eq!(offered, expected, "{series}");
    let last = points.iter().rev().find(|p| p["offered"].as_u64() > Some(0)).unwrap();
    assert!(last["service_level"].as_f64().is_some());
    for bad in ["hours=0", "hours=25", "hours=x", "days=1"] {
        let (s, b) = app.get(&format!("/api/v1/wallboard/trend?{bad}"), Supervisor).await;
        assert_error(s, &b, 400, "bad_request");
    }
    let (s, b) = app.get("/api/v1/wallboard", Agent).await;
    assert_error(s, &b, 403, "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn wallboard_thresholds_are_checked_stored_and_applied() {
    let (app, complaints, _) = spawn_with_queues().await;
    let (s, t) = app.get("/api/v1/wallboard/thresholds", TeamLead).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["metrics"]["service_level"], json!({ "amber": 0.8, "red": 0.7, "direction": "lower_is_worse" }));
    assert_eq!(t["metrics"]["abandon_rate"]["amber"], 0.05);
    assert!(t["updated_at"].is_null());

    let bad = json!({
        "service_level": { "amber": 0.7, "red": 0.8 },
        "abandon_rate": { "amber": 0.2, "red": 1.5 },
        "waiting": { "amber": -1, "red": 3 },
    });
    let (s, b) = app.send(Method::PUT, "/api/v1/wallboard/thresholds", Supervisor, bad).await;
    assert_error(s, &b, 422, "validation_failed");
    assert_eq!(b["error"]["details"].as_array().unwrap().len(), 3, "{b}");
    let (s, b) = app
        .send(Method::PUT, "/api/v1/wallboard/thresholds", Supervisor, json!({ "mood": { "amber": 1, "red": 2 } }))
        .await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = app.send(Method::PUT, "/api/v1/wallboard/thresholds", TeamLead, json!({})).await;
    assert_error(s, &b, 403, "forbidden");
    let (_, unchanged) = app.get("/api/v1/wallboard/thresholds", Supervisor).await;
    assert_eq!(unchanged, t, "nothing half-written");

    // one abandon after 10 s: abandon rate 100 %; with red at 100 % and amber at 50 %
    let now = app.clock.now();
    app.store
        .append_events(&[
            queued(now.plus_millis(-20_000), 9, complaints),
            abandoned(now.plus_millis(-10_000), 9, complaints, 10_000),
        ])
        .await
        .unwrap();
    let (s, t2) = app
        .send(
            Method::PUT,
            "/api/v1/wallboard/thresholds",
            Supervisor,
            json!({ "abandon_rate": { "amber": 0.5, "red": 1.0 } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    assert_eq!(t2["metrics"]["abandon_rate"]["red"], 1.0);
    assert_eq!(t2["metrics"]["service_level"]["red"], 0.7, "the others keep theirs");
    assert_eq!(t2["updated_by"], json!(app.users[&Supervisor].id));
    let (_, w) = app.get("/api/v1/wallboard", Supervisor).await;
    let c = w["queues"].as_array().unwrap().iter().find(|q| q["name"] == "complaints").unwrap().clone();
    assert_eq!(c["alerts"]["abandon_rate"], "red", "{c}");
    let (_, again) = app.get("/api/v1/wallboard/thresholds", TeamLead).await;
    assert_eq!(again, t2);
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(a, d)| a == "wallboard.thresholds" && d["changed"] == json!(["abandon_rate"]))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_handover_log_is_append_only_and_for_leads_and_supervisors() {
    let app = TestApp::spawn().await;
    let (s, n1) = app
        .send(
            Method::POST,
            "/api/v1/handover",
            TeamLead,
            json!({ "shift": "早班", "text": "系统 14:00 故障已恢复\n投诉组缺 2 人", "open_items": ["回访 GD20261122-0001", " 跟进退款 "] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n1}");
    assert_eq!(n1["author_id"], json!(app.users[&TeamLead].id));
    assert_eq!(n1["author_name"], "The team_lead");
    assert_eq!(n1["open_items"], json!(["回访 GD20261122-0001", "跟进退款"]));
    let (s, n2) =
        app.send(Method::POST, "/api/v1/handover", Supervisor, json!({ "shift": "晚班", "text": "平稳" })).await;
    assert_eq!(s, StatusCode::CREATED, "{n2}");
    let (s, b) = app.send(Method::POST, "/api/v1/handover", Agent, json!({ "shift": "x", "text": "y" })).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/handover",
            TeamLead,
            json!({ "shift": " ", "text": "", "open_items": ["x".repeat(501)] }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert_eq!(b["error"]["details"].as_array().unwrap().len(), 3, "{b}");

    let (s, page) = app.get("/api/v1/handover", Supervisor).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let ids: Vec<&Value> = page["items"].as_array().unwrap().iter().map(|n| &n["id"]).collect();
    assert_eq!(ids, [&n2["id"], &n1["id"]], "newest first; nothing half-written");
    let (_, one) = app.get("/api/v1/handover?limit=1", TeamLead).await;
    let cursor = one["next_cursor"].as_str().unwrap().to_owned();
    let (_, next) = app.get(&format!("/api/v1/handover?limit=1&cursor={cursor}"), TeamLead).await;
    assert_eq!(next["items"][0]["id"], n1["id"]);
    let (_, early) = app.get("/api/v1/handover?shift=早班", TeamLead).await;
    assert_eq!(early["items"].as_array().unwrap().len(), 1);
    let (s, b) = app.get("/api/v1/handover?from=10&to=5", TeamLead).await;
    assert_error(s, &b, 400, "bad_request");
    // no route edits or deletes a note
    let (s, _) = app.call(Method::DELETE, "/api/v1/handover", Some(app.token(Admin)), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let e = wait_event(&app.store, EventKind::HandoverWritten, |e| e.data["shift"] == "早班").await;
    assert_eq!(e.data["open_items"], 2);
    app.stop().await;
}

#[tokio::test]
async fn recordings_play_with_ranges_and_one_audit_entry_per_playback() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let agent = app.users[&Agent].id;
    let new = NewRecording {
        id: RecordingId::from_uuid(kefu_store::new_uuid()),
        call_id: kefu_store::new_uuid().to_string(),
        agent_id: Some(agent),
        agent_extension: None,
        caller: CALLER.into(),
        callee: "4000".into(),
        started_at: app.clock.now(),
        duration_ms: 1_000,
        path: path.display().to_string(),
        size_bytes: bytes.len() as i64,
    };
    let rec = app.store.insert_recording(&new, app.clock.now()).await.unwrap();
    let url = format!("{}/api/v1/recordings/{}/audio", app.base, rec.id);
    let get = |role: Role, range: Option<&str>| {
        let mut req = app.client.get(&url).bearer_auth(app.token(role));
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send()
    };

    // the whole file
    let resp = get(Agent, None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    assert_eq!(resp.headers()["content-length"], "20000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // a playback in the browser: bytes=0- first, then seeks
    let resp = get(Supervisor, Some("bytes=0-")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-range"], "bytes 0-19999/20000");
    assert_eq!(resp.bytes().await.unwrap().len(), 20_000);
    let resp = get(Supervisor, Some("bytes=1000-1099")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.headers()["content-range"], "bytes 1000-1099/20000");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[1000..1100]);
    let resp = get(Supervisor, Some("bytes=-100")).await.unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &bytes[19_900..]);
    let resp = get(Supervisor, Some("bytes=20000-")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(resp.headers()["content-range"], "bytes */20000");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "range_not_satisfiable");

    // one entry per playback: the agent's whole-file read and the supervisor's bytes=0-
    let played: Vec<Value> =
        audit_actions(&app).await.into_iter().filter(|(a, _)| a == "recording.played").map(|(_, d)| d).collect();
    assert_eq!(played.len(), 2, "{played:?}");
    assert_eq!(played[0]["call_id"], json!(new.call_id));

    // another agent's recording: refused; a missing file: 404
    let resp = get(TeamLead, None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "team leads hear every call");
    let mut foreign = new.clone();
    foreign.id = RecordingId::from_uuid(kefu_store::new_uuid());
    foreign.agent_id = Some(app.users[&TeamLead].id);
    let foreign = app.store.insert_recording(&foreign, app.clock.now()).await.unwrap();
    let (s, b) = app.get(&format!("/api/v1/recordings/{}/audio", foreign.id), Agent).await;
    assert_error(s, &b, 403, "forbidden");
    std::fs::remove_file(&path).unwrap();
    let (s, b) = app.get(&format!("/api/v1/recordings/{}/audio", rec.id), Agent).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.get("/api/v1/recordings/nope/audio", Agent).await;
    assert_error(s, &b, 400, "bad_request");
    app.stop().await;
}

#[tokio::test]
async fn queues_merge_and_split_again() {
    let (app, complaints, product) = spawn_with_queues().await;
    let merge = format!("/api/v1/queues/{complaints}/merge");
    let (s, b) = app.send(Method::POST, &merge, Agent, json!({ "into": product })).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = app.send(Method::POST, &merge, TeamLead, json!({ "into": complaints })).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = app.send(Method::POST, &merge, TeamLead, json!({ "into": kefu_store::new_uuid() })).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.send(Method::POST, &merge, TeamLead, json!({ "into": product })).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app.send(Method::POST, &merge, Supervisor, json!({ "into": product })).await;
    assert_error(s, &b, 409, "conflict");
    let split = format!("/api/v1/queues/{product}/split");
    let (s, b) = app.send(Method::POST, &split, Supervisor, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app.send(Method::POST, &split, Supervisor, json!({})).await;
    assert_error(s, &b, 409, "conflict");
    let merged = wait_event(&app.store, EventKind::QueuesMerged, |_| true).await;
    let mut queues: Vec<String> = serde_json::from_value(merged.data["queues"].clone()).unwrap();
    queues.sort();
    let mut want = vec![complaints.to_string(), product.to_string()];
    want.sort();
    assert_eq!(queues, want);
    wait_event(&app.store, EventKind::QueuesSplit, |_| true).await;
    let actions: Vec<String> = audit_actions(&app).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions.iter().filter(|a| a.starts_with("queue.")).collect::<Vec<_>>(), ["queue.merge", "queue.split"]);
    app.stop().await;
}
