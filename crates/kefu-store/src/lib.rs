//! kefu's storage. One schema and one set of SQL statements run on SQLite (the embedded
//! default, a file in the data directory, WAL mode) and on PostgreSQL (for several nodes).
//! Repositories are methods on [`Store`], grouped by file: users, teams, skills, queues,
//! sessions, the audit log, the append-only event log, for telephony SIP credentials,
//! trunks and call recordings, the IVR's flows, and what callers leave around a queue
//! (voicemails, callback requests, survey answers).

mod audit;
mod blocklist;
mod categories;
mod crypto;
mod customer_parts;
mod customer_write;
mod customers;
mod error;
mod events;
mod followups;
mod handover;
mod ivr;
mod kb;
mod kb_collect;
mod kb_text;
mod migrations;
mod org;
mod page;
mod queue_experience;
mod recordings;
mod rows;
mod search;
mod sessions;
mod sip;
mod sla;
mod templates;
mod tickets;
mod tickets_ops;
mod tickets_query;
mod trunks;
mod users;
mod wallboard;

#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditEntry, AuditOutcome, NewAuditEntry};
pub use blocklist::{BlocklistEntry, BlocklistFilter, BlocklistStatus, MAX_BLOCKLIST_NOTE_CHARS, NewBlocklistEntry};
pub use categories::{
    Category, CategoryDefaults, CategoryPatch, ImportSummary, MAX_CATEGORY_LEVEL, NewCategory, check_category_name,
};
pub use crypto::FieldKey;
pub use customer_parts::{AssetPatch, CustomerAsset, CustomerField, CustomerFieldPatch, CustomerNote, NewAsset};
pub use customers::{
    Customer, CustomerFilter, CustomerPatch, CustomerPhone, CustomerSort, CustomerTier, NewCustomer, NewPhone,
};
pub use error::{Result, StoreError};
pub use events::{EventCursor, EventQuery};
pub use followups::{
    FollowUp, FollowUpAttempt, FollowUpFilter, FollowUpSync, SurveyChannel, TicketSurvey, TicketSurveySummary,
};
pub use handover::{
    HandoverFilter, HandoverNote, MAX_HANDOVER_CHARS, MAX_OPEN_ITEM_CHARS, MAX_OPEN_ITEMS, MAX_SHIFT_CHARS,
    NewHandoverNote,
};
pub use ivr::IvrFlowRow;
pub use kb::{Article, ArticleFilter, ArticleKind, ArticlePatch, ArticleStatus, ArticleVersion, KbMarker, NewArticle};
pub use kb_text::{plain_text as kb_plain_text, warm_up as kb_warm_up};
pub use org::{NewQueue, NewSkill, NewTeam, Queue, QueuePatch, QueueSkill, Skill, SkillPatch, Team, TeamPatch};
pub use page::{Page, PageRequest};
pub use queue_experience::{
    CallbackFilter, CallbackRequest, CallbackStatus, NewCallbackRequest, NewVoicemail, QuestionScore, SURVEY_SCORES,
    SurveyAnswer, SurveySummary, Voicemail, VoicemailFilter,
};
pub use recordings::{NewRecording, Recording, RecordingFilter};
pub use search::{Hit, KbIndex, KbIndexError, KbQuery, Rebuild};
pub use sessions::{Identity, Session};
pub use sip::{SipCredentials, SipSecret};
pub use sla::{
    CONFIG_CALENDAR, CONFIG_ESCALATION_RULES, CONFIG_WARN_PERCENT, DesiredTimer, FireOutcome, ServiceConfig, SlaEvent,
    SlaKind, SlaReport, SlaReportItem, SlaReportQuery, SlaTimer, desired_timers, ticket_facts,
};
pub use templates::{
    FieldKind, NewTemplate, TemplateField, TemplatePatch, TemplateStep, TicketTemplate, template_problems,
};
pub use tickets::{
    DEFAULT_LOCAL_OFFSET_MIN, MAX_DETAILS_CHARS, MAX_RESULT_CHARS, NewTicket, Ticket, TicketPatch, local_date,
};
pub use tickets_ops::{Attachment, LinkedCall, MAX_NOTE_CHARS, NewAttachment, TicketChange};
pub use tickets_query::{NewTicketBulk, SortOrder, TicketExportRow, TicketFilter, TicketSort};
pub use trunks::{NewTrunk, Secret, Trunk, TrunkPatch, TrunkTransport};
pub use users::{NewUser, User, UserPatch, UserSkill};
pub use wallboard::WallboardSetting;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Which database engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (embedded, the default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How durable an SQLite commit is before it is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Every commit is on disk before it is acknowledged (survives power loss).
    #[default]
    Full,
    /// Commits survive a crash of kefu but the last ones may be lost on power loss; faster.
    Normal,
}

/// Where and how to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `postgres://…` for PostgreSQL, otherwise `None` for SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Directory holding `kefu.db` when SQLite is used (created if missing).
    pub data_dir: std::path::PathBuf,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// SQLite commit durability.
    pub sqlite_sync: SqliteSync,
    /// The key personal values (phone, ID card and account numbers) are encrypted with at
    /// rest. Without one the customer repository refuses to work.
    pub field_key: Option<FieldKey>,
}

/// A handle on the database; cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    cipher: Option<std::sync::Arc<crypto::FieldCipher>>,
}

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate: call [`Store::migrate`].
    pub async fn open(opts: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match opts.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                (url.to_owned(), Backend::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => (url.to_owned(), Backend::Sqlite),
            Some(other) => {
                let scheme = other.split(':').next().unwrap_or_default();
                return Err(StoreError::Open(format!(
                    "unsupported database URL scheme `{scheme}` (use postgres://… or leave it unset for SQLite)"
                )));
            }
            None => {
                std::fs::create_dir_all(&opts.data_dir).map_err(|e| {
                    StoreError::Open(format!("cannot create data directory {}: {e}", opts.data_dir.display()))
                })?;
                (sqlite_url(&opts.data_dir.join("kefu.db")), Backend::Sqlite)
            }
        };
        let connect = AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Open(e.to_string()))?;
        let sync = match opts.sqlite_sync {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        };
        let pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the single writer; foreign keys are off
                        // by default in SQLite; wait rather than fail when the writer is busy.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(format!("PRAGMA synchronous = {sync}").as_str()).await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        let cipher = opts.field_key.as_ref().map(|k| std::sync::Arc::new(crypto::FieldCipher::new(k)));
        Ok(Store { pool, backend, cipher })
    }

    /// Applies every migration not yet applied (safe to call on every start, and from
    /// several nodes at once on PostgreSQL, which takes a lock). With a field key, then checks
    /// it is the key the database's personal values were written with (see
    /// [`Store::check_field_key`]).
    pub async fn migrate(&self) -> Result<()> {
        migrations::migrator().run(&self.pool).await?;
        self.check_field_key().await
    }

    /// Versions of the migrations this build knows and whether each is applied.
    pub async fn migration_status(&self) -> Result<Vec<(i64, String, bool)>> {
        migrations::status(&self.pool).await
    }

    /// Which engine this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A trivial round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Refreshes the query planner's statistics of the customer and work-order tables, after a
    /// bulk load (an import). PostgreSQL plans from them: right after a million rows arrive and
    /// before autovacuum gets to them, it estimated thousands of matches for one phone's blind
    /// index and hash-joined whole tables (0.4 s per lookup instead of 1 ms). SQLite's lists
    /// are written not to depend on statistics (tickets_query.rs), so nothing is done there.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("ANALYZE customers, customer_phones, customer_assets, tickets").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Closes every connection; pending writes finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The field cipher, or a clear error when the store was opened without a field key.
    pub(crate) fn cipher(&self) -> Result<&crypto::FieldCipher> {
        self.cipher.as_deref().ok_or_else(|| StoreError::Invalid("no field encryption key configured".into()))
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A new time-ordered id (UUID v7). Ids are made by the application, never the database.
pub fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
