use crate::{T0, db};
use kefu_core::Timestamp;
use kefu_store::{AuditOutcome, NewAuditEntry, PageRequest};

#[tokio::test]
async fn sessions_expire_and_revoke() {
    let t = db().await;
    let s = &t.store;
    let u = crate::user(s, "erin").await;
    let exp = Timestamp::from_millis(T0.as_millis() + 60_000);
    s.create_session("h", u.id, T0, exp, None).await.unwrap();
    let sess = s.session("h").await.unwrap().unwrap();
    assert_eq!(sess.user_id, u.id);
    assert!(sess.is_valid_at(T0));
    assert!(!sess.is_valid_at(exp), "expired at its expiry instant");
    assert!(s.session("other").await.unwrap().is_none());

    assert!(s.revoke_session("h", T0).await.unwrap());
    assert!(!s.revoke_session("h", T0).await.unwrap(), "second revoke is a no-op");
    assert!(!s.session("h").await.unwrap().unwrap().is_valid_at(T0));

    let purged = s.purge_sessions(Timestamp::from_millis(T0.as_millis() + 1)).await.unwrap();
    assert_eq!(purged, 1);
    assert!(s.session("h").await.unwrap().is_none());
    t.cleanup().await;
}

#[tokio::test]
async fn audit_entries_are_appended_in_order() {
    let t = db().await;
    let s = &t.store;
    for (i, outcome) in [AuditOutcome::Failure, AuditOutcome::Success].into_iter().enumerate() {
        s.audit(&NewAuditEntry {
            at: Timestamp::from_millis(T0.as_millis() + i as i64),
            actor_id: None,
            actor_name: "admin".into(),
            action: "auth.login".into(),
            target: "admin".into(),
            outcome,
            client_ip: Some("10.0.0.1".into()),
            detail: serde_json::json!({ "reason": i }),
        })
        .await
        .unwrap();
    }
    let page = s.list_audit(&PageRequest::default()).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].outcome, AuditOutcome::Failure);
    assert_eq!(page.items[1].outcome, AuditOutcome::Success);
    assert_eq!(page.items[1].detail, serde_json::json!({ "reason": 1 }));
    assert_eq!(page.items[0].client_ip.as_deref(), Some("10.0.0.1"));
    t.cleanup().await;
}
