//! Prometheus metrics for `/metrics`: request counts by route and status, and request
//! latency histograms by route. One registry per app (no global recorder), so several apps
//! can run in one test process.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SipLabels {
    what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~4 s
    Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
}

/// The app's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sip: Family<SipLabels, Gauge>,
    rtp: Family<SipLabels, Counter>,
    /// Serialises [`Metrics::set_sip`], whose counter catch-up is read-then-add.
    sip_update: Arc<std::sync::Mutex<()>>,
    /// The live CTI stream: sockets open, frames sent, lagging sockets whose queue was dropped.
    cti: CtiMetrics,
}

/// The CTI stream's metrics (`/api/v1/events`).
#[derive(Clone, Default)]
struct CtiMetrics {
    sockets: Gauge,
    sent: Counter,
    lagging: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kefu");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests handled, by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency, by route", latency.clone());
        let sip = Family::<SipLabels, Gauge>::default();
        registry.register(
            "sip_objects",
            "What the SIP server holds now: calls, media sessions, dialogs, transactions, registrations",
            sip.clone(),
        );
        let rtp = Family::<SipLabels, Counter>::default();
        registry.register("rtp_packets", "RTP packets through the media engine, by direction", rtp.clone());
        let cti = CtiMetrics::default();
        registry.register("cti_sockets", "Live CTI stream sockets open now", cti.sockets.clone());
        registry.register("cti_messages_sent", "Frames sent on CTI stream sockets", cti.sent.clone());
        registry.register(
            "cti_lagging_drops",
            "Times a CTI socket fell behind: its queue was dropped and it gets a snapshot",
            cti.lagging.clone(),
        );
        Metrics { registry: Arc::new(registry), requests, latency, sip, rtp, sip_update: Arc::default(), cti }
    }
}

impl Metrics {
    /// Counts one request and its latency. `route` is the matched route template, never the
    /// raw path, so ids do not explode the label space.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method: method.into(), route: route.into(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method: method.into(), route: route.into() }).observe(seconds);
    }

    /// Sets the SIP gauges (read when `/metrics` is scraped).
    pub fn set_sip(&self, stats: kefu_sip::server::SipStats) {
        let _one_at_a_time = self.sip_update.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (what, n) in [
            ("calls", stats.calls),
            ("media_sessions", stats.media_sessions),
            ("dialogs", stats.dialogs),
            ("transactions_running", stats.transactions_running),
            ("transactions_finished", stats.transactions_finished),
            ("transactions_waiting_ack", stats.transactions_waiting_ack),
            ("registrations", stats.registrations),
        ] {
            self.sip.get_or_create(&SipLabels { what }).set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for (what, total) in [("received", stats.rtp_packets_received), ("sent", stats.rtp_packets_sent)] {
            // The engine keeps running totals; move the counter up to them.
            let counter = self.rtp.get_or_create(&SipLabels { what });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// A CTI socket opened (`+1`) or closed (`-1`).
    pub fn cti_sockets(&self, delta: i64) {
        self.cti.sockets.inc_by(delta);
    }

    /// A frame was sent on a CTI socket.
    pub fn cti_sent(&self) {
        self.cti.sent.inc();
    }

    /// A CTI socket fell behind and its queue was dropped.
    pub fn cti_lagging(&self) {
        self.cti.lagging.inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
