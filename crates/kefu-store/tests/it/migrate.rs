use crate::db;

#[tokio::test]
async fn migrations_are_recorded_and_idempotent() {
    let t = db().await;
    t.store.migrate().await.unwrap();
    t.store.migrate().await.unwrap();
    let status = t.store.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(status.iter().all(|(_, _, applied)| *applied), "{status:?}");
    t.store.ping().await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn reopening_keeps_data() {
    let t = db().await;
    crate::user(&t.store, "persisted").await;
    t.store.close().await;
    let reopened = kefu_store::Store::open(&t.options).await.unwrap();
    reopened.migrate().await.unwrap();
    let u = reopened.user_by_username("persisted").await.unwrap();
    assert_eq!(u.username, "persisted");
    reopened.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn unsupported_url_scheme_is_a_clear_error() {
    let opts = kefu_store::StoreOptions {
        database_url: Some("mysql://localhost/x".into()),
        data_dir: std::env::temp_dir(),
        max_connections: 1,
        sqlite_sync: kefu_store::SqliteSync::Full,
        field_key: None,
    };
    let err = kefu_store::Store::open(&opts).await.unwrap_err();
    assert!(err.to_string().contains("unsupported database URL scheme `mysql`"), "{err}");
}
