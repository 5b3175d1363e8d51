//! What is simulated: a contact center ([`Center`]) — skills, queues, agents with shifts and
//! skills, call types with intraday arrival profiles, handle-time and patience
//! distributions — either read from a YAML scenario or built from the single-queue flags.
//! Everything is checked when loaded and every problem is reported at once, each with the
//! path of its field (`queues[1].overflow[0].action.queue: unknown queue "vip2"`).

use crate::ids;
use kefu_core::acd::{
    AcdSettings, OverflowAction, OverflowStep, OverflowWhen, Priority, QueueConfig, SkillRequirement,
};
use kefu_core::org::{Proficiency, QueueStrategy};
use kefu_core::{QueueId, SkillId, UserId};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Most agents a scenario may have (a guard against typos such as `count: 1000000`).
pub const MAX_AGENTS: u64 = 100_000;
/// Longest simulated day, in hours (a year).
pub const MAX_HOURS: f64 = 24.0 * 366.0;

/// One problem with a scenario, at a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `queues[1].overflow[0].action.queue`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid YAML, or not the shape of a scenario (wrong type, unknown field); the parser
    /// stops at the first such error.
    #[error("the scenario is not valid: {0}")]
    Parse(String),
    /// Well-formed but wrong: every problem found.
    #[error("the scenario has {} problem(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// How long calls take to handle (talk time).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandleTime {
    /// Exponential with this mean (what Erlang C assumes).
    Exponential {
        /// Mean in seconds.
        mean_secs: f64,
    },
    /// Log-normal with this mean and standard deviation (closer to real handle times).
    Lognormal {
        /// Mean in seconds.
        mean_secs: f64,
        /// Standard deviation in seconds.
        sd_secs: f64,
    },
}

impl HandleTime {
    /// The mean in seconds.
    pub fn mean_secs(&self) -> f64 {
        match *self {
            HandleTime::Exponential { mean_secs } | HandleTime::Lognormal { mean_secs, .. } => mean_secs,
        }
    }
}

/// How long callers wait before hanging up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Patience {
    /// Callers never hang up.
    #[default]
    None,
    /// Exponential with this mean (what Erlang A assumes).
    Exponential {
        /// Mean in seconds.
        mean_secs: f64,
    },
}

/// Calls per hour: one rate for the whole day, or one per hour of the day.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Rate {
    /// The same every hour.
    Constant(f64),
    /// One value per hour, starting at hour 0.
    Profile(Vec<f64>),
}

/// A kind of call: where it goes, how often it comes, how long it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct CallType {
    /// Name (for messages).
    pub name: String,
    /// The queue it enters.
    pub queue: QueueId,
    /// Caller priority.
    pub priority: Priority,
    /// Calls per hour for each hour of the day (the last hour may be partial).
    pub calls_per_hour: Vec<f64>,
    /// Handle times.
    pub handle_time: HandleTime,
    /// Caller patience.
    pub patience: Patience,
}

/// One agent and their shift.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentPlan {
    /// Id.
    pub id: UserId,
    /// The group it came from.
    pub group: String,
    /// Skills held.
    pub skills: Vec<(SkillId, Proficiency)>,
    /// Login time, ms from the start of the day.
    pub shift_start_ms: i64,
    /// Time to stop taking calls (logged out once the current call is done).
    pub shift_end_ms: i64,
}

/// A validated center, ready to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct Center {
    /// Name (for the report).
    pub name: String,
    /// Length of the day in hours: calls arrive in [0, hours).
    pub hours: f64,
    /// How long an agent's phone rings before they answer, in ms.
    pub ring_delay_ms: i64,
    /// The router's timings.
    pub settings: AcdSettings,
    /// Skill names by id (for messages).
    pub skills: Vec<(SkillId, String)>,
    /// The queues, in the scenario's order.
    pub queues: Vec<QueueConfig>,
    /// Every agent.
    pub agents: Vec<AgentPlan>,
    /// Every call type.
    pub call_types: Vec<CallType>,
}

impl Center {
    /// The length of the day in ms.
    pub fn day_ms(&self) -> i64 {
        hours_ms(self.hours)
    }

    /// A queue's name.
    pub fn queue_name(&self, id: QueueId) -> Option<&str> {
        self.queues.iter().find(|q| q.id == id).map(|q| q.name.as_str())
    }

    /// Reads and checks a YAML scenario.
    pub fn from_yaml(text: &str) -> Result<Center, ScenarioError> {
        let spec: ScenarioSpec = serde_norway::from_str(text).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        spec.validate()
    }

    /// One queue, `agents` identical agents on shift all day, exponential handle times —
    /// what `kefu sim` builds from its flags.
    pub fn single_queue(q: &SingleQueue) -> Result<Center, ScenarioError> {
        let mut p = Problems::default();
        p.positive("--hours", q.hours);
        if q.hours > MAX_HOURS {
            p.push("--hours", format!("must be at most {MAX_HOURS}, got {}", q.hours));
        }
        p.non_negative("--calls-per-hour", q.calls_per_hour);
        p.positive("--aht-secs", q.aht_secs);
        if let Some(patience) = q.patience_secs {
            p.positive("--patience-secs", patience);
        }
        p.non_negative("--acw-secs", q.acw_secs);
        p.non_negative("--ring-delay-secs", q.ring_delay_secs);
        if u64::from(q.agents) > MAX_AGENTS {
            p.push("--agents", format!("must be at most {MAX_AGENTS}, got {}", q.agents));
        }
        if !p.0.is_empty() {
            return Err(ScenarioError::Invalid(p.0));
        }
        let settings = AcdSettings { acw_ms: secs_ms(q.acw_secs), ..AcdSettings::default() };
        let queue = QueueConfig::new(ids::queue(0), "queue");
        let day = hours_ms(q.hours);
        let agents = (0..q.agents)
            .map(|i| AgentPlan {
                id: ids::agent(i as usize),
                group: "agents".into(),
                skills: Vec::new(),
                shift_start_ms: 0,
                shift_end_ms: day,
            })
            .collect();
        let center = Center {
            name: "single queue".into(),
            hours: q.hours,
            ring_delay_ms: secs_ms(q.ring_delay_secs),
            settings,
            skills: Vec::new(),
            queues: vec![queue],
            agents,
            call_types: vec![CallType {
                name: "calls".into(),
                queue: ids::queue(0),
                priority: Priority::NORMAL,
                calls_per_hour: vec![q.calls_per_hour; hours_count(q.hours)],
                handle_time: HandleTime::Exponential { mean_secs: q.aht_secs },
                patience: q.patience_secs.map_or(Patience::None, |mean_secs| Patience::Exponential { mean_secs }),
            }],
        };
        center.check_router()?;
        Ok(center)
    }

    /// The router's own checks of settings and queues.
    fn check_router(&self) -> Result<(), ScenarioError> {
        let problems = kefu_core::acd::config::validate(&self.settings, &self.queues);
        if problems.is_empty() {
            return Ok(());
        }
        Err(ScenarioError::Invalid(
            problems.into_iter().map(|e| Problem { field: e.field, message: e.message }).collect(),
        ))
    }
}

/// The single-queue flags of `kefu sim`.
#[derive(Clone, Debug, PartialEq)]
pub struct SingleQueue {
    /// Agents, all on shift for the whole day.
    pub agents: u32,
    /// Poisson arrival rate.
    pub calls_per_hour: f64,
    /// Mean of the exponential handle (talk) time.
    pub aht_secs: f64,
    /// Mean of the exponential patience; `None`: callers never hang up.
    pub patience_secs: Option<f64>,
    /// Length of the day.
    pub hours: f64,
    /// After-call work (0 by default, so the queue is the M/M/N of Erlang C).
    pub acw_secs: f64,
    /// Ringing before an agent answers.
    pub ring_delay_secs: f64,
}

fn secs_ms(secs: f64) -> i64 {
    (secs * 1000.0).round() as i64
}

fn hours_ms(hours: f64) -> i64 {
    (hours * 3_600_000.0).round() as i64
}

fn hours_count(hours: f64) -> usize {
    hours.ceil().max(1.0) as usize
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { field: field.into(), message: message.into() });
    }
    fn positive(&mut self, field: impl Into<String>, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.push(field, format!("must be greater than 0, got {v}"));
        }
    }
    fn non_negative(&mut self, field: impl Into<String>, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            self.push(field, format!("must not be negative, got {v}"));
        }
    }
}

// ------------------------------------------------------------------ the YAML shape

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSpec {
    #[serde(default)]
    name: Option<String>,
    hours: f64,
    #[serde(default)]
    ring_delay_secs: f64,
    #[serde(default)]
    settings: AcdSettings,
    #[serde(default)]
    skills: Vec<String>,
    queues: Vec<QueueSpec>,
    agent_groups: Vec<AgentGroupSpec>,
    call_types: Vec<CallTypeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueSpec {
    name: String,
    #[serde(default)]
    strategy: QueueStrategy,
    /// skill name → minimum proficiency
    #[serde(default)]
    skills: BTreeMap<String, i64>,
    #[serde(default)]
    overflow: Vec<OverflowSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverflowSpec {
    #[serde(default)]
    after_secs: i64,
    #[serde(default)]
    when: OverflowWhen,
    action: ActionSpec,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum ActionSpec {
    Widen { queues: Vec<String> },
    Queue { queue: String },
    Ivr { node: String },
    External { number: String },
    Voicemail,
    Callback,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentGroupSpec {
    name: String,
    count: i64,
    /// skill name → proficiency
    #[serde(default)]
    skills: BTreeMap<String, i64>,
    #[serde(default)]
    shift: Option<ShiftSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShiftSpec {
    /// hours from the start of the day
    start: f64,
    end: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallTypeSpec {
    name: String,
    queue: String,
    #[serde(default)]
    priority: i64,
    calls_per_hour: Rate,
    handle_time: HandleTime,
    #[serde(default)]
    patience: Patience,
}

impl ScenarioSpec {
    fn validate(self) -> Result<Center, ScenarioError> {
        let mut p = Problems::default();
        p.positive("hours", self.hours);
        if self.hours > MAX_HOURS {
            p.push("hours", format!("must be at most {MAX_HOURS}, got {}", self.hours));
        }
        let hours = if self.hours.is_finite() && self.hours > 0.0 { self.hours.min(MAX_HOURS) } else { 1.0 };
        p.non_negative("ring_delay_secs", self.ring_delay_secs);

        // skills
        let mut skill_ids: HashMap<&str, SkillId> = HashMap::new();
        let mut skills = Vec::new();
        for (i, name) in self.skills.iter().enumerate() {
            if name.trim().is_empty() {
                p.push(format!("skills[{i}]"), "must not be empty");
            } else if skill_ids.contains_key(name.as_str()) {
                p.push(format!("skills[{i}]"), format!("duplicate skill \"{name}\""));
            } else {
                skill_ids.insert(name, ids::skill(i));
                skills.push((ids::skill(i), name.clone()));
            }
        }
        let skill = |p: &mut Problems, path: String, name: &str, level: i64| -> Option<(SkillId, Proficiency)> {
            let id = skill_ids.get(name).copied();
            if id.is_none() {
                p.push(path.clone(), format!("unknown skill \"{name}\""));
            }
            let prof = Proficiency::new(level).map_err(|e| p.push(path, e.to_string())).ok();
            Some((id?, prof?))
        };

        // queue names
        let mut queue_ids: HashMap<&str, QueueId> = HashMap::new();
        if self.queues.is_empty() {
            p.push("queues", "lists no queue");
        }
        for (i, q) in self.queues.iter().enumerate() {
            if q.name.trim().is_empty() {
                p.push(format!("queues[{i}].name"), "must not be empty");
            } else if queue_ids.contains_key(q.name.as_str()) {
                let first = self.queues.iter().position(|x| x.name == q.name).unwrap_or(0);
                p.push(
                    format!("queues[{i}].name"),
                    format!("duplicate queue name \"{}\" (also queues[{first}])", q.name),
                );
            } else {
                queue_ids.insert(&q.name, ids::queue(i));
            }
        }
        let queue_ref = |p: &mut Problems, path: String, name: &str| -> Option<QueueId> {
            let id = queue_ids.get(name).copied();
            if id.is_none() {
                p.push(path, format!("unknown queue \"{name}\""));
            }
            id
        };

        // queues
        let mut queues = Vec::new();
        for (i, q) in self.queues.iter().enumerate() {
            let mut cfg = QueueConfig::new(ids::queue(i), q.name.clone());
            cfg.strategy = q.strategy;
            for (name, min) in &q.skills {
                if let Some((skill, min)) = skill(&mut p, format!("queues[{i}].skills.{name}"), name, *min) {
                    cfg.skills.push(SkillRequirement { skill, min });
                }
            }
            for (k, step) in q.overflow.iter().enumerate() {
                let path = format!("queues[{i}].overflow[{k}]");
                let after_secs = match u32::try_from(step.after_secs) {
                    Ok(v) => v,
                    Err(_) => {
                        p.push(
                            format!("{path}.after_secs"),
                            format!("must be between 0 and {}, got {}", u32::MAX, step.after_secs),
                        );
                        0
                    }
                };
                let action = match &step.action {
                    ActionSpec::Widen { queues: targets } => {
                        if targets.is_empty() {
                            p.push(format!("{path}.action.queues"), "lists no queue");
                        }
                        let mut ids = Vec::new();
                        for (t, name) in targets.iter().enumerate() {
                            if let Some(id) = queue_ref(&mut p, format!("{path}.action.queues[{t}]"), name) {
                                if id == cfg.id {
                                    p.push(format!("{path}.action.queues[{t}]"), "a queue cannot widen to itself");
                                }
                                ids.push(id);
                            }
                        }
                        Some(OverflowAction::Widen { queues: ids })
                    }
                    ActionSpec::Queue { queue } => queue_ref(&mut p, format!("{path}.action.queue"), queue)
                        .map(|queue| OverflowAction::Queue { queue }),
                    ActionSpec::Ivr { node } => Some(OverflowAction::Ivr { node: node.clone() }),
                    ActionSpec::External { number } => Some(OverflowAction::External { number: number.clone() }),
                    ActionSpec::Voicemail => Some(OverflowAction::Voicemail),
                    ActionSpec::Callback => Some(OverflowAction::Callback),
                };
                // a step with an unknown target is reported above and left out, so the
                // router's checks below do not report it a second time
                if let Some(action) = action {
                    cfg.overflow.push(OverflowStep { after_secs, when: step.when.clone(), action });
                }
            }
            queues.push(cfg);
        }

        // agents
        let mut agents = Vec::new();
        let mut total: u64 = 0;
        if self.agent_groups.is_empty() {
            p.push("agent_groups", "lists no agent group");
        }
        for (g, group) in self.agent_groups.iter().enumerate() {
            let path = format!("agent_groups[{g}]");
            if group.name.trim().is_empty() {
                p.push(format!("{path}.name"), "must not be empty");
            }
            let count = match u64::try_from(group.count) {
                Ok(c) => c,
                Err(_) => {
                    p.push(format!("{path}.count"), format!("must not be negative, got {}", group.count));
                    0
                }
            };
            total = total.saturating_add(count);
            let mut held = Vec::new();
            for (name, level) in &group.skills {
                if let Some(s) = skill(&mut p, format!("{path}.skills.{name}"), name, *level) {
                    held.push(s);
                }
            }
            let (start, end) = match &group.shift {
                None => (0.0, hours),
                Some(s) => {
                    p.non_negative(format!("{path}.shift.start"), s.start);
                    p.non_negative(format!("{path}.shift.end"), s.end);
                    if s.start.is_finite() && s.end.is_finite() && s.end <= s.start {
                        p.push(format!("{path}.shift"), format!("must end after it starts, got {}–{}", s.start, s.end));
                    }
                    if s.end > MAX_HOURS {
                        p.push(format!("{path}.shift.end"), format!("must be at most {MAX_HOURS}, got {}", s.end));
                    }
                    (s.start, s.end)
                }
            };
            if total <= MAX_AGENTS {
                for _ in 0..count {
                    agents.push(AgentPlan {
                        id: ids::agent(agents.len()),
                        group: group.name.clone(),
                        skills: held.clone(),
                        shift_start_ms: hours_ms(start),
                        shift_end_ms: hours_ms(end),
                    });
                }
            }
        }
        if total > MAX_AGENTS {
            p.push("agent_groups", format!("{total} agents in all; at most {MAX_AGENTS}"));
        }

        // call types
        let mut call_types = Vec::new();
        if self.call_types.is_empty() {
            p.push("call_types", "lists no call type");
        }
        let hours_needed = hours_count(hours);
        for (c, ct) in self.call_types.iter().enumerate() {
            let path = format!("call_types[{c}]");
            if ct.name.trim().is_empty() {
                p.push(format!("{path}.name"), "must not be empty");
            }
            let queue = queue_ref(&mut p, format!("{path}.queue"), &ct.queue);
            let priority = match u8::try_from(ct.priority) {
                Ok(v) if v <= Priority::MAX => Priority(v),
                _ => {
                    p.push(
                        format!("{path}.priority"),
                        format!("must be between 0 and {}, got {}", Priority::MAX, ct.priority),
                    );
                    Priority::NORMAL
                }
            };
            let rates = match &ct.calls_per_hour {
                Rate::Constant(r) => {
                    p.non_negative(format!("{path}.calls_per_hour"), *r);
                    vec![*r; hours_needed]
                }
                Rate::Profile(list) => {
                    if list.len() != hours_needed {
                        p.push(
                            format!("{path}.calls_per_hour"),
                            format!(
                                "has {} values; the day has {hours_needed} hour(s): give one per hour, or one number",
                                list.len()
                            ),
                        );
                    }
                    for (h, r) in list.iter().enumerate() {
                        p.non_negative(format!("{path}.calls_per_hour[{h}]"), *r);
                    }
                    list.clone()
                }
            };
            match ct.handle_time {
                HandleTime::Exponential { mean_secs } => p.positive(format!("{path}.handle_time.mean_secs"), mean_secs),
                HandleTime::Lognormal { mean_secs, sd_secs } => {
                    p.positive(format!("{path}.handle_time.mean_secs"), mean_secs);
                    p.non_negative(format!("{path}.handle_time.sd_secs"), sd_secs);
                }
            }
            if let Patience::Exponential { mean_secs } = ct.patience {
                p.positive(format!("{path}.patience.mean_secs"), mean_secs);
            }
            if let Some(queue) = queue {
                call_types.push(CallType {
                    name: ct.name.clone(),
                    queue,
                    priority,
                    calls_per_hour: rates,
                    handle_time: ct.handle_time,
                    patience: ct.patience,
                });
            }
        }

        let center = Center {
            name: self.name.unwrap_or_else(|| "scenario".into()),
            hours,
            ring_delay_ms: secs_ms(self.ring_delay_secs),
            settings: self.settings,
            skills,
            queues,
            agents,
            call_types,
        };
        // the router's checks: timers, duplicate skills, overflow cycles, …
        if let Err(ScenarioError::Invalid(router)) = center.check_router() {
            p.0.extend(router);
        }
        if p.0.is_empty() { Ok(center) } else { Err(ScenarioError::Invalid(p.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
hours: 2
skills: [a]
queues:
  - name: q
    skills: { a: 3 }
agent_groups:
  - { name: g, count: 2, skills: { a: 5 } }
call_types:
  - name: c
    queue: q
    calls_per_hour: [10, 20]
    handle_time: { dist: exponential, mean_secs: 100 }
";

    fn problems(yaml: &str) -> Vec<String> {
        match Center::from_yaml(yaml) {
            Err(ScenarioError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_scenario_loads() {
        let c = Center::from_yaml(MINIMAL).unwrap();
        assert_eq!(c.queues.len(), 1);
        assert_eq!(c.agents.len(), 2);
        assert_eq!(c.agents[1].shift_end_ms, 2 * 3_600_000);
        assert_eq!(c.call_types[0].calls_per_hour, vec![10.0, 20.0]);
        assert_eq!(c.call_types[0].patience, Patience::None);
        assert_eq!(c.settings, AcdSettings::default());
    }

    #[test]
    fn structural_errors_name_the_field() {
        let err = Center::from_yaml(&MINIMAL.replace("count: 2", "count: 2, colour: red")).unwrap_err();
        assert!(matches!(err, ScenarioError::Parse(_)));
        let msg = err.to_string();
        assert!(msg.contains("agent_groups[0]") && msg.contains("colour"), "{msg}");
        let msg = Center::from_yaml(&MINIMAL.replace("name: q\n", "name: q\n    strategy: fastest\n"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("queues[0].strategy") && msg.contains("fastest"), "{msg}");
    }

    #[test]
    fn single_queue_flags_are_checked() {
        let q = SingleQueue {
            agents: 3,
            calls_per_hour: -1.0,
            aht_secs: 0.0,
            patience_secs: Some(f64::NAN),
            hours: 8.0,
            acw_secs: 0.0,
            ring_delay_secs: 0.0,
        };
        let Err(ScenarioError::Invalid(p)) = Center::single_queue(&q) else { panic!("accepted") };
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["--calls-per-hour", "--aht-secs", "--patience-secs"]);
    }

    #[test]
    fn every_semantic_problem_is_reported_at_once() {
        let p = problems(
            "
hours: 2
settings: { acw_ms: -5 }
skills: [a, a]
queues:
  - name: vip
    skills: { b: 3, a: 11 }
    overflow:
      - { after_secs: -1, action: { kind: queue, queue: vip2 } }
      - { action: { kind: widen, queues: [vip] } }
  - name: vip
agent_groups:
  - { name: g, count: -2, shift: { start: 9, end: 8 } }
call_types:
  - name: c
    queue: nowhere
    priority: 12
    calls_per_hour: [10]
    handle_time: { dist: lognormal, mean_secs: 0, sd_secs: -1 }
    patience: { dist: exponential, mean_secs: -3 }
",
        );
        let expected = [
            "skills[1]: duplicate skill \"a\"",
            "queues[1].name: duplicate queue name \"vip\" (also queues[0])",
            "queues[0].skills.a: proficiency must be between 1 and 10, got 11",
            "queues[0].skills.b: unknown skill \"b\"",
            "queues[0].overflow[0].after_secs: must be between 0 and 4294967295, got -1",
            "queues[0].overflow[0].action.queue: unknown queue \"vip2\"",
            "queues[0].overflow[1].action.queues[0]: a queue cannot widen to itself",
            "agent_groups[0].count: must not be negative, got -2",
            "agent_groups[0].shift: must end after it starts, got 9–8",
            "call_types[0].queue: unknown queue \"nowhere\"",
            "call_types[0].priority: must be between 0 and 9, got 12",
            "call_types[0].calls_per_hour: has 1 values; the day has 2 hour(s): give one per hour, or one number",
            "call_types[0].handle_time.mean_secs: must be greater than 0, got 0",
            "call_types[0].handle_time.sd_secs: must not be negative, got -1",
            "call_types[0].patience.mean_secs: must be greater than 0, got -3",
            "settings.acw_ms: must be at least 0, got -5",
        ];
        for e in expected {
            assert!(p.iter().any(|x| x == e), "missing {e:?} in {p:#?}");
        }
    }

    #[test]
    fn overflow_cycles_are_refused() {
        let p = problems(
            "
hours: 1
queues:
  - { name: a, overflow: [ { after_secs: 30, action: { kind: queue, queue: b } } ] }
  - { name: b, overflow: [ { after_secs: 30, action: { kind: queue, queue: c } } ] }
  - { name: c, overflow: [ { after_secs: 30, action: { kind: queue, queue: a } } ] }
agent_groups: [ { name: g, count: 1 } ]
call_types: [ { name: x, queue: a, calls_per_hour: 1, handle_time: { dist: exponential, mean_secs: 60 } } ]
",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("queues[0].overflow: overflow targets form a cycle: a → b → c → a"), "{p:?}");
    }
}
