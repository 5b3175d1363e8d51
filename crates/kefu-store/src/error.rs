//! Storage errors: what went wrong, in words an API caller can be shown.

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the caller named does not exist.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// The kind of thing (`user`, `queue`, …).
        what: &'static str,
        /// The id or name that was looked up.
        id: String,
    },
    /// The change clashes with existing data (a taken name, a row still referenced).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but breaks a rule (e.g. an unknown skill id in a list).
    #[error("{0}")]
    Invalid(String),
    /// A stored value could not be read back (corrupt or written by a newer kefu).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database URL or options are unusable.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database itself failed (connection lost, disk full, …).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database could not be reached (pool exhausted or closed, I/O failure),
    /// as opposed to refusing the statement.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)))
    }
}

/// Maps a failed statement: a unique violation becomes what `on_unique` returns, a
/// foreign-key violation what `on_foreign_key` returns (each given the constraint name or the
/// database's message), anything else a [`StoreError::Database`].
pub(crate) fn constraint_error(
    err: sqlx::Error,
    on_unique: impl FnOnce(&str) -> StoreError,
    on_foreign_key: impl FnOnce(&str) -> StoreError,
) -> StoreError {
    use sqlx::error::ErrorKind;
    if let sqlx::Error::Database(db) = &err {
        let detail = db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned());
        match db.kind() {
            ErrorKind::UniqueViolation => return on_unique(&detail),
            ErrorKind::ForeignKeyViolation => return on_foreign_key(&detail),
            // SQLite reports some foreign-key actions with a trigger code instead.
            _ if db.message().contains("FOREIGN KEY constraint failed") => {
                return on_foreign_key(&detail);
            }
            _ => {}
        }
    }
    StoreError::Database(err)
}

/// Result of a storage call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
