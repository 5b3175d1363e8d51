//! The flow interpreter, sans-IO: a [`Session`] walks one call through a [`Flow`]. The server
//! feeds it the caller's keys, the end of each prompt, timer expiries and HTTP answers, and
//! performs the [`Action`]s it returns (play, start a timer, call a service, queue, transfer,
//! record a voicemail, hang up). Time comes in with every input; nothing here reads a clock.
//!
//! Tokens tie answers to requests: a prompt, a timer or an HTTP call each get a fresh token,
//! and an input carrying any other token (a prompt that was stopped, a timer that was
//! superseded) is ignored.

use super::flow::{Flow, HttpMethod, Node, PromptItem, SayAs};
use super::hours::{local_time, parse_date, parse_hhmm};
use super::{json_path, say};
use crate::Timestamp;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Most nodes passed without waiting for anything (a validated flow has no such loop; this
/// guards flows that were saved before a rule existed).
const MAX_STEPS: u32 = 100;

/// Who is calling whom.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallInfo {
    /// The caller's number (the variable `caller`).
    pub caller: String,
    /// The number dialled (the variable `dialled`).
    pub dialled: String,
}

/// What an HTTP node's request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpResult {
    /// An answer arrived.
    Response {
        /// Its status code.
        status: u16,
        /// Its body.
        body: String,
    },
    /// No answer: refused, timed out, unreachable.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Something that happened to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key (RFC 4733 or SIP INFO): `0`–`9`, `*`, `#`, `A`–`D`.
    Key(char),
    /// The prompts of this token were played to the end.
    PlaybackDone {
        /// The token of the [`Action::Play`].
        token: u64,
    },
    /// The timer of this token expired.
    Timer {
        /// The token of the [`Action::StartTimer`].
        token: u64,
    },
    /// The HTTP request of this token finished.
    HttpDone {
        /// The token of the [`Action::Http`].
        token: u64,
        /// What came of it.
        result: HttpResult,
    },
    /// The caller hung up.
    CallerHangup,
}

/// What the server is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play these prompts (names in the flow's language) in order, then report
    /// [`Input::PlaybackDone`] with the token. Replaces whatever was playing.
    Play {
        /// Token for the end of the prompts.
        token: u64,
        /// Prompt names.
        prompts: Vec<String>,
        /// Whether keys are listened to while they play.
        barge_in: bool,
    },
    /// Stop the prompts (a key barged in); no [`Input::PlaybackDone`] is expected.
    StopPlayback,
    /// Report [`Input::Timer`] with the token after this long.
    StartTimer {
        /// The token.
        token: u64,
        /// Milliseconds.
        after_ms: u64,
    },
    /// Make an HTTP request and report [`Input::HttpDone`] within `timeout_ms`.
    Http {
        /// The token.
        token: u64,
        /// GET or POST.
        method: HttpMethod,
        /// The URL, variables filled in.
        url: String,
        /// The POST body.
        body: Option<String>,
        /// The deadline, in milliseconds.
        timeout_ms: u64,
    },
    /// Queue the call; the flow has ended.
    Queue {
        /// The queue's name.
        queue: String,
        /// Priority (higher first).
        priority: i32,
        /// Extra skills required.
        skills: Vec<String>,
    },
    /// Transfer the call; the flow has ended.
    Transfer {
        /// The number or extension.
        number: String,
    },
    /// Record a voicemail, then hang up; the flow has ended.
    Voicemail {
        /// Whose box.
        queue: Option<String>,
        /// Longest message.
        max_secs: u32,
    },
    /// Store a callback request.
    Callback {
        /// The queue whose agents call back.
        queue: Option<String>,
        /// The number to call.
        number: String,
    },
    /// Store a survey answer.
    SurveyScore {
        /// The question's id.
        question: String,
        /// 1–5.
        score: u8,
    },
    /// Hang up; the flow has ended.
    Hangup,
    /// Record this in the event log.
    Log(IvrEvent),
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to a queue.
    Queued,
    /// Transferred out.
    Transferred,
    /// Recording a voicemail.
    Voicemail,
    /// The flow hung up.
    HungUp,
    /// The caller hung up during the flow.
    Abandoned,
    /// The flow could not go on (a loop without input, a missing node).
    Failed,
}

impl Outcome {
    /// The name written in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Transferred => "transferred",
            Outcome::Voicemail => "voicemail",
            Outcome::HungUp => "hung_up",
            Outcome::Abandoned => "abandoned",
            Outcome::Failed => "failed",
        }
    }
}

/// An entry for the event log (the server adds the call and the time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEvent {
    /// The call reached a node.
    Entered {
        /// The node.
        node: String,
        /// Its type.
        kind: &'static str,
    },
    /// A menu key chose a branch.
    Chose {
        /// The menu.
        node: String,
        /// The key.
        key: char,
        /// The node chosen.
        next: String,
    },
    /// A key the menu does not offer, or too few digits.
    Invalid {
        /// The node.
        node: String,
        /// Which attempt failed (1 = the first).
        attempt: u32,
    },
    /// No key within the timeout.
    NoInput {
        /// The node.
        node: String,
        /// Which attempt failed.
        attempt: u32,
    },
    /// Digits were collected (how many, not which: they may be an account number).
    Collected {
        /// The node.
        node: String,
        /// The variable.
        var: String,
        /// How many digits.
        digits: usize,
    },
    /// An HTTP node finished.
    Http {
        /// The node.
        node: String,
        /// Whether the success branch was taken.
        ok: bool,
        /// Status, or why it failed.
        detail: String,
    },
    /// A value could not be spoken.
    SayFailed {
        /// The node.
        node: String,
        /// The value.
        value: String,
    },
    /// The flow ended.
    Ended {
        /// The last node.
        node: String,
        /// How.
        outcome: Outcome,
    },
}

/// What the session is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// A play or say node's prompts.
    Playing { barge_in: bool },
    /// A menu's (or collect's, or survey question's) prompts: a key barges in.
    Prompting,
    /// The timer for a key runs.
    Waiting,
    /// A survey's introduction.
    SurveyIntro,
    /// The answer of an HTTP request.
    Http,
    /// Final prompts, then this.
    Closing(Finish),
    /// Done.
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Finish {
    Transfer(String),
    Voicemail { queue: Option<String>, max_secs: u32 },
    Hangup,
    Next(String),
    SurveyDone,
}

/// One call's walk through a flow.
#[derive(Debug, Clone)]
pub struct Session {
    flow: Arc<Flow>,
    vars: BTreeMap<String, String>,
    node: String,
    phase: Phase,
    attempts: u32,
    digits: String,
    typeahead: VecDeque<char>,
    token: u64,
    play: Option<u64>,
    timer: Option<u64>,
    http: Option<u64>,
    question: usize,
    path: Vec<String>,
    outcome: Option<Outcome>,
}

/// Replaces `{var}` with variables' values (unset: empty), each passed through `encode`.
fn expand(template: &str, vars: &BTreeMap<String, String>, encode: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                if let Some(v) = vars.get(&after[..close]) {
                    out.push_str(&encode(v));
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn as_is(v: &str) -> String {
    v.to_owned()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `12.30` (yuan) → 1230 fen; at most two decimals.
fn parse_amount(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let fen = whole.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -fen } else { fen })
}

impl Session {
    /// Starts a call at the flow's start node.
    pub fn start(flow: Arc<Flow>, call: CallInfo, now: Timestamp) -> (Self, Vec<Action>) {
        let start = flow.start.clone();
        Self::start_at(flow, &start, call, now)
    }

    /// Starts a call at `node` (the post-call survey starts at [`Flow::survey`]).
    pub fn start_at(flow: Arc<Flow>, node: &str, call: CallInfo, now: Timestamp) -> (Self, Vec<Action>) {
        let mut vars = BTreeMap::new();
        vars.insert("caller".to_owned(), call.caller);
        vars.insert("dialled".to_owned(), call.dialled);
        let mut s = Session {
            flow,
            vars,
            node: node.to_owned(),
            phase: Phase::Ended,
            attempts: 0,
            digits: String::new(),
            typeahead: VecDeque::new(),
            token: 0,
            play: None,
            timer: None,
            http: None,
            question: 0,
            path: Vec::new(),
            outcome: None,
        };
        let mut out = Vec::new();
        s.goto(node.to_owned(), now, &mut out);
        (s, out)
    }

    /// The variables (`caller`, `dialled`, collected digits, HTTP results, `vip_tier` …).
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// The nodes passed, in order (a node entered twice appears twice).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The current node.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// How the flow ended; `None` while it runs.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Feeds one input; returns what to do.
    pub fn on_input(&mut self, input: Input, now: Timestamp) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Ended {
            return out;
        }
        match input {
            Input::Key(key) => self.on_key(key.to_ascii_uppercase(), now, &mut out),
            Input::PlaybackDone { token } if self.play == Some(token) => {
                self.play = None;
                self.on_playback_done(now, &mut out);
            }
            Input::Timer { token } if self.timer == Some(token) => {
                self.timer = None;
                self.on_timeout(now, &mut out);
            }
            Input::HttpDone { token, result } if self.http == Some(token) => {
                self.http = None;
                self.on_http(result, now, &mut out);
            }
            Input::CallerHangup => self.end(Outcome::Abandoned, &mut out),
            Input::PlaybackDone { .. } | Input::Timer { .. } | Input::HttpDone { .. } => {}
        }
        out
    }

    fn next_token(&mut self) -> u64 {
        self.token += 1;
        self.token
    }

    fn current(&self) -> Option<Node> {
        self.flow.nodes.get(&self.node).cloned()
    }

    fn end(&mut self, outcome: Outcome, out: &mut Vec<Action>) {
        self.phase = Phase::Ended;
        self.play = None;
        self.timer = None;
        self.http = None;
        self.outcome = Some(outcome);
        out.push(Action::Log(IvrEvent::Ended { node: self.node.clone(), outcome }));
    }

    /// Prompt names for `items`, variables filled in.
    fn resolve(&self, items: &[PromptItem], out: &mut Vec<Action>) -> Vec<String> {
        let lang = self.flow.language;
        let mut names = Vec::new();
        for item in items {
            match item {
                PromptItem::Name(n) => names.push(n.clone()),
                PromptItem::Say { say: how, value } => {
                    let text = expand(value, &self.vars, as_is);
                    let spoken = match how {
                        SayAs::Number => text.trim().parse::<i64>().ok().map(|n| say::number(lang, n)),
                        SayAs::Digits => {
                            let ok =
                                !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
                            ok.then(|| say::digits(lang, &text))
                        }
                        SayAs::Amount => parse_amount(&text).map(|fen| say::amount(lang, fen)),
                        SayAs::WaitSeconds => text.trim().parse::<u64>().ok().map(|s| say::wait_minutes(lang, s)),
                    };
                    match spoken {
                        Some(list) => names.extend(list.into_iter().map(str::to_owned)),
                        None => out.push(Action::Log(IvrEvent::SayFailed { node: self.node.clone(), value: text })),
                    }
                }
            }
        }
        names
    }

    /// Starts `items`; false (nothing sent) when they resolve to no prompt at all.
    fn play(&mut self, items: &[PromptItem], barge_in: bool, out: &mut Vec<Action>) -> bool {
        let prompts = self.resolve(items, out);
        if prompts.is_empty() {
            return false;
        }
        let token = self.next_token();
        self.play = Some(token);
        out.push(Action::Play { token, prompts, barge_in });
        true
    }

    fn start_timer(&mut self, after_ms: u64, out: &mut Vec<Action>) {
        let token = self.next_token();
        self.timer = Some(token);
        out.push(Action::StartTimer { token, after_ms });
    }

    fn stop_prompt(&mut self, out: &mut Vec<Action>) {
        if self.play.take().is_some() {
            out.push(Action::StopPlayback);
        }
    }

    /// Enters `id` and runs through nodes that need nothing from outside until one waits.
    fn goto(&mut self, mut id: String, now: Timestamp, out: &mut Vec<Action>) {
        for _ in 0..MAX_STEPS {
            self.node = id.clone();
            self.attempts = 0;
            self.timer = None;
            let Some(node) = self.current() else {
                // Only an unvalidated flow gets here.
                self.end(Outcome::Failed, out);
                return;
            };
            self.path.push(id.clone());
            out.push(Action::Log(IvrEvent::Entered { node: id.clone(), kind: node.kind() }));
            let next = match node {
                Node::Play { prompts, barge_in, next } => {
                    if barge_in && !self.typeahead.is_empty() {
                        Some(next) // the caller already answered ahead
                    } else if self.play(&prompts, barge_in, out) {
                        self.phase = Phase::Playing { barge_in };
                        None
                    } else {
                        Some(next)
                    }
                }
                Node::Say { say: how, value, next } => {
                    if self.play(&[PromptItem::Say { say: how, value }], true, out) {
                        self.phase = Phase::Playing { barge_in: true };
                        None
                    } else {
                        Some(next)
                    }
                }
                Node::Menu { .. } | Node::Collect { .. } => {
                    self.digits.clear();
                    self.prompt_for_input(&node, &[], now, out);
                    return;
                }
                Node::Condition { rules, default } => Some(
                    rules
                        .iter()
                        .find(|r| r.when.passes(self.vars.get(&r.when.var).map(String::as_str)))
                        .map_or(default, |r| r.next.clone()),
                ),
                Node::Hours { weekly, holidays, workdays, open, closed } => {
                    let t = local_time(now.as_millis(), self.flow.utc_offset_minutes);
                    let is = |list: &[String]| list.iter().any(|d| parse_date(d) == Some(t.day));
                    let weekday = if is(&workdays) { 1 } else { t.weekday };
                    let in_span = weekly.iter().any(|s| {
                        s.days.contains(&weekday)
                            && matches!((parse_hhmm(&s.from), parse_hhmm(&s.to)),
                                (Some(a), Some(b)) if a <= t.minute && t.minute < b)
                    });
                    Some(if in_span && !is(&holidays) { open } else { closed })
                }
                Node::CallerRules { vip, blocklist, blocked, next } => {
                    let caller = self.vars.get("caller").cloned().unwrap_or_default();
                    let is_blocked = !caller.is_empty()
                        && blocklist.iter().any(|b| match b.strip_suffix('*') {
                            Some(prefix) => caller.starts_with(prefix),
                            None => *b == caller,
                        });
                    if is_blocked {
                        self.vars.insert("blocked".into(), "true".into());
                        Some(blocked)
                    } else {
                        if let Some(rule) = vip.iter().find(|r| r.matches(&caller)) {
                            self.vars.insert("vip_tier".into(), rule.tier.clone());
                            self.vars.insert("priority".into(), rule.priority.to_string());
                        }
                        Some(next)
                    }
                }
                Node::Http { url, method, body, timeout_ms, .. } => {
                    let token = self.next_token();
                    self.http = Some(token);
                    self.phase = Phase::Http;
                    out.push(Action::Http {
                        token,
                        method,
                        url: expand(&url, &self.vars, url_encode),
                        body: body.map(|b| expand(&b, &self.vars, as_is)),
                        timeout_ms,
                    });
                    return;
                }
                Node::Set { var, value, next } => {
                    let v = expand(&value, &self.vars, as_is);
                    self.vars.insert(var, v);
                    Some(next)
                }
                Node::Queue { queue, priority, skills } => {
                    let priority =
                        priority.or_else(|| self.vars.get("priority").and_then(|p| p.parse().ok())).unwrap_or(0);
                    out.push(Action::Queue { queue, priority, skills });
                    self.end(Outcome::Queued, out);
                    return;
                }
                Node::Transfer { number, prompts } => {
                    let number = expand(&number, &self.vars, as_is);
                    self.close(&prompts, false, Finish::Transfer(number), now, out);
                    return;
                }
                Node::Voicemail { prompts, queue, max_secs } => {
                    self.close(&prompts, false, Finish::Voicemail { queue, max_secs }, now, out);
                    return;
                }
                Node::Callback { queue, number, prompts, next } => {
                    out.push(Action::Callback { queue, number: expand(&number, &self.vars, as_is) });
                    if self.play(&prompts, true, out) {
                        self.phase = Phase::Closing(Finish::Next(next));
                        return;
                    }
                    Some(next)
                }
                Node::Survey { intro, questions, .. } => {
                    self.question = 0;
                    self.typeahead.clear();
                    if self.play(&intro, false, out) {
                        self.phase = Phase::SurveyIntro;
                    } else if questions.is_empty() {
                        self.survey_thanks(now, out);
                    } else {
                        self.ask_question(out);
                    }
                    return;
                }
                Node::Hangup { prompts } => {
                    self.close(&prompts, false, Finish::Hangup, now, out);
                    return;
                }
            };
            match next {
                Some(n) => id = n,
                None => return,
            }
        }
        // A loop without input: the validator refuses such flows; stop rather than spin.
        self.end(Outcome::Failed, out);
        out.push(Action::Hangup);
    }

    /// Plays final prompts (or none) and then finishes.
    fn close(&mut self, prompts: &[PromptItem], barge_in: bool, finish: Finish, now: Timestamp, out: &mut Vec<Action>) {
        if self.play(prompts, barge_in, out) {
            self.phase = Phase::Closing(finish);
        } else {
            self.finish(finish, now, out);
        }
    }

    fn finish(&mut self, finish: Finish, now: Timestamp, out: &mut Vec<Action>) {
        match finish {
            Finish::Transfer(number) => {
                out.push(Action::Transfer { number });
                self.end(Outcome::Transferred, out);
            }
            Finish::Voicemail { queue, max_secs } => {
                out.push(Action::Voicemail { queue, max_secs });
                self.end(Outcome::Voicemail, out);
            }
            Finish::Hangup | Finish::SurveyDone => {
                out.push(Action::Hangup);
                self.end(Outcome::HungUp, out);
            }
            Finish::Next(next) => self.goto(next, now, out),
        }
    }

    /// A menu or collect asks (again): `before` (invalid / no-input prompts) then its own
    /// prompts; keys typed ahead are used at once.
    fn prompt_for_input(&mut self, node: &Node, before: &[PromptItem], now: Timestamp, out: &mut Vec<Action>) {
        if !self.typeahead.is_empty() {
            // Keys typed ahead answer at once; the prompts are not played.
            let id = self.node.clone();
            while let Some(key) = self.typeahead.pop_front() {
                self.input_key(node, key, now, out);
                if self.phase != Phase::Waiting || self.node != id {
                    return;
                }
            }
            if self.timer.is_none() {
                self.start_timer(timeout_of(node), out);
            }
            return;
        }
        let prompts = match node {
            Node::Menu { prompts, .. } | Node::Collect { prompts, .. } => prompts,
            _ => return,
        };
        let all: Vec<PromptItem> = before.iter().chain(prompts).cloned().collect();
        if self.play(&all, true, out) {
            self.phase = Phase::Prompting;
        } else {
            self.phase = Phase::Waiting;
            self.start_timer(timeout_of(node), out);
        }
    }

    fn on_key(&mut self, key: char, now: Timestamp, out: &mut Vec<Action>) {
        match self.phase.clone() {
            Phase::Playing { barge_in } => {
                self.typeahead.push_back(key);
                if barge_in {
                    self.stop_prompt(out);
                    if let Some(Node::Play { next, .. } | Node::Say { next, .. }) = self.current() {
                        self.goto(next, now, out);
                    }
                }
            }
            Phase::Prompting | Phase::Waiting => {
                self.stop_prompt(out);
                self.phase = Phase::Waiting;
                if let Some(node) = self.current() {
                    self.input_key(&node, key, now, out);
                }
            }
            Phase::Http | Phase::Closing(Finish::Next(_)) => self.typeahead.push_back(key),
            Phase::SurveyIntro | Phase::Closing(_) | Phase::Ended => {}
        }
    }

    /// A key for the menu, collect or survey question being asked (phase `Waiting`).
    fn input_key(&mut self, node: &Node, key: char, now: Timestamp, out: &mut Vec<Action>) {
        self.phase = Phase::Waiting;
        match node {
            Node::Menu { options, .. } => match options.get(key.to_string().as_str()) {
                Some(next) => {
                    out.push(Action::Log(IvrEvent::Chose { node: self.node.clone(), key, next: next.clone() }));
                    self.typeahead.clear();
                    self.goto(next.clone(), now, out);
                }
                None => {
                    self.attempts += 1;
                    out.push(Action::Log(IvrEvent::Invalid { node: self.node.clone(), attempt: self.attempts }));
                    self.retry(node, true, now, out);
                }
            },
            Node::Collect { max_digits, terminator, timeout_ms, .. } => {
                if Some(key) == *terminator {
                    self.collect_done(node, now, out);
                } else if key.is_ascii_digit() || key == '*' || key == '#' {
                    self.digits.push(key);
                    if self.digits.chars().count() >= usize::from(*max_digits) {
                        self.collect_done(node, now, out);
                    } else {
                        self.start_timer(*timeout_ms, out);
                    }
                }
            }
            Node::Survey { questions, .. } => {
                let Some(question) = questions.get(self.question) else { return };
                match key.to_digit(10).filter(|d| (1..=5).contains(d)) {
                    Some(score) => {
                        out.push(Action::SurveyScore {
                            question: question.id.clone(),
                            score: u8::try_from(score).unwrap_or(0),
                        });
                        self.next_question(now, out);
                    }
                    None => {
                        self.attempts += 1;
                        out.push(Action::Log(IvrEvent::Invalid { node: self.node.clone(), attempt: self.attempts }));
                        self.survey_retry(now, out);
                    }
                }
            }
            _ => {}
        }
    }

    /// After a wrong or missing key: ask again, or give up along the node's default branch.
    fn retry(&mut self, node: &Node, invalid: bool, now: Timestamp, out: &mut Vec<Action>) {
        self.typeahead.clear();
        match node {
            Node::Menu { retries, invalid_prompts, no_input_prompts, default, .. } => {
                if self.attempts > *retries {
                    self.goto(default.clone(), now, out);
                } else {
                    let before = if invalid { invalid_prompts } else { no_input_prompts };
                    self.prompt_for_input(node, &before.clone(), now, out);
                }
            }
            Node::Collect { retries, invalid_prompts, on_failure, .. } => {
                self.digits.clear();
                if self.attempts > *retries {
                    self.goto(on_failure.clone(), now, out);
                } else {
                    self.prompt_for_input(node, &invalid_prompts.clone(), now, out);
                }
            }
            _ => {}
        }
    }

    fn collect_done(&mut self, node: &Node, now: Timestamp, out: &mut Vec<Action>) {
        let Node::Collect { var, min_digits, next, .. } = node else { return };
        self.timer = None;
        if self.digits.chars().count() >= usize::from(*min_digits) {
            let digits = std::mem::take(&mut self.digits);
            out.push(Action::Log(IvrEvent::Collected {
                node: self.node.clone(),
                var: var.clone(),
                digits: digits.chars().count(),
            }));
            self.vars.insert(var.clone(), digits);
            self.goto(next.clone(), now, out);
        } else {
            self.attempts += 1;
            out.push(Action::Log(IvrEvent::Invalid { node: self.node.clone(), attempt: self.attempts }));
            self.retry(node, true, now, out);
        }
    }

    fn on_playback_done(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        match self.phase.clone() {
            Phase::Playing { .. } => {
                if let Some(Node::Play { next, .. } | Node::Say { next, .. }) = self.current() {
                    self.goto(next, now, out);
                }
            }
            Phase::Prompting => {
                self.phase = Phase::Waiting;
                if let Some(node) = self.current() {
                    self.start_timer(timeout_of(&node), out);
                }
            }
            Phase::SurveyIntro => self.ask_question(out),
            Phase::Closing(finish) => self.finish(finish, now, out),
            Phase::Waiting | Phase::Http | Phase::Ended => {}
        }
    }

    fn on_timeout(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.phase != Phase::Waiting {
            return;
        }
        let Some(node) = self.current() else { return };
        match &node {
            Node::Collect { .. } if !self.digits.is_empty() => self.collect_done(&node, now, out),
            Node::Menu { .. } | Node::Collect { .. } => {
                self.attempts += 1;
                out.push(Action::Log(IvrEvent::NoInput { node: self.node.clone(), attempt: self.attempts }));
                self.retry(&node, false, now, out);
            }
            Node::Survey { .. } => {
                self.attempts += 1;
                out.push(Action::Log(IvrEvent::NoInput { node: self.node.clone(), attempt: self.attempts }));
                self.survey_retry(now, out);
            }
            _ => {}
        }
    }

    fn on_http(&mut self, result: HttpResult, now: Timestamp, out: &mut Vec<Action>) {
        let Some(Node::Http { extract, next, on_failure, .. }) = self.current() else { return };
        let outcome: Result<Vec<(String, String)>, String> = match result {
            HttpResult::Failed { reason } => Err(reason),
            HttpResult::Response { status, .. } if !(200..300).contains(&status) => Err(format!("status {status}")),
            HttpResult::Response { body, .. } => match serde_json::from_str::<serde_json::Value>(&body) {
                Err(_) => Err("the answer is not JSON".to_owned()),
                Ok(json) => extract
                    .iter()
                    .map(|(var, path)| {
                        json_path::parse(path)
                            .and_then(|steps| json_path::get(&json, &steps))
                            .map(|v| (var.clone(), v))
                            .ok_or_else(|| format!("no value at `{path}`"))
                    })
                    .collect(),
            },
        };
        match outcome {
            Ok(values) => {
                self.vars.extend(values);
                out.push(Action::Log(IvrEvent::Http { node: self.node.clone(), ok: true, detail: "ok".into() }));
                self.goto(next, now, out);
            }
            Err(detail) => {
                out.push(Action::Log(IvrEvent::Http { node: self.node.clone(), ok: false, detail }));
                self.goto(on_failure, now, out);
            }
        }
    }

    fn ask_question(&mut self, out: &mut Vec<Action>) {
        let Some(Node::Survey { questions, timeout_ms, .. }) = self.current() else { return };
        let Some(question) = questions.get(self.question) else { return };
        if self.play(&question.prompts, true, out) {
            self.phase = Phase::Prompting;
        } else {
            self.phase = Phase::Waiting;
            self.start_timer(timeout_ms, out);
        }
    }

    /// One repeat of a question after a wrong or missing key, then the next question.
    fn survey_retry(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.attempts >= 2 {
            self.next_question(now, out);
        } else {
            self.ask_question(out);
        }
    }

    fn next_question(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        self.attempts = 0;
        self.question += 1;
        let count = match self.current() {
            Some(Node::Survey { questions, .. }) => questions.len(),
            _ => 0,
        };
        if self.question < count {
            self.ask_question(out);
        } else {
            self.survey_thanks(now, out);
        }
    }

    fn survey_thanks(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let thanks = match self.current() {
            Some(Node::Survey { thanks, .. }) => thanks,
            _ => Vec::new(),
        };
        self.close(&thanks, false, Finish::SurveyDone, now, out);
    }
}

fn timeout_of(node: &Node) -> u64 {
    match node {
        Node::Menu { timeout_ms, .. } | Node::Collect { timeout_ms, .. } | Node::Survey { timeout_ms, .. } => {
            *timeout_ms
        }
        _ => 5_000,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn templates_fill_in_variables_and_encode_urls() {
        let vars: BTreeMap<String, String> =
            [("order".to_owned(), "A 1/2".to_owned()), ("caller".to_owned(), "138".to_owned())].into();
        assert_eq!(expand("x{order}y{missing}z{caller}", &vars, as_is), "xA 1/2yz138");
        assert_eq!(expand("q={order}", &vars, url_encode), "q=A%201%2F2");
        assert_eq!(expand("{ not a var } {", &vars, as_is), "{ not a var } {");
        assert_eq!(url_encode("订单"), "%E8%AE%A2%E5%8D%95");
    }

    #[test]
    fn amounts_parse_to_fen() {
        assert_eq!(parse_amount("12.30"), Some(1230));
        assert_eq!(parse_amount("12.3"), Some(1230));
        assert_eq!(parse_amount("0.05"), Some(5));
        assert_eq!(parse_amount("-8"), Some(-800));
        for bad in ["", "1.234", "a", "1.x", ".5", "1e3"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}
