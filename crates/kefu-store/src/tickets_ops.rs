//! What people do to a work order after it exists: move it through the workflow (the SLA
//! clock pauses, resumes, records the response and the resolution), assign, dispatch to
//! another department, escalate, comment, move along its template's steps, attach files and
//! link calls — each recorded in the order's history, and read back from it.

use crate::error::constraint_error;
use crate::rows::{parse, parse_opt, ts};
use crate::tickets::{Edit, Ticket, check_text, insert_changes, link_call_row};
use crate::{Result, Store, StoreError};
use kefu_core::event::EventKind;
use kefu_core::service::calendar::BusinessCalendar;
use kefu_core::service::escalation::{EscalationTarget, top_tier};
use kefu_core::service::ticket::{PendingReason, TicketStatus};
use kefu_core::{TeamId, TicketId, Timestamp, UserId};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;

/// The longest comment or note, in characters.
pub const MAX_NOTE_CHARS: usize = 5_000;

/// One row of a work order's history: who did what, when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketChange {
    /// Unique id.
    pub id: uuid::Uuid,
    /// When.
    pub at: Timestamp,
    /// Who; `None` for the system (SLA worker, imports).
    pub actor_id: Option<UserId>,
    /// The actor's display name, when the user still exists.
    pub actor_name: Option<String>,
    /// What: `created`, `updated` (one row per field), `status`, `assigned`, `dispatched`,
    /// `escalated`, `comment`, `step`, `attachment_added`, `call_linked`.
    pub action: String,
    /// The details: `{field, from, to}` for updates, `{from, to, reason, note}` for status moves, …
    pub detail: Value,
}

/// A file attached to a work order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// Unique id.
    pub id: uuid::Uuid,
    /// The work order.
    pub ticket_id: TicketId,
    /// The file's name as uploaded.
    pub name: String,
    /// Its media type as uploaded.
    pub content_type: String,
    /// Its size.
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// Where the file is on the server.
    #[serde(skip)]
    pub path: String,
}

/// An attachment's record, written once its file is in place (the caller makes the id,
/// which names the file).
#[derive(Clone, Debug)]
pub struct NewAttachment {
    /// The id (and file name on disk).
    pub id: uuid::Uuid,
    /// The work order.
    pub ticket_id: TicketId,
    /// The file's name as uploaded.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its size (> 0).
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Where the file is.
    pub path: String,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// A call linked to a work order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkedCall {
    /// The SIP Call-ID.
    pub call_id: String,
    /// Who linked it.
    pub linked_by: Option<UserId>,
    /// When.
    pub linked_at: Timestamp,
}

fn move_error(e: kefu_core::service::ticket::TransitionError) -> StoreError {
    StoreError::Conflict(e.to_string())
}

fn note(text: Option<&str>) -> Result<Option<String>> {
    Ok(text.map(|t| check_text("note", t, MAX_NOTE_CHARS)).transpose()?.filter(|t| !t.is_empty()))
}

impl Store {
    /// Moves a work order in its workflow (`TicketStatus::check_move`; 409 when not allowed).
    /// Pending needs a reason and pauses the resolution and update clocks (on `cal`, the
    /// calendar of the order's SLA); leaving pending resumes them. The first response is the
    /// first move to in progress or resolved, or the first comment; resolving records the
    /// resolution, reopening clears it (and `resolved_at`, `closed_at`).
    #[allow(clippy::too_many_arguments)]
    pub async fn move_ticket(
        &self,
        id: TicketId,
        expected_version: i64,
        to: TicketStatus,
        reason: Option<PendingReason>,
        note_text: Option<&str>,
        actor: Option<UserId>,
        now: Timestamp,
        cal: &BusinessCalendar,
    ) -> Result<Ticket> {
        let note = note(note_text)?;
        match (to, reason) {
            (TicketStatus::Pending, None) => {
                return Err(StoreError::Invalid(
                    "a pending work order needs a reason: `customer` or `third_party`".into(),
                ));
            }
            (s, Some(_)) if s != TicketStatus::Pending => {
                return Err(StoreError::Invalid("a reason is only given when moving to pending".into()));
            }
            _ => {}
        }
        self.apply_edit(id, Some(expected_version), actor, now, |t| {
            let from = t.status;
            from.check_move(to).map_err(move_error)?;
            let mut e = Edit::new(t.clone());
            let n = &mut e.ticket;
            n.sla_state.on_status_change(cal, from, to, now);
            if TicketStatus::is_reopen(from, to) {
                n.resolved_at = None;
                n.closed_at = None;
            }
            match to {
                TicketStatus::InProgress => n.sla_state.responded(now),
                TicketStatus::Resolved => n.resolved_at = Some(now),
                TicketStatus::Closed => n.closed_at = Some(now),
                _ => {}
            }
            n.status = to;
            n.pending_reason = reason;
            e.changes.push(("status", json!({ "from": from, "to": to, "reason": reason, "note": note })));
            e.events.push((EventKind::TicketStatusChanged, json!({ "from": from, "to": to, "reason": reason })));
            Ok(e)
        })
        .await
    }

    /// Gives a work order an owner and/or a group. An owner without a group brings their own
    /// team (if they have one); a group without an owner clears an owner of another team. A
    /// new order with an owner becomes `assigned`.
    pub async fn assign_ticket(
        &self,
        id: TicketId,
        owner: Option<UserId>,
        team: Option<TeamId>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Ticket> {
        if owner.is_none() && team.is_none() {
            return Err(StoreError::Invalid("give an owner, a team or both".into()));
        }
        let owner_team = match owner {
            Some(o) => {
                let user = self.user(o).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => StoreError::Invalid(format!("unknown user `{o}`")),
                    other => other,
                })?;
                if !user.enabled {
                    return Err(StoreError::Invalid(format!("user `{}` is disabled", user.username)));
                }
                user.team_id
            }
            None => None,
        };
        if let Some(t) = team {
            self.require_row("teams", "team", &t.to_string()).await?;
        }
        // a group without an owner keeps the current owner only if they belong to that group
        let owner_stays = match (owner, team, self.ticket(id).await?.owner_id) {
            (None, Some(t), Some(current)) => self.user(current).await.is_ok_and(|u| u.team_id == Some(t)),
            _ => true,
        };
        self.apply_edit(id, None, actor, now, |t| {
            let mut e = Edit::new(t.clone());
            let n = &mut e.ticket;
            let new_team = team.or(owner_team).or(t.team_id);
            let new_owner = match owner {
                Some(o) => Some(o),
                None if new_team != t.team_id && !owner_stays => None,
                None => t.owner_id,
            };
            if new_owner == t.owner_id && new_team == t.team_id {
                return Ok(e);
            }
            n.owner_id = new_owner;
            n.team_id = new_team;
            e.changes.push((
                "assigned",
                json!({ "owner": { "from": t.owner_id, "to": new_owner }, "team": { "from": t.team_id, "to": new_team } }),
            ));
            e.events.push((EventKind::TicketAssigned, json!({ "owner": new_owner, "team": new_team })));
            if t.status == TicketStatus::New && new_owner.is_some() {
                n.status = TicketStatus::Assigned;
                e.changes.push(("status", json!({ "from": t.status, "to": n.status, "reason": null, "note": null })));
                e.events.push((EventKind::TicketStatusChanged, json!({ "from": t.status, "to": n.status, "reason": null })));
            }
            Ok(e)
        })
        .await
    }

    /// Dispatches a work order to another department's list: the group changes and the owner
    /// is cleared (the status stays). Dispatching to the group it is already with is invalid.
    pub async fn dispatch_ticket(
        &self,
        id: TicketId,
        team: TeamId,
        note_text: &str,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Ticket> {
        let note = note(Some(note_text))?;
        self.require_row("teams", "team", &team.to_string()).await?;
        self.apply_edit(id, None, actor, now, |t| {
            if t.team_id == Some(team) && t.owner_id.is_none() {
                return Err(StoreError::Invalid("the work order is already on that team's list".into()));
            }
            let mut e = Edit::new(t.clone());
            e.ticket.team_id = Some(team);
            e.ticket.owner_id = None;
            e.changes.push((
                "dispatched",
                json!({ "from_team": t.team_id, "to_team": team, "previous_owner": t.owner_id, "note": note }),
            ));
            e.events.push((EventKind::TicketDispatched, json!({ "team": team, "from_team": t.team_id, "note": note })));
            Ok(e)
        })
        .await
    }

    /// Escalates a work order: to a higher tier (the next one when `to` is `None`; 409 at the
    /// top tier or for a tier not above the current one), or to a role's attention (the tier
    /// stays). `rule` names the escalation rule when the SLA worker escalates; `None` by hand.
    pub async fn escalate_ticket(
        &self,
        id: TicketId,
        to: Option<EscalationTarget>,
        note_text: &str,
        rule: Option<&str>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Ticket> {
        let note = note(Some(note_text))?;
        self.apply_edit(id, None, actor, now, |t| {
            let target = to.unwrap_or(EscalationTarget::Tier(t.tier.saturating_add(1)));
            let mut e = Edit::new(t.clone());
            if let EscalationTarget::Tier(n) = target {
                if n > top_tier() {
                    return Err(StoreError::Conflict(format!(
                        "the work order is at tier {} and the top tier is {}",
                        t.tier,
                        top_tier()
                    )));
                }
                if n <= t.tier {
                    return Err(StoreError::Conflict(format!(
                        "the work order is already at tier {}; escalate to a higher tier",
                        t.tier
                    )));
                }
                e.ticket.tier = n;
            }
            e.changes.push((
                "escalated",
                json!({ "from_tier": t.tier, "to": target, "tier": e.ticket.tier, "note": note, "rule": rule }),
            ));
            e.events.push((
                EventKind::TicketEscalated,
                json!({ "rule": rule, "target": target, "from_tier": t.tier, "tier": e.ticket.tier, "note": note }),
            ));
            Ok(e)
        })
        .await
    }

    /// The escalation targets a work order has reached so far, from its history.
    pub async fn ticket_escalations(&self, id: TicketId) -> Result<Vec<EscalationTarget>> {
        let history = self.ticket_history(id).await?;
        Ok(history
            .into_iter()
            .filter(|c| c.action == "escalated")
            .filter_map(|c| serde_json::from_value(c.detail.get("to")?.clone()).ok())
            .collect())
    }

    /// Notes progress on a work order: restarts the update clock, and is the first response
    /// if there was none.
    pub async fn add_comment(&self, id: TicketId, body: &str, actor: Option<UserId>, now: Timestamp) -> Result<Ticket> {
        let body = check_text("comment", body, MAX_NOTE_CHARS)?;
        if body.is_empty() {
            return Err(StoreError::Invalid("a comment cannot be empty".into()));
        }
        self.apply_edit(id, None, actor, now, |t| {
            let mut e = Edit::new(t.clone());
            e.ticket.sla_state.responded(now);
            e.ticket.sla_state.updated(now);
            e.changes.push(("comment", json!({ "body": body })));
            Ok(e)
        })
        .await
    }

    /// Moves a work order to another step of its template (recorded).
    pub async fn set_ticket_step(
        &self,
        id: TicketId,
        step: &str,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Ticket> {
        let current = self.ticket(id).await?;
        let Some(template_id) = current.template_id else {
            return Err(StoreError::Invalid("the work order was not made from a template; it has no steps".into()));
        };
        let template = self.template(template_id).await?;
        if !template.has_step(step) {
            let keys: Vec<&str> = template.steps.iter().map(|s| s.key.as_str()).collect();
            return Err(StoreError::Invalid(format!(
                "`{}` is not a step of template `{}` ({})",
                step.chars().take(32).collect::<String>(),
                template.name,
                keys.join(", ")
            )));
        }
        self.apply_edit(id, None, actor, now, |t| {
            if t.template_step.as_deref() == Some(step) {
                return Err(StoreError::Invalid(format!("the work order is already at step `{step}`")));
            }
            let mut e = Edit::new(t.clone());
            e.ticket.template_step = Some(step.to_owned());
            e.ticket.sla_state.updated(now);
            e.changes.push(("step", json!({ "from": t.template_step, "to": step })));
            Ok(e)
        })
        .await
    }

    /// A work order's history, oldest first (404 for an unknown order).
    pub async fn ticket_history(&self, id: TicketId) -> Result<Vec<TicketChange>> {
        self.require_ticket(id).await?;
        let rows = sqlx::query(
            "SELECT c.id, c.at, c.actor_id, u.display_name AS actor_name, c.action, c.detail FROM ticket_changes c \
             LEFT JOIN users u ON u.id = c.actor_id WHERE c.ticket_id = $1 ORDER BY c.at, c.id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TicketChange {
                    id: parse(r, "id")?,
                    at: ts(r, "at")?,
                    actor_id: parse_opt(r, "actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    action: r.try_get("action")?,
                    detail: crate::rows::json(r, "detail")?,
                })
            })
            .collect()
    }

    /// Records an attachment whose file is in place; bumps the order's version.
    pub async fn add_attachment(&self, new: &NewAttachment) -> Result<Attachment> {
        if new.size_bytes <= 0 {
            return Err(StoreError::Invalid("an attachment cannot be empty".into()));
        }
        let mut tx = self.pool().begin().await?;
        touch(&mut tx, new.ticket_id, new.created_at).await?;
        sqlx::query(
            "INSERT INTO ticket_attachments (id, ticket_id, name, content_type, size_bytes, sha256, path, uploaded_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new.id.to_string())
        .bind(new.ticket_id.to_string())
        .bind(&new.name)
        .bind(&new.content_type)
        .bind(new.size_bytes)
        .bind(&new.sha256)
        .bind(&new.path)
        .bind(new.uploaded_by.to_string())
        .bind(new.created_at.as_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |_| StoreError::Conflict(format!("attachment `{}` already exists", new.id)),
                |_| StoreError::Invalid("the work order or the uploader does not exist".into()),
            )
        })?;
        let detail = json!({ "attachment": new.id, "name": new.name, "size_bytes": new.size_bytes });
        insert_changes(&mut tx, new.ticket_id, Some(new.uploaded_by), new.created_at, &[("attachment_added", detail)])
            .await?;
        tx.commit().await?;
        self.attachment(new.ticket_id, new.id).await
    }

    /// A work order's attachments, oldest first.
    pub async fn attachments(&self, ticket: TicketId) -> Result<Vec<Attachment>> {
        self.require_ticket(ticket).await?;
        let rows = sqlx::query(&format!(
            "SELECT {ATT_COLS} FROM ticket_attachments WHERE ticket_id = $1 ORDER BY created_at, id"
        ))
        .bind(ticket.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// One attachment of a work order.
    pub async fn attachment(&self, ticket: TicketId, id: uuid::Uuid) -> Result<Attachment> {
        let row = sqlx::query(&format!("SELECT {ATT_COLS} FROM ticket_attachments WHERE ticket_id = $1 AND id = $2"))
            .bind(ticket.to_string())
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "attachment", id: id.to_string() })?;
        attachment_from_row(&row)
    }

    /// Links a call (SIP Call-ID) to a work order; the same call twice is a conflict.
    pub async fn link_call(
        &self,
        id: TicketId,
        call_id: &str,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<LinkedCall> {
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.chars().count() > 256 || call_id.chars().any(char::is_control) {
            return Err(StoreError::Invalid("call_id must be 1–256 characters without control characters".into()));
        }
        let mut tx = self.pool().begin().await?;
        touch(&mut tx, id, now).await?;
        link_call_row(&mut tx, id, call_id, actor, now).await?;
        insert_changes(&mut tx, id, actor, now, &[("call_linked", json!({ "call_id": call_id }))]).await?;
        tx.commit().await?;
        Ok(LinkedCall { call_id: call_id.to_owned(), linked_by: actor, linked_at: now })
    }

    /// The calls linked to a work order, in the order they were linked.
    pub async fn ticket_calls(&self, id: TicketId) -> Result<Vec<LinkedCall>> {
        self.require_ticket(id).await?;
        let rows = sqlx::query(
            "SELECT call_id, linked_by, linked_at FROM ticket_calls WHERE ticket_id = $1 ORDER BY linked_at, call_id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkedCall {
                    call_id: r.try_get("call_id")?,
                    linked_by: parse_opt(r, "linked_by")?,
                    linked_at: ts(r, "linked_at")?,
                })
            })
            .collect()
    }

    /// The work orders a call is linked to.
    pub async fn tickets_for_call(&self, call_id: &str) -> Result<Vec<Ticket>> {
        let cols =
            crate::tickets::TICKET_COLS.split(", ").map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM tickets t JOIN ticket_calls c ON c.ticket_id = t.id WHERE c.call_id = $1 ORDER BY t.created_at, t.id"
        ))
        .bind(call_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(crate::tickets::ticket_from_row).collect()
    }

    async fn require_ticket(&self, id: TicketId) -> Result<()> {
        self.require_row("tickets", "work order", &id.to_string())
            .await
            .map_err(|_| StoreError::NotFound { what: "work order", id: id.to_string() })
    }
}

const ATT_COLS: &str = "id, ticket_id, name, content_type, size_bytes, sha256, path, uploaded_by, created_at";

fn attachment_from_row(r: &sqlx::any::AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: parse(r, "id")?,
        ticket_id: parse(r, "ticket_id")?,
        name: r.try_get("name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: parse(r, "uploaded_by")?,
        created_at: ts(r, "created_at")?,
        path: r.try_get("path")?,
    })
}

/// Marks a work order changed (new version, `updated_at`) as the first write of a
/// transaction; 404 when it does not exist.
async fn touch(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: TicketId, now: Timestamp) -> Result<()> {
    let done = sqlx::query("UPDATE tickets SET updated_at = $1, version = version + 1 WHERE id = $2")
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "work order", id: id.to_string() });
    }
    Ok(())
}
