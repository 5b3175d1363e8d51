//! IVR flows over the API: saved as YAML or JSON only when valid, read back as JSON or YAML
//! (export → import round-trips), versions, numbers that start one flow each, and who may
//! do what.

use crate::{TestApp, assert_error};
use kefu_core::Role::{Admin, Agent, Supervisor};
use kefu_server::demo::DEMO_FLOW_YAML;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const URL: &str = "/api/v1/ivr/flows/hotline";

/// The demo hotline as an import document: the flow with its numbers.
fn hotline_yaml() -> String {
    format!("{DEMO_FLOW_YAML}numbers: ['4000']\n")
}

async fn put_yaml(app: &TestApp, path: &str, yaml: &str) -> (StatusCode, Value) {
    app.raw(Method::PUT, path, Admin, Some("application/yaml"), yaml.as_bytes().to_vec()).await
}

/// GET with an `Accept` header: status, content type and body text.
async fn get_text(app: &TestApp, path: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut req = app.client.get(format!("{}{path}", app.base)).bearer_auth(app.token(Supervisor));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn flows_are_saved_as_yaml_or_json_and_read_back_as_either() {
    let app = TestApp::spawn().await;
    let (s, row) = put_yaml(&app, URL, &hotline_yaml()).await;
    assert_eq!(s, StatusCode::CREATED, "{row}");
    assert_eq!(
        (row["name"].as_str(), row["language"].as_str(), row["version"].as_i64()),
        (Some("hotline"), Some("zh-CN"), Some(1))
    );
    assert_eq!(row["numbers"], json!(["4000"]));
    assert_eq!(row["flow"]["start"], "welcome");
    assert_eq!(row["flow"]["survey"], "post_survey");
    assert_eq!(row["flow"]["nodes"]["menu"]["options"]["2"], "product");
    assert_eq!(row["created_at"], row["updated_at"]);

    // JSON: the same row, for every role that reads configuration
    for role in [Agent, Supervisor, Admin] {
        let (s, got) = app.get(URL, role).await;
        assert_eq!((s, &got), (StatusCode::OK, &row), "{role}");
    }
    // YAML by Accept or ?format=yaml: the document that was imported, with its numbers
    let (s, ct, yaml) = get_text(&app, URL, Some("application/yaml")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/yaml; charset=utf-8"), "{yaml}");
    assert!(yaml.contains("numbers:\n- '4000'\n"), "{yaml}");
    let (_, _, by_query) = get_text(&app, &format!("{URL}?format=yaml"), None).await;
    assert_eq!(by_query, yaml);
    let (_, ct, _) = get_text(&app, &format!("{URL}?format=json"), Some("application/yaml")).await;
    assert!(ct.starts_with("application/json"), "the query wins: {ct}");
    let (s, ct, _) = get_text(&app, URL, Some("application/json, */*")).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"));
    let (s, body) = app.get(&format!("{URL}?format=xml"), Admin).await;
    assert_error(s, &body, 400, "bad_request");

    // export → import: the same flow and numbers, one version more, and the same export
    let (s, again) = put_yaml(&app, URL, &yaml).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!((again["id"].clone(), again["version"].as_i64()), (row["id"].clone(), Some(2)));
    assert_eq!((&again["flow"], &again["numbers"]), (&row["flow"], &row["numbers"]));
    assert_eq!(again["created_at"], row["created_at"]);
    let (_, _, yaml2) = get_text(&app, URL, Some("text/yaml")).await;
    assert_eq!(yaml2, yaml);

    // JSON body: {flow, numbers}
    let (s, v3) = app.send(Method::PUT, URL, Admin, json!({ "flow": row["flow"], "numbers": ["4000", "4001"] })).await;
    assert_eq!(s, StatusCode::OK, "{v3}");
    assert_eq!((v3["version"].as_i64(), &v3["numbers"]), (Some(3), &json!(["4000", "4001"])));
    assert_eq!(v3["flow"], row["flow"]);

    // the list: summaries
    let (s, list) = app.get("/api/v1/ivr/flows", Agent).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let nodes = row["flow"]["nodes"].as_object().unwrap().len();
    assert_eq!(
        list["items"],
        json!([{ "id": row["id"], "name": "hotline", "language": "zh-CN", "numbers": ["4000", "4001"],
                 "nodes": nodes, "version": 3, "updated_at": v3["updated_at"] }])
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_flows_are_refused_and_say_why() {
    let app = TestApp::spawn().await;
    let (s, row) = put_yaml(&app, URL, &hotline_yaml()).await;
    assert_eq!(s, StatusCode::CREATED, "{row}");

    // a menu option to a node that does not exist: 422 naming the node, nothing saved
    let mut flow = row["flow"].clone();
    flow["nodes"]["menu"]["options"]["1"] = json!("nowhere");
    let (s, body) = app.send(Method::PUT, URL, Admin, json!({ "flow": flow })).await;
    assert_error(s, &body, 422, "validation_failed");
    let details = body["error"]["details"].as_array().unwrap();
    assert!(details.iter().any(|d| d == "node `menu`: options names `nowhere`, which does not exist"), "{body}");
    // … and so the `complaints` queue node can no longer be reached: every problem is listed
    assert!(details.iter().any(|d| d == "node `complaints` cannot be reached from the start"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("2 problems"), "{body}");
    // one problem: the message says it too
    let mut flow = row["flow"].clone();
    flow["nodes"]["welcome"]["prompts"] = json!([]);
    let (s, body) = app.send(Method::PUT, URL, Admin, json!({ "flow": flow })).await;
    assert_error(s, &body, 422, "validation_failed");
    assert_eq!(body["error"]["message"], "flow `hotline` cannot be saved: node `welcome`: play has no prompts");
    assert_eq!(body["error"]["details"], json!(["node `welcome`: play has no prompts"]));
    let (_, now) = app.get(URL, Admin).await;
    assert_eq!(now, row, "nothing changed");

    // the name in the path must be the flow's
    let (s, body) = put_yaml(&app, "/api/v1/ivr/flows/other", &hotline_yaml()).await;
    assert_error(s, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("`other`"), "{body}");

    // bad numbers
    let (s, body) =
        app.send(Method::PUT, URL, Admin, json!({ "flow": row["flow"], "numbers": ["4000", "4000"] })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = app.send(Method::PUT, URL, Admin, json!({ "flow": row["flow"], "numbers": ["40 00"] })).await;
    assert_error(s, &body, 422, "validation_failed");

    // unreadable bodies: the parser's words, 400 for bad syntax and 422 for a wrong shape
    let (s, body) = put_yaml(&app, URL, "name: hotline\nstart: [\n").await;
    assert_error(s, &body, 400, "bad_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("not valid YAML"), "{body}");
    let (s, body) = put_yaml(&app, URL, &hotline_yaml().replace("  welcome:\n", "  welcome:\n    colour: red\n")).await;
    assert_error(s, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("unknown field `colour`"), "{body}");
    let (s, body) = app.raw(Method::PUT, URL, Admin, Some("application/json"), b"{\"flow\": {".to_vec()).await;
    assert_error(s, &body, 400, "bad_request");
    let (s, body) = app.send(Method::PUT, URL, Admin, json!({ "flow": row["flow"], "colour": "red" })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = app.raw(Method::PUT, URL, Admin, None, hotline_yaml().into_bytes()).await;
    assert_error(s, &body, 415, "unsupported_media_type");
    let (s, body) = app.raw(Method::PUT, URL, Admin, Some("text/plain"), hotline_yaml().into_bytes()).await;
    assert_error(s, &body, 415, "unsupported_media_type");
    let huge = format!("{}# {}\n", hotline_yaml(), "x".repeat(70 * 1024));
    let (s, body) = put_yaml(&app, URL, &huge).await;
    assert_error(s, &body, 413, "payload_too_large");

    let (_, now) = app.get(URL, Admin).await;
    assert_eq!(now["version"], 1, "no attempt saved anything");
    app.stop().await;
}

#[tokio::test]
async fn permissions_unknown_flows_numbers_and_delete() {
    let app = TestApp::spawn().await;
    // agents read flows but do not change them
    let (s, body) = app.raw(Method::PUT, URL, Agent, Some("application/yaml"), hotline_yaml().into_bytes()).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = app.raw(Method::PUT, URL, Supervisor, Some("application/yaml"), hotline_yaml().into_bytes()).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = app.get(URL, Agent).await;
    assert_error(s, &body, 404, "not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("`hotline`"), "{body}");
    let (s, body) = app.call(Method::DELETE, URL, Some(app.token(Admin)), None).await;
    assert_error(s, &body, 404, "not_found");

    let (s, row) = put_yaml(&app, URL, &hotline_yaml()).await;
    assert_eq!(s, StatusCode::CREATED, "{row}");
    let (s, body) = app.call(Method::DELETE, URL, Some(app.token(Agent)), None).await;
    assert_error(s, &body, 403, "forbidden");

    // 4000 starts the hotline: another flow may not take it
    let other = json!({ "name": "other", "start": "q", "nodes": { "q": { "type": "queue", "queue": "product" } } });
    let (s, body) = app
        .send(Method::PUT, "/api/v1/ivr/flows/other", Admin, json!({ "flow": other, "numbers": ["4001", "4000"] }))
        .await;
    assert_error(s, &body, 409, "conflict");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("`4000`") && msg.contains("`hotline`"), "{body}");
    let (s, _) = app.get("/api/v1/ivr/flows/other", Admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not created");
    let (s, created) =
        app.send(Method::PUT, "/api/v1/ivr/flows/other", Admin, json!({ "flow": other, "numbers": ["4001"] })).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(app.store.flow_for_number("4000").await.unwrap().unwrap().name, "hotline");
    assert_eq!(app.store.flow_for_number("4001").await.unwrap().unwrap().name, "other");

    // delete: gone, and its number is free
    let (s, body) = app.call(Method::DELETE, URL, Some(app.token(Admin)), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, _) = app.get(URL, Admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(app.store.flow_for_number("4000").await.unwrap().is_none());
    let (s, _) =
        app.send(Method::PUT, "/api/v1/ivr/flows/other", Admin, json!({ "flow": other, "numbers": ["4000"] })).await;
    assert_eq!(s, StatusCode::OK);

    // every change is audited with the actor
    let (_, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("ivr_flow."))
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("ivr_flow.create", "hotline"),
            ("ivr_flow.create", "other"),
            ("ivr_flow.delete", "hotline"),
            ("ivr_flow.update", "other")
        ]
    );
    app.stop().await;
}

/// A mono 8 kHz 16-bit PCM WAV of `ms` of a 440 Hz tone.
fn wav(ms: u32) -> Vec<u8> {
    let n = ms * 8;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + n * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(n * 2).to_le_bytes());
    for i in 0..n {
        let v = (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin()) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[tokio::test]
async fn an_administrator_replaces_a_prompt_with_a_recording_and_can_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::settings();
    s.data_dir = dir.path().to_owned();
    let app = TestApp::spawn_with(s).await;
    let find = |list: &Value, name: &str| {
        list.as_array().unwrap().iter().find(|p| p["language"] == "zh-CN" && p["name"] == name).cloned()
    };
    let (st, list) = app.get("/api/v1/ivr/prompts", Agent).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let builtin = find(&list, "welcome").unwrap();
    assert_eq!(builtin["custom"], false);
    assert!(builtin["duration_ms"].as_u64().unwrap() > 1000, "{builtin}");

    let url = "/api/v1/ivr/prompts/zh-CN/welcome";
    let (st, body) = app.raw(Method::PUT, url, Agent, Some("audio/wav"), wav(500)).await;
    assert_error(st, &body, 403, "forbidden");
    let (st, body) = app.raw(Method::PUT, url, Admin, Some("audio/wav"), b"RIFF....not a wav".to_vec()).await;
    assert_error(st, &body, 422, "validation_failed");
    let (st, body) = app.raw(Method::PUT, "/api/v1/ivr/prompts/fr/welcome", Admin, None, wav(500)).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = app.raw(Method::PUT, "/api/v1/ivr/prompts/en/Bad-Name", Admin, None, wav(500)).await;
    assert_error(st, &body, 422, "validation_failed");

    let (st, body) = app.raw(Method::PUT, url, Admin, Some("audio/wav"), wav(500)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!((body["custom"].as_bool(), body["duration_ms"].as_u64()), (Some(true), Some(500)));
    assert!(dir.path().join("prompts/zh-CN/welcome.wav").is_file());
    let (_, list) = app.get("/api/v1/ivr/prompts", Agent).await;
    assert_eq!(find(&list, "welcome").unwrap()["duration_ms"], 500, "the library reloaded");
    // a new name becomes a prompt flows can use
    let (st, body) = app.raw(Method::PUT, "/api/v1/ivr/prompts/zh-CN/promo_618", Admin, None, wav(300)).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    let (st, _) = app.call(Method::DELETE, url, Some(app.token(Admin)), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, list) = app.get("/api/v1/ivr/prompts", Agent).await;
    assert_eq!(find(&list, "welcome").unwrap(), builtin, "the built-in prompt is back");
    let (st, body) = app.call(Method::DELETE, url, Some(app.token(Admin)), None).await;
    assert_error(st, &body, 404, "not_found");
    app.stop().await;
}
