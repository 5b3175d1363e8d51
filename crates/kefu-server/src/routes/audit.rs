//! The audit log of logins and administrative changes (administrators only).

use crate::error::ApiResult;
use crate::extract::{Json, Paging, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_store::{AuditEntry, Page};

/// Lists audit entries, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<AuditEntry>)), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<AuditEntry>>> {
    Ok(Json(state.store.list_audit(&paging.request()).await?))
}
