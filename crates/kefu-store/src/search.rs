//! The knowledge base's full-text index (tantivy, Chinese segmented by jieba, English stemmed):
//! ranked search with highlighted titles and snippets, filters, and an atomic rebuild from the
//! database. The database is the source of truth; this index is derived from it and can be
//! thrown away and rebuilt at any time (ADR 0010).
//!
//! On disk the index lives in `<dir>/gen-<id>/`, named by `<dir>/CURRENT`; a rebuild writes a
//! new generation beside the live one and swaps `CURRENT` (write-then-rename), so readers keep
//! working throughout. Writes made while a rebuild runs are applied to both.

use crate::kb::{Article, ArticleKind, ArticleStatus, KbMarker};
use crate::kb_collect::{
    CATEGORY, DocFilter, KIND_CODE, PRODUCT, STATUS_CODE, TAGS, TopFiltered, VALID_FROM, VALID_TO,
};
use crate::kb_text::{self, TOKENIZER};
use kefu_core::{ArticleId, Timestamp};
use serde::Serialize;
use std::collections::HashSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

/// Bump when the schema or the analyzer changes: an index of another version is rebuilt.
const SCHEMA_VERSION: u32 = 2;
/// The file naming the live generation.
const CURRENT: &str = "CURRENT";
/// Present while the index is known to have missed a write.
const STALE: &str = "STALE";
/// Title matches weigh this much more than body matches.
const TITLE_BOOST: f32 = 3.0;
/// Tag, category and product matches weigh this much more than body matches.
const KEYWORDS_BOOST: f32 = 2.0;
/// Most query terms used (a pasted paragraph is cut here).
const MAX_QUERY_TERMS: usize = 32;
/// Largest page of hits.
pub const MAX_LIMIT: usize = 50;
/// Deepest offset into the hits.
pub const MAX_OFFSET: usize = 1_000;

/// Why the index could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum KbIndexError {
    /// Another process (or another index in this one) holds the directory's writer lock.
    #[error("the knowledge-base index in {0} is in use by another process")]
    Busy(PathBuf),
    /// A rebuild is already running.
    #[error("the knowledge-base index is already being rebuilt")]
    RebuildRunning,
    /// Reading or writing the index files failed.
    #[error("knowledge-base index I/O: {0}")]
    Io(#[from] std::io::Error),
    /// tantivy failed.
    #[error("knowledge-base index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// What to search for. An empty (or blank) `q` lists the entries matching the filters, most
/// recently changed first.
#[derive(Clone, Debug, Default)]
pub struct KbQuery {
    /// Words to look for, in any language mix; never parsed as query syntax.
    pub q: String,
    /// Only this kind.
    pub kind: Option<ArticleKind>,
    /// Only this category.
    pub category: Option<String>,
    /// Only entries with this tag.
    pub tag: Option<String>,
    /// Only this product.
    pub product: Option<String>,
    /// Only entries valid at this instant.
    pub valid_at: Option<Timestamp>,
    /// Drafts too (editors); otherwise only published entries.
    pub include_drafts: bool,
    /// At most this many hits (clamped to 1–[`MAX_LIMIT`]).
    pub limit: usize,
    /// Skip this many (clamped to [`MAX_OFFSET`]).
    pub offset: usize,
}

/// One search result.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit {
    /// The entry.
    pub id: ArticleId,
    /// Relevance (BM25; 0 for a filter-only listing).
    pub score: f32,
    /// Its kind.
    pub kind: ArticleKind,
    /// Its category.
    pub category: String,
    /// The title as stored.
    pub title: String,
    /// The title, HTML-escaped, with `<mark>…</mark>` around the matching words.
    pub title_highlight: String,
    /// A short piece of the body around the best match, HTML-escaped, matches marked.
    pub snippet: String,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    kind: Field,
    kind_code: Field,
    category: Field,
    product: Field,
    tags: Field,
    status: Field,
    status_code: Field,
    valid_from: Field,
    valid_to: Field,
    updated_at: Field,
    version: Field,
    title: Field,
    body: Field,
    keywords: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        kind_code: b.add_i64_field(KIND_CODE, FAST),
        category: b.add_text_field(CATEGORY, STRING | FAST | STORED),
        product: b.add_text_field(PRODUCT, STRING | FAST),
        tags: b.add_text_field(TAGS, STRING | FAST),
        status: b.add_text_field("status", STRING),
        status_code: b.add_i64_field(STATUS_CODE, FAST),
        valid_from: b.add_i64_field(VALID_FROM, INDEXED | FAST),
        valid_to: b.add_i64_field(VALID_TO, INDEXED | FAST),
        updated_at: b.add_i64_field("updated_at", FAST),
        version: b.add_i64_field("version", FAST),
        title: b.add_text_field("title", text.clone().set_stored()),
        body: b.add_text_field("body", text.clone().set_stored()),
        keywords: b.add_text_field("keywords", text),
    };
    (b.build(), fields)
}

/// One index: its files (or memory), reader and writer.
struct Generation {
    /// Directory name under the root (`None` in memory).
    name: Option<String>,
    index: Index,
    reader: IndexReader,
    /// Taken (and dropped) when the generation is retired.
    writer: Mutex<Option<IndexWriter>>,
}

enum Op {
    Upsert(Box<Article>),
    Delete(ArticleId),
}

#[derive(Default)]
struct WriteState {
    /// Writes made while a rebuild runs, replayed into the new generation before the swap.
    journal: Option<Vec<Op>>,
    /// Entries deleted in this process: a late write for one must not bring it back.
    tombstones: HashSet<ArticleId>,
}

struct Inner {
    root: Option<PathBuf>,
    schema: Schema,
    fields: Fields,
    analyzer: TextAnalyzer,
    current: RwLock<Arc<Generation>>,
    writes: Mutex<WriteState>,
    stale: AtomicBool,
}

/// The knowledge-base index; cheap to clone (one shared index).
#[derive(Clone)]
pub struct KbIndex(Arc<Inner>);

impl std::fmt::Debug for KbIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KbIndex").field("root", &self.0.root).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KbIndex {
    /// Opens the index in `dir` (created if missing). An index of an older schema, or one
    /// that cannot be read, is replaced by an empty one: [`KbIndex::needs_rebuild`] then says
    /// so. Fails with [`KbIndexError::Busy`] when another process uses the directory.
    pub fn open(dir: &Path) -> Result<KbIndex, KbIndexError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let current_name = std::fs::read_to_string(dir.join(CURRENT)).ok().map(|s| s.trim().to_owned());
        let existing = match current_name.filter(|n| is_generation_name(n)) {
            Some(name) => match open_generation(dir, &name) {
                Ok(g) if schema_version(&g.index) == Some(SCHEMA_VERSION) => Some(g),
                Ok(_) => {
                    tracing::warn!(dir = %dir.display(), "knowledge-base index has an older schema; starting afresh");
                    None
                }
                Err(KbIndexError::Tantivy(tantivy::TantivyError::LockFailure(..))) => {
                    return Err(KbIndexError::Busy(dir.to_owned()));
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "knowledge-base index unreadable; starting afresh");
                    None
                }
            },
            None => None,
        };
        let generation = match existing {
            Some(g) => g,
            None => {
                let g = new_generation(Some(dir), &schema)?;
                write_current(dir, g.name.as_deref().unwrap_or_default())?;
                g
            }
        };
        remove_other_generations(dir, generation.name.as_deref());
        let stale = dir.join(STALE).exists();
        Ok(KbIndex(Arc::new(Inner {
            root: Some(dir.to_owned()),
            schema,
            fields,
            analyzer: kb_text::analyzer(),
            current: RwLock::new(Arc::new(generation)),
            writes: Mutex::new(WriteState::default()),
            stale: AtomicBool::new(stale),
        })))
    }

    /// An empty index in memory (tests, or when the directory is unusable); rebuild it from
    /// the database.
    pub fn open_in_ram() -> Result<KbIndex, KbIndexError> {
        let (schema, fields) = schema();
        let generation = new_generation(None, &schema)?;
        Ok(KbIndex(Arc::new(Inner {
            root: None,
            schema,
            fields,
            analyzer: kb_text::analyzer(),
            current: RwLock::new(Arc::new(generation)),
            writes: Mutex::new(WriteState::default()),
            stale: AtomicBool::new(false),
        })))
    }

    /// Where the index lives (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.0.root.as_deref()
    }

    fn current(&self) -> Arc<Generation> {
        match self.0.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Adds or replaces an entry (visible after [`KbIndex::commit`]). An older version than
    /// the one indexed, or an entry deleted meanwhile, is ignored: writes may arrive out of
    /// order.
    pub fn upsert(&self, article: &Article) -> Result<(), KbIndexError> {
        let mut w = lock(&self.0.writes);
        if w.tombstones.contains(&article.id) {
            return Ok(());
        }
        upsert_into(&self.current(), &self.0.fields, article)?;
        if let Some(journal) = &mut w.journal {
            journal.push(Op::Upsert(Box::new(article.clone())));
        }
        Ok(())
    }

    /// Removes an entry (visible after [`KbIndex::commit`]).
    pub fn delete(&self, id: ArticleId) -> Result<(), KbIndexError> {
        let mut w = lock(&self.0.writes);
        w.tombstones.insert(id);
        delete_from(&self.current(), &self.0.fields, id)?;
        if let Some(journal) = &mut w.journal {
            journal.push(Op::Delete(id));
        }
        Ok(())
    }

    /// Makes the writes so far durable and visible to searches.
    pub fn commit(&self) -> Result<(), KbIndexError> {
        let _w = lock(&self.0.writes);
        commit_generation(&self.current())
    }

    /// Records that the index missed a write (it will be rebuilt on the next start); the
    /// database stays the source of truth.
    pub fn mark_stale(&self) {
        self.0.stale.store(true, Ordering::SeqCst);
        if let Some(root) = &self.0.root
            && let Err(e) = std::fs::write(root.join(STALE), b"an index write failed\n")
        {
            tracing::error!(error = %e, "cannot record that the knowledge-base index is stale");
        }
    }

    /// Whether an index write failed since the last rebuild.
    pub fn is_stale(&self) -> bool {
        self.0.stale.load(Ordering::SeqCst)
    }

    /// The index's own count, version sum and latest change, to compare with
    /// [`crate::Store::kb_marker`].
    pub fn marker(&self) -> Result<KbMarker, KbIndexError> {
        let searcher = self.current().reader.searcher();
        let mut m = KbMarker::default();
        for segment in searcher.segment_readers() {
            let version = segment.fast_fields().i64("version")?;
            let updated = segment.fast_fields().i64("updated_at")?;
            for doc in segment.doc_ids_alive() {
                m.articles += 1;
                m.version_sum += version.first(doc).unwrap_or(0);
                m.max_updated_at = m.max_updated_at.max(updated.first(doc).unwrap_or(0));
            }
        }
        Ok(m)
    }

    /// Whether the index must be rebuilt to match a database whose marker is `db`: it missed
    /// a write, or it holds other entries or versions.
    pub fn needs_rebuild(&self, db: &KbMarker) -> Result<bool, KbIndexError> {
        Ok(self.is_stale() || self.marker()? != *db)
    }

    /// Starts building a fresh index beside the live one; feed it every entry with
    /// [`Rebuild::add`], then [`Rebuild::finish`] swaps it in. Searches and writes go on
    /// meanwhile; writes are replayed into the new index before the swap.
    pub fn start_rebuild(&self) -> Result<Rebuild, KbIndexError> {
        let mut w = lock(&self.0.writes);
        if w.journal.is_some() {
            return Err(KbIndexError::RebuildRunning);
        }
        let generation = new_generation(self.0.root.as_deref(), &self.0.schema)?;
        w.journal = Some(Vec::new());
        Ok(Rebuild { index: self.clone(), generation: Some(generation), added: 0 })
    }

    /// Rebuilds the index from `articles` (all of them) and swaps it in; returns how many.
    pub fn rebuild<'a>(&self, articles: impl IntoIterator<Item = &'a Article>) -> Result<u64, KbIndexError> {
        let mut r = self.start_rebuild()?;
        for a in articles {
            r.add(a)?;
        }
        r.finish()
    }

    /// Searches (see [`KbQuery`]). User text is split into words by the analyzer and never
    /// parsed as query syntax, so no input is an error.
    pub fn search(&self, q: &KbQuery) -> Result<Vec<Hit>, KbIndexError> {
        let f = &self.0.fields;
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let offset = q.offset.min(MAX_OFFSET);
        let mut analyzer = self.0.analyzer.clone();
        let terms = kb_text::query_terms(&mut analyzer, &q.q, MAX_QUERY_TERMS);
        if terms.is_empty() && !q.q.trim().is_empty() {
            // only punctuation or symbols: nothing can match
            return Ok(Vec::new());
        }
        let searcher = self.current().reader.searcher();
        let found: Vec<(f32, DocAddress)> = if terms.is_empty() {
            let top = TopDocs::with_limit(limit).and_offset(offset);
            searcher
                .search(&self.filter_query(q), &top.order_by_fast_field::<i64>("updated_at", Order::Desc))?
                .into_iter()
                .map(|(_, addr)| (0.0, addr))
                .collect()
        } else {
            // a pure union of terms (block-max WAND); the filters are checked while collecting
            let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 3);
            for t in &terms {
                should.push((Occur::Should, boosted(term_query(f.title, t), TITLE_BOOST)));
                should.push((Occur::Should, boosted(term_query(f.keywords, t), KEYWORDS_BOOST)));
                should.push((Occur::Should, term_query(f.body, t)));
            }
            let mut filter = DocFilter {
                kind: q.kind.map(kind_code),
                status: (!q.include_drafts).then_some(status_code(ArticleStatus::Published)),
                valid_at: q.valid_at.map(Timestamp::as_millis),
                strings: Vec::new(),
            };
            for (column, value) in [(CATEGORY, &q.category), (PRODUCT, &q.product), (TAGS, &q.tag)] {
                if let Some(v) = value {
                    filter.strings.push((column, v.clone()));
                }
            }
            let top = TopFiltered { k: offset + limit, filter };
            let mut all = searcher.search(&BooleanQuery::new(should), &top)?;
            all.drain(..offset.min(all.len()));
            all
        };

        let term_set: HashSet<String> = terms.iter().cloned().collect();
        let surface = kb_text::surface_words(&q.q);
        let mut hits = Vec::with_capacity(found.len());
        for (score, addr) in found {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text =
                |field: Field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let Ok(id) = text(f.id).parse::<ArticleId>() else { continue };
            let title = text(f.title);
            let body = text(f.body);
            let title_highlight = kb_text::mark(&title, &kb_text::matches(&mut analyzer, &title, &term_set));
            let snippet = kb_text::snippet(&mut analyzer, &body, &surface, &term_set);
            hits.push(Hit {
                id,
                score,
                kind: text(f.kind).parse().unwrap_or_default(),
                category: text(f.category),
                title,
                title_highlight,
                snippet,
            });
        }
        Ok(hits)
    }
}

impl KbIndex {
    /// The filters of `q` as a query (for a listing without words).
    fn filter_query(&self, q: &KbQuery) -> Box<dyn Query> {
        let f = &self.0.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut filter = |field: Field, value: &str| {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(term_query(field, value), 0.0))));
        };
        if let Some(kind) = q.kind {
            filter(f.kind, kind.as_str());
        }
        if let Some(c) = &q.category {
            filter(f.category, c);
        }
        if let Some(t) = &q.tag {
            filter(f.tags, t);
        }
        if let Some(p) = &q.product {
            filter(f.product, p);
        }
        if !q.include_drafts {
            filter(f.status, ArticleStatus::Published.as_str());
        }
        if let Some(at) = q.valid_at {
            let at = at.as_millis();
            let from = RangeQuery::new(Bound::Unbounded, Bound::Included(Term::from_field_i64(f.valid_from, at)));
            let to = RangeQuery::new(Bound::Excluded(Term::from_field_i64(f.valid_to, at)), Bound::Unbounded);
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(from), 0.0))));
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(to), 0.0))));
        }
        if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) }
    }
}

fn kind_code(kind: ArticleKind) -> i64 {
    match kind {
        ArticleKind::Article => 0,
        ArticleKind::Faq => 1,
        ArticleKind::Case => 2,
    }
}

fn status_code(status: ArticleStatus) -> i64 {
    match status {
        ArticleStatus::Draft => 0,
        ArticleStatus::Published => 1,
    }
}

/// A rebuild in progress (see [`KbIndex::start_rebuild`]); dropping it unfinished abandons it.
pub struct Rebuild {
    index: KbIndex,
    generation: Option<Generation>,
    added: u64,
}

impl Rebuild {
    /// Adds one entry to the new index.
    pub fn add(&mut self, article: &Article) -> Result<(), KbIndexError> {
        let Some(g) = &self.generation else { return Ok(()) };
        let w = lock(&g.writer);
        if let Some(writer) = w.as_ref() {
            writer.add_document(document(&self.index.0.fields, article))?;
            self.added += 1;
        }
        Ok(())
    }

    /// Commits the new index, replays the writes made meanwhile, and swaps it in; returns the
    /// number of entries added.
    pub fn finish(mut self) -> Result<u64, KbIndexError> {
        let Some(generation) = self.generation.take() else { return Ok(self.added) };
        let inner = &self.index.0;
        let mut w = lock(&inner.writes);
        let journal = w.journal.take().unwrap_or_default();
        let applied = (|| {
            for op in &journal {
                match op {
                    Op::Upsert(a) if !w.tombstones.contains(&a.id) => {
                        commit_generation(&generation)?; // the version check reads committed docs
                        upsert_into(&generation, &inner.fields, a)?;
                    }
                    Op::Upsert(_) => {}
                    Op::Delete(id) => delete_from(&generation, &inner.fields, *id)?,
                }
            }
            commit_generation(&generation)?;
            if let (Some(root), Some(name)) = (&inner.root, &generation.name) {
                write_current(root, name)?;
                match std::fs::remove_file(root.join(STALE)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(KbIndexError::Io(e)),
                }
            }
            Ok::<(), KbIndexError>(())
        })();
        if let Err(e) = applied {
            drop(w);
            retire(inner.root.as_deref(), &generation);
            return Err(e);
        }
        let old = {
            let mut cur = match inner.current.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            std::mem::replace(&mut *cur, Arc::new(generation))
        };
        inner.stale.store(false, Ordering::SeqCst);
        drop(w);
        // searches still holding the old generation keep their open (mapped) files
        retire(inner.root.as_deref(), &old);
        Ok(self.added)
    }
}

impl Drop for Rebuild {
    fn drop(&mut self) {
        if let Some(g) = self.generation.take() {
            lock(&self.index.0.writes).journal = None;
            retire(self.index.0.root.as_deref(), &g);
        }
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
}

fn boosted(q: Box<dyn Query>, by: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(q, by))
}

fn document(f: &Fields, a: &Article) -> TantivyDocument {
    let mut d = TantivyDocument::new();
    d.add_text(f.id, a.id.to_string());
    d.add_text(f.kind, a.kind.as_str());
    d.add_i64(f.kind_code, kind_code(a.kind));
    d.add_text(f.category, &a.category);
    if let Some(p) = &a.product {
        d.add_text(f.product, p);
    }
    for t in &a.tags {
        d.add_text(f.tags, t);
    }
    d.add_text(f.status, a.status.as_str());
    d.add_i64(f.status_code, status_code(a.status));
    d.add_i64(f.valid_from, a.valid_from.map_or(i64::MIN, Timestamp::as_millis));
    d.add_i64(f.valid_to, a.valid_to.map_or(i64::MAX, Timestamp::as_millis));
    d.add_i64(f.updated_at, a.updated_at.as_millis());
    d.add_i64(f.version, a.version);
    d.add_text(f.title, &a.title);
    d.add_text(f.body, kb_text::plain_text(&a.body));
    let mut keywords = a.tags.join(" ");
    keywords.push(' ');
    keywords.push_str(&a.category);
    if let Some(p) = &a.product {
        keywords.push(' ');
        keywords.push_str(p);
    }
    d.add_text(f.keywords, keywords);
    d
}

/// The version of `id` in the committed index, if it is there.
fn indexed_version(g: &Generation, f: &Fields, id: ArticleId) -> Result<Option<i64>, KbIndexError> {
    let searcher = g.reader.searcher();
    let q = TermQuery::new(Term::from_field_text(f.id, &id.to_string()), IndexRecordOption::Basic);
    let found = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
    let Some((_, addr)) = found.first() else { return Ok(None) };
    let column = searcher.segment_reader(addr.segment_ord).fast_fields().i64("version")?;
    Ok(column.first(addr.doc_id))
}

fn upsert_into(g: &Generation, f: &Fields, a: &Article) -> Result<(), KbIndexError> {
    if indexed_version(g, f, a.id)?.is_some_and(|v| v > a.version) {
        return Ok(());
    }
    let w = lock(&g.writer);
    if let Some(writer) = w.as_ref() {
        writer.delete_term(Term::from_field_text(f.id, &a.id.to_string()));
        writer.add_document(document(f, a))?;
    }
    Ok(())
}

fn delete_from(g: &Generation, f: &Fields, id: ArticleId) -> Result<(), KbIndexError> {
    let w = lock(&g.writer);
    if let Some(writer) = w.as_ref() {
        writer.delete_term(Term::from_field_text(f.id, &id.to_string()));
    }
    Ok(())
}

fn commit_generation(g: &Generation) -> Result<(), KbIndexError> {
    let mut w = lock(&g.writer);
    if let Some(writer) = w.as_mut() {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{{\"schema\":{SCHEMA_VERSION}}}"));
        prepared.commit()?;
    }
    drop(w);
    g.reader.reload()?;
    Ok(())
}

fn schema_version(index: &Index) -> Option<u32> {
    let payload = index.load_metas().ok()?.payload?;
    let v: serde_json::Value = serde_json::from_str(&payload).ok()?;
    v.get("schema")?.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn is_generation_name(name: &str) -> bool {
    name.strip_prefix("gen-").is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()))
}

fn register(index: &Index) {
    index.tokenizers().register(TOKENIZER, kb_text::analyzer());
}

fn writer(index: &Index, threads: usize, budget: usize) -> Result<IndexWriter, KbIndexError> {
    Ok(index.writer_with_num_threads(threads, budget)?)
}

/// Per indexing thread; tantivy flushes a segment when it is used up.
const WRITER_BUDGET_PER_THREAD: usize = 32 * 1024 * 1024;

fn finish_generation(name: Option<String>, index: Index) -> Result<Generation, KbIndexError> {
    register(&index);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let writer = writer(&index, threads, threads * WRITER_BUDGET_PER_THREAD)?;
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    Ok(Generation { name, index, reader, writer: Mutex::new(Some(writer)) })
}

fn open_generation(root: &Path, name: &str) -> Result<Generation, KbIndexError> {
    let dir = MmapDirectory::open(root.join(name)).map_err(tantivy::TantivyError::from)?;
    let index = Index::open(dir)?;
    finish_generation(Some(name.to_owned()), index)
}

/// A new, empty, committed generation: in `root` under a fresh name, or in memory.
fn new_generation(root: Option<&Path>, schema: &Schema) -> Result<Generation, KbIndexError> {
    let (name, index) = match root {
        Some(root) => {
            let name = format!("gen-{}", crate::new_uuid().simple());
            let path = root.join(&name);
            std::fs::create_dir_all(&path)?;
            let dir = MmapDirectory::open(&path).map_err(tantivy::TantivyError::from)?;
            (Some(name), Index::create(dir, schema.clone(), tantivy::IndexSettings::default())?)
        }
        None => (None, Index::create_in_ram(schema.clone())),
    };
    let g = finish_generation(name, index)?;
    commit_generation(&g)?;
    Ok(g)
}

/// Points `CURRENT` at `name` atomically (write a temporary file, then rename it).
fn write_current(root: &Path, name: &str) -> Result<(), KbIndexError> {
    let tmp = root.join("CURRENT.tmp");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(name.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, root.join(CURRENT))?;
    if let Ok(d) = std::fs::File::open(root) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Stops a generation's writer and deletes its files (on disk).
fn retire(root: Option<&Path>, g: &Generation) {
    if let Some(writer) = lock(&g.writer).take()
        && let Err(e) = writer.wait_merging_threads()
    {
        tracing::warn!(error = %e, "knowledge-base index writer did not stop cleanly");
    }
    if let (Some(root), Some(name)) = (root, &g.name)
        && let Err(e) = std::fs::remove_dir_all(root.join(name))
    {
        tracing::warn!(error = %e, generation = %name, "cannot remove an old knowledge-base index");
    }
}

/// Deletes generations other than `keep` (left by a crash during a rebuild).
fn remove_other_generations(root: &Path, keep: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_generation_name(&name)
            && Some(name.as_str()) != keep
            && let Err(err) = std::fs::remove_dir_all(e.path())
        {
            tracing::warn!(error = %err, generation = %name, "cannot remove a stale knowledge-base index");
        }
    }
}
