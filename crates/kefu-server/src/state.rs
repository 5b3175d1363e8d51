//! What every request handler shares.

use crate::auth::ratelimit::LoginLimiter;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::settings::Settings;
use kefu_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// The database.
    pub store: Store,
    /// The effective settings.
    pub settings: Settings,
    /// The time source.
    pub clock: Clock,
    /// Login rate limits.
    pub login_limiter: LoginLimiter,
    /// Request metrics.
    pub metrics: Metrics,
    /// Telephony, when SIP is configured (`sip` setting).
    pub telephony: Option<Arc<crate::telephony::Telephony>>,
    /// The live ACD.
    pub acd: crate::acd::Acd,
    /// The event log's writer for the ACD and the IVR.
    pub events: crate::event_sink::EventSink,
    /// The IVR's voice prompts.
    pub prompts: Arc<crate::prompts::PromptLibrary>,
    /// The knowledge base's full-text index (derived from the database).
    pub kb: kefu_store::KbIndex,
    /// The SLA worker's wake-up call and the cached service configuration.
    pub sla: crate::sla::SlaShared,
    /// The wallboard's figures for today, recomputed from the event log at most every few
    /// seconds.
    pub wallboard: crate::routes::wallboard::WallboardCache,
    /// The live CTI stream's hub (`GET /api/v1/events`).
    pub cti: crate::cti::Hub,
}

impl AppState {
    /// Builds the state.
    #[allow(clippy::too_many_arguments, reason = "one argument per shared service, all made in build_with_store")]
    pub fn new(
        store: Store,
        settings: Settings,
        clock: Clock,
        telephony: Option<Arc<crate::telephony::Telephony>>,
        acd: crate::acd::Acd,
        events: crate::event_sink::EventSink,
        prompts: Arc<crate::prompts::PromptLibrary>,
        kb: kefu_store::KbIndex,
        cti: crate::cti::Hub,
    ) -> Self {
        let login_limiter = LoginLimiter::new(
            settings.login_max_failures_per_user,
            settings.login_max_attempts_per_ip,
            Duration::from_secs(settings.login_window_secs),
        );
        AppState(Arc::new(Inner {
            store,
            settings,
            clock,
            login_limiter,
            metrics: Metrics::default(),
            telephony,
            acd,
            events,
            prompts,
            kb,
            sla: crate::sla::SlaShared::default(),
            wallboard: crate::routes::wallboard::WallboardCache::default(),
            cti,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
