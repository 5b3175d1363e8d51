//! The supervisor's storage: the blocklist (encrypted numbers, one open entry per number,
//! decisions exactly once, expiry), the append-only handover log, and wallboard settings, on
//! SQLite and PostgreSQL.

use crate::{T0, db, user};
use kefu_core::service::customer::PhoneNumber;
use kefu_core::{Role, Timestamp};
use kefu_store::testing::TestDb;
use kefu_store::{
    BlocklistFilter, BlocklistStatus, HandoverFilter, NewBlocklistEntry, NewHandoverNote, PageRequest, StoreError,
};
use serde_json::json;
use sqlx::Row;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

/// Every value of `col` in `table`, as text, straight from the database.
async fn raw(t: &TestDb, table: &str, col: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let url = t
        .options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", t.options.data_dir.join("kefu.db").display()));
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows = sqlx::query(&format!("SELECT CAST({col} AS TEXT) AS v FROM {table}")).fetch_all(&pool).await.unwrap();
    let out = rows.iter().map(|r| r.try_get::<Option<String>, _>("v").unwrap().unwrap_or_default()).collect();
    pool.close().await;
    out
}

#[tokio::test]
async fn blocklisted_numbers_are_encrypted_unique_while_open_and_decided_once() {
    let t = db().await;
    let s = &t.store;
    let agent = user(s, "agent").await.id;
    let boss = s.create_user(&crate::new_user("boss", Role::Supervisor), T0).await.unwrap().id;
    let new = |number: &str, status| NewBlocklistEntry {
        number: phone(number),
        status,
        reason: "辱骂".into(),
        call_id: Some("call-1".into()),
        by: agent,
        expires_at: None,
    };

    let p = s.add_blocklist_entry(&new("+86 138 0013 8000", BlocklistStatus::Pending), at(0)).await.unwrap();
    assert_eq!((p.number.as_str(), p.status, p.proposed_by), ("13800138000", BlocklistStatus::Pending, Some(agent)));
    assert_eq!((p.decided_by, p.call_id.as_deref()), (None, Some("call-1")));
    // at rest: neither the number nor its last digits, only the ciphertext and the index
    for col in ["phone_enc", "phone_idx"] {
        let values = raw(&t, "blocklist", col).await;
        assert!(values.iter().all(|v| !v.contains("13800138000") && !v.contains("8000")), "{col}: {values:?}");
    }
    // one open entry per number, whatever form it is written in
    let dup = s.add_blocklist_entry(&new("0086-13800138000", BlocklistStatus::Active), at(1)).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    assert_eq!(s.open_blocklist_entry(&phone("13800138000")).await.unwrap().map(|e| e.id), Some(p.id));
    // a proposal does not block
    assert_eq!(s.blocklist_match(&phone("13800138000"), at(2)).await.unwrap(), None);

    // approved once, with an expiry; a second decision is a conflict naming the state
    let a = s.decide_blocklist_entry(p.id, true, boss, "ok", Some(at(10_000)), at(3)).await.unwrap();
    assert_eq!(
        (a.status, a.decided_by, a.decided_at, a.expires_at),
        (BlocklistStatus::Active, Some(boss), Some(at(3)), Some(at(10_000)))
    );
    let again = s.decide_blocklist_entry(p.id, false, boss, "", None, at(4)).await.unwrap_err();
    assert!(matches!(&again, StoreError::Conflict(m) if m.contains("is active, not pending")), "{again}");
    assert_eq!(s.blocklist_match(&phone("+8613800138000"), at(5)).await.unwrap(), Some(p.id));
    assert_eq!(s.blocklist_match(&phone("13800138000"), at(10_000)).await.unwrap(), None, "expired");
    assert!(!s.blocklist_entry(p.id).await.unwrap().blocks_at(at(10_000)));
    assert_eq!(s.blocklist_match(&phone("13900139000"), at(5)).await.unwrap(), None);

    // rejections take no expiry; expiries lie ahead; notes are bounded
    let q = s.add_blocklist_entry(&new("13900139000", BlocklistStatus::Pending), at(6)).await.unwrap();
    assert!(matches!(
        s.decide_blocklist_entry(q.id, false, boss, "", Some(at(99_999)), at(7)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.decide_blocklist_entry(q.id, true, boss, "", Some(at(7)), at(7)).await,
        Err(StoreError::Invalid(_))
    ));
    let long = "长".repeat(501);
    assert!(matches!(
        s.decide_blocklist_entry(q.id, true, boss, &long, None, at(7)).await,
        Err(StoreError::Invalid(_))
    ));
    let r = s.decide_blocklist_entry(q.id, false, boss, "误报", None, at(8)).await.unwrap();
    assert_eq!((r.status, r.decision_note.as_str()), (BlocklistStatus::Rejected, "误报"));
    // once rejected, the number may be proposed again
    let q2 = s.add_blocklist_entry(&new("13900139000", BlocklistStatus::Pending), at(9)).await.unwrap();

    // removal: active or pending only, kept with who and when
    let gone = s.remove_blocklist_entry(p.id, boss, at(11)).await.unwrap();
    assert_eq!((gone.status, gone.removed_by, gone.removed_at), (BlocklistStatus::Removed, Some(boss), Some(at(11))));
    assert!(matches!(s.remove_blocklist_entry(p.id, boss, at(12)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.remove_blocklist_entry(r.id, boss, at(12)).await, Err(StoreError::Conflict(_))));
    let ghost = kefu_core::BlocklistEntryId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.remove_blocklist_entry(ghost, boss, at(12)).await, Err(StoreError::NotFound { .. })));
    // a direct entry is active at once, decided by its author
    let direct = NewBlocklistEntry { by: boss, call_id: None, ..new("13700137000", BlocklistStatus::Active) };
    let d = s.add_blocklist_entry(&direct, at(13)).await.unwrap();
    assert_eq!((d.status, d.decided_by, d.decided_at), (BlocklistStatus::Active, Some(boss), Some(at(13))));
    assert_eq!(s.blocklist_match(&phone("13700137000"), at(14)).await.unwrap(), Some(d.id));

    // lists: newest first, by state and proposer, paged
    let all = |statuses: Vec<BlocklistStatus>, by| BlocklistFilter { statuses, proposed_by: by };
    let page = PageRequest { limit: Some(2), cursor: None };
    let first = s.list_blocklist(&all(vec![], None), &page).await.unwrap();
    assert_eq!(first.items.iter().map(|e| e.id).collect::<Vec<_>>(), [d.id, q2.id]);
    let rest = s
        .list_blocklist(&all(vec![], None), &PageRequest { limit: Some(2), cursor: first.next_cursor.clone() })
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|e| e.id).collect::<Vec<_>>(), [q.id, p.id]);
    assert!(rest.next_cursor.is_none());
    let open_filter = all(vec![BlocklistStatus::Pending, BlocklistStatus::Active], None);
    let open = s.list_blocklist(&open_filter, &PageRequest::default()).await.unwrap();
    assert_eq!(open.items.iter().map(|e| e.id).collect::<Vec<_>>(), [d.id, q2.id]);
    let mine = s.list_blocklist(&all(vec![], Some(agent)), &PageRequest::default()).await.unwrap();
    assert_eq!(mine.items.len(), 3);
    let bad = PageRequest { limit: None, cursor: Some("nope".into()) };
    assert!(matches!(s.list_blocklist(&all(vec![], None), &bad).await, Err(StoreError::Invalid(_))));
    t.cleanup().await;
}

#[tokio::test]
async fn handover_notes_are_checked_and_listed_newest_first() {
    let t = db().await;
    let s = &t.store;
    let lead = s.create_user(&crate::new_user("lead", Role::TeamLead), T0).await.unwrap().id;
    let note = |shift: &str, text: &str, items: &[&str]| NewHandoverNote {
        author_id: lead,
        author_name: "班长 王".into(),
        shift: shift.into(),
        text: text.into(),
        open_items: items.iter().map(|i| (*i).to_owned()).collect(),
    };
    let n1 = s.add_handover_note(&note(" 早班 ", "一切正常\n", &[" 回访 3 单 "]), at(0)).await.unwrap();
    assert_eq!(
        (n1.shift.as_str(), n1.text.as_str(), n1.open_items.clone()),
        ("早班", "一切正常", vec!["回访 3 单".to_owned()])
    );
    let n2 = s.add_handover_note(&note("晚班", "系统故障\t已恢复", &[]), at(1_000)).await.unwrap();
    let n3 = s.add_handover_note(&note("早班", "第二天", &[]), at(2_000)).await.unwrap();

    let bad = note("", "  ", &["", &"x".repeat(501)]);
    let problems = bad.problems();
    assert_eq!(problems.len(), 4, "{problems:?}");
    let err = s.add_handover_note(&bad, at(3_000)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let too_many: Vec<&str> = std::iter::repeat_n("x", 51).collect();
    assert!(s.add_handover_note(&note("a", "b", &too_many), at(3_000)).await.is_err());
    assert!(s.add_handover_note(&note("a\u{7}", "b", &[]), at(3_000)).await.is_err());

    let ids = |p: &kefu_store::Page<kefu_store::HandoverNote>| p.items.iter().map(|n| n.id).collect::<Vec<_>>();
    let all = s.list_handover_notes(&HandoverFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(ids(&all), [n3.id, n2.id, n1.id], "newest first, nothing half-written");
    let first =
        s.list_handover_notes(&HandoverFilter::default(), &PageRequest { limit: Some(2), cursor: None }).await.unwrap();
    let next = PageRequest { limit: Some(2), cursor: first.next_cursor.clone() };
    assert_eq!(ids(&s.list_handover_notes(&HandoverFilter::default(), &next).await.unwrap()), [n1.id]);
    let early = HandoverFilter { shift: Some("早班".into()), ..Default::default() };
    assert_eq!(ids(&s.list_handover_notes(&early, &PageRequest::default()).await.unwrap()), [n3.id, n1.id]);
    let window = HandoverFilter { since: Some(at(500)), until: Some(at(2_000)), shift: None };
    assert_eq!(ids(&s.list_handover_notes(&window, &PageRequest::default()).await.unwrap()), [n2.id]);
    t.cleanup().await;
}

#[tokio::test]
async fn wallboard_settings_are_replaced_whole_with_who_and_when() {
    let t = db().await;
    let s = &t.store;
    let boss = s.create_user(&crate::new_user("boss", Role::Supervisor), T0).await.unwrap().id;
    assert_eq!(s.wallboard_setting("thresholds").await.unwrap(), None);
    s.put_wallboard_setting("thresholds", &json!({ "waiting": { "amber": 3, "red": 6 } }), boss, at(1)).await.unwrap();
    let v2 = json!({ "asa_secs": { "amber": 15.5, "red": 30 } });
    s.put_wallboard_setting("thresholds", &v2, boss, at(2)).await.unwrap();
    let got = s.wallboard_setting("thresholds").await.unwrap().unwrap();
    assert_eq!((got.value, got.updated_by, got.updated_at), (v2, Some(boss), at(2)));
    let ghost = kefu_core::UserId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.put_wallboard_setting("x", &json!(1), ghost, at(3)).await, Err(StoreError::Invalid(_))));
    t.cleanup().await;
}
