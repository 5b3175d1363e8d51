//! Checking the router's configuration before it runs: every problem is reported with the
//! path of the offending field (`queues[1].overflow[0].action.queue`), all at once.

use super::types::{AcdSettings, OverflowAction, QueueConfig};
use crate::ids::QueueId;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One problem with the ACD configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where, as a field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(out: &mut Vec<ConfigError>, field: impl Into<String>, message: impl Into<String>) {
    out.push(ConfigError { field: field.into(), message: message.into() });
}

/// Every problem with `settings` and `queues`; empty when they are sound.
pub fn validate(settings: &AcdSettings, queues: &[QueueConfig]) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let s = settings;
    for (name, v, min) in [
        ("settings.ring_timeout_ms", s.ring_timeout_ms, 1),
        ("settings.acw_ms", s.acw_ms, 0),
        ("settings.priority_aging_ms", s.priority_aging_ms, 1),
        ("settings.announce_every_ms", s.announce_every_ms, 0),
        ("settings.default_aht_ms", s.default_aht_ms, 1),
        ("settings.short_abandon_ms", s.short_abandon_ms, 0),
    ] {
        if v < min {
            err(&mut out, name, format!("must be at least {min}, got {v}"));
        }
    }
    if !(s.aht_smoothing > 0.0 && s.aht_smoothing <= 1.0) {
        err(&mut out, "settings.aht_smoothing", format!("must be in (0, 1], got {}", s.aht_smoothing));
    }

    let mut index: HashMap<QueueId, usize> = HashMap::new();
    for (i, q) in queues.iter().enumerate() {
        if let Some(first) = index.insert(q.id, i) {
            err(&mut out, format!("queues[{i}].id"), format!("duplicate queue id {} (also queues[{first}])", q.id));
        }
    }
    for (i, q) in queues.iter().enumerate() {
        if q.sl_threshold_ms < 0 {
            err(
                &mut out,
                format!("queues[{i}].sl_threshold_ms"),
                format!("must not be negative, got {}", q.sl_threshold_ms),
            );
        }
        let mut seen = HashSet::new();
        for (k, r) in q.skills.iter().enumerate() {
            if !seen.insert(r.skill) {
                err(&mut out, format!("queues[{i}].skills[{k}]"), format!("skill {} is listed twice", r.skill));
            }
        }
        for (k, step) in q.overflow.iter().enumerate() {
            let path = format!("queues[{i}].overflow[{k}].action");
            match &step.action {
                OverflowAction::Queue { queue } => {
                    if !index.contains_key(queue) {
                        err(&mut out, format!("{path}.queue"), format!("unknown queue {queue}"));
                    } else if *queue == q.id {
                        err(&mut out, format!("{path}.queue"), "a queue cannot overflow into itself");
                    }
                }
                OverflowAction::Widen { queues: targets } => {
                    if targets.is_empty() {
                        err(&mut out, format!("{path}.queues"), "lists no queue");
                    }
                    for (t, target) in targets.iter().enumerate() {
                        if !index.contains_key(target) {
                            err(&mut out, format!("{path}.queues[{t}]"), format!("unknown queue {target}"));
                        }
                    }
                }
                OverflowAction::External { number } if number.trim().is_empty() => {
                    err(&mut out, format!("{path}.number"), "must not be empty");
                }
                OverflowAction::Ivr { node } if node.trim().is_empty() => {
                    err(&mut out, format!("{path}.node"), "must not be empty");
                }
                _ => {}
            }
        }
    }
    if let Some(cycle) = find_move_cycle(queues, &index) {
        let names: Vec<&str> = cycle.iter().map(|&i| queues[i].name.as_str()).collect();
        err(
            &mut out,
            format!("queues[{}].overflow", cycle[0]),
            format!("overflow targets form a cycle: {}", names.join(" → ")),
        );
    }
    out
}

/// A cycle in the "moves calls to" graph (queue → queue overflow actions), as queue indexes
/// with the first repeated at the end.
fn find_move_cycle(queues: &[QueueConfig], index: &HashMap<QueueId, usize>) -> Option<Vec<usize>> {
    let edges: Vec<Vec<usize>> = queues
        .iter()
        .map(|q| {
            q.overflow
                .iter()
                .filter_map(|s| match &s.action {
                    OverflowAction::Queue { queue } => index.get(queue).copied().filter(|&t| queues[t].id != q.id),
                    _ => None,
                })
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done
    let mut mark = vec![0u8; queues.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(n: usize, edges: &[Vec<usize>], mark: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        mark[n] = 1;
        path.push(n);
        for &m in &edges[n] {
            if mark[m] == 1 {
                let start = path.iter().position(|&p| p == m).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(m);
                return Some(cycle);
            }
            if mark[m] == 0
                && let Some(c) = visit(m, edges, mark, path)
            {
                return Some(c);
            }
        }
        path.pop();
        mark[n] = 2;
        None
    }
    (0..queues.len()).find_map(|n| if mark[n] == 0 { visit(n, &edges, &mut mark, &mut path) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::types::{OverflowStep, OverflowWhen, SkillRequirement};
    use crate::ids::SkillId;
    use crate::org::Proficiency;

    fn q(n: u128) -> QueueConfig {
        QueueConfig::new(QueueId::from_uuid(uuid::Uuid::from_u128(n)), format!("q{n}"))
    }

    fn move_to(n: u128) -> OverflowStep {
        OverflowStep {
            after_secs: 30,
            when: OverflowWhen::Always,
            action: OverflowAction::Queue { queue: QueueId::from_uuid(uuid::Uuid::from_u128(n)) },
        }
    }

    #[test]
    fn sound_config_has_no_problems() {
        let mut a = q(1);
        a.overflow.push(move_to(2));
        assert!(validate(&AcdSettings::default(), &[a, q(2)]).is_empty());
    }

    #[test]
    fn every_problem_is_named_by_field() {
        let settings = AcdSettings { ring_timeout_ms: -1, aht_smoothing: 0.0, ..AcdSettings::default() };
        let mut a = q(1);
        a.sl_threshold_ms = -5;
        let skill = SkillId::from_uuid(uuid::Uuid::from_u128(9));
        let min = Proficiency::new(3).unwrap();
        a.skills = vec![SkillRequirement { skill, min }, SkillRequirement { skill, min }];
        a.overflow.push(move_to(77));
        a.overflow.push(move_to(1));
        a.overflow.push(OverflowStep {
            after_secs: 0,
            when: OverflowWhen::Always,
            action: OverflowAction::Widen { queues: vec![] },
        });
        a.overflow.push(OverflowStep {
            after_secs: 0,
            when: OverflowWhen::Always,
            action: OverflowAction::External { number: " ".into() },
        });
        let problems: Vec<String> = validate(&settings, &[a, q(1)]).iter().map(ToString::to_string).collect();
        let expect = [
            "settings.ring_timeout_ms: must be at least 1, got -1",
            "settings.aht_smoothing: must be in (0, 1], got 0",
            "queues[1].id: duplicate queue id",
            "queues[0].sl_threshold_ms: must not be negative, got -5",
            "queues[0].skills[1]: skill",
            "queues[0].overflow[0].action.queue: unknown queue",
            "queues[0].overflow[1].action.queue: a queue cannot overflow into itself",
            "queues[0].overflow[2].action.queues: lists no queue",
            "queues[0].overflow[3].action.number: must not be empty",
        ];
        for e in expect {
            assert!(problems.iter().any(|p| p.starts_with(e)), "missing `{e}` in {problems:#?}");
        }
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    }

    #[test]
    fn cycles_of_overflow_targets_are_found() {
        let (mut a, mut b, mut c) = (q(1), q(2), q(3));
        a.overflow.push(move_to(2));
        b.overflow.push(move_to(3));
        c.overflow.push(move_to(1));
        let problems = validate(&AcdSettings::default(), &[a.clone(), b.clone(), c]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("q1 → q2 → q3 → q1"), "{}", problems[0]);
        // a chain without a way back is fine
        assert!(validate(&AcdSettings::default(), &[a, b, q(3)]).is_empty());
    }
}
