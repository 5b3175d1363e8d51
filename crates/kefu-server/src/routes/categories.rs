//! The work-order category tree: read as nested JSON by everyone who works orders, edited node
//! by node, and exported / imported whole as YAML by administrators (`ConfigRead` /
//! `ConfigManage`). An import reports every problem at once, each with its path.

use super::{ClientIp, audit_change, double_option};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_core::service::category::CategoryTree;
use kefu_core::{CategoryId, TeamId};
use kefu_store::{Category, CategoryDefaults, CategoryPatch, ImportSummary, NewCategory, PageRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `?all=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TreeQuery {
    /// `true`: include inactive nodes (default: only active ones).
    pub all: Option<bool>,
}

/// One node of the tree with the nodes below it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryView {
    /// Unique id.
    pub id: CategoryId,
    /// Name.
    pub name: String,
    /// Names from the top, joined with `/`.
    pub path: String,
    /// 1 (top) to 3.
    pub level: u8,
    /// Inactive nodes take no new orders.
    pub active: bool,
    /// A leaf's defaults (type, priority, team, SLA targets, solutions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defaults: Option<CategoryDefaults>,
    /// The owning group's name (with `defaults`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// The nodes below, in order.
    #[schema(no_recursion)]
    pub children: Vec<CategoryView>,
}

/// The tree as nested nodes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryTreeView {
    /// The top-level nodes, in order.
    pub categories: Vec<CategoryView>,
}

/// A new node.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    /// The parent; absent for a top-level node.
    #[serde(default)]
    pub parent_id: Option<CategoryId>,
    /// Name, 1–64 characters, no `/`, unique among its siblings.
    pub name: String,
    /// Order among siblings (default: last).
    #[serde(default)]
    pub position: Option<i64>,
    /// Leaf defaults; a node with defaults cannot get children.
    #[serde(default)]
    pub defaults: Option<CategoryDefaults>,
}

/// A change to a node; absent fields stay.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    /// New name.
    pub name: Option<String>,
    /// Move under another parent, or `null` to the top level (at most three levels in all).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CategoryId>)]
    pub parent_id: Option<Option<CategoryId>>,
    /// New order among siblings.
    pub position: Option<i64>,
    /// New leaf defaults, or `null` to remove them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CategoryDefaults>)]
    pub defaults: Option<Option<CategoryDefaults>>,
    /// `false` deactivates the node and everything below it; `true` reactivates it.
    pub active: Option<bool>,
}

/// Builds the nested view of a depth-first list.
pub fn nest(all: &[Category], parent: Option<CategoryId>) -> Vec<CategoryView> {
    all.iter()
        .filter(|c| c.parent_id == parent)
        .map(|c| CategoryView {
            id: c.id,
            name: c.name.clone(),
            path: c.path.clone(),
            level: c.level,
            active: c.active,
            defaults: c.defaults.clone(),
            team_name: c.team_name.clone(),
            children: nest(all, Some(c.id)),
        })
        .collect()
}

/// The tree, nested, with each leaf's defaults.
#[utoipa::path(get, path = "/api/v1/categories", tag = "work orders", security(("bearer" = [])), params(TreeQuery),
    responses((status = 200, body = CategoryTreeView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn tree(State(state): State<AppState>, Query(q): Query<TreeQuery>) -> ApiResult<Json<CategoryTreeView>> {
    let all = state.store.category_tree().await?;
    let all: Vec<Category> = if q.all.unwrap_or(false) { all } else { all.into_iter().filter(|c| c.active).collect() };
    Ok(Json(CategoryTreeView { categories: nest(&all, None) }))
}

/// Creates a node.
#[utoipa::path(post, path = "/api/v1/categories", tag = "work orders", security(("bearer" = [])),
    request_body = CreateCategory,
    responses((status = 201, body = Category), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateCategory>,
) -> ApiResult<(StatusCode, Json<Category>)> {
    let new = NewCategory { parent_id: req.parent_id, name: req.name, position: req.position, defaults: req.defaults };
    let c = state.store.create_category(&new, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "category.create", c.path.clone(), serde_json::json!({ "id": c.id })).await;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Changes a node: rename, move, reorder, set or remove its defaults, deactivate or reactivate.
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = CategoryId, Path, description = "category id")), request_body = UpdateCategory,
    responses((status = 200, body = Category), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CategoryId>,
    Json(req): Json<UpdateCategory>,
) -> ApiResult<Json<Category>> {
    let patch = CategoryPatch {
        name: req.name,
        parent_id: req.parent_id,
        position: req.position,
        defaults: req.defaults,
        active: req.active,
    };
    let c = state.store.update_category(id, &patch, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "category.update", c.path.clone(), serde_json::json!({ "id": id })).await;
    Ok(Json(c))
}

/// Deletes a node without sub-categories that no work order uses (409 otherwise: deactivate it).
#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = CategoryId, Path, description = "category id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CategoryId>,
) -> ApiResult<StatusCode> {
    let c = state.store.category(id).await?;
    state.store.delete_category(id).await?;
    audit_change(&state, &p, &ip, "category.delete", c.path, serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The active tree as YAML (the import format; leaves name their group by team name).
#[utoipa::path(get, path = "/api/v1/categories/export", tag = "work orders", security(("bearer" = [])),
    responses((status = 200, content_type = "application/yaml", body = String), (status = 403, body = crate::error::ErrorBody)))]
pub async fn export(State(state): State<AppState>) -> ApiResult<Response> {
    let tree = state.store.export_categories().await?;
    let yaml = serde_norway::to_string(&tree).map_err(|e| ApiError::internal(&e))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"categories.yaml\"")),
        ],
        yaml,
    )
        .into_response())
}

/// Every team by name.
async fn teams_by_name(state: &AppState) -> ApiResult<HashMap<String, TeamId>> {
    let mut out = HashMap::new();
    let mut cursor = None;
    loop {
        let page = state.store.list_teams(&PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor }).await?;
        out.extend(page.items.into_iter().map(|t| (t.name, t.id)));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every problem of an import: the tree's own rules, and group names that are not teams.
pub fn import_problems(tree: &CategoryTree, teams: &HashMap<String, TeamId>) -> Vec<String> {
    let mut problems: Vec<String> = match tree.validate() {
        Ok(()) => Vec::new(),
        Err(ps) => ps.iter().map(ToString::to_string).collect(),
    };
    for (path, leaf) in tree.leaves() {
        if !teams.contains_key(&leaf.group) {
            problems.push(format!("{}: unknown group `{}` (no team has that name)", path.join("/"), leaf.group));
        }
    }
    if tree.categories.is_empty() {
        problems.push("the import has no categories; an empty tree would remove every category".into());
    }
    problems
}

/// Replaces the tree with a YAML document (`categories: [...]`), matching nodes by path.
/// Nodes left out are deactivated when work orders use them, deleted otherwise. 422 lists
/// every problem with its path, and nothing changes.
#[utoipa::path(put, path = "/api/v1/categories/import", tag = "work orders", security(("bearer" = [])),
    request_body(content = String, content_type = "application/yaml", description = "the tree as YAML"),
    responses((status = 200, body = ImportSummary), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ImportSummary>> {
    let body = body.map_err(super::tickets::body_rejection)?;
    let tree: CategoryTree = serde_norway::from_slice(&body)
        .map_err(|e| ApiError::validation(format!("the body is not a category tree in YAML: {e}")))?;
    let teams = teams_by_name(&state).await?;
    let problems = import_problems(&tree, &teams);
    if !problems.is_empty() {
        return Err(ApiError::validation_details(
            format!("the category tree has {} problem(s); nothing was imported", problems.len()),
            problems,
        ));
    }
    let summary = state.store.import_categories(&tree, &teams, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "category.import", String::new(), serde_json::to_value(summary).unwrap_or_default())
        .await;
    Ok(Json(summary))
}
