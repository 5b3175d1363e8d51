use crate::{T0, db};
use kefu_core::Timestamp;
use kefu_core::ivr::{Flow, Language, Node};
use kefu_store::{PageRequest, StoreError};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn flow(name: &str) -> Flow {
    Flow::from_yaml(&format!(
        r#"
name: {name}
language: en
start: welcome
survey: post
nodes:
  welcome: {{ type: play, prompts: [welcome, {{ say: digits, value: "{{dialled}}" }}], next: menu }}
  menu:
    type: menu
    prompts: [menu_main]
    options: {{ "1": sales, "2": support }}
    default: sales
  sales: {{ type: queue, queue: product, priority: 3 }}
  support: {{ type: condition, rules: [{{ when: {{ var: caller, less_than: 2.5 }}, next: sales }}], default: vm }}
  vm: {{ type: voicemail, queue: after_sales }}
  post: {{ type: survey, questions: [{{ id: overall, prompts: [survey_q1] }}] }}
"#
    ))
    .unwrap()
}

fn nums(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn a_flow_round_trips_and_each_save_bumps_the_version() {
    let t = db().await;
    let s = &t.store;
    let f = flow("hotline");
    let (row, created) = s.save_flow(&f, &nums(&["4000", "4001"]), T0).await.unwrap();
    assert!(created);
    assert_eq!((row.name.as_str(), row.language, row.version), ("hotline", Language::En, 1));
    assert_eq!(row.flow, f);
    assert_eq!(row.numbers, nums(&["4000", "4001"]));
    assert_eq!((row.created_at, row.updated_at), (T0, T0));
    assert_eq!(s.flow_by_name("hotline").await.unwrap().as_ref(), Some(&row));

    // a new definition under the same name replaces it: same id, version 2, new numbers
    let mut f2 = f.clone();
    f2.language = Language::ZhCn;
    f2.nodes.insert("sales".into(), Node::Queue { queue: "complaints".into(), priority: None, skills: vec![] });
    let (row2, created) = s.save_flow(&f2, &nums(&["4002"]), at(5)).await.unwrap();
    assert!(!created);
    assert_eq!((row2.id, row2.version, row2.language), (row.id, 2, Language::ZhCn));
    assert_eq!((row2.created_at, row2.updated_at), (T0, at(5)));
    assert_eq!(row2.flow, f2);
    assert_eq!(row2.numbers, nums(&["4002"]));
    assert_eq!(s.flow_by_name("hotline").await.unwrap().as_ref(), Some(&row2));
    // saving the same definition again still counts as a save
    let (row3, created) = s.save_flow(&f2, &nums(&["4002"]), at(6)).await.unwrap();
    assert_eq!((created, row3.version), (false, 3));
    t.cleanup().await;
}

#[tokio::test]
async fn a_number_starts_one_flow() {
    let t = db().await;
    let s = &t.store;
    let (a, _) = s.save_flow(&flow("a"), &nums(&["4000", "4001"]), T0).await.unwrap();
    assert_eq!(s.flow_for_number("4000").await.unwrap().map(|r| r.id), Some(a.id));
    assert_eq!(s.flow_for_number("4001").await.unwrap().map(|r| r.id), Some(a.id));
    assert!(s.flow_for_number("40").await.unwrap().is_none(), "exact numbers only");
    assert!(s.flow_for_number("9999").await.unwrap().is_none());

    // another flow may not take a's number: the conflict names both, and nothing is saved
    let err = s.save_flow(&flow("b"), &nums(&["4002", "4001"]), at(1)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("`4001`") && m.contains("`a`")), "{err}");
    assert!(s.flow_by_name("b").await.unwrap().is_none(), "b was not created");
    assert!(s.flow_for_number("4002").await.unwrap().is_none());
    // … nor when b exists already: b stays as it was
    let (b, _) = s.save_flow(&flow("b"), &nums(&["4002"]), at(2)).await.unwrap();
    let err = s.save_flow(&flow("b"), &nums(&["4000"]), at(3)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("`4000`") && m.contains("`a`")), "{err}");
    assert_eq!(s.flow_by_name("b").await.unwrap().as_ref(), Some(&b), "unchanged, version 1");
    assert_eq!(s.flow_for_number("4002").await.unwrap().map(|r| r.id), Some(b.id));

    // a flow keeps its own numbers across saves, and gives up those it no longer lists
    let (a2, _) = s.save_flow(&flow("a"), &nums(&["4001"]), at(4)).await.unwrap();
    assert_eq!(a2.version, 2);
    assert!(s.flow_for_number("4000").await.unwrap().is_none());
    let (b2, _) = s.save_flow(&flow("b"), &nums(&["4002", "4000"]), at(5)).await.unwrap();
    assert_eq!(s.flow_for_number("4000").await.unwrap().map(|r| r.id), Some(b2.id));

    // the same number twice in one list is refused
    let err = s.save_flow(&flow("c"), &nums(&["5000", "5000"]), at(6)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("`5000`")), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn unknown_flows_listing_and_delete() {
    let t = db().await;
    let s = &t.store;
    assert!(s.flow_by_name("nope").await.unwrap().is_none());
    let err = s.delete_flow("nope").await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound { what: "IVR flow", id } if id == "nope"), "{err}");

    for (i, name) in ["one", "two", "three"].into_iter().enumerate() {
        let n = format!("400{i}");
        s.save_flow(&flow(name), &[n], at(i as i64)).await.unwrap();
    }
    let first = s.list_flows(&PageRequest { limit: Some(2), cursor: None }).await.unwrap();
    assert_eq!(first.items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["one", "two"], "creation order");
    let rest = s.list_flows(&PageRequest { limit: Some(2), cursor: first.next_cursor.clone() }).await.unwrap();
    assert_eq!(rest.items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["three"]);
    assert!(rest.next_cursor.is_none());

    // deleting frees the flow's numbers for another flow
    s.delete_flow("two").await.unwrap();
    assert!(s.flow_by_name("two").await.unwrap().is_none());
    assert!(s.flow_for_number("4001").await.unwrap().is_none());
    assert!(matches!(s.delete_flow("two").await.unwrap_err(), StoreError::NotFound { .. }));
    s.save_flow(&flow("four"), &nums(&["4001"]), at(9)).await.unwrap();
    assert_eq!(s.flow_for_number("4001").await.unwrap().unwrap().name, "four");
    let all = s.list_flows(&PageRequest::default()).await.unwrap();
    assert_eq!(all.items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["one", "three", "four"]);
    t.cleanup().await;
}

#[tokio::test]
async fn a_definition_that_would_not_read_back_is_refused() {
    let t = db().await;
    let s = &t.store;
    // YAML can say NaN, JSON cannot: stored, the test would change
    let mut f = flow("nan");
    f.nodes.insert(
        "support".into(),
        Flow::from_yaml("name: x\nstart: c\nnodes:\n  c: { type: condition, rules: [{ when: { var: caller, less_than: .nan }, next: c }], default: c }\n")
            .unwrap()
            .nodes
            .remove("c")
            .unwrap(),
    );
    let err = s.save_flow(&f, &nums(&["4000"]), T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("`nan`")), "{err}");
    assert!(s.flow_by_name("nan").await.unwrap().is_none());
    assert!(s.flow_for_number("4000").await.unwrap().is_none());
    t.cleanup().await;
}
