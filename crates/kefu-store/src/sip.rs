//! SIP digest credentials: per user with an extension, the HA1 hashes of their password for
//! MD5 and SHA-256 under the realm in force when the password was set. The digest username is
//! the extension, so the rows are only valid for the extension and password they were made
//! from: [`Store::update_user`] deletes them when either changes without new ones.

use crate::rows::parse;
use crate::{Result, Store, StoreError};
use kefu_core::{Timestamp, UserId};
use sqlx::Row;

/// HA1 = H(extension ":" realm ":" password), hex, for both digest algorithms a phone may use.
/// Made by the caller (the store never sees the password or the hash functions).
#[derive(Clone, PartialEq, Eq)]
pub struct SipCredentials {
    /// The realm the hashes were made for.
    pub realm: String,
    /// Hex MD5 HA1.
    pub ha1_md5: String,
    /// Hex SHA-256 HA1.
    pub ha1_sha256: String,
}

impl std::fmt::Debug for SipCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An HA1 is as good as the password for this realm: never print it.
        f.debug_struct("SipCredentials").field("realm", &self.realm).finish_non_exhaustive()
    }
}

/// What the SIP registrar needs to challenge and verify one phone: looked up by extension.
#[derive(Clone, PartialEq, Eq)]
pub struct SipSecret {
    /// The user the extension belongs to.
    pub user_id: UserId,
    /// The user's login name.
    pub username: String,
    /// The extension, which is the digest username.
    pub extension: String,
    /// The realm the hashes were made for; a different realm in force means the password must
    /// be set again.
    pub realm: String,
    /// Hex MD5 HA1.
    pub ha1_md5: String,
    /// Hex SHA-256 HA1.
    pub ha1_sha256: String,
    /// Disabled users must be refused.
    pub enabled: bool,
}

impl std::fmt::Debug for SipSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipSecret")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("extension", &self.extension)
            .field("realm", &self.realm)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Stores (or replaces) a user's SIP credentials. The caller computes the hashes from the
    /// user's extension and new password; an unknown user is not found.
    pub async fn set_sip_credentials(
        &self,
        user_id: UserId,
        realm: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let creds =
            SipCredentials { realm: realm.to_owned(), ha1_md5: ha1_md5.to_owned(), ha1_sha256: ha1_sha256.to_owned() };
        upsert(&mut tx, user_id, &creds, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user's SIP credentials (their phone can no longer register); returns whether
    /// there were any.
    pub async fn delete_sip_credentials(&self, user_id: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sip_credentials WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The credentials of the user with this extension, in one query; `None` if no user has
    /// the extension or their password was not set since it was assigned.
    pub async fn sip_secret(&self, extension: &str) -> Result<Option<SipSecret>> {
        let row = sqlx::query(
            "SELECT c.user_id, u.username, u.extension, c.realm, c.ha1_md5, c.ha1_sha256, u.enabled \
             FROM sip_credentials c JOIN users u ON u.id = c.user_id WHERE u.extension = $1",
        )
        .bind(extension)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SipSecret {
                user_id: parse(&r, "user_id")?,
                username: r.try_get("username")?,
                extension: r.try_get("extension")?,
                realm: r.try_get("realm")?,
                ha1_md5: r.try_get("ha1_md5")?,
                ha1_sha256: r.try_get("ha1_sha256")?,
                enabled: r.try_get::<i64, _>("enabled")? != 0,
            })
        })
        .transpose()
    }
}

/// Inserts or replaces a user's credentials inside `tx`.
pub(crate) async fn upsert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: UserId,
    creds: &SipCredentials,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sip_credentials (user_id, realm, ha1_md5, ha1_sha256, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id) DO UPDATE SET realm = excluded.realm, ha1_md5 = excluded.ha1_md5, \
         ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at",
    )
    .bind(user_id.to_string())
    .bind(&creds.realm)
    .bind(&creds.ha1_md5)
    .bind(&creds.ha1_sha256)
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        let missing = |_: &str| StoreError::NotFound { what: "user", id: user_id.to_string() };
        crate::error::constraint_error(e, |d| StoreError::Conflict(d.to_owned()), missing)
    })?;
    Ok(())
}

/// Deletes a user's credentials inside `tx`.
pub(crate) async fn delete(tx: &mut sqlx::Transaction<'_, sqlx::Any>, user_id: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sip_credentials WHERE user_id = $1").bind(user_id.to_string()).execute(&mut **tx).await?;
    Ok(())
}
