//! A customer's timeline on the demo tenant: a call from one of the customer's numbers (the
//! caller id is matched whatever its written form), a work order and a note appear newest
//! first, the call with its recording; nobody else's timeline shows them.

use crate::{TestApp, assert_error, settings};
use kefu_core::Role::{Agent, Supervisor};
use kefu_sip::testing::{TestUa, Transport};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);
static RTP: AtomicU16 = AtomicU16::new(47000);
const DEMO_PW: &str = crate::PASSWORD;

#[tokio::test]
async fn a_call_a_work_order_and_a_note_land_on_the_callers_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let base = RTP.fetch_add(200, Ordering::Relaxed);
    let mut s = settings();
    s.sip = Some("127.0.0.1:0".parse().unwrap());
    s.rtp_port_min = base;
    s.rtp_port_max = base + 198;
    s.data_dir = dir.path().to_owned();
    s.recordings_dir = Some(dir.path().join("rec"));
    let app = TestApp::spawn_seeded(s, |store, _| async move {
        let clock = kefu_server::clock::Clock::default();
        kefu_server::demo::seed(&store, &clock, DEMO_PW, "kefu").await.unwrap();
    })
    .await;
    let sip_addr = app.sip_addr.unwrap();

    // the demo's 张晓明 has 13800138000 (and a landline); 李秀英 is someone else
    let (_, found) = app.get("/api/v1/customers?phone=%2B86%20138-0013-8000", Agent).await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{found}");
    let zhang = found["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, other) = app.get("/api/v1/customers?phone=13912345678", Agent).await;
    let li = other["items"][0]["id"].as_str().unwrap().to_owned();

    // the demo trunk sends every number but the hotline to extension 1001
    let phone = TestUa::start("1001", Some(DEMO_PW), sip_addr, Transport::Udp).await.unwrap();
    assert_eq!(phone.register(600).await.unwrap(), 200);
    let caller = TestUa::start("+8613800138000", None, sip_addr, Transport::Udp).await.unwrap();
    let (call, agent_call) =
        tokio::join!(caller.call("5555"), async { phone.incoming(T).await.unwrap().answer().await.unwrap() });
    let call = call.unwrap();
    call.start_tone(440.0);
    agent_call.wait_for_tone(440.0, T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    call.hangup().await.unwrap();
    agent_call.wait_bye(T).await.unwrap();

    // a work order in a demo leaf, then a note
    let (_, tree) = app.get("/api/v1/categories", Agent).await;
    let leaf = find_leaf(&tree, "鲜花不新鲜").expect("demo leaf 鲜花不新鲜");
    let (st, order) = app
        .send(
            Method::POST,
            "/api/v1/tickets",
            Supervisor,
            json!({
                "category_id": leaf, "channel": "phone", "summary": "玫瑰到货花瓣发蔫", "customer_id": zhang
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{order}");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (st, note) = app
        .send(Method::POST, &format!("/api/v1/customers/{zhang}/notes"), Agent, json!({ "body": "已致电安抚" }))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{note}");

    // the call reaches the timeline once its events and recording are written
    let mut timeline = json!(null);
    for _ in 0..50 {
        let (st, body) = app.get(&format!("/api/v1/customers/{zhang}/timeline"), Agent).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        timeline = body;
        let call = timeline["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "call").cloned();
        if call.is_some_and(|c| !c["detail"]["recording_id"].is_null()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entries = timeline["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    // the demo's seeded note comes first in time, so it is last
    assert_eq!(kinds, ["note", "work_order", "call", "note", "note"], "{timeline:#}");
    assert_eq!(entries[0]["title"], "已致电安抚");
    assert_eq!(entries[1]["detail"]["number"], order["number"]);
    assert_eq!(entries[1]["detail"]["category"], "投诉/产品质量/鲜花不新鲜");
    assert_eq!(entries[1]["detail"]["status"], "new");
    assert!(entries[2]["detail"]["recording_id"].is_string(), "{:#}", entries[2]);
    assert!(entries[2]["detail"]["duration_ms"].as_i64().unwrap() > 0);
    let times: Vec<i64> = entries.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // someone else's timeline has none of it; bad input is refused
    let (_, theirs) = app.get(&format!("/api/v1/customers/{li}/timeline"), Agent).await;
    assert_eq!(theirs["entries"], json!([]), "{theirs}");
    let (st, body) = app.get(&format!("/api/v1/customers/{zhang}/timeline?limit=0"), Agent).await;
    assert_error(st, &body, 400, "bad_request");
    let unknown = uuid::Uuid::now_v7();
    let (st, body) = app.get(&format!("/api/v1/customers/{unknown}/timeline"), Agent).await;
    assert_error(st, &body, 404, "not_found");
    let (_, limited) = app.get(&format!("/api/v1/customers/{zhang}/timeline?limit=2"), Agent).await;
    assert_eq!(limited["entries"].as_array().map(Vec::len), Some(2));
}

/// The id of the first leaf named `name` in the categories tree answer.
fn find_leaf(tree: &Value, name: &str) -> Option<String> {
    let nodes = tree.as_array().or_else(|| tree["items"].as_array()).or_else(|| tree["categories"].as_array())?;
    for n in nodes {
        if n["name"] == name {
            return n["id"].as_str().map(str::to_owned);
        }
        if let Some(id) = find_leaf(&n["children"], name) {
            return Some(id);
        }
    }
    None
}
