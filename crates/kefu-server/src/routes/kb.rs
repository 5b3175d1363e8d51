//! The knowledge base over HTTP: articles, FAQ entries and case studies (with versions and
//! optimistic locking), full-text search, a rebuild of the index from the database, and a
//! case study drafted from a resolved work order. Readers without `kb_write` (agents) see
//! only published entries valid now. Every write goes to the database first, then to the
//! index on a blocking thread; a failed index write is logged and marks the index stale.

use super::{ClientIp, audit_change, double_option};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::Permission::KbWrite;
use kefu_core::service::ticket::TicketStatus;
use kefu_core::{ArticleId, TicketId, Timestamp};
use kefu_store::{
    Article, ArticleFilter, ArticleKind, ArticlePatch, ArticleStatus, ArticleVersion, Hit, KbIndex, KbIndexError,
    KbQuery, NewArticle, Page, PageRequest, Store,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Longest search text, in characters.
const MAX_QUERY_CHARS: usize = 500;
/// Default number of search hits.
const DEFAULT_HITS: u32 = 10;
/// Most search hits per request.
const MAX_HITS: u32 = 50;
/// Deepest offset into the search hits.
const MAX_OFFSET: u32 = 1_000;
/// Longest filter value (category, tag, product), in characters.
const MAX_FILTER_CHARS: usize = 64;
/// Entries read from the database per step of a rebuild.
const REBUILD_PAGE: u32 = 500;

/// Filters for the article list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this kind.
    pub kind: Option<ArticleKind>,
    /// Only this category.
    pub category: Option<String>,
    /// Only entries with this tag.
    pub tag: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Only this status (`draft` needs `kb_write`).
    pub status: Option<ArticleStatus>,
    /// Entries per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A new article, FAQ entry (title = question, body = answer) or case study.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    /// `article` (default), `faq` or `case`.
    #[serde(default)]
    pub kind: ArticleKind,
    /// 1–200 characters.
    pub title: String,
    /// Markdown, at most 100 kB.
    pub body: String,
    /// 1–64 characters (产品, 政策, FAQ, 操作指南, 案例 …).
    pub category: String,
    /// At most 20 tags of 1–64 characters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The product it is about.
    #[serde(default)]
    pub product: Option<String>,
    /// `draft` (default) or `published`.
    #[serde(default)]
    pub status: ArticleStatus,
    /// Valid from (epoch ms).
    #[serde(default)]
    pub valid_from: Option<i64>,
    /// Valid until, exclusive (epoch ms); not before `valid_from`.
    #[serde(default)]
    pub valid_to: Option<i64>,
}

/// A change to an entry: `version` is the version being edited (409 if it moved on); absent
/// fields stay, `null` clears an optional one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticle {
    /// The version the change is based on.
    pub version: i64,
    /// New kind.
    pub kind: Option<ArticleKind>,
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New product, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub product: Option<Option<String>>,
    /// New status.
    pub status: Option<ArticleStatus>,
    /// New start of validity (epoch ms), or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub valid_from: Option<Option<i64>>,
    /// New end of validity (epoch ms), or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub valid_to: Option<Option<i64>>,
}

/// What to search for.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words in Chinese and/or English (at most 500 characters); blank lists the entries
    /// matching the filters, newest first.
    pub q: Option<String>,
    /// Only this kind.
    pub kind: Option<ArticleKind>,
    /// Only this category.
    pub category: Option<String>,
    /// Only entries with this tag.
    pub tag: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Hits, 1–50 (default 10).
    pub limit: Option<u32>,
    /// Skip this many hits, at most 1,000.
    pub offset: Option<u32>,
    /// Include drafts and entries not valid now (needs `kb_write`).
    pub drafts: Option<bool>,
}

/// Search results, best first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// The hits.
    pub hits: Vec<Hit>,
    /// Whether the index is known to have missed a change (a rebuild is due).
    pub stale: bool,
}

/// The outcome of a rebuild.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Reindexed {
    /// Entries indexed.
    pub indexed: u64,
}

fn editor(p: &Principal) -> bool {
    p.role.allows(KbWrite)
}

/// A filter value from the query string: blank is no filter, at most 64 characters.
fn filter_value(name: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() <= MAX_FILTER_CHARS => Ok(Some(s.to_owned())),
        Some(_) => Err(ApiError::bad_request(format!("`{name}` must be at most 64 characters"))),
    }
}

/// Lists entries, most recently changed first.
#[utoipa::path(get, path = "/api/v1/kb/articles", tag = "knowledge base", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = inline(Page<Article>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Page<Article>>> {
    let mut filter = ArticleFilter {
        kind: q.kind,
        category: filter_value("category", q.category)?,
        tag: filter_value("tag", q.tag)?,
        product: filter_value("product", q.product)?,
        status: q.status,
        valid_at: None,
    };
    if !editor(&p) {
        if q.status == Some(ArticleStatus::Draft) {
            p.require(KbWrite)?;
        }
        filter.status = Some(ArticleStatus::Published);
        filter.valid_at = Some(state.clock.now());
    }
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_articles(&filter, &page).await.map_err(|e| match e {
        kefu_store::StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?))
}

/// Creates an entry.
#[utoipa::path(post, path = "/api/v1/kb/articles", tag = "knowledge base", security(("bearer" = [])),
    request_body = CreateArticle,
    responses((status = 201, body = Article), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateArticle>,
) -> ApiResult<(StatusCode, Json<Article>)> {
    let new = NewArticle {
        kind: req.kind,
        title: req.title,
        body: req.body,
        category: req.category,
        tags: req.tags,
        product: req.product,
        status: req.status,
        valid_from: req.valid_from.map(Timestamp::from_millis),
        valid_to: req.valid_to.map(Timestamp::from_millis),
        author_id: Some(p.id),
        source_ticket: None,
    };
    let article = state.store.create_article(&new, state.clock.now()).await?;
    index_upsert(&state.kb, article.clone()).await;
    Ok((StatusCode::CREATED, Json(article)))
}

/// One entry (readers without `kb_write` see only published entries valid now).
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", security(("bearer" = [])),
    params(("id" = ArticleId, Path, description = "article id")),
    responses((status = 200, body = Article), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<ArticleId>,
) -> ApiResult<Json<Article>> {
    let article = state.store.article(id).await?;
    if !editor(&p) && !article.visible_at(state.clock.now()) {
        return Err(ApiError::not_found(format!("article `{id}` not found")));
    }
    Ok(Json(article))
}

/// Changes an entry; the body names the version it edits.
#[utoipa::path(patch, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", security(("bearer" = [])),
    request_body = UpdateArticle, params(("id" = ArticleId, Path, description = "article id")),
    responses((status = 200, body = Article), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<ArticleId>,
    Json(req): Json<UpdateArticle>,
) -> ApiResult<Json<Article>> {
    let patch = ArticlePatch {
        kind: req.kind,
        title: req.title,
        body: req.body,
        category: req.category,
        tags: req.tags,
        product: req.product,
        status: req.status,
        valid_from: req.valid_from.map(|v| v.map(Timestamp::from_millis)),
        valid_to: req.valid_to.map(|v| v.map(Timestamp::from_millis)),
    };
    let article = state.store.update_article(id, req.version, &patch, Some(p.id), state.clock.now()).await?;
    index_upsert(&state.kb, article.clone()).await;
    Ok(Json(article))
}

/// Deletes an entry and its versions.
#[utoipa::path(delete, path = "/api/v1/kb/articles/{id}", tag = "knowledge base", security(("bearer" = [])),
    params(("id" = ArticleId, Path, description = "article id")),
    responses((status = 204, description = "deleted"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<ArticleId>,
) -> ApiResult<StatusCode> {
    let article = state.store.article(id).await?;
    state.store.delete_article(id).await?;
    let index = state.kb.clone();
    index_write(
        move || {
            index.delete(id)?;
            index.commit()
        },
        &state.kb,
    )
    .await;
    audit_change(&state, &p, &ip, "kb.delete", id.to_string(), serde_json::json!({ "title": article.title })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Every saved version of an entry, newest first.
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}/versions", tag = "knowledge base", security(("bearer" = [])),
    params(("id" = ArticleId, Path, description = "article id")),
    responses((status = 200, body = Vec<ArticleVersion>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    PathId(id): PathId<ArticleId>,
) -> ApiResult<Json<Vec<ArticleVersion>>> {
    Ok(Json(state.store.article_versions(id).await?))
}

/// Full-text search, Chinese and English, ranked, with highlighted titles and snippets.
#[utoipa::path(get, path = "/api/v1/kb/search", tag = "knowledge base", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = SearchResult), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchResult>> {
    let text = q.q.unwrap_or_default();
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!("`q` must be at most {MAX_QUERY_CHARS} characters")));
    }
    let limit = q.limit.unwrap_or(DEFAULT_HITS);
    if !(1..=MAX_HITS).contains(&limit) {
        return Err(ApiError::bad_request(format!("`limit` must be 1–{MAX_HITS}")));
    }
    let offset = q.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(ApiError::bad_request(format!("`offset` must be at most {MAX_OFFSET}")));
    }
    let all = q.drafts.unwrap_or(false);
    if all {
        p.require(KbWrite)?;
    }
    let query = KbQuery {
        q: text,
        kind: q.kind,
        category: filter_value("category", q.category)?,
        tag: filter_value("tag", q.tag)?,
        product: filter_value("product", q.product)?,
        valid_at: (!all).then(|| state.clock.now()),
        include_drafts: all,
        limit: limit as usize,
        offset: offset as usize,
    };
    let index = state.kb.clone();
    let hits = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(SearchResult { hits, stale: state.kb.is_stale() }))
}

/// Rebuilds the search index from the database and swaps it in; searches go on meanwhile.
#[utoipa::path(post, path = "/api/v1/kb/reindex", tag = "knowledge base", security(("bearer" = [])),
    responses((status = 200, body = Reindexed), (status = 409, body = crate::error::ErrorBody)))]
pub async fn reindex(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
) -> ApiResult<Json<Reindexed>> {
    let indexed = rebuild_index(&state.store, &state.kb).await?;
    audit_change(&state, &p, &ip, "kb.reindex", "kb".into(), serde_json::json!({ "indexed": indexed })).await;
    Ok(Json(Reindexed { indexed }))
}

/// Drafts a case study from a resolved, in-callback or closed work order: its summary as the
/// title; category path, description, solutions and result as the body. No customer data is
/// copied, and long digit runs and e-mail addresses in the text are blanked.
#[utoipa::path(post, path = "/api/v1/kb/articles/from-ticket/{id}", tag = "knowledge base", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work-order id")),
    responses((status = 201, body = Article), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn from_ticket(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
) -> ApiResult<(StatusCode, Json<Article>)> {
    let ticket = state.store.ticket(id).await?;
    if !matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Callback | TicketStatus::Closed) {
        return Err(ApiError::validation(format!(
            "work order {} is {}: only a resolved or closed work order becomes a case study",
            ticket.number,
            ticket.status.as_str()
        )));
    }
    let path = state.store.category(ticket.category_id).await.map(|c| c.path).unwrap_or_default();
    let new = NewArticle {
        kind: ArticleKind::Case,
        title: scrub_pii(&ticket.summary),
        body: case_body(&ticket.number, &path, &ticket.details, &ticket.solutions, &ticket.result),
        category: "案例".into(),
        tags: path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).take(3).collect(),
        product: None,
        status: ArticleStatus::Draft,
        valid_from: None,
        valid_to: None,
        author_id: Some(p.id),
        source_ticket: Some(id),
    };
    let article = state.store.create_article(&new, state.clock.now()).await?;
    index_upsert(&state.kb, article.clone()).await;
    Ok((StatusCode::CREATED, Json(article)))
}

/// The Markdown body of a case study drafted from a work order.
fn case_body(number: &str, path: &str, details: &str, solutions: &[String], result: &str) -> String {
    let mut b = format!(
        "来源工单：{number}\n\n## 问题分类\n\n{}\n\n## 问题描述\n\n",
        if path.is_empty() { "（未知）" } else { path }
    );
    b.push_str(&scrub_pii(if details.trim().is_empty() { "（无）" } else { details.trim() }));
    b.push_str("\n\n## 解决方案\n\n");
    if solutions.is_empty() {
        b.push_str("（无）\n");
    }
    for s in solutions {
        b.push_str("- ");
        b.push_str(&scrub_pii(s));
        b.push('\n');
    }
    b.push_str("\n## 处理结果\n\n");
    b.push_str(&scrub_pii(if result.trim().is_empty() { "（无）" } else { result.trim() }));
    b.push_str("\n\n## 经验总结\n\n（待补充）\n");
    b
}

/// Blanks what could identify a customer in free text: runs of 7 or more digits (phone,
/// ID-card and account numbers, an ID card's final `X` included) and e-mail addresses.
pub fn scrub_pii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.contains('@') && word.split('@').all(|part| part.chars().any(char::is_alphanumeric)) {
            out.push_str("[邮箱已隐去]");
        } else {
            scrub_digits(word, &mut out);
        }
    }
    out
}

fn scrub_digits(text: &str, out: &mut String) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || (chars[j] == '-' && j + 1 < chars.len() && chars[j + 1].is_ascii_digit()))
            {
                j += 1;
            }
            if j < chars.len() && matches!(chars[j], 'X' | 'x') {
                j += 1;
            }
            let digits = chars[i..j].iter().filter(|c| c.is_ascii_digit()).count();
            if digits >= 7 {
                out.push_str("[号码已隐去]");
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
}

/// Runs an index write on a blocking thread; a failure is logged and marks the index stale
/// (it is rebuilt on the next start or by `POST /api/v1/kb/reindex`): the database change
/// already stands.
async fn index_write<F>(write: F, index: &KbIndex)
where
    F: FnOnce() -> Result<(), KbIndexError> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(write).await;
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::error!(error = %error, "knowledge-base index write failed; the index is marked stale");
    let index = index.clone();
    let _ = tokio::task::spawn_blocking(move || index.mark_stale()).await;
}

async fn index_upsert(index: &KbIndex, article: Article) {
    let i = index.clone();
    index_write(
        move || {
            i.upsert(&article)?;
            i.commit()
        },
        index,
    )
    .await;
}

/// Rebuilds `index` from every entry in `store`, page by page, and swaps it in; returns the
/// number indexed. A rebuild already running is a 409.
pub async fn rebuild_index(store: &Store, index: &KbIndex) -> ApiResult<u64> {
    let i = index.clone();
    let mut rebuild = tokio::task::spawn_blocking(move || i.start_rebuild())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(index_error)?;
    let mut after = None;
    loop {
        let page = store.all_articles_for_index(after, REBUILD_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        rebuild = tokio::task::spawn_blocking(move || {
            for a in &page {
                rebuild.add(a)?;
            }
            Ok::<_, KbIndexError>(rebuild)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(index_error)?;
    }
    tokio::task::spawn_blocking(move || rebuild.finish())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(index_error)
}

fn index_error(e: KbIndexError) -> ApiError {
    match e {
        KbIndexError::RebuildRunning => ApiError::new(ErrorCode::Conflict, e.to_string()),
        other => ApiError::internal(&other),
    }
}

/// Opens the index in `<data_dir>/kb-index`; when that directory is in use by another
/// process or unusable, falls back to an index in memory (rebuilt from the database).
pub async fn open_index(data_dir: &Path) -> anyhow::Result<KbIndex> {
    let dir = data_dir.join("kb-index");
    let opened = tokio::task::spawn_blocking(move || {
        KbIndex::open(&dir).or_else(|e| {
            tracing::warn!(error = %e, "knowledge-base index kept in memory instead");
            KbIndex::open_in_ram()
        })
    })
    .await?;
    Ok(opened?)
}

/// Compares the index with the database and, when they differ (or the index missed a write),
/// rebuilds it in the background (searches answer from the old index meanwhile); otherwise
/// loads the word-segmentation dictionary ahead of the first search.
pub fn sync_in_background(store: Store, index: KbIndex) {
    tokio::spawn(async move {
        let db = match store.kb_marker().await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the knowledge base to check its index");
                return;
            }
        };
        let i = index.clone();
        let needed = tokio::task::spawn_blocking(move || i.needs_rebuild(&db)).await;
        match needed {
            Ok(Ok(false)) => {
                if db.articles > 0 {
                    // load jieba's dictionary now, not during an agent's first search
                    let _ = tokio::task::spawn_blocking(kefu_store::kb_warm_up).await;
                }
                return;
            }
            Ok(Ok(true)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the knowledge-base index; rebuilding it"),
            Err(e) => tracing::warn!(error = %e, "cannot read the knowledge-base index; rebuilding it"),
        }
        tracing::info!(articles = db.articles, "rebuilding the knowledge-base index");
        match rebuild_index(&store, &index).await {
            Ok(n) => tracing::info!(indexed = n, "knowledge-base index rebuilt"),
            Err(e) => tracing::error!(error = %e.message, "knowledge-base index rebuild failed"),
        }
    });
}

/// One entry of the demo knowledge base as written in `demo_kb.yaml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoEntry {
    #[serde(default)]
    kind: ArticleKind,
    title: String,
    category: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default = "published")]
    status: ArticleStatus,
    #[serde(default)]
    valid_from: Option<i64>,
    #[serde(default)]
    valid_to: Option<i64>,
    body: String,
}

fn published() -> ArticleStatus {
    ArticleStatus::Published
}

/// The demo knowledge base (YAML): policies, product notes, how-tos, FAQ entries and case
/// studies of a shop selling flowers and fresh food, electronics and online orders.
pub const DEMO_KB_YAML: &str = include_str!("../demo_kb.yaml");

/// The demo knowledge base's entries, ready to create (no author).
///
/// # Errors
///
/// Only if the embedded YAML is broken (a test keeps it whole).
pub fn demo_articles() -> Result<Vec<NewArticle>, serde_norway::Error> {
    let entries: Vec<DemoEntry> = serde_norway::from_str(DEMO_KB_YAML)?;
    Ok(entries
        .into_iter()
        .map(|e| NewArticle {
            kind: e.kind,
            title: e.title,
            body: e.body,
            category: e.category,
            tags: e.tags,
            product: e.product,
            status: e.status,
            valid_from: e.valid_from.map(Timestamp::from_millis),
            valid_to: e.valid_to.map(Timestamp::from_millis),
            author_id: None,
            source_ticket: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_is_blanked_and_short_numbers_stay() {
        let s =
            scrub_pii("客户 13812345678 说订单 2024 年买的，身份证 11010519491231002X，邮箱 a.b@example.com 金额 5000");
        assert!(!s.contains("13812345678") && !s.contains("11010519491231002X") && !s.contains("example.com"), "{s}");
        assert!(s.contains("2024") && s.contains("5000"), "{s}");
        assert_eq!(scrub_pii("call 138-1234-5678 now"), "call [号码已隐去] now");
    }

    #[test]
    fn the_demo_knowledge_base_parses_and_is_big_enough() {
        let all = demo_articles().unwrap();
        assert!(all.len() >= 40, "{}", all.len());
        let english = all.iter().filter(|a| a.title.is_ascii()).count();
        assert!(english >= 8, "{english} English entries");
        assert!(all.iter().any(|a| a.kind == ArticleKind::Faq));
        assert!(all.iter().filter(|a| a.kind == ArticleKind::Case).count() >= 2);
    }
}
