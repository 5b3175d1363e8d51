//! Health, readiness, metrics, the OpenAPI document and graceful shutdown.

use crate::TestApp;
use kefu_core::Role::Admin;
use reqwest::Method;

#[tokio::test]
async fn health_ready_metrics_and_openapi() {
    let app = TestApp::spawn().await;
    let (s, b) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s.as_u16(), b["status"].as_str()), (200, Some("ok")));
    let (s, _) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 200);
    let _ = app.get("/api/v1/queues", Admin).await;
    let _ = app.get("/api/v1/queues/not-an-id", Admin).await;

    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"kefu_http_requests_total{method="GET",route="/api/v1/queues",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"route="/api/v1/queues/{id}",status="400""#), "route template, not the raw path: {text}");
    assert!(text.contains("kefu_http_request_duration_seconds_bucket"), "{text}");

    let (s, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/queues"]["get"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.store.close().await;
    let (s, b) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(b["error"]["code"], "unavailable");
    app.stop().await;
}
