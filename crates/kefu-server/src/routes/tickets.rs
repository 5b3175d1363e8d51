//! Work orders (工单): the filtered, sorted, paged list and its CSV export, creating an order
//! from a leaf category (its defaults fill what is not given), reading one with its SLA
//! status, and editing its content under optimistic concurrency. Who may change an order:
//! holders of `tickets_manage` any; holders of `tickets_work` their own, their team's, or an
//! unassigned order in no team. The workflow actions are in `tickets_actions.rs`.

use super::{ClientIp, audit_change, double_option};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kefu_core::service::calendar::BusinessCalendar;
use kefu_core::service::category::SlaTargets;
use kefu_core::service::sla::{SlaPolicy, SlaStatus, sla_calendar, status};
use kefu_core::service::ticket::{Channel, Priority, TicketStatus, TicketType};
use kefu_core::{CategoryId, CustomerId, Permission, TeamId, TemplateId, TicketId, Timestamp, UserId};
use kefu_store::{
    LinkedCall, NewTicket, Page, PageRequest, SortOrder, StoreError, Ticket, TicketFilter, TicketPatch, TicketSort,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most rows one CSV export holds.
pub const MAX_EXPORT_ROWS: usize = 100_000;

/// The center's business calendar: the configured one (`PUT /api/v1/service/config`), by
/// default office hours (Monday–Friday 09:00–18:00) in China (UTC+8).
pub fn center_calendar(state: &AppState) -> BusinessCalendar {
    state.sla.config().calendar.clone()
}

/// The calendar an order's SLA runs on: the center's when its targets count business hours,
/// else around the clock.
pub fn calendar_for(state: &AppState, targets: &SlaTargets) -> BusinessCalendar {
    sla_calendar(targets.business_hours, &center_calendar(state)).into_owned()
}

/// The UTC offset of the center's local day (work-order numbers follow it).
pub fn local_offset_min(state: &AppState) -> i32 {
    center_calendar(state).utc_offset_minutes
}

/// A work order with how its SLA stands now, its category's path and its linked calls.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketDetail {
    /// The order.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Each SLA target: due, met, breached, percent used.
    pub sla: SlaStatus,
    /// The category's path (`售后/产品质量/不新鲜`).
    pub category_path: String,
    /// Calls linked to the order.
    pub calls: Vec<LinkedCall>,
}

/// Builds the detail view of an order at the current time.
pub async fn detail(state: &AppState, ticket: Ticket) -> ApiResult<TicketDetail> {
    let cal = calendar_for(state, &ticket.sla_targets);
    let policy = SlaPolicy::from_targets(&ticket.sla_targets, state.sla.config().warn_percent);
    let sla = status(&policy, &ticket.sla_state, &cal, state.clock.now());
    let category_path = state.store.category(ticket.category_id).await.map(|c| c.path).unwrap_or_default();
    let calls = state.store.ticket_calls(ticket.id).await?;
    Ok(TicketDetail { ticket, sla, category_path, calls })
}

/// `Ok` if the caller may change `t`: managers any order; workers their own, their team's,
/// or one with neither owner nor team. Otherwise 403, and nothing changes.
pub async fn require_change(state: &AppState, p: &Principal, t: &Ticket) -> ApiResult<()> {
    if p.role.allows(Permission::TicketsManage) {
        return Ok(());
    }
    p.require(Permission::TicketsWork)?;
    if t.owner_id == Some(p.id) || (t.owner_id.is_none() && t.team_id.is_none()) {
        return Ok(());
    }
    let me = state.store.user(p.id).await?;
    if me.team_id.is_some() && me.team_id == t.team_id {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "work order {} belongs to another team or agent; only its owner, its team or a team lead may change it",
        t.number
    )))
}

/// Maps a failed body read: too large is 413, anything else 400.
pub fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "request body is larger than the server accepts")
    } else {
        ApiError::bad_request(format!("could not read the request body: {e}"))
    }
}

/// A bad cursor or filter value is the caller's mistake (400), like a bad query string.
fn list_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    }
}

/// Filters, sort and page of the work-order list (and the CSV export).
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketsQuery {
    /// Statuses, comma-separated (`new,assigned`).
    pub status: Option<String>,
    /// On this group's list.
    pub team: Option<TeamId>,
    /// Owned by this user, or `me`.
    pub owner: Option<String>,
    /// For this customer.
    pub customer: Option<CustomerId>,
    /// In this category or below it.
    pub category: Option<CategoryId>,
    /// Of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub ticket_type: Option<TicketType>,
    /// Of this priority (`p1` … `p4`).
    pub priority: Option<Priority>,
    /// Text in the summary, or an order's exact number.
    pub q: Option<String>,
    /// Created at or after (epoch ms).
    pub created_from: Option<i64>,
    /// Created before (epoch ms).
    pub created_to: Option<i64>,
    /// `true`: only orders that missed an SLA target; `false`: only those that did not.
    pub breached: Option<bool>,
    /// `created_at` (default), `updated_at` or `priority`.
    pub sort: Option<TicketSort>,
    /// `desc` (default) or `asc`.
    pub order: Option<SortOrder>,
    /// Items per page, 1–500 (default 50); for the export, the most rows.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl TicketsQuery {
    fn filter(&self, p: &Principal) -> ApiResult<TicketFilter> {
        let statuses = match self.status.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<TicketStatus>().map_err(|e| ApiError::bad_request(e.to_string())))
                .collect::<ApiResult<Vec<_>>>()?,
        };
        let owner = match self.owner.as_deref() {
            None => None,
            Some("me") => Some(p.id),
            Some(id) => Some(id.parse::<UserId>().map_err(|e| ApiError::bad_request(format!("owner: {e} (or `me`)")))?),
        };
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
        if q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::bad_request("q must be at most 200 characters"));
        }
        if let (Some(from), Some(to)) = (self.created_from, self.created_to)
            && from > to
        {
            return Err(ApiError::bad_request("created_from must not be after created_to"));
        }
        Ok(TicketFilter {
            statuses,
            team: self.team,
            owner,
            customer: self.customer,
            category: self.category,
            ticket_type: self.ticket_type,
            priority: self.priority,
            created_from: self.created_from.map(Timestamp::from_millis),
            created_to: self.created_to.map(Timestamp::from_millis),
            q,
            breached: self.breached,
        })
    }
}

/// Lists work orders: filtered, sorted, paged by cursor.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "work orders", security(("bearer" = [])), params(TicketsQuery),
    responses((status = 200, body = inline(Page<Ticket>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<TicketsQuery>,
) -> ApiResult<Json<Page<Ticket>>> {
    let filter = q.filter(&p)?;
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    let sort = q.sort.unwrap_or_default();
    let order = q.order.unwrap_or_default();
    Ok(Json(state.store.list_tickets(&filter, sort, order, &page).await.map_err(list_error)?))
}

/// A new work order. Type, priority and team default to the leaf category's.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// An active leaf category.
    pub category_id: CategoryId,
    /// Where the request came in.
    pub channel: Channel,
    /// One line, 1–200 characters.
    pub summary: String,
    /// Details, up to 10,000 characters.
    #[serde(default)]
    pub details: String,
    /// The customer, if known.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Type (default: the category's).
    #[serde(default, rename = "type")]
    pub ticket_type: Option<TicketType>,
    /// Priority (default: the category's).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Group (default: the category's).
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// Owner; the order starts `assigned` when given.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    /// Solutions, each from the category's list.
    #[serde(default)]
    pub solutions: Vec<String>,
    /// Money at stake, in yuan.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Whether the media are involved.
    #[serde(default)]
    pub media_exposure: bool,
    /// The result, when known as the order is filed (the wrap-up after a call). An agent may
    /// file an order for another department's list, which they may not change afterwards, so
    /// the wrap-up gives it here.
    #[serde(default)]
    pub result: String,
    /// A service-process template.
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    /// The template's field values.
    #[serde(default)]
    pub template_fields: Map<String, Value>,
    /// A call (SIP Call-ID) to link.
    #[serde(default)]
    pub call_id: Option<String>,
}

/// Creates a work order.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "work orders", security(("bearer" = [])), request_body = CreateTicket,
    responses((status = 201, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateTicket>,
) -> ApiResult<(StatusCode, Json<TicketDetail>)> {
    let new = NewTicket {
        customer_id: req.customer_id,
        channel: req.channel,
        category_id: req.category_id,
        ticket_type: req.ticket_type,
        priority: req.priority,
        team_id: req.team_id,
        owner_id: req.owner_id,
        summary: req.summary,
        details: req.details,
        solutions: req.solutions,
        result: req.result,
        amount: req.amount,
        media_exposure: req.media_exposure,
        template_id: req.template_id,
        template_fields: req.template_fields,
        call_id: req.call_id,
        created_by: p.id,
        created_at: state.clock.now(),
    };
    let t = state.store.create_ticket(&new, local_offset_min(&state)).await?;
    crate::sla::ticket_changed(&state, t.id).await;
    Ok((StatusCode::CREATED, Json(detail(&state, t).await?)))
}

/// One work order with its SLA status.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")),
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<TicketId>) -> ApiResult<Json<TicketDetail>> {
    let t = state.store.ticket(id).await?;
    Ok(Json(detail(&state, t).await?))
}

/// One work order by its number (`GD20261122-0001`).
#[utoipa::path(get, path = "/api/v1/tickets/by-number/{number}", tag = "work orders", security(("bearer" = [])),
    params(("number" = String, Path, description = "work order number")),
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn by_number(
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> ApiResult<Json<TicketDetail>> {
    let t = state.store.ticket_by_number(number.trim()).await?;
    Ok(Json(detail(&state, t).await?))
}

/// A change to a work order's content; absent fields stay. `version` must be the order's
/// current version (409 otherwise).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// The version the change is based on.
    pub version: i64,
    /// New summary.
    pub summary: Option<String>,
    /// New details.
    pub details: Option<String>,
    /// New solutions (from the category's list).
    pub solutions: Option<Vec<String>>,
    /// New result.
    pub result: Option<String>,
    /// New type.
    #[serde(rename = "type")]
    pub ticket_type: Option<TicketType>,
    /// New priority.
    pub priority: Option<Priority>,
    /// Another active leaf category (its SLA targets are copied).
    pub category_id: Option<CategoryId>,
    /// New customer, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CustomerId>)]
    pub customer_id: Option<Option<CustomerId>>,
    /// New amount, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub amount: Option<Option<i64>>,
    /// Media exposure.
    pub media_exposure: Option<bool>,
    /// New template field values (all of them).
    pub template_fields: Option<Map<String, Value>>,
}

/// Changes a work order's content (one history row per changed field).
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = UpdateTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<UpdateTicket>,
) -> ApiResult<Json<TicketDetail>> {
    let current = state.store.ticket(id).await?;
    require_change(&state, &p, &current).await?;
    let patch = TicketPatch {
        summary: req.summary,
        details: req.details,
        solutions: req.solutions,
        result: req.result,
        ticket_type: req.ticket_type,
        priority: req.priority,
        category_id: req.category_id,
        customer_id: req.customer_id,
        amount: req.amount,
        media_exposure: req.media_exposure,
        template_fields: req.template_fields,
    };
    let t = state.store.update_ticket(id, req.version, &patch, Some(p.id), state.clock.now()).await?;
    crate::sla::ticket_changed(&state, id).await;
    Ok(Json(detail(&state, t).await?))
}

/// The work orders matching the list's filters as CSV (header row first; no phone numbers).
/// Written to the audit log (`ticket.export`).
#[utoipa::path(get, path = "/api/v1/tickets/export.csv", tag = "work orders", security(("bearer" = [])), params(TicketsQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn export_csv(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Query(q): Query<TicketsQuery>,
) -> ApiResult<Response> {
    if q.cursor.is_some() {
        return Err(ApiError::bad_request("the export takes no cursor; it returns every matching order"));
    }
    let filter = q.filter(&p)?;
    let max = q.limit.map_or(MAX_EXPORT_ROWS, |l| (l as usize).clamp(1, MAX_EXPORT_ROWS));
    let rows = state
        .store
        .export_tickets(&filter, q.sort.unwrap_or_default(), q.order.unwrap_or_default(), max)
        .await
        .map_err(list_error)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::internal(&e);
    w.write_record([
        "number",
        "created_at",
        "status",
        "type",
        "priority",
        "category",
        "summary",
        "customer",
        "owner",
        "team",
        "resolved_at",
    ])
    .map_err(csv_err)?;
    for r in &rows {
        let t = &r.ticket;
        w.write_record([
            t.number.as_str(),
            &t.created_at.to_iso8601(),
            t.status.as_str(),
            t.ticket_type.as_str(),
            t.priority.code(),
            &r.category_path,
            &t.summary,
            r.customer_name.as_deref().unwrap_or(""),
            r.owner_name.as_deref().unwrap_or(""),
            r.team_name.as_deref().unwrap_or(""),
            &t.resolved_at.map(Timestamp::to_iso8601).unwrap_or_default(),
        ])
        .map_err(csv_err)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::internal(&e))?;
    audit_change(
        &state,
        &p,
        &ip,
        "ticket.export",
        format!("{} work orders", rows.len()),
        serde_json::json!({ "rows": rows.len(), "query": {
            "status": q.status, "team": q.team, "owner": q.owner, "customer": q.customer, "category": q.category,
            "type": q.ticket_type, "priority": q.priority, "q": q.q, "created_from": q.created_from,
            "created_to": q.created_to, "breached": q.breached,
        }}),
    )
    .await;
    Ok(super::csv_response("attachment; filename=\"work-orders.csv\"", body))
}
