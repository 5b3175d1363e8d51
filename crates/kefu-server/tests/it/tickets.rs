//! Work orders over HTTP: creation from a leaf's defaults, clear 422s, who may change whose
//! order, dispatch between departments' lists, the workflow, CSV export and attachments.

use crate::categories::{app_with_teams, find, put_yaml};
use crate::{PASSWORD, TestApp, assert_error};
use kefu_core::Role::{self, Admin, Agent, Qa, TeamLead};
use kefu_store::{NewCustomer, NewUser, UserPatch};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    app: TestApp,
    /// The data directory (attachments).
    dir: tempfile::TempDir,
    /// 一线客服 (the agent `agent` belongs to it).
    team_a: String,
    /// 售后部 (`agent_b` belongs to it).
    team_b: String,
    /// The token of `agent_b`.
    agent_b: String,
    /// 咨询/产品功能/使用方法 (group 一线客服).
    leaf_a: String,
    /// 售后/产品质量/不新鲜 (group 售后部).
    leaf_b: String,
    /// 售后 (not a leaf).
    branch: String,
}

async fn world() -> World {
    let (app, dir) = app_with_teams().await;
    assert_eq!(put_yaml(&app, crate::categories::TREE_YAML).await.0, 200);
    let teams = app.store.list_teams(&kefu_store::PageRequest::default()).await.unwrap().items;
    let id_of = |name: &str| teams.iter().find(|t| t.name == name).unwrap().id;
    let (a, b) = (id_of("一线客服"), id_of("售后部"));
    let now = app.clock.now();
    app.store
        .update_user(app.users[&Agent].id, &UserPatch { team_id: Some(Some(a)), ..UserPatch::default() }, now)
        .await
        .unwrap();
    let new = NewUser {
        username: "agent_b".into(),
        display_name: "售后小李".into(),
        role: Agent,
        password_hash: crate::password_hash().to_owned(),
        team_id: Some(b),
        extension: None,
        skills: vec![],
        sip: None,
    };
    app.store.create_user(&new, now).await.unwrap();
    let agent_b = app.login("agent_b", PASSWORD).await;
    let (_, tree) = app.get("/api/v1/categories", Agent).await;
    let id = |path: &str| find(&tree, path)["id"].as_str().unwrap().to_owned();
    World {
        team_a: a.to_string(),
        team_b: b.to_string(),
        agent_b,
        leaf_a: id("咨询/产品功能/使用方法"),
        leaf_b: id("售后/产品质量/不新鲜"),
        branch: id("售后"),
        app,
        dir,
    }
}

impl World {
    async fn create(&self, role: Role, body: Value) -> Value {
        let (s, t) = self.app.send(Method::POST, "/api/v1/tickets", role, body).await;
        assert_eq!(s, 201, "{t}");
        t
    }

    async fn as_b(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.call(method, path, Some(&self.agent_b), body).await
    }
}

#[tokio::test]
async fn an_order_created_in_a_leaf_takes_its_defaults() {
    let w = world().await;
    let t = w
        .create(
            Agent,
            // an agent files for another department's list, with the result of their call
            json!({ "category_id": w.leaf_b, "channel": "phone", "summary": "  玫瑰花到货就蔫了  ", "result": "已安排补发" }),
        )
        .await;
    assert_eq!(t["result"], "已安排补发", "{t}");
    assert!(t["number"].as_str().unwrap().starts_with("GD"), "{t}");
    assert_eq!((t["type"].as_str(), t["priority"].as_str()), (Some("complaint"), Some("p1")));
    assert_eq!(t["team_id"].as_str(), Some(w.team_b.as_str()));
    assert_eq!((t["status"].as_str(), t["summary"].as_str()), (Some("new"), Some("玫瑰花到货就蔫了")));
    assert_eq!(t["category_path"], "售后/产品质量/不新鲜");
    assert_eq!(t["sla_targets"]["first_response_mins"], 30);
    assert_eq!(t["sla"]["first_response"]["breached"], false);
    assert!(t["sla"]["first_response"]["due"].as_i64().unwrap() > t["created_at"].as_i64().unwrap());
    assert_eq!(t["version"], 1);

    // given values win; the number finds it
    let t2 = w
        .create(
            TeamLead,
            json!({ "category_id": w.leaf_a, "channel": "web", "summary": "怎么开发票", "type": "suggestion",
                    "priority": "p2", "solutions": ["视频指引"], "call_id": "call-9" }),
        )
        .await;
    assert_eq!((t2["type"].as_str(), t2["priority"].as_str()), (Some("suggestion"), Some("p2")));
    assert_eq!(t2["calls"][0]["call_id"], "call-9");
    let (s, by_number) = w.app.get(&format!("/api/v1/tickets/by-number/{}", t2["number"].as_str().unwrap()), Qa).await;
    assert_eq!((s, &by_number["id"]), (StatusCode::OK, &t2["id"]));
    let (s, body) = w.app.get("/api/v1/tickets/by-number/GD19700101-0001", Qa).await;
    assert_error(s, &body, 404, "not_found");
    w.app.stop().await;
}

#[tokio::test]
async fn bad_orders_get_422s_that_name_the_problem() {
    let w = world().await;
    let base = || json!({ "category_id": w.leaf_b, "channel": "phone", "summary": "x" });
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    let cases = [
        (with("summary", json!("长".repeat(201))), "summary: must be at most 200 characters"),
        (with("summary", json!("   ")), "summary: must not be empty"),
        (with("details", json!("x".repeat(10_001))), "details must be at most 10000 characters"),
        (with("result", json!("x".repeat(10_001))), "result must be at most 10000 characters"),
        (with("solutions", json!(["送一辆车"])), "solution `送一辆车` is not in the list of `售后/产品质量/不新鲜`"),
        (with("category_id", json!(w.branch)), "`售后` is not a leaf"),
        (with("customer_id", json!(kefu_store::new_uuid())), "unknown customer"),
        (with("amount", json!(-1)), "amount cannot be negative"),
        (with("type", json!("rant")), "unknown variant `rant`"),
        (with("channel", json!("pigeon")), "unknown variant `pigeon`"),
        (with("priority", json!("p9")), "unknown priority `p9`"),
        (with("template_fields", json!({"a": 1})), "template_fields need a template"),
    ];
    for (body, needle) in cases {
        let (s, resp) = w.app.send(Method::POST, "/api/v1/tickets", Agent, body.clone()).await;
        assert_error(s, &resp, 422, "validation_failed");
        assert!(resp["error"]["message"].as_str().unwrap().contains(needle), "{body}: {resp}");
    }
    let (s, resp) = w.app.send(Method::POST, "/api/v1/tickets", Qa, base()).await;
    assert_error(s, &resp, 403, "forbidden");

    // list parameters are checked too
    for q in [
        "status=new,bogus",
        "sort=colour",
        "order=up",
        "owner=someone",
        "colour=red",
        "cursor=zz",
        "created_from=9&created_to=1",
    ] {
        let (s, resp) = w.app.get(&format!("/api/v1/tickets?{q}"), Agent).await;
        assert_error(s, &resp, 400, "bad_request");
    }
    w.app.stop().await;
}

#[tokio::test]
async fn agents_change_only_their_own_teams_orders() {
    let w = world().await;
    // a 售后部 order: the agent of 一线客服 may read it but not change it
    let t = w.create(Agent, json!({ "category_id": w.leaf_b, "channel": "phone", "summary": "鲜花不新鲜" })).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let path = |suffix: &str| format!("/api/v1/tickets/{id}{suffix}");
    let attempts = [
        (Method::PATCH, path(""), json!({ "version": 1, "summary": "改掉" })),
        (Method::POST, path("/status"), json!({ "status": "in_progress", "version": 1 })),
        (Method::POST, path("/assign"), json!({ "owner": w.app.users[&Agent].id })),
        (Method::POST, path("/dispatch"), json!({ "team": w.team_a, "note": "给我吧" })),
        (Method::POST, path("/escalate"), json!({ "note": "升级" })),
        (Method::POST, path("/comments"), json!({ "body": "看过了" })),
        (Method::POST, path("/calls"), json!({ "call_id": "c-1" })),
    ];
    for (method, url, body) in &attempts {
        let (s, resp) = w.app.send(method.clone(), url, Agent, body.clone()).await;
        assert_error(s, &resp, 403, "forbidden");
        assert!(resp["error"]["message"].as_str().unwrap().contains("another team"), "{resp}");
    }
    let (s, resp) =
        w.app.raw(Method::POST, &path("/attachments?name=a.txt"), Agent, Some("text/plain"), b"hi".to_vec()).await;
    assert_error(s, &resp, 403, "forbidden");
    let (s, now) = w.app.get(&path(""), Agent).await;
    assert_eq!((s, now["version"].as_i64(), now["summary"].as_str()), (StatusCode::OK, Some(1), Some("鲜花不新鲜")));
    let (_, history) = w.app.get(&path("/history"), Agent).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "nothing recorded: {history}");

    // its own team's agent may; so may a team lead of any team
    let (s, resp) = w.as_b(Method::PATCH, &path(""), Some(json!({ "version": 1, "summary": "花瓣发黑" }))).await;
    assert_eq!(s, 200, "{resp}");
    let (s, resp) = w.app.send(Method::POST, &path("/comments"), TeamLead, json!({ "body": "已联系仓库" })).await;
    assert_eq!(s, 201, "{resp}");
    assert!(resp["sla"]["first_response"]["met_at"].is_i64());
    // a stale version is a conflict
    let (s, resp) = w.as_b(Method::PATCH, &path(""), Some(json!({ "version": 1, "summary": "再改" }))).await;
    assert_error(s, &resp, 409, "conflict");

    // an order in no team with no owner (an import) can be taken by anyone who works orders
    let leaf = w.app.store.category(w.leaf_a.parse().unwrap()).await.unwrap();
    let bulk = kefu_store::NewTicketBulk {
        customer_id: None,
        channel: kefu_core::service::ticket::Channel::Other,
        category_id: leaf.id,
        ticket_type: kefu_core::service::ticket::TicketType::Consultation,
        priority: kefu_core::service::ticket::Priority::P4,
        summary: "导入的工单".into(),
        details: String::new(),
        status: kefu_core::service::ticket::TicketStatus::New,
        owner_id: None,
        team_id: None,
        sla_targets: leaf.defaults.unwrap().sla,
        sla_breached: false,
        created_by: w.app.users[&Admin].id,
        created_at: w.app.clock.now(),
        updated_at: w.app.clock.now(),
        resolved_at: None,
        closed_at: None,
    };
    let numbers = w.app.store.insert_tickets_bulk(&[bulk], 480).await.unwrap();
    let free = w.app.store.ticket_by_number(&numbers[0]).await.unwrap();
    let (s, resp) = w
        .app
        .send(
            Method::POST,
            &format!("/api/v1/tickets/{}/assign", free.id),
            Agent,
            json!({ "owner": w.app.users[&Agent].id }),
        )
        .await;
    assert_eq!((s, resp["status"].as_str()), (StatusCode::OK, Some("assigned")), "{resp}");
    assert_eq!(resp["team_id"].as_str(), Some(w.team_a.as_str()), "the owner's team comes along");
    w.app.stop().await;
}

#[tokio::test]
async fn dispatch_moves_an_order_to_another_departments_list() {
    let w = world().await;
    let t = w.create(Agent, json!({ "category_id": w.leaf_a, "channel": "phone", "summary": "要退货" })).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let list = |team: &str| format!("/api/v1/tickets?team={team}&status=new,assigned");
    let ids = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&w.app.get(&list(&w.team_a), Agent).await.1), std::slice::from_ref(&id));

    let (s, body) = w
        .app
        .send(Method::POST, &format!("/api/v1/tickets/{id}/dispatch"), Agent, json!({ "team": w.team_b, "note": "" }))
        .await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, d) = w
        .app
        .send(
            Method::POST,
            &format!("/api/v1/tickets/{id}/dispatch"),
            Agent,
            json!({ "team": w.team_b, "note": "售后处理退货" }),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert!(ids(&w.app.get(&list(&w.team_a), Agent).await.1).is_empty());
    assert_eq!(ids(&w.app.get(&list(&w.team_b), Agent).await.1), std::slice::from_ref(&id));
    // now it is 售后部's: its agent takes it, the first agent no longer may change it
    let (s, taken) =
        w.as_b(Method::POST, &format!("/api/v1/tickets/{id}/assign"), Some(json!({ "owner": "me" }))).await;
    assert_error(s, &taken, 422, "validation_failed");
    let me_b = w.app.store.user_by_username("agent_b").await.unwrap().id;
    let (s, taken) =
        w.as_b(Method::POST, &format!("/api/v1/tickets/{id}/assign"), Some(json!({ "owner": me_b }))).await;
    assert_eq!((s, taken["status"].as_str()), (StatusCode::OK, Some("assigned")), "{taken}");
    let (s, mine) = w.as_b(Method::GET, "/api/v1/tickets?owner=me", None).await;
    assert_eq!((s, ids(&mine)), (StatusCode::OK, vec![id.clone()]));
    let (s, body) =
        w.app.send(Method::POST, &format!("/api/v1/tickets/{id}/comments"), Agent, json!({ "body": "x" })).await;
    assert_error(s, &body, 403, "forbidden");

    // the workflow over HTTP
    let v = taken["version"].as_i64().unwrap();
    let status_url = format!("/api/v1/tickets/{id}/status");
    let status = |body: Value| w.as_b(Method::POST, &status_url, Some(body));
    let (s, body) = status(json!({ "status": "closed", "version": v })).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = status(json!({ "status": "pending", "version": v })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = status(json!({ "status": "in_progress", "version": v - 1 })).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) =
        status(json!({ "status": "pending", "reason": "third_party", "note": "等快递", "version": v })).await;
    assert_eq!((s, body["sla"]["paused"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (s, body) = w
        .as_b(Method::POST, &format!("/api/v1/tickets/{id}/escalate"), Some(json!({ "tier": 3, "note": "金额大" })))
        .await;
    assert_eq!((s, body["tier"].as_u64()), (StatusCode::OK, Some(3)), "{body}");
    let (s, body) =
        w.as_b(Method::POST, &format!("/api/v1/tickets/{id}/escalate"), Some(json!({ "note": "再升" }))).await;
    assert_error(s, &body, 409, "conflict");

    let (_, history) = w.app.get(&format!("/api/v1/tickets/{id}/history"), Qa).await;
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "dispatched", "assigned", "status", "status", "escalated"]);
    let dispatched = &history[1];
    assert_eq!(dispatched["actor_name"], "The agent");
    assert_eq!(dispatched["detail"]["note"], "售后处理退货");
    assert_eq!(dispatched["detail"]["to_team"].as_str(), Some(w.team_b.as_str()));
    w.app.stop().await;
}

#[tokio::test]
async fn team_leads_export_csv_and_agents_may_not() {
    let w = world().await;
    let customer = w
        .app
        .store
        .create_customer(&NewCustomer { name: "陈女士".into(), ..NewCustomer::default() }, w.app.clock.now())
        .await
        .unwrap();
    w.create(Agent, json!({ "category_id": w.leaf_b, "channel": "phone", "summary": "花不新鲜, \"很生气\"", "customer_id": customer.id })).await;
    w.create(Agent, json!({ "category_id": w.leaf_a, "channel": "chat", "summary": "怎么用" })).await;

    let resp = w
        .app
        .client
        .get(format!("{}/api/v1/tickets/export.csv?sort=created_at&order=asc", w.app.base))
        .bearer_auth(w.app.token(TeamLead))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "number",
            "created_at",
            "status",
            "type",
            "priority",
            "category",
            "summary",
            "customer",
            "owner",
            "team",
            "resolved_at"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][5], "售后/产品质量/不新鲜");
    assert_eq!(&rows[0][6], "花不新鲜, \"很生气\"");
    assert_eq!(&rows[0][7], "陈女士");
    assert_eq!(&rows[0][9], "售后部");
    assert!(rows[0][1].ends_with('Z') && rows[0][1].contains('T'));
    assert_eq!(&rows[1][7], "");

    // the same filters as the list
    let (s, filtered) = w.app.get("/api/v1/tickets/export.csv?type=complaint", Admin).await;
    assert_eq!(s, 200);
    assert_eq!(filtered.as_str().unwrap().lines().count(), 2, "{filtered}");

    let (s, body) = w.app.get("/api/v1/tickets/export.csv", Agent).await;
    assert_error(s, &body, 403, "forbidden");
    let audit = w.app.get("/api/v1/audit?limit=500", Admin).await.1;
    let exports: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "ticket.export").collect();
    assert_eq!(exports.len(), 2);
    w.app.stop().await;
}

#[tokio::test]
async fn attachments_upload_download_and_limits() {
    let w = world().await;
    let t = w.create(Agent, json!({ "category_id": w.leaf_a, "channel": "phone", "summary": "屏幕碎了" })).await;
    let id = t["id"].as_str().unwrap();
    let png: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let url = format!("/api/v1/tickets/{id}/attachments?name=%E7%85%A7%E7%89%87.png");
    let (s, att) = w.app.raw(Method::POST, &url, Agent, Some("image/png"), png.clone()).await;
    assert_eq!(s, 201, "{att}");
    assert_eq!(
        (att["name"].as_str(), att["size_bytes"].as_u64(), att["content_type"].as_str()),
        (Some("照片.png"), Some(3000), Some("image/png"))
    );
    assert!(att.get("path").is_none(), "the server path is not shown");

    let (s, list) = w.app.get(&format!("/api/v1/tickets/{id}/attachments"), Qa).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 1));
    let resp = w
        .app
        .client
        .get(format!("{}/api/v1/tickets/{id}/attachments/{}", w.app.base, att["id"].as_str().unwrap()))
        .bearer_auth(w.app.token(Qa))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("UTF-8''%E7%85%A7%E7%89%87.png"));
    assert_eq!(resp.bytes().await.unwrap().to_vec(), png);

    // empty, too large (the test server takes 64 KiB), no name, a path for a name
    let (s, body) = w.app.raw(Method::POST, &url, Agent, Some("image/png"), Vec::new()).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = w.app.raw(Method::POST, &url, Agent, Some("image/png"), vec![7; 65 * 1024]).await;
    assert_error(s, &body, 413, "payload_too_large");
    let (s, body) = w.app.raw(Method::POST, &format!("/api/v1/tickets/{id}/attachments"), Agent, None, vec![1]).await;
    assert_error(s, &body, 400, "bad_request");
    let (s, body) =
        w.app.raw(Method::POST, &format!("/api/v1/tickets/{id}/attachments?name=..%2Fx"), Agent, None, vec![1]).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = w.app.get(&format!("/api/v1/tickets/{id}/attachments/{}", kefu_store::new_uuid()), Qa).await;
    assert_error(s, &body, 404, "not_found");
    let (s, body) = w.app.get(&format!("/api/v1/tickets/{id}/attachments/nope"), Qa).await;
    assert_error(s, &body, 400, "bad_request");
    let (_, list) = w.app.get(&format!("/api/v1/tickets/{id}/attachments"), Qa).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "failed uploads leave nothing behind");
    let files: Vec<String> = std::fs::read_dir(w.dir.path().join("attachments").join(id))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, [att["id"].as_str().unwrap()], "one file, named by its id, no temporary left");
    w.app.stop().await;
}
