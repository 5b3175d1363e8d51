//! The embedded migrations. The same files run on SQLite and PostgreSQL.

use crate::Result;
use sqlx::AnyPool;
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// (version, description, SQL) of every migration, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/0001_foundation.sql")),
    (2, "telephony", include_str!("../migrations/0002_telephony.sql")),
    (3, "ivr", include_str!("../migrations/0003_ivr.sql")),
    (4, "queue experience", include_str!("../migrations/0004_queue_experience.sql")),
    (5, "customers", include_str!("../migrations/0005_customers.sql")),
    (6, "service", include_str!("../migrations/0006_service.sql")),
    (7, "knowledge base", include_str!("../migrations/0007_kb.sql")),
    (8, "sla", include_str!("../migrations/0008_sla.sql")),
    (9, "list indexes", include_str!("../migrations/0009_list_indexes.sql")),
    (10, "open-order indexes", include_str!("../migrations/0010_open_order_indexes.sql")),
    (11, "supervisor", include_str!("../migrations/0011_supervisor.sql")),
];

/// A migrator over the embedded migrations.
pub(crate) fn migrator() -> Migrator {
    let migrations: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|(version, desc, sql)| {
            Migration::new(*version, Cow::Borrowed(*desc), MigrationType::Simple, Cow::Borrowed(*sql), false)
        })
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

/// Each known migration and whether the database has it.
pub(crate) async fn status(pool: &AnyPool) -> Result<Vec<(i64, String, bool)>> {
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    Ok(MIGRATIONS.iter().map(|(v, d, _)| (*v, (*d).to_owned(), applied.iter().any(|a| a.version == *v))).collect())
}
