//! The HTTP surface. [`table`] lists every route with its method, path, access rule and
//! handler — the only place routes are registered, so none can lack a rule. One file per
//! resource holds its handlers.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod blocklist;
pub mod calls;
pub mod categories;
pub mod cti;
pub mod customer_parts;
pub mod customers;
pub mod events;
pub mod followups;
pub mod handover;
pub mod health;
pub mod ivr;
pub mod kb;
pub mod openapi;
pub mod prompts;
pub mod queue_experience;
pub mod queues;
pub mod recordings;
pub mod service_config;
pub mod skills;
pub mod supervisor;
pub mod teams;
pub mod ticket_templates;
pub mod tickets;
pub mod tickets_actions;
pub mod timeline;
pub mod trunks;
pub mod users;
pub mod wallboard;

use crate::auth::Access;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use axum::routing::{MethodFilter, MethodRouter, on};
use kefu_core::Permission::{
    AuditRead, CallsControl, ConfigManage, ConfigRead, DirectoryRead, EventLogRead, FloorManage, RecordingsRead,
    TelephonyMonitor, TrunksManage, UsersManage,
};
use std::net::SocketAddr;

/// One route: method, path template, who may call it, and the handler.
pub struct RouteDef {
    /// HTTP method.
    pub method: Method,
    /// Path template in axum/OpenAPI syntax (`/api/v1/users/{id}`).
    pub path: &'static str,
    /// The access rule enforced before the handler.
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    let filter = match method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    };
    let handler = on(filter, handler)
        .route_layer(axum::middleware::from_fn(move |req, next| crate::auth::access::check(access, req, next)));
    RouteDef { method, path, access, handler }
}

/// Every route of the API.
pub fn table() -> Vec<RouteDef> {
    use Access::{Allowed, Authenticated, OwnOr, Public, SelfOr};
    use Method as M;
    vec![
        // operations
        route(M::GET, "/healthz", Public, health::healthz),
        route(M::GET, "/readyz", Public, health::readyz),
        route(M::GET, "/metrics", Public, health::metrics),
        route(M::GET, "/api/v1/openapi.json", Public, openapi::document),
        // auth
        route(M::POST, "/api/v1/auth/login", Public, auth::login),
        route(M::POST, "/api/v1/auth/logout", Authenticated, auth::logout),
        route(M::POST, "/api/v1/auth/password", Authenticated, auth::change_password),
        // users
        route(M::GET, "/api/v1/users", Allowed(DirectoryRead), users::list),
        route(M::POST, "/api/v1/users", Allowed(UsersManage), users::create),
        route(M::GET, "/api/v1/users/me", Authenticated, users::me),
        route(M::GET, "/api/v1/users/{id}", SelfOr(DirectoryRead), users::get),
        route(M::PATCH, "/api/v1/users/{id}", Allowed(UsersManage), users::update),
        route(M::DELETE, "/api/v1/users/{id}", Allowed(UsersManage), users::delete),
        // teams
        route(M::GET, "/api/v1/teams", Allowed(ConfigRead), teams::list),
        route(M::POST, "/api/v1/teams", Allowed(ConfigManage), teams::create),
        route(M::GET, "/api/v1/teams/{id}", Allowed(ConfigRead), teams::get),
        route(M::PATCH, "/api/v1/teams/{id}", Allowed(ConfigManage), teams::update),
        route(M::DELETE, "/api/v1/teams/{id}", Allowed(ConfigManage), teams::delete),
        // skills
        route(M::GET, "/api/v1/skills", Allowed(ConfigRead), skills::list),
        route(M::POST, "/api/v1/skills", Allowed(ConfigManage), skills::create),
        route(M::GET, "/api/v1/skills/{id}", Allowed(ConfigRead), skills::get),
        route(M::PATCH, "/api/v1/skills/{id}", Allowed(ConfigManage), skills::update),
        route(M::DELETE, "/api/v1/skills/{id}", Allowed(ConfigManage), skills::delete),
        // queues
        route(M::GET, "/api/v1/queues", Allowed(ConfigRead), queues::list),
        route(M::POST, "/api/v1/queues", Allowed(ConfigManage), queues::create),
        route(M::GET, "/api/v1/queues/{id}", Allowed(ConfigRead), queues::get),
        route(M::PATCH, "/api/v1/queues/{id}", Allowed(ConfigManage), queues::update),
        route(M::DELETE, "/api/v1/queues/{id}", Allowed(ConfigManage), queues::delete),
        // IVR
        route(M::GET, "/api/v1/ivr/flows", Allowed(ConfigRead), ivr::list),
        route(M::GET, "/api/v1/ivr/flows/{name}", Allowed(ConfigRead), ivr::get),
        route(M::PUT, "/api/v1/ivr/flows/{name}", Allowed(ConfigManage), ivr::put),
        route(M::DELETE, "/api/v1/ivr/flows/{name}", Allowed(ConfigManage), ivr::delete),
        route(M::GET, "/api/v1/ivr/prompts", Allowed(ConfigRead), prompts::list),
        route(M::PUT, "/api/v1/ivr/prompts/{language}/{name}", Allowed(ConfigManage), prompts::put),
        route(M::DELETE, "/api/v1/ivr/prompts/{language}/{name}", Allowed(ConfigManage), prompts::delete),
        // telephony
        route(M::GET, "/api/v1/trunks", Allowed(TrunksManage), trunks::list),
        route(M::POST, "/api/v1/trunks", Allowed(TrunksManage), trunks::create),
        route(M::GET, "/api/v1/trunks/{id}", Allowed(TrunksManage), trunks::get),
        route(M::PATCH, "/api/v1/trunks/{id}", Allowed(TrunksManage), trunks::update),
        route(M::DELETE, "/api/v1/trunks/{id}", Allowed(TrunksManage), trunks::delete),
        route(M::GET, "/api/v1/recordings", OwnOr(RecordingsRead), recordings::list),
        route(M::GET, "/api/v1/recordings/{id}", OwnOr(RecordingsRead), recordings::get),
        route(M::GET, "/api/v1/recordings/{id}/audio", OwnOr(RecordingsRead), recordings::audio),
        // voicemails, callbacks and surveys
        route(M::GET, "/api/v1/voicemails", Allowed(CallsControl), queue_experience::list_voicemails),
        route(M::POST, "/api/v1/voicemails/{id}/heard", Allowed(CallsControl), queue_experience::mark_heard),
        route(M::GET, "/api/v1/voicemails/{id}/audio", Allowed(CallsControl), queue_experience::audio),
        route(M::GET, "/api/v1/callbacks", Allowed(CallsControl), queue_experience::list_callbacks),
        route(M::POST, "/api/v1/callbacks/{id}/finish", Allowed(CallsControl), queue_experience::finish_callback),
        route(M::GET, "/api/v1/surveys", Allowed(RecordingsRead), queue_experience::surveys),
        // telephony
        route(M::GET, "/api/v1/registrations", Allowed(TelephonyMonitor), calls::registrations),
        route(M::GET, "/api/v1/calls", Allowed(CallsControl), calls::list),
        route(M::POST, "/api/v1/calls", Allowed(CallsControl), calls::dial),
        route(M::GET, "/api/v1/calls/{id}", Allowed(CallsControl), calls::get),
        route(M::POST, "/api/v1/calls/{id}/hold", Allowed(CallsControl), calls::hold),
        route(M::POST, "/api/v1/calls/{id}/unhold", Allowed(CallsControl), calls::unhold),
        route(M::POST, "/api/v1/calls/{id}/hangup", Allowed(CallsControl), calls::hangup),
        route(M::POST, "/api/v1/calls/{id}/transfer", Allowed(CallsControl), calls::transfer),
        route(M::POST, "/api/v1/calls/{id}/transfer/complete", Allowed(CallsControl), calls::complete_transfer),
        route(M::POST, "/api/v1/calls/{id}/transfer/cancel", Allowed(CallsControl), calls::cancel_transfer),
        route(M::POST, "/api/v1/calls/{id}/conference", Allowed(CallsControl), calls::conference),
        // the agent's extras, and supervisors' actions on calls (audited, `supervisor.action` events)
        route(M::POST, "/api/v1/calls/{id}/support", Allowed(CallsControl), supervisor::support),
        route(M::POST, "/api/v1/calls/{id}/harassment", Allowed(CallsControl), blocklist::harassment),
        route(M::POST, "/api/v1/calls/{id}/monitor", Allowed(TelephonyMonitor), supervisor::start_monitor),
        route(M::PUT, "/api/v1/calls/{id}/monitor", Allowed(TelephonyMonitor), supervisor::change_monitor),
        route(M::DELETE, "/api/v1/calls/{id}/monitor", Allowed(TelephonyMonitor), supervisor::stop_monitor),
        route(M::POST, "/api/v1/calls/{id}/force-transfer", Allowed(TelephonyMonitor), supervisor::force_transfer),
        route(M::POST, "/api/v1/calls/{id}/force-hangup", Allowed(TelephonyMonitor), supervisor::force_hangup),
        // ACD
        route(M::GET, "/api/v1/agents/me/state", Allowed(CallsControl), agents::my_state),
        route(M::PUT, "/api/v1/agents/me/state", Allowed(CallsControl), agents::set_my_state),
        route(M::GET, "/api/v1/agents/colleagues", Allowed(CallsControl), agents::colleagues),
        route(M::PUT, "/api/v1/agents/{id}/state", Allowed(TelephonyMonitor), agents::set_agent_state),
        route(M::GET, "/api/v1/acd", Allowed(TelephonyMonitor), agents::status),
        route(M::POST, "/api/v1/agents/{id}/logout", Allowed(TelephonyMonitor), supervisor::force_logout),
        route(M::POST, "/api/v1/queues/{id}/merge", Allowed(TelephonyMonitor), supervisor::merge_queues),
        route(M::POST, "/api/v1/queues/{id}/split", Allowed(TelephonyMonitor), supervisor::split_queues),
        // the floor: wallboard, blocklist, shift handover
        route(M::GET, "/api/v1/wallboard", Allowed(TelephonyMonitor), wallboard::wallboard),
        route(M::GET, "/api/v1/wallboard/trend", Allowed(TelephonyMonitor), wallboard::trend),
        route(M::GET, "/api/v1/wallboard/thresholds", Allowed(TelephonyMonitor), wallboard::get_thresholds),
        route(M::PUT, "/api/v1/wallboard/thresholds", Allowed(FloorManage), wallboard::put_thresholds),
        route(M::GET, "/api/v1/blocklist", OwnOr(TelephonyMonitor), blocklist::list),
        route(M::POST, "/api/v1/blocklist", Allowed(FloorManage), blocklist::add),
        route(M::POST, "/api/v1/blocklist/{id}/approve", Allowed(FloorManage), blocklist::approve),
        route(M::POST, "/api/v1/blocklist/{id}/reject", Allowed(FloorManage), blocklist::reject),
        route(M::DELETE, "/api/v1/blocklist/{id}", Allowed(FloorManage), blocklist::remove),
        route(M::GET, "/api/v1/handover", Allowed(TelephonyMonitor), handover::list),
        route(M::POST, "/api/v1/handover", Allowed(TelephonyMonitor), handover::create),
        // logs
        route(M::GET, "/api/v1/events/log", Allowed(EventLogRead), events::log),
        // the live CTI stream (WebSocket; filtered by role inside, see `crate::cti::filter`)
        route(M::GET, "/api/v1/events", Authenticated, cti::events),
        route(M::GET, "/api/v1/audit", Allowed(AuditRead), audit::list),
        // work orders: categories, templates, orders (finer checks in `tickets::require_change`)
        route(M::GET, "/api/v1/categories", Allowed(kefu_core::Permission::TicketsRead), categories::tree),
        route(M::POST, "/api/v1/categories", Allowed(ConfigManage), categories::create),
        route(M::PATCH, "/api/v1/categories/{id}", Allowed(ConfigManage), categories::update),
        route(M::DELETE, "/api/v1/categories/{id}", Allowed(ConfigManage), categories::delete),
        route(M::GET, "/api/v1/categories/export", Allowed(ConfigRead), categories::export),
        route(M::PUT, "/api/v1/categories/import", Allowed(ConfigManage), categories::import),
        route(M::GET, "/api/v1/ticket-templates", Allowed(kefu_core::Permission::TicketsRead), ticket_templates::list),
        route(M::POST, "/api/v1/ticket-templates", Allowed(ConfigManage), ticket_templates::create),
        route(
            M::GET,
            "/api/v1/ticket-templates/{id}",
            Allowed(kefu_core::Permission::TicketsRead),
            ticket_templates::get,
        ),
        route(M::PATCH, "/api/v1/ticket-templates/{id}", Allowed(ConfigManage), ticket_templates::update),
        route(M::DELETE, "/api/v1/ticket-templates/{id}", Allowed(ConfigManage), ticket_templates::delete),
        route(M::GET, "/api/v1/tickets", Allowed(kefu_core::Permission::TicketsRead), tickets::list),
        route(M::POST, "/api/v1/tickets", Allowed(kefu_core::Permission::TicketsWork), tickets::create),
        route(M::GET, "/api/v1/tickets/export.csv", Allowed(kefu_core::Permission::DataExport), tickets::export_csv),
        route(
            M::GET,
            "/api/v1/tickets/by-number/{number}",
            Allowed(kefu_core::Permission::TicketsRead),
            tickets::by_number,
        ),
        route(M::GET, "/api/v1/tickets/{id}", Allowed(kefu_core::Permission::TicketsRead), tickets::get),
        route(M::PATCH, "/api/v1/tickets/{id}", Allowed(kefu_core::Permission::TicketsWork), tickets::update),
        route(
            M::POST,
            "/api/v1/tickets/{id}/status",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::move_status,
        ),
        route(
            M::POST,
            "/api/v1/tickets/{id}/assign",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::assign,
        ),
        route(
            M::POST,
            "/api/v1/tickets/{id}/dispatch",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::dispatch,
        ),
        route(
            M::POST,
            "/api/v1/tickets/{id}/escalate",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::escalate,
        ),
        route(
            M::POST,
            "/api/v1/tickets/{id}/comments",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::comment,
        ),
        route(
            M::GET,
            "/api/v1/tickets/{id}/history",
            Allowed(kefu_core::Permission::TicketsRead),
            tickets_actions::history,
        ),
        route(M::POST, "/api/v1/tickets/{id}/step", Allowed(kefu_core::Permission::TicketsWork), tickets_actions::step),
        route(
            M::POST,
            "/api/v1/tickets/{id}/calls",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::link_call,
        ),
        route(
            M::POST,
            "/api/v1/tickets/{id}/attachments",
            Allowed(kefu_core::Permission::TicketsWork),
            tickets_actions::upload,
        ),
        route(
            M::GET,
            "/api/v1/tickets/{id}/attachments",
            Allowed(kefu_core::Permission::TicketsRead),
            tickets_actions::attachments,
        ),
        route(
            M::GET,
            "/api/v1/tickets/{id}/attachments/{attachment}",
            Allowed(kefu_core::Permission::TicketsRead),
            tickets_actions::download,
        ),
        // SLA, callbacks and surveys of work orders; the service configuration
        route(
            M::GET,
            "/api/v1/tickets/{id}/sla",
            Allowed(kefu_core::Permission::TicketsRead),
            service_config::ticket_sla,
        ),
        route(M::GET, "/api/v1/sla/breaches", Allowed(kefu_core::Permission::TicketsRead), service_config::breaches),
        route(M::GET, "/api/v1/service/config", Allowed(ConfigRead), service_config::get),
        route(M::PUT, "/api/v1/service/config", Allowed(ConfigManage), service_config::put),
        route(M::GET, "/api/v1/followups", Allowed(kefu_core::Permission::TicketsWork), followups::list),
        route(
            M::POST,
            "/api/v1/followups/{id}/attempts",
            Allowed(kefu_core::Permission::TicketsWork),
            followups::attempt,
        ),
        route(
            M::PUT,
            "/api/v1/tickets/{id}/survey",
            Allowed(kefu_core::Permission::TicketsWork),
            followups::put_survey,
        ),
        route(
            M::GET,
            "/api/v1/tickets/{id}/survey",
            Allowed(kefu_core::Permission::TicketsRead),
            followups::get_survey,
        ),
        route(
            M::GET,
            "/api/v1/surveys/tickets/summary",
            Allowed(kefu_core::Permission::TicketsRead),
            followups::survey_summary,
        ),
        // customers (masking and the PII audit in `customers::views`)
        route(M::GET, "/api/v1/customers", Allowed(kefu_core::Permission::CustomersRead), customers::list),
        route(M::POST, "/api/v1/customers", Allowed(kefu_core::Permission::CustomersWrite), customers::create),
        route(
            M::GET,
            "/api/v1/customers/export.csv",
            Allowed(kefu_core::Permission::DataExport),
            customers::export_csv,
        ),
        route(M::GET, "/api/v1/customers/{id}", Allowed(kefu_core::Permission::CustomersRead), customers::get),
        route(M::PATCH, "/api/v1/customers/{id}", Allowed(kefu_core::Permission::CustomersWrite), customers::update),
        route(M::POST, "/api/v1/customers/{id}/erase", Allowed(kefu_core::Permission::PiiRead), customers::erase),
        route(
            M::GET,
            "/api/v1/customers/{id}/timeline",
            Allowed(kefu_core::Permission::CustomersRead),
            timeline::timeline,
        ),
        route(
            M::GET,
            "/api/v1/customers/{id}/assets",
            Allowed(kefu_core::Permission::CustomersRead),
            customer_parts::list_assets,
        ),
        route(
            M::POST,
            "/api/v1/customers/{id}/assets",
            Allowed(kefu_core::Permission::CustomersWrite),
            customer_parts::create_asset,
        ),
        route(
            M::PATCH,
            "/api/v1/customers/{id}/assets/{asset}",
            Allowed(kefu_core::Permission::CustomersWrite),
            customer_parts::update_asset,
        ),
        route(
            M::DELETE,
            "/api/v1/customers/{id}/assets/{asset}",
            Allowed(kefu_core::Permission::CustomersWrite),
            customer_parts::delete_asset,
        ),
        route(
            M::GET,
            "/api/v1/customers/{id}/notes",
            Allowed(kefu_core::Permission::CustomersRead),
            customer_parts::list_notes,
        ),
        route(
            M::POST,
            "/api/v1/customers/{id}/notes",
            Allowed(kefu_core::Permission::CustomersWrite),
            customer_parts::create_note,
        ),
        route(
            M::GET,
            "/api/v1/customer-fields",
            Allowed(kefu_core::Permission::CustomersRead),
            customer_parts::list_fields,
        ),
        route(M::POST, "/api/v1/customer-fields", Allowed(ConfigManage), customer_parts::create_field),
        route(M::PATCH, "/api/v1/customer-fields/{id}", Allowed(ConfigManage), customer_parts::update_field),
        route(M::DELETE, "/api/v1/customer-fields/{id}", Allowed(ConfigManage), customer_parts::delete_field),
        // knowledge base
        route(M::GET, "/api/v1/kb/articles", Allowed(kefu_core::Permission::KbRead), kb::list),
        route(M::POST, "/api/v1/kb/articles", Allowed(kefu_core::Permission::KbWrite), kb::create),
        route(M::GET, "/api/v1/kb/articles/{id}", Allowed(kefu_core::Permission::KbRead), kb::get),
        route(M::PATCH, "/api/v1/kb/articles/{id}", Allowed(kefu_core::Permission::KbWrite), kb::update),
        route(M::DELETE, "/api/v1/kb/articles/{id}", Allowed(kefu_core::Permission::KbWrite), kb::delete),
        route(M::GET, "/api/v1/kb/articles/{id}/versions", Allowed(kefu_core::Permission::KbWrite), kb::versions),
        route(
            M::POST,
            "/api/v1/kb/articles/from-ticket/{id}",
            Allowed(kefu_core::Permission::KbWrite),
            kb::from_ticket,
        ),
        route(M::GET, "/api/v1/kb/search", Allowed(kefu_core::Permission::KbRead), kb::search),
        route(M::POST, "/api/v1/kb/reindex", Allowed(ConfigManage), kb::reindex),
    ]
}

/// The (method, path, access) of every route, for documentation and the role-matrix test.
pub fn rules() -> Vec<(Method, &'static str, Access)> {
    table().into_iter().map(|r| (r.method, r.path, r.access)).collect()
}

/// The router for every route, with JSON 404 and 405 answers.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for def in table() {
        router = router.route(def.path, def.handler);
    }
    router.fallback(crate::web::fallback).method_not_allowed_fallback(|| async {
        ApiError::new(ErrorCode::MethodNotAllowed, "this route does not accept that method")
    })
}

/// The client's address as seen by the server (for rate limits and the audit log).
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
        Ok(ClientIp(ip))
    }
}

/// Checks a name field: trimmed, 1–64 characters.
pub(crate) fn valid_name(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > 64 {
        return Err(ApiError::validation(format!("{field} must be 1–64 characters, got {n}")));
    }
    if v.chars().any(char::is_control) {
        return Err(ApiError::validation(format!("{field} must not contain control characters")));
    }
    Ok(v.to_owned())
}

/// Deserialises a field that may be absent (leave alone), `null` (clear) or a value (set).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A CSV download: the body with its type, a file name, and no caching (exports carry
/// customers' data).
pub(crate) fn csv_response(disposition: &'static str, body: Vec<u8>) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition)),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        body,
    )
        .into_response()
}

/// Writes an audit entry for an administrative change. The change is already committed, so
/// a failure here is logged loudly rather than reported to the caller as a failed change.
pub(crate) async fn audit_change(
    state: &AppState,
    who: &crate::auth::Principal,
    ip: &str,
    action: &str,
    target: String,
    detail: serde_json::Value,
) {
    let entry = kefu_store::NewAuditEntry {
        at: state.clock.now(),
        actor_id: Some(who.id),
        actor_name: who.username.clone(),
        action: action.to_owned(),
        target,
        outcome: kefu_store::AuditOutcome::Success,
        client_ip: Some(ip.to_owned()),
        detail,
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, action, "could not write audit entry");
    }
}
