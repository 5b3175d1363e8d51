//! SIP trunks (administrators only): where outbound calls go, who may send us calls, and which
//! dialled numbers ring where. The trunk password is write-only: responses carry
//! `has_auth_password`, never the password, and audit entries name the fields changed only.

use super::{ClientIp, audit_change, double_option, valid_name};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::TrunkId;
use kefu_store::{NewTrunk, Page, Secret, Trunk, TrunkPatch, TrunkTransport};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A new trunk.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrunk {
    /// Unique name, 1–64 characters.
    pub name: String,
    /// The carrier's host name or IP address.
    pub host: String,
    /// The carrier's SIP port, 1–65535 (default 5060).
    #[serde(default = "default_port")]
    pub port: i64,
    /// `udp` (default) or `tcp`.
    #[serde(default)]
    pub transport: TrunkTransport,
    /// Username for the carrier's digest challenge.
    #[serde(default)]
    pub auth_username: Option<String>,
    /// Password for the carrier's digest challenge; write-only.
    #[serde(default)]
    pub auth_password: Option<String>,
    /// IP addresses or CIDR blocks allowed to send us calls on this trunk.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// Dialled number (DID) → target extension; `*` matches every other number.
    #[serde(default)]
    pub inbound_routes: BTreeMap<String, String>,
    /// Caller id presented on outbound calls.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Whether the trunk is in use (default true).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_port() -> i64 {
    5060
}

fn default_enabled() -> bool {
    true
}

/// A change to a trunk; absent fields stay, `null` clears `auth_username`, `auth_password`
/// and `caller_id`.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrunk {
    /// New name.
    pub name: Option<String>,
    /// New host.
    pub host: Option<String>,
    /// New port.
    pub port: Option<i64>,
    /// New transport.
    pub transport: Option<TrunkTransport>,
    /// New digest username, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub auth_username: Option<Option<String>>,
    /// New digest password, or `null` for none; write-only.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub auth_password: Option<Option<String>>,
    /// Replace the allowed addresses.
    pub allow_from: Option<Vec<String>>,
    /// Replace the inbound routes.
    pub inbound_routes: Option<BTreeMap<String, String>>,
    /// New caller id, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub caller_id: Option<Option<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

fn valid_host(host: &str) -> ApiResult<String> {
    let h = host.trim();
    let hostname = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if hostname || h.parse::<IpAddr>().is_ok() {
        Ok(h.to_owned())
    } else if h.is_empty() {
        Err(ApiError::validation("host must not be empty"))
    } else {
        Err(ApiError::validation(format!("host must be a host name or an IP address, got `{}`", shorten(h))))
    }
}

fn valid_port(port: i64) -> ApiResult<u16> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ApiError::validation(format!("port must be 1–65535, got {port}")))
}

/// Whether `text` is an IP address or a CIDR block (`192.0.2.0/24`, `2001:db8::/32`).
pub fn is_ip_or_cidr(text: &str) -> bool {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match prefix {
        None => true,
        Some(p) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u8>().is_ok_and(|n| n <= max)
        }
    }
}

fn valid_allow_from(list: Vec<String>) -> ApiResult<Vec<String>> {
    list.into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let e = entry.trim();
            if is_ip_or_cidr(e) {
                Ok(e.to_owned())
            } else {
                Err(ApiError::validation(format!(
                    "allow_from[{i}]: `{}` is not an IP address or CIDR block (like 192.0.2.10 or 192.0.2.0/24)",
                    shorten(e)
                )))
            }
        })
        .collect()
}

/// A short printable token: 1–64 characters, no spaces or control characters.
fn valid_token(field: &str, value: &str) -> ApiResult<String> {
    let n = value.chars().count();
    if n == 0 || n > 64 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::validation(format!(
            "{field} must be 1–64 characters without spaces, got `{}`",
            shorten(value)
        )));
    }
    Ok(value.to_owned())
}

fn valid_routes(routes: BTreeMap<String, String>) -> ApiResult<BTreeMap<String, String>> {
    for (number, target) in &routes {
        valid_token("an inbound_routes number", number)?;
        valid_token(&format!("inbound_routes[\"{}\"]", shorten(number)), target)?;
    }
    Ok(routes)
}

fn valid_password(pw: String) -> ApiResult<Secret> {
    let n = pw.chars().count();
    if n == 0 || n > 256 || pw.chars().any(char::is_control) {
        return Err(ApiError::validation("auth_password must be 1–256 characters without control characters"));
    }
    Ok(Secret::new(pw))
}

fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

fn needs_username(username: Option<&String>, password: Option<&Secret>) -> ApiResult<()> {
    if password.is_some() && username.is_none() {
        return Err(ApiError::validation("auth_password needs an auth_username"));
    }
    Ok(())
}

/// Lists trunks.
#[utoipa::path(get, path = "/api/v1/trunks", tag = "trunks", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<Trunk>)), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<Trunk>>> {
    Ok(Json(state.store.list_trunks(&paging.request()).await?))
}

/// Creates a trunk.
#[utoipa::path(post, path = "/api/v1/trunks", tag = "trunks", security(("bearer" = [])), request_body = CreateTrunk,
    responses((status = 201, body = Trunk), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateTrunk>,
) -> ApiResult<(StatusCode, Json<Trunk>)> {
    let new = NewTrunk {
        name: valid_name("name", &req.name)?,
        host: valid_host(&req.host)?,
        port: valid_port(req.port)?,
        transport: req.transport,
        auth_username: req.auth_username.map(|u| valid_token("auth_username", &u)).transpose()?,
        auth_password: req.auth_password.map(valid_password).transpose()?,
        allow_from: valid_allow_from(req.allow_from)?,
        inbound_routes: valid_routes(req.inbound_routes)?,
        caller_id: req.caller_id.map(|c| valid_token("caller_id", &c)).transpose()?,
        enabled: req.enabled,
    };
    needs_username(new.auth_username.as_ref(), new.auth_password.as_ref())?;
    let trunk = state.store.create_trunk(&new, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "trunk.create", trunk.name.clone(), serde_json::json!({ "id": trunk.id })).await;
    crate::telephony::reload_trunks(&state).await;
    Ok((StatusCode::CREATED, Json(trunk)))
}

/// One trunk.
#[utoipa::path(get, path = "/api/v1/trunks/{id}", tag = "trunks", security(("bearer" = [])),
    params(("id" = TrunkId, Path, description = "trunk id")),
    responses((status = 200, body = Trunk), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<TrunkId>) -> ApiResult<Json<Trunk>> {
    Ok(Json(state.store.trunk(id).await?))
}

/// Changes a trunk.
#[utoipa::path(patch, path = "/api/v1/trunks/{id}", tag = "trunks", security(("bearer" = [])), request_body = UpdateTrunk,
    params(("id" = TrunkId, Path, description = "trunk id")),
    responses((status = 200, body = Trunk), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TrunkId>,
    Json(req): Json<UpdateTrunk>,
) -> ApiResult<Json<Trunk>> {
    let current = state.store.trunk(id).await?;
    let mut changed: Vec<&str> = Vec::new();
    let mut note = |field: &'static str, present: bool| {
        if present {
            changed.push(field);
        }
    };
    note("name", req.name.is_some());
    note("host", req.host.is_some());
    note("port", req.port.is_some());
    note("transport", req.transport.is_some());
    note("auth_username", req.auth_username.is_some());
    note("auth_password", req.auth_password.is_some());
    note("allow_from", req.allow_from.is_some());
    note("inbound_routes", req.inbound_routes.is_some());
    note("caller_id", req.caller_id.is_some());
    note("enabled", req.enabled.is_some());
    let patch = TrunkPatch {
        name: req.name.map(|n| valid_name("name", &n)).transpose()?,
        host: req.host.map(|h| valid_host(&h)).transpose()?,
        port: req.port.map(valid_port).transpose()?,
        transport: req.transport,
        auth_username: req
            .auth_username
            .map(|u| u.map(|u| valid_token("auth_username", &u)).transpose())
            .transpose()?,
        auth_password: req.auth_password.map(|pw| pw.map(valid_password).transpose()).transpose()?,
        allow_from: req.allow_from.map(valid_allow_from).transpose()?,
        inbound_routes: req.inbound_routes.map(valid_routes).transpose()?,
        caller_id: req.caller_id.map(|c| c.map(|c| valid_token("caller_id", &c)).transpose()).transpose()?,
        enabled: req.enabled,
    };
    let username = patch.auth_username.clone().unwrap_or(current.auth_username);
    let password = patch.auth_password.clone().unwrap_or(current.auth_password);
    needs_username(username.as_ref(), password.as_ref())?;
    let trunk = state.store.update_trunk(id, &patch, state.clock.now()).await?;
    audit_change(
        &state,
        &p,
        &ip,
        "trunk.update",
        trunk.name.clone(),
        serde_json::json!({ "id": id, "changed": changed }),
    )
    .await;
    crate::telephony::reload_trunks(&state).await;
    Ok(Json(trunk))
}

/// Deletes a trunk.
#[utoipa::path(delete, path = "/api/v1/trunks/{id}", tag = "trunks", security(("bearer" = [])),
    params(("id" = TrunkId, Path, description = "trunk id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TrunkId>,
) -> ApiResult<StatusCode> {
    let current = state.store.trunk(id).await?;
    state.store.delete_trunk(id).await?;
    audit_change(&state, &p, &ip, "trunk.delete", current.name, serde_json::json!({ "id": id })).await;
    crate::telephony::reload_trunks(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::is_ip_or_cidr;

    #[test]
    fn ips_and_cidrs() {
        for ok in ["127.0.0.1", "192.0.2.0/24", "0.0.0.0/0", "10.1.2.3/32", "::1", "2001:db8::/32", "::/0"] {
            assert!(is_ip_or_cidr(ok), "{ok}");
        }
        for bad in ["", "localhost", "192.0.2.0/33", "192.0.2.0/", "192.0.2/24", "::1/129", "1.2.3.4/+8", "1.2.3.4/ 8"]
        {
            assert!(!is_ip_or_cidr(bad), "{bad}");
        }
    }
}
