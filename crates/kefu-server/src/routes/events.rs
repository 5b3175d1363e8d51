//! The raw event log, for supervisors and integrations.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::event::{Event, EventKind};
use kefu_core::{CustomerId, InteractionId, QueueId, Timestamp, UserId};
use kefu_store::{EventQuery, Page, PageRequest};
use serde::Deserialize;

/// Filters for the event log.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// At or after this instant (epoch ms).
    pub since: Option<i64>,
    /// Before this instant (epoch ms).
    pub until: Option<i64>,
    /// Comma-separated kinds, e.g. `session.opened,session.closed`.
    pub kind: Option<String>,
    /// Only this agent's events.
    pub agent: Option<UserId>,
    /// Only this queue's events.
    pub queue: Option<QueueId>,
    /// Only this call's (chat's, email's) events: its whole story.
    pub interaction: Option<InteractionId>,
    /// Only events about this customer.
    pub customer: Option<CustomerId>,
    /// Events per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Reads the event log by time range and kind, oldest first.
#[utoipa::path(get, path = "/api/v1/events/log", tag = "events", security(("bearer" = [])), params(LogQuery),
    responses((status = 200, body = inline(Page<Event>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn log(State(state): State<AppState>, Query(q): Query<LogQuery>) -> ApiResult<Json<Page<Event>>> {
    let kinds = match q.kind.as_deref() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|k| k.trim().parse::<EventKind>().map_err(|e| ApiError::bad_request(e.to_string())))
            .collect::<ApiResult<Vec<_>>>()?,
    };
    if let (Some(s), Some(u)) = (q.since, q.until)
        && u < s
    {
        return Err(ApiError::bad_request("`until` is before `since`"));
    }
    let query = EventQuery {
        since: q.since.map(Timestamp::from_millis),
        until: q.until.map(Timestamp::from_millis),
        kinds,
        agent: q.agent,
        queue: q.queue,
        interaction: q.interaction,
        customer: q.customer,
        page: PageRequest { limit: q.limit, cursor: q.cursor },
    };
    Ok(Json(state.store.query_events(&query).await.map_err(|e| match e {
        kefu_store::StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?))
}
