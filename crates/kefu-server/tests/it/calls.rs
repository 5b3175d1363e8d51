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

#[tokio::test]
async fn a_trunk_call_is_answered_controlled_recorded_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    s.recordings_dir = Some(dir.path().join("rec"));
    let app = TestApp::spawn_with(s).await;
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
