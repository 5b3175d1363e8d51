//! The category tree over HTTP: YAML import and export, problems named with their paths,
//! node edits, and the nested view agents pick from.

use crate::{TestApp, assert_error, settings};
use kefu_core::Role::{Admin, Agent, TeamLead};
use kefu_store::NewTeam;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The seed's tree in small: two groups, five leaves.
pub const TREE_YAML: &str = r#"
categories:
  - name: 咨询
    children:
      - name: 产品功能
        children:
          - name: 使用方法
            type: consultation
            priority: p3
            group: 一线客服
            sla: { first_response_mins: 5, resolution_mins: 5, update_every_mins: 180 }
            solutions: [提供操作手册, 视频指引]
          - name: 价格
            type: consultation
            priority: p4
            group: 一线客服
            sla: { first_response_mins: 5, resolution_mins: 60 }
      - name: 物流查询
        type: consultation
        priority: p3
        group: 一线客服
        sla: { first_response_mins: 3, resolution_mins: 3 }
  - name: 售后
    children:
      - name: 产品质量
        children:
          - name: 不新鲜
            type: complaint
            priority: p1
            group: 售后部
            sla: { first_response_mins: 30, resolution_mins: 1440, update_every_mins: 180, business_hours: true }
            solutions: [退款, 补发, 道歉]
"#;

/// An app with the two teams of [`TREE_YAML`], its files (attachments) in a temporary
/// directory that lives as long as the returned guard.
pub async fn app_with_teams() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.data_dir = dir.path().to_owned();
    let app = TestApp::spawn_seeded(s, |store, _| async move {
        for name in ["一线客服", "售后部"] {
            store.create_team(&NewTeam { name: name.into() }, kefu_core::Timestamp::from_millis(0)).await.unwrap();
        }
    })
    .await;
    (app, dir)
}

pub async fn put_yaml(app: &TestApp, yaml: &str) -> (StatusCode, Value) {
    app.raw(Method::PUT, "/api/v1/categories/import", Admin, Some("application/yaml"), yaml.as_bytes().to_vec()).await
}

pub async fn export_yaml(app: &TestApp) -> String {
    let resp = app
        .client
        .get(format!("{}/api/v1/categories/export", app.base))
        .bearer_auth(app.token(Agent))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/yaml"));
    resp.text().await.unwrap()
}

/// The node at `path` in the nested view.
pub fn find<'a>(tree: &'a Value, path: &str) -> &'a Value {
    let mut nodes = &tree["categories"];
    let mut found = &Value::Null;
    for name in path.split('/') {
        found =
            nodes.as_array().unwrap().iter().find(|n| n["name"] == name).unwrap_or_else(|| panic!("{path}: {tree}"));
        nodes = &found["children"];
    }
    found
}

#[tokio::test]
async fn yaml_export_and_import_round_trip() {
    let (app, _dir) = app_with_teams().await;
    let (s, summary) = put_yaml(&app, TREE_YAML).await;
    assert_eq!(s, 200, "{summary}");
    assert_eq!(summary, json!({"created": 8, "updated": 0, "deactivated": 0, "deleted": 0}));

    let exported = export_yaml(&app).await;
    let want: kefu_core::service::category::CategoryTree = serde_norway::from_str(TREE_YAML).unwrap();
    let got: kefu_core::service::category::CategoryTree = serde_norway::from_str(&exported).unwrap();
    assert_eq!(got, want);
    assert!(exported.contains("不新鲜") && exported.contains("group: 售后部"), "{exported}");

    // importing the export changes nothing but rewrites every node in place
    let (s, summary) = put_yaml(&app, &exported).await;
    assert_eq!(s, 200, "{summary}");
    assert_eq!(summary, json!({"created": 0, "updated": 8, "deactivated": 0, "deleted": 0}));
    assert_eq!(export_yaml(&app).await, exported);

    // agents read the nested tree with each leaf's defaults
    let (s, tree) = app.get("/api/v1/categories", Agent).await;
    assert_eq!(s, 200, "{tree}");
    let leaf = find(&tree, "售后/产品质量/不新鲜");
    assert_eq!(leaf["path"], "售后/产品质量/不新鲜");
    assert_eq!(leaf["defaults"]["type"], "complaint");
    assert_eq!(leaf["defaults"]["priority"], "p1");
    assert_eq!(leaf["team_name"], "售后部");
    assert_eq!(leaf["defaults"]["sla"]["first_response_mins"], 30);
    assert!(find(&tree, "售后")["defaults"].is_null());

    let audit = app.get("/api/v1/audit?limit=500", Admin).await.1;
    assert!(audit.to_string().contains("category.import"));
    app.stop().await;
}

#[tokio::test]
async fn an_import_with_problems_lists_each_with_its_path_and_changes_nothing() {
    let (app, _dir) = app_with_teams().await;
    assert_eq!(put_yaml(&app, TREE_YAML).await.0, 200);
    let bad = r#"
categories:
  - name: 咨询
    children:
      - name: 物流查询
        type: consultation
        priority: p3
        group: 仓库
        sla: { first_response_mins: 30, resolution_mins: 3 }
      - name: 物流查询
        type: consultation
        priority: p3
        group: 一线客服
        sla: { first_response_mins: 3, resolution_mins: 3 }
  - name: 一
    children:
      - name: 二
        children:
          - name: 三
            children:
              - name: 四
                type: suggestion
                priority: p4
                group: 一线客服
                sla: { first_response_mins: 3, resolution_mins: 3 }
"#;
    let (s, body) = put_yaml(&app, bad).await;
    assert_error(s, &body, 422, "validation_failed");
    let details: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert!(details.iter().any(|d| d.starts_with("咨询/物流查询: unknown group `仓库`")), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("咨询/物流查询") && d.contains("resolution_mins")), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("咨询/物流查询") && d.contains("already called")), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("一/二/三/四") && d.contains("3 levels")), "{details:?}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nothing was imported"));

    // a leaf missing its SLA, a typo'd key, plain garbage, an empty tree
    for (yaml, needle) in [
        ("categories:\n  - name: x\n    type: complaint\n    priority: p1\n    group: 售后部\n", "missing sla"),
        ("categories:\n  - name: x\n    colour: red\n", "colour"),
        ("categories: [", "YAML"),
        ("categories: []\n", "no categories"),
    ] {
        let (s, body) = put_yaml(&app, yaml).await;
        assert_error(s, &body, 422, "validation_failed");
        assert!(body.to_string().contains(needle), "{yaml}: {body}");
    }
    let want: kefu_core::service::category::CategoryTree = serde_norway::from_str(TREE_YAML).unwrap();
    let got: kefu_core::service::category::CategoryTree = serde_norway::from_str(&export_yaml(&app).await).unwrap();
    assert_eq!(got, want);
    app.stop().await;
}

#[tokio::test]
async fn nodes_are_edited_one_at_a_time() {
    let (app, _dir) = app_with_teams().await;
    assert_eq!(put_yaml(&app, TREE_YAML).await.0, 200);
    let (_, tree) = app.get("/api/v1/categories", TeamLead).await;
    let after_sales = find(&tree, "售后")["id"].as_str().unwrap().to_owned();
    let team = find(&tree, "售后/产品质量/不新鲜")["defaults"]["team_id"].clone();

    let (s, node) = app
        .send(
            Method::POST,
            "/api/v1/categories",
            Admin,
            json!({ "parent_id": after_sales, "name": "服务态度", "defaults": {
                "type": "complaint", "priority": "p2", "team_id": team,
                "sla": { "first_response_mins": 30, "resolution_mins": 720 }, "solutions": ["道歉"] } }),
        )
        .await;
    assert_eq!(s, 201, "{node}");
    assert_eq!((node["path"].as_str(), node["level"].as_u64()), (Some("售后/服务态度"), Some(2)));
    let id = node["id"].as_str().unwrap().to_owned();

    let (s, body) = app.send(Method::POST, "/api/v1/categories", Admin, json!({ "parent_id": id, "name": "x" })).await;
    assert_error(s, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("leaf with defaults"));
    let (s, body) = app
        .send(Method::POST, "/api/v1/categories", Admin, json!({ "parent_id": after_sales, "name": "服务态度" }))
        .await;
    assert_error(s, &body, 409, "conflict");

    let (s, node) =
        app.send(Method::PATCH, &format!("/api/v1/categories/{id}"), Admin, json!({ "active": false })).await;
    assert_eq!((s, &node["active"]), (StatusCode::OK, &json!(false)), "{node}");
    let (_, tree) = app.get("/api/v1/categories", Agent).await;
    assert!(!tree.to_string().contains("服务态度"), "inactive nodes are hidden by default");
    let (_, tree) = app.get("/api/v1/categories?all=true", Agent).await;
    assert!(tree.to_string().contains("服务态度"));
    let (s, body) = app.get("/api/v1/categories?everything=1", Agent).await;
    assert_error(s, &body, 400, "bad_request");

    let (s, body) =
        app.call(Method::DELETE, &format!("/api/v1/categories/{after_sales}"), Some(app.token(Admin)), None).await;
    assert_error(s, &body, 409, "conflict");
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/categories/{id}"), Some(app.token(Admin)), None).await;
    assert_eq!(s, 204);
    let (s, body) = app.call(Method::DELETE, &format!("/api/v1/categories/{id}"), Some(app.token(Admin)), None).await;
    assert_error(s, &body, 404, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn templates_are_configuration() {
    let (app, _dir) = app_with_teams().await;
    let tpl = json!({ "name": "上门维修",
        "steps": [{ "key": "accept", "name": "受理" }, { "key": "visit", "name": "上门", "due_hours": 24 }],
        "fields": [{ "key": "address", "label": "地址", "kind": "text", "required": true },
                   { "key": "payer", "label": "运费承担", "kind": "choice", "options": ["客户", "公司"] }] });
    let (s, created) = app.send(Method::POST, "/api/v1/ticket-templates", Admin, tpl.clone()).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (s, body) = app.send(Method::POST, "/api/v1/ticket-templates", Admin, tpl).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = app
        .send(
            Method::POST,
            "/api/v1/ticket-templates",
            Admin,
            json!({ "name": "x", "steps": [], "fields": [{"key": "a b", "label": "l", "kind": "text"}] }),
        )
        .await;
    assert_error(s, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("at least one step"));
    let (s, list) = app.get("/api/v1/ticket-templates", Agent).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (s, t) = app
        .send(Method::PATCH, &format!("/api/v1/ticket-templates/{id}"), Admin, json!({ "name": "上门维修服务" }))
        .await;
    assert_eq!((s, t["name"].as_str()), (StatusCode::OK, Some("上门维修服务")));
    let (s, t) = app.get(&format!("/api/v1/ticket-templates/{id}"), Agent).await;
    assert_eq!((s, t["steps"][1]["due_hours"].as_u64()), (StatusCode::OK, Some(24)));
    let (s, _) =
        app.call(Method::DELETE, &format!("/api/v1/ticket-templates/{id}"), Some(app.token(Admin)), None).await;
    assert_eq!(s, 204);
    app.stop().await;
}
