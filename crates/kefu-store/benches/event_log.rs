//! Event-log append throughput: batched (one transaction per 1,000 events) and one event per
//! transaction, on SQLite (`sqlite_synchronous` full and normal) — and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.
//!
//! `cargo bench -p kefu-store --bench event_log`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kefu_core::event::{Event, EventKind};
use kefu_core::{EventId, InteractionId, QueueId, Timestamp, UserId};
use kefu_store::testing::TestDb;
use kefu_store::{SqliteSync, Store};

/// Events arrive in time order, as they do in a running center.
static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_790_000_000_000);

fn events(n: usize) -> Vec<Event> {
    let start = CLOCK.fetch_add(n as i64, std::sync::atomic::Ordering::Relaxed);
    let agent = UserId::from_uuid(kefu_store::new_uuid());
    let queue = QueueId::from_uuid(kefu_store::new_uuid());
    (0..n)
        .map(|i| {
            let mut e = Event::new(
                EventId::from_uuid(kefu_store::new_uuid()),
                Timestamp::from_millis(start + i as i64),
                if i % 2 == 0 { EventKind::SessionOpened } else { EventKind::SessionClosed },
            );
            e.agent = Some(agent);
            e.queue = Some(queue);
            e.interaction = Some(InteractionId::from_uuid(kefu_store::new_uuid()));
            e.data = serde_json::json!({ "wait_ms": i * 37 % 20_000, "position": i % 12, "ivr_path": ["welcome", "menu", "1"] });
            e
        })
        .collect()
}

fn bench_store(c: &mut Criterion, label: &str, rt: &tokio::runtime::Runtime, store: &Store) {
    let mut g = c.benchmark_group(format!("event_append/{label}"));
    g.sample_size(20);
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("batch_1000", |b| {
        b.iter_batched(
            || events(1_000),
            |batch| rt.block_on(store.append_events(&batch)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("single", |b| {
        b.iter_batched(|| events(1), |one| rt.block_on(store.append_events(&one)).unwrap(), BatchSize::SmallInput)
    });
    g.finish();
}

fn appends(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for (label, sync) in [("sqlite_full", SqliteSync::Full), ("sqlite_normal", SqliteSync::Normal)] {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = TestDb::sqlite_options(dir.path());
        opts.sqlite_sync = sync;
        let store = rt.block_on(async {
            let s = Store::open(&opts).await.unwrap();
            s.migrate().await.unwrap();
            s
        });
        bench_store(c, label, &rt, &store);
        rt.block_on(store.close());
    }
    if std::env::var(kefu_store::testing::TEST_DATABASE_URL).is_ok_and(|v| !v.is_empty()) {
        let db = rt.block_on(TestDb::new()).unwrap();
        bench_store(c, "postgres", &rt, &db.store);
        rt.block_on(db.cleanup());
    }
}

criterion_group!(benches, appends);
criterion_main!(benches);
