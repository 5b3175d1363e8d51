//! Login sessions: bearer tokens, stored only as their SHA-256, expiring and revocable.

use crate::rows::{parse, ts};
use crate::{Result, Store};
use kefu_core::{Timestamp, UserId};
use sqlx::Row;

/// A live or past session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Whose session.
    pub user_id: UserId,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// When it was revoked (logout, disable, password change), if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Session {
    /// Whether the token may be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Who a session belongs to: what access checks need, without the user's skills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: kefu_core::Role,
    /// Disabled users are refused.
    pub enabled: bool,
}

impl Store {
    /// The session for a token hash and its user, in one query (the per-request path);
    /// `None` if no such token was issued or its user is gone.
    pub async fn session_identity(&self, token_hash: &str) -> Result<Option<(Session, Identity)>> {
        let row = sqlx::query(
            "SELECT s.user_id, s.created_at, s.expires_at, s.revoked_at, u.username, u.role, u.enabled \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let user_id: UserId = parse(&r, "user_id")?;
            Ok((
                Session {
                    user_id,
                    created_at: ts(&r, "created_at")?,
                    expires_at: ts(&r, "expires_at")?,
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_millis),
                },
                Identity {
                    id: user_id,
                    username: r.try_get("username")?,
                    role: parse(&r, "role")?,
                    enabled: r.try_get::<i64, _>("enabled")? != 0,
                },
            ))
        })
        .transpose()
    }

    /// Records a new session for `token_hash` (hex SHA-256 of the bearer token).
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
        expires_at: Timestamp,
        client_ip: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, client_ip) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(now.as_millis())
        .bind(expires_at.as_millis())
        .bind(client_ip.map(str::to_owned))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session for a token hash, valid or not; `None` if no such token was ever issued.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT user_id, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Session {
                user_id: parse(&r, "user_id")?,
                created_at: ts(&r, "created_at")?,
                expires_at: ts(&r, "expires_at")?,
                revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_millis),
            })
        })
        .transpose()
    }

    /// Revokes one session; returns whether a live session was revoked.
    pub async fn revoke_session(&self, token_hash: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes sessions that expired or were revoked before `before`; returns how many.
    pub async fn purge_sessions(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(before.as_millis())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
