//! Follow-up callbacks (回访, TK-5) and satisfaction surveys (SURV-1) of work orders: a
//! resolved order gets one open callback due a while after resolution; each attempt is
//! recorded with its outcome, the first moves the order to `callback`, contact or a third
//! failure finishes the callback and closes the order — all in one transaction per attempt.
//! A survey (three scores 1–5 and a comment) is stored against the order, once per order.

use crate::events::EventCursor;
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, ts};
use crate::tickets::{TICKET_COLS, Ticket, check_text, insert_changes, ticket_events, ticket_from_row};
use crate::tickets_ops::MAX_NOTE_CHARS;
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::event::EventKind;
use kefu_core::service::followup::{AttemptOutcome, FollowUpState, Satisfaction, TARGET_SCORE, after_attempt};
use kefu_core::service::ticket::TicketStatus;
use kefu_core::{FollowUpId, TicketId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;

/// A callback to make after a work order was resolved.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// Unique id.
    pub id: FollowUpId,
    /// The work order.
    pub ticket_id: TicketId,
    /// The order's number.
    pub ticket_number: String,
    /// The order's summary.
    pub ticket_summary: String,
    /// The order's status now.
    pub ticket_status: TicketStatus,
    /// Open, done, failed or cancelled.
    pub status: FollowUpState,
    /// Attempts made so far (at most 3).
    pub attempts: u8,
    /// When the callback is due.
    pub due_at: Timestamp,
    /// Who should call (the order's owner when it was resolved).
    pub assigned_to: Option<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was done, failed or cancelled.
    pub finished_at: Option<Timestamp>,
}

/// One callback attempt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FollowUpAttempt {
    /// Unique id.
    pub id: uuid::Uuid,
    /// The callback.
    pub followup_id: FollowUpId,
    /// When.
    pub at: Timestamp,
    /// Who called.
    pub by: UserId,
    /// How it went.
    pub outcome: AttemptOutcome,
    /// A note.
    pub note: String,
}

/// Which callbacks to list.
#[derive(Clone, Debug, Default)]
pub struct FollowUpFilter {
    /// Only in this state.
    pub status: Option<FollowUpState>,
    /// Only due before this instant.
    pub due_before: Option<Timestamp>,
}

/// Where a survey answer came from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyChannel {
    /// Asked on the phone (e.g. during the callback).
    Phone,
    /// Answered by text message.
    Sms,
    /// Answered in the IVR.
    Ivr,
    /// Answered on the web.
    Web,
}

impl SurveyChannel {
    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SurveyChannel::Phone => "phone",
            SurveyChannel::Sms => "sms",
            SurveyChannel::Ivr => "ivr",
            SurveyChannel::Web => "web",
        }
    }
}

impl std::str::FromStr for SurveyChannel {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        [SurveyChannel::Phone, SurveyChannel::Sms, SurveyChannel::Ivr, SurveyChannel::Web]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown survey channel `{s}`")))
    }
}

/// A work order's satisfaction survey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketSurvey {
    /// The work order.
    pub ticket_id: TicketId,
    /// The scores and the comment.
    #[serde(flatten)]
    pub scores: Satisfaction,
    /// Where the answer came from.
    pub channel: SurveyChannel,
    /// Who recorded it (absent when the customer answered themselves).
    pub surveyed_by: Option<UserId>,
    /// When.
    pub at: Timestamp,
    /// The mean of the three scores on a 0–100 scale.
    pub score_100: f64,
}

/// Surveys of work orders in a period, summed up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketSurveySummary {
    /// Surveys in the period.
    pub count: i64,
    /// Mean speed score (1–5); absent without surveys.
    pub speed: Option<f64>,
    /// Mean attitude score (1–5).
    pub attitude: Option<f64>,
    /// Mean quality score (1–5).
    pub quality: Option<f64>,
    /// Mean of the 0–100 scores.
    pub score_100: Option<f64>,
    /// Share (0–1) of surveys scoring at least the target.
    pub share_on_target: Option<f64>,
    /// The target score (85).
    pub target: f64,
}

/// What [`Store::sync_followup`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowUpSync {
    /// A callback was created for the resolved order.
    Created(FollowUp),
    /// The order was reopened or closed by hand: its open callback was called off.
    Cancelled,
    /// Nothing to do.
    Unchanged,
}

const FOLLOWUP_COLS: &str = "f.id, f.ticket_id, t.number, t.summary, t.status AS ticket_status, f.status, f.attempts, \
    f.due_at, f.assigned_to, f.created_at, f.finished_at";

fn followup_from_row(r: &AnyRow) -> Result<FollowUp> {
    let attempts: i64 = r.try_get("attempts")?;
    Ok(FollowUp {
        id: parse(r, "id")?,
        ticket_id: parse(r, "ticket_id")?,
        ticket_number: r.try_get("number")?,
        ticket_summary: r.try_get("summary")?,
        ticket_status: parse(r, "ticket_status")?,
        status: parse(r, "status")?,
        attempts: u8::try_from(attempts).map_err(|_| StoreError::Corrupt(format!("column attempts: {attempts}")))?,
        due_at: ts(r, "due_at")?,
        assigned_to: parse_opt(r, "assigned_to")?,
        created_at: ts(r, "created_at")?,
        finished_at: r.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp::from_millis),
    })
}

const SURVEY_COLS: &str = "ticket_id, speed, attitude, quality, comment, channel, surveyed_by, at";

fn score(r: &AnyRow, col: &str) -> Result<u8> {
    let v: i64 = r.try_get(col)?;
    u8::try_from(v).map_err(|_| StoreError::Corrupt(format!("column {col}: {v}")))
}

fn survey_from_row(r: &AnyRow) -> Result<TicketSurvey> {
    let scores = Satisfaction {
        speed: score(r, "speed")?,
        attitude: score(r, "attitude")?,
        quality: score(r, "quality")?,
        comment: r.try_get("comment")?,
    };
    Ok(TicketSurvey {
        ticket_id: parse(r, "ticket_id")?,
        score_100: scores.score_100(),
        scores,
        channel: parse(r, "channel")?,
        surveyed_by: parse_opt(r, "surveyed_by")?,
        at: ts(r, "at")?,
    })
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

fn check_survey(s: &Satisfaction) -> Result<Satisfaction> {
    s.validate().map_err(|e| StoreError::Invalid(format!("{}: {}", e.field, e.message)))?;
    let comment = check_text("comment", &s.comment, kefu_core::service::followup::COMMENT_MAX_CHARS)?;
    Ok(Satisfaction { comment, ..s.clone() })
}

/// Stores (or replaces) a work order's survey within `tx` and returns the event to log.
async fn upsert_survey(
    tx: &mut Tx<'_>,
    ticket: &Ticket,
    s: &Satisfaction,
    channel: SurveyChannel,
    by: Option<UserId>,
    now: Timestamp,
) -> Result<Vec<kefu_core::event::Event>> {
    sqlx::query(&format!(
        "INSERT INTO ticket_surveys ({SURVEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (ticket_id) DO UPDATE SET speed = excluded.speed, attitude = excluded.attitude, \
         quality = excluded.quality, comment = excluded.comment, channel = excluded.channel, \
         surveyed_by = excluded.surveyed_by, at = excluded.at"
    ))
    .bind(ticket.id.to_string())
    .bind(i64::from(s.speed))
    .bind(i64::from(s.attitude))
    .bind(i64::from(s.quality))
    .bind(&s.comment)
    .bind(channel.as_str())
    .bind(by.map(|u| u.to_string()))
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        crate::error::constraint_error(
            e,
            |_| StoreError::Conflict("the survey changed at the same time; try again".into()),
            |_| StoreError::Invalid("the work order or the user does not exist".into()),
        )
    })?;
    let data = json!({
        "speed": s.speed, "attitude": s.attitude, "quality": s.quality, "score_100": s.score_100(),
        "channel": channel,
    });
    Ok(ticket_events(ticket, by, now, &[(EventKind::TicketSurveyed, data)]))
}

/// Moves the order `from` → `to` within `tx` as the system (history row and event); `None`
/// when it is no longer in `from`.
async fn system_move(
    tx: &mut Tx<'_>,
    backend: crate::Backend,
    ticket: &Ticket,
    (from, to): (TicketStatus, TicketStatus),
    note: &str,
    now: Timestamp,
) -> Result<Option<Ticket>> {
    let closed_at = (to == TicketStatus::Closed).then_some(now.as_millis());
    let done = sqlx::query(
        "UPDATE tickets SET status = $1, closed_at = COALESCE($2, closed_at), updated_at = $3, version = version + 1 \
         WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(closed_at)
    .bind(now.as_millis())
    .bind(ticket.id.to_string())
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(None);
    }
    let mut after = ticket.clone();
    after.status = to;
    after.version += 1;
    after.updated_at = now;
    if to == TicketStatus::Closed {
        after.closed_at = Some(now);
    }
    let detail = json!({ "from": from, "to": to, "reason": null, "note": note });
    insert_changes(tx, ticket.id, None, now, &[("status", detail)]).await?;
    let data = json!({ "from": from, "to": to, "reason": null });
    let events = ticket_events(&after, None, now, &[(EventKind::TicketStatusChanged, data)]);
    crate::events::insert_events(tx, backend, &events).await?;
    Ok(Some(after))
}

/// The order as committed now, read within `tx`.
async fn ticket_in(tx: &mut Tx<'_>, id: TicketId) -> Result<Ticket> {
    let row = sqlx::query(&format!("SELECT {TICKET_COLS} FROM tickets WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { what: "work order", id: id.to_string() })?;
    ticket_from_row(&row)
}

impl Store {
    /// Keeps a work order's callback in step with its status: a resolved order without an
    /// open callback gets one, due `after_ms` after its resolution and assigned to its owner;
    /// an order reopened or closed by hand has its open callback called off.
    pub async fn sync_followup(&self, ticket: &Ticket, after_ms: i64, now: Timestamp) -> Result<FollowUpSync> {
        match ticket.status {
            TicketStatus::Resolved => {
                let id = FollowUpId::from_uuid(new_uuid());
                let due = ticket.resolved_at.unwrap_or(now).plus_millis(after_ms.max(0));
                // at most one open callback per order (a partial unique index)
                let done = sqlx::query(
                    "INSERT INTO followups (id, ticket_id, status, attempts, due_at, assigned_to, created_at, finished_at) \
                     VALUES ($1, $2, 'open', 0, $3, $4, $5, NULL) ON CONFLICT DO NOTHING",
                )
                .bind(id.to_string())
                .bind(ticket.id.to_string())
                .bind(due.as_millis())
                .bind(ticket.owner_id.map(|u| u.to_string()))
                .bind(now.as_millis())
                .execute(self.pool())
                .await
                .map_err(|e| {
                    crate::error::constraint_error(
                        e,
                        |_| StoreError::Conflict("the work order already has an open callback".into()),
                        |_| StoreError::NotFound { what: "work order", id: ticket.id.to_string() },
                    )
                })?
                .rows_affected();
                if done == 0 {
                    Ok(FollowUpSync::Unchanged)
                } else {
                    Ok(FollowUpSync::Created(self.followup(id).await?))
                }
            }
            TicketStatus::Callback => Ok(FollowUpSync::Unchanged),
            _ => {
                let done = sqlx::query(
                    "UPDATE followups SET status = 'cancelled', finished_at = $1 WHERE ticket_id = $2 AND status = 'open'",
                )
                .bind(now.as_millis())
                .bind(ticket.id.to_string())
                .execute(self.pool())
                .await?
                .rows_affected();
                Ok(if done == 0 { FollowUpSync::Unchanged } else { FollowUpSync::Cancelled })
            }
        }
    }

    /// A callback by id.
    pub async fn followup(&self, id: FollowUpId) -> Result<FollowUp> {
        let row = sqlx::query(&format!(
            "SELECT {FOLLOWUP_COLS} FROM followups f JOIN tickets t ON t.id = f.ticket_id WHERE f.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound { what: "callback", id: id.to_string() })?;
        followup_from_row(&row)
    }

    /// The callbacks of a work order, oldest first.
    pub async fn ticket_followups(&self, ticket: TicketId) -> Result<Vec<FollowUp>> {
        let rows = sqlx::query(&format!(
            "SELECT {FOLLOWUP_COLS} FROM followups f JOIN tickets t ON t.id = f.ticket_id WHERE f.ticket_id = $1 \
             ORDER BY f.created_at, f.id"
        ))
        .bind(ticket.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(followup_from_row).collect()
    }

    /// Callbacks by due time (then id), filtered, one page at a time.
    pub async fn list_followups(&self, filter: &FollowUpFilter, page: &PageRequest) -> Result<Page<FollowUp>> {
        use crate::events::{Arg, Args};
        let limit = page.limit();
        let mut args = Args::default();
        let mut sql =
            format!("SELECT {FOLLOWUP_COLS} FROM followups f JOIN tickets t ON t.id = f.ticket_id WHERE 1 = 1");
        if let Some(s) = filter.status {
            let p = args.push(Arg::Text(s.as_str().to_owned()));
            let _ = write!(sql, " AND f.status = {p}");
        }
        if let Some(before) = filter.due_before {
            let p = args.push(Arg::Int(before.as_millis()));
            let _ = write!(sql, " AND f.due_at < {p}");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let c = EventCursor::decode(cursor)?;
            let a = args.push(Arg::Int(c.at.as_millis()));
            let b = args.push(Arg::Int(c.at.as_millis()));
            let id = args.push(Arg::Text(c.id));
            let _ = write!(sql, " AND (f.due_at > {a} OR (f.due_at = {b} AND f.id > {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY f.due_at, f.id LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(followup_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |f| EventCursor { at: f.due_at, id: f.id.to_string() }.encode()))
    }

    /// The attempts of a callback, oldest first (404 for an unknown callback).
    pub async fn followup_attempts(&self, id: FollowUpId) -> Result<Vec<FollowUpAttempt>> {
        self.followup(id).await?;
        let rows = sqlx::query(
            "SELECT id, followup_id, at, attempted_by, outcome, note FROM followup_attempts WHERE followup_id = $1 \
             ORDER BY at, id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FollowUpAttempt {
                    id: parse(r, "id")?,
                    followup_id: parse(r, "followup_id")?,
                    at: ts(r, "at")?,
                    by: parse(r, "attempted_by")?,
                    outcome: parse(r, "outcome")?,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }

    /// Records one callback attempt, in one transaction: the attempt, the callback's new
    /// state (`after_attempt`: done on contact, failed after the third failure; 409 for a
    /// callback that is finished or out of attempts), the first attempt moving the order
    /// resolved → callback, a finished callback closing it, the survey when one is given
    /// (only with an answered call; stored with channel `phone`), and the events.
    pub async fn record_followup_attempt(
        &self,
        id: FollowUpId,
        outcome: AttemptOutcome,
        note: &str,
        survey: Option<&Satisfaction>,
        by: UserId,
        now: Timestamp,
    ) -> Result<FollowUp> {
        let note = check_text("note", note, MAX_NOTE_CHARS)?;
        let survey = survey.map(check_survey).transpose()?;
        if survey.is_some() && outcome != AttemptOutcome::Answered {
            return Err(StoreError::Invalid(format!(
                "a survey can only be given with an answered call, not `{outcome}`"
            )));
        }
        let current = self.followup(id).await?;
        if current.status.is_final() {
            return Err(StoreError::Conflict(format!(
                "this callback is {} already; no more attempts can be recorded",
                current.status
            )));
        }
        let state = after_attempt(current.attempts, outcome).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let n = current.attempts + 1;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE followups SET attempts = $1, status = $2, finished_at = $3 WHERE id = $4 AND attempts = $5 \
             AND status = 'open'",
        )
        .bind(i64::from(n))
        .bind(state.as_str())
        .bind(state.is_final().then_some(now.as_millis()))
        .bind(id.to_string())
        .bind(i64::from(current.attempts))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::Conflict(
                "another attempt on this callback was recorded at the same time; reload it and try again".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO followup_attempts (id, followup_id, at, attempted_by, outcome, note) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_uuid().to_string())
        .bind(id.to_string())
        .bind(now.as_millis())
        .bind(by.to_string())
        .bind(outcome.as_str())
        .bind(&note)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::error::constraint_error(
                e,
                |_| StoreError::Conflict("this attempt was already recorded".into()),
                |_| StoreError::Invalid("the calling user does not exist".into()),
            )
        })?;
        let mut ticket = ticket_in(&mut tx, current.ticket_id).await?;
        let why = format!("callback attempt {n}: {outcome}");
        if ticket.status == TicketStatus::Resolved
            && let Some(t) = system_move(
                &mut tx,
                self.backend(),
                &ticket,
                (TicketStatus::Resolved, TicketStatus::Callback),
                &why,
                now,
            )
            .await?
        {
            ticket = t;
        }
        if state.is_final()
            && matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Callback)
            && let Some(t) =
                system_move(&mut tx, self.backend(), &ticket, (ticket.status, TicketStatus::Closed), &why, now).await?
        {
            ticket = t;
        }
        let mut events = Vec::new();
        if let Some(s) = &survey {
            events.extend(upsert_survey(&mut tx, &ticket, s, SurveyChannel::Phone, Some(by), now).await?);
        }
        let data: Value = json!({ "followup": id, "attempt": n, "outcome": outcome, "state": state });
        events.extend(ticket_events(&ticket, Some(by), now, &[(EventKind::FollowUpAttempted, data)]));
        crate::events::insert_events(&mut tx, self.backend(), &events).await?;
        tx.commit().await?;
        self.followup(id).await
    }

    /// Stores a work order's survey (replacing an earlier one): scores 1–5 (422 otherwise),
    /// only once the order is resolved, in callback or closed (409 otherwise).
    pub async fn set_ticket_survey(
        &self,
        ticket: TicketId,
        survey: &Satisfaction,
        channel: SurveyChannel,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<TicketSurvey> {
        let survey = check_survey(survey)?;
        let t = self.ticket(ticket).await?;
        if t.status.is_open() {
            return Err(StoreError::Conflict(format!(
                "work order {} is {}; a survey is taken once it is resolved",
                t.number, t.status
            )));
        }
        let mut tx = self.pool().begin().await?;
        let events = upsert_survey(&mut tx, &t, &survey, channel, by, now).await?;
        crate::events::insert_events(&mut tx, self.backend(), &events).await?;
        tx.commit().await?;
        self.ticket_survey(ticket).await
    }

    /// A work order's survey (404 when it has none).
    pub async fn ticket_survey(&self, ticket: TicketId) -> Result<TicketSurvey> {
        let row = sqlx::query(&format!("SELECT {SURVEY_COLS} FROM ticket_surveys WHERE ticket_id = $1"))
            .bind(ticket.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "survey of work order", id: ticket.to_string() })?;
        survey_from_row(&row)
    }

    /// The surveys taken in `[from, to)`: count, mean per question, mean 0–100 score and the
    /// share at or above the target (85).
    pub async fn ticket_survey_summary(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<TicketSurveySummary> {
        // score_100 = (s + a + q) / 3 × 20 ≥ target  ⇔  s + a + q ≥ ⌈target × 3 / 20⌉
        let on_target = (TARGET_SCORE * 3.0 / 20.0).ceil() as i64;
        // SUM of a BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot read: cast.
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(speed), 0) AS BIGINT) AS s, \
             CAST(COALESCE(SUM(attitude), 0) AS BIGINT) AS a, CAST(COALESCE(SUM(quality), 0) AS BIGINT) AS q, \
             CAST(COALESCE(SUM(CASE WHEN speed + attitude + quality >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS ok \
             FROM ticket_surveys WHERE at >= $2 AND at < $3",
        )
        .bind(on_target)
        .bind(from.map_or(i64::MIN, Timestamp::as_millis))
        .bind(to.map_or(i64::MAX, Timestamp::as_millis))
        .fetch_one(self.pool())
        .await?;
        let n: i64 = row.try_get("n")?;
        let (s, a, q, ok): (i64, i64, i64, i64) =
            (row.try_get("s")?, row.try_get("a")?, row.try_get("q")?, row.try_get("ok")?);
        let mean = |total: i64| (n > 0).then(|| total as f64 / n as f64);
        Ok(TicketSurveySummary {
            count: n,
            speed: mean(s),
            attitude: mean(a),
            quality: mean(q),
            score_100: mean(s + a + q).map(|m| m / 3.0 * 20.0),
            share_on_target: mean(ok),
            target: TARGET_SCORE,
        })
    }
}
