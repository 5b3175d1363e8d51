//! The SLA worker over HTTP with simulated time (the app's clock moved forward, a short
//! `sla_poll_ms`): warnings and breaches at the right moments, business hours across a
//! weekend, a holiday, pause and resume, each default escalation rule, exactly once across
//! restarts and racing workers; callbacks and surveys; the service configuration.

use crate::{TestApp, assert_error, settings};
use kefu_core::Role::{Admin, Agent, Supervisor, TeamLead};
use kefu_core::event::EventKind;
use kefu_core::service::category::CategoryTree;
use kefu_core::{TicketId, Timestamp};
use kefu_server::Settings;
use kefu_server::clock::Clock;
use kefu_store::{EventQuery, NewTeam, PageRequest, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// How long a "nothing more fires" check waits: a dozen worker rounds.
const SETTLE: Duration = Duration::from_millis(400);

fn sla_settings(dir: &std::path::Path) -> Settings {
    Settings {
        sla_poll_ms: 25,
        // the clock jumps days ahead: keep the logins valid
        token_ttl_secs: 30 * 24 * 3600,
        followup_after_mins: 60,
        data_dir: dir.to_owned(),
        ..settings()
    }
}

/// Two consultation leaves (around the clock; business hours) and a complaint leaf.
async fn seed(store: Store) {
    let team = store.create_team(&NewTeam { name: "一线客服".into() }, Timestamp::from_millis(0)).await.unwrap();
    let tree: CategoryTree = serde_json::from_value(json!({"categories": [
        {"name": "咨询", "children": [{"name": "物流", "children": [
            {"name": "查询", "type": "consultation", "priority": "p3", "group": "一线客服",
             "sla": {"first_response_mins": 10, "resolution_mins": 60}},
            {"name": "工作时间", "type": "consultation", "priority": "p3", "group": "一线客服",
             "sla": {"first_response_mins": 30, "resolution_mins": 60, "business_hours": true}}
        ]}]},
        {"name": "售后", "children": [{"name": "质量", "children": [
            {"name": "投诉", "type": "complaint", "priority": "p1", "group": "一线客服",
             "sla": {"first_response_mins": 10, "resolution_mins": 600}}
        ]}]}
    ]}))
    .unwrap();
    store.import_categories(&tree, &HashMap::from([(team.name, team.id)]), Timestamp::from_millis(0)).await.unwrap();
}

async fn spawn() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_seeded(sla_settings(dir.path()), |store, _| seed(store)).await;
    (app, dir)
}

async fn leaf(store: &Store, path: &str) -> String {
    store.category_tree().await.unwrap().into_iter().find(|c| c.path == path).unwrap().id.to_string()
}

/// Creates a work order as an agent in the leaf at `path`, with extra fields.
async fn create(app: &TestApp, path: &str, extra: Value) -> Value {
    let mut body =
        json!({ "category_id": leaf(&app.store, path).await, "channel": "phone", "summary": "快递没有更新" });
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let (s, t) = app.send(Method::POST, "/api/v1/tickets", Agent, body).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

fn id(t: &Value) -> &str {
    t["id"].as_str().unwrap()
}

async fn ticket(app: &TestApp, id: &str) -> Value {
    let (s, t) = app.get(&format!("/api/v1/tickets/{id}"), Agent).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

/// Moves an order as a team lead (who may change any order).
async fn move_to(app: &TestApp, id: &str, status: &str, reason: Option<&str>) -> Value {
    let version = ticket(app, id).await["version"].clone();
    let body = json!({ "status": status, "reason": reason, "version": version });
    let (s, t) = app.send(Method::POST, &format!("/api/v1/tickets/{id}/status"), TeamLead, body).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

async fn sla(app: &TestApp, id: &str) -> Value {
    let (s, v) = app.get(&format!("/api/v1/tickets/{id}/sla"), Agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The kinds of the order's SLA facts, oldest first.
async fn fired(app: &TestApp, id: &str) -> Vec<String> {
    sla(app, id).await["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

/// The due time of the order's armed timer of `kind`.
async fn armed_due(app: &TestApp, id: &str, kind: &str) -> Option<i64> {
    sla(app, id).await["timers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == kind && t["fired_at"].is_null())
        .map(|t| t["due_at"].as_i64().unwrap())
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn wait_fired(app: &TestApp, id: &str, want: &[&str]) {
    eventually(&format!("{want:?}"), || async { fired(app, id).await == want }).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(fired(app, id).await, want, "fired again or more after settling");
}

/// Moves the app's clock so that it reads the coming `weekday` (0 = Monday) at `hh:mm` in
/// China (UTC+8), and returns that instant.
fn jump_to_local(clock: &Clock, weekday: i64, hh: i64, mm: i64) -> i64 {
    let now = clock.now().as_millis();
    let day = (now + 8 * HOUR).div_euclid(DAY);
    let today = (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday
    let mut target = (day + (weekday - today).rem_euclid(7)) * DAY + hh * HOUR + mm * MIN - 8 * HOUR;
    if target <= now {
        target += 7 * DAY;
    }
    clock.advance(target - now);
    target
}

/// Moves the clock to `created + offset`.
fn set_clock(app: &TestApp, created: i64, offset: i64) {
    app.clock.advance(created + offset - app.clock.now().as_millis());
}

async fn events_of(store: &Store, kinds: &[EventKind], ticket: &str) -> usize {
    let q = EventQuery {
        kinds: kinds.to_vec(),
        page: PageRequest { limit: Some(500), cursor: None },
        ..Default::default()
    };
    store.query_events(&q).await.unwrap().items.iter().filter(|e| e.data["ticket"] == ticket).count()
}

async fn no_escalation_rules(app: &TestApp) {
    let (s, cfg) = app.send(Method::PUT, "/api/v1/service/config", Admin, json!({ "escalation_rules": [] })).await;
    assert_eq!(s, StatusCode::OK, "{cfg}");
}

#[tokio::test]
async fn first_response_warning_then_breach_fire_once_each() {
    let (app, _dir) = spawn().await;
    let late = create(&app, "咨询/物流/查询", json!({})).await;
    let answered = create(&app, "咨询/物流/查询", json!({})).await;
    move_to(&app, id(&answered), "in_progress", None).await;
    let created = late["created_at"].as_i64().unwrap();
    assert_eq!(armed_due(&app, id(&late), "first_response_warning").await, Some(created + 8 * MIN));
    assert_eq!(armed_due(&app, id(&late), "first_response_breach").await, Some(created + 10 * MIN));
    assert_eq!(armed_due(&app, id(&answered), "first_response_breach").await, None);

    // 80 % of the 10-minute target: the warning, not the breach
    set_clock(&app, created, 8 * MIN + 1000);
    wait_fired(&app, id(&late), &["first_response_warning"]).await;
    assert_eq!(ticket(&app, id(&late)).await["sla_breached"], false);
    set_clock(&app, created, 10 * MIN + 1000);
    wait_fired(&app, id(&late), &["first_response_warning", "first_response_breach"]).await;
    let t = ticket(&app, id(&late)).await;
    assert_eq!(t["sla_breached"], true);
    assert_eq!(t["sla"]["first_response"]["breached"], true);
    let events = &sla(&app, id(&late)).await["events"];
    assert_eq!(events[1]["due_at"].as_i64(), Some(created + 10 * MIN));
    assert_eq!(events_of(&app.store, &[EventKind::TicketSlaWarning], id(&late)).await, 1);
    assert_eq!(events_of(&app.store, &[EventKind::TicketSlaBreached], id(&late)).await, 1);
    let (_, history) = app.get(&format!("/api/v1/tickets/{}/history", id(&late)), Agent).await;
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "sla_warning", "sla_breach"]);
    // the responded order got neither
    assert!(fired(&app, id(&answered)).await.is_empty());
    assert_eq!(ticket(&app, id(&answered)).await["sla_breached"], false);

    // counted in the breach report; listed orders only breached
    let (s, report) = app.get("/api/v1/sla/breaches", Supervisor).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["counts"]["first_response_breach"], 1);
    assert_eq!(report["counts"]["first_response_warning"], 1);
    assert_eq!(report["breached_tickets"], 1);
    assert_eq!(report["items"].as_array().unwrap().len(), 1);
    assert_eq!(report["items"][0]["number"], late["number"]);
    let (s, list) = app.get("/api/v1/tickets?breached=true", Agent).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (s, body) = app.get("/api/v1/sla/breaches?kind=late", Supervisor).await;
    assert_error(s, &body, 400, "bad_request");
    app.stop().await;
}

#[tokio::test]
async fn business_hours_carry_a_friday_evening_order_over_the_weekend() {
    let (app, _dir) = spawn().await;
    no_escalation_rules(&app).await;
    jump_to_local(&app.clock, 4, 17, 50); // Friday 17:50 in China
    let t = create(&app, "咨询/物流/工作时间", json!({})).await;
    let c = t["created_at"].as_i64().unwrap();
    // 10 business minutes on Friday, the rest from Monday 09:00
    let monday = |hh: i64, mm: i64| c + 2 * DAY + (hh - 17) * HOUR + (mm - 50) * MIN + DAY;
    assert_eq!(armed_due(&app, id(&t), "first_response_warning").await, Some(monday(9, 14)));
    assert_eq!(armed_due(&app, id(&t), "first_response_breach").await, Some(monday(9, 20)));
    assert_eq!(armed_due(&app, id(&t), "resolution_warning").await, Some(monday(9, 38)));
    assert_eq!(armed_due(&app, id(&t), "resolution_breach").await, Some(monday(9, 50)));
    assert_eq!(monday(9, 50) - c, 64 * HOUR);

    // Saturday, Sunday, Monday 09:10: nothing is due
    for offset in [18 * HOUR, 42 * HOUR, 63 * HOUR + 20 * MIN] {
        set_clock(&app, c, offset);
        tokio::time::sleep(SETTLE).await;
        assert!(fired(&app, id(&t)).await.is_empty(), "fired at +{} min", offset / MIN);
    }
    set_clock(&app, c, monday(9, 15) - c);
    wait_fired(&app, id(&t), &["first_response_warning"]).await;
    set_clock(&app, c, monday(9, 21) - c);
    wait_fired(&app, id(&t), &["first_response_warning", "first_response_breach"]).await;
    assert_eq!(ticket(&app, id(&t)).await["sla_breached"], true);
    set_clock(&app, c, monday(9, 51) - c);
    let all = ["first_response_warning", "first_response_breach", "resolution_warning", "resolution_breach"];
    wait_fired(&app, id(&t), &all).await;
    for e in sla(&app, id(&t)).await["events"].as_array().unwrap() {
        assert!(e["at"].as_i64() >= e["due_at"].as_i64(), "fired before due: {e}");
    }
    assert_eq!(events_of(&app.store, &[EventKind::TicketSlaBreached], id(&t)).await, 2);
    app.stop().await;
}

/// `|a − b|` is under five seconds (the clock keeps running while the test talks to the app).
#[track_caller]
fn near(a: Option<i64>, b: i64) {
    let a = a.expect("an armed timer");
    assert!((a - b).abs() < 5_000, "{a} is not near {b} (off by {} ms)", a - b);
}

#[tokio::test]
async fn a_holiday_pushes_the_due_time_and_a_pause_stops_the_clock() {
    let (app, _dir) = spawn().await;
    no_escalation_rules(&app).await;
    jump_to_local(&app.clock, 4, 17, 50);
    let t = create(&app, "咨询/物流/工作时间", json!({})).await;
    let c = t["created_at"].as_i64().unwrap();
    assert_eq!(armed_due(&app, id(&t), "resolution_breach").await, Some(c + 64 * HOUR));

    // Monday becomes a holiday: open orders' timers are recomputed, due on Tuesday
    let monday =
        kefu_core::service::calendar::BusinessCalendar::office(480).local_date(Timestamp::from_millis(c + 3 * DAY));
    let calendar = json!({ "utc_offset_minutes": 480, "week": {
        "mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"]
    }, "holidays": [monday.to_string()] });
    let (s, cfg) = app.send(Method::PUT, "/api/v1/service/config", Admin, json!({ "calendar": calendar })).await;
    assert_eq!(s, StatusCode::OK, "{cfg}");
    assert_eq!(cfg["calendar"]["holidays"], json!([monday.to_string()]));
    eventually("the holiday to move the breach", || async {
        armed_due(&app, id(&t), "resolution_breach").await == Some(c + 88 * HOUR)
    })
    .await;
    assert_eq!(armed_due(&app, id(&t), "first_response_breach").await, Some(c + 87 * HOUR + 30 * MIN));

    // answered at 17:55, pending from 17:58: no resolution timer while paused
    set_clock(&app, c, 5 * MIN);
    move_to(&app, id(&t), "in_progress", None).await;
    set_clock(&app, c, 8 * MIN);
    move_to(&app, id(&t), "pending", Some("customer")).await;
    let timers = sla(&app, id(&t)).await["timers"].clone();
    assert!(timers.as_array().unwrap().iter().all(|x| !x["fired_at"].is_null()), "armed while paused: {timers}");
    // past the (holiday-moved) breach, still paused: nothing fires
    set_clock(&app, c, 88 * HOUR + 10 * MIN); // Tuesday 10:00
    tokio::time::sleep(SETTLE).await;
    assert!(fired(&app, id(&t)).await.is_empty());
    // resumed on Tuesday 10:00: 2 + 60 business minutes paused, 8 used; due at 10:52
    move_to(&app, id(&t), "in_progress", None).await;
    near(armed_due(&app, id(&t), "resolution_breach").await, c + 89 * HOUR + 2 * MIN);
    near(armed_due(&app, id(&t), "resolution_warning").await, c + 88 * HOUR + 50 * MIN);
    set_clock(&app, c, 88 * HOUR + 51 * MIN);
    wait_fired(&app, id(&t), &["resolution_warning"]).await;
    set_clock(&app, c, 89 * HOUR + 3 * MIN);
    wait_fired(&app, id(&t), &["resolution_warning", "resolution_breach"]).await;
    app.stop().await;
}

async fn tier(app: &TestApp, t: &Value) -> i64 {
    ticket(app, id(t)).await["tier"].as_i64().unwrap()
}

/// The targets the order was escalated to by the worker, with the rule that did it.
async fn escalations(app: &TestApp, t: &Value) -> Vec<(String, Value)> {
    let (_, history) = app.get(&format!("/api/v1/tickets/{}/history", id(t)), Agent).await;
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "escalated")
        .map(|c| (c["detail"]["rule"].as_str().unwrap().to_owned(), c["detail"]["to"].clone()))
        .collect()
}

#[tokio::test]
async fn each_default_escalation_rule() {
    let (app, _dir) = spawn().await;
    let plain = create(&app, "咨询/物流/查询", json!({})).await;
    let complaint = create(&app, "售后/质量/投诉", json!({})).await;
    let big = create(&app, "咨询/物流/查询", json!({ "amount": 6000 })).await;
    let exactly = create(&app, "咨询/物流/查询", json!({ "amount": 5000 })).await;
    let media = create(&app, "咨询/物流/查询", json!({ "media_exposure": true })).await;
    let quick = create(&app, "咨询/物流/查询", json!({})).await;
    let c = plain["created_at"].as_i64().unwrap();

    // amount over 5000 and media exposure: the top tier at once
    eventually("the top tier at once", || async { tier(&app, &big).await == 3 && tier(&app, &media).await == 3 }).await;
    assert_eq!(escalations(&app, &big).await, [("amount_over_5000".to_owned(), json!({ "tier": 3 }))]);
    assert_eq!(escalations(&app, &media).await, [("media_exposure".to_owned(), json!({ "tier": 3 }))]);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(tier(&app, &exactly).await, 1, "5000 is not over 5000");

    // resolved within 30 minutes: never escalated
    set_clock(&app, c, 10 * MIN);
    move_to(&app, id(&quick), "resolved", None).await;
    set_clock(&app, c, 29 * MIN);
    tokio::time::sleep(SETTLE).await;
    assert_eq!((tier(&app, &plain).await, tier(&app, &complaint).await), (1, 1));
    assert!(escalations(&app, &complaint).await.is_empty());

    // tier 1 unresolved for 30 minutes: tier 2; a complaint also reaches a supervisor
    set_clock(&app, c, 30 * MIN + 1000);
    eventually("tier 2 after 30 minutes", || async {
        tier(&app, &plain).await == 2 && escalations(&app, &complaint).await.len() == 2
    })
    .await;
    assert_eq!(escalations(&app, &plain).await, [("tier1_unresolved_30min".to_owned(), json!({ "tier": 2 }))]);
    let mut reached = escalations(&app, &complaint).await;
    reached.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        reached,
        [
            ("complaint_to_supervisor".to_owned(), json!({ "role": "supervisor" })),
            ("tier1_unresolved_30min".to_owned(), json!({ "tier": 2 }))
        ]
    );
    assert_eq!(tier(&app, &exactly).await, 2);
    set_clock(&app, c, 3 * HOUR);
    tokio::time::sleep(SETTLE).await;
    assert_eq!((tier(&app, &quick).await, escalations(&app, &quick).await.len()), (1, 0));
    assert_eq!((tier(&app, &big).await, escalations(&app, &big).await.len()), (3, 1), "escalated once");
    assert_eq!(escalations(&app, &complaint).await.len(), 2, "escalated once each");
    let n: usize = {
        let mut n = 0;
        for t in [&plain, &complaint, &big, &exactly, &media, &quick] {
            n += events_of(&app.store, &[EventKind::TicketEscalated], id(t)).await;
        }
        n
    };
    assert_eq!(n, 6);
    app.stop().await;
}

/// A second app on the same database, with its own connection pool and data directory, its
/// clock `offset` ahead of the wall clock.
struct Node {
    shutdown: kefu_server::ShutdownHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn node(options: &kefu_store::StoreOptions, offset: i64) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(options).await.unwrap();
    let clock = Clock::default();
    clock.advance(offset);
    let app = kefu_server::build_with_store(sla_settings(dir.path()), store, clock).await.unwrap();
    let shutdown = app.shutdown_handle();
    Node { shutdown, task: tokio::spawn(app.run_until_stopped()), _dir: dir }
}

impl Node {
    async fn stop(self) {
        self.shutdown.shutdown();
        self.task.await.unwrap().unwrap();
    }
}

async fn sla_facts(store: &Store, tickets: &[TicketId]) -> usize {
    let mut n = 0;
    for t in tickets {
        n += store.ticket_sla_events(*t).await.unwrap().len();
    }
    n
}

#[tokio::test]
async fn a_restart_mid_timer_fires_exactly_once_and_racing_workers_too() {
    let (mut a, _dir) = spawn().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(id(&create(&a, "咨询/物流/查询", json!({})).await).parse::<TicketId>().unwrap());
    }
    // A stops before anything is due
    let db = a.db.take().unwrap();
    a.stop().await;
    let reader = Store::open(&db.options).await.unwrap();
    assert_eq!(sla_facts(&reader, &ids).await, 0);
    let kinds = [EventKind::TicketSlaWarning, EventKind::TicketSlaBreached, EventKind::TicketEscalated];
    let logged = |reader: Store| async move {
        let q = EventQuery {
            kinds: kinds.to_vec(),
            page: PageRequest { limit: Some(500), cursor: None },
            ..Default::default()
        };
        reader.query_events(&q).await.unwrap().items.len()
    };

    // B starts 11 minutes later: each first-response warning and breach fires once
    let b = node(&db.options, 11 * MIN).await;
    eventually("B to fire the due timers", || async { sla_facts(&reader, &ids).await == 8 }).await;
    tokio::time::sleep(SETTLE).await;
    b.stop().await;
    assert_eq!((sla_facts(&reader, &ids).await, logged(reader.clone()).await), (8, 8));

    // C starts at the same moment: nothing is left to fire
    let c = node(&db.options, 11 * MIN).await;
    tokio::time::sleep(SETTLE).await;
    c.stop().await;
    assert_eq!((sla_facts(&reader, &ids).await, logged(reader.clone()).await), (8, 8));

    // two nodes at once, three hours later: the resolution warning and breach and the tier-1
    // escalation of every order fire once between them
    let (d1, d2) = (node(&db.options, 3 * HOUR).await, node(&db.options, 3 * HOUR).await);
    eventually("D1 and D2 to fire the rest", || async { sla_facts(&reader, &ids).await == 20 }).await;
    tokio::time::sleep(SETTLE).await;
    d1.stop().await;
    d2.stop().await;
    assert_eq!((sla_facts(&reader, &ids).await, logged(reader.clone()).await), (20, 20));
    for t in &ids {
        let mut kinds: Vec<String> =
            reader.ticket_sla_events(*t).await.unwrap().into_iter().map(|e| e.kind.to_string()).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "escalation",
                "first_response_breach",
                "first_response_warning",
                "resolution_breach",
                "resolution_warning"
            ]
        );
        assert_eq!(reader.ticket(*t).await.unwrap().tier, 2);
    }
    reader.close().await;
    db.cleanup().await;
}

async fn followups(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, page) = app.get(&format!("/api/v1/followups{query}"), Agent).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn attempt(app: &TestApp, followup: &Value, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/followups/{}/attempts", followup["id"].as_str().unwrap());
    app.send(Method::POST, &path, Agent, body).await
}

#[tokio::test]
async fn callbacks_take_three_attempts_and_an_answered_one_takes_the_survey() {
    let (app, _dir) = spawn().await;
    let t = create(&app, "咨询/物流/查询", json!({})).await;
    let resolved = move_to(&app, id(&t), "resolved", None).await;
    let open = followups(&app, "?status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let f = open[0].clone();
    assert_eq!((&f["ticket_id"], f["attempts"].as_i64()), (&t["id"], Some(0)));
    assert_eq!(f["due_at"].as_i64(), Some(resolved["resolved_at"].as_i64().unwrap() + HOUR), "due an hour later");
    let now = app.clock.now().as_millis();
    assert!(followups(&app, &format!("?status=open&due_before={now}")).await.is_empty(), "not due yet");

    for (n, outcome) in [(1, "no_answer"), (2, "busy")] {
        let (s, after) = attempt(&app, &f, json!({ "outcome": outcome, "note": "无人接听" })).await;
        assert_eq!(s, StatusCode::OK, "{after}");
        assert_eq!((after["attempts"].as_i64(), &after["status"]), (Some(n), &json!("open")));
        assert_eq!(ticket(&app, id(&t)).await["status"], "callback");
    }
    let (s, after) = attempt(&app, &f, json!({ "outcome": "unreachable" })).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!((&after["status"], after["attempt_log"].as_array().unwrap().len()), (&json!("failed"), 3));
    assert_eq!(ticket(&app, id(&t)).await["status"], "closed");
    let (s, body) = attempt(&app, &f, json!({ "outcome": "answered" })).await;
    assert_error(s, &body, 409, "conflict");
    assert_eq!(followups(&app, "?status=failed").await.len(), 1);
    let (s, body) = attempt(&app, &f, json!({ "outcome": "hung_up" })).await;
    assert_error(s, &body, 422, "validation_failed");
    let unknown = json!({ "id": kefu_store::new_uuid().to_string() });
    let (s, body) = attempt(&app, &unknown, json!({ "outcome": "answered" })).await;
    assert_error(s, &body, 404, "not_found");

    // answered, with the survey: done, the order closed, the survey stored against it
    let t2 = create(&app, "咨询/物流/查询", json!({})).await;
    move_to(&app, id(&t2), "resolved", None).await;
    let f2 = followups(&app, "?status=open").await.remove(0);
    let survey = json!({ "speed": 5, "attitude": 4, "quality": 5, "comment": "很满意" });
    let (s, body) = attempt(&app, &f2, json!({ "outcome": "busy", "survey": survey })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, done) = attempt(&app, &f2, json!({ "outcome": "answered", "survey": survey })).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!((&done["status"], &done["ticket_status"]), (&json!("done"), &json!("closed")));
    let (s, stored) = app.get(&format!("/api/v1/tickets/{}/survey", id(&t2)), Agent).await;
    assert_eq!(s, StatusCode::OK, "{stored}");
    assert_eq!(
        (&stored["speed"], &stored["channel"], &stored["comment"]),
        (&json!(5), &json!("phone"), &json!("很满意"))
    );
    assert!((stored["score_100"].as_f64().unwrap() - 93.33).abs() < 0.01);

    // surveys by hand: 1–5 only, only once resolved
    let (s, body) = app.get(&format!("/api/v1/tickets/{}/survey", id(&t)), Agent).await;
    assert_error(s, &body, 404, "not_found");
    let app_ref = &app;
    let put = |t: &Value, body: Value| {
        let path = format!("/api/v1/tickets/{}/survey", id(t));
        async move { app_ref.send(Method::PUT, &path, Agent, body).await }
    };
    let (s, body) = put(&t, json!({ "speed": 6, "attitude": 4, "quality": 4, "channel": "sms" })).await;
    assert_error(s, &body, 422, "validation_failed");
    let fresh = create(&app, "咨询/物流/查询", json!({})).await;
    let (s, body) = put(&fresh, json!({ "speed": 4, "attitude": 4, "quality": 4, "channel": "sms" })).await;
    assert_error(s, &body, 409, "conflict");
    let (s, body) = put(&t, json!({ "speed": 4, "attitude": 4, "quality": 4, "channel": "sms" })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, summary) = app.get("/api/v1/surveys/tickets/summary", Supervisor).await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    assert_eq!((summary["count"].as_i64(), summary["share_on_target"].as_f64()), (Some(2), Some(0.5)));
    assert_eq!(summary["target"].as_f64(), Some(85.0));
    let (s, body) = app.get("/api/v1/surveys/tickets/summary?from=2&to=1", Supervisor).await;
    assert_error(s, &body, 400, "bad_request");
    assert_eq!(events_of(&app.store, &[EventKind::FollowUpAttempted], id(&t)).await, 3);
    assert_eq!(events_of(&app.store, &[EventKind::TicketSurveyed], id(&t2)).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_service_configuration_is_checked_audited_and_applied() {
    let (app, _dir) = spawn().await;
    let (s, cfg) = app.get("/api/v1/service/config", Agent).await;
    assert_eq!(s, StatusCode::OK, "{cfg}");
    assert_eq!((cfg["warn_percent"].as_i64(), cfg["calendar"]["utc_offset_minutes"].as_i64()), (Some(80), Some(480)));
    assert_eq!(cfg["escalation_rules"].as_array().unwrap().len(), 4);
    assert_eq!(cfg["calendar"]["week"]["mon"], json!(["09:00-18:00"]));

    // every problem at once
    let bad = json!({
        "calendar": { "utc_offset_minutes": 480, "week": { "mon": ["18:00-09:00"] } },
        "escalation_rules": [{ "name": "", "to": { "tier": 9 } }],
        "warn_percent": 120,
    });
    let (s, body) = app.send(Method::PUT, "/api/v1/service/config", Admin, bad).await;
    assert_error(s, &body, 422, "validation_failed");
    let details: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert_eq!(details.len(), 4, "{details:#?}");
    assert!(details[0].starts_with("calendar:") && details[0].contains("18:00-09:00"), "{details:#?}");
    assert!(details.iter().any(|d| d.contains("rule #1: the name must not be empty")), "{details:#?}");
    assert!(details.iter().any(|d| d.contains("to.tier must be between 2 and 3, got 9")), "{details:#?}");
    assert!(details.iter().any(|d| d.starts_with("warn_percent")), "{details:#?}");
    let (s, body) = app.send(Method::PUT, "/api/v1/service/config", Admin, json!({ "colour": "red" })).await;
    assert_error(s, &body, 422, "validation_failed");
    let (s, body) = app.send(Method::PUT, "/api/v1/service/config", TeamLead, json!({ "warn_percent": 50 })).await;
    assert_error(s, &body, 403, "forbidden");

    // a valid change: stored, audited, and the warnings of open orders move
    let t = create(&app, "咨询/物流/查询", json!({})).await;
    let c = t["created_at"].as_i64().unwrap();
    assert_eq!(armed_due(&app, id(&t), "first_response_warning").await, Some(c + 8 * MIN));
    let (s, cfg) = app.send(Method::PUT, "/api/v1/service/config", Admin, json!({ "warn_percent": 50 })).await;
    assert_eq!(s, StatusCode::OK, "{cfg}");
    assert_eq!((cfg["warn_percent"].as_i64(), &cfg["updated_by"]), (Some(50), &json!(app.users[&Admin].id)));
    assert_eq!(cfg["escalation_rules"].as_array().unwrap().len(), 4, "other keys kept");
    eventually("the warning to move", || async {
        armed_due(&app, id(&t), "first_response_warning").await == Some(c + 5 * MIN)
    })
    .await;
    let (_, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    let entry = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "service.config").unwrap().clone();
    assert_eq!(entry["target"], "warn_percent");
    // no warnings at all with 0
    let (s, _) = app.send(Method::PUT, "/api/v1/service/config", Admin, json!({ "warn_percent": 0 })).await;
    assert_eq!(s, StatusCode::OK);
    eventually("the warning to go", || async { armed_due(&app, id(&t), "first_response_warning").await.is_none() })
        .await;
    assert_eq!(armed_due(&app, id(&t), "first_response_breach").await, Some(c + 10 * MIN));
    app.stop().await;
}
