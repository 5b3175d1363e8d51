//! The harassment blocklist (AG-6, IVR-4): agents propose a caller's number after marking a
//! call as harassment, supervisors approve or reject, or add a number directly; an active
//! entry is looked up on every inbound call by the number's blind index. Numbers are stored
//! only encrypted (SEC-2, like customers' numbers); rows are never deleted, so who proposed,
//! decided and removed each entry stays on record.

use crate::crypto::{FieldCipher, IndexKind};
use crate::error::constraint_error;
use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::service::customer::PhoneNumber;
use kefu_core::{BlocklistEntryId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// Longest reason or decision note, in characters.
pub const MAX_BLOCKLIST_NOTE_CHARS: usize = 500;

/// Where a blocklist entry stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlocklistStatus {
    /// Proposed by an agent; waits for a supervisor.
    Pending,
    /// Blocking calls (until `expires_at`, if set).
    Active,
    /// A proposal a supervisor turned down.
    Rejected,
    /// Taken off the list (or a proposal withdrawn).
    Removed,
}

impl BlocklistStatus {
    /// The stored (and API) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            BlocklistStatus::Pending => "pending",
            BlocklistStatus::Active => "active",
            BlocklistStatus::Rejected => "rejected",
            BlocklistStatus::Removed => "removed",
        }
    }
}

impl fmt::Display for BlocklistStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BlocklistStatus {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "pending" => Ok(BlocklistStatus::Pending),
            "active" => Ok(BlocklistStatus::Active),
            "rejected" => Ok(BlocklistStatus::Rejected),
            "removed" => Ok(BlocklistStatus::Removed),
            other => Err(format!(
                "unknown blocklist status `{}` (pending, active, rejected or removed)",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// One entry: a number proposed for, on, or once on the blocklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlocklistEntry {
    /// Unique id.
    pub id: BlocklistEntryId,
    /// The number (decrypted; mask it for roles without `pii_read`).
    pub number: PhoneNumber,
    /// Where it stands.
    pub status: BlocklistStatus,
    /// Why it was proposed or added.
    pub reason: String,
    /// The call marked as harassment, for an agent's proposal.
    pub call_id: Option<String>,
    /// Who proposed it (or added it directly).
    pub proposed_by: Option<UserId>,
    /// When.
    pub proposed_at: Timestamp,
    /// Who approved, rejected or added it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// The decider's note.
    pub decision_note: String,
    /// An active entry stops blocking at this time; `None`: never.
    pub expires_at: Option<Timestamp>,
    /// Who took it off the list.
    pub removed_by: Option<UserId>,
    /// When.
    pub removed_at: Option<Timestamp>,
    /// Last change.
    pub updated_at: Timestamp,
}

impl BlocklistEntry {
    /// Whether it blocks calls at `now`.
    pub fn blocks_at(&self, now: Timestamp) -> bool {
        self.status == BlocklistStatus::Active && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A number to put on the list: a proposal (`Pending`) or, by a supervisor, at once (`Active`).
#[derive(Clone, Debug)]
pub struct NewBlocklistEntry {
    /// The number.
    pub number: PhoneNumber,
    /// `Pending` or `Active`.
    pub status: BlocklistStatus,
    /// Why.
    pub reason: String,
    /// The call marked as harassment.
    pub call_id: Option<String>,
    /// Who proposes (or adds) it.
    pub by: UserId,
    /// When an active entry stops blocking.
    pub expires_at: Option<Timestamp>,
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct BlocklistFilter {
    /// Only entries in one of these states (all when empty).
    pub statuses: Vec<BlocklistStatus>,
    /// Only entries this user proposed.
    pub proposed_by: Option<UserId>,
}

const COLS: &str = "id, phone_enc, status, reason, call_id, proposed_by, proposed_at, decided_by, decided_at, \
                    decision_note, expires_at, removed_by, removed_at, updated_at";

fn entry_from_row(r: &AnyRow, cipher: &FieldCipher) -> Result<BlocklistEntry> {
    let enc: String = r.try_get("phone_enc")?;
    let number = PhoneNumber::parse(&cipher.decrypt(&enc)?)
        .map_err(|e| StoreError::Corrupt(format!("column blocklist.phone_enc: {e}")))?;
    let opt_ts =
        |col: &str| -> Result<Option<Timestamp>> { Ok(r.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis)) };
    Ok(BlocklistEntry {
        id: parse(r, "id")?,
        number,
        status: parse(r, "status")?,
        reason: r.try_get("reason")?,
        call_id: r.try_get("call_id")?,
        proposed_by: parse_opt(r, "proposed_by")?,
        proposed_at: ts(r, "proposed_at")?,
        decided_by: parse_opt(r, "decided_by")?,
        decided_at: opt_ts("decided_at")?,
        decision_note: r.try_get("decision_note")?,
        expires_at: opt_ts("expires_at")?,
        removed_by: parse_opt(r, "removed_by")?,
        removed_at: opt_ts("removed_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn check_note(field: &str, text: &str) -> Result<()> {
    let n = text.chars().count();
    if n > MAX_BLOCKLIST_NOTE_CHARS {
        return Err(StoreError::Invalid(format!(
            "{field} must be at most {MAX_BLOCKLIST_NOTE_CHARS} characters, got {n}"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(StoreError::Invalid(format!(
            "{field} must not contain control characters other than newlines and tabs"
        )));
    }
    Ok(())
}

fn encode_cursor(e: &BlocklistEntry) -> String {
    format!("{}_{}", e.proposed_at.as_millis(), e.id)
}

fn decode_cursor(text: &str) -> Result<(i64, BlocklistEntryId)> {
    let bad =
        || StoreError::Invalid(format!("malformed blocklist cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

impl Store {
    /// Puts a number on the list as a proposal or an active entry. A number that already has
    /// an open (pending or active) entry is a conflict naming that entry.
    pub async fn add_blocklist_entry(&self, new: &NewBlocklistEntry, now: Timestamp) -> Result<BlocklistEntry> {
        let cipher = self.cipher()?;
        if !matches!(new.status, BlocklistStatus::Pending | BlocklistStatus::Active) {
            return Err(StoreError::Invalid("a new blocklist entry is pending or active".into()));
        }
        check_note("reason", &new.reason)?;
        if new.expires_at.is_some_and(|e| e <= now) {
            return Err(StoreError::Invalid("expires_at must be in the future".into()));
        }
        let id = BlocklistEntryId::from_uuid(new_uuid());
        let active = new.status == BlocklistStatus::Active;
        let phone_idx = cipher.blind_index(IndexKind::Phone, new.number.as_str());
        sqlx::query(&format!(
            "INSERT INTO blocklist ({COLS}, phone_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, NULL, NULL, $11, $12)"
        ))
        .bind(id.to_string())
        .bind(cipher.encrypt(new.number.as_str())?)
        .bind(new.status.as_str())
        .bind(new.reason.as_str())
        .bind(new.call_id.clone())
        .bind(new.by.to_string())
        .bind(now.as_millis())
        .bind(active.then(|| new.by.to_string()))
        .bind(active.then(|| now.as_millis()))
        .bind(new.expires_at.map(|e| e.as_millis()))
        .bind(now.as_millis())
        .bind(&phone_idx)
        .execute(self.pool())
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict("the number already has a pending or active blocklist entry".into()),
                |_| StoreError::Invalid(format!("user `{}` does not exist", new.by)),
            )
        })?;
        self.blocklist_entry(id).await
    }

    /// One entry by id.
    pub async fn blocklist_entry(&self, id: BlocklistEntryId) -> Result<BlocklistEntry> {
        let cipher = self.cipher()?;
        let row = sqlx::query(&format!("SELECT {COLS} FROM blocklist WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "blocklist entry", id: id.to_string() })?;
        entry_from_row(&row, cipher)
    }

    /// The open (pending or active) entry of a number, if any — expired active entries
    /// included, so a number is never on the list twice.
    pub async fn open_blocklist_entry(&self, number: &PhoneNumber) -> Result<Option<BlocklistEntry>> {
        let cipher = self.cipher()?;
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM blocklist WHERE phone_idx = $1 AND status IN ('pending', 'active')"
        ))
        .bind(cipher.blind_index(IndexKind::Phone, number.as_str()))
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| entry_from_row(&r, cipher)).transpose()
    }

    /// The entry that blocks calls from `number` at `now`, if any (one indexed lookup; the
    /// check made on every inbound call).
    pub async fn blocklist_match(&self, number: &PhoneNumber, now: Timestamp) -> Result<Option<BlocklistEntryId>> {
        let cipher = self.cipher()?;
        let row = sqlx::query(
            "SELECT id FROM blocklist WHERE phone_idx = $1 AND status = 'active' \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(cipher.blind_index(IndexKind::Phone, number.as_str()))
        .bind(now.as_millis())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| parse(&r, "id")).transpose()
    }

    /// Entries matching `filter`, newest proposal first, one page at a time.
    pub async fn list_blocklist(&self, filter: &BlocklistFilter, page: &PageRequest) -> Result<Page<BlocklistEntry>> {
        let cipher = self.cipher()?;
        let limit = page.limit();
        let mut sql = format!("SELECT {COLS} FROM blocklist WHERE 1 = 1");
        let mut args = Args::default();
        if !filter.statuses.is_empty() {
            let ps: Vec<String> = filter.statuses.iter().map(|s| args.push(Arg::Text(s.as_str().to_owned()))).collect();
            let _ = write!(sql, " AND status IN ({})", ps.join(", "));
        }
        if let Some(by) = filter.proposed_by {
            let p = args.push(Arg::Text(by.to_string()));
            let _ = write!(sql, " AND proposed_by = {p}");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor(cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (proposed_at < {at1} OR (proposed_at = {at2} AND id < {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY proposed_at DESC, id DESC LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(|r| entry_from_row(r, cipher)).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, encode_cursor))
    }

    /// Approves (the number is blocked from now, until `expires_at` if given) or rejects a
    /// pending proposal, by `by` with a note. An entry that is no longer pending is a conflict
    /// saying where it stands.
    pub async fn decide_blocklist_entry(
        &self,
        id: BlocklistEntryId,
        approve: bool,
        by: UserId,
        note: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<BlocklistEntry> {
        check_note("note", note)?;
        if !approve && expires_at.is_some() {
            return Err(StoreError::Invalid("expires_at goes with an approval only".into()));
        }
        if expires_at.is_some_and(|e| e <= now) {
            return Err(StoreError::Invalid("expires_at must be in the future".into()));
        }
        let status = if approve { BlocklistStatus::Active } else { BlocklistStatus::Rejected };
        let done = sqlx::query(
            "UPDATE blocklist SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, \
             expires_at = $5, updated_at = $6 WHERE id = $7 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(by.to_string())
        .bind(now.as_millis())
        .bind(note)
        .bind(expires_at.map(|e| e.as_millis()))
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| {
            let unknown = |_: &str| StoreError::Invalid(format!("user `{by}` does not exist"));
            constraint_error(e, unknown, unknown)
        })?;
        let current = self.blocklist_entry(id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("blocklist entry `{id}` is {}, not pending", current.status)));
        }
        Ok(current)
    }

    /// Takes an active entry off the list, or withdraws a pending proposal. An entry already
    /// rejected or removed is a conflict.
    pub async fn remove_blocklist_entry(
        &self,
        id: BlocklistEntryId,
        by: UserId,
        now: Timestamp,
    ) -> Result<BlocklistEntry> {
        let done = sqlx::query(
            "UPDATE blocklist SET status = 'removed', removed_by = $1, removed_at = $2, updated_at = $3 \
             WHERE id = $4 AND status IN ('pending', 'active')",
        )
        .bind(by.to_string())
        .bind(now.as_millis())
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| {
            let unknown = |_: &str| StoreError::Invalid(format!("user `{by}` does not exist"));
            constraint_error(e, unknown, unknown)
        })?;
        let current = self.blocklist_entry(id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("blocklist entry `{id}` is already {}", current.status)));
        }
        Ok(current)
    }
}
