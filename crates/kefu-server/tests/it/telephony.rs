//! Telephony administration: trunks (admin only, password write-only), recordings (everyone's
//! for the roles that coach and score calls, only their own for agents), and SIP credentials
//! made wherever a password is set.

use crate::{TestApp, assert_error};
use kefu_core::Role::{Admin, Agent, Qa, Supervisor, TeamLead};
use kefu_core::{RecordingId, Timestamp, UserId};
use kefu_sip::digest::{Algorithm, ha1};
use kefu_store::NewRecording;
use reqwest::Method;
use serde_json::{Value, json};

fn carrier() -> Value {
    json!({
        "name": "carrier",
        "host": "sip.carrier.example",
        "port": 5060,
        "transport": "udp",
        "auth_username": "kefu-acct",
        "auth_password": "trunk-secret-9",
        "allow_from": ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"],
        "inbound_routes": { "4000": "1001", "*": "1002" },
        "caller_id": "4000"
    })
}

#[tokio::test]
async fn admin_manages_trunks_and_never_sees_the_password() {
    let app = TestApp::spawn().await;
    let (s, t) = app.send(Method::POST, "/api/v1/trunks", Admin, carrier()).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["name"], "carrier");
    assert_eq!(t["port"], 5060);
    assert_eq!(t["transport"], "udp");
    assert_eq!(t["enabled"], true);
    assert_eq!(t["inbound_routes"]["*"], "1002");
    assert_eq!(t["allow_from"][2], "2001:db8::/32");
    assert_eq!(t["has_auth_password"], true);
    assert!(t.get("auth_password").is_none(), "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/trunks/{id}");

    // the SIP server gets the password from the store
    let stored = app.store.enabled_trunks().await.unwrap();
    assert_eq!(stored[0].auth_password.as_ref().unwrap().expose(), "trunk-secret-9");

    let (s, got) = app.get(&url, Admin).await;
    assert_eq!((s.as_u16(), &got), (200, &t));
    let (s, list) = app.get("/api/v1/trunks", Admin).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"], json!([t]));

    // defaults: port 5060, udp, enabled; nothing else needed
    let (s, minimal) =
        app.send(Method::POST, "/api/v1/trunks", Admin, json!({ "name": "pbx", "host": "10.0.0.2" })).await;
    assert_eq!(s, 201, "{minimal}");
    assert_eq!((minimal["port"].as_i64(), minimal["transport"].as_str()), (Some(5060), Some("udp")));
    assert_eq!((minimal["has_auth_password"].as_bool(), minimal["enabled"].as_bool()), (Some(false), Some(true)));
    assert_eq!(minimal["allow_from"], json!([]));

    let (s, t2) = app
        .send(
            Method::PATCH,
            &url,
            Admin,
            json!({ "port": 5080, "transport": "tcp", "auth_password": null, "caller_id": null,
                    "inbound_routes": { "*": "1003" }, "enabled": false }),
        )
        .await;
    assert_eq!(s, 200, "{t2}");
    assert_eq!((t2["port"].as_i64(), t2["transport"].as_str()), (Some(5080), Some("tcp")));
    assert_eq!(t2["has_auth_password"], false);
    assert!(t2["caller_id"].is_null());
    assert_eq!(t2["auth_username"], "kefu-acct", "untouched");
    assert_eq!(t2["inbound_routes"], json!({ "*": "1003" }));
    assert!(app.store.enabled_trunks().await.unwrap().iter().all(|t| t.name != "carrier"), "disabled");

    let (s, t3) = app.send(Method::PATCH, &url, Admin, json!({ "auth_password": "new-secret-1" })).await;
    assert_eq!(s, 200, "{t3}");
    assert_eq!(t3["has_auth_password"], true);

    let (s, b) = app.send(Method::PATCH, &url, Admin, json!({ "name": "pbx" })).await;
    assert_error(s, &b, 409, "conflict");

    let (s, _) = app.call(Method::DELETE, &url, Some(app.token(Admin)), None).await;
    assert_eq!(s, 204);
    let (s, b) = app.get(&url, Admin).await;
    assert_error(s, &b, 404, "not_found");

    // audited, without the password
    let (_, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    let entries: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("trunk."))
        .collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["trunk.create", "trunk.create", "trunk.update", "trunk.update", "trunk.delete"]);
    assert_eq!(entries[3]["detail"]["changed"], json!(["auth_password"]));
    assert!(!audit.to_string().contains("secret"), "{audit}");

    // supervisors cannot see trunks
    let (s, b) = app.get("/api/v1/trunks", Supervisor).await;
    assert_error(s, &b, 403, "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn bad_trunks_are_422_with_clear_messages() {
    let app = TestApp::spawn().await;
    let with = |field: &str, value: Value| {
        let mut t = carrier();
        t[field] = value;
        t
    };
    let cases = [
        (with("host", json!("")), "host must not be empty"),
        (with("host", json!("bad host!")), "host must be a host name or an IP address"),
        (with("port", json!(0)), "port must be 1–65535, got 0"),
        (with("port", json!(70000)), "port must be 1–65535, got 70000"),
        (with("transport", json!("sctp")), "unknown variant `sctp`"),
        (with("allow_from", json!(["10.0.0.0/8", "10.0.0.0/33"])), "allow_from[1]: `10.0.0.0/33` is not an IP address"),
        (with("allow_from", json!(["carrier.example"])), "allow_from[0]: `carrier.example` is not an IP address"),
        (with("allow_from", json!("10.0.0.1")), "invalid type"),
        (with("inbound_routes", json!(["1001"])), "invalid type"),
        (with("inbound_routes", json!({ "4000": 1001 })), "invalid type"),
        (with("inbound_routes", json!({ "4000": "" })), "inbound_routes[\"4000\"] must be 1–64 characters"),
        (with("auth_username", json!(null)), "auth_password needs an auth_username"),
        (with("name", json!(" ")), "name must be 1–64 characters"),
        (with("caller_id", json!("40 00")), "caller_id must be 1–64 characters without spaces"),
    ];
    for (body, want) in cases {
        let (s, b) = app.send(Method::POST, "/api/v1/trunks", Admin, body.clone()).await;
        assert_error(s, &b, 422, "validation_failed");
        assert!(b["error"]["message"].as_str().unwrap().contains(want), "{body}: {b}");
    }
    let (s, b) = app.send(Method::POST, "/api/v1/trunks", Admin, json!({ "name": "x" })).await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("missing field `host`"), "{b}");
    assert!(app.store.enabled_trunks().await.unwrap().is_empty(), "nothing stored");

    let (s, t) = app.send(Method::POST, "/api/v1/trunks", Admin, carrier()).await;
    assert_eq!(s, 201);
    let (s, b) = app.send(Method::POST, "/api/v1/trunks", Admin, carrier()).await;
    assert_error(s, &b, 409, "conflict");
    assert!(b["error"]["message"].as_str().unwrap().contains("`carrier` already exists"), "{b}");
    let url = format!("/api/v1/trunks/{}", t["id"].as_str().unwrap());
    let (s, b) = app.send(Method::PATCH, &url, Admin, json!({ "auth_username": null })).await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("auth_password needs an auth_username"), "{b}");
    let (s, b) = app.send(Method::PATCH, &url, Admin, json!({ "port": -1 })).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = app.send(Method::PATCH, &url, Admin, json!({ "password": "x" })).await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, b) = app.get("/api/v1/trunks/not-a-uuid", Admin).await;
    assert_error(s, &b, 400, "bad_request");
    let ghost = kefu_store::new_uuid();
    let (s, b) = app.send(Method::PATCH, &format!("/api/v1/trunks/{ghost}"), Admin, json!({})).await;
    assert_error(s, &b, 404, "not_found");
    let (_, unchanged) = app.get(&url, Admin).await;
    assert_eq!(unchanged, t);
    app.stop().await;
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_790_000_000_000 + ms)
}

async fn record(app: &TestApp, agent: Option<UserId>, caller: &str, started: i64) -> String {
    let new = NewRecording {
        id: RecordingId::from_uuid(kefu_store::new_uuid()),
        call_id: format!("{}@kefu", kefu_store::new_uuid().simple()),
        agent_id: agent,
        agent_extension: None,
        caller: caller.into(),
        callee: "4000".into(),
        started_at: at(started),
        duration_ms: 30_000,
        path: "x.wav".into(),
        size_bytes: 960_044,
    };
    app.store.insert_recording(&new, at(started + 30_000)).await.unwrap().id.to_string()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn agents_see_their_own_recordings_and_supervisors_see_all() {
    let app = TestApp::spawn().await;
    let agent = app.users[&Agent].id;
    let other = app.users[&TeamLead].id;
    let mine1 = record(&app, Some(agent), "13800138000", 1_000).await;
    let theirs = record(&app, Some(other), "13800138000", 2_000).await;
    let mine2 = record(&app, Some(agent), "13900139000", 3_000).await;
    let nobody = record(&app, None, "13900139000", 4_000).await;

    let (s, page) = app.get("/api/v1/recordings", Agent).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), vec![mine2.clone(), mine1.clone()], "only their own, newest first");
    let (s, page) = app.get(&format!("/api/v1/recordings?agent={agent}&number=13800138000"), Agent).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), vec![mine1.clone()]);
    let (s, b) = app.get(&format!("/api/v1/recordings?agent={other}"), Agent).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, r) = app.get(&format!("/api/v1/recordings/{mine1}"), Agent).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((r["caller"].as_str(), r["duration_ms"].as_i64()), (Some("13800138000"), Some(30_000)));
    assert_eq!(r["agent_id"], agent.to_string());
    for id in [&theirs, &nobody] {
        let (s, b) = app.get(&format!("/api/v1/recordings/{id}"), Agent).await;
        assert_error(s, &b, 403, "forbidden");
    }

    for role in [TeamLead, Qa, Supervisor, Admin] {
        let (s, page) = app.get("/api/v1/recordings", role).await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(ids(&page), vec![nobody.clone(), mine2.clone(), theirs.clone(), mine1.clone()], "{role}");
        let (s, _) = app.get(&format!("/api/v1/recordings/{nobody}"), role).await;
        assert_eq!(s, 200, "{role}");
    }
    let (_, page) = app.get(&format!("/api/v1/recordings?agent={other}"), Qa).await;
    assert_eq!(ids(&page), vec![theirs.clone()]);
    let (_, page) = app.get("/api/v1/recordings?number=13900139000", Supervisor).await;
    assert_eq!(ids(&page), vec![nobody.clone(), mine2.clone()]);
    let (from, to) = (at(2_000).as_millis(), at(4_000).as_millis());
    let (_, page) = app.get(&format!("/api/v1/recordings?from={from}&to={to}"), Supervisor).await;
    assert_eq!(ids(&page), vec![mine2.clone(), theirs.clone()]);

    // paging
    let (_, first) = app.get("/api/v1/recordings?limit=3", Supervisor).await;
    assert_eq!(ids(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/recordings?limit=3&cursor={cursor}"), Supervisor).await;
    assert_eq!(ids(&rest), vec![mine1.clone()]);
    assert!(rest.get("next_cursor").is_none());

    // bad queries
    let (s, b) = app.get("/api/v1/recordings?cursor=zzz", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get(&format!("/api/v1/recordings?from={to}&to={from}"), Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/recordings?agent=nobody", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/recordings?colour=red", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get(&format!("/api/v1/recordings/{}", kefu_store::new_uuid()), Supervisor).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.get("/api/v1/recordings/not-a-uuid", Agent).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.call(Method::GET, "/api/v1/recordings", None, None).await;
    assert_error(s, &b, 401, "unauthenticated");
    app.stop().await;
}

fn expect_sip(secret: &kefu_store::SipSecret, extension: &str, realm: &str, password: &str) {
    assert_eq!((secret.extension.as_str(), secret.realm.as_str()), (extension, realm));
    assert_eq!(secret.ha1_md5, ha1(Algorithm::Md5, extension, realm, password));
    assert_eq!(secret.ha1_sha256, ha1(Algorithm::Sha256, extension, realm, password));
}

#[tokio::test]
async fn every_password_set_makes_sip_credentials_for_the_extension() {
    let settings = kefu_server::Settings { sip_realm: "kefu.test".into(), ..crate::settings() };
    let app = TestApp::spawn_with(settings).await;
    let (s, user) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "wang", "display_name": "王芳", "role": "agent", "password": "phone-pass-1",
                    "extension": "1001" }),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    let url = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let secret = app.store.sip_secret("1001").await.unwrap().unwrap();
    expect_sip(&secret, "1001", "kefu.test", "phone-pass-1");
    assert_eq!(secret.username, "wang");

    // a user without an extension has none
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "li", "display_name": "李娜", "role": "qa", "password": "phone-pass-1" }),
        )
        .await;
    assert_eq!(s, 201);

    // a new extension without a password: the old credentials go, none for the new extension
    let (s, _) = app.send(Method::PATCH, &url, Admin, json!({ "extension": "1002" })).await;
    assert_eq!(s, 200);
    assert!(app.store.sip_secret("1001").await.unwrap().is_none());
    assert!(app.store.sip_secret("1002").await.unwrap().is_none());

    // a password sets them for the current extension, or for the new one given with it
    let (s, _) = app.send(Method::PATCH, &url, Admin, json!({ "password": "phone-pass-2" })).await;
    assert_eq!(s, 200);
    expect_sip(&app.store.sip_secret("1002").await.unwrap().unwrap(), "1002", "kefu.test", "phone-pass-2");
    let (s, _) = app.send(Method::PATCH, &url, Admin, json!({ "password": "phone-pass-3", "extension": "1003" })).await;
    assert_eq!(s, 200);
    assert!(app.store.sip_secret("1002").await.unwrap().is_none());
    expect_sip(&app.store.sip_secret("1003").await.unwrap().unwrap(), "1003", "kefu.test", "phone-pass-3");

    // a rejected password changes nothing
    let (s, b) = app.send(Method::PATCH, &url, Admin, json!({ "password": "short" })).await;
    assert_error(s, &b, 422, "validation_failed");
    expect_sip(&app.store.sip_secret("1003").await.unwrap().unwrap(), "1003", "kefu.test", "phone-pass-3");

    // the user's own password change
    let token = app.login("wang", "phone-pass-3").await;
    let (s, b) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            Some(&token),
            Some(json!({ "current_password": "phone-pass-3", "new_password": "phone-pass-4" })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    expect_sip(&app.store.sip_secret("1003").await.unwrap().unwrap(), "1003", "kefu.test", "phone-pass-4");

    // disabling shows in the secret; removing the extension removes the credentials
    let (s, _) = app.send(Method::PATCH, &url, Admin, json!({ "enabled": false })).await;
    assert_eq!(s, 200);
    assert!(!app.store.sip_secret("1003").await.unwrap().unwrap().enabled);
    let (s, u) = app.send(Method::PATCH, &url, Admin, json!({ "extension": null, "enabled": true })).await;
    assert_eq!(s, 200, "{u}");
    assert!(u["extension"].is_null());
    let id: UserId = user["id"].as_str().unwrap().parse().unwrap();
    assert!(!app.store.delete_sip_credentials(id).await.unwrap(), "none left");
    app.stop().await;
}
