//! The audit log: logins (successful and failed) and every administrative change, with who,
//! when, from where and what. Append-only.

use crate::page::{Page, PageRequest};
use crate::rows::{json, parse_opt, to_json, ts};
use crate::{Result, Store, new_uuid};
use kefu_core::{Timestamp, UserId};
use serde::Serialize;
use sqlx::Row;

/// Whether the audited action succeeded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It was done.
    Success,
    /// It was refused or failed.
    Failure,
}

impl AuditOutcome {
    fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }
}

impl std::str::FromStr for AuditOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "success" => Ok(AuditOutcome::Success),
            "failure" => Ok(AuditOutcome::Failure),
            other => Err(format!("unknown audit outcome `{other}`")),
        }
    }
}

/// An audit entry to write.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who, if known (a failed login for an unknown name has no id).
    pub actor_id: Option<UserId>,
    /// The name the actor used.
    pub actor_name: String,
    /// What, as a dotted verb (`auth.login`, `user.create`, …).
    pub action: String,
    /// On what (an id or name).
    pub target: String,
    /// Done or refused.
    pub outcome: AuditOutcome,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Extra details (never secrets).
    pub detail: serde_json::Value,
}

/// A stored audit entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Unique id.
    pub id: String,
    /// When (epoch ms).
    pub at: Timestamp,
    /// Who, if known.
    pub actor_id: Option<UserId>,
    /// The name the actor used.
    pub actor_name: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Done or refused.
    pub outcome: AuditOutcome,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Extra details.
    pub detail: serde_json::Value,
}

impl Store {
    /// Appends an audit entry.
    pub async fn audit(&self, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target, outcome, client_ip, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_uuid().to_string())
        .bind(entry.at.as_millis())
        .bind(entry.actor_id.map(|u| u.to_string()))
        .bind(&entry.actor_name)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.outcome.as_str())
        .bind(entry.client_ip.clone())
        .bind(to_json(&entry.detail)?)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One page of the audit log, oldest first.
    pub async fn list_audit(&self, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT id, at, actor_id, actor_name, action, target, outcome, client_ip, detail FROM audit_log \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(page.after().to_owned())
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: ts(r, "at")?,
                    actor_id: parse_opt(r, "actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    outcome: crate::rows::parse(r, "outcome")?,
                    client_ip: r.try_get("client_ip")?,
                    detail: json(r, "detail")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| e.id.clone()))
    }
}
