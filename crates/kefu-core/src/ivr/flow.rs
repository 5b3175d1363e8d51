//! The flow model: a named graph of nodes, stored as data (YAML or JSON) and edited by
//! administrators. Nodes name the node that follows by id; [`Flow::validate`] checks the graph
//! before a flow is saved.

use super::say::Language;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An IVR flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Unique name (the hotline flow of the demo is `hotline`).
    pub name: String,
    /// The language of the flow's prompts.
    #[serde(default)]
    pub language: Language,
    /// Offset of the center's local time from UTC, in minutes (China: 480). Opening hours and
    /// holidays are read in local time.
    #[serde(default = "default_utc_offset")]
    pub utc_offset_minutes: i32,
    /// The node a call starts at.
    pub start: String,
    /// The node of the post-call survey, run when the agent hangs up first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<String>,
    /// Every node, by id.
    pub nodes: BTreeMap<String, Node>,
}

fn default_utc_offset() -> i32 {
    480
}

/// Something the caller hears: a recorded prompt by name, or a value spoken with the number
/// prompts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PromptItem {
    /// A prompt by name (`welcome`, `menu_main` …), in the flow's language.
    Name(String),
    /// A value spoken with the number prompts.
    Say {
        /// How to speak it.
        say: SayAs,
        /// The value; `{var}` is replaced by the variable's value.
        value: String,
    },
}

/// How a value is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SayAs {
    /// A whole number (`1234` → "one thousand two hundred thirty four").
    Number,
    /// Digit by digit (phone and order numbers).
    Digits,
    /// Money in yuan, with up to two decimals (`12.30`).
    Amount,
    /// A wait in seconds, as "about N minutes".
    WaitSeconds,
}

/// A test on a variable (`caller`, `dialled` and every variable set so far). Exactly one
/// operator is given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Test {
    /// The variable tested.
    pub var: String,
    /// Equal to this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Not equal to this text (an unset variable is not equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<String>,
    /// Starts with this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
    /// Equal to one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// A number below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<f64>,
    /// A number above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<f64>,
    /// Set and not empty (`true`), or unset or empty (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_set: Option<bool>,
}

impl Test {
    /// How many operators are given (valid tests have exactly one).
    pub fn operator_count(&self) -> usize {
        [
            self.equals.is_some(),
            self.not_equals.is_some(),
            self.starts_with.is_some(),
            self.one_of.is_some(),
            self.less_than.is_some(),
            self.greater_than.is_some(),
            self.is_set.is_some(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }

    /// Whether the variable's value (`None`: unset) passes.
    pub fn passes(&self, value: Option<&str>) -> bool {
        let number = || value.and_then(|v| v.trim().parse::<f64>().ok());
        if let Some(want) = &self.equals {
            return value == Some(want.as_str());
        }
        if let Some(other) = &self.not_equals {
            return value.is_some_and(|v| v != other);
        }
        if let Some(prefix) = &self.starts_with {
            return value.is_some_and(|v| v.starts_with(prefix.as_str()));
        }
        if let Some(list) = &self.one_of {
            return value.is_some_and(|v| list.iter().any(|x| x == v));
        }
        if let Some(limit) = self.less_than {
            return number().is_some_and(|n| n < limit);
        }
        if let Some(limit) = self.greater_than {
            return number().is_some_and(|n| n > limit);
        }
        if let Some(set) = self.is_set {
            return value.is_some_and(|v| !v.is_empty()) == set;
        }
        false
    }
}

/// One branch of a condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The test.
    pub when: Test,
    /// Where to go when it passes.
    pub next: String,
}

/// Open hours on some days of the week, local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpan {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// Opening time, `HH:MM`.
    pub from: String,
    /// Closing time, `HH:MM` (exclusive; `24:00` for midnight).
    pub to: String,
}

/// VIP callers: numbers or prefixes, their tier and queue priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VipRule {
    /// Exact caller numbers.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Caller-number prefixes.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// The tier, stored in the variable `vip_tier`.
    pub tier: String,
    /// The queue priority, stored in the variable `priority` (higher is served first).
    pub priority: i32,
}

impl VipRule {
    /// Whether the caller matches.
    pub fn matches(&self, caller: &str) -> bool {
        self.numbers.iter().any(|n| n == caller) || self.prefixes.iter().any(|p| caller.starts_with(p.as_str()))
    }
}

/// A question of a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuestion {
    /// Its id, stored with the score (`speed`, `attitude`, `overall`).
    pub id: String,
    /// What the caller hears.
    pub prompts: Vec<PromptItem>,
}

/// HTTP method of an HTTP node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET (the default).
    #[default]
    Get,
    /// POST with the body template.
    Post,
}

fn yes() -> bool {
    true
}
fn two() -> u32 {
    2
}
fn five_secs() -> u64 {
    5_000
}
fn three_secs() -> u64 {
    3_000
}
fn one() -> u8 {
    1
}
fn twenty() -> u8 {
    20
}
fn hash() -> Option<char> {
    Some('#')
}
fn two_minutes() -> u32 {
    120
}
fn voicemail_prompts() -> Vec<PromptItem> {
    vec![PromptItem::Name("voicemail".into()), PromptItem::Name("beep".into())]
}

/// A node of a flow. `next`-like fields name other nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Node {
    /// Plays prompts, then goes on. A key pressed meanwhile stops the prompts (when
    /// `barge_in`) and is kept for the next menu or collect.
    Play {
        /// What is played.
        prompts: Vec<PromptItem>,
        /// A key stops the prompts.
        #[serde(default = "yes")]
        barge_in: bool,
        /// The next node.
        next: String,
    },
    /// A keypad menu: prompts, then one key chooses the next node. A wrong key or no key
    /// within the timeout repeats the menu up to `retries` times, then `default` is taken.
    Menu {
        /// The menu's prompts.
        prompts: Vec<PromptItem>,
        /// Key (`0`–`9`, `*`, `#`) → node.
        options: BTreeMap<String, String>,
        /// Repeats after a wrong or missing key.
        #[serde(default = "two")]
        retries: u32,
        /// How long to wait for a key after the prompts, in milliseconds.
        #[serde(default = "five_secs")]
        timeout_ms: u64,
        /// Played after a wrong key, before the menu again.
        #[serde(default)]
        invalid_prompts: Vec<PromptItem>,
        /// Played when no key came, before the menu again.
        #[serde(default)]
        no_input_prompts: Vec<PromptItem>,
        /// Where to go when the retries are used up.
        default: String,
    },
    /// Collects digits into a variable: done at `max_digits`, at the terminator, or at a
    /// pause of `timeout_ms` once `min_digits` are in.
    Collect {
        /// The prompts asking for the digits.
        prompts: Vec<PromptItem>,
        /// The variable that receives them.
        var: String,
        /// Fewest digits accepted.
        #[serde(default = "one")]
        min_digits: u8,
        /// Most digits.
        #[serde(default = "twenty")]
        max_digits: u8,
        /// The key that ends the input (not stored); `null` for none.
        #[serde(default = "hash")]
        terminator: Option<char>,
        /// Longest pause before and between keys, in milliseconds.
        #[serde(default = "five_secs")]
        timeout_ms: u64,
        /// Repeats when too few digits came.
        #[serde(default = "two")]
        retries: u32,
        /// Played before a repeat.
        #[serde(default)]
        invalid_prompts: Vec<PromptItem>,
        /// Where to go with the digits.
        next: String,
        /// Where to go when the retries are used up.
        on_failure: String,
    },
    /// The first rule whose test passes chooses the next node, else `default`.
    Condition {
        /// The rules, in order.
        rules: Vec<Rule>,
        /// Where to go when none passes.
        default: String,
    },
    /// Opening hours and holidays, in the flow's local time.
    Hours {
        /// When the center is open.
        weekly: Vec<OpenSpan>,
        /// Dates (`YYYY-MM-DD`) closed all day.
        #[serde(default)]
        holidays: Vec<String>,
        /// Dates open with Monday's hours although the weekly plan closes them (make-up
        /// working days around Chinese public holidays).
        #[serde(default)]
        workdays: Vec<String>,
        /// Where to go while open.
        open: String,
        /// Where to go while closed.
        closed: String,
    },
    /// Caller-ID rules: blocklisted numbers go to `blocked`; VIP callers get the variables
    /// `vip_tier` and `priority`; then `next`.
    CallerRules {
        /// VIP tiers, first match wins.
        #[serde(default)]
        vip: Vec<VipRule>,
        /// Blocked numbers; an entry ending in `*` is a prefix.
        #[serde(default)]
        blocklist: Vec<String>,
        /// Where blocklisted callers go (the harassment queue's node).
        blocked: String,
        /// Where everyone else goes.
        next: String,
    },
    /// Calls an HTTP service (self-service lookups) and stores parts of its JSON answer.
    /// Any failure — no answer within `timeout_ms`, a status other than 2xx, a body that is
    /// not JSON, a path that is missing — takes `on_failure`.
    Http {
        /// URL; `{var}` is replaced by the variable's value, URL-encoded.
        url: String,
        /// GET or POST.
        #[serde(default)]
        method: HttpMethod,
        /// POST body; `{var}` is replaced as is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// Longest wait for the answer, in milliseconds.
        #[serde(default = "three_secs")]
        timeout_ms: u64,
        /// Variable → path in the JSON answer (`order.status`, `items[0].name`).
        #[serde(default)]
        extract: BTreeMap<String, String>,
        /// Where to go on success.
        next: String,
        /// Where to go on any failure.
        on_failure: String,
    },
    /// Speaks a value (a number, digits, an amount, a wait).
    Say {
        /// How.
        say: SayAs,
        /// The value; `{var}` is replaced.
        value: String,
        /// The next node.
        next: String,
    },
    /// Sets a variable.
    Set {
        /// The variable.
        var: String,
        /// The value; `{var}` is replaced.
        value: String,
        /// The next node.
        next: String,
    },
    /// Puts the call into a queue (the flow ends here; the queue takes over).
    Queue {
        /// The queue's name.
        queue: String,
        /// Priority in the queue; without it, the `priority` variable (VIP rules), else 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<i32>,
        /// Skills the agent must have, beyond the queue's own.
        #[serde(default)]
        skills: Vec<String>,
    },
    /// Transfers the call to a number or extension (the flow ends).
    Transfer {
        /// The number; `{var}` is replaced.
        number: String,
        /// Played before the transfer.
        #[serde(default)]
        prompts: Vec<PromptItem>,
    },
    /// Records a voicemail (the flow ends when it is recorded).
    Voicemail {
        /// Played before the recording starts.
        #[serde(default = "voicemail_prompts")]
        prompts: Vec<PromptItem>,
        /// Whose voicemail box (a queue name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        /// Longest message, in seconds.
        #[serde(default = "two_minutes")]
        max_secs: u32,
    },
    /// Stores a callback request for agents, then goes on.
    Callback {
        /// The queue whose agents call back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        /// The number to call; `{var}` is replaced (default: the caller's number).
        #[serde(default = "caller_template")]
        number: String,
        /// Played after the request is stored.
        #[serde(default)]
        prompts: Vec<PromptItem>,
        /// The next node.
        next: String,
    },
    /// A keypad survey: each question takes one key from 1 to 5 (one repeat on a wrong or
    /// missing key, then the question is skipped); the flow ends after the thanks.
    Survey {
        /// Played first.
        #[serde(default)]
        intro: Vec<PromptItem>,
        /// The questions.
        questions: Vec<SurveyQuestion>,
        /// Played at the end.
        #[serde(default)]
        thanks: Vec<PromptItem>,
        /// How long to wait for each key, in milliseconds.
        #[serde(default = "five_secs")]
        timeout_ms: u64,
    },
    /// Plays its prompts and hangs up.
    Hangup {
        /// Played before hanging up.
        #[serde(default)]
        prompts: Vec<PromptItem>,
    },
}

fn caller_template() -> String {
    "{caller}".into()
}

/// The field names and targets of a node's outgoing edges.
pub(crate) fn edges(node: &Node) -> Vec<(&'static str, &str)> {
    match node {
        Node::Play { next, .. } | Node::Say { next, .. } | Node::Set { next, .. } | Node::Callback { next, .. } => {
            vec![("next", next.as_str())]
        }
        Node::Menu { options, default, .. } => {
            let mut out: Vec<(&'static str, &str)> = options.values().map(|n| ("options", n.as_str())).collect();
            out.push(("default", default.as_str()));
            out
        }
        Node::Collect { next, on_failure, .. } | Node::Http { next, on_failure, .. } => {
            vec![("next", next.as_str()), ("on_failure", on_failure.as_str())]
        }
        Node::Condition { rules, default } => {
            let mut out: Vec<(&'static str, &str)> = rules.iter().map(|r| ("rules", r.next.as_str())).collect();
            out.push(("default", default.as_str()));
            out
        }
        Node::Hours { open, closed, .. } => vec![("open", open.as_str()), ("closed", closed.as_str())],
        Node::CallerRules { blocked, next, .. } => vec![("blocked", blocked.as_str()), ("next", next.as_str())],
        Node::Queue { .. }
        | Node::Transfer { .. }
        | Node::Voicemail { .. }
        | Node::Survey { .. }
        | Node::Hangup { .. } => Vec::new(),
    }
}

impl Node {
    /// The node's type as written in YAML (`menu`, `queue` …).
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Play { .. } => "play",
            Node::Menu { .. } => "menu",
            Node::Collect { .. } => "collect",
            Node::Condition { .. } => "condition",
            Node::Hours { .. } => "hours",
            Node::CallerRules { .. } => "caller_rules",
            Node::Http { .. } => "http",
            Node::Say { .. } => "say",
            Node::Set { .. } => "set",
            Node::Queue { .. } => "queue",
            Node::Transfer { .. } => "transfer",
            Node::Voicemail { .. } => "voicemail",
            Node::Callback { .. } => "callback",
            Node::Survey { .. } => "survey",
            Node::Hangup { .. } => "hangup",
        }
    }

    /// Whether the node waits for the caller's keys (a loop through the graph must pass one).
    pub fn takes_input(&self) -> bool {
        matches!(self, Node::Menu { .. } | Node::Collect { .. } | Node::Survey { .. })
    }
}

/// A YAML or JSON text that is not a flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid flow: {0}")]
pub struct ParseError(pub String);

impl Flow {
    /// Reads a flow from YAML (JSON is YAML too). Structure only; see [`Flow::validate`].
    ///
    /// # Errors
    ///
    /// The parser's message, naming the field and position.
    pub fn from_yaml(text: &str) -> Result<Self, ParseError> {
        serde_norway::from_str(text).map_err(|e| ParseError(e.to_string()))
    }

    /// The flow as YAML.
    ///
    /// # Errors
    ///
    /// Only if serialisation fails, which a well-formed flow never does.
    pub fn to_yaml(&self) -> Result<String, ParseError> {
        serde_norway::to_string(self).map_err(|e| ParseError(e.to_string()))
    }
}
