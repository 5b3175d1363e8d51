//! SIP trunks: the carriers and PBXs kefu exchanges calls with — where to send outbound calls
//! (host, port, transport, credentials, caller id), who may send us calls (`allow_from`), and
//! which dialled numbers go where (`inbound_routes`).

use crate::error::constraint_error;
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::{Timestamp, TrunkId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// How SIP messages travel on a trunk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrunkTransport {
    /// SIP over UDP (the default).
    #[default]
    Udp,
    /// SIP over TCP.
    Tcp,
}

impl TrunkTransport {
    /// The stored and shown name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TrunkTransport::Udp => "udp",
            TrunkTransport::Tcp => "tcp",
        }
    }
}

impl std::str::FromStr for TrunkTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "udp" => Ok(TrunkTransport::Udp),
            "tcp" => Ok(TrunkTransport::Tcp),
            other => Err(format!("unknown transport `{other}` (expected udp or tcp)")),
        }
    }
}

/// A secret string: never serialised, and shown as `***` by `Debug`, so it cannot leak into
/// an API response or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A SIP trunk.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trunk {
    /// Unique id.
    pub id: TrunkId,
    /// Unique name.
    pub name: String,
    /// The carrier's host name or address, where outbound calls go.
    pub host: String,
    /// The carrier's SIP port.
    pub port: u16,
    /// UDP or TCP.
    pub transport: TrunkTransport,
    /// Username for digest authentication towards the carrier, if it asks.
    pub auth_username: Option<String>,
    /// The password for that username; never serialised (see `has_auth_password`).
    #[serde(skip)]
    pub auth_password: Option<Secret>,
    /// Whether a password is stored.
    pub has_auth_password: bool,
    /// Addresses (IPs or CIDRs) allowed to send us calls on this trunk.
    pub allow_from: Vec<String>,
    /// Dialled number (DID) → target (an extension); `*` matches any other number.
    pub inbound_routes: BTreeMap<String, String>,
    /// Caller id presented on outbound calls.
    pub caller_id: Option<String>,
    /// Disabled trunks neither accept nor place calls.
    pub enabled: bool,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A new trunk.
#[derive(Clone, Debug)]
pub struct NewTrunk {
    /// Unique name.
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// SIP port.
    pub port: u16,
    /// UDP or TCP.
    pub transport: TrunkTransport,
    /// Digest username, if the carrier authenticates us.
    pub auth_username: Option<String>,
    /// Digest password.
    pub auth_password: Option<Secret>,
    /// IPs or CIDRs that may send us calls.
    pub allow_from: Vec<String>,
    /// DID → target.
    pub inbound_routes: BTreeMap<String, String>,
    /// Outbound caller id.
    pub caller_id: Option<String>,
    /// Whether the trunk is in use.
    pub enabled: bool,
}

/// A change to a trunk; `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct TrunkPatch {
    /// New name.
    pub name: Option<String>,
    /// New host.
    pub host: Option<String>,
    /// New port.
    pub port: Option<u16>,
    /// New transport.
    pub transport: Option<TrunkTransport>,
    /// New digest username (or none).
    pub auth_username: Option<Option<String>>,
    /// New digest password (or none).
    pub auth_password: Option<Option<Secret>>,
    /// Replace the allowed addresses.
    pub allow_from: Option<Vec<String>>,
    /// Replace the inbound routes.
    pub inbound_routes: Option<BTreeMap<String, String>>,
    /// New caller id (or none).
    pub caller_id: Option<Option<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

const COLS: &str = "id, name, host, port, transport, auth_username, auth_password, allow_from, inbound_routes, \
                    caller_id, enabled, created_at, updated_at";

fn trunk_from_row(r: &AnyRow) -> Result<Trunk> {
    let port: i64 = r.try_get("port")?;
    let auth_password: Option<String> = r.try_get("auth_password")?;
    Ok(Trunk {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        host: r.try_get("host")?,
        port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("column port: {port} is not a port")))?,
        transport: parse(r, "transport")?,
        auth_username: r.try_get("auth_username")?,
        has_auth_password: auth_password.is_some(),
        auth_password: auth_password.map(Secret),
        allow_from: json(r, "allow_from")?,
        inbound_routes: json(r, "inbound_routes")?,
        caller_id: r.try_get("caller_id")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn name_taken(name: &str) -> impl FnOnce(&str) -> StoreError {
    let name = name.to_owned();
    move |_| StoreError::Conflict(format!("a trunk named `{name}` already exists"))
}

fn not_found(id: TrunkId) -> StoreError {
    StoreError::NotFound { what: "trunk", id: id.to_string() }
}

impl Store {
    /// Creates a trunk; a taken name is a conflict.
    pub async fn create_trunk(&self, new: &NewTrunk, now: Timestamp) -> Result<Trunk> {
        let id = TrunkId::from_uuid(new_uuid());
        sqlx::query(&format!(
            "INSERT INTO trunks ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
        ))
        .bind(id.to_string())
        .bind(&new.name)
        .bind(&new.host)
        .bind(i64::from(new.port))
        .bind(new.transport.as_str())
        .bind(new.auth_username.clone())
        .bind(new.auth_password.as_ref().map(|p| p.expose().to_owned()))
        .bind(to_json(&new.allow_from)?)
        .bind(to_json(&new.inbound_routes)?)
        .bind(new.caller_id.clone())
        .bind(i64::from(new.enabled))
        .bind(now.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| constraint_error(e, name_taken(&new.name), |d| StoreError::Invalid(d.to_owned())))?;
        self.trunk(id).await
    }

    /// A trunk by id.
    pub async fn trunk(&self, id: TrunkId) -> Result<Trunk> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM trunks WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| not_found(id))?;
        trunk_from_row(&row)
    }

    /// A trunk by name.
    pub async fn trunk_by_name(&self, name: &str) -> Result<Option<Trunk>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM trunks WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(trunk_from_row).transpose()
    }

    /// One page of trunks, in id (creation) order.
    pub async fn list_trunks(&self, page: &PageRequest) -> Result<Page<Trunk>> {
        let limit = page.limit();
        let rows = sqlx::query(&format!("SELECT {COLS} FROM trunks WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(page.after().to_owned())
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(trunk_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |t| t.id.to_string()))
    }

    /// Every enabled trunk with its password, by name: what the SIP server loads.
    pub async fn enabled_trunks(&self) -> Result<Vec<Trunk>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM trunks WHERE enabled = 1 ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(trunk_from_row).collect()
    }

    /// Applies a partial update to a trunk.
    pub async fn update_trunk(&self, id: TrunkId, patch: &TrunkPatch, now: Timestamp) -> Result<Trunk> {
        let current = self.trunk(id).await?;
        let name = patch.name.clone().unwrap_or(current.name);
        let password = patch.auth_password.clone().unwrap_or(current.auth_password);
        let done = sqlx::query(
            "UPDATE trunks SET name = $1, host = $2, port = $3, transport = $4, auth_username = $5, \
             auth_password = $6, allow_from = $7, inbound_routes = $8, caller_id = $9, enabled = $10, updated_at = $11 \
             WHERE id = $12",
        )
        .bind(&name)
        .bind(patch.host.clone().unwrap_or(current.host))
        .bind(i64::from(patch.port.unwrap_or(current.port)))
        .bind(patch.transport.unwrap_or(current.transport).as_str())
        .bind(patch.auth_username.clone().unwrap_or(current.auth_username))
        .bind(password.map(|p| p.0))
        .bind(to_json(patch.allow_from.as_ref().unwrap_or(&current.allow_from))?)
        .bind(to_json(patch.inbound_routes.as_ref().unwrap_or(&current.inbound_routes))?)
        .bind(patch.caller_id.clone().unwrap_or(current.caller_id))
        .bind(i64::from(patch.enabled.unwrap_or(current.enabled)))
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| constraint_error(e, name_taken(&name), |d| StoreError::Invalid(d.to_owned())))?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        self.trunk(id).await
    }

    /// Deletes a trunk.
    pub async fn delete_trunk(&self, id: TrunkId) -> Result<()> {
        let done = sqlx::query("DELETE FROM trunks WHERE id = $1").bind(id.to_string()).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}
