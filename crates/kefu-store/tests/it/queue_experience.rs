use crate::{T0, db, user};
use kefu_core::acd::{OverflowAction, OverflowStep, OverflowWhen};
use kefu_core::org::{QueueStrategy, ServiceTargets};
use kefu_core::{CallbackRequestId, QueueId, Timestamp, VoicemailId};
use kefu_store::{
    CallbackFilter, CallbackStatus, NewCallbackRequest, NewQueue, NewVoicemail, PageRequest, QueuePatch, Store,
    StoreError, SurveyAnswer, VoicemailFilter,
};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

fn page(limit: u32, cursor: Option<String>) -> PageRequest {
    PageRequest { limit: Some(limit), cursor }
}

async fn queue(s: &Store, name: &str, overflow: Vec<OverflowStep>) -> kefu_store::Queue {
    let new = NewQueue {
        name: name.into(),
        description: String::new(),
        strategy: QueueStrategy::LongestIdle,
        targets: ServiceTargets::default(),
        skills: vec![],
        overflow,
    };
    s.create_queue(&new, T0).await.unwrap()
}

fn voicemail(n: i64, queue: Option<QueueId>) -> NewVoicemail {
    NewVoicemail {
        call_id: format!("call-{n}"),
        caller: format!("1380000000{n}"),
        dialled: "4000".into(),
        flow: "hotline".into(),
        queue_id: queue,
        path: format!("voicemail/{n}.wav"),
        duration_ms: 1_000 * n,
        size_bytes: 16_000 * n,
        created_at: at(n),
    }
}

fn callback(n: i64, queue: Option<QueueId>) -> NewCallbackRequest {
    NewCallbackRequest {
        call_id: format!("call-{n}"),
        number: format!("1390000000{n}"),
        caller: format!("1380000000{n}"),
        queue_id: queue,
        flow: String::new(),
        created_at: at(n),
    }
}

fn answers(list: &[(&str, u8)]) -> Vec<(String, u8)> {
    list.iter().map(|(q, s)| ((*q).to_owned(), *s)).collect()
}

#[tokio::test]
async fn overflow_rules_are_stored_with_the_queue() {
    let t = db().await;
    let s = &t.store;
    let spill = queue(s, "spill", vec![]).await;
    assert!(spill.overflow.is_empty());
    let steps = vec![
        OverflowStep {
            after_secs: 30,
            when: OverflowWhen::QueueLongerThan { max: 5 },
            action: OverflowAction::Widen { queues: vec![spill.id] },
        },
        OverflowStep { after_secs: 90, when: OverflowWhen::Always, action: OverflowAction::Queue { queue: spill.id } },
        OverflowStep { after_secs: 300, when: OverflowWhen::NoAgentsLoggedIn, action: OverflowAction::Voicemail },
    ];
    let q = queue(s, "main", steps.clone()).await;
    assert_eq!(q.overflow, steps);
    assert_eq!(s.queue(q.id).await.unwrap().overflow, steps);
    let listed = s.list_queues(&PageRequest::default()).await.unwrap();
    assert_eq!(listed.items.iter().find(|x| x.id == q.id).unwrap().overflow, steps);

    // a patch without overflow keeps it; with overflow replaces it
    let renamed =
        s.update_queue(q.id, &QueuePatch { name: Some("main2".into()), ..Default::default() }, at(1)).await.unwrap();
    assert_eq!(renamed.overflow, steps);
    let cleared =
        s.update_queue(q.id, &QueuePatch { overflow: Some(vec![]), ..Default::default() }, at(2)).await.unwrap();
    assert!(cleared.overflow.is_empty());
    assert!(s.queue(q.id).await.unwrap().overflow.is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn voicemails_round_trip_page_newest_first_and_filter() {
    let t = db().await;
    let s = &t.store;
    let sales = queue(s, "sales", vec![]).await;
    let support = queue(s, "support", vec![]).await;
    let agent = user(s, "ann").await;

    let first = voicemail(1, Some(sales.id));
    let vm = s.insert_voicemail(&first).await.unwrap();
    assert_eq!(
        (vm.id, vm.call_id.as_str(), vm.queue_id, vm.path.as_str(), vm.duration_ms, vm.size_bytes, vm.created_at),
        (vm.id, "call-1", Some(sales.id), "voicemail/1.wav", 1_000, 16_000, at(1))
    );
    assert_eq!((vm.flow.as_str(), vm.dialled.as_str(), vm.heard_by, vm.heard_at), ("hotline", "4000", None, None));
    assert_eq!(s.voicemail(vm.id).await.unwrap(), vm);
    for n in 2..=5 {
        let q = if n % 2 == 0 { Some(support.id) } else { Some(sales.id) };
        s.insert_voicemail(&voicemail(n, q)).await.unwrap();
    }
    s.insert_voicemail(&voicemail(6, None)).await.unwrap();

    // newest first, in pages
    let all = VoicemailFilter::default();
    let p1 = s.list_voicemails(&all, &page(4, None)).await.unwrap();
    let calls =
        |p: &kefu_store::Page<kefu_store::Voicemail>| p.items.iter().map(|v| v.call_id.clone()).collect::<Vec<_>>();
    assert_eq!(calls(&p1), ["call-6", "call-5", "call-4", "call-3"]);
    let p2 = s.list_voicemails(&all, &page(4, p1.next_cursor.clone())).await.unwrap();
    assert_eq!(calls(&p2), ["call-2", "call-1"]);
    assert!(p2.next_cursor.is_none());

    // by queue, and unheard only
    let sales_only = VoicemailFilter { queue: Some(sales.id), unheard_only: false };
    assert_eq!(calls(&s.list_voicemails(&sales_only, &page(50, None)).await.unwrap()), ["call-5", "call-3", "call-1"]);
    let heard = s.mark_voicemail_heard(vm.id, agent.id, at(10)).await.unwrap();
    assert_eq!((heard.heard_by, heard.heard_at), (Some(agent.id), Some(at(10))));
    // marking again keeps the first listener
    let other = user(s, "bob").await;
    let again = s.mark_voicemail_heard(vm.id, other.id, at(11)).await.unwrap();
    assert_eq!((again.heard_by, again.heard_at), (Some(agent.id), Some(at(10))));
    let unheard_sales = VoicemailFilter { queue: Some(sales.id), unheard_only: true };
    assert_eq!(calls(&s.list_voicemails(&unheard_sales, &page(50, None)).await.unwrap()), ["call-5", "call-3"]);
    let unheard = VoicemailFilter { queue: None, unheard_only: true };
    assert_eq!(s.list_voicemails(&unheard, &page(50, None)).await.unwrap().items.len(), 5);

    // unknown ids; the same call twice is two voicemails; unknown queue, bad cursor, negative size
    let nobody = VoicemailId::from_uuid(kefu_store::new_uuid());
    assert!(matches!(s.voicemail(nobody).await, Err(StoreError::NotFound { what: "voicemail", .. })));
    assert!(matches!(s.mark_voicemail_heard(nobody, agent.id, at(1)).await, Err(StoreError::NotFound { .. })));
    let twice = s.insert_voicemail(&first).await.unwrap();
    assert_ne!(twice.id, vm.id, "each voicemail gets its own id");
    let ghost = QueueId::from_uuid(kefu_store::new_uuid());
    let err = s.insert_voicemail(&voicemail(7, Some(ghost))).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains(&ghost.to_string())), "{err}");
    let err = s.list_voicemails(&all, &page(5, Some("nonsense".into()))).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let err = s.insert_voicemail(&NewVoicemail { size_bytes: -1, ..voicemail(8, None) }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn deleting_a_queue_keeps_its_voicemails_and_callbacks() {
    let t = db().await;
    let s = &t.store;
    let q = queue(s, "closing", vec![]).await;
    let vm = s.insert_voicemail(&voicemail(1, Some(q.id))).await.unwrap();
    let cb = s.insert_callback_request(&callback(1, Some(q.id))).await.unwrap();
    s.delete_queue(q.id).await.unwrap();
    let vm = s.voicemail(vm.id).await.unwrap();
    assert_eq!(vm.queue_id, None);
    assert_eq!(vm.call_id, "call-1");
    assert_eq!(s.callback_request(cb.id).await.unwrap().queue_id, None);
    t.cleanup().await;
}

#[tokio::test]
async fn callback_requests_are_worked_oldest_first_and_finished_once() {
    let t = db().await;
    let s = &t.store;
    let sales = queue(s, "sales", vec![]).await;
    let agent = user(s, "ann").await;
    let cb = s.insert_callback_request(&callback(1, Some(sales.id))).await.unwrap();
    assert_eq!(
        (cb.call_id.as_str(), cb.number.as_str(), cb.caller.as_str(), cb.queue_id, cb.status, cb.created_at),
        ("call-1", "13900000001", "13800000001", Some(sales.id), CallbackStatus::Open, at(1))
    );
    assert_eq!((cb.handled_by, cb.handled_at, cb.note.as_str()), (None, None, ""));
    assert_eq!(s.callback_request(cb.id).await.unwrap(), cb);
    for n in 2..=5 {
        s.insert_callback_request(&callback(n, if n <= 3 { Some(sales.id) } else { None })).await.unwrap();
    }

    // oldest first, in pages
    let numbers = |p: &kefu_store::Page<kefu_store::CallbackRequest>| {
        p.items.iter().map(|c| c.call_id.clone()).collect::<Vec<_>>()
    };
    let all = CallbackFilter::default();
    let p1 = s.list_callback_requests(&all, &page(3, None)).await.unwrap();
    assert_eq!(numbers(&p1), ["call-1", "call-2", "call-3"]);
    let p2 = s.list_callback_requests(&all, &page(3, p1.next_cursor.clone())).await.unwrap();
    assert_eq!(numbers(&p2), ["call-4", "call-5"]);
    assert!(p2.next_cursor.is_none());

    // finishing: done once, then a conflict saying how it ended
    let done =
        s.finish_callback_request(cb.id, agent.id, CallbackStatus::Done, "called, sorted", at(20)).await.unwrap();
    assert_eq!(
        (done.status, done.handled_by, done.handled_at, done.note.as_str()),
        (CallbackStatus::Done, Some(agent.id), Some(at(20)), "called, sorted")
    );
    let err = s.finish_callback_request(cb.id, agent.id, CallbackStatus::Cancelled, "", at(21)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("already done")), "{err}");
    assert_eq!(s.callback_request(cb.id).await.unwrap(), done, "unchanged");
    let list = s.list_callback_requests(&all, &page(1, None)).await.unwrap();
    assert_eq!(list.items[0].id, cb.id);
    let second = list.next_cursor.clone();
    let p = s.list_callback_requests(&all, &page(1, second)).await.unwrap();
    s.finish_callback_request(p.items[0].id, agent.id, CallbackStatus::Cancelled, "no answer", at(22)).await.unwrap();

    // filters: status, queue, both
    let open = CallbackFilter { status: Some(CallbackStatus::Open), queue: None };
    assert_eq!(
        numbers(&s.list_callback_requests(&open, &page(50, None)).await.unwrap()),
        ["call-3", "call-4", "call-5"]
    );
    let open_sales = CallbackFilter { status: Some(CallbackStatus::Open), queue: Some(sales.id) };
    assert_eq!(numbers(&s.list_callback_requests(&open_sales, &page(50, None)).await.unwrap()), ["call-3"]);
    let cancelled = CallbackFilter { status: Some(CallbackStatus::Cancelled), queue: None };
    assert_eq!(numbers(&s.list_callback_requests(&cancelled, &page(50, None)).await.unwrap()), ["call-2"]);

    // errors: unknown id, finishing as open, unknown queue
    let nobody = CallbackRequestId::from_uuid(kefu_store::new_uuid());
    let err = s.finish_callback_request(nobody, agent.id, CallbackStatus::Done, "", at(30)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "callback request", .. }), "{err}");
    let err = s.finish_callback_request(p.items[0].id, agent.id, CallbackStatus::Open, "", at(30)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let ghost = QueueId::from_uuid(kefu_store::new_uuid());
    let err = s.insert_callback_request(&callback(9, Some(ghost))).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // the user who handled a request stays on it: such a user is disabled, not deleted
    assert!(matches!(s.delete_user(agent.id).await, Err(StoreError::Conflict(_))));
    t.cleanup().await;
}

#[tokio::test]
async fn survey_answers_are_stored_per_call_and_summed_per_agent() {
    let t = db().await;
    let s = &t.store;
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    s.insert_survey_answers("call-1", Some(ann.id), &answers(&[("wait", 3), ("overall", 5)]), at(1)).await.unwrap();
    let saved = s.survey_answers_for_call("call-1").await.unwrap();
    assert_eq!(saved.iter().map(|a| (a.question.as_str(), a.score)).collect::<Vec<_>>(), [("overall", 5), ("wait", 3)]);
    let got = saved.clone();
    assert_eq!(
        got[0],
        SurveyAnswer {
            call_id: "call-1".into(),
            agent_id: Some(ann.id),
            question: "overall".into(),
            score: 5,
            created_at: at(1)
        }
    );
    s.insert_survey_answers("call-2", Some(ann.id), &answers(&[("overall", 4)]), at(2)).await.unwrap();
    s.insert_survey_answers("call-3", Some(ann.id), &answers(&[("overall", 1), ("wait", 2)]), at(100)).await.unwrap();
    s.insert_survey_answers("call-4", Some(bob.id), &answers(&[("overall", 1)]), at(3)).await.unwrap();
    s.insert_survey_answers("call-5", None, &answers(&[("overall", 2)]), at(4)).await.unwrap();
    assert!(s.survey_answers_for_call("call-none").await.unwrap().is_empty());

    // ann in [T0, T0+100): calls 1 and 2
    let sum = s.survey_summary_for_agent(ann.id, T0, at(100)).await.unwrap();
    assert_eq!(sum.calls, 2);
    let q: Vec<(&str, i64, f64)> = sum.questions.iter().map(|q| (q.question.as_str(), q.answers, q.average)).collect();
    assert_eq!(q, [("overall", 2, 4.5), ("wait", 1, 3.0)]);
    let all = s.survey_summary_for_agent(ann.id, T0, at(101)).await.unwrap();
    assert_eq!(all.calls, 3);
    assert_eq!(all.questions[0].answers, 3);
    assert!((all.questions[0].average - 10.0 / 3.0).abs() < 1e-9);
    let none = s.survey_summary_for_agent(ann.id, at(200), at(300)).await.unwrap();
    assert_eq!((none.calls, none.questions.len()), (0, 0));

    // a bad score or a repeated question: nothing of the call's answers is stored
    for bad in [0, 6, 255] {
        let err = s.insert_survey_answers("call-6", None, &answers(&[("overall", 3), ("wait", bad)]), at(5)).await;
        assert!(matches!(&err, Err(StoreError::Invalid(m)) if m.contains("wait")), "{err:?}");
    }
    let err = s.insert_survey_answers("call-1", Some(ann.id), &answers(&[("fresh", 3), ("overall", 1)]), at(6)).await;
    assert!(matches!(&err, Err(StoreError::Conflict(m)) if m.contains("overall")), "{err:?}");
    assert_eq!(s.survey_answers_for_call("call-1").await.unwrap(), saved, "`fresh` rolled back");
    let err = s.insert_survey_answers("call-7", None, &answers(&[("a", 3), ("a", 4)]), at(7)).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert!(s.survey_answers_for_call("call-7").await.unwrap().is_empty());
    let err = s.insert_survey_answers("call-8", None, &answers(&[("", 3)]), at(8)).await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");

    // deleting the agent keeps the answers, without the agent
    s.delete_user(bob.id).await.unwrap();
    assert_eq!(s.survey_answers_for_call("call-4").await.unwrap()[0].agent_id, None);
    t.cleanup().await;
}

#[tokio::test]
async fn unreadable_overflow_json_is_an_error_not_a_panic() {
    let t = db().await;
    let s = &t.store;
    let q = queue(s, "broken", vec![]).await;
    // written behind the store's back, as an older or newer kefu or a hand edit might
    sqlx::any::install_default_drivers();
    let url = t
        .options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", t.dir.path().join("kefu.db").display()));
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("UPDATE queues SET overflow = '{not json' WHERE id = $1")
        .bind(q.id.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
    let err = s.queue(q.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("overflow")), "{err}");
    assert!(matches!(s.list_queues(&PageRequest::default()).await, Err(StoreError::Corrupt(_))));
    t.cleanup().await;
}
