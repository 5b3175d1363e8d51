//! Telephony through the HTTP API: a phone registers with the credentials the users API
//! made, a trunk added by the admin API delivers a call, the agent and supervisor see it and
//! control it, and the recording and the event log hold the story.

use crate::{TestApp, assert_error, settings};
use kefu_core::Role::{Admin, Agent, Supervisor};
use kefu_sip::testing::{TestUa, Transport};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
static RTP: AtomicU16 = AtomicU16::new(41000);

/// kefu with SIP on a free port, its own RTP port range and data folder (and recordings when
/// `record`); keep the folder alive as long as the app.
async fn telephony_app(record: bool) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    if record {
        s.recordings_dir = Some(dir.path().join("rec"));
    }
    (TestApp::spawn_with(s).await, dir)
}

#[tokio::test]
async fn a_trunk_call_is_answered_controlled_recorded_and_logged() {
    let (app, _dir) = telephony_app(true).await;
    let sip_addr = app.sip_addr.unwrap();

    // Telephony routes answer 503 only when SIP is off; here they work.
    let (st, regs) = app.get("/api/v1/registrations", Supervisor).await;
    assert_eq!(st, StatusCode::OK, "{regs}");
    assert_eq!(regs, json!([]));

    // The admin makes an agent with extension 2001 and a trunk for 127.0.0.1.
    let (st, body) = app
        .send(Method::POST, "/api/v1/users", Admin, json!({
            "username": "li.na", "display_name": "李娜", "role": "agent", "password": "phone-pass-1", "extension": "2001"
        }))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, body) = app
        .send(
            Method::POST,
            "/api/v1/trunks",
            Admin,
            json!({
                "name": "local", "host": "127.0.0.1", "port": 5080, "transport": "udp",
                "allow_from": ["127.0.0.1"], "inbound_routes": {"*": "2001"}, "caller_id": "4000"
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");

    let phone = TestUa::start("2001", Some("phone-pass-1"), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(phone.register(600).await.unwrap(), 200, "the users API stored digest credentials");
    let wrong = TestUa::start("2001", Some("not-it"), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(wrong.register(600).await.unwrap(), 403);
    let (_, regs) = app.get("/api/v1/registrations", Supervisor).await;
    assert_eq!(regs.as_array().unwrap().len(), 1, "{regs}");
    assert_eq!(regs[0]["extension"], "2001");
    let (st, body) = app.get("/api/v1/registrations", Agent).await;
    assert_error(st, &body, 403, "forbidden");

    // A customer calls in through the trunk (the trunk was added after start: it was reloaded).
    let customer = TestUa::start("13800138000", None, sip_addr, Transport::Udp).await.unwrap();
    let (call, agent_call) =
        tokio::join!(customer.call("4000"), async { phone.incoming(T).await.unwrap().answer().await.unwrap() });
    let call = call.unwrap();
    call.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    call.wait_for_tone(1000.0, T).await.unwrap();

    // The supervisor sees the call; the generic agent (no extension) sees none of it.
    let (_, calls) = app.get("/api/v1/calls", Supervisor).await;
    assert_eq!(calls.as_array().unwrap().len(), 1, "{calls}");
    assert_eq!(calls[0]["agent"], "2001");
    assert_eq!(calls[0]["customer"], "13800138000");
    assert_eq!(calls[0]["state"], "talking");
    let id = calls[0]["id"].as_str().unwrap().to_owned();
    let (_, mine) = app.get("/api/v1/calls", Agent).await;
    assert_eq!(mine, json!([]), "another agent's call is not listed");
    let (st, body) = app.send(Method::POST, &format!("/api/v1/calls/{id}/hold"), Agent, json!({})).await;
    assert_error(st, &body, 404, "not_found");

    // The agent who owns the call holds and resumes it.
    let token = app.login("li.na", "phone-pass-1").await;
    let (st, body) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hold"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (st, body) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hold"), Some(&token), None).await;
    assert_error(st, &body, 409, "conflict");
    let (st, _) = app.call(Method::POST, &format!("/api/v1/calls/{id}/unhold"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // the agent's own view of the call shows the caller's number masked, in every field (SEC-3)
    for path in [format!("/api/v1/calls/{id}"), "/api/v1/calls".to_owned()] {
        let (st, body) = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let text = body.to_string();
        assert!(text.contains("138****8000") && !text.contains("13800138000"), "{path}: {text}");
    }
    let (st, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/calls/{id}/transfer"),
            Some(&token),
            Some(json!({"target": "", "mode": "blind"})),
        )
        .await;
    assert_error(st, &body, 422, "validation_failed");
    let (st, body) = app.get("/api/v1/calls/not-a-call", Supervisor).await;
    assert_error(st, &body, 404, "not_found");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (st, _) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hangup"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    call.wait_bye(T).await.unwrap();
    agent_call.wait_bye(T).await.unwrap();

    // The recording is indexed (the agent sees their own) and the event log tells the story.
    let mut recordings = json!([]);
    for _ in 0..50 {
        let (_, page) = app.call(Method::GET, "/api/v1/recordings", Some(&token), None).await;
        recordings = page["items"].clone();
        if recordings.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recordings.as_array().unwrap().len(), 1, "{recordings}");
    assert_eq!(recordings[0]["call_id"], id.as_str());
    assert_eq!(recordings[0]["caller"], "13800138000");
    assert_eq!(recordings[0]["agent_extension"], "2001");
    let path = recordings[0]["path"].as_str().unwrap();
    assert!(std::fs::metadata(path).unwrap().len() > 44);

    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..50 {
        let (_, log) = app.get("/api/v1/events/log?limit=100", Supervisor).await;
        kinds = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["interaction"] == id.as_str())
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        if kinds.iter().any(|k| k == "call.ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for wanted in [
        "leg.created",
        "leg.answered",
        "call.bridged",
        "call.held",
        "call.resumed",
        "leg.ended",
        "recording.saved",
        "call.ended",
    ] {
        assert!(kinds.iter().any(|k| k == wanted), "{wanted} missing from {kinds:?}");
    }

    // /metrics shows what the SIP server holds: the call is gone, the phone still registered,
    // and the tones went through the media engine. (The call task leaves the list just after
    // it logs call.ended.)
    for _ in 0..50 {
        if app.get("/api/v1/calls", Supervisor).await.1 == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} missing from {text}"))
    };
    assert_eq!(value("kefu_sip_objects{what=\"calls\"}"), 0.0);
    assert_eq!(value("kefu_sip_objects{what=\"media_sessions\"}"), 0.0);
    assert_eq!(value("kefu_sip_objects{what=\"registrations\"}"), 1.0);
    assert!(value("kefu_rtp_packets_total{what=\"received\"}") > 50.0, "{text}");
    assert!(value("kefu_rtp_packets_total{what=\"sent\"}") > 50.0, "{text}");
    app.stop().await;
}

/// Click-to-dial by customer (issue 7): an agent without `pii_read` calls a customer's second
/// number by its index; the clear number goes out on the trunk while the agent only ever sees
/// it masked; the bad requests are refused with the right status.
#[tokio::test]
async fn an_agent_dials_a_customer_by_id_without_seeing_the_number() {
    let (app, _dir) = telephony_app(false).await;
    let sip_addr = app.sip_addr.unwrap();

    // the carrier: a test UA the trunk sends outbound calls to
    let carrier = TestUa::start("carrier", None, "127.0.0.1:9".parse().unwrap(), Transport::Udp).await.unwrap();
    let (st, body) = app
        .send(Method::POST, "/api/v1/users", Admin, json!({
            "username": "li.na", "display_name": "李娜", "role": "agent", "password": "phone-pass-1", "extension": "2001"
        }))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, body) = app
        .send(
            Method::POST,
            "/api/v1/trunks",
            Admin,
            json!({ "name": "carrier", "host": "127.0.0.1", "port": carrier.contact().port(), "transport": "udp", "caller_id": "4000" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    // a demo customer with two numbers, and one erased on request
    let (st, zhang) = app
        .send(Method::POST, "/api/v1/customers", Agent, json!({
            "name": "张伟", "tier": "vip", "phones": ["13800138000", {"number": "+86 139 0013 9000", "label": "home"}]
        }))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{zhang}");
    assert_eq!(zhang["phones"][1]["number"], "139****9000", "the agent sees the numbers masked");
    let zhang = zhang["id"].as_str().unwrap().to_owned();
    let (_, gone) =
        app.send(Method::POST, "/api/v1/customers", Agent, json!({ "name": "王芳", "phones": ["13700137000"] })).await;
    let gone = gone["id"].as_str().unwrap().to_owned();
    let (st, body) = app.send(Method::POST, &format!("/api/v1/customers/{gone}/erase"), Admin, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    let phone = TestUa::start("2001", Some("phone-pass-1"), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(phone.register(600).await.unwrap(), 200);
    let token = app.login("li.na", "phone-pass-1").await;
    let (st, body) =
        app.call(Method::PUT, "/api/v1/agents/me/state", Some(&token), Some(json!({"state": "ready"}))).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let dial = |body: serde_json::Value| {
        let token = token.clone();
        let app = &app;
        async move { app.call(Method::POST, "/api/v1/calls", Some(&token), Some(body)).await }
    };

    // refused: both or neither of number and customer_id, an unknown customer, a phone past
    // the customer's numbers, `phone` without a customer, an erased customer, a role without
    // the right
    let (st, body) = dial(json!({ "number": "13800138000", "customer_id": zhang })).await;
    assert_error(st, &body, 422, "validation_failed");
    let (st, body) = dial(json!({})).await;
    assert_error(st, &body, 422, "validation_failed");
    let (st, body) = dial(json!({ "number": "13800138000", "phone": 1 })).await;
    assert_error(st, &body, 422, "validation_failed");
    let unknown = kefu_store::new_uuid().to_string();
    let (st, body) = dial(json!({ "customer_id": unknown })).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = dial(json!({ "customer_id": zhang, "phone": 2 })).await;
    assert_error(st, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("0–1"), "{body}");
    let (st, body) = dial(json!({ "customer_id": gone })).await;
    assert_error(st, &body, 409, "conflict");
    let (st, body) =
        app.send(Method::POST, "/api/v1/calls", kefu_core::Role::Qa, json!({ "customer_id": zhang })).await;
    assert_error(st, &body, 403, "forbidden");
    assert!(app.get("/api/v1/calls", Supervisor).await.1 == json!([]), "no call was placed by a refused request");

    // the agent dials the customer's second number by index: their phone rings first, then
    // the clear number goes out on the trunk
    let (st, body) = dial(json!({ "customer_id": zhang, "phone": 1 })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["id"], "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let agent_call = phone.incoming(T).await.unwrap().answer().await.unwrap();
    let incoming = carrier.incoming(T).await.unwrap();
    assert!(incoming.request_uri().starts_with("sip:13900139000@"), "{}", incoming.request_uri());
    assert_eq!(incoming.from_user(), "4000", "the trunk's caller id is presented");
    let customer = incoming.answer().await.unwrap();
    customer.start_tone(440.0);
    agent_call.start_tone(1000.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    customer.wait_for_tone(1000.0, T).await.unwrap();
    // the ACD did not route this call, but the agent is on it: busy, so no queue call is offered
    wait_acd_state(&app, "2001", |s| s == "talking").await;

    // the agent's views of the call show the number masked in every field; a supervisor's
    // shows it in clear (the call really is to the customer's second number)
    for path in [format!("/api/v1/calls/{id}"), "/api/v1/calls".to_owned()] {
        let (st, body) = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let text = body.to_string();
        assert!(text.contains("139****9000") && !text.contains("13900139000"), "{path}: {text}");
    }
    let (_, seen) = app.get(&format!("/api/v1/calls/{id}"), Supervisor).await;
    assert_eq!(seen["customer"], "13900139000", "{seen}");
    assert_eq!(seen["agent"], "2001", "{seen}");
    // audited: who dialled which customer and which phone, never the number
    let (_, audit) = app.get("/api/v1/audit?limit=100", Admin).await;
    let entry = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "customer.dial").cloned();
    let entry = entry.unwrap_or_else(|| panic!("no customer.dial audit entry: {audit}"));
    assert_eq!(entry["target"], zhang.as_str());
    assert_eq!((entry["detail"]["call"].as_str(), entry["detail"]["phone"].as_u64()), (Some(id.as_str()), Some(1)));
    assert!(!entry.to_string().contains("9000"), "{entry}");

    let (st, _) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hangup"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    agent_call.wait_bye(T).await.unwrap();
    customer.wait_bye(T).await.unwrap();
    // and after the call, after-call work as after any call
    wait_acd_state(&app, "2001", |s| s == "after_call_work").await;
    app.stop().await;
}

/// Waits until the ACD (as a supervisor's API shows it) has the agent with this extension in
/// a state `want` accepts.
async fn wait_acd_state(app: &TestApp, extension: &str, want: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let (_, acd) = app.get("/api/v1/acd", Supervisor).await;
        let agents = acd["agents"].as_array().cloned().unwrap_or_default();
        let state = agents.iter().find(|a| a["extension"] == extension).map(|a| a["state"].to_string());
        let state = state.unwrap_or_default().trim_matches('"').to_owned();
        if want(&state) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "agent {extension} is `{state}` in the ACD: {acd}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Colleagues' states for the transfer dialog: any role that controls calls sees who is
/// signed in to the ACD, ready first, with name, extension and state, and nothing personal.
#[tokio::test]
async fn agents_see_their_colleagues_states_and_nothing_personal() {
    let app = TestApp::spawn().await;
    let lead = app.users[&kefu_core::Role::TeamLead].id;
    let (st, body) =
        app.send(Method::PATCH, &format!("/api/v1/users/{lead}"), Admin, json!({ "extension": "3002" })).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    for (role, want) in [
        (Agent, json!({ "state": "ready" })),
        (kefu_core::Role::TeamLead, json!({ "state": "not_ready", "reason": "break" })),
        (Supervisor, json!({ "state": "ready" })),
    ] {
        let (st, body) = app.send(Method::PUT, "/api/v1/agents/me/state", role, want).await;
        assert_eq!(st, StatusCode::OK, "{role}: {body}");
    }
    // the admin signs in and out again: not listed
    let (st, _) = app.send(Method::PUT, "/api/v1/agents/me/state", Admin, json!({ "state": "ready" })).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = app.send(Method::PUT, "/api/v1/agents/me/state", Admin, json!({ "state": "logged_out" })).await;
    assert_eq!(st, StatusCode::OK);

    let (st, body) = app.get("/api/v1/agents/colleagues", Agent).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let rows = body.as_array().unwrap();
    let summary: Vec<(&str, &str, Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (r["name"].as_str().unwrap(), r["state"].as_str().unwrap(), r["reason"].as_str(), r["extension"].as_str())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("The agent", "ready", None, None),
            ("The supervisor", "ready", None, None),
            ("The team_lead", "not_ready", Some("break"), Some("3002")),
        ],
        "{body}"
    );
    assert_eq!(rows[0]["id"], app.users[&Agent].id.to_string());
    for r in rows {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["extension", "id", "name", "reason", "since", "state"], "{r}");
        assert!(r["since"].as_i64().is_some_and(|t| t > 0), "{r}");
    }
    let (st, body) = app.call(Method::GET, "/api/v1/agents/colleagues", None, None).await;
    assert_error(st, &body, 401, "unauthenticated");
    let (st, body) = app.get("/api/v1/agents/colleagues", kefu_core::Role::Qa).await;
    assert_error(st, &body, 403, "forbidden");
    app.stop().await;
}

/// Three-way calls: an agent consults a colleague, then joins the customer in; the call's
/// state says `conference`, everyone hears everyone, and the event log has `call.conferenced`.
#[tokio::test]
async fn an_agent_turns_a_consultation_into_a_conference() {
    let (app, _dir) = telephony_app(false).await;
    let sip_addr = app.sip_addr.unwrap();
    for (username, name, ext) in [("li.na", "李娜", "2001"), ("wang.fang", "王芳", "2002")] {
        let (st, body) = app
            .send(Method::POST, "/api/v1/users", Admin, json!({
                "username": username, "display_name": name, "role": "agent", "password": "phone-pass-1", "extension": ext
            }))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }
    let (st, body) = app
        .send(
            Method::POST,
            "/api/v1/trunks",
            Admin,
            json!({ "name": "local", "host": "127.0.0.1", "port": 5080, "transport": "udp",
                    "allow_from": ["127.0.0.1"], "inbound_routes": {"*": "2001"} }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let first = TestUa::start("2001", Some("phone-pass-1"), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(first.register(600).await.unwrap(), 200);
    let second = TestUa::start("2002", Some("phone-pass-1"), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(second.register(600).await.unwrap(), 200);

    let customer = TestUa::start("13800138000", None, sip_addr, Transport::Udp).await.unwrap();
    let (call, first_call) =
        tokio::join!(customer.call("4000"), async { first.incoming(T).await.unwrap().answer().await.unwrap() });
    let call = call.unwrap();
    call.start_tone(440.0);
    first_call.start_tone(1000.0);
    call.wait_for_tone(1000.0, T).await.unwrap();
    let (_, calls) = app.get("/api/v1/calls", Supervisor).await;
    let id = calls[0]["id"].as_str().unwrap().to_owned();
    let token = app.login("li.na", "phone-pass-1").await;
    let conference = |id: &str| format!("/api/v1/calls/{id}/conference");

    // Nothing to join yet: 409; no such call: 404; another agent's call: 404.
    let (st, body) = app.call(Method::POST, &conference(&id), Some(&token), None).await;
    assert_error(st, &body, 409, "conflict");
    let (st, body) = app.call(Method::POST, &conference("not-a-call"), Some(&token), None).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = app.send(Method::POST, &conference(&id), Agent, json!({})).await;
    assert_error(st, &body, 404, "not_found");

    // The agent consults 2002, who answers; then the three talk together.
    let (st, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/calls/{id}/transfer"),
            Some(&token),
            Some(json!({"target": "2002", "mode": "attended"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let second_call = second.incoming(T).await.unwrap().answer().await.unwrap();
    second_call.start_tone(1500.0);
    first_call.wait_for_tone(1500.0, T).await.unwrap();
    let (_, view) = app.call(Method::GET, &format!("/api/v1/calls/{id}"), Some(&token), None).await;
    assert_eq!(view["state"], "consulting", "{view}");
    let (st, body) = app.call(Method::POST, &conference(&id), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (_, view) = app.call(Method::GET, &format!("/api/v1/calls/{id}"), Some(&token), None).await;
    assert_eq!(view["state"], "conference", "{view}");
    call.wait_for_tone(1500.0, T).await.expect("the customer hears the colleague");
    second_call.wait_for_tone(440.0, T).await.expect("the colleague hears the customer");
    let (st, body) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hold"), Some(&token), None).await;
    assert_error(st, &body, 409, "conflict");
    assert!(body.to_string().contains("conference"), "{body}");
    let (st, body) = app.call(Method::POST, &conference(&id), Some(&token), None).await;
    assert_error(st, &body, 409, "conflict");

    let (st, _) = app.call(Method::POST, &format!("/api/v1/calls/{id}/hangup"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for leg in [&call, &first_call, &second_call] {
        leg.wait_bye(T).await.unwrap();
    }
    // The store took the new kind (SQLite and PostgreSQL alike), with the consulted party.
    let mut conferenced = None;
    for _ in 0..50 {
        let (_, log) = app.get("/api/v1/events/log?limit=100", Supervisor).await;
        let items = log["items"].as_array().unwrap();
        let ours = |e: &&serde_json::Value| e["interaction"] == id.as_str();
        if items.iter().filter(ours).any(|e| e["kind"] == "call.ended") {
            conferenced = items.iter().filter(ours).find(|e| e["kind"] == "call.conferenced").cloned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let conferenced = conferenced.expect("call.conferenced in the event log");
    assert_eq!(conferenced["data"]["with"], "2002", "{conferenced}");
    let (st, body) = app.get("/api/v1/events/log?kind=call.conferenced", Supervisor).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
    app.stop().await;
}
