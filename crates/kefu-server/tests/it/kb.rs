//! The knowledge base over HTTP: relevance on the demo set (Chinese and English queries find
//! the right entry first, with highlighted snippets), what agents may see, filters, input that
//! looks like query syntax, edits showing in search at once, rebuilds, and case studies drafted
//! from work orders.

use crate::categories::{app_with_teams, find, put_yaml};
use crate::{TestApp, assert_error, settings};
use kefu_core::Role::{self, Admin, Agent, Qa, TeamLead};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// The app with the demo knowledge base written to the database before it starts (so the
/// index is built by the start-up rebuild), its index in a temporary data directory.
async fn demo_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.data_dir = dir.path().to_owned();
    s.max_body_bytes = 1024 * 1024;
    let app = TestApp::spawn_seeded(s, |store, _| async move {
        let now = kefu_core::Timestamp::from_millis(1_790_000_000_000);
        for a in kefu_server::routes::kb::demo_articles().unwrap() {
            store.create_article(&a, now).await.unwrap();
        }
    })
    .await;
    // the start-up rebuild runs in the background
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = search(&app, Agent, &[("q", "退货 运费")]).await;
        if status == StatusCode::OK && !body["hits"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the index was not built: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (app, dir)
}

async fn search(app: &TestApp, role: Role, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = app
        .client
        .get(format!("{}/api/v1/kb/search", app.base))
        .query(params)
        .bearer_auth(app.token(role))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

fn titles(body: &Value) -> Vec<String> {
    titles_of(&body["hits"])
}

fn titles_of(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|h| h["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn chinese_and_english_queries_find_the_right_entry_first() {
    let (app, _dir) = demo_app().await;
    let cases = [
        ("退货 运费", "退货运费由谁承担"),
        ("退货运费", "退货运费由谁承担"),
        ("鲜花不新鲜", "鲜花不新鲜的处理与补偿"),
        ("物流没有更新", "物流信息长时间没有更新怎么办"),
        ("账户被冻结", "账户被冻结的原因与解冻流程"),
        ("支付失败", "支付失败的常见原因"),
        ("电子发票", "如何申请电子发票"),
        ("上门维修", "上门维修服务范围与预约"),
        ("寄修", "寄修服务流程"),
        ("会员等级", "会员等级与权益"),
        ("refund shipping cost", "Who pays return shipping and how refunds of shipping costs work"),
        ("warranty repair", "Warranty repair for electronics"),
        ("account frozen", "Account frozen or locked"),
        ("payment failed", "Payment failed at checkout"),
    ];
    let mut failures = Vec::new();
    for (q, want) in cases {
        let (status, body) = search(&app, Agent, &[("q", q)]).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        let top = &body["hits"][0];
        if top["title"] != want {
            failures.push(format!("`{q}`: expected `{want}` first, got {:?}", titles(&body)));
            continue;
        }
        let snippet = top["snippet"].as_str().unwrap();
        if !snippet.contains("<mark>") {
            failures.push(format!("`{q}`: the top hit's snippet has no <mark>: {snippet}"));
        }
        assert!(top["title_highlight"].as_str().unwrap().contains("<mark>"), "{q}: {top}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn agents_see_published_entries_valid_now_and_filters_narrow() {
    let (app, _dir) = demo_app().await;
    // the expired 双十一 offer mentions 退货 and 运费 too: agents never see it, editors may ask
    let expired = "双十一退货运费险活动（已结束）";
    let (_, body) = search(&app, Agent, &[("q", "退货 运费险 双十一"), ("limit", "50")]).await;
    assert!(!titles(&body).contains(&expired.to_owned()), "{body}");
    let (_, body) = search(&app, TeamLead, &[("q", "退货 运费险 双十一"), ("drafts", "true")]).await;
    assert_eq!(titles(&body)[0], expired);
    let (status, body) = search(&app, Agent, &[("q", "退货"), ("drafts", "true")]).await;
    assert_error(status, &body, 403, "forbidden");
    // the draft: hidden from agents in search, the list and by id; editors see it
    let (_, body) = search(&app, Agent, &[("q", "新版会员规则")]).await;
    assert!(!titles(&body).iter().any(|t| t.contains("草稿")), "{body}");
    let (_, list) = app.get("/api/v1/kb/articles?limit=500", TeamLead).await;
    let draft = list["items"].as_array().unwrap().iter().find(|a| a["status"] == "draft").unwrap().clone();
    let draft_url = format!("/api/v1/kb/articles/{}", draft["id"].as_str().unwrap());
    let (status, body) = app.get(&draft_url, Agent).await;
    assert_error(status, &body, 404, "not_found");
    assert_eq!(app.get(&draft_url, Qa).await.0, StatusCode::OK);
    let (_, list) = app.get("/api/v1/kb/articles?limit=500", Agent).await;
    let seen = list["items"].as_array().unwrap();
    assert!(seen.iter().all(|a| a["status"] == "published"), "agents list only published entries");
    assert!(!seen.iter().any(|a| a["title"] == expired), "nor expired ones");
    assert_eq!(
        seen.len() + 2,
        app.get("/api/v1/kb/articles?limit=500", TeamLead).await.1["items"].as_array().unwrap().len()
    );
    let (status, body) = app.get("/api/v1/kb/articles?status=draft", Agent).await;
    assert_error(status, &body, 403, "forbidden");

    // kind, category, product and tag filters, in search and in the list
    let (_, body) = search(&app, Agent, &[("q", "退货 发票 积分 优惠券"), ("kind", "faq"), ("limit", "50")]).await;
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h["kind"] == "faq"), "{body}");
    // 会员等级与权益 mentions 鲜花 but is about no product
    let (_, body) = search(&app, Agent, &[("q", "鲜花"), ("limit", "50")]).await;
    assert!(titles(&body).contains(&"会员等级与权益".to_owned()), "{body}");
    let (_, body) = search(&app, Agent, &[("q", "鲜花"), ("product", "鲜花"), ("limit", "50")]).await;
    assert!(titles(&body).contains(&"鲜花不新鲜的处理与补偿".to_owned()), "{body}");
    assert!(!titles(&body).contains(&"会员等级与权益".to_owned()), "{body}");
    let (_, body) = search(&app, Agent, &[("q", "维修"), ("category", "政策")]).await;
    assert!(body["hits"].as_array().unwrap().iter().all(|h| h["category"] == "政策"), "{body}");
    let (_, list) = app.get("/api/v1/kb/articles?kind=case", Agent).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let resp = app
        .client
        .get(format!("{}/api/v1/kb/articles", app.base))
        .query(&[("tag", "好案例")])
        .bearer_auth(app.token(Agent))
        .send()
        .await
        .unwrap();
    let list: Value = resp.json().await.unwrap();
    assert_eq!(titles_of(&list["items"]), ["好案例：生日鲜花送达延误的挽回"]);
    // a blank query lists by filters, newest first
    let (_, body) = search(&app, Agent, &[("q", " "), ("kind", "case")]).await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn query_syntax_and_bad_parameters_never_break_search() {
    let (app, _dir) = demo_app().await;
    for q in ["\"AND OR (", "，。！？……", "*:*", "title:退货 -运费 ^2 ~3", "[a TO z] {", "\\", "OR", "'; DROP TABLE"]
    {
        let (status, body) = search(&app, Agent, &[("q", q)]).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert!(body["hits"].is_array(), "{q}: {body}");
    }
    let (_, body) = search(&app, Agent, &[("q", "，。！？")]).await;
    assert!(body["hits"].as_array().unwrap().is_empty());
    let long = "退".repeat(501);
    for (params, what) in [
        (vec![("q", long.as_str())], "q"),
        (vec![("q", "退货"), ("limit", "0")], "limit"),
        (vec![("q", "退货"), ("limit", "51")], "limit"),
        (vec![("q", "退货"), ("offset", "1001")], "offset"),
        (vec![("q", "退货"), ("kind", "poem")], "kind"),
        (vec![("q", "退货"), ("colour", "red")], "colour"),
    ] {
        let (status, body) = search(&app, Agent, &params).await;
        assert_error(status, &body, 400, "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains(what), "{what}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn edits_show_in_search_at_once_and_a_rebuild_changes_nothing() {
    let (app, _dir) = demo_app().await;
    let (status, created) = app
        .send(
            Method::POST,
            "/api/v1/kb/articles",
            TeamLead,
            json!({"kind": "faq", "title": "榴莲可以退吗", "body": "榴莲开口后不能退，未开口 24 小时内可退。",
                   "category": "FAQ", "tags": ["生鲜"], "status": "published"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["version"].as_i64(), created["author_id"].as_str()),
        (Some(1), Some(app.users[&TeamLead].id.to_string().as_str()))
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/kb/articles/{id}");
    let (_, body) = search(&app, Agent, &[("q", "榴莲")]).await;
    assert_eq!(titles(&body), ["榴莲可以退吗"], "indexed as soon as created");

    let (status, changed) = app
        .send(Method::PATCH, &url, Qa, json!({"version": 1, "title": "山竹可以退吗", "body": "山竹坏果包赔。"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 2);
    let (_, body) = search(&app, Agent, &[("q", "山竹")]).await;
    assert_eq!(titles(&body), ["山竹可以退吗"], "the new text is found");
    let (_, body) = search(&app, Agent, &[("q", "榴莲")]).await;
    assert!(titles(&body).is_empty(), "the old text is not: {body}");
    let (status, body) = app.send(Method::PATCH, &url, Qa, json!({"version": 1, "title": "过期的改动"})).await;
    assert_error(status, &body, 409, "conflict");
    let (_, versions) = app.get(&format!("{url}/versions"), Qa).await;
    let v: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(v, [2, 1]);
    assert_eq!(versions[0]["author_id"], app.users[&Qa].id.to_string());
    assert_eq!(versions[1]["title"], "榴莲可以退吗");
    // unpublishing hides it from agents at once
    let (status, _) = app.send(Method::PATCH, &url, Qa, json!({"version": 2, "status": "draft"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(titles(&search(&app, Agent, &[("q", "山竹")]).await.1).is_empty());
    assert_eq!(titles(&search(&app, Qa, &[("q", "山竹"), ("drafts", "true")]).await.1), ["山竹可以退吗"]);

    // a rebuild from the database gives the same results as the incremental index
    let queries = ["退货 运费", "鲜花不新鲜", "warranty repair", "会员", "维修", "发票", "运费"];
    let mut before = Vec::new();
    for q in queries {
        before.push(search(&app, Agent, &[("q", q), ("limit", "50")]).await.1["hits"].clone());
    }
    let (status, body) = app.send(Method::POST, "/api/v1/kb/reindex", Admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let total = kefu_server::routes::kb::demo_articles().unwrap().len() as u64 + 1;
    assert_eq!(body["indexed"].as_u64(), Some(total));
    // the same hits in the same order; the incremental index still counts replaced documents
    // in its term statistics until segments merge, so near-equal scores may swap places
    for (q, was) in queries.iter().zip(&before) {
        let now = search(&app, Agent, &[("q", q), ("limit", "50")]).await.1["hits"].clone();
        same_ranking(q, was, &now);
    }

    // delete: gone from the database and the index
    assert_eq!(app.call(Method::DELETE, &url, Some(app.token(TeamLead)), None).await.0, StatusCode::NO_CONTENT);
    assert_error(app.get(&url, TeamLead).await.0, &app.get(&url, TeamLead).await.1, 404, "not_found");
    assert!(titles(&search(&app, Qa, &[("q", "山竹"), ("drafts", "true")]).await.1).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn invalid_entries_get_clear_errors() {
    let (app, _dir) = demo_app().await;
    let post = |body: Value| app.send(Method::POST, "/api/v1/kb/articles", TeamLead, body);
    let ok = json!({"title": "标题", "body": "正文", "category": "政策"});
    let (status, body) = post(ok.clone()).await;
    assert_eq!(
        (status, body["status"].as_str(), body["kind"].as_str()),
        (StatusCode::CREATED, Some("draft"), Some("article"))
    );
    for (patch, code, needle) in [
        (json!({"title": " "}), "validation_failed", "title"),
        (json!({"title": "长".repeat(201)}), "validation_failed", "title"),
        (json!({"body": "x".repeat(100_001)}), "validation_failed", "body"),
        (json!({"valid_from": 2000, "valid_to": 1000}), "validation_failed", "valid_to"),
        (json!({"kind": "poem"}), "validation_failed", "kind"),
        (json!({"colour": "red"}), "validation_failed", "colour"),
        (json!({"category": ""}), "validation_failed", "category"),
    ] {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let (status, resp) = post(b).await;
        assert_error(status, &resp, 422, code);
        assert!(resp["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {resp}");
    }
    let (status, resp) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/kb/articles/{}", body["id"].as_str().unwrap()),
            TeamLead,
            json!({"title": "无版本"}),
        )
        .await;
    assert_error(status, &resp, 422, "validation_failed");
    let missing = format!("/api/v1/kb/articles/{}", kefu_store::new_uuid());
    assert_error(app.get(&missing, Agent).await.0, &app.get(&missing, Agent).await.1, 404, "not_found");
    let (status, resp) = app.get("/api/v1/kb/articles/not-a-uuid", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    let (status, resp) = app.get("/api/v1/kb/articles?cursor=garbage", Agent).await;
    assert_error(status, &resp, 400, "bad_request");
    app.stop().await;
}

#[tokio::test]
async fn a_resolved_work_order_becomes_a_draft_case_study() {
    let (app, _dir) = app_with_teams().await;
    assert_eq!(put_yaml(&app, crate::categories::TREE_YAML).await.0, 200);
    let (_, tree) = app.get("/api/v1/categories", Agent).await;
    let leaf = find(&tree, "售后/产品质量/不新鲜")["id"].as_str().unwrap().to_owned();
    let (status, t) = app
        .send(
            Method::POST,
            "/api/v1/tickets",
            TeamLead,
            json!({"category_id": leaf, "channel": "phone", "summary": "玫瑰收到就蔫了",
                   "details": "顾客 13812345678 反映玫瑰花头下垂，邮箱 rose@example.com", "solutions": ["补发"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    let from = format!("/api/v1/kb/articles/from-ticket/{id}");
    let (status, body) = app.send(Method::POST, &from, TeamLead, json!({})).await;
    assert_error(status, &body, 422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("resolved"), "{body}");

    let (status, t) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            TeamLead,
            json!({"version": 1, "result": "已补发，顾客满意"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let (status, t) = app
        .send(
            Method::POST,
            &format!("/api/v1/tickets/{id}/status"),
            TeamLead,
            json!({"status": "resolved", "version": t["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");

    let (status, case) = app.send(Method::POST, &from, Qa, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    assert_eq!((case["kind"].as_str(), case["status"].as_str()), (Some("case"), Some("draft")));
    assert_eq!((case["title"].as_str(), case["source_ticket"].as_str()), (Some("玫瑰收到就蔫了"), Some(id.as_str())));
    let body = case["body"].as_str().unwrap();
    for part in ["售后/产品质量/不新鲜", "玫瑰花头下垂", "- 补发", "已补发，顾客满意", t["number"].as_str().unwrap()]
    {
        assert!(body.contains(part), "{part} missing: {body}");
    }
    assert!(!body.contains("13812345678") && !body.contains("rose@example.com"), "no customer data: {body}");
    // a draft: editors find it, agents do not
    let (_, found) = search(&app, Qa, &[("q", "玫瑰 蔫"), ("drafts", "true")]).await;
    assert_eq!(found["hits"][0]["id"], case["id"]);
    assert!(search(&app, Agent, &[("q", "玫瑰 蔫")]).await.1["hits"].as_array().unwrap().is_empty());
    let missing = format!("/api/v1/kb/articles/from-ticket/{}", kefu_store::new_uuid());
    assert_error(
        app.send(Method::POST, &missing, Qa, json!({})).await.0,
        &app.send(Method::POST, &missing, Qa, json!({})).await.1,
        404,
        "not_found",
    );
    app.stop().await;
}

/// Two rankings hold the same hits, the same first hit, and order every pair the same way
/// unless their scores are within 5 %.
#[track_caller]
fn same_ranking(q: &str, a: &Value, b: &Value) {
    let parse = |v: &Value| -> Vec<(String, f64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| (h["id"].as_str().unwrap().to_owned(), h["score"].as_f64().unwrap()))
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    let mut ids_a: Vec<&String> = a.iter().map(|(id, _)| id).collect();
    let mut ids_b: Vec<&String> = b.iter().map(|(id, _)| id).collect();
    assert_eq!(a.first().map(|x| &x.0), b.first().map(|x| &x.0), "{q}: first hit");
    ids_a.sort();
    ids_b.sort();
    assert_eq!(ids_a, ids_b, "{q}: the same hits");
    let pos = |list: &[(String, f64)], id: &str| list.iter().position(|(x, _)| x == id).unwrap();
    for (i, (x, sx)) in a.iter().enumerate() {
        for (y, sy) in &a[i + 1..] {
            if pos(&b, x) > pos(&b, y) {
                assert!((sx - sy).abs() <= 0.05 * sx.max(*sy), "{q}: {x} ({sx}) and {y} ({sy}) swapped");
            }
        }
    }
}
