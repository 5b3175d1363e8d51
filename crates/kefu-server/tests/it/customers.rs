//! Customers over HTTP: masking by role, the audit of clear reads (SEC-2, SEC-3), erase,
//! CSV export, assets, notes, custom fields, and bad input.

use crate::{TestApp, assert_error};
use kefu_core::Role::{Admin, Agent, Qa, Supervisor, TeamLead};
use kefu_store::{AuditEntry, PageRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ID_CARD: &str = "11010519491231002X";

async fn audit(app: &TestApp, action: &str) -> Vec<AuditEntry> {
    let page = PageRequest { limit: Some(500), cursor: None };
    app.store.list_audit(&page).await.unwrap().items.into_iter().filter(|e| e.action == action).collect()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, c) = app.send(Method::POST, "/api/v1/customers", Agent, body).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c
}

/// Downloads the CSV export as `role`.
async fn export(app: &TestApp, role: kefu_core::Role, query: &str) -> (StatusCode, String) {
    let resp = app
        .client
        .get(format!("{}/api/v1/customers/export.csv{query}", app.base))
        .bearer_auth(app.token(role))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn agents_see_masked_numbers_supervisors_clear_ones_and_that_is_audited() {
    let app = TestApp::spawn().await;
    let c = create(
        &app,
        json!({"name": "张三", "tier": "vip", "phones": ["+86 138-1234-5678", {"number": "010-87654321", "label": "home"}],
               "id_card": ID_CARD, "tags": ["vip"]}),
    )
    .await;
    assert_eq!(c["phones"][0]["number"], "138****5678", "the creating agent sees it masked too: {c}");
    assert_eq!(c["phones"][1], json!({"number": "*******4321", "label": "home"}));
    assert_eq!(c["id_card"], "110105********002X");
    assert_eq!(c["birthday"], "--12-31");
    assert_eq!(c["gender"], "female");
    assert_eq!(c["masked"], true);
    let id = c["id"].as_str().unwrap().to_owned();

    // the agent's screen pop: any form of the caller id finds the customer, masked
    for form in ["13812345678", "%2B8613812345678", "sip:%2B8613812345678@192.0.2.1", "0086%20138%201234%205678"] {
        let (status, page) = app.get(&format!("/api/v1/customers?phone={form}"), Agent).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{form}: {page}");
        assert_eq!(page["items"][0]["id"], id.as_str());
        assert_eq!(page["items"][0]["phones"][0]["number"], "138****5678");
        assert_eq!(page["masked"], true);
    }
    let (_, one) = app.get(&format!("/api/v1/customers/{id}"), Agent).await;
    assert_eq!(one["phones"][0]["number"], "138****5678");
    assert!(!one.to_string().contains("13812345678") && !one.to_string().contains("19491231"));
    let (_, one) = app.get(&format!("/api/v1/customers/{id}"), Qa).await;
    assert_eq!(one["masked"], true);
    assert!(audit(&app, "customer.pii_read").await.is_empty(), "masked reads leave no audit entry");

    // a supervisor sees them in clear, and each such request leaves one entry
    let (status, one) = app.get(&format!("/api/v1/customers/{id}"), Supervisor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["phones"][0]["number"], "13812345678");
    assert_eq!(one["phones"][1]["number"], "01087654321");
    assert_eq!(one["id_card"], ID_CARD);
    assert_eq!(one["birthday"], "1949-12-31");
    assert_eq!(one["masked"], false);
    let entries = audit(&app, "customer.pii_read").await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!((e.target.as_str(), e.actor_name.as_str()), (id.as_str(), "supervisor"));
    assert_eq!(e.detail["customers"], json!([id]));
    assert_eq!(e.detail["fields"], json!(["phones", "id_card", "birthday"]));
    assert!(!e.detail.to_string().contains("5678") && !e.detail.to_string().contains(ID_CARD), "never the values");

    let (_, page) = app.get("/api/v1/customers?q=%E5%BC%A0", Admin).await;
    assert_eq!(page["items"][0]["phones"][0]["number"], "13812345678");
    let entries = audit(&app, "customer.pii_read").await;
    assert_eq!(entries.len(), 2);
    assert_eq!((entries[1].target.as_str(), entries[1].actor_name.as_str()), ("list", "admin"));
    assert_eq!(entries[1].detail["customers"], json!([id]));
    app.stop().await;
}

#[tokio::test]
async fn masked_values_are_never_accepted_back() {
    let app = TestApp::spawn().await;
    let c = create(&app, json!({"name": "李四", "phones": ["13812345678"], "id_card": ID_CARD})).await;
    let id = c["id"].as_str().unwrap();
    let url = format!("/api/v1/customers/{id}");
    // echoing the masked view back must not replace the real numbers
    for body in [
        json!({"phones": ["138****5678"]}),
        json!({"phones": [{"number": "138****5678", "label": "mobile"}]}),
        json!({"id_card": "110105********002X"}),
    ] {
        let (status, resp) = app.send(Method::PATCH, &url, Agent, body.clone()).await;
        assert_error(status, &resp, 422, "validation_failed");
        assert!(resp["error"]["message"].as_str().unwrap().contains("masked"), "{body}: {resp}");
    }
    let (_, asset) = app
        .send(
            Method::POST,
            &format!("{url}/assets"),
            Agent,
            json!({"kind": "account", "name": "card", "number": "****7890"}),
        )
        .await;
    assert_error(StatusCode::UNPROCESSABLE_ENTITY, &asset, 422, "validation_failed");
    let (_, clear) = app.get(&url, Supervisor).await;
    assert_eq!(clear["phones"][0]["number"], "13812345678", "unchanged");
    assert_eq!(clear["id_card"], ID_CARD);

    // a change that leaves the numbers alone works for the agent
    let (status, changed) =
        app.send(Method::PATCH, &url, Agent, json!({"tier": "gold", "email": "li@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["tier"].as_str(), changed["email"].as_str()), (Some("gold"), Some("li@example.com")));
    assert_eq!(changed["phones"][0]["number"], "138****5678");
    app.stop().await;
}

#[tokio::test]
async fn only_pii_holders_erase_and_the_erase_is_audited() {
    let app = TestApp::spawn().await;
    let c = create(&app, json!({"name": "王五", "phones": ["13700001111"]})).await;
    let id = c["id"].as_str().unwrap();
    for role in [Agent, TeamLead, Qa] {
        let (status, resp) =
            app.call(Method::POST, &format!("/api/v1/customers/{id}/erase"), Some(app.token(role)), None).await;
        assert_error(status, &resp, 403, "forbidden");
    }
    let (_, still) = app.get(&format!("/api/v1/customers/{id}"), Supervisor).await;
    assert_eq!((still["name"].as_str(), still["phones"][0]["number"].as_str()), (Some("王五"), Some("13700001111")));
    assert!(audit(&app, "customer.erase").await.is_empty());

    let (status, erased) =
        app.call(Method::POST, &format!("/api/v1/customers/{id}/erase"), Some(app.token(Supervisor)), None).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["name"], "(erased)");
    assert_eq!(erased["phones"], json!([]));
    assert!(erased["erased_at"].is_i64());
    let entries = audit(&app, "customer.erase").await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].target.as_str(), entries[0].actor_name.as_str()), (id, "supervisor"));
    let (_, page) = app.get("/api/v1/customers?phone=13700001111", Agent).await;
    assert_eq!(page["items"], json!([]), "the number is gone");
    let (status, resp) = app.send(Method::PATCH, &format!("/api/v1/customers/{id}"), Agent, json!({"name": "x"})).await;
    assert_error(status, &resp, 409, "conflict");
    app.stop().await;
}

#[tokio::test]
async fn csv_export_is_masked_by_role_and_audited() {
    let app = TestApp::spawn().await;
    create(&app, json!({"name": "赵六, Jr.", "phones": ["13812345678"], "id_card": ID_CARD, "tags": ["a", "b"]})).await;
    create(&app, json!({"name": "钱七", "phones": ["13900002222"]})).await;

    let (status, body) = export(&app, Agent, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, masked) = export(&app, TeamLead, "").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = masked.lines().collect();
    assert_eq!(lines[0], "id,name,tier,phones,email,id_card,birthday,gender,tags,created_at");
    assert_eq!(lines.len(), 3);
    assert!(masked.contains("138****5678") && masked.contains("139****2222") && masked.contains("110105********002X"));
    assert!(masked.contains("\"赵六, Jr.\""), "quoted: {masked}");
    assert!(!masked.contains("13812345678") && !masked.contains(ID_CARD), "{masked}");
    assert!(audit(&app, "customer.pii_read").await.is_empty());

    let (status, clear) = export(&app, Supervisor, "?tag=a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(clear.lines().count(), 2, "filtered by tag: {clear}");
    assert!(clear.contains("13812345678") && clear.contains(ID_CARD) && clear.contains("1949-12-31"));
    let exports = audit(&app, "customer.export").await;
    assert_eq!(exports.len(), 2, "team lead's and supervisor's");
    assert_eq!((exports[0].detail["masked"].as_bool(), exports[0].detail["rows"].as_i64()), (Some(true), Some(2)));
    assert_eq!((exports[1].detail["masked"].as_bool(), exports[1].detail["rows"].as_i64()), (Some(false), Some(1)));
    assert_eq!(exports[1].actor_name, "supervisor");
    assert!(!exports[1].detail.to_string().contains("13812345678"));

    let (status, _) = export(&app, Supervisor, "?cursor=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_answers() {
    let app = TestApp::spawn().await;
    let (status, f) = app
        .send(
            Method::POST,
            "/api/v1/customer-fields",
            Admin,
            json!({"key": "plan", "label": "套餐", "kind": "choice", "options": ["basic", "pro"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    let cases = [
        (json!({"name": "A", "id_card": "110105194912310021"}), "id_card: check digit"),
        (json!({"name": "A", "phones": ["12-34"]}), "phones[0]: is too short"),
        (json!({"name": "A", "phones": ["138abc45678"]}), "phones[0]"),
        (json!({"name": "A", "custom": {"shoe_size": 42}}), "custom.shoe_size: is not a defined customer field"),
        (json!({"name": "A", "custom": {"plan": "gold"}}), "custom.plan: `gold` is not one of basic, pro"),
        (json!({"name": "A", "email": "nobody"}), "email:"),
        (json!({"name": "   "}), "name: is required"),
        (json!({"name": "A", "tier": "platinum"}), "invalid request body"),
        (json!({"name": "A", "colour": "red"}), "invalid request body"),
    ];
    for (body, expected) in cases {
        let (status, resp) = app.send(Method::POST, "/api/v1/customers", Agent, body.clone()).await;
        assert_error(status, &resp, 422, "validation_failed");
        let message = resp["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    let (status, ok) =
        app.send(Method::POST, "/api/v1/customers", Agent, json!({"name": "A", "custom": {"plan": "pro"}})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ok["custom"], json!({"plan": "pro"}));

    let unknown = kefu_store::new_uuid();
    for path in [
        format!("/api/v1/customers/{unknown}"),
        format!("/api/v1/customers/{unknown}/assets"),
        format!("/api/v1/customers/{unknown}/notes"),
    ] {
        let (status, resp) = app.get(&path, Agent).await;
        assert_error(status, &resp, 404, "not_found");
    }
    let (status, resp) =
        app.send(Method::PATCH, &format!("/api/v1/customers/{unknown}"), Agent, json!({"tier": "vip"})).await;
    assert_error(status, &resp, 404, "not_found");
    let (status, resp) = app.get("/api/v1/customers/not-a-uuid", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    let (status, resp) = app.get("/api/v1/customers?phone=12", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    let (status, resp) = app.get("/api/v1/customers?cursor=garbage", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    let (status, resp) = app.get("/api/v1/customers?tier=gold&sort=age", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    app.stop().await;
}

#[tokio::test]
async fn assets_notes_fields_and_paging() {
    let app = TestApp::spawn().await;
    let c = create(&app, json!({"name": "孙八"})).await;
    let id = c["id"].as_str().unwrap();

    // assets: numbers masked for the agent, clear (and audited) for the supervisor
    let (status, a) = app
        .send(
            Method::POST,
            &format!("/api/v1/customers/{id}/assets"),
            Agent,
            json!({"kind": "account", "name": "储蓄卡", "number": "6222021234567890", "fields": {"bank": "ICBC"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["number"], "************7890");
    let asset = a["id"].as_str().unwrap();
    let (_, list) = app.get(&format!("/api/v1/customers/{id}/assets"), Supervisor).await;
    assert_eq!(list["items"][0]["number"], "6222021234567890");
    assert_eq!(list["masked"], false);
    let entries = audit(&app, "customer.pii_read").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["fields"], json!(["asset_numbers"]));
    let (status, patched) = app
        .send(Method::PATCH, &format!("/api/v1/customers/{id}/assets/{asset}"), Agent, json!({"number": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["number"], Value::Null);
    assert_eq!(patched["fields"], json!({"bank": "ICBC"}));
    let (status, resp) =
        app.send(Method::PATCH, &format!("/api/v1/customers/{id}/assets/nope"), Agent, json!({})).await;
    assert_error(status, &resp, 400, "bad_request");
    let (status, _) =
        app.call(Method::DELETE, &format!("/api/v1/customers/{id}/assets/{asset}"), Some(app.token(Agent)), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, resp) =
        app.call(Method::DELETE, &format!("/api/v1/customers/{id}/assets/{asset}"), Some(app.token(Agent)), None).await;
    assert_error(status, &resp, 404, "not_found");

    // notes, newest first, paged
    for i in 0..3 {
        app.clock.advance(10);
        let (status, n) = app
            .send(Method::POST, &format!("/api/v1/customers/{id}/notes"), Agent, json!({"body": format!("note {i}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{n}");
        assert_eq!(n["author_id"], app.users[&Agent].id.to_string());
    }
    let (_, page) = app.get(&format!("/api/v1/customers/{id}/notes?limit=2"), Qa).await;
    assert_eq!(
        page["items"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap()).collect::<Vec<_>>(),
        ["note 2", "note 1"]
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/customers/{id}/notes?limit=2&cursor={cursor}"), Qa).await;
    assert_eq!(rest["items"][0]["body"], "note 0");
    let (status, resp) =
        app.send(Method::POST, &format!("/api/v1/customers/{id}/notes"), Agent, json!({"body": ""})).await;
    assert_error(status, &resp, 422, "validation_failed");

    // field definitions: admin only, visible to everyone with customers_read
    let (status, f) = app
        .send(
            Method::POST,
            "/api/v1/customer-fields",
            Admin,
            json!({"key": "since", "label": "客户起始", "kind": "date"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    let fid = f["id"].as_str().unwrap();
    let (status, resp) = app
        .send(Method::POST, "/api/v1/customer-fields", Admin, json!({"key": "since", "label": "again", "kind": "text"}))
        .await;
    assert_error(status, &resp, 409, "conflict");
    let (status, resp) = app
        .send(Method::POST, "/api/v1/customer-fields", Admin, json!({"key": "x", "label": "X", "kind": "choice"}))
        .await;
    assert_error(status, &resp, 422, "validation_failed");
    let (_, fields) = app.get("/api/v1/customer-fields", Agent).await;
    assert_eq!(fields[0]["key"], "since");
    assert_eq!(fields[0]["kind"], "date");
    let (status, resp) = app
        .send(Method::PATCH, &format!("/api/v1/customers/{id}"), Agent, json!({"custom": {"since": "2023-02-29"}}))
        .await;
    assert_error(status, &resp, 422, "validation_failed");
    let (status, ok) = app
        .send(Method::PATCH, &format!("/api/v1/customers/{id}"), Agent, json!({"custom": {"since": "2024-02-29"}}))
        .await;
    assert_eq!((status, &ok["custom"]), (StatusCode::OK, &json!({"since": "2024-02-29"})));
    let (status, g) =
        app.send(Method::PATCH, &format!("/api/v1/customer-fields/{fid}"), Admin, json!({"required": true})).await;
    assert_eq!((status, &g["required"]), (StatusCode::OK, &json!(true)));
    let (status, _) =
        app.call(Method::DELETE, &format!("/api/v1/customer-fields/{fid}"), Some(app.token(Admin)), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(audit(&app, "customer_field.delete").await.len(), 1);

    // list paging by name
    for name in ["Bai", "Cao", "Deng"] {
        create(&app, json!({"name": name})).await;
    }
    let (_, first) = app.get("/api/v1/customers?sort=name&limit=2", Agent).await;
    assert_eq!(
        first["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Bai", "Cao"]
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, second) =
        app.get(&format!("/api/v1/customers?sort=name&limit=2&cursor={}", urlencode(cursor)), Agent).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["items"][0]["name"], "Deng");
    app.stop().await;
}

/// Percent-encodes everything but unreserved characters.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
