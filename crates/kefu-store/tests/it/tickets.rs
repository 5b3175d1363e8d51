use crate::{T0, db, new_user};
use kefu_core::event::EventKind;
use kefu_core::service::calendar::BusinessCalendar;
use kefu_core::service::category::CategoryTree;
use kefu_core::service::escalation::EscalationTarget;
use kefu_core::service::ticket::{Channel, PendingReason, Priority, TicketStatus, TicketType};
use kefu_core::{CategoryId, CustomerId, Role, TeamId, Timestamp};
use kefu_store::testing::TestDb;
use kefu_store::{
    Category, EventQuery, FieldKind, NewAttachment, NewCustomer, NewTeam, NewTemplate, NewTicket, NewTicketBulk,
    NewUser, PageRequest, SortOrder, Store, StoreError, Team, TemplateField, TemplatePatch, TemplateStep, Ticket,
    TicketFilter, TicketPatch, TicketSort, User,
};
use serde_json::{Map, json};
use std::collections::HashMap;

pub struct Fx {
    pub store: Store,
    pub team_a: Team,
    pub team_b: Team,
    pub teams: HashMap<String, TeamId>,
    pub agent_a: User,
    pub agent_b: User,
    pub lead: User,
}

impl Fx {
    pub async fn node(&self, path: &str) -> Category {
        self.store.category_tree().await.unwrap().into_iter().find(|c| c.path == path).unwrap()
    }

    pub async fn leaf(&self, path: &str) -> Category {
        let c = self.node(path).await;
        assert!(c.takes_orders(), "{path} is not an active leaf");
        c
    }

    pub async fn customer(&self, name: &str) -> CustomerId {
        let new = NewCustomer { name: name.into(), ..NewCustomer::default() };
        self.store.create_customer(&new, T0).await.unwrap().id
    }
}

pub fn later(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + ms)
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// A small tree in the shape of the seed's table: two groups, five leaves.
pub fn sample_tree() -> CategoryTree {
    serde_json::from_value(json!({"categories": [
        {"name": "咨询", "children": [
            {"name": "产品功能", "children": [
                {"name": "使用方法", "type": "consultation", "priority": "p3", "group": "一线客服",
                 "sla": {"first_response_mins": 5, "resolution_mins": 5, "update_every_mins": 180},
                 "solutions": ["提供操作手册", "视频指引"]},
                {"name": "价格", "type": "consultation", "priority": "p4", "group": "一线客服",
                 "sla": {"first_response_mins": 5, "resolution_mins": 60}}
            ]},
            {"name": "物流查询", "type": "consultation", "priority": "p3", "group": "一线客服",
             "sla": {"first_response_mins": 3, "resolution_mins": 3}}
        ]},
        {"name": "售后", "children": [
            {"name": "产品质量", "children": [
                {"name": "不新鲜", "type": "complaint", "priority": "p1", "group": "售后部",
                 "sla": {"first_response_mins": 30, "resolution_mins": 1440, "update_every_mins": 180, "business_hours": true},
                 "solutions": ["退款", "补发", "道歉"]}
            ]}
        ]}
    ]}))
    .unwrap()
}

/// Two teams with an agent each, a team lead, and the sample tree.
pub async fn fixture() -> (TestDb, Fx) {
    let tdb = db().await;
    let s = tdb.store.clone();
    let team_a = s.create_team(&NewTeam { name: "一线客服".into() }, T0).await.unwrap();
    let team_b = s.create_team(&NewTeam { name: "售后部".into() }, T0).await.unwrap();
    let user = |name: &str, role, team: TeamId| NewUser { team_id: Some(team), ..new_user(name, role) };
    let agent_a = s.create_user(&user("agent_a", Role::Agent, team_a.id), T0).await.unwrap();
    let agent_b = s.create_user(&user("agent_b", Role::Agent, team_b.id), T0).await.unwrap();
    let lead = s.create_user(&user("lead", Role::TeamLead, team_a.id), T0).await.unwrap();
    let teams = HashMap::from([(team_a.name.clone(), team_a.id), (team_b.name.clone(), team_b.id)]);
    let summary = s.import_categories(&sample_tree(), &teams, T0).await.unwrap();
    assert_eq!(summary.created, 8);
    (tdb, Fx { store: s, team_a, team_b, teams, agent_a, agent_b, lead })
}

pub fn new_ticket(fx: &Fx, category: CategoryId) -> NewTicket {
    NewTicket {
        customer_id: None,
        channel: Channel::Phone,
        category_id: category,
        ticket_type: None,
        priority: None,
        team_id: None,
        owner_id: None,
        summary: "鲜花送到时已经不新鲜".into(),
        details: String::new(),
        solutions: vec![],
        result: String::new(),
        amount: None,
        media_exposure: false,
        template_id: None,
        template_fields: Map::new(),
        call_id: None,
        created_by: fx.agent_a.id,
        created_at: T0,
    }
}

fn day(at: Timestamp) -> String {
    let d = kefu_store::local_date(at, 480);
    format!("{:04}{:02}{:02}", d.year, d.month, d.day)
}

#[tokio::test]
async fn numbers_are_gapless_and_unique_per_local_day_under_concurrent_creates() {
    let (tdb, fx) = fixture().await;
    let leaf = fx.leaf("咨询/产品功能/使用方法").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = fx.store.clone();
        let mut n = new_ticket(&fx, leaf.id);
        n.created_at = later(i);
        tasks.push(tokio::spawn(async move { s.create_ticket(&n, 480).await.unwrap().number }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let want: Vec<String> = (1..=20).map(|k| format!("GD{}-{k:04}", day(T0))).collect();
    assert_eq!(numbers, want);
    // T0 is 22:13 in Beijing: two hours later it is the next local day, numbered from 1 again
    assert_ne!(day(later(2 * HOUR)), day(T0));
    let mut n = new_ticket(&fx, leaf.id);
    n.created_at = later(2 * HOUR);
    let next = fx.store.create_ticket(&n, 480).await.unwrap();
    assert_eq!(next.number, format!("GD{}-0001", day(later(2 * HOUR))));
    assert_eq!(fx.store.ticket_by_number(&next.number).await.unwrap().id, next.id);
    assert!(matches!(fx.store.ticket_by_number("GD19700101-0001").await, Err(StoreError::NotFound { .. })));
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_new_order_takes_its_leaf_defaults_and_is_checked_against_them() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let leaf = fx.leaf("售后/产品质量/不新鲜").await;
    let customer = fx.customer("王女士").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.customer_id = Some(customer);
    n.solutions = vec!["退款".into(), "退款".into(), "道歉".into()];
    n.call_id = Some("call-abc".into());
    let t = s.create_ticket(&n, 480).await.unwrap();
    assert_eq!(
        (t.ticket_type, t.priority, t.team_id, t.status),
        (TicketType::Complaint, Priority::P1, Some(fx.team_b.id), TicketStatus::New)
    );
    assert_eq!(t.solutions, ["退款", "道歉"]);
    assert_eq!(t.sla_targets, leaf.defaults.as_ref().unwrap().sla);
    assert_eq!((t.sla_state.created_at, t.version, t.tier), (T0, 1, 1));
    assert_eq!(s.ticket_calls(t.id).await.unwrap()[0].call_id, "call-abc");
    assert_eq!(s.tickets_for_call("call-abc").await.unwrap()[0].id, t.id);
    assert_eq!(s.tickets_for_customer(customer, 10).await.unwrap()[0].id, t.id);
    let events =
        s.query_events(&EventQuery { kinds: vec![EventKind::TicketCreated], ..EventQuery::default() }).await.unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].customer, Some(customer));
    assert_eq!(events.items[0].data["number"], json!(t.number));

    // given values win over the defaults; an owner makes it assigned
    let mut n = new_ticket(&fx, leaf.id);
    n.ticket_type = Some(TicketType::Emergency);
    n.priority = Some(Priority::P2);
    n.team_id = Some(fx.team_a.id);
    n.owner_id = Some(fx.agent_a.id);
    let t = s.create_ticket(&n, 480).await.unwrap();
    assert_eq!(
        (t.ticket_type, t.priority, t.team_id, t.status),
        (TicketType::Emergency, Priority::P2, Some(fx.team_a.id), TicketStatus::Assigned)
    );

    let invalid = |n: NewTicket, needle: &'static str| {
        let s = s.clone();
        async move {
            match s.create_ticket(&n, 480).await {
                Err(StoreError::Invalid(m)) => assert!(m.contains(needle), "{m} should mention {needle}"),
                other => panic!("expected invalid ({needle}), got {other:?}"),
            }
        }
    };
    let mut n = new_ticket(&fx, leaf.id);
    n.summary = "长".repeat(201);
    invalid(n, "at most 200 characters").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.solutions = vec!["赔一台新车".into()];
    invalid(n, "is not in the list of `售后/产品质量/不新鲜`").await;
    invalid(new_ticket(&fx, fx.node("售后").await.id), "is not a leaf").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.customer_id = Some(CustomerId::from_uuid(kefu_store::new_uuid()));
    invalid(n, "unknown customer").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.details = "x".repeat(10_001);
    invalid(n, "details").await;
    tdb.cleanup().await;
}

#[tokio::test]
async fn the_workflow_moves_the_sla_clock_and_refuses_illegal_moves() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let cal = BusinessCalendar::always();
    let leaf = fx.leaf("咨询/产品功能/使用方法").await;
    let t = s.create_ticket(&new_ticket(&fx, leaf.id), 480).await.unwrap();
    let by = Some(fx.agent_a.id);

    let err = s.move_ticket(t.id, 1, TicketStatus::Closed, None, None, by, later(1), &cal).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("cannot move to closed")), "{err:?}");

    let t = s.assign_ticket(t.id, Some(fx.agent_a.id), None, Some(fx.lead.id), later(MIN)).await.unwrap();
    assert_eq!((t.status, t.owner_id, t.team_id), (TicketStatus::Assigned, Some(fx.agent_a.id), Some(fx.team_a.id)));
    let t =
        s.move_ticket(t.id, t.version, TicketStatus::InProgress, None, None, by, later(2 * MIN), &cal).await.unwrap();
    assert_eq!(t.sla_state.first_response_at, Some(later(2 * MIN)));

    let err =
        s.move_ticket(t.id, t.version, TicketStatus::Pending, None, None, by, later(3 * MIN), &cal).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(m) if m.contains("needs a reason")));
    let t = s
        .move_ticket(
            t.id,
            t.version,
            TicketStatus::Pending,
            Some(PendingReason::Customer),
            Some("等客户拍照"),
            by,
            later(10 * MIN),
            &cal,
        )
        .await
        .unwrap();
    assert_eq!((t.pending_reason, t.sla_state.paused_since), (Some(PendingReason::Customer), Some(later(10 * MIN))));
    let t = s
        .move_ticket(t.id, t.version, TicketStatus::InProgress, None, None, by, later(10 * MIN + 2 * HOUR), &cal)
        .await
        .unwrap();
    assert_eq!((t.pending_reason, t.sla_state.paused_since, t.sla_state.paused_ms), (None, None, 2 * HOUR));
    // stored, not just returned
    assert_eq!(s.ticket(t.id).await.unwrap().sla_state.paused_ms, 2 * HOUR);

    let t =
        s.move_ticket(t.id, t.version, TicketStatus::Resolved, None, None, by, later(3 * HOUR), &cal).await.unwrap();
    assert_eq!((t.resolved_at, t.sla_state.resolved_at), (Some(later(3 * HOUR)), Some(later(3 * HOUR))));
    let t = s.move_ticket(t.id, t.version, TicketStatus::Closed, None, None, by, later(4 * HOUR), &cal).await.unwrap();
    assert_eq!(t.closed_at, Some(later(4 * HOUR)));
    let err = s
        .move_ticket(
            t.id,
            t.version,
            TicketStatus::Pending,
            Some(PendingReason::ThirdParty),
            None,
            by,
            later(5 * HOUR),
            &cal,
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("reopen it first")), "{err:?}");
    let t =
        s.move_ticket(t.id, t.version, TicketStatus::InProgress, None, None, by, later(6 * HOUR), &cal).await.unwrap();
    assert_eq!(
        (t.status, t.resolved_at, t.closed_at, t.sla_state.resolved_at),
        (TicketStatus::InProgress, None, None, None)
    );

    let history = s.ticket_history(t.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["created", "assigned", "status", "status", "status", "status", "status", "status", "status"]);
    let pending = &history[4];
    assert_eq!(
        pending.detail,
        json!({"from": "in_progress", "to": "pending", "reason": "customer", "note": "等客户拍照"})
    );
    assert_eq!((pending.actor_id, pending.at), (by, later(10 * MIN)));
    assert_eq!(history[1].actor_name.as_deref(), Some("User lead"));
    let moves = s
        .query_events(&EventQuery { kinds: vec![EventKind::TicketStatusChanged], ..EventQuery::default() })
        .await
        .unwrap();
    assert_eq!(moves.items.len(), 7);
    tdb.cleanup().await;
}

#[tokio::test]
async fn edits_are_recorded_field_by_field_and_a_stale_version_is_refused() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let leaf = fx.leaf("售后/产品质量/不新鲜").await;
    let t = s.create_ticket(&new_ticket(&fx, leaf.id), 480).await.unwrap();
    let by = Some(fx.agent_b.id);
    let patch = TicketPatch {
        summary: Some("花瓣发黑".into()),
        priority: Some(Priority::P2),
        ticket_type: Some(TicketType::Complaint), // unchanged: no row
        solutions: Some(vec!["补发".into()]),
        ..TicketPatch::default()
    };
    let t2 = s.update_ticket(t.id, 1, &patch, by, later(5 * MIN)).await.unwrap();
    assert_eq!((t2.summary.as_str(), t2.priority, t2.version), ("花瓣发黑", Priority::P2, 2));
    let history = s.ticket_history(t.id).await.unwrap();
    let updates: Vec<_> = history.iter().filter(|c| c.action == "updated").collect();
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[0].detail, json!({"field": "summary", "from": "鲜花送到时已经不新鲜", "to": "花瓣发黑"}));
    assert_eq!(updates[1].detail, json!({"field": "solutions", "from": [], "to": ["补发"]}));
    assert_eq!(updates[2].detail, json!({"field": "priority", "from": "p1", "to": "p2"}));
    assert!(updates.iter().all(|c| c.actor_id == by && c.at == later(5 * MIN)));
    assert_eq!(updates[0].actor_name.as_deref(), Some("User agent_b"));

    // someone else saved version 2 first: version 1 is stale, nothing changes
    let err = s
        .update_ticket(
            t.id,
            1,
            &TicketPatch { summary: Some("覆盖".into()), ..TicketPatch::default() },
            by,
            later(6 * MIN),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("version 1")), "{err:?}");
    let now = s.ticket(t.id).await.unwrap();
    assert_eq!((now.summary.as_str(), now.version), ("花瓣发黑", 2));
    let cal = BusinessCalendar::always();
    assert!(matches!(
        s.move_ticket(t.id, 1, TicketStatus::InProgress, None, None, by, later(7 * MIN), &cal).await,
        Err(StoreError::Conflict(_))
    ));

    // a category change copies the new leaf's targets and re-checks the solutions
    let other = fx.leaf("咨询/产品功能/使用方法").await;
    let mv = TicketPatch { category_id: Some(other.id), ..TicketPatch::default() };
    assert!(
        matches!(s.update_ticket(t.id, 2, &mv, by, later(8 * MIN)).await, Err(StoreError::Invalid(m)) if m.contains("补发"))
    );
    let mv =
        TicketPatch {
            category_id: Some(other.id), solutions: Some(vec!["视频指引".into()]), ..TicketPatch::default()
        };
    let moved = s.update_ticket(t.id, 2, &mv, by, later(8 * MIN)).await.unwrap();
    assert_eq!((moved.category_id, moved.sla_targets), (other.id, other.defaults.unwrap().sla));
    // nothing to change: no new version
    let same = s
        .update_ticket(
            t.id,
            3,
            &TicketPatch { summary: Some(" 花瓣发黑 ".into()), ..TicketPatch::default() },
            by,
            later(9 * MIN),
        )
        .await
        .unwrap();
    assert_eq!(same.version, 3);
    tdb.cleanup().await;
}

#[tokio::test]
async fn dispatch_escalation_comments_files_and_calls() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let leaf = fx.leaf("咨询/物流查询").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.owner_id = Some(fx.agent_a.id);
    let t = s.create_ticket(&n, 480).await.unwrap();
    let by = Some(fx.agent_a.id);
    let in_team = |team| TicketFilter { team: Some(team), ..TicketFilter::default() };
    let page = PageRequest::default();

    let d = s.dispatch_ticket(t.id, fx.team_b.id, "需要售后处理", by, later(MIN)).await.unwrap();
    assert_eq!((d.team_id, d.owner_id, d.status), (Some(fx.team_b.id), None, TicketStatus::Assigned));
    let b_list = s.list_tickets(&in_team(fx.team_b.id), TicketSort::CreatedAt, SortOrder::Desc, &page).await.unwrap();
    assert_eq!(b_list.items.iter().map(|x| x.id).collect::<Vec<_>>(), [t.id]);
    assert!(
        s.list_tickets(&in_team(fx.team_a.id), TicketSort::CreatedAt, SortOrder::Desc, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(s.dispatch_ticket(t.id, fx.team_b.id, "", by, later(MIN)).await, Err(StoreError::Invalid(_))));
    let dispatched = s
        .query_events(&EventQuery { kinds: vec![EventKind::TicketDispatched], ..EventQuery::default() })
        .await
        .unwrap();
    assert_eq!(dispatched.items[0].data["team"], json!(fx.team_b.id));
    // a team alone moves the order and clears an owner from another team
    let a = s.assign_ticket(t.id, Some(fx.agent_b.id), None, by, later(2 * MIN)).await.unwrap();
    assert_eq!((a.owner_id, a.team_id), (Some(fx.agent_b.id), Some(fx.team_b.id)));
    let a = s.assign_ticket(t.id, None, Some(fx.team_a.id), by, later(3 * MIN)).await.unwrap();
    assert_eq!((a.owner_id, a.team_id), (None, Some(fx.team_a.id)));

    let e = s.escalate_ticket(t.id, None, "一线处理超时", None, by, later(4 * MIN)).await.unwrap();
    assert_eq!(e.tier, 2);
    let e = s
        .escalate_ticket(t.id, Some(EscalationTarget::Tier(3)), "金额超过5000", Some("amount"), None, later(5 * MIN))
        .await
        .unwrap();
    assert_eq!(e.tier, 3);
    assert!(
        matches!(s.escalate_ticket(t.id, None, "", None, by, later(6 * MIN)).await, Err(StoreError::Conflict(m)) if m.contains("top tier"))
    );
    assert!(matches!(
        s.escalate_ticket(t.id, Some(EscalationTarget::Tier(2)), "", None, by, later(6 * MIN)).await,
        Err(StoreError::Conflict(_))
    ));
    let e = s
        .escalate_ticket(t.id, Some(EscalationTarget::Role(Role::Supervisor)), "投诉", None, by, later(7 * MIN))
        .await
        .unwrap();
    assert_eq!(e.tier, 3);
    assert_eq!(
        s.ticket_escalations(t.id).await.unwrap(),
        [EscalationTarget::Tier(2), EscalationTarget::Tier(3), EscalationTarget::Role(Role::Supervisor)]
    );
    let escalations =
        s.query_events(&EventQuery { kinds: vec![EventKind::TicketEscalated], ..EventQuery::default() }).await.unwrap();
    assert_eq!(escalations.items.len(), 3);
    assert_eq!(escalations.items[1].data["rule"], json!("amount"));
    assert_eq!(escalations.items[1].agent, None);

    let c = s.add_comment(t.id, "已联系快递", by, later(8 * MIN)).await.unwrap();
    assert_eq!(
        (c.sla_state.first_response_at, c.sla_state.last_update_at),
        (Some(later(8 * MIN)), Some(later(8 * MIN)))
    );
    let c = s.add_comment(t.id, "快递已改派", by, later(9 * MIN)).await.unwrap();
    assert_eq!(
        (c.sla_state.first_response_at, c.sla_state.last_update_at),
        (Some(later(8 * MIN)), Some(later(9 * MIN)))
    );
    assert!(matches!(s.add_comment(t.id, "  ", by, later(9 * MIN)).await, Err(StoreError::Invalid(_))));

    let att = NewAttachment {
        id: kefu_store::new_uuid(),
        ticket_id: t.id,
        name: "photo.jpg".into(),
        content_type: "image/jpeg".into(),
        size_bytes: 1234,
        sha256: "ab".repeat(32),
        path: "/tmp/x".into(),
        uploaded_by: fx.agent_a.id,
        created_at: later(10 * MIN),
    };
    let before = s.ticket(t.id).await.unwrap().version;
    let stored = s.add_attachment(&att).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.size_bytes), ("photo.jpg", 1234));
    assert_eq!(s.ticket(t.id).await.unwrap().version, before + 1);
    assert_eq!(s.attachments(t.id).await.unwrap(), std::slice::from_ref(&stored));
    assert!(matches!(s.attachment(t.id, kefu_store::new_uuid()).await, Err(StoreError::NotFound { .. })));
    let empty = NewAttachment { id: kefu_store::new_uuid(), size_bytes: 0, ..att.clone() };
    assert!(matches!(s.add_attachment(&empty).await, Err(StoreError::Invalid(_))));

    s.link_call(t.id, "call-1", by, later(11 * MIN)).await.unwrap();
    assert!(matches!(s.link_call(t.id, "call-1", by, later(11 * MIN)).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.tickets_for_call("call-1").await.unwrap()[0].id, t.id);

    let actions: Vec<String> = s.ticket_history(t.id).await.unwrap().into_iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            "created",
            "dispatched",
            "assigned",
            "assigned",
            "escalated",
            "escalated",
            "escalated",
            "comment",
            "comment",
            "attachment_added",
            "call_linked"
        ]
    );
    tdb.cleanup().await;
}

#[tokio::test]
async fn templates_are_validated_and_drive_an_orders_steps_and_fields() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    let field = |key: &str, kind, options: &[&str], required| TemplateField {
        key: key.into(),
        label: key.into(),
        kind,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        required,
    };
    let new = NewTemplate {
        name: "上门维修".into(),
        steps: vec![
            TemplateStep { key: "accept".into(), name: "受理".into(), due_hours: None },
            TemplateStep { key: "visit".into(), name: "上门".into(), due_hours: Some(24) },
        ],
        fields: vec![
            field("address", FieldKind::Text, &[], true),
            field("payer", FieldKind::Choice, &["客户", "公司"], false),
        ],
    };
    let tpl = s.create_template(&new, T0).await.unwrap();
    assert!(matches!(s.create_template(&new, T0).await, Err(StoreError::Conflict(_))));
    let bad = NewTemplate { steps: vec![], ..new.clone() };
    assert!(
        matches!(s.create_template(&bad, T0).await, Err(StoreError::Invalid(m)) if m.contains("at least one step"))
    );

    let leaf = fx.leaf("售后/产品质量/不新鲜").await;
    let mut n = new_ticket(&fx, leaf.id);
    n.template_id = Some(tpl.id);
    n.template_fields = json!({"payer": "老板"}).as_object().unwrap().clone();
    let err = s.create_ticket(&n, 480).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("`address` (address) is required") && m.contains("老板")),
        "{err:?}"
    );
    n.template_fields = json!({"address": "上海市", "payer": "公司"}).as_object().unwrap().clone();
    let t = s.create_ticket(&n, 480).await.unwrap();
    assert_eq!(t.template_step.as_deref(), Some("accept"));
    assert!(
        matches!(s.set_ticket_step(t.id, "fly", None, later(1)).await, Err(StoreError::Invalid(m)) if m.contains("accept, visit"))
    );
    let t = s.set_ticket_step(t.id, "visit", Some(fx.agent_b.id), later(1)).await.unwrap();
    assert_eq!(t.template_step.as_deref(), Some("visit"));
    let last = s.ticket_history(t.id).await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), &last.detail), ("step", &json!({"from": "accept", "to": "visit"})));

    // a step in use stays; a template in use is not deleted
    let drop_visit = TemplatePatch { steps: Some(vec![new.steps[0].clone()]), ..TemplatePatch::default() };
    assert!(
        matches!(s.update_template(tpl.id, &drop_visit, later(2)).await, Err(StoreError::Conflict(m)) if m.contains("visit"))
    );
    let renamed = s
        .update_template(
            tpl.id,
            &TemplatePatch { name: Some("上门维修服务".into()), ..TemplatePatch::default() },
            later(2),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "上门维修服务");
    assert!(matches!(s.delete_template(tpl.id).await, Err(StoreError::Conflict(_))));
    let spare = s.create_template(&NewTemplate { name: "寄修".into(), ..new.clone() }, T0).await.unwrap();
    assert_eq!(s.list_templates().await.unwrap().len(), 2);
    s.delete_template(spare.id).await.unwrap();
    assert!(matches!(s.template(spare.id).await, Err(StoreError::NotFound { .. })));
    tdb.cleanup().await;
}

/// 90 orders with every filter value spread out and sort values tied on purpose.
async fn seed_many(fx: &Fx) -> (Vec<Ticket>, CustomerId) {
    let customer = fx.customer("李先生").await;
    let leaves = [
        fx.leaf("咨询/产品功能/使用方法").await,
        fx.leaf("咨询/物流查询").await,
        fx.leaf("售后/产品质量/不新鲜").await,
    ];
    let bulk: Vec<NewTicketBulk> = (0..90_i64)
        .map(|i| {
            let leaf = &leaves[(i % 3) as usize];
            NewTicketBulk {
                customer_id: (i % 4 == 0).then_some(customer),
                channel: Channel::Phone,
                category_id: leaf.id,
                ticket_type: if i % 2 == 0 { TicketType::Complaint } else { TicketType::Consultation },
                priority: Priority::ALL[(i % 4) as usize],
                summary: match i % 10 {
                    0 => format!("退款 100% 到账_{i}"),
                    // what an unescaped `%` or `_` would match too
                    5 => format!("退款 100x 到账x{i}"),
                    _ => format!("订单 {i} 的问题"),
                },
                details: String::new(),
                status: TicketStatus::ALL[(i % 7) as usize],
                owner_id: (i % 5 == 0).then_some(fx.agent_a.id),
                team_id: Some(if i % 3 == 0 { fx.team_b.id } else { fx.team_a.id }),
                sla_targets: leaf.defaults.as_ref().unwrap().sla,
                sla_breached: i % 6 == 0,
                created_by: fx.agent_a.id,
                created_at: later((i % 30) * 1000),
                updated_at: later(((i * 7) % 45) * 1000),
                resolved_at: None,
                closed_at: None,
            }
        })
        .collect();
    let numbers = fx.store.insert_tickets_bulk(&bulk, 480).await.unwrap();
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 90);
    assert_eq!(numbers[0], format!("GD{}-0001", day(T0)));
    let all = fx
        .store
        .list_tickets(
            &TicketFilter::default(),
            TicketSort::CreatedAt,
            SortOrder::Asc,
            &PageRequest { limit: Some(500), cursor: None },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 90);
    (all.items, customer)
}

async fn walk(s: &Store, f: &TicketFilter, sort: TicketSort, order: SortOrder, limit: u32) -> Vec<Ticket> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_tickets(f, sort, order, &PageRequest { limit: Some(limit), cursor }).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

fn sorted(mut v: Vec<Ticket>, sort: TicketSort, order: SortOrder) -> Vec<kefu_core::TicketId> {
    v.sort_by(|a, b| {
        let ka = match sort {
            TicketSort::CreatedAt => (String::new(), a.created_at, a.id),
            TicketSort::UpdatedAt => (String::new(), a.updated_at, a.id),
            TicketSort::Priority => (a.priority.code().to_owned(), a.created_at, a.id),
        };
        let kb = match sort {
            TicketSort::CreatedAt => (String::new(), b.created_at, b.id),
            TicketSort::UpdatedAt => (String::new(), b.updated_at, b.id),
            TicketSort::Priority => (b.priority.code().to_owned(), b.created_at, b.id),
        };
        if order == SortOrder::Asc { ka.cmp(&kb) } else { kb.cmp(&ka) }
    });
    v.into_iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn every_sort_pages_through_every_order_exactly_once() {
    let (tdb, fx) = fixture().await;
    let (all, _) = seed_many(&fx).await;
    for sort in [TicketSort::CreatedAt, TicketSort::UpdatedAt, TicketSort::Priority] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let got: Vec<_> =
                walk(&fx.store, &TicketFilter::default(), sort, order, 7).await.iter().map(|t| t.id).collect();
            assert_eq!(got, sorted(all.clone(), sort, order), "{sort:?} {order:?}");
        }
    }
    // a cursor of one sort is refused by another; a garbage cursor too
    let first = fx
        .store
        .list_tickets(
            &TicketFilter::default(),
            TicketSort::CreatedAt,
            SortOrder::Desc,
            &PageRequest { limit: Some(5), cursor: None },
        )
        .await
        .unwrap();
    let other = PageRequest { limit: Some(5), cursor: first.next_cursor };
    let err = fx
        .store
        .list_tickets(&TicketFilter::default(), TicketSort::Priority, SortOrder::Desc, &other)
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("another sort")), "{err:?}");
    let garbage = PageRequest { limit: Some(5), cursor: Some("cd.x.y".into()) };
    assert!(matches!(
        fx.store.list_tickets(&TicketFilter::default(), TicketSort::CreatedAt, SortOrder::Desc, &garbage).await,
        Err(StoreError::Invalid(_))
    ));
    tdb.cleanup().await;
}

#[tokio::test]
async fn every_filter_selects_exactly_the_matching_orders() {
    let (tdb, fx) = fixture().await;
    let (all, customer) = seed_many(&fx).await;
    let consult = fx.node("咨询").await;
    let consult_leaves: Vec<CategoryId> = fx.store.category_subtree(consult.id).await.unwrap();
    assert_eq!(consult_leaves.len(), 5);
    type Pred = Box<dyn Fn(&Ticket) -> bool>;
    let cases: Vec<(&str, TicketFilter, Pred)> = vec![
        (
            "statuses",
            TicketFilter { statuses: vec![TicketStatus::New, TicketStatus::Pending], ..TicketFilter::default() },
            Box::new(|t| matches!(t.status, TicketStatus::New | TicketStatus::Pending)),
        ),
        ("team", TicketFilter { team: Some(fx.team_b.id), ..TicketFilter::default() }, {
            let b = fx.team_b.id;
            Box::new(move |t| t.team_id == Some(b))
        }),
        ("owner", TicketFilter { owner: Some(fx.agent_a.id), ..TicketFilter::default() }, {
            let a = fx.agent_a.id;
            Box::new(move |t| t.owner_id == Some(a))
        }),
        (
            "customer",
            TicketFilter { customer: Some(customer), ..TicketFilter::default() },
            Box::new(move |t| t.customer_id == Some(customer)),
        ),
        ("category subtree", TicketFilter { category: Some(consult.id), ..TicketFilter::default() }, {
            let ids = consult_leaves.clone();
            Box::new(move |t| ids.contains(&t.category_id))
        }),
        (
            "category subtree in several statuses",
            TicketFilter {
                category: Some(consult.id),
                statuses: vec![TicketStatus::New, TicketStatus::Pending],
                ..TicketFilter::default()
            },
            {
                let ids = consult_leaves.clone();
                Box::new(move |t| {
                    ids.contains(&t.category_id) && matches!(t.status, TicketStatus::New | TicketStatus::Pending)
                })
            },
        ),
        (
            "category subtree in one status",
            TicketFilter { category: Some(consult.id), statuses: vec![TicketStatus::New], ..TicketFilter::default() },
            {
                let ids = consult_leaves.clone();
                Box::new(move |t| ids.contains(&t.category_id) && t.status == TicketStatus::New)
            },
        ),
        (
            "breached in several statuses",
            TicketFilter {
                breached: Some(true),
                statuses: vec![TicketStatus::New, TicketStatus::Pending],
                ..TicketFilter::default()
            },
            Box::new(|t| t.sla_breached && matches!(t.status, TicketStatus::New | TicketStatus::Pending)),
        ),
        (
            "type",
            TicketFilter { ticket_type: Some(TicketType::Complaint), ..TicketFilter::default() },
            Box::new(|t| t.ticket_type == TicketType::Complaint),
        ),
        (
            "priority",
            TicketFilter { priority: Some(Priority::P1), ..TicketFilter::default() },
            Box::new(|t| t.priority == Priority::P1),
        ),
        (
            "created range",
            TicketFilter {
                created_from: Some(later(5_000)),
                created_to: Some(later(12_000)),
                ..TicketFilter::default()
            },
            Box::new(|t| t.created_at >= later(5_000) && t.created_at < later(12_000)),
        ),
        (
            "q with %",
            TicketFilter { q: Some("100%".into()), ..TicketFilter::default() },
            Box::new(|t| t.summary.contains("100%")),
        ),
        (
            "q with _",
            TicketFilter { q: Some("账_".into()), ..TicketFilter::default() },
            Box::new(|t| t.summary.contains("账_")),
        ),
        ("q is a number", TicketFilter { q: Some(all[3].number.clone()), ..TicketFilter::default() }, {
            let n = all[3].number.clone();
            Box::new(move |t| t.number == n)
        }),
        ("breached", TicketFilter { breached: Some(true), ..TicketFilter::default() }, Box::new(|t| t.sla_breached)),
        (
            "not breached",
            TicketFilter { breached: Some(false), ..TicketFilter::default() },
            Box::new(|t| !t.sla_breached),
        ),
        (
            "combined",
            TicketFilter {
                team: Some(fx.team_a.id),
                statuses: vec![TicketStatus::Assigned, TicketStatus::InProgress],
                priority: Some(Priority::P2),
                ..TicketFilter::default()
            },
            {
                let a = fx.team_a.id;
                Box::new(move |t| {
                    t.team_id == Some(a)
                        && matches!(t.status, TicketStatus::Assigned | TicketStatus::InProgress)
                        && t.priority == Priority::P2
                })
            },
        ),
    ];
    for (name, filter, pred) in cases {
        let want: Vec<Ticket> = all.iter().filter(|t| pred(t)).cloned().collect();
        assert!(!want.is_empty() && want.len() < 90, "{name}: the seed should split on this filter ({})", want.len());
        // several statuses under a time sort take the per-status merge, a category subtree by
        // creation the per-category (and status) merge; priority the plain IN
        let sorts = [
            (TicketSort::UpdatedAt, SortOrder::Desc),
            (TicketSort::CreatedAt, SortOrder::Asc),
            (TicketSort::CreatedAt, SortOrder::Desc),
            (TicketSort::Priority, SortOrder::Desc),
        ];
        for (sort, order) in sorts {
            let got: Vec<_> = walk(&fx.store, &filter, sort, order, 4).await.iter().map(|t| t.id).collect();
            assert_eq!(got, sorted(want.clone(), sort, order), "{name} by {sort:?} {order:?}");
        }
    }
    let unknown =
        TicketFilter { category: Some(CategoryId::from_uuid(kefu_store::new_uuid())), ..TicketFilter::default() };
    assert!(matches!(
        fx.store.list_tickets(&unknown, TicketSort::CreatedAt, SortOrder::Desc, &PageRequest::default()).await,
        Err(StoreError::Invalid(_))
    ));

    // the export resolves names and keeps the list order
    let rows = fx
        .store
        .export_tickets(
            &TicketFilter { customer: Some(customer), ..TicketFilter::default() },
            TicketSort::CreatedAt,
            SortOrder::Asc,
            10,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.customer_name.as_deref() == Some("李先生")));
    assert!(rows.iter().all(|r| r.team_name.is_some() && !r.category_path.is_empty()));
    assert!(rows.iter().any(|r| r.owner_name.as_deref() == Some("User agent_a")));
    assert!(
        rows.windows(2).all(|w| (w[0].ticket.created_at, w[0].ticket.id) < (w[1].ticket.created_at, w[1].ticket.id))
    );
    tdb.cleanup().await;
}
