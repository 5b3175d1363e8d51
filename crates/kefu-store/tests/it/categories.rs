use crate::tickets::{fixture, new_ticket, sample_tree};
use crate::{T0, db};
use kefu_core::Timestamp;
use kefu_core::service::category::{CategoryTree, SlaTargets};
use kefu_core::service::ticket::{Priority, TicketType};
use kefu_store::{CategoryDefaults, CategoryPatch, NewCategory, NewTeam, StoreError};
use std::collections::HashMap;

fn later(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn defaults(team: kefu_core::TeamId) -> CategoryDefaults {
    CategoryDefaults {
        ticket_type: TicketType::Suggestion,
        priority: Priority::P4,
        team_id: team,
        sla: SlaTargets {
            first_response_mins: 60,
            update_every_mins: None,
            resolution_mins: 600,
            business_hours: true,
        },
        solutions: vec!["记录建议".into()],
    }
}

#[tokio::test]
async fn import_then_export_round_trips_and_reimport_changes_nothing() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let exported = s.export_categories().await.unwrap();
    assert_eq!(exported, sample_tree());
    let tree = s.category_tree().await.unwrap();
    let paths: Vec<&str> = tree.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "咨询",
            "咨询/产品功能",
            "咨询/产品功能/使用方法",
            "咨询/产品功能/价格",
            "咨询/物流查询",
            "售后",
            "售后/产品质量",
            "售后/产品质量/不新鲜"
        ]
    );
    let leaf = tree.iter().find(|c| c.path == "售后/产品质量/不新鲜").unwrap();
    assert_eq!(leaf.level, 3);
    assert_eq!(leaf.team_name.as_deref(), Some("售后部"));
    let d = leaf.defaults.as_ref().unwrap();
    assert_eq!((d.ticket_type, d.priority, d.team_id), (TicketType::Complaint, Priority::P1, fx.team_b.id));
    assert!(d.sla.business_hours);
    assert!(tree.iter().find(|c| c.path == "售后").unwrap().defaults.is_none());

    // importing the same tree again keeps every id and creates nothing
    let again = s.import_categories(&sample_tree(), &fx.teams, later(1)).await.unwrap();
    assert_eq!((again.created, again.updated, again.deactivated, again.deleted), (0, 8, 0, 0));
    let ids_before: Vec<_> = tree.iter().map(|c| c.id).collect();
    let ids_after: Vec<_> = s.category_tree().await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(ids_before, ids_after);
    tdb.cleanup().await;
}

#[tokio::test]
async fn an_import_with_problems_changes_nothing() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let mut tree = sample_tree();
    tree.categories[0].children[1].defaults.as_mut().unwrap().group = "没有这个组".into();
    tree.categories.push(serde_json::from_value(serde_json::json!({"name": "新的", "children": []})).unwrap());
    let err = s.import_categories(&tree, &fx.teams, later(1)).await.unwrap_err();
    let StoreError::Invalid(msg) = err else { panic!("expected invalid, got {err:?}") };
    assert!(msg.contains("咨询/物流查询: unknown group `没有这个组`"), "{msg}");
    assert!(msg.contains("新的"), "{msg}");
    assert_eq!(s.export_categories().await.unwrap(), sample_tree());
    tdb.cleanup().await;
}

#[tokio::test]
async fn nodes_left_out_of_an_import_are_deactivated_when_used_and_deleted_otherwise() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let used = fx.leaf("咨询/产品功能/使用方法").await;
    let unused = fx.leaf("咨询/产品功能/价格").await;
    s.create_ticket(&new_ticket(&fx, used.id), 480).await.unwrap();

    // a tree without the whole 咨询 branch
    let mut smaller = sample_tree();
    smaller.categories.remove(0);
    let summary = s.import_categories(&smaller, &fx.teams, later(1)).await.unwrap();
    // 使用方法 is used: it stays (inactive) and so do its ancestors; 价格 and 物流查询 go
    assert_eq!((summary.created, summary.updated, summary.deactivated, summary.deleted), (0, 3, 3, 2));
    let tree = s.category_tree().await.unwrap();
    assert!(tree.iter().all(|c| c.id != unused.id));
    let kept = tree.iter().find(|c| c.id == used.id).unwrap();
    assert!(!kept.active);
    assert!(!tree.iter().find(|c| c.path == "咨询").unwrap().active);
    assert_eq!(s.export_categories().await.unwrap(), smaller);
    // no new orders in an inactive category
    let err = s.create_ticket(&new_ticket(&fx, used.id), 480).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("inactive")), "{err:?}");
    // deleting it is refused: deactivate instead
    assert!(matches!(s.delete_category(used.id).await, Err(StoreError::Conflict(m)) if m.contains("deactivate")));

    // importing the full tree again brings the same node back to life
    let summary = s.import_categories(&sample_tree(), &fx.teams, later(2)).await.unwrap();
    assert_eq!((summary.created, summary.updated), (2, 6));
    let back = s.category(used.id).await.unwrap();
    assert!(back.active);
    assert_eq!(s.export_categories().await.unwrap(), sample_tree());
    tdb.cleanup().await;
}

#[tokio::test]
async fn single_node_edits_follow_the_tree_rules() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let root = s
        .create_category(&NewCategory { parent_id: None, name: "建议".into(), position: None, defaults: None }, T0)
        .await
        .unwrap();
    assert_eq!((root.level, root.path.as_str(), root.position), (1, "建议", 2));
    let mid = s
        .create_category(
            &NewCategory { parent_id: Some(root.id), name: "产品".into(), position: None, defaults: None },
            T0,
        )
        .await
        .unwrap();
    let leaf = s
        .create_category(
            &NewCategory {
                parent_id: Some(mid.id),
                name: "包装".into(),
                position: None,
                defaults: Some(defaults(fx.team_a.id)),
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!((leaf.level, leaf.path.as_str()), (3, "建议/产品/包装"));
    assert!(leaf.takes_orders());

    // a fourth level, a child under a leaf with defaults, a duplicate name, a bad name
    let under =
        |parent, name: &str| NewCategory { parent_id: Some(parent), name: name.into(), position: None, defaults: None };
    assert!(
        matches!(s.create_category(&under(leaf.id, "x"), T0).await, Err(StoreError::Invalid(m)) if m.contains("at most 3 levels"))
    );
    let leaf2 = s
        .create_category(
            &NewCategory {
                parent_id: Some(root.id),
                name: "服务".into(),
                position: None,
                defaults: Some(defaults(fx.team_a.id)),
            },
            T0,
        )
        .await
        .unwrap();
    assert!(
        matches!(s.create_category(&under(leaf2.id, "x"), T0).await, Err(StoreError::Invalid(m)) if m.contains("leaf with defaults"))
    );
    assert!(matches!(s.create_category(&under(mid.id, "包装"), T0).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.create_category(&under(mid.id, "a/b"), T0).await, Err(StoreError::Invalid(_))));
    let mut bad = defaults(fx.team_a.id);
    bad.sla.resolution_mins = 1;
    let err = s
        .create_category(
            &NewCategory { parent_id: Some(mid.id), name: "坏".into(), position: None, defaults: Some(bad) },
            T0,
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("resolution_mins")), "{err:?}");

    // moving 产品 (two levels) under a level-2 node would make four levels; under 售后 is fine
    let after_sales = fx.node("售后").await;
    let deep = fx.node("售后/产品质量").await;
    let mv = |p| CategoryPatch { parent_id: Some(Some(p)), ..CategoryPatch::default() };
    assert!(
        matches!(s.update_category(mid.id, &mv(deep.id), later(1)).await, Err(StoreError::Invalid(m)) if m.contains("deeper"))
    );
    assert!(matches!(s.update_category(root.id, &mv(leaf.id), later(1)).await, Err(StoreError::Invalid(_))));
    let moved = s.update_category(mid.id, &mv(after_sales.id), later(1)).await.unwrap();
    assert_eq!((moved.level, moved.path.as_str()), (2, "售后/产品"));
    assert_eq!(s.category(leaf.id).await.unwrap().path, "售后/产品/包装");

    // defaults only on nodes without children
    let set_defaults = CategoryPatch { defaults: Some(Some(defaults(fx.team_a.id))), ..CategoryPatch::default() };
    assert!(
        matches!(s.update_category(mid.id, &set_defaults, later(2)).await, Err(StoreError::Invalid(m)) if m.contains("sub-categories"))
    );
    let renamed = s
        .update_category(
            leaf.id,
            &CategoryPatch { name: Some("包装破损".into()), ..CategoryPatch::default() },
            later(2),
        )
        .await
        .unwrap();
    assert_eq!(renamed.path, "售后/产品/包装破损");

    // deactivating a branch deactivates what is below; reactivation needs an active parent
    let off = CategoryPatch { active: Some(false), ..CategoryPatch::default() };
    s.update_category(mid.id, &off, later(3)).await.unwrap();
    assert!(!s.category(leaf.id).await.unwrap().active);
    let on = CategoryPatch { active: Some(true), ..CategoryPatch::default() };
    assert!(
        matches!(s.update_category(leaf.id, &on, later(4)).await, Err(StoreError::Invalid(m)) if m.contains("reactivate it first"))
    );
    s.update_category(mid.id, &on, later(4)).await.unwrap();
    assert!(s.update_category(leaf.id, &on, later(4)).await.unwrap().active);

    // deleting: not with children, fine for an unused leaf
    assert!(matches!(s.delete_category(mid.id).await, Err(StoreError::Conflict(m)) if m.contains("sub-categories")));
    s.delete_category(leaf.id).await.unwrap();
    assert!(matches!(s.delete_category(leaf.id).await, Err(StoreError::NotFound { .. })));
    s.delete_category(mid.id).await.unwrap();
    tdb.cleanup().await;
}

#[tokio::test]
async fn an_empty_database_exports_an_empty_tree() {
    let tdb = db().await;
    let team = tdb.store.create_team(&NewTeam { name: "x".into() }, T0).await.unwrap();
    assert_eq!(tdb.store.export_categories().await.unwrap(), CategoryTree::default());
    let teams = HashMap::from([("x".to_owned(), team.id)]);
    let s = tdb.store.import_categories(&CategoryTree::default(), &teams, T0).await.unwrap();
    assert_eq!((s.created, s.deleted), (0, 0));
    tdb.cleanup().await;
}
