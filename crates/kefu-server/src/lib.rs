//! kefu's server: settings, storage, the HTTP API with auth and roles, metrics, and graceful
//! shutdown. [`build`] returns an [`App`] already bound to its ports (port 0 works), so tests
//! run the real thing.

pub mod acd;
pub mod auth;
pub mod clock;
pub mod cti;
pub mod demo;
pub mod demo_service;
pub mod error;
pub mod event_sink;
pub mod extract;
pub mod ivr_runner;
pub mod metrics;
pub mod prompts;
pub mod routes;
pub mod screening;
pub mod settings;
pub mod sla;
pub mod state;
pub mod telephony;
pub mod web;

pub use settings::Settings;

use crate::clock::Clock;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use kefu_store::Store;
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::watch;

/// A server bound to its ports, ready to run.
pub struct App {
    http_addr: SocketAddr,
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown_tx: watch::Sender<bool>,
    sla_worker: tokio::task::JoinHandle<()>,
}

/// Stops a running [`App`] gracefully (in-flight requests finish).
#[derive(Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    /// Asks the app to stop.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// Opens the store, runs migrations and binds the HTTP port.
pub async fn build(settings: Settings) -> anyhow::Result<App> {
    let store = Store::open(&settings.store_options()?).await?;
    store.migrate().await?;
    build_with_store(settings, store, Clock::default()).await
}

/// Like [`build`], with an already-open, migrated store and a given clock (tests).
pub async fn build_with_store(settings: Settings, store: Store, clock: Clock) -> anyhow::Result<App> {
    let listener = tokio::net::TcpListener::bind(settings.http)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.http))?;
    let http_addr = listener.local_addr()?;
    let (cti, cti_runner) = cti::Hub::new(settings.cti_buffer, settings.cti_socket_queue);
    let (events, _writer) = event_sink::EventSink::start_with_hub(store.clone(), Some(cti.clone()));
    let acd = acd::Acd::start(&store, settings.acd(), clock.clone(), events.clone()).await?;
    let dir = settings.data_dir.join("prompts");
    let prompts = std::sync::Arc::new(tokio::task::spawn_blocking(move || prompts::PromptLibrary::load(dir)).await?);
    let telephony =
        telephony::start(&settings, &store, &acd, &events, &clock, &prompts).await?.map(std::sync::Arc::new);
    let kb = routes::kb::open_index(&settings.data_dir).await?;
    routes::kb::sync_in_background(store.clone(), kb.clone());
    let state = AppState::new(store, settings, clock, telephony, acd, events, prompts, kb, cti);
    cti_runner.start(state.clone());
    let (shutdown_tx, _) = watch::channel(false);
    sla::load_config(&state).await;
    let sla_worker = sla::start(state.clone(), shutdown_tx.subscribe());
    Ok(App { http_addr, listener, state, shutdown_tx, sla_worker })
}

impl App {
    /// The bound HTTP address (with the real port when 0 was asked for).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The store the app uses.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The app's clock (tests move it forward to expire tokens).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Where SIP listens, when telephony is on.
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.state.telephony.as_ref().map(|t| t.sip.local_addr())
    }

    /// The telephony handle, when SIP is on (tests drive calls through it).
    pub fn sip(&self) -> Option<kefu_sip::server::SipHandle> {
        self.state.telephony.as_ref().map(|t| t.sip.clone())
    }

    /// The live CTI stream's hub (tests and benches feed it events directly).
    pub fn cti(&self) -> &cti::Hub {
        &self.state.cti
    }

    /// A handle that stops the app.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown_tx.clone())
    }

    /// The full HTTP router with every middleware.
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// Serves until SIGINT/SIGTERM or the shutdown handle fires, then lets in-flight
    /// requests finish and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let router = router(self.state.clone());
        let mut rx = self.shutdown_tx.subscribe();
        let cti = self.state.cti.clone();
        let stop = async move {
            tokio::select! {
                _ = rx.wait_for(|v| *v) => {},
                () = os_signal() => {},
            }
            tracing::info!("shutting down: finishing in-flight requests");
            // live CTI sockets get a close frame; they do not hold the shutdown up
            cti.shutdown();
        };
        tracing::info!(addr = %self.http_addr, "http listening");
        axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop)
            .await?;
        // the SLA worker finishes the timer it is firing (one transaction) and stops
        let _ = self.shutdown_tx.send(true);
        self.state.cti.wait_closed(std::time::Duration::from_secs(2)).await;
        if let Err(e) = self.sla_worker.await {
            tracing::error!(error = %e, "the sla worker ended abnormally");
        }
        if let Some(t) = &self.state.telephony {
            t.shutdown().await;
        }
        self.state.events.flush().await;
        self.state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn os_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn router(state: AppState) -> axum::Router {
    let limit = state.settings.max_body_bytes;
    routes::router()
        .layer(axum::middleware::from_fn(observe))
        .layer(axum::Extension(state.clone()))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Counts every request and its latency by matched route, and logs it at debug level.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str).to_owned();
    let state = req.extensions().get::<AppState>().cloned();
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, resp.status().as_u16(), elapsed.as_secs_f64());
    }
    tracing::debug!(%method, %route, status = resp.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    resp
}
