use crate::{T0, db, new_user};
use kefu_core::org::Proficiency;
use kefu_core::{Role, Timestamp, UserId};
use kefu_store::{NewSkill, NewTeam, PageRequest, StoreError, UserPatch, UserSkill};

#[tokio::test]
async fn create_read_update_delete_user() {
    let t = db().await;
    let s = &t.store;
    let team = s.create_team(&NewTeam { name: "Team A".into() }, T0).await.unwrap();
    let skill = s.create_skill(&NewSkill { name: "complaints".into(), description: String::new() }, T0).await.unwrap();
    let mut n = new_user("1001", Role::Agent);
    n.team_id = Some(team.id);
    n.extension = Some("1001".into());
    n.skills = vec![UserSkill { skill_id: skill.id, proficiency: Proficiency::new(7).unwrap() }];
    let u = s.create_user(&n, T0).await.unwrap();
    assert_eq!(u.username, "1001");
    assert_eq!(u.role, Role::Agent);
    assert!(u.enabled);
    assert_eq!(u.team_id, Some(team.id));
    assert_eq!(u.skills, n.skills);
    assert_eq!(u.created_at, T0);

    let (by_name, hash) = s.user_credentials("1001").await.unwrap().unwrap();
    assert_eq!(by_name.id, u.id);
    assert_eq!(hash, n.password_hash);
    assert!(s.user_credentials("nobody").await.unwrap().is_none());

    let later = Timestamp::from_millis(T0.as_millis() + 1000);
    let patch = UserPatch {
        display_name: Some("Zhang Wei 张伟".into()),
        role: Some(Role::TeamLead),
        team_id: Some(None),
        skills: Some(vec![]),
        ..UserPatch::default()
    };
    let u2 = s.update_user(u.id, &patch, later).await.unwrap();
    assert_eq!(u2.display_name, "Zhang Wei 张伟");
    assert_eq!(u2.role, Role::TeamLead);
    assert_eq!(u2.team_id, None);
    assert!(u2.skills.is_empty());
    assert_eq!(u2.extension.as_deref(), Some("1001"), "untouched field kept");
    assert_eq!(u2.updated_at, later);

    s.delete_user(u.id).await.unwrap();
    assert!(matches!(s.user(u.id).await, Err(StoreError::NotFound { what: "user", .. })));
    assert!(matches!(s.delete_user(u.id).await, Err(StoreError::NotFound { .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn duplicate_username_and_extension_are_conflicts() {
    let t = db().await;
    let s = &t.store;
    let mut a = new_user("alice", Role::Agent);
    a.extension = Some("1001".into());
    s.create_user(&a, T0).await.unwrap();

    let err = s.create_user(&new_user("alice", Role::Admin), T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("`alice` already exists")), "{err}");

    let mut b = new_user("bob", Role::Agent);
    b.extension = Some("1001".into());
    let err = s.create_user(&b, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("extension `1001`")), "{err}");
    // nothing half-written: bob does not exist
    assert!(s.user_credentials("bob").await.unwrap().is_none());
    assert_eq!(s.count_users().await.unwrap(), 1);
    t.cleanup().await;
}

#[tokio::test]
async fn unknown_team_or_skill_is_invalid_and_writes_nothing() {
    let t = db().await;
    let s = &t.store;
    let mut n = new_user("carol", Role::Agent);
    n.team_id = Some(kefu_core::TeamId::from_uuid(kefu_store::new_uuid()));
    let err = s.create_user(&n, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("team")), "{err}");

    let mut n = new_user("carol", Role::Agent);
    n.skills = vec![UserSkill {
        skill_id: kefu_core::SkillId::from_uuid(kefu_store::new_uuid()),
        proficiency: Proficiency::new(3).unwrap(),
    }];
    let err = s.create_user(&n, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("does not exist")), "{err}");
    assert_eq!(s.count_users().await.unwrap(), 0, "the user row was rolled back with the skill");
    t.cleanup().await;
}

#[tokio::test]
async fn users_page_through_with_cursor() {
    let t = db().await;
    let s = &t.store;
    for i in 0..7 {
        crate::user(s, &format!("agent{i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_users(&PageRequest { limit: Some(3), cursor: cursor.clone() }).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|u| u.username.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("agent{i}")).collect::<Vec<_>>());
    t.cleanup().await;
}

#[tokio::test]
async fn disabling_a_user_revokes_their_sessions() {
    let t = db().await;
    let s = &t.store;
    let u = crate::user(s, "dave").await;
    let exp = Timestamp::from_millis(T0.as_millis() + 3_600_000);
    s.create_session("hash-1", u.id, T0, exp, Some("127.0.0.1")).await.unwrap();
    assert!(s.session("hash-1").await.unwrap().unwrap().is_valid_at(T0));
    s.update_user(u.id, &UserPatch { enabled: Some(false), ..Default::default() }, T0).await.unwrap();
    let sess = s.session("hash-1").await.unwrap().unwrap();
    assert!(!sess.is_valid_at(T0));
    assert!(!s.user(u.id).await.unwrap().enabled);
    t.cleanup().await;
}

#[tokio::test]
async fn updating_an_unknown_user_is_not_found() {
    let t = db().await;
    let missing = UserId::from_uuid(kefu_store::new_uuid());
    let err = t.store.update_user(missing, &UserPatch::default(), T0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "user", .. }));
    t.cleanup().await;
}

#[tokio::test]
async fn listed_users_carry_their_own_skills() {
    let t = db().await;
    let s = &t.store;
    let a = s.create_skill(&NewSkill { name: "a".into(), description: String::new() }, T0).await.unwrap();
    let b = s.create_skill(&NewSkill { name: "b".into(), description: String::new() }, T0).await.unwrap();
    let mut want = Vec::new();
    for (i, skills) in [vec![(a.id, 3)], vec![], vec![(a.id, 9), (b.id, 1)]].into_iter().enumerate() {
        let mut n = new_user(&format!("u{i}"), Role::Agent);
        n.skills = skills
            .iter()
            .map(|(id, l)| UserSkill { skill_id: *id, proficiency: Proficiency::new(*l).unwrap() })
            .collect();
        n.skills.sort_by_key(|k| k.skill_id);
        want.push(n.skills.clone());
        s.create_user(&n, T0).await.unwrap();
    }
    let first = s.list_users(&PageRequest { limit: Some(2), cursor: None }).await.unwrap();
    let rest = s.list_users(&PageRequest { limit: Some(2), cursor: first.next_cursor.clone() }).await.unwrap();
    let got: Vec<_> = first.items.iter().chain(&rest.items).map(|u| u.skills.clone()).collect();
    assert_eq!(got, want);
    t.cleanup().await;
}

#[tokio::test]
async fn a_token_resolves_to_its_user_in_one_step() {
    let t = db().await;
    let s = &t.store;
    let u = s.create_user(&new_user("lead", Role::TeamLead), T0).await.unwrap();
    let exp = Timestamp::from_millis(T0.as_millis() + 1000);
    s.create_session("tok", u.id, T0, exp, None).await.unwrap();
    let (session, who) = s.session_identity("tok").await.unwrap().unwrap();
    assert_eq!((session.user_id, session.expires_at), (u.id, exp));
    assert_eq!((who.id, who.username.as_str(), who.role, who.enabled), (u.id, "lead", Role::TeamLead, true));
    assert!(s.session_identity("other").await.unwrap().is_none());
    s.delete_user(u.id).await.unwrap();
    assert!(s.session_identity("tok").await.unwrap().is_none(), "sessions go with their user");
    t.cleanup().await;
}
