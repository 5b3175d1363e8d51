//! The browser UI: the Vue build in `web/dist` embedded into the binary (ADR 0013), served for
//! every GET outside the API. A path naming a file gets the file; any other page path gets
//! `index.html` so the single-page app's router can take it (deep links, reloads). Hashed
//! assets (`/assets/…`, their names change with their content) are cached for a year;
//! `index.html` is revalidated every time (ETag), so a new build is picked up at once.
//! `/api/…`, the operations paths and anything but GET/HEAD keep the API's JSON 404.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::fmt::Write as _;

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
struct Dist;

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What the UI needs and nothing more: its own scripts and styles (Element Plus sets inline
/// styles), images from itself or data URLs, API calls and the CTI WebSocket to this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; \
                   connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// The router's fallback: the UI for page and asset paths, the JSON 404 for everything else.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || !is_ui_path(path) {
        return ApiError::not_found("no such route").into_response();
    }
    let rel = path.trim_start_matches('/');
    if !rel.is_empty()
        && let Some(file) = Dist::get(rel)
    {
        let cache = if rel.starts_with("assets/") { IMMUTABLE } else { "public, max-age=3600" };
        return respond(&file, cache, &headers, false);
    }
    // a missing file (it has an extension) is a 404, not the page: a script tag must not get HTML
    let last = rel.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return ApiError::not_found(format!("no file {path}")).into_response();
    }
    match Dist::get(INDEX) {
        Some(index) => respond(&index, "no-cache", &headers, true),
        None => ApiError::not_found("the web UI is not built into this binary").into_response(),
    }
}

/// Paths the UI may answer: not the API, not the operations endpoints.
fn is_ui_path(path: &str) -> bool {
    let api = path == "/api" || path.starts_with("/api/");
    let ops = matches!(path, "/metrics" | "/healthz" | "/readyz");
    !api && !ops
}

fn respond(file: &rust_embed::EmbeddedFile, cache: &'static str, req: &HeaderMap, page: bool) -> Response {
    let hash = file.metadata.sha256_hash();
    let mut etag = String::with_capacity(2 + 2 * 16);
    etag.push('"');
    for b in &hash[..16] {
        let _ = write!(etag, "{b:02x}");
    }
    etag.push('"');
    let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let mut headers = HeaderMap::new();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(ETAG, etag.clone());
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    if page {
        headers.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP));
        headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    }
    if req
        .get(IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().split(|c| *c == b',').any(|t| t.trim_ascii() == etag.as_bytes()))
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mime = file.metadata.mimetype();
    let mime = if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&mime) {
        headers.insert(CONTENT_TYPE, v);
    }
    let body = match &file.data {
        Cow::Borrowed(b) => Body::from(*b),
        Cow::Owned(v) => Body::from(v.clone()),
    };
    (StatusCode::OK, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::is_ui_path;

    #[test]
    fn api_and_operations_paths_are_not_the_ui() {
        for p in ["/api", "/api/", "/api/v1/nope", "/metrics", "/healthz", "/readyz"] {
            assert!(!is_ui_path(p), "{p}");
        }
        for p in ["/", "/desktop", "/console/wallboard", "/assets/index-abc.js", "/apidocs", "/metricsx"] {
            assert!(is_ui_path(p), "{p}");
        }
    }
}
