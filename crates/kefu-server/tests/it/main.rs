//! Server integration tests: the real app on port 0 with a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` is set), driven over HTTP.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bad_input;
mod calls;
mod categories;
mod crud;
mod cti;
mod customers;
mod hotline;
mod ivr;
mod kb;
mod ops;
mod queue_experience;
mod role_matrix;
mod sla;
mod supervisor;
mod telephony;
mod tickets;
mod timeline;
mod web;

use kefu_core::Role;
use kefu_server::auth::password;
use kefu_server::clock::Clock;
use kefu_server::{Settings, ShutdownHandle};
use kefu_store::testing::TestDb;
use kefu_store::{NewUser, User};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const PASSWORD: &str = "test-password-1";

/// Argon2 is slow on purpose; hash the shared test password once per process.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).unwrap())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Option<TestDb>,
    pub store: kefu_store::Store,
    pub clock: Clock,
    pub users: HashMap<Role, User>,
    pub sip_addr: Option<std::net::SocketAddr>,
    pub tokens: HashMap<Role, String>,
    shutdown: ShutdownHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The live CTI stream's hub (`cti.rs` feeds it events directly).
    pub cti: kefu_server::cti::Hub,
}

pub fn settings() -> Settings {
    Settings { http: "127.0.0.1:0".parse().unwrap(), max_body_bytes: 64 * 1024, ..Settings::default() }
}

impl TestApp {
    /// An app with one user per role (`agent`, `team_lead`, …, password [`PASSWORD`]), each
    /// logged in.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(settings()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        Self::spawn_seeded(settings, |_, _| async {}).await
    }

    /// Like [`TestApp::spawn_with`], with `seed` run on the store (after the per-role users
    /// exist) before the app starts: the ACD reads its queues at start.
    pub async fn spawn_seeded<F, Fut>(settings: Settings, seed: F) -> TestApp
    where
        F: FnOnce(kefu_store::Store, HashMap<Role, User>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let db = TestDb::new().await.unwrap();
        // each app keeps its files (attachments, the knowledge-base index, prompts) in its
        // own temporary directory unless the test chose one
        let mut settings = settings;
        if settings.data_dir == Settings::default().data_dir {
            settings.data_dir = db.dir.path().to_owned();
        }
        let store = db.store.clone();
        let clock = Clock::default();
        let mut users = HashMap::new();
        for role in Role::ALL {
            let u = store
                .create_user(
                    &NewUser {
                        username: role.as_str().to_owned(),
                        display_name: format!("The {role}"),
                        role,
                        password_hash: password_hash().to_owned(),
                        team_id: None,
                        extension: None,
                        skills: vec![],
                        sip: None,
                    },
                    clock.now(),
                )
                .await
                .unwrap();
            users.insert(role, u);
        }
        seed(store.clone(), users.clone()).await;
        let app = kefu_server::build_with_store(settings, store.clone(), clock.clone()).await.unwrap();
        let base = format!("http://{}", app.http_addr());
        let shutdown = app.shutdown_handle();
        let sip_addr = app.sip_addr();
        let cti = app.cti().clone();
        let task = tokio::spawn(app.run_until_stopped());
        let mut t = TestApp {
            base,
            client: reqwest::Client::new(),
            db: Some(db),
            store,
            clock,
            users,
            sip_addr,
            tokens: HashMap::new(),
            shutdown,
            task,
            cti,
        };
        for role in Role::ALL {
            let token = t.login(role.as_str(), PASSWORD).await;
            t.tokens.insert(role, token);
        }
        t
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// Sends a request; returns the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    pub async fn get(&self, path: &str, role: Role) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(self.token(role)), None).await
    }

    pub async fn send(&self, method: Method, path: &str, role: Role, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(self.token(role)), Some(body)).await
    }

    /// A raw request with a given body and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        role: Role,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(self.token(role)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn stop(mut self) {
        self.shutdown.shutdown();
        (&mut self.task).await.unwrap().unwrap();
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Asserts the JSON error shape and code.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "body: {body}");
    assert_eq!(body["error"]["code"], want_code, "body: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "message missing: {body}");
}
