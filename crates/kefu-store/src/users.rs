//! Users (agents, team leads, QA, supervisors, administrators) and the skills agents hold.

use crate::error::constraint_error;
use crate::org::SkillLinks;
use crate::page::{Page, PageRequest};
use crate::rows::{parse, parse_opt, ts};
use crate::sip::SipCredentials;
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::org::Proficiency;
use kefu_core::{Role, SkillId, TeamId, Timestamp, UserId};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A user as the API shows it (never the password hash).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    /// Unique id.
    pub id: UserId,
    /// Login name (for agents, their SIP extension in the demo).
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// Disabled users cannot log in and lose their sessions.
    pub enabled: bool,
    /// The team the user belongs to, if any.
    pub team_id: Option<TeamId>,
    /// SIP extension, if the user has a phone.
    pub extension: Option<String>,
    /// Skills held, with proficiency.
    pub skills: Vec<UserSkill>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A skill an agent holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSkill {
    /// The skill.
    pub skill_id: SkillId,
    /// How well, 1–10.
    pub proficiency: Proficiency,
}

/// Everything needed to create a user.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Team, if any.
    pub team_id: Option<TeamId>,
    /// SIP extension, if any.
    pub extension: Option<String>,
    /// Skills held.
    pub skills: Vec<UserSkill>,
    /// SIP digest credentials made from the extension and the initial password (stored in the
    /// same transaction); only with an extension.
    pub sip: Option<SipCredentials>,
}

/// A partial update; `None` leaves a field as it is. `Some(None)` clears an optional field.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New team (or none).
    pub team_id: Option<Option<TeamId>>,
    /// New extension (or none).
    pub extension: Option<Option<String>>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Replace the whole skill list.
    pub skills: Option<Vec<UserSkill>>,
    /// New SIP digest credentials, made from the resulting extension and the new password
    /// (stored in the same transaction). Without them, a change of password or extension
    /// deletes the user's SIP credentials: the old ones no longer match, and the phone can
    /// register again once the password is set with an extension.
    pub sip: Option<SipCredentials>,
}

const USER_COLS: &str = "id, username, display_name, role, enabled, team_id, extension, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: parse(row, "id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: parse(row, "role")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        team_id: parse_opt(row, "team_id")?,
        extension: row.try_get("extension")?,
        skills: Vec::new(),
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn user_conflict(detail: &str, username: &str, extension: Option<&str>) -> StoreError {
    StoreError::Conflict(if detail.contains("extension") {
        format!("extension `{}` is already assigned to another user", extension.unwrap_or_default())
    } else {
        format!("a user named `{username}` already exists")
    })
}

fn no_extension() -> StoreError {
    StoreError::Invalid("SIP credentials need an extension".into())
}

fn missing_team(team: Option<TeamId>) -> StoreError {
    match team {
        Some(t) => StoreError::Invalid(format!("team `{t}` does not exist")),
        None => StoreError::Invalid("a referenced team does not exist".into()),
    }
}

impl Store {
    /// Creates a user with their skills; a taken username or extension is a conflict.
    pub async fn create_user(&self, new: &NewUser, now: Timestamp) -> Result<User> {
        if new.sip.is_some() && new.extension.is_none() {
            return Err(no_extension());
        }
        let id = UserId::from_uuid(new_uuid());
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, enabled, team_id, extension, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $8)",
        )
        .bind(id.to_string())
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(new.team_id.map(|t| t.to_string()))
        .bind(new.extension.clone())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |d| user_conflict(d, &new.username, new.extension.as_deref()),
                |_| missing_team(new.team_id),
            )
        })?;
        replace_skills(&mut tx, id, &new.skills).await?;
        if let Some(sip) = &new.sip {
            crate::sip::upsert(&mut tx, id, sip, now).await?;
        }
        tx.commit().await?;
        self.user(id).await
    }

    /// A user by id.
    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "user", id: id.to_string() })?;
        let mut user = user_from_row(&row)?;
        user.skills = self.user_skills(id).await?;
        Ok(user)
    }

    /// A user by login name, with the password hash (for login only).
    pub async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let user = user_from_row(&row)?;
                let hash: String = row.try_get("password_hash")?;
                Ok(Some((user, hash)))
            }
        }
    }

    /// A user by login name.
    pub async fn user_by_username(&self, username: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "user", id: username.to_owned() })?;
        let mut user = user_from_row(&row)?;
        user.skills = self.user_skills(user.id).await?;
        Ok(user)
    }

    /// One page of users, in id (creation) order.
    pub async fn list_users(&self, page: &PageRequest) -> Result<Page<User>> {
        let limit = page.limit();
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(page.after().to_owned())
            .bind(i64::from(limit) + 1)
            .fetch_all(self.pool())
            .await?;
        let mut users = rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?;
        users.truncate(limit as usize + 1);
        let owners: Vec<String> = users.iter().take(limit as usize).map(|u| u.id.to_string()).collect();
        for (owner, skill_id, proficiency) in self.skill_links_of(SkillLinks::AGENT, &owners).await? {
            if let Some(u) = users.iter_mut().find(|u| u.id.to_string() == owner) {
                u.skills.push(UserSkill { skill_id, proficiency });
            }
        }
        Ok(Page::from_rows(users, limit, |u| u.id.to_string()))
    }

    /// Applies a partial update. Disabling a user also revokes their sessions. New SIP
    /// credentials are stored with the change; without them, a new password or extension
    /// deletes the old ones (see [`UserPatch::sip`]).
    pub async fn update_user(&self, id: UserId, patch: &UserPatch, now: Timestamp) -> Result<User> {
        let current = self.user(id).await?;
        let extension = patch.extension.clone().unwrap_or(current.extension.clone());
        if patch.sip.is_some() && extension.is_none() {
            return Err(no_extension());
        }
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE users SET display_name = $1, role = $2, enabled = $3, team_id = $4, extension = $5, \
             password_hash = COALESCE($6, password_hash), updated_at = $7 WHERE id = $8",
        )
        .bind(patch.display_name.clone().unwrap_or(current.display_name.clone()))
        .bind(patch.role.unwrap_or(current.role).as_str())
        .bind(i64::from(patch.enabled.unwrap_or(current.enabled)))
        .bind(patch.team_id.unwrap_or(current.team_id).map(|t| t.to_string()))
        .bind(extension.clone())
        .bind(patch.password_hash.clone())
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            constraint_error(
                e,
                |d| user_conflict(d, &current.username, extension.as_deref()),
                |_| missing_team(patch.team_id.flatten()),
            )
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user", id: id.to_string() });
        }
        if let Some(skills) = &patch.skills {
            replace_skills(&mut tx, id, skills).await?;
        }
        match &patch.sip {
            Some(sip) => crate::sip::upsert(&mut tx, id, sip, now).await?,
            None if extension != current.extension || patch.password_hash.is_some() => {
                crate::sip::delete(&mut tx, id).await?;
            }
            None => {}
        }
        if patch.enabled == Some(false) || patch.password_hash.is_some() {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now.as_millis())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.user(id).await
    }

    /// Deletes a user, their skills and their sessions. The event and audit logs keep the id.
    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id.to_string()).execute(self.pool()).await.map_err(
                |e| {
                    let referenced = |_: &str| {
                        StoreError::Conflict(
                            "the user is still referenced and cannot be deleted; disable them instead".into(),
                        )
                    };
                    constraint_error(e, referenced, referenced)
                },
            )?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user", id: id.to_string() });
        }
        Ok(())
    }

    /// Number of enabled administrators other than `except`.
    pub async fn count_enabled_admins_except(&self, except: UserId) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND enabled = 1 AND id <> $1")
            .bind(except.to_string())
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// Number of users (all roles).
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?.try_get("n")?)
    }

    async fn user_skills(&self, id: UserId) -> Result<Vec<UserSkill>> {
        let links = self.skill_links_of(SkillLinks::AGENT, &[id.to_string()]).await?;
        Ok(links.into_iter().map(|(_, skill_id, proficiency)| UserSkill { skill_id, proficiency }).collect())
    }
}

async fn replace_skills(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: UserId, skills: &[UserSkill]) -> Result<()> {
    let links: Vec<(SkillId, Proficiency)> = skills.iter().map(|s| (s.skill_id, s.proficiency)).collect();
    crate::org::replace_skill_links(tx, SkillLinks::AGENT, &id.to_string(), &links).await
}
