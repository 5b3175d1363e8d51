//! The center's service configuration — business calendar (hours, holidays, make-up
//! workdays), escalation rules and the SLA warning percentage — read by everyone with
//! `config_read`, changed by administrators (`config_manage`; audited, every problem reported
//! at once, open orders' timers recomputed); and where the SLA clock stands: a work order's
//! timers and facts, and the breach report.

use super::{ClientIp, audit_change};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::service::calendar::BusinessCalendar;
use kefu_core::service::escalation::EscalationRule;
use kefu_core::{TicketId, Timestamp};
use kefu_store::{PageRequest, ServiceConfig, SlaEvent, SlaKind, SlaReport, SlaReportQuery, SlaTimer, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A change to the service configuration; a key left out keeps its current value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutServiceConfig {
    /// The business calendar: `utc_offset_minutes`, `week` (`mon` … `sun`: lists of
    /// `"09:00-18:00"`), `holidays` and `workdays` (lists of `YYYY-MM-DD`).
    #[serde(default)]
    #[schema(value_type = Option<BusinessCalendar>)]
    pub calendar: Option<Value>,
    /// The escalation rules, in order (replaces the list).
    #[serde(default)]
    #[schema(value_type = Option<Vec<EscalationRule>>)]
    pub escalation_rules: Option<Value>,
    /// Warn at this percentage of each SLA target, 0 (never) to 99.
    #[serde(default)]
    #[schema(value_type = Option<u8>)]
    pub warn_percent: Option<Value>,
}

/// The SLA clock of one work order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketSla {
    /// Its timers, armed and fired, by due time.
    pub timers: Vec<SlaTimer>,
    /// What they produced: warnings, breaches, escalations, oldest first.
    pub events: Vec<SlaEvent>,
}

/// `?from=&to=&kind=&limit=&cursor=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreachesQuery {
    /// At or after this instant (epoch ms).
    pub from: Option<i64>,
    /// Before this instant (epoch ms).
    pub to: Option<i64>,
    /// List facts of this kind (`first_response_warning` … `resolution_breach`, `escalation`);
    /// breaches when absent.
    pub kind: Option<String>,
    /// Items per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Parses one key of the body, adding a problem when it does not fit.
fn field<T: serde::de::DeserializeOwned>(name: &str, v: Option<Value>, problems: &mut Vec<String>) -> Option<T> {
    let v = v?;
    match serde_json::from_value(v) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(format!("{name}: {e}"));
            None
        }
    }
}

/// The service configuration in force (defaults for keys never set).
#[utoipa::path(get, path = "/api/v1/service/config", tag = "work orders", security(("bearer" = [])),
    responses((status = 200, body = ServiceConfig), (status = 403, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<ServiceConfig>> {
    let cfg = state.store.service_config().await?;
    state.sla.set_config(cfg.clone());
    Ok(Json(cfg))
}

/// Changes the service configuration: every problem is reported at once (422, `details`);
/// the change is audited (`service.config`) and the timers of every open work order are
/// recomputed in the background.
#[utoipa::path(put, path = "/api/v1/service/config", tag = "work orders", security(("bearer" = [])),
    request_body = PutServiceConfig,
    responses((status = 200, body = ServiceConfig), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<PutServiceConfig>,
) -> ApiResult<Json<ServiceConfig>> {
    let mut cfg = state.store.service_config().await?;
    let mut problems = Vec::new();
    let calendar = field::<BusinessCalendar>("calendar", req.calendar, &mut problems);
    let rules = field::<Vec<EscalationRule>>("escalation_rules", req.escalation_rules, &mut problems);
    let warn = field::<u8>("warn_percent", req.warn_percent, &mut problems);
    let changed: Vec<&str> =
        [("calendar", calendar.is_some()), ("escalation_rules", rules.is_some()), ("warn_percent", warn.is_some())]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
    if let Some(c) = calendar {
        cfg.calendar = c;
    }
    if let Some(r) = rules {
        cfg.escalation_rules = r;
    }
    if let Some(w) = warn {
        cfg.warn_percent = w;
    }
    problems.extend(cfg.problems());
    if !problems.is_empty() {
        let message = if problems.len() == 1 {
            format!("the service configuration is not valid: {}", problems[0])
        } else {
            format!("the service configuration has {} problems", problems.len())
        };
        return Err(ApiError::validation_details(message, problems));
    }
    let cfg = state.store.set_service_config(&cfg, Some(p.id), state.clock.now()).await?;
    state.sla.set_config(cfg.clone());
    audit_change(
        &state,
        &p,
        &ip,
        "service.config",
        changed.join(", "),
        serde_json::json!({ "changed": changed, "config": cfg }),
    )
    .await;
    drop(crate::sla::recompute_open_tickets(&state));
    Ok(Json(cfg))
}

/// A work order's SLA timers and what they produced.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/sla", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")),
    responses((status = 200, body = TicketSla), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn ticket_sla(State(state): State<AppState>, PathId(id): PathId<TicketId>) -> ApiResult<Json<TicketSla>> {
    state.store.ticket(id).await?;
    let timers = state.store.ticket_timers(id).await?;
    let events = state.store.ticket_sla_events(id).await?;
    Ok(Json(TicketSla { timers, events }))
}

/// SLA facts of a period: counts by kind, how many orders breached, and the breaches (or
/// the facts of `kind`) with their orders, oldest first, paged.
#[utoipa::path(get, path = "/api/v1/sla/breaches", tag = "work orders", security(("bearer" = [])), params(BreachesQuery),
    responses((status = 200, body = SlaReport), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn breaches(State(state): State<AppState>, Query(q): Query<BreachesQuery>) -> ApiResult<Json<SlaReport>> {
    let kind =
        q.kind.as_deref().map(str::parse::<SlaKind>).transpose().map_err(|e| ApiError::bad_request(e.to_string()))?;
    let query = SlaReportQuery {
        from: q.from.map(Timestamp::from_millis),
        to: q.to.map(Timestamp::from_millis),
        kind,
        page: PageRequest { limit: q.limit, cursor: q.cursor },
    };
    let report = state.store.sla_report(&query).await.map_err(|e| match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?;
    Ok(Json(report))
}
