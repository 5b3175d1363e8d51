//! What hangs off a customer over HTTP: assets (numbers masked by role like phone numbers,
//! clear reads audited), notes, and the admin-defined custom field definitions.

use super::customers::{audit_pii_read, masked_for};
use super::{ClientIp, audit_change, double_option};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use kefu_core::service::customer::{AssetKind, FieldDef, FieldKind, mask_account};
use kefu_core::{AssetId, CustomerId, FieldDefId, Timestamp};
use kefu_store::{AssetPatch, CustomerAsset, CustomerField, CustomerFieldPatch, CustomerNote, NewAsset, Page};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// ----------------------------------------------------------------------------------------------
// assets

/// An asset as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetView {
    /// Unique id.
    pub id: AssetId,
    /// Whose it is.
    pub customer_id: CustomerId,
    /// Product, order or account.
    pub kind: AssetKind,
    /// What it is.
    pub name: String,
    /// Serial, order or account number; masked (`************7890`) without `pii_read`.
    pub number: Option<String>,
    /// Its own fields.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
    /// Whether the number is masked for the caller.
    pub masked: bool,
}

impl AssetView {
    /// The view of `a`, masked or not (also the CTI screen-pop's).
    pub(crate) fn new(a: &CustomerAsset, masked: bool) -> Self {
        AssetView {
            id: a.id,
            customer_id: a.customer_id,
            kind: a.kind,
            name: a.name.clone(),
            number: a.number.as_deref().map(|n| if masked { mask_account(n) } else { n.to_owned() }),
            fields: a.fields.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            masked,
        }
    }
}

/// A customer's assets.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetList {
    /// The assets, oldest first.
    pub items: Vec<AssetView>,
    /// Whether numbers are masked for the caller.
    pub masked: bool,
}

/// Views of a customer's assets; audits a clear read of any number.
async fn asset_views(
    state: &AppState,
    p: &Principal,
    ip: &str,
    customer: CustomerId,
    assets: &[CustomerAsset],
) -> (Vec<AssetView>, bool) {
    let masked = masked_for(p);
    if !masked && assets.iter().any(|a| a.number.is_some()) {
        audit_pii_read(state, p, ip, customer.to_string(), &[customer], &["asset_numbers"]).await;
    }
    (assets.iter().map(|a| AssetView::new(a, masked)).collect(), masked)
}

/// The `{id}` and `{asset}` of `/customers/{id}/assets/{asset}`: a malformed one is a 400.
pub struct AssetPath(CustomerId, AssetId);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AssetPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((customer, asset)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let customer = customer.parse().map_err(|e: kefu_core::ids::InvalidId| ApiError::bad_request(e.to_string()))?;
        let asset = asset.parse().map_err(|e: kefu_core::ids::InvalidId| ApiError::bad_request(e.to_string()))?;
        Ok(AssetPath(customer, asset))
    }
}

/// A customer's assets.
#[utoipa::path(get, path = "/api/v1/customers/{id}/assets", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")),
    responses((status = 200, body = AssetList), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_assets(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<AssetList>> {
    let assets = state.store.customer_assets(id).await?;
    let (items, masked) = asset_views(&state, &p, &ip, id, &assets).await;
    Ok(Json(AssetList { items, masked }))
}

/// An asset to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAsset {
    /// Product, order or account.
    pub kind: AssetKind,
    /// What it is.
    pub name: String,
    /// Serial, order or account number (never a masked value).
    pub number: Option<String>,
    /// Its own fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// Adds an asset to a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/assets", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")), request_body = CreateAsset,
    responses((status = 201, body = AssetView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_asset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<CustomerId>,
    Json(b): Json<CreateAsset>,
) -> ApiResult<(StatusCode, Json<AssetView>)> {
    let new = NewAsset { kind: b.kind, name: b.name, number: b.number, fields: b.fields };
    let a = state.store.add_customer_asset(id, &new, state.clock.now()).await?;
    let (mut views, _) = asset_views(&state, &p, &ip, id, std::slice::from_ref(&a)).await;
    Ok((StatusCode::CREATED, Json(views.remove(0))))
}

/// Changes to an asset: absent fields stay, a `null` number clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAsset {
    /// New kind.
    pub kind: Option<AssetKind>,
    /// New name.
    pub name: Option<String>,
    /// New number, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub number: Option<Option<String>>,
    /// Replaces the fields.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
}

/// Changes an asset of a customer.
#[utoipa::path(patch, path = "/api/v1/customers/{id}/assets/{asset}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id"), ("asset" = AssetId, Path, description = "asset id")),
    request_body = UpdateAsset,
    responses((status = 200, body = AssetView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_asset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    AssetPath(id, asset): AssetPath,
    Json(b): Json<UpdateAsset>,
) -> ApiResult<Json<AssetView>> {
    let patch = AssetPatch { kind: b.kind, name: b.name, number: b.number, fields: b.fields };
    let a = state.store.update_customer_asset(id, asset, &patch, state.clock.now()).await?;
    let (mut views, _) = asset_views(&state, &p, &ip, id, std::slice::from_ref(&a)).await;
    Ok(Json(views.remove(0)))
}

/// Removes an asset of a customer.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/assets/{asset}", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id"), ("asset" = AssetId, Path, description = "asset id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_asset(State(state): State<AppState>, AssetPath(id, asset): AssetPath) -> ApiResult<StatusCode> {
    state.store.delete_customer_asset(id, asset).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----------------------------------------------------------------------------------------------
// notes

/// A customer's notes, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/notes", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id"), Paging),
    responses((status = 200, body = inline(Page<CustomerNote>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_notes(
    State(state): State<AppState>,
    PathId(id): PathId<CustomerId>,
    Query(paging): Query<Paging>,
) -> ApiResult<Json<Page<CustomerNote>>> {
    Ok(Json(state.store.list_customer_notes(id, &paging.request()).await.map_err(|e| match e {
        kefu_store::StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?))
}

/// A note to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    /// The text (1–4000 characters).
    pub body: String,
}

/// Adds a note to a customer, written by the caller.
#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "customers", security(("bearer" = [])),
    params(("id" = CustomerId, Path, description = "customer id")), request_body = CreateNote,
    responses((status = 201, body = CustomerNote), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_note(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CustomerId>,
    Json(b): Json<CreateNote>,
) -> ApiResult<(StatusCode, Json<CustomerNote>)> {
    let note = state.store.add_customer_note(id, Some(p.id), &b.body, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

// ----------------------------------------------------------------------------------------------
// custom field definitions

/// Every custom field definition, in display order.
#[utoipa::path(get, path = "/api/v1/customer-fields", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Vec<CustomerField>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_fields(State(state): State<AppState>) -> ApiResult<Json<Vec<CustomerField>>> {
    Ok(Json(state.store.customer_fields().await?))
}

/// A custom field to define.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateField {
    /// Stable key (`[a-z][a-z0-9_]*`).
    pub key: String,
    /// What people see.
    pub label: String,
    /// `text`, `number`, `date` or `choice`.
    pub kind: FieldKind,
    /// The allowed values of a choice field.
    #[serde(default)]
    pub options: Vec<String>,
    /// Whether every customer must have a value.
    #[serde(default)]
    pub required: bool,
    /// Display position (default: last).
    pub position: Option<i64>,
}

/// Defines a custom customer field.
#[utoipa::path(post, path = "/api/v1/customer-fields", tag = "customers", security(("bearer" = [])), request_body = CreateField,
    responses((status = 201, body = CustomerField), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_field(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(b): Json<CreateField>,
) -> ApiResult<(StatusCode, Json<CustomerField>)> {
    let def = FieldDef { key: b.key, label: b.label, kind: b.kind, options: b.options, required: b.required };
    let f = state.store.create_customer_field(&def, b.position, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "customer_field.create", f.def.key.clone(), serde_json::json!({"id": f.id})).await;
    Ok((StatusCode::CREATED, Json(f)))
}

/// Changes to a field definition (its key and kind are fixed).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateField {
    /// New label.
    pub label: Option<String>,
    /// New options (choice fields).
    pub options: Option<Vec<String>>,
    /// Whether a value is required.
    pub required: Option<bool>,
    /// New display position.
    pub position: Option<i64>,
}

/// Changes a custom field definition.
#[utoipa::path(patch, path = "/api/v1/customer-fields/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = FieldDefId, Path, description = "field id")), request_body = UpdateField,
    responses((status = 200, body = CustomerField), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_field(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<FieldDefId>,
    Json(b): Json<UpdateField>,
) -> ApiResult<Json<CustomerField>> {
    let patch = CustomerFieldPatch { label: b.label, options: b.options, required: b.required, position: b.position };
    let f = state.store.update_customer_field(id, &patch).await?;
    audit_change(&state, &p, &ip, "customer_field.update", f.def.key.clone(), serde_json::json!({"id": f.id})).await;
    Ok(Json(f))
}

/// Removes a custom field definition.
#[utoipa::path(delete, path = "/api/v1/customer-fields/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = FieldDefId, Path, description = "field id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_field(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<FieldDefId>,
) -> ApiResult<StatusCode> {
    let f = state.store.customer_field(id).await?;
    state.store.delete_customer_field(id).await?;
    audit_change(&state, &p, &ip, "customer_field.delete", f.def.key, serde_json::json!({"id": id})).await;
    Ok(StatusCode::NO_CONTENT)
}
