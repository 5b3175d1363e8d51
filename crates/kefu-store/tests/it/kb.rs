//! Knowledge base: the rows (versions, optimistic locking, filters, paging) on both backends,
//! and the full-text index kept in step with them (incremental writes, rebuild, swap, lock).

use crate::{T0, db, user};
use kefu_core::{ArticleId, Timestamp};
use kefu_store::{
    Article, ArticleFilter, ArticleKind, ArticlePatch, ArticleStatus, KbIndex, KbIndexError, KbQuery, NewArticle,
    PageRequest, Store, StoreError,
};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn new(title: &str, body: &str) -> NewArticle {
    NewArticle {
        kind: ArticleKind::Article,
        title: title.into(),
        body: body.into(),
        category: "政策".into(),
        tags: vec![],
        product: None,
        status: ArticleStatus::Published,
        valid_from: None,
        valid_to: None,
        author_id: None,
        source_ticket: None,
    }
}

fn query(q: &str) -> KbQuery {
    KbQuery { q: q.into(), limit: 10, ..KbQuery::default() }
}

async fn all(s: &Store) -> Vec<Article> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = s.all_articles_for_index(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    out
}

fn ids(hits: &[kefu_store::Hit]) -> Vec<ArticleId> {
    hits.iter().map(|h| h.id).collect()
}

#[tokio::test]
async fn articles_keep_every_version_and_refuse_stale_changes() {
    let t = db().await;
    let s = &t.store;
    let author = user(s, "writer").await;
    let editor = user(s, "editor").await;
    let mut n = new("  退货运费由谁承担  ", "# 运费\n质量问题由商家承担。");
    n.tags = vec!["退货".into(), " 运费 ".into(), "退货".into()];
    n.author_id = Some(author.id);
    n.product = Some("  ".into());
    let a = s.create_article(&n, at(0)).await.unwrap();
    assert_eq!(a.title, "退货运费由谁承担", "trimmed");
    assert_eq!(a.tags, vec!["退货".to_owned(), "运费".to_owned()], "trimmed and de-duplicated");
    assert_eq!(a.product, None, "blank product is none");
    assert_eq!((a.version, a.author_id, a.created_at, a.updated_at), (1, Some(author.id), at(0), at(0)));
    assert_eq!(s.article(a.id).await.unwrap(), a);

    let patch = ArticlePatch {
        body: Some("质量问题由商家承担来回运费。".into()),
        status: Some(ArticleStatus::Draft),
        valid_to: Some(Some(at(10_000))),
        ..ArticlePatch::default()
    };
    let b = s.update_article(a.id, 1, &patch, Some(editor.id), at(5)).await.unwrap();
    assert_eq!((b.version, b.updated_at, b.created_at), (2, at(5), at(0)));
    assert_eq!(b.title, a.title, "untouched fields stay");
    assert_eq!(b.author_id, Some(author.id), "the author stays the first writer");
    assert_eq!(b.valid_to, Some(at(10_000)));
    assert_eq!(s.article(a.id).await.unwrap(), b);

    // editing version 1 again is a conflict naming the current version
    let err = s.update_article(a.id, 1, &patch, Some(editor.id), at(6)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("version 2")), "{err}");
    // clearing an optional field
    let c = s
        .update_article(a.id, 2, &ArticlePatch { valid_to: Some(None), ..ArticlePatch::default() }, None, at(7))
        .await
        .unwrap();
    assert_eq!((c.version, c.valid_to), (3, None));

    let versions = s.article_versions(a.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1], "newest first");
    assert_eq!(versions[2].body, "# 运费\n质量问题由商家承担。");
    assert_eq!(versions[2].author_id, Some(author.id));
    assert_eq!(versions[1].body, "质量问题由商家承担来回运费。");
    assert_eq!(
        (versions[1].author_id, versions[1].status, versions[1].at),
        (Some(editor.id), ArticleStatus::Draft, at(5))
    );
    assert_eq!(versions[0].author_id, None);

    s.delete_article(a.id).await.unwrap();
    assert!(matches!(s.article(a.id).await, Err(StoreError::NotFound { what: "article", .. })));
    assert!(matches!(s.article_versions(a.id).await, Err(StoreError::NotFound { .. })), "versions go too");
    assert!(matches!(s.delete_article(a.id).await, Err(StoreError::NotFound { .. })));
    let missing = ArticleId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(
        s.update_article(missing, 1, &ArticlePatch::default(), None, at(8)).await,
        Err(StoreError::NotFound { .. })
    ));
    t.cleanup().await;
}

#[tokio::test]
async fn invalid_articles_are_refused_with_every_problem_named() {
    let t = db().await;
    let s = &t.store;
    let mut n = new(" ", &"x".repeat(100_001));
    n.category = String::new();
    n.valid_from = Some(at(10));
    n.valid_to = Some(at(5));
    let err = s.create_article(&n, T0).await.unwrap_err();
    let StoreError::Invalid(m) = &err else { panic!("{err}") };
    for part in ["title", "body", "category", "valid_to is before valid_from"] {
        assert!(m.contains(part), "{m} lacks {part}");
    }
    let mut n = new(&"题".repeat(201), "ok");
    n.tags = (0..21).map(|i| format!("t{i}")).collect();
    let err = s.create_article(&n, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("title") && m.contains("at most 20 tags")), "{err}");
    let mut n = new("ok", "ok");
    n.author_id = Some(kefu_core::UserId::from_uuid(kefu_store::new_uuid()));
    assert!(matches!(s.create_article(&n, T0).await, Err(StoreError::Invalid(m)) if m.contains("author")));
    // a patch is checked against the whole article
    let a = s.create_article(&new("ok", "ok"), T0).await.unwrap();
    let bad = ArticlePatch { valid_from: Some(Some(at(9))), valid_to: Some(Some(at(1))), ..ArticlePatch::default() };
    assert!(matches!(s.update_article(a.id, 1, &bad, None, at(1)).await, Err(StoreError::Invalid(_))));
    assert_eq!(s.article(a.id).await.unwrap().version, 1, "nothing written");
    assert_eq!(s.article_versions(a.id).await.unwrap().len(), 1);
    t.cleanup().await;
}

#[tokio::test]
async fn lists_filter_and_page_newest_first() {
    let t = db().await;
    let s = &t.store;
    let mut made = Vec::new();
    for i in 0..5 {
        let mut n = new(&format!("条目 {i}"), "正文");
        n.kind = if i % 2 == 0 { ArticleKind::Faq } else { ArticleKind::Article };
        n.tags = vec![if i < 2 { "100%_off".into() } else { "100x_off".into() }];
        n.product = (i == 4).then(|| "鲜花".into());
        n.status = if i == 3 { ArticleStatus::Draft } else { ArticleStatus::Published };
        n.valid_to = (i == 1).then(|| at(100));
        made.push(s.create_article(&n, at(i)).await.unwrap());
    }
    let list = |f: ArticleFilter| async move {
        let p = s.list_articles(&f, &PageRequest::default()).await.unwrap();
        p.items.iter().map(|a| a.title.clone()).collect::<Vec<_>>()
    };
    assert_eq!(list(ArticleFilter::default()).await, vec!["条目 4", "条目 3", "条目 2", "条目 1", "条目 0"]);
    assert_eq!(
        list(ArticleFilter { kind: Some(ArticleKind::Faq), ..ArticleFilter::default() }).await,
        vec!["条目 4", "条目 2", "条目 0"]
    );
    // LIKE wildcards in a tag are taken literally
    assert_eq!(
        list(ArticleFilter { tag: Some("100%_off".into()), ..ArticleFilter::default() }).await,
        vec!["条目 1", "条目 0"]
    );
    assert_eq!(list(ArticleFilter { tag: Some("100".into()), ..ArticleFilter::default() }).await, Vec::<String>::new());
    assert_eq!(list(ArticleFilter { product: Some("鲜花".into()), ..ArticleFilter::default() }).await, vec!["条目 4"]);
    assert_eq!(
        list(ArticleFilter {
            status: Some(ArticleStatus::Published),
            valid_at: Some(at(200)),
            ..ArticleFilter::default()
        })
        .await,
        vec!["条目 4", "条目 2", "条目 0"],
        "the draft and the expired entry are left out"
    );
    assert_eq!(list(ArticleFilter { valid_at: Some(at(99)), ..ArticleFilter::default() }).await.len(), 5);

    let first =
        s.list_articles(&ArticleFilter::default(), &PageRequest { limit: Some(2), cursor: None }).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let second = s
        .list_articles(&ArticleFilter::default(), &PageRequest { limit: Some(2), cursor: first.next_cursor })
        .await
        .unwrap();
    assert_eq!(second.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![made[2].id, made[1].id]);
    let bad =
        s.list_articles(&ArticleFilter::default(), &PageRequest { limit: None, cursor: Some("nope".into()) }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));

    // the indexing scan sees everything, in id order
    let every = all(s).await;
    assert_eq!(every.len(), 5);
    assert!(every.windows(2).all(|w| w[0].id < w[1].id));
    t.cleanup().await;
}

#[tokio::test]
async fn the_marker_moves_with_every_change() {
    let t = db().await;
    let s = &t.store;
    let m0 = s.kb_marker().await.unwrap();
    assert_eq!((m0.articles, m0.version_sum, m0.max_updated_at), (0, 0, 0));
    let a = s.create_article(&new("一", "一"), at(1)).await.unwrap();
    let b = s.create_article(&new("二", "二"), at(2)).await.unwrap();
    let m1 = s.kb_marker().await.unwrap();
    assert_eq!((m1.articles, m1.version_sum, m1.max_updated_at), (2, 2, at(2).as_millis()));
    s.update_article(a.id, 1, &ArticlePatch { body: Some("改".into()), ..ArticlePatch::default() }, None, at(2))
        .await
        .unwrap();
    let m2 = s.kb_marker().await.unwrap();
    assert_eq!((m2.articles, m2.version_sum, m2.max_updated_at), (2, 3, at(2).as_millis()), "same instant still moves");
    s.delete_article(b.id).await.unwrap();
    assert_eq!(s.kb_marker().await.unwrap().articles, 1);
    t.cleanup().await;
}

/// A small knowledge base in the database and an index fed write by write, as the server does.
async fn seeded(s: &Store, index: &KbIndex) -> Vec<Article> {
    let mut list = Vec::new();
    let mut entries = vec![
        new("退货运费由谁承担", "质量问题退货的来回运费由商家承担；无理由退货的寄回运费由顾客承担。"),
        new("鲜花收到时不新鲜怎么办", "鲜花签收后 24 小时内拍照反馈，可补发或按比例退款并赠送优惠券。"),
        new("七天无理由退货", "签收之日起七天内，商品完好可申请无理由退货。"),
        new("Refund shipping cost", "If the item is faulty we refund the return shipping cost in full."),
    ];
    let mut faq = new("发票怎么开", "订单完成后在订单详情申请电子发票。");
    faq.kind = ArticleKind::Faq;
    entries.push(faq);
    let mut draft = new("退货政策草稿", "新的退货运费规则还在讨论。");
    draft.status = ArticleStatus::Draft;
    entries.push(draft);
    let mut expired = new("旧运费规则", "旧的退货运费规则已经作废。");
    expired.valid_to = Some(at(1_000));
    entries.push(expired);
    for (i, n) in entries.into_iter().enumerate() {
        let a = s.create_article(&n, at(i as i64)).await.unwrap();
        index.upsert(&a).unwrap();
        index.commit().unwrap();
        list.push(a);
    }
    list
}

#[tokio::test]
async fn search_ranks_highlights_and_filters() {
    let t = db().await;
    let s = &t.store;
    let index = KbIndex::open_in_ram().unwrap();
    let a = seeded(s, &index).await;

    let hits = index.search(&query("退货 运费")).unwrap();
    assert_eq!(hits[0].id, a[0].id, "{hits:#?}");
    // 退货 and 运费 side by side: one mark (jieba's best path cuts 退 / 货运费 here)
    assert_eq!(hits[0].title_highlight, "<mark>退货运费</mark>由谁承担");
    assert!(hits[0].snippet.contains("<mark>运费</mark>"), "{}", hits[0].snippet);
    assert!(!ids(&hits).contains(&a[5].id), "drafts are hidden unless asked for");
    assert!(ids(&hits).contains(&a[6].id), "no validity filter was asked for");

    let hits = index.search(&KbQuery { valid_at: Some(at(5_000)), ..query("退货 运费") }).unwrap();
    assert!(!ids(&hits).contains(&a[6].id), "expired entries are left out");
    let hits = index.search(&KbQuery { valid_at: Some(at(999)), ..query("旧运费规则") }).unwrap();
    assert_eq!(hits[0].id, a[6].id, "valid just before its end");
    let hits = index.search(&KbQuery { include_drafts: true, ..query("退货政策草稿") }).unwrap();
    assert_eq!(hits[0].id, a[5].id);

    let hits = index.search(&query("鲜花不新鲜")).unwrap();
    assert_eq!(hits[0].id, a[1].id);
    let hits = index.search(&query("refunds for shipping")).unwrap();
    assert_eq!(hits[0].id, a[3].id, "stemmed: refunds → refund, shipping → ship");
    assert!(hits[0].snippet.contains("<mark>refund</mark>"), "{}", hits[0].snippet);

    let faq = index.search(&KbQuery { kind: Some(ArticleKind::Faq), ..query("发票") }).unwrap();
    assert_eq!(ids(&faq), vec![a[4].id]);
    assert!(index.search(&KbQuery { kind: Some(ArticleKind::Faq), ..query("退货") }).unwrap().is_empty());
    assert!(index.search(&KbQuery { category: Some("产品".into()), ..query("退货") }).unwrap().is_empty());

    // blank: a filter-only listing, newest first; syntax and punctuation: no error
    let listing = index.search(&KbQuery { kind: Some(ArticleKind::Article), ..query("  ") }).unwrap();
    assert_eq!(ids(&listing), vec![a[6].id, a[3].id, a[2].id, a[1].id, a[0].id]);
    assert!(listing.iter().all(|h| h.score == 0.0));
    for q in ["\"AND OR (", "，。！？", "*:*", "title:退货 -运费 ~2 ^3", "[a TO z]", "\\", "\u{0}"] {
        assert!(index.search(&query(q)).is_ok(), "{q}");
    }
    assert!(index.search(&query("！？。，")).unwrap().is_empty());
    // paging
    let p1 = index.search(&KbQuery { limit: 1, ..query("退货") }).unwrap();
    let p2 = index.search(&KbQuery { limit: 1, offset: 1, ..query("退货") }).unwrap();
    assert_eq!(p1.len(), 1);
    assert_ne!(p1[0].id, p2[0].id);
    // tag and product filters
    let mut tagged = new("退货须知", "退货前请保留包装。");
    tagged.tags = vec!["须知".into(), "退货".into()];
    tagged.product = Some("鲜花".into());
    let tagged = s.create_article(&tagged, at(40)).await.unwrap();
    index.upsert(&tagged).unwrap();
    index.commit().unwrap();
    assert_eq!(ids(&index.search(&KbQuery { tag: Some("须知".into()), ..query("退货") }).unwrap()), vec![tagged.id]);
    assert_eq!(
        ids(&index.search(&KbQuery { product: Some("鲜花".into()), ..query("退货") }).unwrap()),
        vec![tagged.id]
    );
    assert!(index.search(&KbQuery { tag: Some("须".into()), ..query("退货") }).unwrap().is_empty(), "whole tags only");
    assert!(index.search(&KbQuery { product: Some("家电".into()), ..query("退货") }).unwrap().is_empty());

    // HTML in an article is escaped in titles and snippets
    let x = s.create_article(&new("<script>退款</script>", "a <b>退款</b> & b"), at(50)).await.unwrap();
    index.upsert(&x).unwrap();
    index.commit().unwrap();
    let hits = index.search(&query("退款")).unwrap();
    let h = hits.iter().find(|h| h.id == x.id).unwrap();
    assert_eq!(h.title_highlight, "&lt;script&gt;<mark>退款</mark>&lt;/script&gt;");
    assert!(h.snippet.contains("&lt;b&gt;<mark>退款</mark>&lt;/b&gt; &amp; b"), "{}", h.snippet);
    t.cleanup().await;
}

#[tokio::test]
async fn a_rebuild_equals_the_incremental_index_and_changes_show_at_once() {
    let t = db().await;
    let s = &t.store;
    let incremental = KbIndex::open_in_ram().unwrap();
    let a = seeded(s, &incremental).await;
    // change one, delete one
    let changed = s
        .update_article(
            a[2].id,
            1,
            &ArticlePatch {
                title: Some("换货流程".into()),
                body: Some("换货需要先联系客服。".into()),
                ..ArticlePatch::default()
            },
            None,
            at(100),
        )
        .await
        .unwrap();
    incremental.upsert(&changed).unwrap();
    incremental.commit().unwrap();
    s.delete_article(a[4].id).await.unwrap();
    incremental.delete(a[4].id).unwrap();
    incremental.commit().unwrap();

    assert!(incremental.search(&query("换货")).unwrap().iter().any(|h| h.id == a[2].id), "new text found");
    assert!(!incremental.search(&query("无理由")).unwrap().iter().any(|h| h.id == a[2].id), "old text gone");
    assert!(incremental.search(&query("发票")).unwrap().is_empty(), "deleted");

    let db_marker = s.kb_marker().await.unwrap();
    assert_eq!(incremental.marker().unwrap(), db_marker);
    assert!(!incremental.needs_rebuild(&db_marker).unwrap());

    let rebuilt = KbIndex::open_in_ram().unwrap();
    assert!(rebuilt.needs_rebuild(&db_marker).unwrap());
    let rows = all(s).await;
    assert_eq!(rebuilt.rebuild(&rows).unwrap(), 6);
    assert_eq!(rebuilt.marker().unwrap(), db_marker);
    // the same hits, highlighted the same, in the same order: the incremental index counts
    // replaced documents in its term statistics until its segments merge, so only hits whose
    // scores are within 5 % may trade places
    for q in ["退货 运费", "鲜花不新鲜", "refund shipping cost", "换货", "运费", "规则"] {
        let x = incremental.search(&query(q)).unwrap();
        let y = rebuilt.search(&query(q)).unwrap();
        assert!(!x.is_empty(), "{q}");
        assert_eq!(x[0].id, y[0].id, "{q}");
        let mut sorted_x = x.clone();
        let mut sorted_y = y.clone();
        sorted_x.sort_by_key(|h| h.id);
        sorted_y.sort_by_key(|h| h.id);
        assert_eq!(ids(&sorted_x), ids(&sorted_y), "{q}");
        for (h, k) in sorted_x.iter().zip(&sorted_y) {
            assert_eq!((&h.title_highlight, &h.snippet), (&k.title_highlight, &k.snippet));
        }
        let pos = |list: &[kefu_store::Hit], id: ArticleId| list.iter().position(|h| h.id == id).unwrap();
        for (i, a) in x.iter().enumerate() {
            for b in &x[i + 1..] {
                if pos(&y, a.id) > pos(&y, b.id) {
                    assert!((a.score - b.score).abs() <= 0.05 * a.score.max(b.score), "{q}: {a:?} and {b:?} swapped");
                }
            }
        }
    }
    t.cleanup().await;
}

#[tokio::test]
async fn late_and_out_of_order_writes_do_not_win() {
    let t = db().await;
    let s = &t.store;
    let index = KbIndex::open_in_ram().unwrap();
    let v1 = s.create_article(&new("旧标题", "旧正文"), at(0)).await.unwrap();
    let v2 = s
        .update_article(
            v1.id,
            1,
            &ArticlePatch { title: Some("新标题".into()), ..ArticlePatch::default() },
            None,
            at(1),
        )
        .await
        .unwrap();
    index.upsert(&v2).unwrap();
    index.commit().unwrap();
    index.upsert(&v1).unwrap(); // arrives late
    index.commit().unwrap();
    assert_eq!(index.search(&query("标题")).unwrap()[0].title, "新标题");
    index.delete(v1.id).unwrap();
    index.commit().unwrap();
    index.upsert(&v2).unwrap(); // a write racing the delete
    index.commit().unwrap();
    assert!(index.search(&query("标题")).unwrap().is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn on_disk_the_index_survives_restarts_and_rebuilds_swap_generations() {
    let t = db().await;
    let s = &t.store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kb-index");
    let index = KbIndex::open(&path).unwrap();
    let a = seeded(s, &index).await;
    // one process at a time
    assert!(matches!(KbIndex::open(&path), Err(KbIndexError::Busy(_))));
    let generations = || {
        let mut g: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("gen-"))
            .collect();
        g.sort();
        g
    };
    let before = generations();
    assert_eq!(before.len(), 1);

    // a rebuild: writes made meanwhile are replayed into the new index; searches go on
    let rows = all(s).await;
    let mut rebuild = index.start_rebuild().unwrap();
    assert!(matches!(index.start_rebuild(), Err(KbIndexError::RebuildRunning)));
    for r in &rows {
        rebuild.add(r).unwrap();
    }
    let late = s.create_article(&new("会员等级说明", "银卡、金卡、钻石卡的权益。"), at(60)).await.unwrap();
    index.upsert(&late).unwrap();
    index.commit().unwrap();
    s.delete_article(a[0].id).await.unwrap();
    index.delete(a[0].id).unwrap();
    index.commit().unwrap();
    assert_eq!(index.search(&query("会员")).unwrap()[0].id, late.id, "the live index took the write");
    assert_eq!(generations().len(), 2, "the new generation is built beside the live one");
    assert_eq!(rebuild.finish().unwrap(), 7);
    let after = generations();
    assert_eq!(after.len(), 1, "the old generation is removed");
    assert_ne!(after, before);
    assert_eq!(index.search(&query("会员")).unwrap()[0].id, late.id, "replayed");
    assert!(!index.search(&query("退货 运费")).unwrap().iter().any(|h| h.id == a[0].id), "replayed delete");
    let db_marker = s.kb_marker().await.unwrap();
    assert_eq!(index.marker().unwrap(), db_marker);

    // a failed write marks the index stale, which survives a restart until a rebuild
    index.mark_stale();
    drop(index);
    let index = KbIndex::open(&path).unwrap();
    assert_eq!(index.marker().unwrap(), db_marker, "committed writes survive a restart");
    assert!(index.is_stale() && index.needs_rebuild(&db_marker).unwrap());
    index.rebuild(&all(s).await).unwrap();
    assert!(!index.is_stale());
    drop(index);
    let index = KbIndex::open(&path).unwrap();
    assert!(!index.needs_rebuild(&db_marker).unwrap());

    // an abandoned rebuild leaves the live index alone and lets another start
    let mut r = index.start_rebuild().unwrap();
    r.add(&late).unwrap();
    drop(r);
    assert_eq!(generations().len(), 1);
    assert_eq!(index.marker().unwrap(), db_marker);
    index.rebuild(std::iter::empty()).unwrap();
    assert_eq!(index.marker().unwrap().articles, 0);
    drop(index);

    // a broken CURRENT is replaced by an empty index that asks to be rebuilt
    std::fs::write(path.join("CURRENT"), "gen-ffff").unwrap();
    let index = KbIndex::open(&path).unwrap();
    assert!(index.needs_rebuild(&db_marker).unwrap());
    assert_eq!(generations().len(), 1);
    t.cleanup().await;
}
