use crate::{T0, db};
use kefu_core::event::{Event, EventKind};
use kefu_core::{EventId, InteractionId, QueueId, Timestamp, UserId};
use kefu_store::{EventQuery, PageRequest, StoreError};

fn ev(at_offset: i64, kind: EventKind) -> Event {
    let mut e = Event::new(
        EventId::from_uuid(kefu_store::new_uuid()),
        Timestamp::from_millis(T0.as_millis() + at_offset),
        kind,
    );
    e.data = serde_json::json!({ "n": at_offset, "名字": "张三" });
    e
}

#[tokio::test]
async fn append_and_query_by_time_and_kind() {
    let t = db().await;
    let s = &t.store;
    let agent = UserId::from_uuid(kefu_store::new_uuid());
    let mut events: Vec<Event> = (0..10)
        .map(|i| ev(i * 1000, if i % 2 == 0 { EventKind::SessionOpened } else { EventKind::SessionClosed }))
        .collect();
    events[3].agent = Some(agent);
    events[3].queue = Some(QueueId::from_uuid(kefu_store::new_uuid()));
    let call = InteractionId::from_uuid(kefu_store::new_uuid());
    events[5].interaction = Some(call);
    events[8].interaction = Some(call);
    s.append_events(&events).await.unwrap();
    assert_eq!(s.count_events().await.unwrap(), 10);

    let all = s.query_events(&EventQuery::default()).await.unwrap();
    assert_eq!(all.items, events, "round trip keeps every field, in time order");

    let q = EventQuery {
        since: Some(Timestamp::from_millis(T0.as_millis() + 2000)),
        until: Some(Timestamp::from_millis(T0.as_millis() + 7000)),
        kinds: vec![EventKind::SessionClosed],
        ..Default::default()
    };
    let got = s.query_events(&q).await.unwrap();
    let offsets: Vec<i64> = got.items.iter().map(|e| e.at.millis_since(T0)).collect();
    assert_eq!(offsets, vec![3000, 5000], "since inclusive, until exclusive, kind filtered");

    let by_agent = s.query_events(&EventQuery { agent: Some(agent), ..Default::default() }).await.unwrap();
    assert_eq!(by_agent.items, vec![events[3].clone()]);
    let by_call = s.query_events(&EventQuery { interaction: Some(call), ..Default::default() }).await.unwrap();
    assert_eq!(by_call.items, vec![events[5].clone(), events[8].clone()], "a call's story, in order");
    t.cleanup().await;
}

#[tokio::test]
async fn paging_through_events_sees_each_once_even_with_equal_times() {
    let t = db().await;
    let s = &t.store;
    // 25 events, many sharing a timestamp, appended out of time order
    let mut events: Vec<Event> = (0..25).map(|i| ev((i % 4) * 10, EventKind::SessionOpened)).collect();
    s.append_events(&events).await.unwrap();
    let mut seen = Vec::new();
    let mut page = PageRequest { limit: Some(4), cursor: None };
    loop {
        let got = s.query_events(&EventQuery { page: page.clone(), ..Default::default() }).await.unwrap();
        seen.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    events.sort_by_key(|e| (e.at, e.id));
    assert_eq!(seen, events);
    t.cleanup().await;
}

#[tokio::test]
async fn big_batches_span_several_statements_atomically() {
    let t = db().await;
    let s = &t.store;
    let batch: Vec<Event> = (0..1_000).map(|i| ev(i, EventKind::SessionOpened)).collect();
    s.append_events(&batch).await.unwrap();
    assert_eq!(s.count_events().await.unwrap(), 1_000);

    // a batch whose last statement fails (a duplicate id) stores none of its rows
    let mut bad: Vec<Event> = (0..900).map(|i| ev(i, EventKind::SessionClosed)).collect();
    bad.push(batch[0].clone());
    let err = s.append_events(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.count_events().await.unwrap(), 1_000, "nothing of the failed batch is visible");
    t.cleanup().await;
}

#[tokio::test]
async fn malformed_cursor_is_invalid() {
    let t = db().await;
    let q = EventQuery { page: PageRequest { limit: None, cursor: Some("garbage".into()) }, ..Default::default() };
    let err = t.store.query_events(&q).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("malformed event cursor")), "{err}");
    t.cleanup().await;
}
