//! Call recordings: where each stereo WAV file is and which call, agent and numbers it
//! belongs to. Listed newest first, filtered by agent, number and time.

use crate::error::constraint_error;
use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, ts};
use crate::{Result, Store, StoreError};
use kefu_core::event::Event;
use kefu_core::{RecordingId, Timestamp, UserId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;

/// A stored recording's metadata.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recording {
    /// Unique id (also the file's name).
    pub id: RecordingId,
    /// The SIP Call-ID of the call recorded.
    pub call_id: String,
    /// The agent on the call, if one answered (cleared if the user is deleted).
    pub agent_id: Option<UserId>,
    /// The agent's extension at the time of the call.
    pub agent_extension: Option<String>,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// When recording began (epoch ms).
    pub started_at: Timestamp,
    /// Length of the recording in milliseconds.
    pub duration_ms: i64,
    /// The WAV file, relative to the recordings directory (or absolute).
    pub path: String,
    /// Size of the file in bytes.
    pub size_bytes: i64,
    /// When the row was written (epoch ms).
    pub created_at: Timestamp,
}

/// A recording to store, written when the file is finished.
#[derive(Clone, Debug)]
pub struct NewRecording {
    /// Made when the recording starts (`RecordingId::from_uuid(new_uuid())`), so the file can
    /// be named after it.
    pub id: RecordingId,
    /// The SIP Call-ID.
    pub call_id: String,
    /// The agent on the call, if any.
    pub agent_id: Option<UserId>,
    /// The agent's extension.
    pub agent_extension: Option<String>,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// When recording began.
    pub started_at: Timestamp,
    /// Length in milliseconds (≥ 0).
    pub duration_ms: i64,
    /// Where the file is.
    pub path: String,
    /// File size in bytes (≥ 0).
    pub size_bytes: i64,
}

/// Which recordings to list; every set field must match.
#[derive(Clone, Debug, Default)]
pub struct RecordingFilter {
    /// Only this agent's calls.
    pub agent_id: Option<UserId>,
    /// Only calls from or to exactly this number.
    pub number: Option<String>,
    /// Started at or after this instant.
    pub from: Option<Timestamp>,
    /// Started before this instant.
    pub to: Option<Timestamp>,
}

const COLS: &str =
    "id, call_id, agent_id, agent_extension, caller, callee, started_at, duration_ms, path, size_bytes, created_at";

fn recording_from_row(r: &AnyRow) -> Result<Recording> {
    Ok(Recording {
        id: parse(r, "id")?,
        call_id: r.try_get("call_id")?,
        agent_id: parse_opt(r, "agent_id")?,
        agent_extension: r.try_get("agent_extension")?,
        caller: r.try_get("caller")?,
        callee: r.try_get("callee")?,
        started_at: ts(r, "started_at")?,
        duration_ms: r.try_get("duration_ms")?,
        path: r.try_get("path")?,
        size_bytes: r.try_get("size_bytes")?,
        created_at: ts(r, "created_at")?,
    })
}

/// The cursor of a recordings page: `<started_at>_<id>` of the last item.
fn encode_cursor(r: &Recording) -> String {
    format!("{}_{}", r.started_at.as_millis(), r.id)
}

fn decode_cursor(text: &str) -> Result<(i64, RecordingId)> {
    let bad =
        || StoreError::Invalid(format!("malformed recording cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

impl Store {
    /// Stores a finished recording's metadata; a repeated id is a conflict, an unknown agent
    /// invalid.
    pub async fn insert_recording(&self, new: &NewRecording, now: Timestamp) -> Result<Recording> {
        let mut tx = self.pool().begin().await?;
        insert(&mut tx, new, now).await?;
        tx.commit().await?;
        self.recording(new.id).await
    }

    /// Stores finished recordings (each with the time it was indexed) and events in one
    /// transaction: all of them or, on any error, none. What a call writes when it ends.
    pub async fn append_events_and_recordings(
        &self,
        events: &[Event],
        recordings: &[(NewRecording, Timestamp)],
    ) -> Result<()> {
        if events.is_empty() && recordings.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        for (new, now) in recordings {
            insert(&mut tx, new, *now).await?;
        }
        crate::events::insert_events(&mut tx, self.backend(), events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A recording by id.
    pub async fn recording(&self, id: RecordingId) -> Result<Recording> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM recordings WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "recording", id: id.to_string() })?;
        recording_from_row(&row)
    }

    /// The recordings of these calls (by SIP Call-ID), in no particular order; calls without
    /// one are simply absent.
    pub async fn recordings_for_calls(&self, call_ids: &[String]) -> Result<Vec<Recording>> {
        let mut out = Vec::new();
        for chunk in call_ids.chunks(200) {
            let mut args = Args::default();
            let ps: Vec<String> = chunk.iter().map(|c| args.push(Arg::Text(c.clone()))).collect();
            let sql = format!("SELECT {COLS} FROM recordings WHERE call_id IN ({})", ps.join(", "));
            let rows = args.bind(&sql).fetch_all(self.pool()).await?;
            for r in &rows {
                out.push(recording_from_row(r)?);
            }
        }
        Ok(out)
    }

    /// Recordings matching `filter`, newest first (by start time, then id), one page at a time.
    pub async fn list_recordings(&self, filter: &RecordingFilter, page: &PageRequest) -> Result<Page<Recording>> {
        let limit = page.limit();
        let mut sql = format!("SELECT {COLS} FROM recordings WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(agent) = filter.agent_id {
            let p = args.push(Arg::Text(agent.to_string()));
            let _ = write!(sql, " AND agent_id = {p}");
        }
        if let Some(number) = &filter.number {
            let a = args.push(Arg::Text(number.clone()));
            let b = args.push(Arg::Text(number.clone()));
            let _ = write!(sql, " AND (caller = {a} OR callee = {b})");
        }
        if let Some(from) = filter.from {
            let p = args.push(Arg::Int(from.as_millis()));
            let _ = write!(sql, " AND started_at >= {p}");
        }
        if let Some(to) = filter.to {
            let p = args.push(Arg::Int(to.as_millis()));
            let _ = write!(sql, " AND started_at < {p}");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor(cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (started_at < {at1} OR (started_at = {at2} AND id < {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY started_at DESC, id DESC LIMIT {p}");

        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(recording_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, encode_cursor))
    }
}

/// Inserts one recording's metadata within `tx`.
async fn insert(tx: &mut sqlx::Transaction<'_, sqlx::Any>, new: &NewRecording, now: Timestamp) -> Result<()> {
    if new.duration_ms < 0 || new.size_bytes < 0 {
        return Err(StoreError::Invalid("a recording's duration and size cannot be negative".into()));
    }
    sqlx::query(&format!("INSERT INTO recordings ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
        .bind(new.id.to_string())
        .bind(&new.call_id)
        .bind(new.agent_id.map(|a| a.to_string()))
        .bind(new.agent_extension.clone())
        .bind(&new.caller)
        .bind(&new.callee)
        .bind(new.started_at.as_millis())
        .bind(new.duration_ms)
        .bind(&new.path)
        .bind(new.size_bytes)
        .bind(now.as_millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("recording `{}` already exists", new.id)),
                |_| match new.agent_id {
                    Some(a) => StoreError::Invalid(format!("agent `{a}` does not exist")),
                    None => StoreError::Invalid("a referenced user does not exist".into()),
                },
            )
        })?;
    Ok(())
}
