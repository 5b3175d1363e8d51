use crate::{T0, db, new_user};
use kefu_core::{RecordingId, Role, Timestamp, UserId};
use kefu_store::{
    NewRecording, NewTrunk, PageRequest, RecordingFilter, Secret, SipCredentials, StoreError, TrunkPatch,
    TrunkTransport, UserPatch,
};
use std::collections::BTreeMap;

fn creds(tag: &str) -> SipCredentials {
    SipCredentials { realm: "kefu".into(), ha1_md5: format!("md5-{tag}"), ha1_sha256: format!("sha-{tag}") }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

#[tokio::test]
async fn sip_credentials_follow_the_users_extension_and_password() {
    let t = db().await;
    let s = &t.store;
    let mut n = new_user("1001", Role::Agent);
    n.extension = Some("1001".into());
    n.sip = Some(creds("a"));
    let u = s.create_user(&n, T0).await.unwrap();

    let secret = s.sip_secret("1001").await.unwrap().unwrap();
    assert_eq!(
        (secret.user_id, secret.username.as_str(), secret.extension.as_str(), secret.realm.as_str()),
        (u.id, "1001", "1001", "kefu")
    );
    assert_eq!((secret.ha1_md5.as_str(), secret.ha1_sha256.as_str(), secret.enabled), ("md5-a", "sha-a", true));
    assert!(!format!("{secret:?}").contains("md5-a"), "Debug never shows a hash");
    assert!(s.sip_secret("1002").await.unwrap().is_none());

    // set directly (replaces), and disabled users are reported as such
    s.set_sip_credentials(u.id, "other", "m2", "s2", at(1)).await.unwrap();
    s.update_user(u.id, &UserPatch { enabled: Some(false), ..Default::default() }, at(2)).await.unwrap();
    let secret = s.sip_secret("1001").await.unwrap().unwrap();
    assert_eq!((secret.realm.as_str(), secret.ha1_md5.as_str(), secret.enabled), ("other", "m2", false));

    // a new password with new credentials replaces them in the same change
    let patch = UserPatch { password_hash: Some("h2".into()), sip: Some(creds("b")), ..Default::default() };
    s.update_user(u.id, &patch, at(3)).await.unwrap();
    assert_eq!(s.sip_secret("1001").await.unwrap().unwrap().ha1_md5, "md5-b");

    // a new extension without a password: the old hashes name the old extension, so they go
    let patch = UserPatch { extension: Some(Some("2001".into())), ..Default::default() };
    s.update_user(u.id, &patch, at(4)).await.unwrap();
    assert!(s.sip_secret("1001").await.unwrap().is_none());
    assert!(s.sip_secret("2001").await.unwrap().is_none());

    // new extension and password together
    let patch = UserPatch {
        extension: Some(Some("2002".into())),
        password_hash: Some("h3".into()),
        sip: Some(creds("c")),
        ..Default::default()
    };
    s.update_user(u.id, &patch, at(5)).await.unwrap();
    assert_eq!(s.sip_secret("2002").await.unwrap().unwrap().ha1_md5, "md5-c");

    // the same extension given again is no change; a new password alone drops the old hashes
    let patch = UserPatch { extension: Some(Some("2002".into())), ..Default::default() };
    s.update_user(u.id, &patch, at(6)).await.unwrap();
    assert!(s.sip_secret("2002").await.unwrap().is_some());
    let patch = UserPatch { password_hash: Some("h4".into()), ..Default::default() };
    s.update_user(u.id, &patch, at(7)).await.unwrap();
    assert!(s.sip_secret("2002").await.unwrap().is_none());

    // removing the extension removes them; credentials without an extension are refused
    s.set_sip_credentials(u.id, "kefu", "m", "s", at(8)).await.unwrap();
    assert!(s.delete_sip_credentials(u.id).await.unwrap());
    assert!(!s.delete_sip_credentials(u.id).await.unwrap());
    s.set_sip_credentials(u.id, "kefu", "m", "s", at(9)).await.unwrap();
    let patch = UserPatch { extension: Some(None), ..Default::default() };
    s.update_user(u.id, &patch, at(10)).await.unwrap();
    s.update_user(u.id, &UserPatch { extension: Some(Some("2002".into())), ..Default::default() }, at(11))
        .await
        .unwrap();
    assert!(s.sip_secret("2002").await.unwrap().is_none(), "credentials went with the extension");
    let patch = UserPatch { extension: Some(None), sip: Some(creds("d")), ..Default::default() };
    let err = s.update_user(u.id, &patch, at(12)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("need an extension")), "{err}");
    assert_eq!(s.user(u.id).await.unwrap().extension.as_deref(), Some("2002"), "nothing changed");

    let mut n = new_user("boss", Role::Admin);
    n.sip = Some(creds("e"));
    let err = s.create_user(&n, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("need an extension")), "{err}");

    let ghost = UserId::from_uuid(kefu_store::new_uuid());
    let err = s.set_sip_credentials(ghost, "kefu", "m", "s", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "user", .. }), "{err}");

    // deleting the user deletes the credentials
    s.set_sip_credentials(u.id, "kefu", "m", "s", at(13)).await.unwrap();
    s.delete_user(u.id).await.unwrap();
    assert!(s.sip_secret("2002").await.unwrap().is_none());
    assert!(!s.delete_sip_credentials(u.id).await.unwrap());
    t.cleanup().await;
}

#[tokio::test]
async fn a_failed_user_change_keeps_the_old_credentials() {
    let t = db().await;
    let s = &t.store;
    let mut a = new_user("a", Role::Agent);
    a.extension = Some("1001".into());
    a.sip = Some(creds("a"));
    let a = s.create_user(&a, T0).await.unwrap();
    let mut b = new_user("b", Role::Agent);
    b.extension = Some("1002".into());
    s.create_user(&b, T0).await.unwrap();
    // moving a onto b's extension fails: a's credentials must survive the rolled-back change
    let patch = UserPatch { extension: Some(Some("1002".into())), ..Default::default() };
    let err = s.update_user(a.id, &patch, at(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.sip_secret("1001").await.unwrap().unwrap().ha1_md5, "md5-a");
    // a user whose creation fails leaves no credentials behind
    let mut c = new_user("c", Role::Agent);
    c.extension = Some("1001".into());
    c.sip = Some(creds("c"));
    assert!(matches!(s.create_user(&c, T0).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.sip_secret("1001").await.unwrap().unwrap().user_id, a.id);
    t.cleanup().await;
}

fn recording(agent: Option<UserId>, caller: &str, callee: &str, started: i64) -> NewRecording {
    NewRecording {
        id: RecordingId::from_uuid(kefu_store::new_uuid()),
        call_id: format!("call-{}", kefu_store::new_uuid().simple()),
        agent_id: agent,
        agent_extension: agent.map(|_| "1001".to_owned()),
        caller: caller.into(),
        callee: callee.into(),
        started_at: at(started),
        duration_ms: 61_500,
        path: "2026/11/22/x.wav".into(),
        size_bytes: 1_968_044,
    }
}

#[tokio::test]
async fn recordings_round_trip_and_filter() {
    let t = db().await;
    let s = &t.store;
    let a = crate::user(s, "a").await;
    let b = crate::user(s, "b").await;
    let r1 = s.insert_recording(&recording(Some(a.id), "13800138000", "4000", 1000), at(70_000)).await.unwrap();
    assert_eq!(r1.agent_id, Some(a.id));
    assert_eq!(
        (r1.caller.as_str(), r1.callee.as_str(), r1.duration_ms, r1.size_bytes),
        ("13800138000", "4000", 61_500, 1_968_044)
    );
    assert_eq!((r1.started_at, r1.created_at), (at(1000), at(70_000)));
    assert_eq!(s.recording(r1.id).await.unwrap(), r1);
    let r2 = s.insert_recording(&recording(Some(b.id), "4000", "13800138000", 2000), T0).await.unwrap();
    let r3 = s.insert_recording(&recording(Some(a.id), "13900000000", "4000", 3000), T0).await.unwrap();
    let r4 = s.insert_recording(&recording(None, "13900000000", "4001", 4000), T0).await.unwrap();

    let page = PageRequest::default();
    let ids = |items: &[kefu_store::Recording]| items.iter().map(|r| r.id).collect::<Vec<_>>();
    let all = s.list_recordings(&RecordingFilter::default(), &page).await.unwrap();
    assert_eq!(ids(&all.items), vec![r4.id, r3.id, r2.id, r1.id], "newest first");
    assert!(all.next_cursor.is_none());

    let by_agent = RecordingFilter { agent_id: Some(a.id), ..Default::default() };
    assert_eq!(ids(&s.list_recordings(&by_agent, &page).await.unwrap().items), vec![r3.id, r1.id]);
    let by_number = RecordingFilter { number: Some("13800138000".into()), ..Default::default() };
    assert_eq!(ids(&s.list_recordings(&by_number, &page).await.unwrap().items), vec![r2.id, r1.id], "caller or callee");
    let by_time = RecordingFilter { from: Some(at(2000)), to: Some(at(4000)), ..Default::default() };
    assert_eq!(
        ids(&s.list_recordings(&by_time, &page).await.unwrap().items),
        vec![r3.id, r2.id],
        "from inclusive, to exclusive"
    );
    let all_of_them =
        RecordingFilter { agent_id: Some(a.id), number: Some("4000".into()), from: Some(at(0)), to: Some(at(2500)) };
    assert_eq!(ids(&s.list_recordings(&all_of_them, &page).await.unwrap().items), vec![r1.id]);

    // an agent's deletion keeps the recording, without the link
    s.delete_user(b.id).await.unwrap();
    assert_eq!(s.recording(r2.id).await.unwrap().agent_id, None);
    t.cleanup().await;
}

#[tokio::test]
async fn recordings_page_newest_first_even_with_equal_times() {
    let t = db().await;
    let s = &t.store;
    let mut want = Vec::new();
    for i in 0..11 {
        let r = s.insert_recording(&recording(None, "1", "2", (i % 3) * 100), T0).await.unwrap();
        want.push(r);
    }
    want.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.id)));
    let mut seen = Vec::new();
    let mut page = PageRequest { limit: Some(4), cursor: None };
    loop {
        let got = s.list_recordings(&RecordingFilter::default(), &page).await.unwrap();
        assert!(got.items.len() <= 4);
        seen.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, want);
    let bad = PageRequest { limit: None, cursor: Some("nonsense".into()) };
    let err = s.list_recordings(&RecordingFilter::default(), &bad).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("malformed recording cursor")), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn bad_recordings_are_refused() {
    let t = db().await;
    let s = &t.store;
    let r = recording(None, "1", "2", 0);
    s.insert_recording(&r, T0).await.unwrap();
    let err = s.insert_recording(&r, T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("already exists")), "{err}");
    let ghost = UserId::from_uuid(kefu_store::new_uuid());
    let err = s.insert_recording(&recording(Some(ghost), "1", "2", 0), T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains(&ghost.to_string())), "{err}");
    let mut neg = recording(None, "1", "2", 0);
    neg.duration_ms = -1;
    assert!(matches!(s.insert_recording(&neg, T0).await, Err(StoreError::Invalid(_))));
    let missing = RecordingId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.recording(missing).await, Err(StoreError::NotFound { what: "recording", .. })));
    t.cleanup().await;
}

fn trunk(name: &str) -> NewTrunk {
    NewTrunk {
        name: name.into(),
        host: "sip.carrier.example".into(),
        port: 5060,
        transport: TrunkTransport::Udp,
        auth_username: Some("kefu".into()),
        auth_password: Some(Secret::new("s3cret-pw")),
        allow_from: vec!["203.0.113.0/24".into(), "198.51.100.7".into()],
        inbound_routes: BTreeMap::from([("4000".to_owned(), "1001".to_owned()), ("*".to_owned(), "1002".to_owned())]),
        caller_id: Some("4000".into()),
        enabled: true,
    }
}

#[tokio::test]
async fn trunks_crud() {
    let t = db().await;
    let s = &t.store;
    let tr = s.create_trunk(&trunk("carrier"), T0).await.unwrap();
    assert_eq!((tr.name.as_str(), tr.port, tr.transport, tr.enabled), ("carrier", 5060, TrunkTransport::Udp, true));
    assert!(tr.has_auth_password);
    assert_eq!(tr.auth_password.as_ref().map(Secret::expose), Some("s3cret-pw"));
    assert_eq!(tr.inbound_routes["4000"], "1001");
    assert_eq!(tr.allow_from, vec!["203.0.113.0/24", "198.51.100.7"]);
    let shown = serde_json::to_value(&tr).unwrap();
    assert!(shown.get("auth_password").is_none() && shown["has_auth_password"] == true, "{shown}");
    assert!(!shown.to_string().contains("s3cret") && !format!("{tr:?}").contains("s3cret"), "never shown");
    assert_eq!(s.trunk(tr.id).await.unwrap(), tr);
    assert_eq!(s.trunk_by_name("carrier").await.unwrap(), Some(tr.clone()));
    assert_eq!(s.trunk_by_name("nope").await.unwrap(), None);

    let err = s.create_trunk(&trunk("carrier"), T0).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m == "a trunk named `carrier` already exists"), "{err}");

    let patch = TrunkPatch {
        port: Some(5080),
        transport: Some(TrunkTransport::Tcp),
        auth_password: Some(None),
        caller_id: Some(None),
        inbound_routes: Some(BTreeMap::from([("*".to_owned(), "1003".to_owned())])),
        enabled: Some(false),
        ..Default::default()
    };
    let tr2 = s.update_trunk(tr.id, &patch, at(1)).await.unwrap();
    assert_eq!((tr2.port, tr2.transport, tr2.enabled, tr2.caller_id.clone()), (5080, TrunkTransport::Tcp, false, None));
    assert!(!tr2.has_auth_password && tr2.auth_password.is_none());
    assert_eq!(tr2.auth_username.as_deref(), Some("kefu"), "untouched field kept");
    assert_eq!(tr2.host, tr.host);
    assert_eq!(tr2.updated_at, at(1));

    let other = s.create_trunk(&trunk("backup"), T0).await.unwrap();
    let err = s.update_trunk(other.id, &TrunkPatch { name: Some("carrier".into()), ..Default::default() }, T0).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))));
    // only enabled trunks are loaded by the SIP server, by name, with their passwords
    let enabled = s.enabled_trunks().await.unwrap();
    assert_eq!(enabled, vec![other.clone()]);
    s.update_trunk(tr.id, &TrunkPatch { enabled: Some(true), ..Default::default() }, T0).await.unwrap();
    let names: Vec<String> = s.enabled_trunks().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["backup", "carrier"]);

    let listed = s.list_trunks(&PageRequest { limit: Some(1), cursor: None }).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let rest = s.list_trunks(&PageRequest { limit: Some(1), cursor: listed.next_cursor }).await.unwrap();
    assert_eq!(rest.items[0].id, other.id);
    assert!(rest.next_cursor.is_none());

    s.delete_trunk(tr.id).await.unwrap();
    assert!(matches!(s.trunk(tr.id).await, Err(StoreError::NotFound { what: "trunk", .. })));
    assert!(matches!(s.delete_trunk(tr.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(s.update_trunk(tr.id, &TrunkPatch::default(), T0).await, Err(StoreError::NotFound { .. })));
    t.cleanup().await;
}

#[tokio::test]
async fn events_and_recordings_are_written_together_or_not_at_all() {
    use kefu_core::EventId;
    use kefu_core::event::{Event, EventKind};
    let t = db().await;
    let s = &t.store;
    let a = crate::user(s, "a").await;
    let event = |kind| Event::new(EventId::from_uuid(kefu_store::new_uuid()), T0, kind);
    let events = [event(EventKind::CallEnded), event(EventKind::RecordingSaved)];
    let good = recording(Some(a.id), "13800138000", "4000", 0);
    s.append_events_and_recordings(&events, &[(good.clone(), at(5))]).await.unwrap();
    assert_eq!(s.count_events().await.unwrap(), 2);
    assert_eq!(s.recording(good.id).await.unwrap().created_at, at(5));

    // one bad recording (an agent that does not exist) refuses the whole batch
    let ghost = recording(Some(UserId::from_uuid(kefu_store::new_uuid())), "1", "2", 0);
    let other = recording(None, "1", "2", 0);
    let more = [event(EventKind::CallEnded)];
    let err = s.append_events_and_recordings(&more, &[(other.clone(), T0), (ghost, T0)]).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(s.count_events().await.unwrap(), 2, "no event of the refused batch");
    assert!(matches!(s.recording(other.id).await, Err(StoreError::NotFound { .. })), "nor its good recording");
    s.append_events_and_recordings(&[], &[]).await.unwrap();
    t.cleanup().await;
}
