//! The embedded web UI: pages and assets outside the API, the SPA fallback, cache headers,
//! and the API's JSON 404 kept for unknown API paths.

use crate::{TestApp, assert_error};
use kefu_core::Role::Admin;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn index_assets_spa_fallback_and_api_404() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();

    // the page at / — HTML, revalidated every time, with a CSP
    let resp = get("/").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let etag = h["etag"].to_str().unwrap().to_owned();
    let index = resp.text().await.unwrap();
    assert!(index.contains(r#"<div id="app">"#), "{index}");

    // an asset the page references: served with its type and cached for good
    let script = index
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("index.html references a script under /assets/")
        .to_owned();
    let resp = get(&script).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{script}");
    assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(resp.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(!resp.text().await.unwrap().is_empty());
    let css = index.split('"').find(|s| s.starts_with("/assets/") && s.ends_with(".css")).unwrap().to_owned();
    let resp = get(&css).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
    let resp = get("/favicon.svg").await.unwrap();
    assert_eq!((resp.status(), resp.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/svg+xml"));

    // deep links get the page (the browser router takes it from there), a HEAD too
    for deep in ["/desktop", "/console/wallboard", "/tickets/123?x=1"] {
        let resp = get(deep).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{deep}");
        assert_eq!(resp.headers()["cache-control"], "no-cache", "{deep}");
        assert_eq!(resp.text().await.unwrap(), index, "{deep}");
    }
    let resp = app.client.head(format!("{}/desktop", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // revalidation: the same build answers 304 to its ETag
    let resp = app.client.get(format!("{}/", app.base)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    // a missing file is a 404, not the page (a script tag must never get HTML)
    let (s, b) = app.call(Method::GET, "/assets/nope-123.js", None, None).await;
    assert_error(s, &b, 404, "not_found");

    // the API and the operations endpoints keep their JSON answers
    let (s, b) = app.call(Method::GET, "/api/v1/nope", None, None).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.get("/api/v1/nope", Admin).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.call(Method::GET, "/api", None, None).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s.as_u16(), b["status"].as_str()), (200, Some("ok")));
    // other methods outside the API are not the UI either
    let (s, b) = app.call(Method::POST, "/desktop", None, Some(serde_json::json!({}))).await;
    assert_error(s, &b, 404, "not_found");
    app.stop().await;
}
