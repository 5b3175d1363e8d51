use crate::{T0, db, new_user};
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::{QueueId, Role};
use kefu_store::{
    NewQueue, NewSkill, NewTeam, PageRequest, QueuePatch, QueueSkill, SkillPatch, StoreError, TeamPatch, UserSkill,
};

fn queue(name: &str, skills: Vec<QueueSkill>) -> NewQueue {
    NewQueue {
        name: name.into(),
        description: "投诉".into(),
        strategy: QueueStrategy::SkillWeighted,
        targets: ServiceTargets::default(),
        skills,
        overflow: vec![],
    }
}

#[tokio::test]
async fn queues_with_skills_round_trip() {
    let t = db().await;
    let s = &t.store;
    let a = s.create_skill(&NewSkill { name: "complaints".into(), description: "投诉".into() }, T0).await.unwrap();
    let b = s.create_skill(&NewSkill { name: "vip".into(), description: String::new() }, T0).await.unwrap();
    let qs = vec![
        QueueSkill { skill_id: a.id, min_proficiency: Proficiency::new(5).unwrap() },
        QueueSkill { skill_id: b.id, min_proficiency: Proficiency::new(1).unwrap() },
    ];
    let q = s.create_queue(&queue("complaints", qs.clone()), T0).await.unwrap();
    assert_eq!(q.strategy, QueueStrategy::SkillWeighted);
    assert_eq!(q.targets, ServiceTargets::default());
    let mut got = q.skills.clone();
    got.sort_by_key(|s| s.skill_id);
    let mut want = qs.clone();
    want.sort_by_key(|s| s.skill_id);
    assert_eq!(got, want);

    let targets = ServiceTargets { service_level_secs: 30, service_level_pct: 90.0, ..Default::default() };
    let q2 = s
        .update_queue(
            q.id,
            &QueuePatch {
                strategy: Some(QueueStrategy::RingAll),
                targets: Some(targets),
                skills: Some(vec![qs[0]]),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(q2.strategy, QueueStrategy::RingAll);
    assert_eq!(q2.targets, targets);
    assert_eq!(q2.skills, vec![qs[0]]);
    assert_eq!(q2.name, "complaints");

    let listed = s.list_queues(&PageRequest::default()).await.unwrap();
    assert_eq!(listed.items, vec![q2.clone()]);
    s.delete_queue(q.id).await.unwrap();
    assert!(matches!(s.queue(q.id).await, Err(StoreError::NotFound { what: "queue", .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn names_are_unique_per_kind() {
    let t = db().await;
    let s = &t.store;
    s.create_team(&NewTeam { name: "A".into() }, T0).await.unwrap();
    let e = s.create_team(&NewTeam { name: "A".into() }, T0).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m == "a team named `A` already exists"), "{e}");
    s.create_skill(&NewSkill { name: "A".into(), description: String::new() }, T0).await.unwrap();
    let e = s.create_skill(&NewSkill { name: "A".into(), description: String::new() }, T0).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    s.create_queue(&queue("A", vec![]), T0).await.unwrap();
    let e = s.create_queue(&queue("A", vec![]), T0).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    // renaming onto a taken name is a conflict too
    let b = s.create_team(&NewTeam { name: "B".into() }, T0).await.unwrap();
    let e = s.update_team(b.id, &TeamPatch { name: Some("A".into()) }, T0).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    t.cleanup().await;
}

#[tokio::test]
async fn skills_in_use_and_teams_with_members_cannot_be_deleted() {
    let t = db().await;
    let s = &t.store;
    let team = s.create_team(&NewTeam { name: "T".into() }, T0).await.unwrap();
    let sk = s.create_skill(&NewSkill { name: "after-sales".into(), description: String::new() }, T0).await.unwrap();
    let mut n = new_user("1002", Role::Agent);
    n.team_id = Some(team.id);
    n.skills = vec![UserSkill { skill_id: sk.id, proficiency: Proficiency::new(4).unwrap() }];
    let u = s.create_user(&n, T0).await.unwrap();

    let e = s.delete_skill(sk.id).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("still held")), "{e}");
    let e = s.delete_team(team.id).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("still has members")), "{e}");

    s.delete_user(u.id).await.unwrap();
    s.delete_skill(sk.id).await.unwrap();
    s.delete_team(team.id).await.unwrap();
    assert!(matches!(s.delete_team(team.id).await, Err(StoreError::NotFound { .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn duplicate_or_unknown_queue_skills_are_rejected_atomically() {
    let t = db().await;
    let s = &t.store;
    let sk = s.create_skill(&NewSkill { name: "x".into(), description: String::new() }, T0).await.unwrap();
    let one = QueueSkill { skill_id: sk.id, min_proficiency: Proficiency::new(2).unwrap() };
    let e = s.create_queue(&queue("dup", vec![one, one]), T0).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.contains("listed twice")), "{e}");
    let ghost = QueueSkill { skill_id: kefu_core::SkillId::from_uuid(kefu_store::new_uuid()), ..one };
    let e = s.create_queue(&queue("ghost", vec![one, ghost]), T0).await.unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.contains("does not exist")), "{e}");
    assert!(s.list_queues(&PageRequest::default()).await.unwrap().items.is_empty(), "no half-written queue");
    t.cleanup().await;
}

#[tokio::test]
async fn skill_rename_and_unknown_ids() {
    let t = db().await;
    let s = &t.store;
    let sk = s.create_skill(&NewSkill { name: "old".into(), description: "d".into() }, T0).await.unwrap();
    let sk2 = s.update_skill(sk.id, &SkillPatch { name: Some("new".into()), description: None }, T0).await.unwrap();
    assert_eq!((sk2.name.as_str(), sk2.description.as_str()), ("new", "d"));
    let missing = QueueId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.update_queue(missing, &QueuePatch::default(), T0).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(s.delete_queue(missing).await, Err(StoreError::NotFound { .. })));
    t.cleanup().await;
}
