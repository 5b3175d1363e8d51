//! Reading typed values out of database rows, with a clear error when a stored value is bad.

use crate::{Result, StoreError};
use kefu_core::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

/// A text column parsed into `T` (ids, roles, strategies…).
pub(crate) fn parse<T>(row: &AnyRow, col: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(col)?;
    text.parse().map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

/// A nullable text column parsed into `T`.
pub(crate) fn parse_opt<T>(row: &AnyRow, col: &str) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| t.parse().map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))).transpose()
}

/// A BIGINT epoch-milliseconds column.
pub(crate) fn ts(row: &AnyRow, col: &str) -> Result<Timestamp> {
    Ok(Timestamp::from_millis(row.try_get::<i64, _>(col)?))
}

/// A JSON text column.
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
}

/// Serialises a value for a JSON text column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}
