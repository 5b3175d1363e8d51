//! The wallboard's settings (its alert thresholds): JSON values by key, each with who set it
//! and when. The server owns their shape and validation.

use crate::rows::{parse_opt, to_json, ts};
use crate::{Result, Store, StoreError};
use kefu_core::{Timestamp, UserId};
use sqlx::Row;

/// A stored wallboard setting.
#[derive(Clone, Debug, PartialEq)]
pub struct WallboardSetting {
    /// The value.
    pub value: serde_json::Value,
    /// Who set it.
    pub updated_by: Option<UserId>,
    /// When.
    pub updated_at: Timestamp,
}

impl Store {
    /// The setting stored under `key`, if one was ever set.
    pub async fn wallboard_setting(&self, key: &str) -> Result<Option<WallboardSetting>> {
        let row = sqlx::query("SELECT value, updated_by, updated_at FROM wallboard_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        let Some(r) = row else { return Ok(None) };
        let text: String = r.try_get("value")?;
        let value =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("wallboard setting `{key}`: {e}")))?;
        Ok(Some(WallboardSetting {
            value,
            updated_by: parse_opt(&r, "updated_by")?,
            updated_at: ts(&r, "updated_at")?,
        }))
    }

    /// Sets (or replaces) the setting under `key`.
    pub async fn put_wallboard_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        by: UserId,
        now: Timestamp,
    ) -> Result<WallboardSetting> {
        sqlx::query(
            "INSERT INTO wallboard_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(to_json(value)?)
        .bind(by.to_string())
        .bind(now.as_millis())
        .execute(self.pool())
        .await
        .map_err(|e| {
            let unknown = |_: &str| StoreError::Invalid(format!("user `{by}` does not exist"));
            crate::error::constraint_error(e, unknown, unknown)
        })?;
        Ok(WallboardSetting { value: value.clone(), updated_by: Some(by), updated_at: now })
    }
}
