//! IVR flows: the stored definitions ([`Flow`], kept as JSON) by name, a version counting
//! their saves, and the dialled numbers (DIDs) that start each. A number starts at most one
//! flow: `ivr_flow_numbers` holds each number once, beside the JSON list on the flow's row.
//!
//! The store does not judge the graph (the server checks [`Flow::problems`] before saving);
//! it only refuses a definition that would not read back as the same flow.

use crate::error::constraint_error;
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::ivr::{Flow, Language};
use kefu_core::{FlowId, Timestamp};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;

/// A stored IVR flow.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IvrFlowRow {
    /// Unique id.
    pub id: FlowId,
    /// Unique name (the same as `flow.name`).
    pub name: String,
    /// The language of the flow's prompts (`zh-CN` or `en`, the same as `flow.language`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "zh-CN"))]
    pub language: Language,
    /// The flow itself: its start node, survey node and nodes by id.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub flow: Flow,
    /// Dialled numbers (DIDs) whose calls start this flow.
    pub numbers: Vec<String>,
    /// 1 when created, one more on every save.
    pub version: i64,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last saved (epoch ms).
    pub updated_at: Timestamp,
}

const COLS: &str = "id, name, language, definition, numbers, version, created_at, updated_at";

fn flow_from_row(r: &AnyRow) -> Result<IvrFlowRow> {
    let language: String = r.try_get("language")?;
    Ok(IvrFlowRow {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        language: Language::parse(&language)
            .ok_or_else(|| StoreError::Corrupt(format!("column language: unknown language `{language}`")))?,
        flow: json(r, "definition")?,
        numbers: json(r, "numbers")?,
        version: r.try_get("version")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound { what: "IVR flow", id: name.to_owned() }
}

/// The flow as stored, checked to read back as the same flow (a `NaN` in a test, for one,
/// would not).
fn definition(flow: &Flow) -> Result<String> {
    let text = to_json(flow)?;
    match serde_json::from_str::<Flow>(&text) {
        Ok(back) if back == *flow => Ok(text),
        Ok(_) => Err(StoreError::Invalid(format!(
            "flow `{}` would not read back unchanged once stored (a value that JSON cannot hold, such as NaN?)",
            flow.name
        ))),
        Err(e) => Err(StoreError::Invalid(format!("flow `{}` would not read back once stored: {e}", flow.name))),
    }
}

impl Store {
    /// Saves a flow under its name with the numbers that start it: creates it (version 1) or
    /// replaces the definition and numbers of the flow of that name (version + 1). Returns the
    /// row and whether it was created. A number that starts another flow is a conflict naming
    /// both; nothing changes then.
    pub async fn save_flow(&self, flow: &Flow, numbers: &[String], now: Timestamp) -> Result<(IvrFlowRow, bool)> {
        let definition = definition(flow)?;
        let mut seen = BTreeSet::new();
        for n in numbers {
            if n.is_empty() {
                return Err(StoreError::Invalid("a number is empty".into()));
            }
            if !seen.insert(n.as_str()) {
                return Err(StoreError::Invalid(format!("number `{n}` is listed twice")));
            }
        }
        let new_id = FlowId::from_uuid(new_uuid());
        let mut tx = self.pool().begin().await?;
        // one statement creates or updates, so the first thing the transaction does is write
        let row = sqlx::query(
            "INSERT INTO ivr_flows (id, name, language, definition, numbers, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
             ON CONFLICT (name) DO UPDATE SET language = excluded.language, definition = excluded.definition, \
             numbers = excluded.numbers, version = ivr_flows.version + 1, updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(new_id.to_string())
        .bind(&flow.name)
        .bind(flow.language.as_str())
        .bind(definition)
        .bind(to_json(&numbers)?)
        .bind(now.as_millis())
        .fetch_one(&mut *tx)
        .await?;
        let id: String = row.try_get("id")?;
        let created = id == new_id.to_string();
        sqlx::query("DELETE FROM ivr_flow_numbers WHERE flow_id = $1").bind(&id).execute(&mut *tx).await?;
        for n in numbers {
            let holder: Option<String> = sqlx::query_scalar(
                "SELECT f.name FROM ivr_flow_numbers n JOIN ivr_flows f ON f.id = n.flow_id WHERE n.number = $1",
            )
            .bind(n)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = holder {
                return Err(StoreError::Conflict(format!("number `{n}` already starts the IVR flow `{other}`")));
            }
            sqlx::query("INSERT INTO ivr_flow_numbers (number, flow_id) VALUES ($1, $2)")
                .bind(n)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    constraint_error(
                        e,
                        |_| StoreError::Conflict(format!("number `{n}` already starts another IVR flow")),
                        |d| StoreError::Invalid(d.to_owned()),
                    )
                })?;
        }
        let row =
            sqlx::query(&format!("SELECT {COLS} FROM ivr_flows WHERE id = $1")).bind(&id).fetch_one(&mut *tx).await?;
        let saved = flow_from_row(&row)?;
        tx.commit().await?;
        Ok((saved, created))
    }

    /// A flow by name.
    pub async fn flow_by_name(&self, name: &str) -> Result<Option<IvrFlowRow>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM ivr_flows WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    /// One page of flows, in id (creation) order.
    pub async fn list_flows(&self, page: &PageRequest) -> Result<Page<IvrFlowRow>> {
        let limit = page.limit();
        let rows = sqlx::query(&format!("SELECT {COLS} FROM ivr_flows WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(page.after().to_owned())
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(flow_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |f| f.id.to_string()))
    }

    /// Deletes a flow by name (its numbers go with it and then start nothing).
    pub async fn delete_flow(&self, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM ivr_flows WHERE name = $1").bind(name).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// The flow a call to `dialled` starts, if any (exact match on the number).
    pub async fn flow_for_number(&self, dialled: &str) -> Result<Option<IvrFlowRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM ivr_flows WHERE id = (SELECT flow_id FROM ivr_flow_numbers WHERE number = $1)"
        ))
        .bind(dialled)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(flow_from_row).transpose()
    }
}
