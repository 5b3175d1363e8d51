//! SLA timers, escalations, callbacks and surveys in the store: timers follow the order's
//! state, fire at most once (also with several workers racing), re-check the order when they
//! fire; callbacks take three attempts and close the order; surveys are summed up.

use crate::{T0, db, new_user};
use kefu_core::event::EventKind;
use kefu_core::service::calendar::{BusinessCalendar, Date};
use kefu_core::service::category::CategoryTree;
use kefu_core::service::escalation::EscalationTarget;
use kefu_core::service::followup::{AttemptOutcome, FollowUpState, Satisfaction};
use kefu_core::service::sla::TimerKind;
use kefu_core::service::ticket::{Channel, PendingReason, TicketStatus};
use kefu_core::{CategoryId, Role, Timestamp, UserId};
use kefu_store::testing::TestDb;
use kefu_store::{
    EventQuery, FireOutcome, FollowUpFilter, FollowUpSync, NewTeam, NewTicket, PageRequest, ServiceConfig, SlaKind,
    SlaReportQuery, SlaTimer, Store, StoreError, SurveyChannel, Ticket, TicketPatch,
};
use serde_json::{Map, json};
use std::collections::{BTreeMap, HashMap};

const MIN: i64 = 60_000;

fn at(ms: i64) -> Timestamp {
    T0.plus_millis(ms)
}

struct Fx {
    store: Store,
    agent: UserId,
    consult: CategoryId,
    complaint: CategoryId,
}

async fn fixture() -> (TestDb, Fx) {
    let tdb = db().await;
    let s = tdb.store.clone();
    let team = s.create_team(&NewTeam { name: "一线客服".into() }, T0).await.unwrap();
    let agent = s
        .create_user(&kefu_store::NewUser { team_id: Some(team.id), ..new_user("agent", Role::Agent) }, T0)
        .await
        .unwrap();
    let tree: CategoryTree = serde_json::from_value(json!({"categories": [
        {"name": "咨询", "children": [{"name": "物流", "children": [
            {"name": "查询", "type": "consultation", "priority": "p3", "group": "一线客服",
             "sla": {"first_response_mins": 10, "resolution_mins": 60}}
        ]}]},
        {"name": "售后", "children": [{"name": "质量", "children": [
            {"name": "投诉", "type": "complaint", "priority": "p1", "group": "一线客服",
             "sla": {"first_response_mins": 10, "resolution_mins": 600, "update_every_mins": 180}}
        ]}]}
    ]}))
    .unwrap();
    let teams = HashMap::from([(team.name.clone(), team.id)]);
    s.import_categories(&tree, &teams, T0).await.unwrap();
    let leaf = |path: &'static str| {
        let s = s.clone();
        async move { s.category_tree().await.unwrap().into_iter().find(|c| c.path == path).unwrap().id }
    };
    let consult = leaf("咨询/物流/查询").await;
    let complaint = leaf("售后/质量/投诉").await;
    (tdb, Fx { store: s, agent: agent.id, consult, complaint })
}

impl Fx {
    fn new_ticket(&self, category: CategoryId) -> NewTicket {
        NewTicket {
            customer_id: None,
            channel: Channel::Phone,
            category_id: category,
            ticket_type: None,
            priority: None,
            team_id: None,
            owner_id: Some(self.agent),
            summary: "快递三天没有更新".into(),
            details: String::new(),
            solutions: vec![],
            result: String::new(),
            amount: None,
            media_exposure: false,
            template_id: None,
            template_fields: Map::new(),
            call_id: None,
            created_by: self.agent,
            created_at: T0,
        }
    }

    async fn ticket(&self, new: NewTicket) -> Ticket {
        let t = self.store.create_ticket(&new, 480).await.unwrap();
        self.store.sync_ticket_timers(t.id, &ServiceConfig::default(), t.created_at).await.unwrap();
        t
    }

    async fn armed(&self, t: &Ticket) -> Vec<(String, String, i64)> {
        let mut out: Vec<_> = self
            .store
            .ticket_timers(t.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.fired_at.is_none())
            .map(|x| (x.kind.to_string(), x.rule, x.due_at.millis_since(T0) / MIN))
            .collect();
        out.sort();
        out
    }

    async fn timer(&self, t: &Ticket, kind: &str) -> SlaTimer {
        self.store.ticket_timers(t.id).await.unwrap().into_iter().find(|x| x.kind.as_str() == kind).unwrap()
    }

    async fn move_to(&self, t: &Ticket, to: TicketStatus, reason: Option<PendingReason>, now: Timestamp) -> Ticket {
        let v = self.store.ticket(t.id).await.unwrap().version;
        let cal = BusinessCalendar::always();
        self.store.move_ticket(t.id, v, to, reason, None, Some(self.agent), now, &cal).await.unwrap()
    }

    async fn sync(&self, t: &Ticket, now: Timestamp) {
        self.store.sync_ticket_timers(t.id, &ServiceConfig::default(), now).await.unwrap();
    }

    async fn count_events(&self, kinds: &[EventKind]) -> usize {
        let q = EventQuery {
            kinds: kinds.to_vec(),
            page: PageRequest { limit: Some(500), cursor: None },
            ..Default::default()
        };
        self.store.query_events(&q).await.unwrap().items.len()
    }
}

fn row(kind: &str, rule: &str, mins: i64) -> (String, String, i64) {
    (kind.to_owned(), rule.to_owned(), mins)
}

#[tokio::test]
async fn timers_follow_the_order_and_each_fires_once() {
    let (tdb, fx) = fixture().await;
    let cfg = ServiceConfig::default();
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    assert_eq!(
        fx.armed(&t).await,
        [
            row("escalation", "tier1_unresolved_30min", 30),
            row("first_response_breach", "", 10),
            row("first_response_warning", "", 8),
            row("resolution_breach", "", 60),
            row("resolution_warning", "", 48),
        ]
    );
    // syncing again changes nothing
    fx.sync(&t, at(MIN)).await;
    assert_eq!(fx.armed(&t).await.len(), 5);

    // at 9 minutes only the first-response warning is due; it fires once
    let due = fx.store.due_timers(at(9 * MIN), 100).await.unwrap();
    assert_eq!(due.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(), ["first_response_warning"]);
    let FireOutcome::Fired(ev) = fx.store.fire_timer(&due[0], at(9 * MIN), &cfg).await.unwrap() else { panic!() };
    assert_eq!(
        (ev.kind, ev.due_at, ev.at),
        (SlaKind::Timer(TimerKind::FirstResponseWarning), at(8 * MIN), at(9 * MIN))
    );
    assert_eq!(fx.store.fire_timer(&due[0], at(9 * MIN), &cfg).await.unwrap(), FireOutcome::Taken);
    assert!(fx.store.due_timers(at(9 * MIN), 100).await.unwrap().is_empty());
    // a fired timer is never armed again, however often the order is synced
    fx.sync(&t, at(9 * MIN)).await;
    assert!(!fx.armed(&t).await.iter().any(|r| r.0 == "first_response_warning"));
    assert_eq!(fx.count_events(&[EventKind::TicketSlaWarning]).await, 1);
    let history = fx.store.ticket_history(t.id).await.unwrap();
    let warning = history.iter().find(|c| c.action == "sla_warning").unwrap();
    assert_eq!((warning.actor_id, &warning.detail["target"]), (None, &json!("first_response")));

    // a response meets the first-response target: its breach is dropped
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(9 * MIN + 30_000)).await;
    fx.sync(&t, at(9 * MIN + 30_000)).await;
    assert!(!fx.armed(&t).await.iter().any(|r| r.0.starts_with("first_response")));
    assert!(fx.store.due_timers(at(11 * MIN), 100).await.unwrap().is_empty());

    // resolving ends every timer
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(20 * MIN)).await;
    fx.sync(&t, at(20 * MIN)).await;
    assert!(fx.armed(&t).await.is_empty());
    assert!(fx.store.due_timers(at(1000 * MIN), 100).await.unwrap().is_empty());
    assert!(!fx.store.ticket(t.id).await.unwrap().sla_breached);
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_timer_rechecks_the_order_when_it_fires() {
    let (tdb, fx) = fixture().await;
    let cfg = ServiceConfig::default();
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(MIN)).await;
    fx.sync(&t, at(MIN)).await;
    let breach = fx.timer(&t, "resolution_breach").await;
    assert_eq!(breach.due_at, at(60 * MIN));

    // pending from 10 to 40 minutes, and the worker saw neither change: at its old due time
    // the breach is not due any more — it moves 30 minutes later and stays armed
    let t = fx.move_to(&t, TicketStatus::Pending, Some(PendingReason::Customer), at(10 * MIN)).await;
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(40 * MIN)).await;
    assert_eq!(fx.store.fire_timer(&breach, at(60 * MIN), &cfg).await.unwrap(), FireOutcome::Moved(at(90 * MIN)));
    assert_eq!(fx.timer(&t, "resolution_breach").await.due_at, at(90 * MIN));
    assert_eq!(fx.timer(&t, "resolution_breach").await.fired_at, None);

    // resolved before the (moved) breach, unseen by the worker: the breach is dropped
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(80 * MIN)).await;
    let breach = fx.timer(&t, "resolution_breach").await;
    assert_eq!(fx.store.fire_timer(&breach, at(91 * MIN), &cfg).await.unwrap(), FireOutcome::Dropped);
    assert!(fx.store.ticket_timers(t.id).await.unwrap().iter().all(|x| x.kind.as_str() != "resolution_breach"));
    assert_eq!(fx.store.ticket_sla_events(t.id).await.unwrap().len(), 0);
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_pause_moves_due_times_but_a_fired_warning_stays_fired() {
    let (tdb, fx) = fixture().await;
    let cfg = ServiceConfig::default();
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(MIN)).await;
    fx.sync(&t, at(MIN)).await;
    // the resolution warning (48 min) fires at 50 minutes
    let warning = fx.timer(&t, "resolution_warning").await;
    assert!(matches!(fx.store.fire_timer(&warning, at(50 * MIN), &cfg).await.unwrap(), FireOutcome::Fired(_)));
    // pending at 50: no resolution timer is armed while paused
    let t = fx.move_to(&t, TicketStatus::Pending, Some(PendingReason::ThirdParty), at(50 * MIN)).await;
    fx.sync(&t, at(50 * MIN)).await;
    assert!(!fx.armed(&t).await.iter().any(|r| r.0.starts_with("resolution")), "{:?}", fx.armed(&t).await);
    assert!(fx.store.due_timers(at(200 * MIN), 100).await.unwrap().iter().all(|x| x.kind.as_str() == "escalation"));
    // resumed at 80: the breach is due 30 minutes later than planned; the warning, though
    // its due time moved too, already fired for this clock and is not armed again
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(80 * MIN)).await;
    fx.sync(&t, at(80 * MIN)).await;
    let resolution: Vec<_> = fx.armed(&t).await.into_iter().filter(|r| r.0.starts_with("resolution")).collect();
    assert_eq!(resolution, [row("resolution_breach", "", 90)]);
    let fired = fx.store.ticket_sla_events(t.id).await.unwrap();
    assert_eq!(fired.len(), 1);
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_breach_flags_the_order_and_is_counted() {
    let (tdb, fx) = fixture().await;
    let cfg = ServiceConfig::default();
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let other = fx.ticket(fx.new_ticket(fx.consult)).await;
    for timer in fx.store.due_timers(at(11 * MIN), 100).await.unwrap() {
        assert!(matches!(fx.store.fire_timer(&timer, at(11 * MIN), &cfg).await.unwrap(), FireOutcome::Fired(_)));
    }
    let t = fx.store.ticket(t.id).await.unwrap();
    assert!(t.sla_breached);
    assert_eq!(t.version, 1, "a breach flag is not a change of the order's content");
    assert_eq!(fx.count_events(&[EventKind::TicketSlaBreached]).await, 2);
    let breached = fx.store.ticket_history(other.id).await.unwrap();
    assert_eq!(breached.iter().filter(|c| c.action == "sla_breach").count(), 1);

    let report = fx.store.sla_report(&SlaReportQuery::default()).await.unwrap();
    assert_eq!(report.counts["first_response_breach"], 2);
    assert_eq!(report.counts["first_response_warning"], 2);
    assert_eq!(report.counts["resolution_breach"], 0);
    assert_eq!(report.breached_tickets, 2);
    assert_eq!(report.items.len(), 2);
    assert!(report.items.iter().all(|i| i.event.kind.is_breach() && i.number.starts_with("GD")));
    // paged, and limited to a period
    let q = SlaReportQuery { page: PageRequest { limit: Some(1), cursor: None }, ..Default::default() };
    let first = fx.store.sla_report(&q).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let q = SlaReportQuery { page: PageRequest { limit: Some(1), cursor: first.next_cursor }, ..Default::default() };
    let second = fx.store.sla_report(&q).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(second.items[0].event.id, first.items[0].event.id);
    assert!(second.next_cursor.is_none());
    let q = SlaReportQuery { from: Some(at(12 * MIN)), ..Default::default() };
    assert_eq!(fx.store.sla_report(&q).await.unwrap().counts.values().sum::<i64>(), 0);
    let q = SlaReportQuery { kind: Some(SlaKind::Timer(TimerKind::FirstResponseWarning)), ..Default::default() };
    assert!(fx.store.sla_report(&q).await.unwrap().items.iter().all(|i| !i.event.kind.is_breach()));
    let bad = SlaReportQuery { from: Some(at(2)), to: Some(at(1)), ..Default::default() };
    assert!(matches!(fx.store.sla_report(&bad).await, Err(StoreError::Invalid(_))));
    tdb.cleanup().await;
}

/// Fires everything due at `now` for `t` and returns the escalation rules that fired.
async fn fire_all(fx: &Fx, now: Timestamp) -> Vec<String> {
    let mut fired = Vec::new();
    loop {
        let due = fx.store.due_timers(now, 100).await.unwrap();
        if due.is_empty() {
            return fired;
        }
        for timer in due {
            let outcome = fx.store.fire_timer(&timer, now, &ServiceConfig::default()).await.unwrap();
            if let FireOutcome::Fired(ev) = outcome
                && ev.kind == SlaKind::Escalation
            {
                fired.push(ev.rule.clone());
                // as the worker does: the new tier may end other rules
                fx.sync(&fx.store.ticket(ev.ticket_id).await.unwrap(), now).await;
            }
        }
    }
}

#[tokio::test]
async fn escalation_rules_raise_the_tier_or_reach_a_role_once() {
    let (tdb, fx) = fixture().await;
    // amount over 5000: the top tier at once; the tier-1 rule no longer applies then
    let big = fx.ticket(NewTicket { amount: Some(9_000), ..fx.new_ticket(fx.consult) }).await;
    assert_eq!(fire_all(&fx, at(0)).await, ["amount_over_5000"]);
    let b = fx.store.ticket(big.id).await.unwrap();
    assert_eq!((b.tier, b.version), (3, 2));
    assert_eq!(fx.store.ticket_escalations(big.id).await.unwrap(), [EscalationTarget::Tier(3)]);
    assert!(!fx.armed(&b).await.iter().any(|r| r.0 == "escalation"), "{:?}", fx.armed(&b).await);
    let change = fx.store.ticket_history(big.id).await.unwrap().into_iter().find(|c| c.action == "escalated").unwrap();
    assert_eq!(change.actor_id, None);
    assert_eq!(change.detail["rule"], "amount_over_5000");
    assert_eq!(change.detail["to"], json!({ "tier": 3 }));

    // a complaint at tier 1: tier 2 and a supervisor after 30 minutes, not before
    let c = fx.ticket(fx.new_ticket(fx.complaint)).await;
    assert!(fire_all(&fx, at(29 * MIN)).await.is_empty());
    let mut rules = fire_all(&fx, at(30 * MIN)).await;
    rules.sort();
    assert_eq!(rules, ["complaint_to_supervisor", "tier1_unresolved_30min"]);
    let c2 = fx.store.ticket(c.id).await.unwrap();
    assert_eq!(c2.tier, 2);
    let mut reached = fx.store.ticket_escalations(c.id).await.unwrap();
    reached.sort();
    assert_eq!(reached, [EscalationTarget::Tier(2), EscalationTarget::Role(Role::Supervisor)]);
    fx.sync(&c2, at(31 * MIN)).await;
    assert!(!fx.armed(&c2).await.iter().any(|r| r.0 == "escalation"));
    assert!(fire_all(&fx, at(40 * MIN)).await.is_empty());
    assert_eq!(fx.count_events(&[EventKind::TicketEscalated]).await, 3);

    // a rule that no longer holds when its timer fires (the amount was corrected) is dropped
    let t = fx.ticket(NewTicket { amount: Some(6_000), ..fx.new_ticket(fx.consult) }).await;
    let patch = TicketPatch { amount: Some(Some(100)), ..TicketPatch::default() };
    fx.store.update_ticket(t.id, 1, &patch, Some(fx.agent), at(0)).await.unwrap();
    let timer = fx.store.ticket_timers(t.id).await.unwrap().into_iter().find(|x| x.rule == "amount_over_5000").unwrap();
    assert_eq!(fx.store.fire_timer(&timer, at(0), &ServiceConfig::default()).await.unwrap(), FireOutcome::Dropped);
    assert_eq!(fx.store.ticket(t.id).await.unwrap().tier, 1);
    tdb.cleanup().await;
}

#[tokio::test]
async fn workers_racing_on_one_database_fire_each_timer_once() {
    let (tdb, fx) = fixture().await;
    let mut tickets = Vec::new();
    for _ in 0..8 {
        tickets.push(fx.ticket(fx.new_ticket(fx.consult)).await);
    }
    let armed = {
        let mut n = 0;
        for t in &tickets {
            n += fx.armed(t).await.len();
        }
        n
    };
    assert_eq!(armed, 8 * 5);
    // four claim loops: two on the test's store, two on a second connection pool
    let second = Store::open(&tdb.options).await.unwrap();
    let now = at(3 * 60 * MIN);
    let mut loops = Vec::new();
    for store in [fx.store.clone(), fx.store.clone(), second.clone(), second.clone()] {
        loops.push(tokio::spawn(async move {
            let mut fired = Vec::new();
            loop {
                let due = store.due_timers(now, 100).await.unwrap();
                if due.is_empty() {
                    return fired;
                }
                for timer in due {
                    if let FireOutcome::Fired(ev) =
                        store.fire_timer(&timer, now, &ServiceConfig::default()).await.unwrap()
                    {
                        fired.push((ev.ticket_id, ev.kind, ev.rule));
                    }
                }
            }
        }));
    }
    let mut all = Vec::new();
    for l in loops {
        all.extend(l.await.unwrap());
    }
    let mut per_timer: BTreeMap<_, usize> = BTreeMap::new();
    for f in &all {
        *per_timer.entry(f.clone()).or_default() += 1;
    }
    assert_eq!(all.len(), armed, "every armed timer fired");
    assert!(per_timer.values().all(|n| *n == 1), "a timer fired twice: {per_timer:?}");
    let facts: usize = {
        let mut n = 0;
        for t in &tickets {
            n += fx.store.ticket_sla_events(t.id).await.unwrap().len();
        }
        n
    };
    assert_eq!(facts, armed);
    let kinds = [EventKind::TicketSlaWarning, EventKind::TicketSlaBreached, EventKind::TicketEscalated];
    assert_eq!(fx.count_events(&kinds).await, armed);
    for t in &tickets {
        assert_eq!(fx.store.ticket(t.id).await.unwrap().tier, 2);
    }
    second.close().await;
    tdb.cleanup().await;
}

#[tokio::test]
async fn three_failed_callbacks_fail_and_close_the_order() {
    let (tdb, fx) = fixture().await;
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(20 * MIN)).await;
    let FollowUpSync::Created(f) = fx.store.sync_followup(&t, 60 * MIN, at(20 * MIN)).await.unwrap() else { panic!() };
    assert_eq!((f.status, f.attempts, f.due_at, f.assigned_to), (FollowUpState::Open, 0, at(80 * MIN), Some(fx.agent)));
    assert_eq!(fx.store.sync_followup(&t, 60 * MIN, at(21 * MIN)).await.unwrap(), FollowUpSync::Unchanged);
    let open = FollowUpFilter { status: Some(FollowUpState::Open), due_before: Some(at(81 * MIN)) };
    assert_eq!(fx.store.list_followups(&open, &PageRequest::default()).await.unwrap().items, std::slice::from_ref(&f));
    let early = FollowUpFilter { due_before: Some(at(80 * MIN)), ..open.clone() };
    assert!(fx.store.list_followups(&early, &PageRequest::default()).await.unwrap().items.is_empty());

    let attempt =
        |n: i64, outcome| fx.store.record_followup_attempt(f.id, outcome, "", None, fx.agent, at(80 * MIN + n));
    let one = attempt(1, AttemptOutcome::NoAnswer).await.unwrap();
    assert_eq!((one.status, one.attempts, one.ticket_status), (FollowUpState::Open, 1, TicketStatus::Callback));
    let two = attempt(2, AttemptOutcome::Busy).await.unwrap();
    assert_eq!((two.status, two.ticket_status), (FollowUpState::Open, TicketStatus::Callback));
    let three = attempt(3, AttemptOutcome::Unreachable).await.unwrap();
    assert_eq!((three.status, three.attempts, three.finished_at), (FollowUpState::Failed, 3, Some(at(80 * MIN + 3))));
    let closed = fx.store.ticket(t.id).await.unwrap();
    assert_eq!((closed.status, closed.closed_at), (TicketStatus::Closed, Some(at(80 * MIN + 3))));
    assert!(matches!(attempt(4, AttemptOutcome::Answered).await, Err(StoreError::Conflict(m)) if m.contains("failed")));
    assert_eq!(fx.store.followup_attempts(f.id).await.unwrap().len(), 3);
    let moves: Vec<_> = fx
        .store
        .ticket_history(t.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.action == "status" && c.actor_id.is_none())
        .map(|c| (c.detail["from"].as_str().unwrap().to_owned(), c.detail["to"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(moves, [("resolved".into(), "callback".into()), ("callback".into(), "closed".into())]);
    assert_eq!(fx.count_events(&[EventKind::FollowUpAttempted]).await, 3);
    // closed: the (finished) callback is left alone
    assert_eq!(fx.store.sync_followup(&closed, 60 * MIN, at(90 * MIN)).await.unwrap(), FollowUpSync::Unchanged);
    tdb.cleanup().await;
}

fn scores(speed: u8, attitude: u8, quality: u8) -> Satisfaction {
    Satisfaction { speed, attitude, quality, comment: "送货很快".into() }
}

#[tokio::test]
async fn an_answered_callback_with_a_survey_is_done_and_scored() {
    let (tdb, fx) = fixture().await;
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(20 * MIN)).await;
    let FollowUpSync::Created(f) = fx.store.sync_followup(&t, 0, at(20 * MIN)).await.unwrap() else { panic!() };
    // a survey needs an answered call
    let s = scores(5, 4, 5);
    let no =
        fx.store.record_followup_attempt(f.id, AttemptOutcome::NoAnswer, "", Some(&s), fx.agent, at(21 * MIN)).await;
    assert!(matches!(no, Err(StoreError::Invalid(m)) if m.contains("answered")));
    let bad = fx
        .store
        .record_followup_attempt(f.id, AttemptOutcome::Answered, "", Some(&scores(6, 4, 5)), fx.agent, at(21 * MIN))
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(m)) if m.contains("speed")));
    assert_eq!(fx.store.followup(f.id).await.unwrap().attempts, 0, "nothing was recorded");
    let done = fx
        .store
        .record_followup_attempt(f.id, AttemptOutcome::Answered, "满意", Some(&s), fx.agent, at(22 * MIN))
        .await
        .unwrap();
    assert_eq!((done.status, done.attempts, done.ticket_status), (FollowUpState::Done, 1, TicketStatus::Closed));
    let survey = fx.store.ticket_survey(t.id).await.unwrap();
    assert_eq!((survey.scores.clone(), survey.channel, survey.surveyed_by), (s, SurveyChannel::Phone, Some(fx.agent)));
    assert!((survey.score_100 - 93.333).abs() < 0.01);
    assert_eq!(fx.count_events(&[EventKind::TicketSurveyed]).await, 1);
    assert!(matches!(
        fx.store.record_followup_attempt(f.id, AttemptOutcome::Answered, "", None, fx.agent, at(23 * MIN)).await,
        Err(StoreError::Conflict(_))
    ));

    // surveys taken by hand: only on resolved orders, scores 1–5; replaced, then summed up
    let open = fx.ticket(fx.new_ticket(fx.consult)).await;
    let early = fx.store.set_ticket_survey(open.id, &scores(5, 5, 5), SurveyChannel::Sms, None, at(30 * MIN)).await;
    assert!(matches!(early, Err(StoreError::Conflict(m)) if m.contains("resolved")));
    let open = fx.move_to(&open, TicketStatus::Resolved, None, at(31 * MIN)).await;
    let zero = fx.store.set_ticket_survey(open.id, &scores(0, 5, 5), SurveyChannel::Web, None, at(32 * MIN)).await;
    assert!(matches!(zero, Err(StoreError::Invalid(m)) if m.contains("speed")));
    fx.store.set_ticket_survey(open.id, &scores(1, 1, 1), SurveyChannel::Web, None, at(32 * MIN)).await.unwrap();
    let again =
        fx.store.set_ticket_survey(open.id, &scores(4, 4, 4), SurveyChannel::Ivr, None, at(33 * MIN)).await.unwrap();
    assert_eq!((again.scores.speed, again.channel), (4, SurveyChannel::Ivr));
    let summary = fx.store.ticket_survey_summary(None, None).await.unwrap();
    assert_eq!(summary.count, 2);
    assert_eq!((summary.speed, summary.attitude, summary.quality), (Some(4.5), Some(4.0), Some(4.5)));
    assert!((summary.score_100.unwrap() - (93.333 + 80.0) / 2.0).abs() < 0.01);
    assert_eq!(summary.share_on_target, Some(0.5), "5/4/5 is on target (≥ 85), 4/4/4 (80) is not");
    let later = fx.store.ticket_survey_summary(Some(at(33 * MIN)), None).await.unwrap();
    assert_eq!((later.count, later.share_on_target), (1, Some(0.0)));
    assert_eq!(fx.store.ticket_survey_summary(Some(at(999 * MIN)), None).await.unwrap().score_100, None);
    tdb.cleanup().await;
}

#[tokio::test]
async fn a_reopened_order_calls_its_callback_off() {
    let (tdb, fx) = fixture().await;
    let t = fx.ticket(fx.new_ticket(fx.consult)).await;
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(20 * MIN)).await;
    let FollowUpSync::Created(f) = fx.store.sync_followup(&t, 0, at(20 * MIN)).await.unwrap() else { panic!() };
    let t = fx.move_to(&t, TicketStatus::InProgress, None, at(21 * MIN)).await;
    assert_eq!(fx.store.sync_followup(&t, 0, at(21 * MIN)).await.unwrap(), FollowUpSync::Cancelled);
    assert_eq!(fx.store.followup(f.id).await.unwrap().status, FollowUpState::Cancelled);
    let late = fx.store.record_followup_attempt(f.id, AttemptOutcome::Answered, "", None, fx.agent, at(22 * MIN)).await;
    assert!(matches!(late, Err(StoreError::Conflict(m)) if m.contains("cancelled")));
    // resolved again: a new callback
    let t = fx.move_to(&t, TicketStatus::Resolved, None, at(30 * MIN)).await;
    assert!(matches!(fx.store.sync_followup(&t, 0, at(30 * MIN)).await.unwrap(), FollowUpSync::Created(_)));
    assert_eq!(fx.store.ticket_followups(t.id).await.unwrap().len(), 2);
    tdb.cleanup().await;
}

#[tokio::test]
async fn the_service_configuration_round_trips_and_is_checked() {
    let (tdb, fx) = fixture().await;
    let s = &fx.store;
    assert_eq!(s.service_config().await.unwrap(), ServiceConfig::default());
    let mut cfg = ServiceConfig::default();
    cfg.calendar.holidays.insert(Date { year: 2026, month: 10, day: 1 });
    cfg.escalation_rules.truncate(1);
    cfg.warn_percent = 75;
    let stored = s.set_service_config(&cfg, Some(fx.agent), at(5)).await.unwrap();
    assert_eq!((stored.updated_at, stored.updated_by), (Some(at(5)), Some(fx.agent)));
    assert_eq!(ServiceConfig { updated_at: None, updated_by: None, ..stored }, cfg);
    // a warning percentage of 75: the first-response warning of a 10-minute target at 7.5 min
    let t = fx.store.create_ticket(&fx.new_ticket(fx.consult), 480).await.unwrap();
    s.sync_ticket_timers(t.id, &s.service_config().await.unwrap(), T0).await.unwrap();
    assert_eq!(fx.timer(&t, "first_response_warning").await.due_at, at(7 * MIN + 30_000));
    assert_eq!(fx.armed(&t).await.iter().filter(|r| r.0 == "escalation").count(), 1);

    let mut bad = cfg.clone();
    bad.warn_percent = 120;
    bad.escalation_rules.push(bad.escalation_rules[0].clone());
    let err = s.set_service_config(&bad, None, at(6)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("warn_percent") && m.contains("same name")), "{err}");
    assert_eq!(s.service_config().await.unwrap().warn_percent, 75);
    tdb.cleanup().await;
}
