//! The knowledge base's rows: articles, FAQ entries (title = question, body = answer) and
//! case studies, with every saved version kept. The full-text index ([`crate::KbIndex`]) is
//! derived from these rows; [`Store::kb_marker`] tells whether an index still matches them.

use crate::error::constraint_error;
use crate::events::{Arg, Args};
use crate::page::{Page, PageRequest};
use crate::rows::{json, parse, parse_opt, to_json, ts};
use crate::{Result, Store, StoreError};
use kefu_core::{ArticleId, TicketId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;
use std::str::FromStr;

/// The longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// The largest body, in bytes of UTF-8 (100 kB).
pub const BODY_MAX_BYTES: usize = 100_000;
/// The longest category, product or tag, in characters.
pub const LABEL_MAX_CHARS: usize = 64;
/// The most tags an article carries.
pub const TAGS_MAX: usize = 20;

/// What an entry of the knowledge base is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleKind {
    /// A product description, policy or how-to.
    #[default]
    Article,
    /// A frequently asked question: the title is the question, the body the answer.
    Faq,
    /// A case study (good or bad), often made from a closed work order.
    Case,
}

impl ArticleKind {
    /// Every kind.
    pub const ALL: [ArticleKind; 3] = [ArticleKind::Article, ArticleKind::Faq, ArticleKind::Case];

    /// The stored name (`article`, `faq`, `case`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ArticleKind::Article => "article",
            ArticleKind::Faq => "faq",
            ArticleKind::Case => "case",
        }
    }
}

impl FromStr for ArticleKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        ArticleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown article kind `{s}` (expected article, faq or case)"))
    }
}

/// Whether readers see an entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Being written; only editors see it.
    #[default]
    Draft,
    /// Visible to every reader while valid.
    Published,
}

impl ArticleStatus {
    /// The stored name (`draft`, `published`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
        }
    }
}

impl FromStr for ArticleStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "draft" => Ok(ArticleStatus::Draft),
            "published" => Ok(ArticleStatus::Published),
            other => Err(format!("unknown article status `{other}` (expected draft or published)")),
        }
    }
}

/// A knowledge-base entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Article {
    /// Unique id.
    pub id: ArticleId,
    /// Article, FAQ entry or case study.
    pub kind: ArticleKind,
    /// Title (for a FAQ entry, the question).
    pub title: String,
    /// Body in Markdown (for a FAQ entry, the answer).
    pub body: String,
    /// Category (产品, 政策, FAQ, 操作指南, 案例 …).
    pub category: String,
    /// Free tags.
    pub tags: Vec<String>,
    /// The product it is about, if one.
    pub product: Option<String>,
    /// Draft or published.
    pub status: ArticleStatus,
    /// Valid from this instant (epoch ms); always valid before when absent.
    pub valid_from: Option<Timestamp>,
    /// Valid until this instant, exclusive (epoch ms); for ever when absent.
    pub valid_to: Option<Timestamp>,
    /// Who wrote the first version (cleared if the user is deleted).
    pub author_id: Option<UserId>,
    /// The work order a case study was made from.
    pub source_ticket: Option<TicketId>,
    /// Version, 1 when created, +1 on each change; a change names the version it edits.
    pub version: i64,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

impl Article {
    /// Whether the entry is valid at `at` (ignoring its status).
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= at) && self.valid_to.is_none_or(|t| at < t)
    }

    /// Whether a reader without edit rights sees it at `at`: published and valid.
    pub fn visible_at(&self, at: Timestamp) -> bool {
        self.status == ArticleStatus::Published && self.valid_at(at)
    }
}

/// An entry to create.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewArticle {
    /// Article, FAQ entry or case study.
    #[serde(default)]
    pub kind: ArticleKind,
    /// Title, 1–200 characters.
    pub title: String,
    /// Body in Markdown, at most 100 kB.
    pub body: String,
    /// Category, 1–64 characters.
    pub category: String,
    /// Tags (at most 20, each 1–64 characters; duplicates dropped).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The product, if one.
    #[serde(default)]
    pub product: Option<String>,
    /// Draft or published.
    #[serde(default)]
    pub status: ArticleStatus,
    /// Valid from (must not be after `valid_to`).
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    /// Valid until (exclusive).
    #[serde(default)]
    pub valid_to: Option<Timestamp>,
    /// The author.
    #[serde(default)]
    pub author_id: Option<UserId>,
    /// The work order a case study is made from.
    #[serde(default)]
    pub source_ticket: Option<TicketId>,
}

/// A change to an entry; absent fields are left alone, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct ArticlePatch {
    /// New kind.
    pub kind: Option<ArticleKind>,
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// New product, or cleared.
    pub product: Option<Option<String>>,
    /// New status.
    pub status: Option<ArticleStatus>,
    /// New start of validity, or cleared.
    pub valid_from: Option<Option<Timestamp>>,
    /// New end of validity, or cleared.
    pub valid_to: Option<Option<Timestamp>>,
}

/// One saved state of an entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArticleVersion {
    /// The entry.
    pub article_id: ArticleId,
    /// Its version number.
    pub version: i64,
    /// Kind then.
    pub kind: ArticleKind,
    /// Title then.
    pub title: String,
    /// Body then.
    pub body: String,
    /// Category then.
    pub category: String,
    /// Tags then.
    pub tags: Vec<String>,
    /// Product then.
    pub product: Option<String>,
    /// Status then.
    pub status: ArticleStatus,
    /// Start of validity then.
    pub valid_from: Option<Timestamp>,
    /// End of validity then.
    pub valid_to: Option<Timestamp>,
    /// Who saved this version.
    pub author_id: Option<UserId>,
    /// When it was saved (epoch ms).
    pub at: Timestamp,
}

/// Which entries to list; every set field must match.
#[derive(Clone, Debug, Default)]
pub struct ArticleFilter {
    /// Only this kind.
    pub kind: Option<ArticleKind>,
    /// Only this category.
    pub category: Option<String>,
    /// Only entries carrying this tag.
    pub tag: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Only this status.
    pub status: Option<ArticleStatus>,
    /// Only entries valid at this instant.
    pub valid_at: Option<Timestamp>,
}

/// What the database holds, summed up: an index built from the same rows has as many
/// documents, the same sum of versions and the same latest change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KbMarker {
    /// Number of entries.
    pub articles: i64,
    /// Sum of their versions (moves on every change).
    pub version_sum: i64,
    /// The latest `updated_at` (epoch ms), 0 when empty.
    pub max_updated_at: i64,
}

const COLS: &str = "id, kind, title, body, category, tags, product, status, valid_from, valid_to, author_id, \
                    source_ticket, version, created_at, updated_at";
const VERSION_COLS: &str =
    "article_id, version, kind, title, body, category, tags, product, valid_from, valid_to, status, author_id, at";

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_millis))
}

fn article_from_row(r: &AnyRow) -> Result<Article> {
    Ok(Article {
        id: parse(r, "id")?,
        kind: parse(r, "kind")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        category: r.try_get("category")?,
        tags: json(r, "tags")?,
        product: r.try_get("product")?,
        status: parse(r, "status")?,
        valid_from: opt_ts(r, "valid_from")?,
        valid_to: opt_ts(r, "valid_to")?,
        author_id: parse_opt(r, "author_id")?,
        source_ticket: parse_opt(r, "source_ticket")?,
        version: r.try_get("version")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn version_from_row(r: &AnyRow) -> Result<ArticleVersion> {
    Ok(ArticleVersion {
        article_id: parse(r, "article_id")?,
        version: r.try_get("version")?,
        kind: parse(r, "kind")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        category: r.try_get("category")?,
        tags: json(r, "tags")?,
        product: r.try_get("product")?,
        status: parse(r, "status")?,
        valid_from: opt_ts(r, "valid_from")?,
        valid_to: opt_ts(r, "valid_to")?,
        author_id: parse_opt(r, "author_id")?,
        at: ts(r, "at")?,
    })
}

/// Checks and normalises an entry's fields (trimmed title, category, product and tags).
fn validate(a: &mut Article) -> Result<()> {
    let mut problems = Vec::new();
    a.title = a.title.trim().to_owned();
    let n = a.title.chars().count();
    if n == 0 || n > TITLE_MAX_CHARS {
        problems.push(format!("title must be 1–{TITLE_MAX_CHARS} characters, got {n}"));
    }
    if a.title.chars().any(char::is_control) {
        problems.push("title must not contain control characters".to_owned());
    }
    if a.body.len() > BODY_MAX_BYTES {
        problems.push(format!("body must be at most {BODY_MAX_BYTES} bytes, got {}", a.body.len()));
    }
    a.category = a.category.trim().to_owned();
    if let Err(e) = label("category", &a.category) {
        problems.push(e);
    }
    if let Some(p) = &mut a.product {
        *p = p.trim().to_owned();
        if p.is_empty() {
            a.product = None;
        } else if let Err(e) = label("product", p) {
            problems.push(e);
        }
    }
    let mut tags: Vec<String> = Vec::new();
    for t in &a.tags {
        let t = t.trim();
        match label("tag", t) {
            Err(e) => problems.push(e),
            Ok(()) if !tags.iter().any(|x| x == t) => tags.push(t.to_owned()),
            Ok(()) => {}
        }
    }
    if tags.len() > TAGS_MAX {
        problems.push(format!("at most {TAGS_MAX} tags, got {}", tags.len()));
    }
    a.tags = tags;
    if let (Some(from), Some(to)) = (a.valid_from, a.valid_to)
        && to < from
    {
        problems.push("valid_to is before valid_from".to_owned());
    }
    if problems.is_empty() { Ok(()) } else { Err(StoreError::Invalid(problems.join("; "))) }
}

fn label(field: &str, v: &str) -> std::result::Result<(), String> {
    let n = v.chars().count();
    if n == 0 || n > LABEL_MAX_CHARS {
        return Err(format!("{field} must be 1–{LABEL_MAX_CHARS} characters, got {n}"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

/// The cursor of a list page: `<updated_at>_<id>` of the last item.
fn encode_cursor(a: &Article) -> String {
    format!("{}_{}", a.updated_at.as_millis(), a.id)
}

fn decode_cursor(text: &str) -> Result<(i64, ArticleId)> {
    let bad =
        || StoreError::Invalid(format!("malformed article cursor `{}`", text.chars().take(80).collect::<String>()));
    let (at, id) = text.split_once('_').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

/// `%` and `_` (and the escape itself) taken literally in a LIKE pattern with `ESCAPE '\'`.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// Creates an entry (version 1) and its first version row.
    pub async fn create_article(&self, new: &NewArticle, now: Timestamp) -> Result<Article> {
        let mut a = Article {
            id: ArticleId::from_uuid(crate::new_uuid()),
            kind: new.kind,
            title: new.title.clone(),
            body: new.body.clone(),
            category: new.category.clone(),
            tags: new.tags.clone(),
            product: new.product.clone(),
            status: new.status,
            valid_from: new.valid_from,
            valid_to: new.valid_to,
            author_id: new.author_id,
            source_ticket: new.source_ticket,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        validate(&mut a)?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO kb_articles ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(a.id.to_string())
        .bind(a.kind.as_str())
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.category)
        .bind(to_json(&a.tags)?)
        .bind(a.product.clone())
        .bind(a.status.as_str())
        .bind(a.valid_from.map(Timestamp::as_millis))
        .bind(a.valid_to.map(Timestamp::as_millis))
        .bind(a.author_id.map(|u| u.to_string()))
        .bind(a.source_ticket.map(|t| t.to_string()))
        .bind(a.version)
        .bind(now.as_millis())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| fk_error(e, a.author_id))?;
        insert_version(&mut tx, &a, a.author_id, now).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// An entry by id.
    pub async fn article(&self, id: ArticleId) -> Result<Article> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM kb_articles WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "article", id: id.to_string() })?;
        article_from_row(&row)
    }

    /// Changes an entry if it is still at `expected_version` (else a conflict naming the
    /// current version), records the new version with `author` as its editor, and returns it.
    pub async fn update_article(
        &self,
        id: ArticleId,
        expected_version: i64,
        patch: &ArticlePatch,
        author: Option<UserId>,
        now: Timestamp,
    ) -> Result<Article> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(&format!("SELECT {COLS} FROM kb_articles WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "article", id: id.to_string() })?;
        let mut a = article_from_row(&row)?;
        if a.version != expected_version {
            return Err(stale(id, expected_version, a.version));
        }
        if let Some(v) = patch.kind {
            a.kind = v;
        }
        if let Some(v) = &patch.title {
            a.title.clone_from(v);
        }
        if let Some(v) = &patch.body {
            a.body.clone_from(v);
        }
        if let Some(v) = &patch.category {
            a.category.clone_from(v);
        }
        if let Some(v) = &patch.tags {
            a.tags.clone_from(v);
        }
        if let Some(v) = &patch.product {
            a.product.clone_from(v);
        }
        if let Some(v) = patch.status {
            a.status = v;
        }
        if let Some(v) = patch.valid_from {
            a.valid_from = v;
        }
        if let Some(v) = patch.valid_to {
            a.valid_to = v;
        }
        validate(&mut a)?;
        a.version = expected_version + 1;
        a.updated_at = now;
        let done = sqlx::query(
            "UPDATE kb_articles SET kind = $1, title = $2, body = $3, category = $4, tags = $5, product = $6, \
             status = $7, valid_from = $8, valid_to = $9, version = $10, updated_at = $11 \
             WHERE id = $12 AND version = $13",
        )
        .bind(a.kind.as_str())
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.category)
        .bind(to_json(&a.tags)?)
        .bind(a.product.clone())
        .bind(a.status.as_str())
        .bind(a.valid_from.map(Timestamp::as_millis))
        .bind(a.valid_to.map(Timestamp::as_millis))
        .bind(a.version)
        .bind(now.as_millis())
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // changed between our read and our write (PostgreSQL read committed)
            return Err(stale(id, expected_version, expected_version + 1));
        }
        insert_version(&mut tx, &a, author, now).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Deletes an entry and its versions.
    pub async fn delete_article(&self, id: ArticleId) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM kb_articles WHERE id = $1").bind(id.to_string()).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "article", id: id.to_string() });
        }
        Ok(())
    }

    /// Every saved version of an entry, newest first.
    pub async fn article_versions(&self, id: ArticleId) -> Result<Vec<ArticleVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLS} FROM kb_article_versions WHERE article_id = $1 ORDER BY version DESC"
        ))
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            // every entry has its version 1: none means no such entry
            return Err(StoreError::NotFound { what: "article", id: id.to_string() });
        }
        rows.iter().map(version_from_row).collect()
    }

    /// Entries matching `filter`, most recently changed first, one page at a time.
    pub async fn list_articles(&self, filter: &ArticleFilter, page: &PageRequest) -> Result<Page<Article>> {
        let limit = page.limit();
        let mut sql = format!("SELECT {COLS} FROM kb_articles WHERE 1 = 1");
        let mut args = Args::default();
        if let Some(kind) = filter.kind {
            let p = args.push(Arg::Text(kind.as_str().to_owned()));
            let _ = write!(sql, " AND kind = {p}");
        }
        if let Some(category) = &filter.category {
            let p = args.push(Arg::Text(category.clone()));
            let _ = write!(sql, " AND category = {p}");
        }
        if let Some(product) = &filter.product {
            let p = args.push(Arg::Text(product.clone()));
            let _ = write!(sql, " AND product = {p}");
        }
        if let Some(status) = filter.status {
            let p = args.push(Arg::Text(status.as_str().to_owned()));
            let _ = write!(sql, " AND status = {p}");
        }
        if let Some(tag) = &filter.tag {
            // tags are a JSON list of strings: look for the tag's JSON form, quotes included
            let pattern = format!("%{}%", like_literal(&to_json(tag)?));
            let p = args.push(Arg::Text(pattern));
            let _ = write!(sql, " AND tags LIKE {p} ESCAPE '\\'");
        }
        if let Some(at) = filter.valid_at {
            let a = args.push(Arg::Int(at.as_millis()));
            let b = args.push(Arg::Int(at.as_millis()));
            let _ =
                write!(sql, " AND (valid_from IS NULL OR valid_from <= {a}) AND (valid_to IS NULL OR valid_to > {b})");
        }
        if let Some(cursor) = page.cursor.as_deref() {
            let (at, id) = decode_cursor(cursor)?;
            let at1 = args.push(Arg::Int(at));
            let at2 = args.push(Arg::Int(at));
            let id = args.push(Arg::Text(id.to_string()));
            let _ = write!(sql, " AND (updated_at < {at1} OR (updated_at = {at2} AND id < {id}))");
        }
        let p = args.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY updated_at DESC, id DESC LIMIT {p}");
        let rows = args.bind(&sql).fetch_all(self.pool()).await?;
        let items = rows.iter().map(article_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, encode_cursor))
    }

    /// Entries in id order after `after` (all when `None`), at most `limit` (1–5,000): read
    /// page by page to (re)build the search index.
    pub async fn all_articles_for_index(&self, after: Option<ArticleId>, limit: u32) -> Result<Vec<Article>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM kb_articles WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit.clamp(1, 5_000)))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(article_from_row).collect()
    }

    /// The count, version sum and latest change of all entries (see [`KbMarker`]).
    pub async fn kb_marker(&self) -> Result<KbMarker> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS v, \
             CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) AS m FROM kb_articles",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(KbMarker { articles: row.try_get("n")?, version_sum: row.try_get("v")?, max_updated_at: row.try_get("m")? })
    }
}

fn stale(id: ArticleId, expected: i64, current: i64) -> StoreError {
    StoreError::Conflict(format!(
        "article `{id}` is at version {current}, not {expected}: it was changed meanwhile; reload it and apply the change again"
    ))
}

fn fk_error(e: sqlx::Error, author: Option<UserId>) -> StoreError {
    constraint_error(
        e,
        |c| StoreError::Conflict(format!("article already exists ({c})")),
        |_| match author {
            Some(u) => StoreError::Invalid(format!("author `{u}` does not exist")),
            None => StoreError::Invalid("a referenced user does not exist".into()),
        },
    )
}

/// Records `a` as it now is as version `a.version`.
async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    a: &Article,
    author: Option<UserId>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO kb_article_versions ({VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(a.id.to_string())
    .bind(a.version)
    .bind(a.kind.as_str())
    .bind(&a.title)
    .bind(&a.body)
    .bind(&a.category)
    .bind(to_json(&a.tags)?)
    .bind(a.product.clone())
    .bind(a.valid_from.map(Timestamp::as_millis))
    .bind(a.valid_to.map(Timestamp::as_millis))
    .bind(a.status.as_str())
    .bind(author.map(|u| u.to_string()))
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| fk_error(e, author))?;
    Ok(())
}
