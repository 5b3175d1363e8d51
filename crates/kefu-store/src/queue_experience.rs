//! What callers leave behind around a queue: voicemails (a WAV file and the call that left
//! it, listed newest first), callback requests (worked oldest first, each finished once) and
//! post-call survey answers (a score 1–5 per question per call, summed up per agent).

use crate::error::constraint_error;
use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::{CallbackRequestId, QueueId, Timestamp, UserId, VoicemailId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

// ---- voicemails ----

/// A stored voicemail's metadata.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Voicemail {
    /// Unique id.
    pub id: VoicemailId,
    /// The SIP Call-ID of the call that left it.
    pub call_id: String,
    /// Calling number.
    pub caller: String,
    /// Dialled number (DID).
    pub dialled: String,
    /// The IVR flow the caller was in (empty when none).
    pub flow: String,
    /// Whose box it is; `None` when left outside a queue or the queue was deleted since.
    pub queue_id: Option<QueueId>,
    /// The WAV file as the server wrote it (absolute, or relative to its working directory).
    pub path: String,
    /// Length in milliseconds.
    pub duration_ms: i64,
    /// Size of the file in bytes.
    pub size_bytes: i64,
    /// When it was left (epoch ms).
    pub created_at: Timestamp,
    /// Who marked it heard, if anyone has.
    pub heard_by: Option<UserId>,
    /// When it was marked heard (epoch ms).
    pub heard_at: Option<Timestamp>,
}

/// A voicemail to store, written when the file is finished (the store makes its id).
#[derive(Clone, Debug)]
pub struct NewVoicemail {
    /// The SIP Call-ID.
    pub call_id: String,
    /// Calling number.
    pub caller: String,
    /// Dialled number.
    pub dialled: String,
    /// The IVR flow's name (empty when none).
    pub flow: String,
    /// The queue whose box it goes to.
    pub queue_id: Option<QueueId>,
    /// Where the file is.
    pub path: String,
    /// Length in milliseconds (≥ 0).
    pub duration_ms: i64,
    /// File size in bytes (≥ 0).
    pub size_bytes: i64,
    /// When it was left.
    pub created_at: Timestamp,
}

/// Which voicemails to list.
#[derive(Clone, Debug, Default)]
pub struct VoicemailFilter {
    /// Only this queue's box.
    pub queue: Option<QueueId>,
    /// Only those nobody has marked heard.
    pub unheard_only: bool,
}

const VM_COLS: &str =
    "id, call_id, caller, dialled, flow, queue_id, path, duration_ms, size_bytes, created_at, heard_by, heard_at";

fn voicemail_from_row(r: &AnyRow) -> Result<Voicemail> {
    Ok(Voicemail {
        id: parse(r, "id")?,
        call_id: r.try_get("call_id")?,
        caller: r.try_get("caller")?,
        dialled: r.try_get("dialled")?,
        flow: r.try_get("flow")?,
        queue_id: parse_opt(r, "queue_id")?,
        path: r.try_get("path")?,
        duration_ms: r.try_get("duration_ms")?,
        size_bytes: r.try_get("size_bytes")?,
        created_at: ts(r, "created_at")?,
        heard_by: parse_opt(r, "heard_by")?,
        heard_at: ts_opt(r, "heard_at")?,
    })
}

// ---- callback requests ----

/// Where a callback request stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Waiting for an agent to call back.
    Open,
    /// Called back.
    Done,
    /// Given up (the caller could not be reached, or asked twice).
    Cancelled,
}

impl CallbackStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Open => "open",
            CallbackStatus::Done => "done",
            CallbackStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for CallbackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallbackStatus {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "open" => Ok(CallbackStatus::Open),
            "done" => Ok(CallbackStatus::Done),
            "cancelled" => Ok(CallbackStatus::Cancelled),
            other => Err(format!(
                "unknown callback status `{}` (open, done or cancelled)",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// A caller's request to be called back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackRequest {
    /// Unique id.
    pub id: CallbackRequestId,
    /// The SIP Call-ID of the call that asked.
    pub call_id: String,
    /// The number to call back.
    pub number: String,
    /// The number the call came from.
    pub caller: String,
    /// The queue the caller was waiting in; `None` outside a queue or once it is deleted.
    pub queue_id: Option<QueueId>,
    /// The IVR flow the caller was in (empty when none).
    pub flow: String,
    /// Open until an agent finishes it.
    pub status: CallbackStatus,
    /// When asked for (epoch ms).
    pub created_at: Timestamp,
    /// Who finished it.
    pub handled_by: Option<UserId>,
    /// When it was finished (epoch ms).
    pub handled_at: Option<Timestamp>,
    /// The agent's note on finishing it.
    pub note: String,
}

/// A callback request to store.
#[derive(Clone, Debug)]
pub struct NewCallbackRequest {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The number to call back.
    pub number: String,
    /// The number the call came from.
    pub caller: String,
    /// The queue the caller was waiting in.
    pub queue_id: Option<QueueId>,
    /// The IVR flow's name (empty when none).
    pub flow: String,
    /// When asked for.
    pub created_at: Timestamp,
}

/// Which callback requests to list.
#[derive(Clone, Debug, Default)]
pub struct CallbackFilter {
    /// Only those in this state.
    pub status: Option<CallbackStatus>,
    /// Only those from this queue.
    pub queue: Option<QueueId>,
}

const CB_COLS: &str = "id, call_id, number, caller, queue_id, flow, status, created_at, handled_by, handled_at, note";

fn callback_from_row(r: &AnyRow) -> Result<CallbackRequest> {
    Ok(CallbackRequest {
        id: parse(r, "id")?,
        call_id: r.try_get("call_id")?,
        number: r.try_get("number")?,
        caller: r.try_get("caller")?,
        queue_id: parse_opt(r, "queue_id")?,
        flow: r.try_get("flow")?,
        status: parse(r, "status")?,
        created_at: ts(r, "created_at")?,
        handled_by: parse_opt(r, "handled_by")?,
        handled_at: ts_opt(r, "handled_at")?,
        note: r.try_get("note")?,
    })
}

// ---- survey answers ----

/// One answer of a post-call survey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SurveyAnswer {
    /// The SIP Call-ID of the call surveyed.
    pub call_id: String,
    /// The agent who handled the call (cleared if the user is deleted).
    pub agent_id: Option<UserId>,
    /// The question's id in the IVR flow's survey node.
    pub question: String,
    /// 1 (worst) to 5 (best).
    pub score: u8,
    /// When answered (epoch ms).
    pub created_at: Timestamp,
}

/// How one question scored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionScore {
    /// The question's id.
    pub question: String,
    /// How many answers.
    pub answers: i64,
    /// Their mean score, 1–5.
    pub average: f64,
}

/// An agent's survey results over a time range.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SurveySummary {
    /// Calls with at least one answer.
    pub calls: i64,
    /// Each question answered, by question id.
    pub questions: Vec<QuestionScore>,
}

/// The lowest and highest survey score.
pub const SURVEY_SCORES: std::ops::RangeInclusive<u8> = 1..=5;

// ---- shared ----

fn ts_opt(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
}

/// The cursor of a page ordered by creation: `<created_at>_<id>` of the last item.
fn encode_cursor(at: Timestamp, id: &impl fmt::Display) -> String {
    format!("{}_{id}", at.as_millis())
}

fn decode_cursor<Id: FromStr>(what: &str, text: &str) -> Result<(i64, Id)> {
    let bad =
        || StoreError::Invalid(format!("malformed {what} cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

fn required(field: &str, value: &str) -> Result<()> {
    if value.is_empty() { Err(StoreError::Invalid(format!("{field} is empty"))) } else { Ok(()) }
}

fn unknown_reference(queue: Option<QueueId>, user: Option<UserId>) -> StoreError {
    match (queue, user) {
        (Some(q), None) => StoreError::Invalid(format!("queue `{q}` does not exist")),
        (None, Some(u)) => StoreError::Invalid(format!("user `{u}` does not exist")),
        _ => StoreError::Invalid("a referenced queue or user does not exist".into()),
    }
}

impl Store {
    // ---- voicemails ----

    /// Stores a finished voicemail under a new id; an unknown queue is invalid.
    pub async fn insert_voicemail(&self, new: &NewVoicemail) -> Result<Voicemail> {
        required("call_id", &new.call_id)?;
        required("path", &new.path)?;
        if new.duration_ms < 0 || new.size_bytes < 0 {
            return Err(StoreError::Invalid("a voicemail's duration and size cannot be negative".into()));
        }
        let id = VoicemailId::from_uuid(new_uuid());
        sqlx::query(&format!(
            "INSERT INTO voicemails ({VM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)"
        ))
        .bind(id.to_string())
        .bind(&new.call_id)
        .bind(&new.caller)
        .bind(&new.dialled)
        .bind(&new.flow)
        .bind(new.queue_id.map(|q| q.to_string()))
        .bind(&new.path)
        .bind(new.duration_ms)
        .bind(new.size_bytes)
        .bind(new.created_at.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("voicemail `{id}` already exists")),
                |_| unknown_reference(new.queue_id, None),
            )
        })?;
        self.voicemail(id).await
    }

    /// A voicemail by id.
    pub async fn voicemail(&self, id: VoicemailId) -> Result<Voicemail> {
        let row = sqlx::query(&format!("SELECT {VM_COLS} FROM voicemails WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "voicemail", id: id.to_string() })?;
        voicemail_from_row(&row)
    }

    /// Voicemails matching `filter`, newest first (by when left, then id), one page at a time.
    pub async fn list_voicemails(&self, filter: &VoicemailFilter, page: &PageRequest) -> Result<Page<Voicemail>> {
        let limit = page.limit();
        let mut sql = format!("SELECT {VM_COLS} FROM voicemails WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(queue) = filter.queue {
            let p = args.push(Arg::Text(queue.to_string()));
            let _ = write!(sql, " AND queue_id = {p}");
        }
        if filter.unheard_only {
            sql.push_str(" AND heard_at IS NULL");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor::<VoicemailId>("voicemail", cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (created_at < {at1} OR (created_at = {at2} AND id < {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY created_at DESC, id DESC LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(voicemail_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |v| encode_cursor(v.created_at, &v.id)))
    }

    /// Marks a voicemail heard by `user`. Marking it again changes nothing: the first
    /// listener and time stay.
    pub async fn mark_voicemail_heard(&self, id: VoicemailId, user: UserId, now: Timestamp) -> Result<Voicemail> {
        sqlx::query("UPDATE voicemails SET heard_by = $1, heard_at = $2 WHERE id = $3 AND heard_at IS NULL")
            .bind(user.to_string())
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| {
                let unknown = |_: &str| unknown_reference(None, Some(user));
                constraint_error(e, unknown, unknown)
            })?;
        self.voicemail(id).await
    }

    // ---- callback requests ----

    /// Stores an open callback request; an unknown queue is invalid.
    pub async fn insert_callback_request(&self, new: &NewCallbackRequest) -> Result<CallbackRequest> {
        required("call_id", &new.call_id)?;
        required("number", &new.number)?;
        let id = CallbackRequestId::from_uuid(new_uuid());
        sqlx::query(&format!(
            "INSERT INTO callback_requests ({CB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, NULL, NULL, '')"
        ))
        .bind(id.to_string())
        .bind(&new.call_id)
        .bind(&new.number)
        .bind(&new.caller)
        .bind(new.queue_id.map(|q| q.to_string()))
        .bind(&new.flow)
        .bind(new.created_at.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("callback request `{id}` already exists")),
                |_| unknown_reference(new.queue_id, None),
            )
        })?;
        self.callback_request(id).await
    }

    /// A callback request by id.
    pub async fn callback_request(&self, id: CallbackRequestId) -> Result<CallbackRequest> {
        let row = sqlx::query(&format!("SELECT {CB_COLS} FROM callback_requests WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "callback request", id: id.to_string() })?;
        callback_from_row(&row)
    }

    /// Callback requests matching `filter`, oldest first (the order agents work them in), one
    /// page at a time.
    pub async fn list_callback_requests(
        &self,
        filter: &CallbackFilter,
        page: &PageRequest,
    ) -> Result<Page<CallbackRequest>> {
        let limit = page.limit();
        let mut sql = format!("SELECT {CB_COLS} FROM callback_requests WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(status) = filter.status {
            let p = args.push(Arg::Text(status.as_str().to_owned()));
            let _ = write!(sql, " AND status = {p}");
        }
        if let Some(queue) = filter.queue {
            let p = args.push(Arg::Text(queue.to_string()));
            let _ = write!(sql, " AND queue_id = {p}");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor::<CallbackRequestId>("callback request", cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (created_at > {at1} OR (created_at = {at2} AND id > {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY created_at, id LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(callback_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |c| encode_cursor(c.created_at, &c.id)))
    }

    /// Finishes an open callback request as `Done` or `Cancelled`, by `user`, with a note.
    /// A request that is no longer open is a conflict saying how it ended; `Open` is invalid.
    pub async fn finish_callback_request(
        &self,
        id: CallbackRequestId,
        user: UserId,
        status: CallbackStatus,
        note: &str,
        now: Timestamp,
    ) -> Result<CallbackRequest> {
        if status == CallbackStatus::Open {
            return Err(StoreError::Invalid("a callback request is finished as done or cancelled, not open".into()));
        }
        let done = sqlx::query(
            "UPDATE callback_requests SET status = $1, handled_by = $2, handled_at = $3, note = $4 \
             WHERE id = $5 AND status = 'open'",
        )
        .bind(status.as_str())
        .bind(user.to_string())
        .bind(now.as_millis())
        .bind(note)
        .bind(id.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| {
            let unknown = |_: &str| unknown_reference(None, Some(user));
            constraint_error(e, unknown, unknown)
        })?;
        let current = self.callback_request(id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "callback request `{id}` is already {}, not open",
                current.status
            )));
        }
        Ok(current)
    }

    // ---- survey answers ----

    /// Stores a call's survey answers (question id, score 1–5) in one transaction: all of
    /// them or, on any error, none. A score out of range or an empty question is invalid; a
    /// question the call has answered already is a conflict.
    pub async fn insert_survey_answers(
        &self,
        call_id: &str,
        agent: Option<UserId>,
        answers: &[(String, u8)],
        now: Timestamp,
    ) -> Result<()> {
        required("call_id", call_id)?;
        for (question, score) in answers {
            required("question", question)?;
            if !SURVEY_SCORES.contains(score) {
                return Err(StoreError::Invalid(format!(
                    "question `{question}`: score {score} is outside {}–{}",
                    SURVEY_SCORES.start(),
                    SURVEY_SCORES.end()
                )));
            }
        }
        let mut tx = self.pool().begin().await?;
        for (question, score) in answers {
            sqlx::query(
                "INSERT INTO survey_answers (id, call_id, agent_id, question, score, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_uuid().to_string())
            .bind(call_id)
            .bind(agent.map(|a| a.to_string()))
            .bind(question)
            .bind(i64::from(*score))
            .bind(now.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                constraint_error(
                    e,
                    |_| StoreError::Conflict(format!("call `{call_id}` has already answered question `{question}`")),
                    |_| unknown_reference(None, agent),
                )
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A call's survey answers, by question id.
    pub async fn survey_answers_for_call(&self, call_id: &str) -> Result<Vec<SurveyAnswer>> {
        let rows = sqlx::query(
            "SELECT call_id, agent_id, question, score, created_at FROM survey_answers \
             WHERE call_id = $1 ORDER BY question",
        )
        .bind(call_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let score: i64 = r.try_get("score")?;
                Ok(SurveyAnswer {
                    call_id: r.try_get("call_id")?,
                    agent_id: parse_opt(r, "agent_id")?,
                    question: r.try_get("question")?,
                    score: u8::try_from(score)
                        .ok()
                        .filter(|s| SURVEY_SCORES.contains(s))
                        .ok_or_else(|| StoreError::Corrupt(format!("column score: {score} is not 1–5")))?,
                    created_at: ts(r, "created_at")?,
                })
            })
            .collect()
    }

    /// How `agent`'s calls answered in `[from, to)`: the number of calls surveyed and the
    /// mean score of each question, by question id.
    pub async fn survey_summary_for_agent(
        &self,
        agent: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<SurveySummary> {
        let calls: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT call_id) AS n FROM survey_answers \
             WHERE agent_id = $1 AND created_at >= $2 AND created_at < $3",
        )
        .bind(agent.to_string())
        .bind(from.as_millis())
        .bind(to.as_millis())
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        // SUM and AVG of a BIGINT are NUMERIC on PostgreSQL, which the Any driver cannot read:
        // sum as BIGINT and divide here
        let rows = sqlx::query(
            "SELECT question, COUNT(*) AS n, CAST(SUM(score) AS BIGINT) AS total FROM survey_answers \
             WHERE agent_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY question ORDER BY question",
        )
        .bind(agent.to_string())
        .bind(from.as_millis())
        .bind(to.as_millis())
        .fetch_all(self.pool())
        .await?;
        let questions = rows
            .iter()
            .map(|r| {
                let answers: i64 = r.try_get("n")?;
                let total: i64 = r.try_get("total")?;
                // both are far below 2^53, so exact in an f64
                let average = if answers == 0 { 0.0 } else { total as f64 / answers as f64 };
                Ok(QuestionScore { question: r.try_get("question")?, answers, average })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SurveySummary { calls, questions })
    }
}
