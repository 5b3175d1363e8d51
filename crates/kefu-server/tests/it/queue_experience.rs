//! Voicemails, callback requests and survey answers over the API, and queues' overflow rules:
//! who may do what, unknown ids, bad input, finishing twice, and the voicemail's audio.

use crate::{TestApp, assert_error};
use kefu_core::QueueId;
use kefu_core::Role::{Admin, Agent, Qa, Supervisor, TeamLead};
use kefu_core::Timestamp;
use kefu_store::{NewCallbackRequest, NewVoicemail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_790_000_000_000 + ms)
}

async fn create_queue(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.send(Method::POST, "/api/v1/queues", Admin, body).await
}

async fn queue_id(app: &TestApp, name: &str) -> QueueId {
    let (s, q) = create_queue(app, json!({ "name": name })).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    q["id"].as_str().unwrap().parse().unwrap()
}

fn voicemail(n: i64, queue: Option<QueueId>, path: &str) -> NewVoicemail {
    NewVoicemail {
        call_id: format!("call-{n}"),
        caller: format!("1380000000{n}"),
        dialled: "4000".into(),
        flow: "hotline".into(),
        queue_id: queue,
        path: path.to_owned(),
        duration_ms: 1_500,
        size_bytes: 44,
        created_at: at(n),
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|v| v["call_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn agents_list_hear_and_mark_voicemails() {
    let app = TestApp::spawn().await;
    let sales = queue_id(&app, "sales").await;
    let dir = tempfile::tempdir().unwrap();
    let wav: Vec<u8> = b"RIFF\x24\x00\x00\x00WAVEfmt ".iter().copied().chain((0u8..=255).cycle().take(5_000)).collect();
    let file = dir.path().join("call-1.wav");
    std::fs::write(&file, &wav).unwrap();
    let vm = app.store.insert_voicemail(&voicemail(1, Some(sales), &file.display().to_string())).await.unwrap();
    app.store.insert_voicemail(&voicemail(2, None, "/nonexistent/kefu/call-2.wav")).await.unwrap();
    app.store.insert_voicemail(&voicemail(3, Some(sales), "/nonexistent/kefu/call-3.wav")).await.unwrap();

    // newest first, paged, filtered by queue and by unheard
    let (s, page) = app.get("/api/v1/voicemails?limit=2", Agent).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), ["call-3", "call-2"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/voicemails?limit=2&cursor={cursor}"), Agent).await;
    assert_eq!(ids(&rest), ["call-1"]);
    assert!(rest.get("next_cursor").is_none(), "{rest}");
    let (_, by_queue) = app.get(&format!("/api/v1/voicemails?queue={sales}"), TeamLead).await;
    assert_eq!(ids(&by_queue), ["call-3", "call-1"]);

    // listening: the file's bytes as audio/wav, and an audit entry
    let resp = app
        .client
        .get(format!("{}/api/v1/voicemails/{}/audio", app.base, vm.id))
        .bearer_auth(app.token(Agent))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    assert_eq!(resp.headers()["content-length"], wav.len().to_string().as_str());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), wav.as_slice());
    let audit = app.store.list_audit(&kefu_store::PageRequest::default()).await.unwrap();
    let listened = audit.items.iter().find(|e| e.action == "voicemail.listened").expect("audit entry");
    assert_eq!((listened.target.as_str(), listened.actor_name.as_str()), (vm.id.to_string().as_str(), "agent"));
    assert_eq!(listened.detail["call_id"], "call-1");

    // marking heard: the agent and time; again keeps the first
    let (s, heard) = app.send(Method::POST, &format!("/api/v1/voicemails/{}/heard", vm.id), Agent, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{heard}");
    assert_eq!(heard["heard_by"], app.users[&Agent].id.to_string());
    assert!(heard["heard_at"].is_i64(), "{heard}");
    let (s, again) =
        app.call(Method::POST, &format!("/api/v1/voicemails/{}/heard", vm.id), Some(app.token(Admin)), None).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!((&again["heard_by"], &again["heard_at"]), (&heard["heard_by"], &heard["heard_at"]));
    let (_, unheard) = app.get(&format!("/api/v1/voicemails?unheard=true&queue={sales}"), Agent).await;
    assert_eq!(ids(&unheard), ["call-3"]);
    let (_, unheard) = app.get("/api/v1/voicemails?unheard=true", Agent).await;
    assert_eq!(ids(&unheard), ["call-3", "call-2"]);

    // a missing file, an unknown id, a malformed id or query: 404 / 400
    let (_, list) = app.get("/api/v1/voicemails?limit=1", Agent).await;
    let missing = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, body) = app.get(&format!("/api/v1/voicemails/{missing}/audio"), Agent).await;
    assert_error(s, &body, 404, "not_found");
    let nobody = kefu_store::new_uuid();
    let (s, body) = app.get(&format!("/api/v1/voicemails/{nobody}/audio"), Agent).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = app.send(Method::POST, &format!("/api/v1/voicemails/{nobody}/heard"), Agent, json!({})).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = app.get("/api/v1/voicemails/not-an-id/audio", Agent).await;
    assert_error(s, &body, 400, "bad_request");
    for q in ["queue=nope", "unheard=maybe", "cursor=garbage", "colour=red"] {
        let (s, body) = app.get(&format!("/api/v1/voicemails?{q}"), Agent).await;
        assert_error(s, &body, 400, "bad_request");
    }

    // QA has no call control: no voicemails
    let (s, body) = app.get("/api/v1/voicemails", Qa).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = app.get(&format!("/api/v1/voicemails/{}/audio", vm.id), Qa).await;
    assert_error(s, &body, 403, "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn callback_requests_are_worked_in_order_and_finished_once() {
    let app = TestApp::spawn().await;
    let sales = queue_id(&app, "sales").await;
    let mut made = Vec::new();
    for n in 1..=3 {
        let new = NewCallbackRequest {
            call_id: format!("call-{n}"),
            number: format!("1390000000{n}"),
            caller: format!("1380000000{n}"),
            queue_id: (n != 2).then_some(sales),
            flow: "hotline".into(),
            created_at: at(n),
        };
        made.push(app.store.insert_callback_request(&new).await.unwrap());
    }

    // oldest first, filtered by status and queue
    let (s, page) = app.get("/api/v1/callbacks?status=open", Agent).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), ["call-1", "call-2", "call-3"]);
    assert_eq!(page["items"][0]["status"], "open");
    assert_eq!(page["items"][0]["number"], "13900000001");
    let (_, by_queue) = app.get(&format!("/api/v1/callbacks?queue={sales}"), Supervisor).await;
    assert_eq!(ids(&by_queue), ["call-1", "call-3"]);

    // finished once, then 409
    let url = format!("/api/v1/callbacks/{}/finish", made[0].id);
    let (s, done) = app.send(Method::POST, &url, Agent, json!({ "status": "done", "note": " called back " })).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!((&done["status"], &done["note"]), (&json!("done"), &json!("called back")));
    assert_eq!(done["handled_by"], app.users[&Agent].id.to_string());
    let (s, body) = app.send(Method::POST, &url, Admin, json!({ "status": "cancelled" })).await;
    assert_error(s, &body, 409, "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains("already done"), "{body}");
    let (_, open) = app.get("/api/v1/callbacks?status=open", Agent).await;
    assert_eq!(ids(&open), ["call-2", "call-3"]);
    let (_, finished) = app.get("/api/v1/callbacks?status=done", Agent).await;
    assert_eq!(ids(&finished), ["call-1"]);

    // bad input: status open, unknown or missing, a note not text → 422; bad JSON → 400; unknown id → 404
    let url = format!("/api/v1/callbacks/{}/finish", made[1].id);
    for bad in
        [json!({ "status": "open" }), json!({ "status": "later" }), json!({}), json!({ "status": "done", "note": 5 })]
    {
        let (s, body) = app.send(Method::POST, &url, Agent, bad.clone()).await;
        assert_error(s, &body, 422, "validation_failed");
    }
    let (s, body) = app.send(Method::POST, &url, Agent, json!({ "status": "done", "extra": 1 })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = app.send(Method::POST, &url, Agent, json!({ "status": "done", "note": "x".repeat(2001) })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = app.raw(Method::POST, &url, Agent, Some("application/json"), b"{\"status\":".to_vec()).await;
    assert_error(s, &body, 400, "bad_request");
    let nobody = kefu_store::new_uuid();
    let (s, body) =
        app.send(Method::POST, &format!("/api/v1/callbacks/{nobody}/finish"), Agent, json!({ "status": "done" })).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = app.get("/api/v1/callbacks?status=later", Agent).await;
    assert_error(s, &body, 400, "bad_request");
    let (_, still) = app.get("/api/v1/callbacks?status=open", Agent).await;
    assert_eq!(ids(&still), ["call-2", "call-3"], "nothing changed");

    // QA has no call control
    let (s, body) = app.get("/api/v1/callbacks", Qa).await;
    assert_error(s, &body, 403, "forbidden");
    let (s, body) = app.send(Method::POST, &url, Qa, json!({ "status": "done" })).await;
    assert_error(s, &body, 403, "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn qa_and_supervisors_read_survey_answers() {
    let app = TestApp::spawn().await;
    let agent = app.users[&Agent].id;
    let answers = vec![("wait".to_owned(), 2u8), ("overall".to_owned(), 5u8)];
    app.store.insert_survey_answers("call-1", Some(agent), &answers, at(1)).await.unwrap();

    for role in [Qa, Supervisor, TeamLead, Admin] {
        let (s, body) = app.get("/api/v1/surveys?call=call-1", role).await;
        assert_eq!(s, StatusCode::OK, "{role}: {body}");
        assert_eq!(body["call_id"], "call-1");
        let got: Vec<(&str, i64)> = body["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["question"].as_str().unwrap(), a["score"].as_i64().unwrap()))
            .collect();
        assert_eq!(got, [("overall", 5), ("wait", 2)]);
        assert_eq!(body["answers"][0]["agent_id"], agent.to_string());
    }
    let (s, body) = app.get("/api/v1/surveys?call=unknown", Qa).await;
    assert_eq!((s, &body["answers"]), (StatusCode::OK, &json!([])));
    let (s, body) = app.get("/api/v1/surveys", Qa).await;
    assert_error(s, &body, 400, "bad_request");
    let (s, body) = app.get("/api/v1/surveys?call=", Qa).await;
    assert_error(s, &body, 400, "bad_request");
    let (s, body) = app.get("/api/v1/surveys?call=call-1", Agent).await;
    assert_error(s, &body, 403, "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn queues_take_overflow_rules_whose_targets_exist() {
    let app = TestApp::spawn().await;
    let spill = queue_id(&app, "spill").await;
    let steps = json!([
        { "after_secs": 30, "when": { "kind": "queue_longer_than", "max": 5 }, "action": { "kind": "widen", "queues": [spill] } },
        { "after_secs": 120, "action": { "kind": "queue", "queue": spill } },
        { "after_secs": 300, "when": { "kind": "no_agents_logged_in" }, "action": { "kind": "voicemail" } },
    ]);
    let (s, main) = create_queue(&app, json!({ "name": "main", "overflow": steps })).await;
    assert_eq!(s, StatusCode::CREATED, "{main}");
    assert_eq!(
        main["overflow"][1],
        json!({ "after_secs": 120, "when": { "kind": "always" }, "action": { "kind": "queue", "queue": spill } })
    );
    assert_eq!(main["overflow"].as_array().unwrap().len(), 3);
    let main_url = format!("/api/v1/queues/{}", main["id"].as_str().unwrap());
    let (_, read) = app.get(&main_url, Agent).await;
    assert_eq!(read["overflow"], main["overflow"]);
    let (_, spill_row) = app.get(&format!("/api/v1/queues/{spill}"), Agent).await;
    assert_eq!(spill_row["overflow"], json!([]), "none by default");

    // an unknown target: 422 naming the step; nothing created
    let ghost = kefu_store::new_uuid();
    let (s, body) = create_queue(
        &app,
        json!({ "name": "bad", "overflow": [{ "after_secs": 1, "action": { "kind": "voicemail" } },
                                            { "after_secs": 10, "action": { "kind": "queue", "queue": ghost } }] }),
    )
    .await;
    assert_error(s, &body, 422, "validation_failed");
    assert_eq!(body["error"]["message"], format!("overflow[1].action.queue: unknown queue {ghost}"));
    let (_, list) = app.get("/api/v1/queues", Admin).await;
    assert!(list["items"].as_array().unwrap().iter().all(|q| q["name"] != "bad"));

    // several problems at once: each in details
    let (s, body) = create_queue(
        &app,
        json!({ "name": "worse", "overflow": [
            { "after_secs": 100000, "action": { "kind": "voicemail" } },
            { "action": { "kind": "widen", "queues": [] } },
            { "action": { "kind": "external", "number": " " } } ] }),
    )
    .await;
    assert_error(s, &body, 422, "validation_failed");
    let details: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert_eq!(
        details,
        [
            "overflow[0].after_secs: must be at most 86400 (a day), got 100000",
            "overflow[1].action.queues: lists no queue",
            "overflow[2].action.number: must not be empty",
        ]
    );

    // a patch: into itself, or closing a cycle, is refused; the rules stay
    let spill_url = format!("/api/v1/queues/{spill}");
    let (s, body) = app
        .send(
            Method::PATCH,
            &spill_url,
            Admin,
            json!({ "overflow": [{ "action": { "kind": "queue", "queue": spill } }] }),
        )
        .await;
    assert_error(s, &body, 422, "validation_failed");
    assert_eq!(body["error"]["message"], "overflow[0].action.queue: a queue cannot overflow into itself");
    let (s, body) = app
        .send(
            Method::PATCH,
            &spill_url,
            Admin,
            json!({ "overflow": [{ "action": { "kind": "queue", "queue": main["id"] } }] }),
        )
        .await;
    assert_error(s, &body, 422, "validation_failed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("cycle") && message.contains("main") && message.contains("spill"), "{body}");
    let (_, spill_row) = app.get(&spill_url, Agent).await;
    assert_eq!(spill_row["overflow"], json!([]));

    // bad shapes: an unknown action kind or field → 422
    for bad in [
        json!([{ "action": { "kind": "teleport" } }]),
        json!([{ "action": { "kind": "voicemail" }, "x": 1 }]),
        json!([{ "after_secs": -1, "action": { "kind": "voicemail" } }]),
    ] {
        let (s, body) = app.send(Method::PATCH, &spill_url, Admin, json!({ "overflow": bad })).await;
        assert_error(s, &body, 422, "validation_failed");
    }

    // a queue another queue overflows into cannot be deleted from under the rule
    let (s, body) = app.call(Method::DELETE, &spill_url, Some(app.token(Admin)), None).await;
    assert_error(s, &body, 409, "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains("main"), "{body}");
    // a patch without overflow keeps it; an empty list clears it
    let (s, renamed) = app.send(Method::PATCH, &main_url, Admin, json!({ "name": "main2" })).await;
    assert_eq!(s, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["overflow"], main["overflow"]);
    let (s, cleared) = app.send(Method::PATCH, &main_url, Admin, json!({ "overflow": [] })).await;
    assert_eq!(s, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["overflow"], json!([]));
    // … and now spill may move calls to main
    let (s, spilled) = app
        .send(
            Method::PATCH,
            &spill_url,
            Admin,
            json!({ "overflow": [{ "action": { "kind": "queue", "queue": main["id"] } }] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{spilled}");
    let (s, body) = app.send(Method::PATCH, &format!("/api/v1/queues/{ghost}"), Admin, json!({ "overflow": [] })).await;
    assert_error(s, &body, 404, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn a_broken_overflow_rule_in_the_database_does_not_keep_the_server_from_starting() {
    use kefu_core::acd::{OverflowAction, OverflowStep, OverflowWhen};
    let ghost = kefu_core::QueueId::from_uuid(kefu_store::new_uuid());
    let app = TestApp::spawn_seeded(crate::settings(), |store, _| async move {
        let new = kefu_store::NewQueue {
            name: "orphan".into(),
            description: String::new(),
            strategy: kefu_core::org::QueueStrategy::LongestIdle,
            targets: kefu_core::org::ServiceTargets::default(),
            skills: vec![],
            overflow: vec![OverflowStep {
                after_secs: 10,
                when: OverflowWhen::Always,
                action: OverflowAction::Queue { queue: ghost },
            }],
        };
        store.create_queue(&new, kefu_core::Timestamp::from_millis(0)).await.unwrap();
    })
    .await;
    let (s, acd) = app.get("/api/v1/acd", Supervisor).await;
    assert_eq!(s, StatusCode::OK, "{acd}");
    assert_eq!(acd["queues"][0]["name"], "orphan", "routed, with its broken rule set aside: {acd}");
    app.stop().await;
}
