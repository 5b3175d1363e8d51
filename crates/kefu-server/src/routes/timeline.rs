//! A customer's timeline: every interaction across channels in one list, newest first —
//! calls (with their recording and the caller's survey answers), work orders (with their
//! status and category), and notes. Calls come from the event log (`customer.identified`,
//! written when a call's number matches the customer), the rest from their own tables.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::event::EventKind;
use kefu_core::{CustomerId, Timestamp};
use kefu_store::{EventQuery, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// The most entries one timeline answer holds.
pub const MAX_ENTRIES: u32 = 200;

/// `?limit=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Newest entries to return, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// What a timeline entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A phone call from or to one of the customer's numbers.
    Call,
    /// A work order filed for the customer.
    WorkOrder,
    /// A note an agent left.
    Note,
}

/// One thing that happened with the customer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// When (epoch ms): a call's start, an order's creation, a note's writing.
    pub at: Timestamp,
    /// What it is.
    pub kind: EntryKind,
    /// The call's SIP Call-ID, the order's id or the note's id.
    pub id: String,
    /// One line for a person: the order's number and summary, the note's text.
    pub title: String,
    /// The rest, by kind: a call's `recording_id`, `duration_ms` and `survey`; an order's
    /// `number`, `status`, `category`, `priority`, `type`; a note's `author_id`.
    pub detail: serde_json::Value,
}

/// The customer's timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Timeline {
    /// The customer.
    pub customer_id: CustomerId,
    /// Newest first.
    pub entries: Vec<TimelineEntry>,
}

/// A customer's interactions across channels, newest first. 404 for an unknown customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id"), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    PathId(id): PathId<CustomerId>,
    Query(q): Query<TimelineQuery>,
) -> ApiResult<Json<Timeline>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_ENTRIES).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be 1–{MAX_ENTRIES}, got {limit}")));
    }
    if !state.store.customer_exists(id).await? {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    let store = &state.store;
    let mut entries = Vec::new();

    // calls: the newest `limit` identifications (the log reads oldest first, so read the
    // customer's identifications, which are few per customer, and keep the newest)
    let query = EventQuery {
        customer: Some(id),
        kinds: vec![EventKind::CustomerIdentified],
        page: PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None },
        ..Default::default()
    };
    let mut calls: Vec<(Timestamp, String)> = store
        .query_events(&query)
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.interaction.map(|call| (e.at, call.to_string())))
        .collect();
    calls.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    // a call identified twice (a second customer leg after a transfer) is listed once
    let mut seen = std::collections::HashSet::new();
    calls.retain(|(_, call)| seen.insert(call.clone()));
    calls.truncate(limit as usize);
    let call_ids: Vec<String> = calls.iter().map(|(_, c)| c.clone()).collect();
    let recordings: HashMap<String, kefu_store::Recording> =
        store.recordings_for_calls(&call_ids).await?.into_iter().map(|r| (r.call_id.clone(), r)).collect();
    for (at, call) in calls {
        let recording = recordings.get(&call);
        let survey = store.survey_answers_for_call(&call).await?;
        let survey: Vec<_> = survey.iter().map(|a| json!({ "question": a.question, "score": a.score })).collect();
        entries.push(TimelineEntry {
            at,
            kind: EntryKind::Call,
            id: call,
            title: String::new(),
            detail: json!({
                "recording_id": recording.map(|r| r.id),
                "duration_ms": recording.map(|r| r.duration_ms),
                "agent_id": recording.and_then(|r| r.agent_id),
                "survey": survey,
            }),
        });
    }

    // work orders, with their category's path
    let tickets = store.tickets_for_customer(id, limit).await?;
    if !tickets.is_empty() {
        let paths: HashMap<_, _> = store.category_tree().await?.into_iter().map(|c| (c.id, c.path)).collect();
        for t in tickets {
            entries.push(TimelineEntry {
                at: t.created_at,
                kind: EntryKind::WorkOrder,
                id: t.id.to_string(),
                title: format!("{} {}", t.number, t.summary),
                detail: json!({
                    "number": t.number,
                    "status": t.status,
                    "type": t.ticket_type,
                    "priority": t.priority,
                    "category": paths.get(&t.category_id),
                    "channel": t.channel,
                    "owner_id": t.owner_id,
                    "resolved_at": t.resolved_at,
                    "closed_at": t.closed_at,
                }),
            });
        }
    }

    for n in store.customer_notes(id, limit).await? {
        entries.push(TimelineEntry {
            at: n.created_at,
            kind: EntryKind::Note,
            id: n.id.to_string(),
            title: n.body,
            detail: json!({ "author_id": n.author_id }),
        });
    }

    entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
    entries.truncate(limit as usize);
    Ok(Json(Timeline { customer_id: id, entries }))
}
