//! Teams, skills and queues (skill groups): the organisation the ACD routes over. A queue's
//! overflow rules are kept as JSON beside it; a row whose JSON cannot be read back is a
//! [`StoreError::Corrupt`], never a panic.

use crate::error::constraint_error;
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::acd::OverflowStep;
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::{QueueId, SkillId, TeamId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A team of agents.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Team {
    /// Unique id.
    pub id: TeamId,
    /// Unique name.
    pub name: String,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A new team.
#[derive(Clone, Debug)]
pub struct NewTeam {
    /// Unique name.
    pub name: String,
}

/// A change to a team.
#[derive(Clone, Debug, Default)]
pub struct TeamPatch {
    /// New name.
    pub name: Option<String>,
}

/// A skill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Skill {
    /// Unique id.
    pub id: SkillId,
    /// Unique name.
    pub name: String,
    /// What the skill covers.
    pub description: String,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A new skill.
#[derive(Clone, Debug)]
pub struct NewSkill {
    /// Unique name.
    pub name: String,
    /// What the skill covers.
    pub description: String,
}

/// A change to a skill.
#[derive(Clone, Debug, Default)]
pub struct SkillPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// A skill a queue requires, with the minimum proficiency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSkill {
    /// The skill.
    pub skill_id: SkillId,
    /// Agents below this level do not get the queue's calls.
    pub min_proficiency: Proficiency,
}

/// A queue (skill group).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Queue {
    /// Unique id.
    pub id: QueueId,
    /// Unique name.
    pub name: String,
    /// What the queue is for.
    pub description: String,
    /// How an agent is picked.
    pub strategy: QueueStrategy,
    /// What the queue is measured against.
    pub targets: ServiceTargets,
    /// Skills an agent needs to take this queue's calls.
    pub skills: Vec<QueueSkill>,
    /// Overflow rules, tried in order while a call waits (`kefu_core::acd::OverflowStep`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub overflow: Vec<OverflowStep>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A new queue.
#[derive(Clone, Debug)]
pub struct NewQueue {
    /// Unique name.
    pub name: String,
    /// What the queue is for.
    pub description: String,
    /// How an agent is picked.
    pub strategy: QueueStrategy,
    /// What the queue is measured against.
    pub targets: ServiceTargets,
    /// Required skills.
    pub skills: Vec<QueueSkill>,
    /// Overflow rules, in order (none: calls wait until answered or abandoned).
    pub overflow: Vec<OverflowStep>,
}

/// A change to a queue.
#[derive(Clone, Debug, Default)]
pub struct QueuePatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New strategy.
    pub strategy: Option<QueueStrategy>,
    /// New targets.
    pub targets: Option<ServiceTargets>,
    /// Replace the required skills.
    pub skills: Option<Vec<QueueSkill>>,
    /// Replace the overflow rules.
    pub overflow: Option<Vec<OverflowStep>>,
}

fn team_from_row(r: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn skill_from_row(r: &AnyRow) -> Result<Skill> {
    Ok(Skill {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn queue_from_row(r: &AnyRow) -> Result<Queue> {
    Ok(Queue {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        strategy: parse(r, "strategy")?,
        targets: json(r, "targets")?,
        skills: Vec::new(),
        overflow: json(r, "overflow")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn name_taken(what: &'static str, name: &str) -> impl FnOnce(&str) -> StoreError {
    let name = name.to_owned();
    move |_| StoreError::Conflict(format!("a {what} named `{name}` already exists"))
}

fn not_found(what: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound { what, id: id.to_string() }
}

impl Store {
    // ---- teams ----

    /// Creates a team; a taken name is a conflict.
    pub async fn create_team(&self, new: &NewTeam, now: Timestamp) -> Result<Team> {
        let id = TeamId::from_uuid(new_uuid());
        sqlx::query("INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)")
            .bind(id.to_string())
            .bind(&new.name)
            .bind(now.as_millis())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, name_taken("team", &new.name), |d| StoreError::Invalid(d.to_owned())))?;
        self.team(id).await
    }

    /// A team by id.
    pub async fn team(&self, id: TeamId) -> Result<Team> {
        let row = sqlx::query("SELECT id, name, created_at, updated_at FROM teams WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| not_found("team", id))?;
        team_from_row(&row)
    }

    /// One page of teams.
    pub async fn list_teams(&self, page: &PageRequest) -> Result<Page<Team>> {
        let limit = page.limit();
        let rows = sqlx::query("SELECT id, name, created_at, updated_at FROM teams WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(page.after().to_owned())
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(team_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |t| t.id.to_string()))
    }

    /// Renames a team.
    pub async fn update_team(&self, id: TeamId, patch: &TeamPatch, now: Timestamp) -> Result<Team> {
        let current = self.team(id).await?;
        let name = patch.name.clone().unwrap_or(current.name);
        sqlx::query("UPDATE teams SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(&name)
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, name_taken("team", &name), |d| StoreError::Invalid(d.to_owned())))?;
        self.team(id).await
    }

    /// Deletes a team that has no members.
    pub async fn delete_team(&self, id: TeamId) -> Result<()> {
        let in_use = |_: &str| StoreError::Conflict(format!("team `{id}` still has members; move them first"));
        let done = sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, in_use, in_use))?;
        if done.rows_affected() == 0 {
            return Err(not_found("team", id));
        }
        Ok(())
    }

    // ---- skills ----

    /// Creates a skill; a taken name is a conflict.
    pub async fn create_skill(&self, new: &NewSkill, now: Timestamp) -> Result<Skill> {
        let id = SkillId::from_uuid(new_uuid());
        sqlx::query("INSERT INTO skills (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(id.to_string())
            .bind(&new.name)
            .bind(&new.description)
            .bind(now.as_millis())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, name_taken("skill", &new.name), |d| StoreError::Invalid(d.to_owned())))?;
        self.skill(id).await
    }

    /// A skill by id.
    pub async fn skill(&self, id: SkillId) -> Result<Skill> {
        let row = sqlx::query("SELECT id, name, description, created_at, updated_at FROM skills WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| not_found("skill", id))?;
        skill_from_row(&row)
    }

    /// One page of skills.
    pub async fn list_skills(&self, page: &PageRequest) -> Result<Page<Skill>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT id, name, description, created_at, updated_at FROM skills WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(page.after().to_owned())
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let items = rows.iter().map(skill_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |s| s.id.to_string()))
    }

    /// Changes a skill's name or description.
    pub async fn update_skill(&self, id: SkillId, patch: &SkillPatch, now: Timestamp) -> Result<Skill> {
        let current = self.skill(id).await?;
        let name = patch.name.clone().unwrap_or(current.name);
        sqlx::query("UPDATE skills SET name = $1, description = $2, updated_at = $3 WHERE id = $4")
            .bind(&name)
            .bind(patch.description.clone().unwrap_or(current.description))
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, name_taken("skill", &name), |d| StoreError::Invalid(d.to_owned())))?;
        self.skill(id).await
    }

    /// Deletes a skill no agent holds and no queue requires.
    pub async fn delete_skill(&self, id: SkillId) -> Result<()> {
        let in_use = |_: &str| {
            StoreError::Conflict(format!(
                "skill `{id}` is still held by agents or required by queues; remove it there first"
            ))
        };
        let done = sqlx::query("DELETE FROM skills WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| constraint_error(e, in_use, in_use))?;
        if done.rows_affected() == 0 {
            return Err(not_found("skill", id));
        }
        Ok(())
    }

    // ---- queues ----

    /// Creates a queue with its required skills; a taken name is a conflict.
    pub async fn create_queue(&self, new: &NewQueue, now: Timestamp) -> Result<Queue> {
        let id = QueueId::from_uuid(new_uuid());
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO queues (id, name, description, strategy, targets, overflow, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.to_string())
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.strategy.as_str())
        .bind(to_json(&new.targets)?)
        .bind(to_json(&new.overflow)?)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| constraint_error(e, name_taken("queue", &new.name), |d| StoreError::Invalid(d.to_owned())))?;
        replace_queue_skills(&mut tx, id, &new.skills).await?;
        tx.commit().await?;
        self.queue(id).await
    }

    /// A queue by id.
    pub async fn queue(&self, id: QueueId) -> Result<Queue> {
        let row = sqlx::query(
            "SELECT id, name, description, strategy, targets, overflow, created_at, updated_at FROM queues \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found("queue", id))?;
        let mut q = queue_from_row(&row)?;
        q.skills = self.queue_skills(&[id]).await?.into_iter().map(|(_, s)| s).collect();
        Ok(q)
    }

    /// One page of queues with their required skills.
    pub async fn list_queues(&self, page: &PageRequest) -> Result<Page<Queue>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT id, name, description, strategy, targets, overflow, created_at, updated_at FROM queues \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(page.after().to_owned())
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let mut items = rows.iter().map(queue_from_row).collect::<Result<Vec<_>>>()?;
        let ids: Vec<QueueId> = items.iter().take(limit as usize).map(|q| q.id).collect();
        for (qid, skill) in self.queue_skills(&ids).await? {
            if let Some(q) = items.iter_mut().find(|q| q.id == qid) {
                q.skills.push(skill);
            }
        }
        Ok(Page::from_rows(items, limit, |q| q.id.to_string()))
    }

    /// Applies a partial update to a queue.
    pub async fn update_queue(&self, id: QueueId, patch: &QueuePatch, now: Timestamp) -> Result<Queue> {
        let current = self.queue(id).await?;
        let name = patch.name.clone().unwrap_or(current.name);
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE queues SET name = $1, description = $2, strategy = $3, targets = $4, overflow = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&name)
        .bind(patch.description.clone().unwrap_or(current.description))
        .bind(patch.strategy.unwrap_or(current.strategy).as_str())
        .bind(to_json(&patch.targets.unwrap_or(current.targets))?)
        .bind(to_json(patch.overflow.as_ref().unwrap_or(&current.overflow))?)
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| constraint_error(e, name_taken("queue", &name), |d| StoreError::Invalid(d.to_owned())))?;
        if let Some(skills) = &patch.skills {
            replace_queue_skills(&mut tx, id, skills).await?;
        }
        tx.commit().await?;
        self.queue(id).await
    }

    /// Deletes a queue and its skill requirements (its voicemails and callback requests stay,
    /// no longer tied to a queue).
    pub async fn delete_queue(&self, id: QueueId) -> Result<()> {
        let done = sqlx::query("DELETE FROM queues WHERE id = $1").bind(id.to_string()).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(not_found("queue", id));
        }
        Ok(())
    }

    async fn queue_skills(&self, ids: &[QueueId]) -> Result<Vec<(QueueId, QueueSkill)>> {
        let owners: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.skill_links_of(SkillLinks::QUEUE, &owners)
            .await?
            .into_iter()
            .map(|(owner, skill_id, min_proficiency)| {
                let queue = owner.parse().map_err(|e| StoreError::Corrupt(format!("queue_skills.queue_id: {e}")))?;
                Ok((queue, QueueSkill { skill_id, min_proficiency }))
            })
            .collect()
    }

    /// The skill links of several owners in one query, ordered by owner then skill.
    pub(crate) async fn skill_links_of(
        &self,
        links: SkillLinks,
        owners: &[String],
    ) -> Result<Vec<(String, SkillId, Proficiency)>> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let SkillLinks { table, owner, level } = links;
        let placeholders: Vec<String> = (1..=owners.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {owner} AS owner, skill_id, {level} AS level FROM {table} WHERE {owner} IN ({}) ORDER BY {owner}, skill_id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for o in owners {
            q = q.bind(o.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let level: i64 = r.try_get("level")?;
                Ok((
                    r.try_get("owner")?,
                    parse(r, "skill_id")?,
                    Proficiency::new(level).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }
}

async fn replace_queue_skills(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: QueueId,
    skills: &[QueueSkill],
) -> Result<()> {
    let links: Vec<(SkillId, Proficiency)> = skills.iter().map(|s| (s.skill_id, s.min_proficiency)).collect();
    replace_skill_links(tx, SkillLinks::QUEUE, &id.to_string(), &links).await
}

/// A table linking an owner (agent or queue) to skills with a level.
#[derive(Clone, Copy)]
pub(crate) struct SkillLinks {
    table: &'static str,
    owner: &'static str,
    level: &'static str,
}

impl SkillLinks {
    /// Agents' skills with their proficiency.
    pub(crate) const AGENT: SkillLinks = SkillLinks { table: "user_skills", owner: "user_id", level: "proficiency" };
    /// Queues' required skills with the minimum proficiency.
    pub(crate) const QUEUE: SkillLinks =
        SkillLinks { table: "queue_skills", owner: "queue_id", level: "min_proficiency" };
}

/// Replaces an owner's skill links inside `tx`: a skill listed twice or one that does not exist
/// is invalid, and the caller's transaction rolls everything back.
pub(crate) async fn replace_skill_links(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    links: SkillLinks,
    owner: &str,
    skills: &[(SkillId, Proficiency)],
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = skills.iter().find(|(s, _)| !seen.insert(*s)) {
        return Err(StoreError::Invalid(format!("skill `{dup}` is listed twice")));
    }
    let SkillLinks { table, owner: owner_col, level } = links;
    sqlx::query(&format!("DELETE FROM {table} WHERE {owner_col} = $1"))
        .bind(owner.to_owned())
        .execute(&mut **tx)
        .await?;
    let insert = format!("INSERT INTO {table} ({owner_col}, skill_id, {level}) VALUES ($1, $2, $3)");
    for (skill, proficiency) in skills {
        sqlx::query(&insert)
            .bind(owner.to_owned())
            .bind(skill.to_string())
            .bind(i64::from(proficiency.get()))
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                let unknown = |_: &str| StoreError::Invalid(format!("skill `{skill}` does not exist"));
                constraint_error(e, unknown, unknown)
            })?;
    }
    Ok(())
}
