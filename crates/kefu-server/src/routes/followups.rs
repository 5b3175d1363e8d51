//! Callbacks after resolution (回访, TK-5) and satisfaction surveys of work orders (SURV-1):
//! the callback list and its attempts for agents and up (`tickets_work`), a work order's
//! survey (recorded with `tickets_work`, read with `tickets_read`) and the survey summary.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::service::followup::{AttemptOutcome, FollowUpState, Satisfaction};
use kefu_core::{FollowUpId, TicketId, Timestamp};
use kefu_store::{
    FollowUp, FollowUpAttempt, FollowUpFilter, Page, PageRequest, StoreError, SurveyChannel, TicketSurvey,
    TicketSurveySummary,
};
use serde::{Deserialize, Serialize};

/// Filters of the callback list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FollowUpsQuery {
    /// Only callbacks in this state: `open`, `done`, `failed` or `cancelled`.
    pub status: Option<FollowUpState>,
    /// Only callbacks due before this instant (epoch ms), e.g. now for the ones to make.
    pub due_before: Option<i64>,
    /// Callbacks per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A callback with its attempts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FollowUpDetail {
    /// The callback.
    #[serde(flatten)]
    pub followup: FollowUp,
    /// Its attempts, oldest first.
    pub attempt_log: Vec<FollowUpAttempt>,
}

/// One callback attempt.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttempt {
    /// How it went.
    pub outcome: AttemptOutcome,
    /// What happened, up to 5000 characters.
    #[serde(default)]
    pub note: String,
    /// The customer's survey answers, when the call was answered.
    #[serde(default)]
    pub survey: Option<SurveyScores>,
}

/// Three scores 1–5 and a comment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyScores {
    /// How fast the problem was solved, 1–5.
    pub speed: u8,
    /// The agent's attitude, 1–5.
    pub attitude: u8,
    /// The quality of the solution, 1–5.
    pub quality: u8,
    /// Free text, up to 500 characters.
    #[serde(default)]
    pub comment: String,
}

impl SurveyScores {
    fn satisfaction(self) -> Satisfaction {
        Satisfaction { speed: self.speed, attitude: self.attitude, quality: self.quality, comment: self.comment }
    }
}

/// A work order's survey answers.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSurvey {
    /// How fast the problem was solved, 1–5.
    pub speed: u8,
    /// The agent's attitude, 1–5.
    pub attitude: u8,
    /// The quality of the solution, 1–5.
    pub quality: u8,
    /// Free text, up to 500 characters.
    #[serde(default)]
    pub comment: String,
    /// Where the answers came from: `phone`, `sms`, `ivr` or `web`.
    pub channel: SurveyChannel,
}

/// `?from=&to=` (epoch ms).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// At or after this instant.
    pub from: Option<i64>,
    /// Before this instant.
    pub to: Option<i64>,
}

/// A bad cursor is the caller's mistake (400), like a bad query string.
fn list_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    }
}

/// Lists callbacks by due time.
#[utoipa::path(get, path = "/api/v1/followups", tag = "work orders", security(("bearer" = [])), params(FollowUpsQuery),
    responses((status = 200, body = inline(Page<FollowUp>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<FollowUpsQuery>) -> ApiResult<Json<Page<FollowUp>>> {
    let filter = FollowUpFilter { status: q.status, due_before: q.due_before.map(Timestamp::from_millis) };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_followups(&filter, &page).await.map_err(list_error)?))
}

/// Records a callback attempt: the first moves the order to `callback`; contact (answered,
/// refused) or the third failure finishes the callback and closes the order; a fourth attempt
/// is 409. A survey given with an answered call is stored as the order's survey.
#[utoipa::path(post, path = "/api/v1/followups/{id}/attempts", tag = "work orders", security(("bearer" = [])),
    params(("id" = FollowUpId, Path, description = "callback id")), request_body = NewAttempt,
    responses((status = 200, body = FollowUpDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn attempt(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<FollowUpId>,
    Json(req): Json<NewAttempt>,
) -> ApiResult<Json<FollowUpDetail>> {
    let survey = req.survey.map(SurveyScores::satisfaction);
    let f = state
        .store
        .record_followup_attempt(id, req.outcome, &req.note, survey.as_ref(), p.id, state.clock.now())
        .await?;
    crate::sla::ticket_changed(&state, f.ticket_id).await;
    let attempt_log = state.store.followup_attempts(id).await?;
    Ok(Json(FollowUpDetail { followup: f, attempt_log }))
}

/// Records a work order's survey (replacing an earlier one); only once it is resolved (409
/// before), each score 1–5 (422 otherwise).
#[utoipa::path(put, path = "/api/v1/tickets/{id}/survey", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = PutSurvey,
    responses((status = 200, body = TicketSurvey), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_survey(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<PutSurvey>,
) -> ApiResult<Json<TicketSurvey>> {
    let s = Satisfaction { speed: req.speed, attitude: req.attitude, quality: req.quality, comment: req.comment };
    Ok(Json(state.store.set_ticket_survey(id, &s, req.channel, Some(p.id), state.clock.now()).await?))
}

/// A work order's survey (404 when it has none).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/survey", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")),
    responses((status = 200, body = TicketSurvey), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_survey(State(state): State<AppState>, PathId(id): PathId<TicketId>) -> ApiResult<Json<TicketSurvey>> {
    state.store.ticket(id).await?;
    Ok(Json(state.store.ticket_survey(id).await?))
}

/// The work-order surveys of a period: count, mean per question, mean 0–100 score and the
/// share at or above the target of 85.
#[utoipa::path(get, path = "/api/v1/surveys/tickets/summary", tag = "work orders", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, body = TicketSurveySummary), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn survey_summary(
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<TicketSurveySummary>> {
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::bad_request("from must not be after to"));
    }
    let summary =
        state.store.ticket_survey_summary(q.from.map(Timestamp::from_millis), q.to.map(Timestamp::from_millis)).await?;
    Ok(Json(summary))
}
