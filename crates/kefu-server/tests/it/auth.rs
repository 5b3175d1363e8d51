//! Login, logout, rate limits, disabled accounts, password change, audit and session events.

use crate::{PASSWORD, TestApp, assert_error};
use kefu_core::Role::{Admin, Agent, Supervisor};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn login_logout_and_audit() {
    let app = TestApp::spawn().await;
    let (s, b) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "username": "agent", "password": "wrong-password" })),
        )
        .await;
    assert_error(s, &b, 401, "invalid_credentials");
    let (s, b) = app
        .call(Method::POST, "/api/v1/auth/login", None, Some(json!({ "username": "ghost", "password": "whatever1" })))
        .await;
    assert_error(s, &b, 401, "invalid_credentials");
    assert_eq!(b["error"]["message"], "wrong username or password", "no hint whether the user exists");

    let (s, b) = app
        .call(Method::POST, "/api/v1/auth/login", None, Some(json!({ "username": "agent", "password": PASSWORD })))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["user"]["username"], "agent");
    assert!(b["user"].get("password_hash").is_none(), "never exposes the hash");
    let token = b["token"].as_str().unwrap().to_owned();

    let (s, me) = app.call(Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(s, 200);
    assert_eq!(me["role"], "agent");
    let (s, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(s, 204);
    let (s, b) = app.call(Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_error(s, &b, 401, "invalid_token");

    let (s, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    assert_eq!(s, 200);
    let entries = audit["items"].as_array().unwrap();
    let reasons: Vec<(String, String, String)> = entries
        .iter()
        .filter(|e| e["target"] == "agent" || e["target"] == "ghost")
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
                e["detail"]["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(reasons.contains(&("auth.login".into(), "failure".into(), "bad_password".into())), "{reasons:?}");
    assert!(reasons.contains(&("auth.login".into(), "failure".into(), "unknown_user".into())), "{reasons:?}");
    assert!(reasons.contains(&("auth.login".into(), "success".into(), "ok".into())), "{reasons:?}");
    assert!(reasons.contains(&("auth.logout".into(), "success".into(), String::new())), "{reasons:?}");
    assert!(!audit.to_string().contains(PASSWORD), "no password in the audit log");

    // session events are in the event log, queryable by kind
    let (s, log) = app.get("/api/v1/events/log?kind=session.closed", Supervisor).await;
    assert_eq!(s, 200);
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["agent"], json!(app.users[&Agent].id));
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_user() {
    let mut settings = crate::settings();
    settings.login_max_failures_per_user = 3;
    let app = TestApp::spawn_with(settings).await;
    for _ in 0..3 {
        let (s, _) = app
            .call(Method::POST, "/api/v1/auth/login", None, Some(json!({ "username": "qa", "password": "nope-nope" })))
            .await;
        assert_eq!(s, 401);
    }
    let resp = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": "qa", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429, "even the right password waits out the lock");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // another user from the same address is not locked out
    app.login("team_lead", PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn attempts_are_rate_limited_per_address() {
    let mut settings = crate::settings();
    settings.login_max_attempts_per_ip = 7; // the harness logs in 5 roles first
    let app = TestApp::spawn_with(settings).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let (s, _) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "username": format!("u{i}"), "password": "nope-nope" })),
            )
            .await;
        statuses.push(s.as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 429, 429]);
    app.stop().await;
}

#[tokio::test]
async fn disabling_ends_sessions_and_blocks_login() {
    let app = TestApp::spawn().await;
    let agent = app.users[&Agent].id;
    let (s, _) = app.send(Method::PATCH, &format!("/api/v1/users/{agent}"), Admin, json!({ "enabled": false })).await;
    assert_eq!(s, 200);
    let (s, b) = app.get("/api/v1/users/me", Agent).await;
    assert_error(s, &b, 401, "invalid_token");
    let (s, b) = app
        .call(Method::POST, "/api/v1/auth/login", None, Some(json!({ "username": "agent", "password": PASSWORD })))
        .await;
    assert_error(s, &b, 401, "account_disabled");
    app.stop().await;
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Agent,
            json!({ "current_password": "bad-guess", "new_password": "new-password-2" }),
        )
        .await;
    assert_error(s, &b, 401, "invalid_credentials");
    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Agent,
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Agent,
            json!({ "current_password": PASSWORD, "new_password": "new-password-2" }),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app.get("/api/v1/users/me", Agent).await;
    assert_eq!(s, 401);
    app.login("agent", "new-password-2").await;
    app.stop().await;
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.users[&Admin].id;
    for body in [json!({ "enabled": false }), json!({ "role": "agent" })] {
        let (s, b) = app.send(Method::PATCH, &format!("/api/v1/users/{admin}"), Admin, body).await;
        assert_error(s, &b, 409, "conflict");
    }
    let (s, b) = app.call(Method::DELETE, &format!("/api/v1/users/{admin}"), Some(app.token(Admin)), None).await;
    assert_error(s, &b, 409, "conflict");
    // with a second admin it works
    let (s, _) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "admin2", "display_name": "A2", "role": "admin", "password": "longenough" }),
        )
        .await;
    assert_eq!(s, 201);
    let (s, b) =
        app.send(Method::PATCH, &format!("/api/v1/users/{admin}"), Admin, json!({ "role": "supervisor" })).await;
    assert_eq!(s, 200, "{b}");
    app.stop().await;
}
