//! Bad input gets the right status and a clear JSON error, and changes nothing.

use crate::{TestApp, assert_error};
use kefu_core::Role::{Admin, Supervisor};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400_and_wrong_types_or_unknown_fields_are_422() {
    let app = TestApp::spawn().await;
    let (s, b) =
        app.raw(Method::POST, "/api/v1/skills", Admin, Some("application/json"), b"{\"name\": ".to_vec()).await;
    assert_error(s, &b, 400, "bad_request");
    assert!(b["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{b}");

    let (s, b) = app.send(Method::POST, "/api/v1/skills", Admin, json!({ "name": 42 })).await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("invalid type"), "{b}");

    let (s, b) = app.send(Method::POST, "/api/v1/skills", Admin, json!({ "name": "x", "colour": "red" })).await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("unknown field `colour`"), "{b}");

    let (s, b) = app.send(Method::POST, "/api/v1/users", Admin, json!({ "username": "x" })).await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("missing field"), "{b}");

    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "x1", "display_name": "X", "role": "root", "password": "longenough" }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("unknown variant `root`"), "{b}");

    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/queues",
            Admin,
            json!({ "name": "q", "skills": [{ "skill_id": kefu_store::new_uuid(), "min_proficiency": 11 }] }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("between 1 and 10"), "{b}");

    let (s, b) = app
        .send(Method::POST, "/api/v1/queues", Admin, json!({ "name": "q", "targets": { "service_level_pct": 150 } }))
        .await;
    assert_error(s, &b, 422, "validation_failed");

    let (s, b) = app.send(Method::POST, "/api/v1/teams", Admin, json!({ "name": "   " })).await;
    assert_error(s, &b, 422, "validation_failed");

    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "x2", "display_name": "X", "role": "agent", "password": "short" }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains("password"), "{b}");

    // nothing above was stored
    let (_, skills) = app.get("/api/v1/skills", Admin).await;
    assert_eq!(skills["items"].as_array().unwrap().len(), 0);
    let (_, queues) = app.get("/api/v1/queues", Admin).await;
    assert_eq!(queues["items"].as_array().unwrap().len(), 0);
    assert_eq!(app.store.count_users().await.unwrap(), 5);
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_and_non_json_is_415() {
    let app = TestApp::spawn().await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(100 * 1024));
    let (s, b) = app.raw(Method::POST, "/api/v1/skills", Admin, Some("application/json"), big.into_bytes()).await;
    assert_error(s, &b, 413, "payload_too_large");

    let (s, b) = app.raw(Method::POST, "/api/v1/skills", Admin, Some("text/plain"), b"{\"name\":\"x\"}".to_vec()).await;
    assert_error(s, &b, 415, "unsupported_media_type");
    let (s, b) = app.raw(Method::POST, "/api/v1/skills", Admin, None, b"{\"name\":\"x\"}".to_vec()).await;
    assert_error(s, &b, 415, "unsupported_media_type");
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_400() {
    let app = TestApp::spawn().await;
    let ghost = kefu_store::new_uuid();
    for resource in ["users", "teams", "skills", "queues"] {
        let (s, b) = app.get(&format!("/api/v1/{resource}/{ghost}"), Admin).await;
        assert_error(s, &b, 404, "not_found");
        assert!(b["error"]["message"].as_str().unwrap().contains(&ghost.to_string()), "{b}");
        let (s, b) = app.send(Method::PATCH, &format!("/api/v1/{resource}/{ghost}"), Admin, json!({})).await;
        assert_error(s, &b, 404, "not_found");
        let (s, b) =
            app.call(Method::DELETE, &format!("/api/v1/{resource}/{ghost}"), Some(app.token(Admin)), None).await;
        assert_error(s, &b, 404, "not_found");
        let (s, b) = app.get(&format!("/api/v1/{resource}/not-a-uuid"), Admin).await;
        assert_error(s, &b, 400, "bad_request");
        assert!(b["error"]["message"].as_str().unwrap().contains("`not-a-uuid` is not a valid"), "{b}");
    }
    // an unknown skill inside a body is a 422 that names it
    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/queues",
            Admin,
            json!({ "name": "q", "skills": [{ "skill_id": ghost, "min_proficiency": 3 }] }),
        )
        .await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(b["error"]["message"].as_str().unwrap().contains(&ghost.to_string()), "{b}");
    app.stop().await;
}

#[tokio::test]
async fn bad_query_strings_and_routes() {
    let app = TestApp::spawn().await;
    let (s, b) = app.get("/api/v1/users?limit=lots", Admin).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/users?sort=name", Admin).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/events/log?kind=call.nonsense", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    assert!(b["error"]["message"].as_str().unwrap().contains("unknown event kind `call.nonsense`"), "{b}");
    let (s, b) = app.get("/api/v1/events/log?cursor=zzz", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/events/log?since=10&until=5", Supervisor).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = app.get("/api/v1/nothing-here", Admin).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.call(Method::PUT, "/api/v1/queues", Some(app.token(Admin)), Some(json!({}))).await;
    assert_error(s, &b, 405, "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_401_with_the_reason() {
    let app = TestApp::spawn().await;
    let (s, b) = app.call(Method::GET, "/api/v1/users/me", Some("not-a-real-token"), None).await;
    assert_error(s, &b, 401, "invalid_token");
    let resp = app
        .client
        .get(format!("{}/api/v1/users/me", app.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // expiry: move the server's clock past the token lifetime
    let token = app.login("qa", crate::PASSWORD).await;
    let (s, _) = app.call(Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(s, 200);
    app.clock.advance(i64::try_from(crate::settings().token_ttl().as_millis()).unwrap() + 1);
    let (s, b) = app.call(Method::GET, "/api/v1/users/me", Some(&token), None).await;
    assert_error(s, &b, 401, "token_expired");
    app.stop().await;
}

#[tokio::test]
async fn conflicts_are_409() {
    let app = TestApp::spawn().await;
    let (s, _) = app.send(Method::POST, "/api/v1/skills", Admin, json!({ "name": "vip" })).await;
    assert_eq!(s, 201);
    let (s, b) = app.send(Method::POST, "/api/v1/skills", Admin, json!({ "name": "vip" })).await;
    assert_error(s, &b, 409, "conflict");
    assert!(b["error"]["message"].as_str().unwrap().contains("`vip` already exists"), "{b}");
    let (s, b) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "agent", "display_name": "X", "role": "agent", "password": "longenough" }),
        )
        .await;
    assert_error(s, &b, 409, "conflict");
    app.stop().await;
}
