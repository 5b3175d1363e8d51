//! Shift handover notes (交接班, SV-6): what the outgoing team lead or supervisor tells the
//! next shift, with the items still open. Append-only: a note is never changed or deleted; a
//! correction is a new note.

use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::{HandoverNoteId, Timestamp, UserId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;

/// Longest shift name, in characters.
pub const MAX_SHIFT_CHARS: usize = 64;
/// Longest note text, in characters.
pub const MAX_HANDOVER_CHARS: usize = 4000;
/// Most open items on one note.
pub const MAX_OPEN_ITEMS: usize = 50;
/// Longest open item, in characters.
pub const MAX_OPEN_ITEM_CHARS: usize = 500;

/// A handover note as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandoverNote {
    /// Unique id.
    pub id: HandoverNoteId,
    /// Who wrote it.
    pub author_id: UserId,
    /// Their display name when they wrote it.
    pub author_name: String,
    /// The shift handed over (`早班`, `late`, `2026-11-22 day` …).
    pub shift: String,
    /// What the next shift needs to know.
    pub text: String,
    /// Items still open.
    pub open_items: Vec<String>,
    /// When written (epoch ms).
    pub created_at: Timestamp,
}

/// A note to write.
#[derive(Clone, Debug)]
pub struct NewHandoverNote {
    /// The writer.
    pub author_id: UserId,
    /// Their display name.
    pub author_name: String,
    /// The shift.
    pub shift: String,
    /// The text.
    pub text: String,
    /// Open items.
    pub open_items: Vec<String>,
}

/// Which notes to list.
#[derive(Clone, Debug, Default)]
pub struct HandoverFilter {
    /// Written at or after this instant.
    pub since: Option<Timestamp>,
    /// Written before this instant.
    pub until: Option<Timestamp>,
    /// Only this shift.
    pub shift: Option<String>,
}

fn note_from_row(r: &AnyRow) -> Result<HandoverNote> {
    Ok(HandoverNote {
        id: parse(r, "id")?,
        author_id: parse(r, "author_id")?,
        author_name: r.try_get("author_name")?,
        shift: r.try_get("shift")?,
        text: r.try_get("body")?,
        open_items: json(r, "open_items")?,
        created_at: ts(r, "created_at")?,
    })
}

/// Checks a text field: at most `max` characters, no control characters but newlines and
/// tabs (and those only where `multiline`); `required` refuses an empty (blank) one.
fn check_text(field: &str, text: &str, max: usize, multiline: bool, required: bool) -> Result<()> {
    let n = text.chars().count();
    if required && text.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{field} must not be empty")));
    }
    if n > max {
        return Err(StoreError::Invalid(format!("{field} must be at most {max} characters, got {n}")));
    }
    if text.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t'))) {
        return Err(StoreError::Invalid(format!("{field} must not contain control characters")));
    }
    Ok(())
}

impl NewHandoverNote {
    /// Every problem at once.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |r: Result<()>| {
            if let Err(e) = r {
                out.push(e.to_string());
            }
        };
        check(check_text("shift", &self.shift, MAX_SHIFT_CHARS, false, true));
        check(check_text("text", &self.text, MAX_HANDOVER_CHARS, true, true));
        if self.open_items.len() > MAX_OPEN_ITEMS {
            out.push(format!("open_items: at most {MAX_OPEN_ITEMS} items, got {}", self.open_items.len()));
        }
        for (i, item) in self.open_items.iter().enumerate() {
            if let Err(e) = check_text(&format!("open_items[{i}]"), item, MAX_OPEN_ITEM_CHARS, false, true) {
                out.push(e.to_string());
            }
        }
        out
    }
}

fn encode_cursor(n: &HandoverNote) -> String {
    format!("{}_{}", n.created_at.as_millis(), n.id)
}

fn decode_cursor(text: &str) -> Result<(i64, HandoverNoteId)> {
    let bad =
        || StoreError::Invalid(format!("malformed handover cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

const COLS: &str = "id, author_id, author_name, shift, body, open_items, created_at";

impl Store {
    /// Appends a note (texts trimmed at the ends). Invalid fields are refused all at once.
    pub async fn add_handover_note(&self, new: &NewHandoverNote, now: Timestamp) -> Result<HandoverNote> {
        let new = NewHandoverNote {
            author_id: new.author_id,
            author_name: new.author_name.clone(),
            shift: new.shift.trim().to_owned(),
            text: new.text.trim().to_owned(),
            open_items: new.open_items.iter().map(|i| i.trim().to_owned()).collect(),
        };
        let problems = new.problems();
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("; ")));
        }
        let id = HandoverNoteId::from_uuid(new_uuid());
        sqlx::query(&format!("INSERT INTO handover_notes ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(id.to_string())
            .bind(new.author_id.to_string())
            .bind(&new.author_name)
            .bind(&new.shift)
            .bind(&new.text)
            .bind(to_json(&new.open_items)?)
            .bind(now.as_millis())
            .execute(self.pool())
            .await
            .map_err(|e| {
                let unknown = |_: &str| StoreError::Invalid(format!("user `{}` does not exist", new.author_id));
                crate::error::constraint_error(e, |_| StoreError::Conflict(format!("note `{id}` exists")), unknown)
            })?;
        Ok(HandoverNote {
            id,
            author_id: new.author_id,
            author_name: new.author_name,
            shift: new.shift,
            text: new.text,
            open_items: new.open_items,
            created_at: now,
        })
    }

    /// Notes matching `filter`, newest first, one page at a time.
    pub async fn list_handover_notes(&self, filter: &HandoverFilter, page: &PageRequest) -> Result<Page<HandoverNote>> {
        let limit = page.limit();
        let mut sql = format!("SELECT {COLS} FROM handover_notes WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(since) = filter.since {
            let p = args.push(Arg::Int(since.as_millis()));
            let _ = write!(sql, " AND created_at >= {p}");
        }
        if let Some(until) = filter.until {
            let p = args.push(Arg::Int(until.as_millis()));
            let _ = write!(sql, " AND created_at < {p}");
        }
        if let Some(shift) = &filter.shift {
            let p = args.push(Arg::Text(shift.clone()));
            let _ = write!(sql, " AND shift = {p}");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor(cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (created_at < {at1} OR (created_at = {at2} AND id < {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY created_at DESC, id DESC LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(note_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, encode_cursor))
    }
}
