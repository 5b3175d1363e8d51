//! Interpreter tests, node type by node type, and the validator's every error.

use super::*;
use crate::Timestamp;
use std::sync::Arc;

/// Monday 2026-11-23 10:00 in China (02:00 UTC).
const MON_10: i64 = 1_795_392_000_000 + 2 * 3_600_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn parse(yaml: &str) -> Flow {
    let flow = Flow::from_yaml(yaml).unwrap();
    assert_eq!(flow.problems(), vec![], "the test flow is valid");
    flow
}

/// A call being driven through a flow.
struct Call {
    s: Session,
    /// Everything returned so far.
    all: Vec<Action>,
    /// What the last input returned.
    last: Vec<Action>,
}

impl Call {
    fn start(flow: Flow, caller: &str) -> Self {
        Self::start_at_time(flow, caller, MON_10)
    }

    fn start_at_time(flow: Flow, caller: &str, now: i64) -> Self {
        let info = CallInfo { caller: caller.into(), dialled: "4000".into() };
        let (s, last) = Session::start(Arc::new(flow), info, at(now));
        Call { s, all: last.clone(), last }
    }

    fn input(&mut self, input: Input) -> &[Action] {
        self.last = self.s.on_input(input, at(MON_10));
        self.all.extend(self.last.clone());
        &self.last
    }

    fn key(&mut self, k: char) -> &[Action] {
        self.input(Input::Key(k))
    }

    /// Ends the prompt now playing.
    fn played(&mut self) -> &[Action] {
        let token = self.playing().0;
        self.input(Input::PlaybackDone { token })
    }

    /// Expires the timer now running.
    fn timeout(&mut self) -> &[Action] {
        let token = self
            .all
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::StartTimer { token, .. } => Some(*token),
                _ => None,
            })
            .expect("a timer");
        self.input(Input::Timer { token })
    }

    /// The last Play action: token and prompt names.
    fn playing(&self) -> (u64, Vec<String>) {
        self.all
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Play { token, prompts, .. } => Some((*token, prompts.clone())),
                _ => None,
            })
            .expect("something playing")
    }

    fn prompts(&self) -> Vec<String> {
        self.playing().1
    }

    fn http_token(&self) -> u64 {
        self.all
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Http { token, .. } => Some(*token),
                _ => None,
            })
            .expect("an http request")
    }

    /// Actions other than log entries, timers and plays, in order.
    fn effects(&self) -> Vec<Action> {
        self.all
            .iter()
            .filter(|a| !matches!(a, Action::Log(_) | Action::StartTimer { .. } | Action::Play { .. }))
            .cloned()
            .collect()
    }

    fn events(&self) -> Vec<IvrEvent> {
        self.all
            .iter()
            .filter_map(|a| match a {
                Action::Log(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const MENU: &str = r#"
name: hotline
start: welcome
nodes:
  welcome: { type: play, prompts: [welcome], next: menu }
  menu:
    type: menu
    prompts: [menu_main]
    options: { "1": complaints, "2": products, "3": after_sales, "0": agent }
    retries: 2
    timeout_ms: 4000
    invalid_prompts: [invalid]
    no_input_prompts: [no_input]
    default: agent
  complaints: { type: queue, queue: complaints }
  products: { type: queue, queue: products }
  after_sales: { type: queue, queue: after_sales, skills: [repair] }
  agent: { type: queue, queue: general }
"#;

fn queued(call: &Call) -> Option<(String, i32, Vec<String>)> {
    call.all.iter().find_map(|a| match a {
        Action::Queue { queue, priority, skills } => Some((queue.clone(), *priority, skills.clone())),
        _ => None,
    })
}

#[test]
fn play_then_menu_then_queue() {
    let mut c = Call::start(parse(MENU), "13800138000");
    assert_eq!(c.prompts(), names(&["welcome"]));
    assert_eq!(c.s.node(), "welcome");
    c.played();
    assert_eq!(c.prompts(), names(&["menu_main"]));
    assert!(c.last.iter().all(|a| !matches!(a, Action::StartTimer { .. })), "the timer starts after the prompt");
    c.played();
    assert!(matches!(c.last.as_slice(), [Action::StartTimer { after_ms: 4000, .. }]), "{:?}", c.last);
    c.key('3');
    assert_eq!(queued(&c), Some(("after_sales".into(), 0, names(&["repair"]))));
    assert_eq!(c.s.outcome(), Some(Outcome::Queued));
    assert_eq!(c.s.path(), names(&["welcome", "menu", "after_sales"]).as_slice());
    assert!(c.events().contains(&IvrEvent::Chose { node: "menu".into(), key: '3', next: "after_sales".into() }));
    assert!(c.key('1').is_empty(), "an ended session ignores everything");
}

#[test]
fn a_key_barges_in_and_answers_the_next_menu() {
    let mut c = Call::start(parse(MENU), "1");
    let acts = c.key('2').to_vec();
    assert_eq!(acts.first(), Some(&Action::StopPlayback), "{acts:?}");
    assert_eq!(queued(&c).map(|q| q.0), Some("products".into()), "the menu was answered ahead");
    assert!(!c.prompts().contains(&"menu_main".to_owned()), "the menu prompt was never played");
}

#[test]
fn wrong_and_missing_keys_repeat_the_menu_then_take_the_default() {
    let mut c = Call::start(parse(MENU), "1");
    c.played();
    c.played();
    c.key('7');
    assert_eq!(c.prompts(), names(&["invalid", "menu_main"]));
    c.played();
    c.timeout();
    assert_eq!(c.prompts(), names(&["no_input", "menu_main"]));
    // a stale timer and a stale prompt end are ignored
    assert!(c.input(Input::Timer { token: 1 }).is_empty());
    assert!(c.input(Input::PlaybackDone { token: 1 }).is_empty());
    c.key('9');
    assert_eq!(queued(&c).map(|q| q.0), Some("general".into()), "third failure → default");
    let failures: Vec<_> =
        c.events().into_iter().filter(|e| matches!(e, IvrEvent::Invalid { .. } | IvrEvent::NoInput { .. })).collect();
    assert_eq!(
        failures,
        vec![
            IvrEvent::Invalid { node: "menu".into(), attempt: 1 },
            IvrEvent::NoInput { node: "menu".into(), attempt: 2 },
            IvrEvent::Invalid { node: "menu".into(), attempt: 3 },
        ]
    );
}

#[test]
fn a_key_during_the_menu_prompt_stops_it() {
    let mut c = Call::start(parse(MENU), "1");
    c.played();
    let acts = c.key('1').to_vec();
    assert_eq!(acts.first(), Some(&Action::StopPlayback));
    assert_eq!(queued(&c).map(|q| q.0), Some("complaints".into()));
}

const COLLECT: &str = r#"
name: lookup
start: ask
nodes:
  ask:
    type: collect
    prompts: [enter_digits]
    var: order
    min_digits: 4
    max_digits: 8
    timeout_ms: 3000
    retries: 1
    invalid_prompts: [invalid]
    next: lookup
    on_failure: sorry
  lookup:
    type: http
    url: "https://shop.example/api/orders/{order}?caller={caller}"
    timeout_ms: 2000
    extract: { status: order.status, balance: account.balance }
    next: tell
    on_failure: sorry
  tell:
    type: play
    prompts: [order_status_pre, { say: digits, value: "{order}" }, balance_pre, { say: amount, value: "{balance}" }]
    next: bye
  sorry: { type: hangup, prompts: [lookup_failed] }
  bye: { type: hangup, prompts: [goodbye] }
"#;

#[test]
fn collect_ends_at_the_terminator_and_http_fills_variables() {
    let mut c = Call::start(parse(COLLECT), "+86 138");
    c.played();
    for k in ['1', '2', '3', '4', '5'] {
        c.key(k);
    }
    assert!(matches!(c.last.as_slice(), [Action::StartTimer { after_ms: 3000, .. }]), "inter-digit timer");
    c.key('#');
    assert_eq!(c.s.vars().get("order").map(String::as_str), Some("12345"));
    let http = c.last.iter().find(|a| matches!(a, Action::Http { .. })).cloned().expect("a request");
    let Action::Http { url, timeout_ms, method, .. } = http else { unreachable!() };
    assert_eq!(url, "https://shop.example/api/orders/12345?caller=%2B86%20138");
    assert_eq!((timeout_ms, method), (2000, HttpMethod::Get));
    let token = c.http_token();
    assert!(
        c.input(Input::HttpDone { token: token + 9, result: HttpResult::Failed { reason: "x".into() } }).is_empty()
    );
    let body = r#"{"order": {"status": "shipped"}, "account": {"balance": "12.30"}}"#;
    c.input(Input::HttpDone { token, result: HttpResult::Response { status: 200, body: body.into() } });
    assert_eq!(c.s.vars().get("status").map(String::as_str), Some("shipped"));
    // zh-CN by default: order digits with 幺 for 1, then the amount: 十二元三角
    assert_eq!(
        c.prompts(),
        names(&["order_status_pre", "yao", "n2", "n3", "n4", "n5", "balance_pre", "n10", "n2", "yuan", "n3", "jiao"])
    );
    assert!(c.events().iter().any(|e| matches!(e, IvrEvent::Collected { var, digits: 5, .. } if var == "order")));
    c.played();
    c.played();
    assert_eq!(c.effects().last(), Some(&Action::Hangup));
    assert_eq!(c.s.outcome(), Some(Outcome::HungUp));
}

#[test]
fn collect_ends_at_max_digits_or_a_pause_and_fails_with_too_few() {
    let mut c = Call::start(parse(COLLECT), "1");
    c.played();
    for k in "87654321".chars() {
        c.key(k);
    }
    assert_eq!(c.s.vars().get("order").map(String::as_str), Some("87654321"), "max_digits ends it");

    let mut c = Call::start(parse(COLLECT), "1");
    c.played();
    for k in "5555".chars() {
        c.key(k);
    }
    c.timeout();
    assert_eq!(c.s.vars().get("order").map(String::as_str), Some("5555"), "a pause after min_digits ends it");

    let mut c = Call::start(parse(COLLECT), "1");
    c.played();
    c.key('1');
    c.key('#');
    assert_eq!(c.prompts(), names(&["invalid", "enter_digits"]), "too few: asked again");
    c.played();
    c.timeout();
    assert_eq!(c.s.node(), "sorry", "retries used up → on_failure");
    assert_eq!(c.prompts(), names(&["lookup_failed"]));
    assert!(!c.s.vars().contains_key("order"));
}

#[test]
fn http_failures_take_the_failure_branch() {
    let cases = [
        HttpResult::Failed { reason: "timed out after 2000 ms".into() },
        HttpResult::Response { status: 503, body: "{}".into() },
        HttpResult::Response { status: 200, body: "<html>oops</html>".into() },
        HttpResult::Response { status: 200, body: r#"{"order": {}}"#.into() },
    ];
    for result in cases {
        let mut c = Call::start(parse(COLLECT), "1");
        c.played();
        for k in "1234#".chars() {
            c.key(k);
        }
        let token = c.http_token();
        c.key('9'); // typed while waiting: kept, harmless
        c.input(Input::HttpDone { token, result: result.clone() });
        assert_eq!(c.s.node(), "sorry", "{result:?}");
        assert!(c.events().iter().any(|e| matches!(e, IvrEvent::Http { ok: false, .. })), "{result:?}");
    }
}

#[test]
fn conditions_test_variables() {
    let yaml = r#"
name: cond
start: c1
nodes:
  c1:
    type: condition
    rules:
      - { when: { var: caller, equals: "110" }, next: q_eq }
      - { when: { var: caller, starts_with: "400" }, next: q_prefix }
      - { when: { var: caller, one_of: ["1", "2"] }, next: q_list }
      - { when: { var: caller, less_than: 100 }, next: q_lt }
      - { when: { var: caller, greater_than: 1000000 }, next: q_gt }
      - { when: { var: tier, is_set: true }, next: q_set }
      - { when: { var: caller, not_equals: "" }, next: q_ne }
    default: q_default
  q_eq: { type: queue, queue: eq }
  q_prefix: { type: queue, queue: prefix }
  q_list: { type: queue, queue: list }
  q_lt: { type: queue, queue: lt }
  q_gt: { type: queue, queue: gt }
  q_set: { type: queue, queue: set }
  q_ne: { type: queue, queue: ne }
  q_default: { type: queue, queue: default }
"#;
    for (caller, want) in [
        ("110", "eq"),
        ("4008123", "prefix"),
        ("2", "list"),
        ("99", "lt"),
        ("13800138000", "gt"),
        ("abc", "ne"),
        ("", "default"),
    ] {
        let c = Call::start(parse(yaml), caller);
        assert_eq!(queued(&c).map(|q| q.0).as_deref(), Some(want), "caller {caller:?}");
    }
}

const HOURS: &str = r#"
name: hours
start: h
nodes:
  h:
    type: hours
    weekly: [{ days: [1, 2, 3, 4, 5], from: "09:00", to: "18:00" }, { days: [6], from: "10:00", to: "12:00" }]
    holidays: ["2026-10-01"]
    workdays: ["2026-10-11"]
    open: open
    closed: closed
  open: { type: queue, queue: open }
  closed: { type: voicemail, queue: general }
"#;

#[test]
fn hours_read_local_time_holidays_and_workdays() {
    let hour = 3_600_000;
    let day = 24 * hour;
    let queue_of = |t: i64| queued(&Call::start_at_time(parse(HOURS), "1", t)).map(|q| q.0);
    assert_eq!(queue_of(MON_10).as_deref(), Some("open"), "Monday 10:00 local");
    assert_eq!(queue_of(MON_10 - 2 * hour).as_deref(), None, "Monday 08:00 local");
    assert_eq!(queue_of(MON_10 + 8 * hour - 1).as_deref(), Some("open"), "17:59:59");
    assert_eq!(queue_of(MON_10 + 8 * hour).as_deref(), None, "18:00 closes");
    assert_eq!(queue_of(MON_10 + 5 * day + hour).as_deref(), Some("open"), "Saturday 11:00");
    assert_eq!(queue_of(MON_10 + 6 * day).as_deref(), None, "Sunday");
    // 2026-10-01 (Thursday) is a holiday; Sunday 2026-10-11 is a make-up working day.
    let oct1 = MON_10 - 53 * day;
    assert_eq!(queue_of(oct1).as_deref(), None);
    assert_eq!(queue_of(oct1 + day).as_deref(), Some("open"));
    assert_eq!(queue_of(oct1 + 10 * day).as_deref(), Some("open"));
    let closed = Call::start_at_time(parse(HOURS), "1", MON_10 - 2 * hour);
    assert_eq!(closed.prompts(), names(&["voicemail", "beep"]), "voicemail's default prompts");
}

const RULES: &str = r#"
name: rules
start: r
nodes:
  r:
    type: caller_rules
    vip:
      - { numbers: ["13800000001"], tier: gold, priority: 20 }
      - { prefixes: ["139"], tier: silver, priority: 10 }
    blocklist: ["13666666666", "170*"]
    blocked: harass
    next: q
  harass: { type: play, prompts: [harassment], barge_in: false, next: hq }
  hq: { type: queue, queue: harassment }
  q: { type: queue, queue: general }
"#;

#[test]
fn caller_rules_block_and_prioritise() {
    let c = Call::start(parse(RULES), "13800000001");
    assert_eq!(queued(&c), Some(("general".into(), 20, vec![])));
    assert_eq!(c.s.vars().get("vip_tier").map(String::as_str), Some("gold"));
    assert_eq!(queued(&Call::start(parse(RULES), "13912345678")).map(|q| q.1), Some(10));
    assert_eq!(queued(&Call::start(parse(RULES), "13512345678")).map(|q| q.1), Some(0));
    for blocked in ["13666666666", "17012345678"] {
        let mut c = Call::start(parse(RULES), blocked);
        assert_eq!(c.prompts(), names(&["harassment"]));
        assert!(c.key('0').is_empty(), "no barge-in through the deterrent");
        c.played();
        assert_eq!(queued(&c).map(|q| q.0).as_deref(), Some("harassment"));
    }
    let mut flow = parse(RULES);
    flow.nodes.insert("q".into(), Node::Queue { queue: "general".into(), priority: Some(5), skills: vec![] });
    assert_eq!(queued(&Call::start(flow, "13800000001")).map(|q| q.1), Some(5), "the node's priority wins");
}

#[test]
fn say_set_transfer_callback_and_hangup() {
    let yaml = r#"
name: misc
language: en
start: s
nodes:
  s: { type: set, var: n, value: "{caller}5", next: say }
  say: { type: say, say: number, value: "{n}", next: bad }
  bad: { type: say, say: number, value: "{nothing}x", next: cb }
  cb: { type: callback, queue: general, prompts: [callback_confirm], next: t }
  t: { type: transfer, number: "8{n}", prompts: [transfer] }
"#;
    let mut c = Call::start(parse(yaml), "1");
    assert_eq!(c.prompts(), names(&["n15"]), "English 15");
    c.played();
    assert!(c.events().iter().any(|e| matches!(e, IvrEvent::SayFailed { value, .. } if value == "x")));
    assert_eq!(c.prompts(), names(&["callback_confirm"]), "unsayable value skipped");
    c.played();
    c.played();
    assert_eq!(
        c.effects(),
        vec![
            Action::Callback { queue: Some("general".into()), number: "1".into() },
            Action::Transfer { number: "815".into() }
        ]
    );
    assert_eq!(c.s.outcome(), Some(Outcome::Transferred));

    let c = Call::start(parse("name: h\nstart: h\nnodes:\n  h: { type: hangup }\n"), "1");
    assert_eq!(c.effects(), vec![Action::Hangup], "no prompts: hang up at once");
}

#[test]
fn voicemail_plays_without_barge_in_then_records() {
    let mut c = Call::start_at_time(parse(HOURS), "1", MON_10 - 3_600_000 * 3);
    assert!(matches!(
        c.last.iter().find(|a| matches!(a, Action::Play { .. })),
        Some(Action::Play { barge_in: false, .. })
    ));
    assert!(c.key('1').is_empty());
    c.played();
    assert_eq!(c.effects(), vec![Action::Voicemail { queue: Some("general".into()), max_secs: 120 }]);
    assert_eq!(c.s.outcome(), Some(Outcome::Voicemail));
}

const SURVEY: &str = r#"
name: survey
start: welcome
survey: post
nodes:
  welcome: { type: queue, queue: general }
  post:
    type: survey
    intro: [survey_intro]
    questions:
      - { id: speed, prompts: [survey_q1] }
      - { id: attitude, prompts: [survey_q2] }
      - { id: overall, prompts: [survey_q3] }
    thanks: [survey_thanks]
    timeout_ms: 6000
"#;

#[test]
fn survey_scores_three_questions() {
    let flow = Arc::new(parse(SURVEY));
    let info = CallInfo { caller: "1".into(), dialled: "4000".into() };
    let (s, last) = Session::start_at(flow.clone(), flow.survey.as_deref().unwrap(), info, at(MON_10));
    let mut c = Call { s, all: last.clone(), last };
    assert_eq!(c.prompts(), names(&["survey_intro"]));
    c.key('5'); // ignored during the introduction
    c.played();
    assert_eq!(c.prompts(), names(&["survey_q1"]));
    c.key('5'); // barges in: answers question 1
    assert_eq!(c.prompts(), names(&["survey_q2"]));
    c.played();
    c.key('9'); // not 1-5: asked again
    assert_eq!(c.prompts(), names(&["survey_q2"]));
    c.played();
    c.timeout(); // no answer twice: skipped
    assert_eq!(c.prompts(), names(&["survey_q3"]));
    c.played();
    c.key('3');
    assert_eq!(c.prompts(), names(&["survey_thanks"]));
    c.played();
    assert_eq!(
        c.effects(),
        vec![
            Action::StopPlayback,
            Action::SurveyScore { question: "speed".into(), score: 5 },
            Action::SurveyScore { question: "overall".into(), score: 3 },
            Action::Hangup
        ]
    );
}

#[test]
fn the_caller_hanging_up_ends_the_session() {
    let mut c = Call::start(parse(MENU), "1");
    c.played();
    c.input(Input::CallerHangup);
    assert_eq!(c.s.outcome(), Some(Outcome::Abandoned));
    assert!(c.events().contains(&IvrEvent::Ended { node: "menu".into(), outcome: Outcome::Abandoned }));
    assert!(c.played().is_empty());
}

#[test]
fn an_unvalidated_loop_fails_instead_of_spinning() {
    let flow = Flow::from_yaml(
        "name: l\nstart: a\nnodes:\n  a: { type: set, var: x, value: '1', next: b }\n  b: { type: set, var: y, value: '2', next: a }\n",
    )
    .unwrap();
    let c = Call::start(flow, "1");
    assert_eq!(c.s.outcome(), Some(Outcome::Failed));
    assert_eq!(c.effects(), vec![Action::Hangup]);
}

#[test]
fn yaml_round_trips() {
    for yaml in [MENU, COLLECT, HOURS, RULES, SURVEY] {
        let flow = parse(yaml);
        let again = Flow::from_yaml(&flow.to_yaml().unwrap()).unwrap();
        assert_eq!(again, flow);
    }
    let json = r#"{"name":"j","start":"q","nodes":{"q":{"type":"queue","queue":"general"}}}"#;
    assert_eq!(Flow::from_yaml(json).unwrap().language, Language::ZhCn, "JSON reads too; zh-CN by default");
}

#[test]
fn unknown_fields_and_types_are_parse_errors() {
    let err = Flow::from_yaml("name: x\nstart: a\nnodes:\n  a: { type: dance, next: a }\n").unwrap_err();
    assert!(err.0.contains("unknown variant `dance`"), "{err}");
    let err = Flow::from_yaml("name: x\nstart: a\nnodes:\n  a: { type: queue, queue: q, colour: red }\n").unwrap_err();
    assert!(err.0.contains("colour"), "{err}");
    let err =
        Flow::from_yaml("name: x\nstart: a\nnodes:\n  a: { type: menu, prompts: [m], options: {} }\n").unwrap_err();
    assert!(err.0.contains("default"), "a missing required field is named: {err}");
}

fn problems_of(yaml: &str) -> Vec<String> {
    Flow::from_yaml(yaml).unwrap().problems().iter().map(ToString::to_string).collect()
}

#[test]
fn references_reachability_and_loops_are_checked() {
    let p = problems_of(
        r#"
name: " "
start: nowhere
survey: gone
nodes:
  a: { type: play, prompts: [p], next: missing }
  b: { type: set, var: x, value: "1", next: c }
  c: { type: condition, rules: [{ when: { var: x, equals: "1" }, next: b }], default: m }
  m: { type: menu, prompts: [p], options: { "1": b }, default: ghost }
"#,
    );
    for want in [
        "the flow has no name",
        "start: there is no node `nowhere`",
        "survey: there is no node `gone`",
        "node `a`: next names `missing`, which does not exist",
        "node `m`: default names `ghost`, which does not exist",
        "node `a` cannot be reached from the start",
        "nodes `b`, `c` form a loop that never waits for a key",
    ] {
        assert!(p.iter().any(|x| x == want), "{want} missing from {p:#?}");
    }
    // a loop through a menu is fine, and so is a self-loop through one
    let ok = Flow::from_yaml(
        "name: ok\nstart: m\nnodes:\n  m: { type: menu, prompts: [p], options: { '1': s }, default: m }\n  s: { type: set, var: x, value: '1', next: m }\n",
    )
    .unwrap();
    assert_eq!(ok.validate(), Ok(()));
    let p = problems_of("name: l\nstart: a\nnodes:\n  a: { type: set, var: x, value: '1', next: a }\n");
    assert_eq!(p, vec!["nodes `a` form a loop that never waits for a key"]);
}

#[test]
fn every_node_settings_error_names_its_node() {
    let p = problems_of(
        r#"
name: bad
start: play
nodes:
  play: { type: play, prompts: [], next: menu }
  menu: { type: menu, prompts: ["bad name"], options: { "12": collect, x: collect }, timeout_ms: 0, default: collect }
  collect: { type: collect, prompts: [p], var: "my var", min_digits: 5, max_digits: 2, terminator: "0", timeout_ms: 0, next: cond, on_failure: cond }
  cond: { type: condition, rules: [{ when: { var: x, equals: "1", starts_with: "2" }, next: hours }, { when: { var: y }, next: hours }], default: hours }
  hours: { type: hours, weekly: [{ days: [0, 8], from: "18:00", to: "09:00" }, { days: [1], from: "9", to: "25:00" }], holidays: ["2026-02-30"], open: rules, closed: rules }
  rules: { type: caller_rules, vip: [{ tier: " ", priority: 1 }], blocklist: ["*"], blocked: http, next: http }
  http: { type: http, url: "ftp://x", timeout_ms: 60000, extract: { "a b": "x..y" }, next: say, on_failure: say }
  say: { type: say, say: number, value: " ", next: set }
  set: { type: set, var: "", value: "1", next: cb }
  cb: { type: callback, number: " ", prompts: [{ say: digits, value: "" }], next: survey }
  survey: { type: survey, questions: [] , timeout_ms: 0 }
  survey2: { type: survey, questions: [{ id: a, prompts: [p] }, { id: a, prompts: [p] }] }
  q: { type: queue, queue: "" }
  t: { type: transfer, number: "" }
  vm: { type: voicemail, max_secs: 0 }
"#,
    );
    for want in [
        "node `play`: play has no prompts",
        "node `menu`: option `12` is not a key (0-9, * or #)",
        "node `menu`: option `x` is not a key (0-9, * or #)",
        "node `menu`: timeout_ms must be above 0",
        "node `menu`: prompts: prompt name `bad name` may only use letters, digits, `_` and `-`",
        "node `collect`: variable name `my var` may only use letters, digits and `_`",
        "node `collect`: min_digits (5) must be 1 or more and at most max_digits (2)",
        "node `collect`: terminator `0` must be * or #",
        "node `collect`: timeout_ms must be above 0",
        "node `cond`: rules[0]: a test needs exactly one of",
        "node `cond`: rules[1]: a test needs exactly one of",
        "node `hours`: weekly[0]: days are 1 (Monday) to 7 (Sunday)",
        "node `hours`: weekly[0]: `from` must be before `to`",
        "node `hours`: weekly[1]: times are HH:MM, got `9` and `25:00`",
        "node `hours`: `2026-02-30` is not a date (YYYY-MM-DD)",
        "node `rules`: vip[0]: give numbers or prefixes",
        "node `rules`: vip[0]: tier is empty",
        "node `rules`: blocklist: an entry is empty or blocks everyone",
        "node `http`: url `ftp://x` must start with http:// or https://",
        "node `http`: timeout_ms must be between 1 and 30000",
        "node `http`: variable name `a b` may only use letters, digits and `_`",
        "node `http`: extract: `x..y` is not a path like order.status or items[0].name",
        "node `say`: say has no value",
        "node `set`: variable name `` may only use letters, digits and `_`",
        "node `cb`: number is empty",
        "node `cb`: prompts: say has no value",
        "node `survey`: survey has no questions",
        "node `survey`: timeout_ms must be above 0",
        "node `survey2`: question id `a` is empty or repeated",
        "node `q`: queue is empty",
        "node `t`: number is empty",
        "node `vm`: max_secs must be between 1 and 600",
        "node `survey2` cannot be reached from the start",
    ] {
        assert!(p.iter().any(|x| x.starts_with(want)), "{want} missing from {p:#?}");
    }
}

/// IVR-6 at the interpreter: 1,000 calls with random menu paths (wrong keys, silences and
/// barge-ins included) land in the queue their keys chose, every time.
#[test]
fn random_menu_paths_land_in_the_right_queue() {
    let yaml = r#"
name: nested
start: welcome
nodes:
  welcome: { type: play, prompts: [welcome], next: main }
  main:
    type: menu
    prompts: [menu_main]
    options: { "1": complaints, "2": products, "3": after_sales, "0": q_agent }
    invalid_prompts: [invalid]
    default: q_agent
  complaints:
    type: menu
    prompts: [menu_complaints]
    options: { "1": q_complaints_service, "2": q_complaints_billing, "*": main }
    default: q_complaints_service
  products:
    type: menu
    prompts: [menu_products]
    options: { "1": q_products_phones, "2": q_products_tv, "3": q_products_other }
    default: q_products_other
  after_sales: { type: queue, queue: after_sales }
  q_agent: { type: queue, queue: general }
  q_complaints_service: { type: queue, queue: complaints_service }
  q_complaints_billing: { type: queue, queue: complaints_billing }
  q_products_phones: { type: queue, queue: products_phones }
  q_products_tv: { type: queue, queue: products_tv }
  q_products_other: { type: queue, queue: products_other }
"#;
    let flow = parse(yaml);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut landed = 0;
    for _ in 0..1_000 {
        let mut c = Call::start(flow.clone(), "13800138000");
        // A wrong key or a silence first, sometimes; the menu repeats.
        let c_played = |c: &mut Call| {
            c.played();
        };
        c_played(&mut c); // welcome
        if rand(3) == 0 {
            c.key('8');
        }
        let first = ["1", "2", "3", "0"][usize::try_from(rand(4)).unwrap()];
        if rand(2) == 0 {
            c.played(); // let the menu finish; otherwise the key barges in
        }
        c.key(first.chars().next().unwrap());
        let want = match first {
            "1" => {
                if rand(4) == 0 {
                    c.played();
                    c.timeout(); // silence once: the menu is repeated
                }
                let k = ["1", "2"][usize::try_from(rand(2)).unwrap()];
                c.key(k.chars().next().unwrap());
                if k == "1" { "complaints_service" } else { "complaints_billing" }
            }
            "2" => {
                let k = ["1", "2", "3"][usize::try_from(rand(3)).unwrap()];
                c.key(k.chars().next().unwrap());
                ["products_phones", "products_tv", "products_other"][k.parse::<usize>().unwrap() - 1]
            }
            "3" => "after_sales",
            _ => "general",
        };
        assert_eq!(queued(&c).map(|q| q.0).as_deref(), Some(want), "path {:?}", c.s.path());
        landed += 1;
    }
    assert_eq!(landed, 1_000);
}
