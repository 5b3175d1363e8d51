//! Throw-away databases for tests. With `TEST_DATABASE_URL=postgres://…/postgres` every test
//! gets a fresh PostgreSQL database of its own; otherwise a fresh SQLite file in a
//! temporary directory. This is how each storage test runs on both backends.

use crate::{Result, SqliteSync, Store, StoreError, StoreOptions};
use sqlx::ConnectOptions;
use sqlx::Executor;
use sqlx::any::AnyConnectOptions;
use std::str::FromStr;

/// The environment variable naming a PostgreSQL server for tests.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The field key every test store is opened with (so tests can store customers).
pub const TEST_FIELD_KEY: &str = "6b6566752074657374206b6579202d206e6f7420666f722070726f6475637421";

/// [`TEST_FIELD_KEY`] parsed.
pub fn test_field_key() -> crate::FieldKey {
    // a fixed, valid 64-hex-digit constant: parsing cannot fail (checked by a unit test)
    crate::FieldKey::from_hex(TEST_FIELD_KEY).unwrap_or_else(|_| crate::FieldKey::generate())
}

/// A migrated store on a database nobody else uses.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// Options that reopen the same database (e.g. after a simulated restart).
    pub options: StoreOptions,
    /// Keeps the SQLite directory alive.
    pub dir: tempfile::TempDir,
    admin_url: Option<String>,
    db_name: Option<String>,
}

impl TestDb {
    /// Creates and migrates a fresh database on the backend chosen by the environment.
    pub async fn new() -> Result<TestDb> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Open(e.to_string()))?;
        let (options, admin_url, db_name) = match std::env::var(TEST_DATABASE_URL).ok().filter(|s| !s.is_empty()) {
            None => (Self::sqlite_options(dir.path()), None, None),
            Some(admin_url) => {
                sqlx::any::install_default_drivers();
                let name = format!("kefu_t_{}", crate::new_uuid().simple());
                let mut conn = AnyConnectOptions::from_str(&admin_url)
                    .map_err(|e| StoreError::Open(e.to_string()))?
                    .connect()
                    .await
                    .map_err(|e| StoreError::Open(e.to_string()))?;
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await?;
                let url = replace_db_name(&admin_url, &name);
                let options = StoreOptions {
                    database_url: Some(url),
                    data_dir: dir.path().to_owned(),
                    max_connections: 5,
                    sqlite_sync: SqliteSync::Normal,
                    field_key: Some(test_field_key()),
                };
                (options, Some(admin_url), Some(name))
            }
        };
        let store = Store::open(&options).await?;
        store.migrate().await?;
        Ok(TestDb { store, options, dir, admin_url, db_name })
    }

    /// SQLite options for a data directory.
    pub fn sqlite_options(dir: &std::path::Path) -> StoreOptions {
        StoreOptions {
            database_url: None,
            data_dir: dir.to_owned(),
            max_connections: 5,
            sqlite_sync: SqliteSync::Normal,
            field_key: Some(test_field_key()),
        }
    }

    /// Closes the store and drops the PostgreSQL database (the SQLite directory goes with `self`).
    pub async fn cleanup(self) {
        self.store.close().await;
        if let (Some(admin), Some(name)) = (self.admin_url, self.db_name)
            && let Ok(opts) = AnyConnectOptions::from_str(&admin)
            && let Ok(mut conn) = opts.connect().await
        {
            let _ = conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await;
        }
    }
}

/// `postgres://u@h:5432/postgres?x` with the database name replaced.
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_field_key_is_valid() {
        assert_eq!(crate::FieldKey::from_hex(super::TEST_FIELD_KEY).unwrap(), super::test_field_key());
    }

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(super::replace_db_name("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
        assert_eq!(
            super::replace_db_name("postgres://u@h:1/postgres?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(super::replace_db_name("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }
}
