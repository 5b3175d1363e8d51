//! Checks a flow before it is saved: every reference resolves, every node can be reached, no
//! loop can spin without waiting for the caller, and each node's settings make sense. Every
//! problem is reported, each naming its node.

use super::flow::{Flow, Node, PromptItem, edges};
use super::hours::{parse_date, parse_hhmm};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One problem with a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// The flow has no name.
    NoName,
    /// `start` (or `survey`) names a node that does not exist.
    MissingStart {
        /// `start` or `survey`.
        field: &'static str,
        /// The missing node.
        target: String,
    },
    /// A node names a node that does not exist.
    MissingTarget {
        /// The node.
        node: String,
        /// Its field.
        field: &'static str,
        /// The missing node.
        target: String,
    },
    /// No path from the start (or the survey) leads to the node.
    Unreachable {
        /// The node.
        node: String,
    },
    /// These nodes form a loop that never waits for the caller.
    LoopWithoutInput {
        /// The nodes of the loop, sorted.
        nodes: Vec<String>,
    },
    /// A node's settings are wrong.
    Invalid {
        /// The node.
        node: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::NoName => write!(f, "the flow has no name"),
            FlowError::MissingStart { field, target } => write!(f, "{field}: there is no node `{target}`"),
            FlowError::MissingTarget { node, field, target } => {
                write!(f, "node `{node}`: {field} names `{target}`, which does not exist")
            }
            FlowError::Unreachable { node } => write!(f, "node `{node}` cannot be reached from the start"),
            FlowError::LoopWithoutInput { nodes } => {
                write!(f, "nodes {} form a loop that never waits for a key", quoted(nodes))
            }
            FlowError::Invalid { node, message } => write!(f, "node `{node}`: {message}"),
        }
    }
}

fn quoted(nodes: &[String]) -> String {
    nodes.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Keys a menu can offer.
const KEYS: &str = "0123456789*#";

impl Flow {
    /// Every problem with the flow; empty when it can be saved and run.
    pub fn problems(&self) -> Vec<FlowError> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push(FlowError::NoName);
        }
        let roots: Vec<(&'static str, &String)> =
            std::iter::once(("start", &self.start)).chain(self.survey.iter().map(|s| ("survey", s))).collect();
        for (field, target) in &roots {
            if !self.nodes.contains_key(target.as_str()) {
                out.push(FlowError::MissingStart { field, target: (*target).clone() });
            }
        }
        for (id, node) in &self.nodes {
            for (field, target) in edges(node) {
                if !self.nodes.contains_key(target) {
                    out.push(FlowError::MissingTarget { node: id.clone(), field, target: target.to_owned() });
                }
            }
            for message in settings_problems(node) {
                out.push(FlowError::Invalid { node: id.clone(), message });
            }
        }
        // Reachability from the start and the survey.
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = roots.iter().map(|(_, t)| t.as_str()).collect();
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.get(id) else { continue };
            if seen.insert(id) {
                stack.extend(edges(node).into_iter().map(|(_, t)| t));
            }
        }
        for id in self.nodes.keys() {
            if !seen.contains(id.as_str()) {
                out.push(FlowError::Unreachable { node: id.clone() });
            }
        }
        for nodes in loops_without_input(self) {
            out.push(FlowError::LoopWithoutInput { nodes });
        }
        out
    }

    /// Checks the flow.
    ///
    /// # Errors
    ///
    /// Every problem found ([`Flow::problems`]).
    pub fn validate(&self) -> Result<(), Vec<FlowError>> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// Strongly connected groups of nodes that do not take input, with at least one edge among
/// them (Tarjan's algorithm over the graph without the input nodes).
fn loops_without_input(flow: &Flow) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            let successors = self.graph.get(v).cloned().unwrap_or_default();
            for w in &successors {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low.get(w).copied().unwrap_or(usize::MAX);
                    if let Some(lv) = self.low.get_mut(v) {
                        *lv = (*lv).min(lw);
                    }
                } else if self.on_stack.contains(w) {
                    let iw = self.index.get(w).copied().unwrap_or(usize::MAX);
                    if let Some(lv) = self.low.get_mut(v) {
                        *lv = (*lv).min(iw);
                    }
                }
            }
            if self.low.get(v) == self.index.get(v) {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                let self_loop = successors.contains(&v);
                if group.len() > 1 || self_loop {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let graph: BTreeMap<&str, Vec<&str>> = flow
        .nodes
        .iter()
        .filter(|(_, n)| !n.takes_input())
        .map(|(id, n)| {
            let targets = edges(n)
                .into_iter()
                .map(|(_, t)| t)
                .filter(|t| flow.nodes.get(*t).is_some_and(|n| !n.takes_input()))
                .collect();
            (id.as_str(), targets)
        })
        .collect();
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    let ids: Vec<&str> = t.graph.keys().copied().collect();
    for id in ids {
        if !t.index.contains_key(id) {
            t.visit(id);
        }
    }
    t.found.sort();
    t.found
}

fn prompt_problems(field: &str, prompts: &[PromptItem], out: &mut Vec<String>) {
    for p in prompts {
        match p {
            PromptItem::Name(name) if name.trim().is_empty() => out.push(format!("{field}: a prompt has no name")),
            PromptItem::Name(name) if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
                out.push(format!("{field}: prompt name `{name}` may only use letters, digits, `_` and `-`"));
            }
            PromptItem::Say { value, .. } if value.trim().is_empty() => out.push(format!("{field}: say has no value")),
            _ => {}
        }
    }
}

fn var_problem(var: &str) -> Option<String> {
    let ok = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!ok).then(|| format!("variable name `{var}` may only use letters, digits and `_`"))
}

/// What is wrong with one node's settings (not its references).
fn settings_problems(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    match node {
        Node::Play { prompts, .. } => {
            if prompts.is_empty() {
                out.push("play has no prompts".into());
            }
            prompt_problems("prompts", prompts, &mut out);
        }
        Node::Menu { prompts, options, timeout_ms, invalid_prompts, no_input_prompts, .. } => {
            if options.is_empty() {
                out.push("menu has no options".into());
            }
            for key in options.keys() {
                if key.chars().count() != 1 || !KEYS.contains(key.as_str()) {
                    out.push(format!("option `{key}` is not a key (0-9, * or #)"));
                }
            }
            if *timeout_ms == 0 {
                out.push("timeout_ms must be above 0".into());
            }
            prompt_problems("prompts", prompts, &mut out);
            prompt_problems("invalid_prompts", invalid_prompts, &mut out);
            prompt_problems("no_input_prompts", no_input_prompts, &mut out);
        }
        Node::Collect { prompts, var, min_digits, max_digits, terminator, timeout_ms, invalid_prompts, .. } => {
            out.extend(var_problem(var));
            if *min_digits == 0 || min_digits > max_digits {
                out.push(format!("min_digits ({min_digits}) must be 1 or more and at most max_digits ({max_digits})"));
            }
            if let Some(t) = terminator
                && !"*#".contains(*t)
            {
                out.push(format!("terminator `{t}` must be * or #"));
            }
            if *timeout_ms == 0 {
                out.push("timeout_ms must be above 0".into());
            }
            prompt_problems("prompts", prompts, &mut out);
            prompt_problems("invalid_prompts", invalid_prompts, &mut out);
        }
        Node::Condition { rules, .. } => {
            for (i, rule) in rules.iter().enumerate() {
                out.extend(var_problem(&rule.when.var).map(|m| format!("rules[{i}]: {m}")));
                if rule.when.operator_count() != 1 {
                    out.push(format!(
                        "rules[{i}]: a test needs exactly one of equals, not_equals, starts_with, one_of, less_than, greater_than, is_set"
                    ));
                }
            }
        }
        Node::Hours { weekly, holidays, workdays, .. } => {
            for (i, span) in weekly.iter().enumerate() {
                if span.days.is_empty() || span.days.iter().any(|d| !(1..=7).contains(d)) {
                    out.push(format!("weekly[{i}]: days are 1 (Monday) to 7 (Sunday)"));
                }
                match (parse_hhmm(&span.from), parse_hhmm(&span.to)) {
                    (Some(a), Some(b)) if a < b => {}
                    (Some(_), Some(_)) => out.push(format!("weekly[{i}]: `from` must be before `to`")),
                    _ => out.push(format!("weekly[{i}]: times are HH:MM, got `{}` and `{}`", span.from, span.to)),
                }
            }
            for d in holidays.iter().chain(workdays) {
                if parse_date(d).is_none() {
                    out.push(format!("`{d}` is not a date (YYYY-MM-DD)"));
                }
            }
        }
        Node::CallerRules { vip, blocklist, .. } => {
            for (i, rule) in vip.iter().enumerate() {
                if rule.numbers.is_empty() && rule.prefixes.is_empty() {
                    out.push(format!("vip[{i}]: give numbers or prefixes"));
                }
                if rule.tier.trim().is_empty() {
                    out.push(format!("vip[{i}]: tier is empty"));
                }
            }
            if blocklist.iter().any(|b| b.trim().is_empty() || b == "*") {
                out.push("blocklist: an entry is empty or blocks everyone".into());
            }
        }
        Node::Http { url, timeout_ms, extract, .. } => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                out.push(format!("url `{url}` must start with http:// or https://"));
            }
            if *timeout_ms == 0 || *timeout_ms > 30_000 {
                out.push("timeout_ms must be between 1 and 30000".into());
            }
            for (var, path) in extract {
                out.extend(var_problem(var));
                if super::json_path::parse(path).is_none() {
                    out.push(format!("extract: `{path}` is not a path like order.status or items[0].name"));
                }
            }
        }
        Node::Say { value, .. } => {
            if value.trim().is_empty() {
                out.push("say has no value".into());
            }
        }
        Node::Set { var, .. } => out.extend(var_problem(var)),
        Node::Queue { queue, .. } => {
            if queue.trim().is_empty() {
                out.push("queue is empty".into());
            }
        }
        Node::Transfer { number, prompts } => {
            if number.trim().is_empty() {
                out.push("number is empty".into());
            }
            prompt_problems("prompts", prompts, &mut out);
        }
        Node::Voicemail { prompts, max_secs, .. } => {
            if *max_secs == 0 || *max_secs > 600 {
                out.push("max_secs must be between 1 and 600".into());
            }
            prompt_problems("prompts", prompts, &mut out);
        }
        Node::Callback { number, prompts, .. } => {
            if number.trim().is_empty() {
                out.push("number is empty".into());
            }
            prompt_problems("prompts", prompts, &mut out);
        }
        Node::Survey { intro, questions, thanks, timeout_ms } => {
            if questions.is_empty() {
                out.push("survey has no questions".into());
            }
            let mut ids = BTreeSet::new();
            for q in questions {
                if q.id.trim().is_empty() || !ids.insert(q.id.as_str()) {
                    out.push(format!("question id `{}` is empty or repeated", q.id));
                }
                prompt_problems("questions", &q.prompts, &mut out);
            }
            if *timeout_ms == 0 {
                out.push("timeout_ms must be above 0".into());
            }
            prompt_problems("intro", intro, &mut out);
            prompt_problems("thanks", thanks, &mut out);
        }
        Node::Hangup { prompts } => prompt_problems("prompts", prompts, &mut out),
    }
    out
}
