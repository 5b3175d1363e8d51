//! Escalation rules as data (TK-3): which open work orders move up a tier or to a role, and
//! when. Pure: the server turns the due times into timer rows.

use super::calendar::BusinessCalendar;
use super::ticket::{Priority, TicketStatus, TicketType};
use crate::{Role, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

const MIN_MS: i64 = 60_000;
/// The longest delay a rule may name, in minutes (30 days).
pub const MAX_AFTER_MINS: u32 = 30 * 24 * 60;
/// The longest rule name, in characters.
pub const RULE_NAME_MAX_CHARS: usize = 64;

/// The highest support tier (the top tier of TK-3).
pub const fn top_tier() -> u8 {
    3
}

/// Where an escalation sends a work order: up to a support tier, or to a role's attention.
/// Serde: `{ tier: 2 }` or `{ role: supervisor }`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "TargetRepr", into = "TargetRepr")]
pub enum EscalationTarget {
    /// Support tier 1 (front line) to [`top_tier`].
    Tier(u8),
    /// A role (e.g. a supervisor for complaints).
    Role(Role),
}

/// The map form of a target, the same in YAML and JSON (serde's enum form is a YAML tag).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
}

impl TryFrom<TargetRepr> for EscalationTarget {
    type Error = &'static str;

    fn try_from(r: TargetRepr) -> Result<Self, Self::Error> {
        match (r.tier, r.role) {
            (Some(t), None) => Ok(EscalationTarget::Tier(t)),
            (None, Some(role)) => Ok(EscalationTarget::Role(role)),
            _ => Err("an escalation target is either { tier: N } or { role: NAME }"),
        }
    }
}

impl From<EscalationTarget> for TargetRepr {
    fn from(t: EscalationTarget) -> Self {
        match t {
            EscalationTarget::Tier(n) => TargetRepr { tier: Some(n), role: None },
            EscalationTarget::Role(r) => TargetRepr { tier: None, role: Some(r) },
        }
    }
}

impl fmt::Display for EscalationTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscalationTarget::Tier(n) => write!(f, "tier {n}"),
            EscalationTarget::Role(r) => write!(f, "{r}"),
        }
    }
}

/// Which orders a rule applies to; every field that is set must hold. The empty condition
/// matches every open (unresolved) order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleCondition {
    /// Only orders of this type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<TicketType>,
    /// Only orders currently at this tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    /// Only orders whose amount (yuan) is strictly greater.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_over: Option<i64>,
    /// Only orders with (true) or without (false) media exposure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_exposure: Option<bool>,
    /// Only orders of this priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Only orders not yet resolved (default true).
    pub unresolved: bool,
}

impl Default for RuleCondition {
    fn default() -> Self {
        RuleCondition {
            ticket_type: None,
            tier: None,
            amount_over: None,
            media_exposure: None,
            priority: None,
            unresolved: true,
        }
    }
}

/// One escalation rule: when `when` holds, escalate to `to` `after_mins` after creation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    /// A unique name (recorded with each escalation).
    pub name: String,
    /// Which orders it applies to.
    #[serde(default)]
    pub when: RuleCondition,
    /// Minutes after creation; 0 escalates at once.
    #[serde(default)]
    pub after_mins: u32,
    /// Count the minutes on the center's business calendar (else on the wall clock).
    #[serde(default)]
    pub business_hours: bool,
    /// Where the order goes.
    pub to: EscalationTarget,
}

/// What the rules need to know about one work order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFacts {
    /// Its type.
    pub ticket_type: TicketType,
    /// Its priority.
    pub priority: Priority,
    /// Its current support tier (1 = front line).
    pub tier: u8,
    /// The amount at stake, in yuan, if any.
    pub amount: Option<i64>,
    /// Whether the media are involved (媒体曝光).
    pub media_exposure: bool,
    /// Its status.
    pub status: TicketStatus,
    /// When it was created.
    pub created_at: Timestamp,
    /// Targets already reached by earlier escalations.
    pub escalated: Vec<EscalationTarget>,
}

/// Whether `rule`'s condition holds for `facts`.
pub fn matches(rule: &EscalationRule, facts: &TicketFacts) -> bool {
    let c = &rule.when;
    c.ticket_type.is_none_or(|t| t == facts.ticket_type)
        && c.tier.is_none_or(|t| t == facts.tier)
        && c.amount_over.is_none_or(|over| facts.amount.is_some_and(|a| a > over))
        && c.media_exposure.is_none_or(|m| m == facts.media_exposure)
        && c.priority.is_none_or(|p| p == facts.priority)
        && (!c.unresolved || facts.status.is_open())
}

/// Whether the order has already reached `target`: a tier when it is at that tier or
/// higher or was escalated there; a role when it was escalated to it.
pub fn is_reached(target: EscalationTarget, facts: &TicketFacts) -> bool {
    match target {
        EscalationTarget::Tier(n) => facts.tier >= n || facts.escalated.contains(&target),
        EscalationTarget::Role(_) => facts.escalated.contains(&target),
    }
}

/// The escalations due for `facts`: `(rule index, due time)` for every rule that matches
/// and whose target is not reached yet, due `after_mins` after creation on the wall clock
/// or, for business-hours rules, on `cal` (the center's calendar; never-due rules left out).
/// Due times may be in the past: the caller escalates those at once.
pub fn due_escalations(
    rules: &[EscalationRule],
    facts: &TicketFacts,
    cal: &BusinessCalendar,
) -> Vec<(usize, Timestamp)> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| matches(rule, facts) && !is_reached(rule.to, facts))
        .filter_map(|(i, rule)| {
            let after = i64::from(rule.after_mins) * MIN_MS;
            let due = if rule.business_hours {
                cal.add(facts.created_at, after)
            } else {
                facts.created_at.plus_millis(after)
            };
            (due != Timestamp::from_millis(i64::MAX)).then_some((i, due))
        })
        .collect()
}

/// Every problem in a rule set at once: names unique, 1..=64 characters; tiers within
/// 1..=[`top_tier`]; a tier target above tier 1 and above the condition's tier; a role
/// target above agent; amounts not negative; delays at most 30 days.
pub fn validate_rules(rules: &[EscalationRule]) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let label =
            if rule.name.trim().is_empty() { format!("rule #{}", i + 1) } else { format!("rule `{}`", rule.name) };
        let mut problem = |m: String| problems.push(format!("{label}: {m}"));
        let chars = rule.name.chars().count();
        if rule.name.trim().is_empty() {
            problem("the name must not be empty".to_owned());
        } else if chars > RULE_NAME_MAX_CHARS {
            problem(format!("the name is {chars} characters; at most {RULE_NAME_MAX_CHARS} are allowed"));
        } else if rule.name.chars().any(char::is_control) {
            problem("the name must not contain control characters".to_owned());
        } else if !names.insert(rule.name.as_str()) {
            problem("another rule has the same name".to_owned());
        }
        if let Some(t) = rule.when.tier
            && !(1..=top_tier()).contains(&t)
        {
            problem(format!("when.tier must be between 1 and {}, got {t}", top_tier()));
        }
        if let Some(a) = rule.when.amount_over
            && a < 0
        {
            problem(format!("when.amount_over must not be negative, got {a}"));
        }
        if rule.after_mins > MAX_AFTER_MINS {
            problem(format!("after_mins must be at most {MAX_AFTER_MINS} (30 days), got {}", rule.after_mins));
        }
        match rule.to {
            EscalationTarget::Tier(n) if !(2..=top_tier()).contains(&n) => {
                problem(format!("to.tier must be between 2 and {}, got {n}", top_tier()));
            }
            EscalationTarget::Tier(n) => {
                if let Some(from) = rule.when.tier
                    && n <= from
                {
                    problem(format!("escalates from tier {from} to tier {n}, which is not higher"));
                }
            }
            EscalationTarget::Role(Role::Agent) => problem("to.role must be above agent".to_owned()),
            EscalationTarget::Role(_) => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// The center's default rules (TK-3): tier 1 unresolved for 30 minutes goes to tier 2; a
/// complaint reaches a supervisor within 30 minutes; an amount over 5000 yuan or media
/// exposure goes to the top tier at once. All on the wall clock.
pub fn default_rules() -> Vec<EscalationRule> {
    let rule = |name: &str, when: RuleCondition, after_mins: u32, to: EscalationTarget| EscalationRule {
        name: name.to_owned(),
        when,
        after_mins,
        business_hours: false,
        to,
    };
    vec![
        rule(
            "tier1_unresolved_30min",
            RuleCondition { tier: Some(1), ..RuleCondition::default() },
            30,
            EscalationTarget::Tier(2),
        ),
        rule(
            "complaint_to_supervisor",
            RuleCondition { ticket_type: Some(TicketType::Complaint), ..RuleCondition::default() },
            30,
            EscalationTarget::Role(Role::Supervisor),
        ),
        rule(
            "amount_over_5000",
            RuleCondition { amount_over: Some(5_000), ..RuleCondition::default() },
            0,
            EscalationTarget::Tier(top_tier()),
        ),
        rule(
            "media_exposure",
            RuleCondition { media_exposure: Some(true), ..RuleCondition::default() },
            0,
            EscalationTarget::Tier(top_tier()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn t0() -> Timestamp {
        Timestamp::from_millis(1_795_397_400_000) // Monday 2026-11-23 09:30 in China
    }

    fn facts() -> TicketFacts {
        TicketFacts {
            ticket_type: TicketType::Consultation,
            priority: Priority::P4,
            tier: 1,
            amount: None,
            media_exposure: false,
            status: TicketStatus::InProgress,
            created_at: t0(),
            escalated: Vec::new(),
        }
    }

    /// The names and due times of the default rules that are due for `f`.
    fn due_defaults(f: &TicketFacts) -> Vec<(String, Timestamp)> {
        let rules = default_rules();
        due_escalations(&rules, f, &BusinessCalendar::office(480))
            .into_iter()
            .map(|(i, t)| (rules[i].name.clone(), t))
            .collect()
    }

    fn named(name: &str, t: Timestamp) -> (String, Timestamp) {
        (name.to_owned(), t)
    }

    #[test]
    fn the_default_rules_are_valid_and_as_required() {
        let rules = default_rules();
        assert_eq!(validate_rules(&rules), Ok(()));
        assert_eq!(rules.len(), 4);
        assert!(rules.iter().all(|r| !r.business_hours && r.when.unresolved));
        assert_eq!(top_tier(), 3);
    }

    #[test]
    fn tier_one_goes_to_tier_two_after_thirty_minutes() {
        let f = facts();
        assert_eq!(due_defaults(&f), [named("tier1_unresolved_30min", t0().plus_millis(30 * MIN))]);
        // Not once at tier 2, escalated there, or resolved.
        assert!(due_defaults(&TicketFacts { tier: 2, ..facts() }).is_empty());
        assert!(due_defaults(&TicketFacts { escalated: vec![EscalationTarget::Tier(2)], ..facts() }).is_empty());
        for status in [TicketStatus::Resolved, TicketStatus::Callback, TicketStatus::Closed] {
            assert!(due_defaults(&TicketFacts { status, ..facts() }).is_empty(), "{status}");
        }
        // Still due while pending: escalation is not an SLA clock.
        assert_eq!(due_defaults(&TicketFacts { status: TicketStatus::Pending, ..facts() }).len(), 1);
    }

    #[test]
    fn a_complaint_reaches_a_supervisor_within_thirty_minutes() {
        let complaint = TicketFacts { ticket_type: TicketType::Complaint, tier: 2, ..facts() };
        assert_eq!(due_defaults(&complaint), [named("complaint_to_supervisor", t0().plus_millis(30 * MIN))]);
        let reached = TicketFacts { escalated: vec![EscalationTarget::Role(Role::Supervisor)], ..complaint.clone() };
        assert!(due_defaults(&reached).is_empty());
        // Other types do not go to a supervisor.
        for ticket_type in [TicketType::Consultation, TicketType::Suggestion, TicketType::Emergency] {
            assert!(due_defaults(&TicketFacts { ticket_type, ..complaint.clone() }).is_empty(), "{ticket_type}");
        }
    }

    #[test]
    fn large_amounts_go_to_the_top_tier_at_once() {
        let at_tier_2 = TicketFacts { tier: 2, ..facts() };
        assert!(
            due_defaults(&TicketFacts { amount: Some(5_000), ..at_tier_2.clone() }).is_empty(),
            "5000 is not over 5000"
        );
        assert!(due_defaults(&TicketFacts { amount: None, ..at_tier_2.clone() }).is_empty());
        assert_eq!(
            due_defaults(&TicketFacts { amount: Some(5_001), ..at_tier_2.clone() }),
            [named("amount_over_5000", t0())]
        );
        assert!(due_defaults(&TicketFacts { amount: Some(9_000), tier: 3, ..facts() }).is_empty());
        let escalated = TicketFacts { amount: Some(9_000), escalated: vec![EscalationTarget::Tier(3)], ..at_tier_2 };
        assert!(due_defaults(&escalated).is_empty());
    }

    #[test]
    fn media_exposure_goes_to_the_top_tier_at_once() {
        let f = TicketFacts { media_exposure: true, tier: 2, ..facts() };
        assert_eq!(due_defaults(&f), [named("media_exposure", t0())]);
        assert!(due_defaults(&TicketFacts { tier: 3, ..f.clone() }).is_empty());
        assert!(due_defaults(&TicketFacts { status: TicketStatus::Closed, ..f }).is_empty());
    }

    #[test]
    fn several_rules_can_be_due_together() {
        let f =
            TicketFacts { ticket_type: TicketType::Complaint, amount: Some(20_000), media_exposure: true, ..facts() };
        assert_eq!(
            due_defaults(&f),
            [
                named("tier1_unresolved_30min", t0().plus_millis(30 * MIN)),
                named("complaint_to_supervisor", t0().plus_millis(30 * MIN)),
                named("amount_over_5000", t0()),
                named("media_exposure", t0()),
            ]
        );
    }

    #[test]
    fn business_hours_rules_count_open_time() {
        let rule = EscalationRule {
            name: "p1_to_tier_2".to_owned(),
            when: RuleCondition { priority: Some(Priority::P1), ..RuleCondition::default() },
            after_mins: 60,
            business_hours: true,
            to: EscalationTarget::Tier(2),
        };
        // Friday 17:30 in China; due Monday 09:30.
        let friday = Timestamp::from_millis(1_795_397_400_000 + 4 * 86_400_000 + 8 * 3_600_000);
        let f = TicketFacts { priority: Priority::P1, created_at: friday, ..facts() };
        let monday = friday.plus_millis(2 * 86_400_000 + 16 * 3_600_000);
        assert_eq!(due_escalations(std::slice::from_ref(&rule), &f, &BusinessCalendar::office(480)), [(0, monday)]);
        assert!(
            due_escalations(
                std::slice::from_ref(&rule),
                &TicketFacts { priority: Priority::P2, ..f.clone() },
                &BusinessCalendar::office(480)
            )
            .is_empty()
        );
        // A calendar with no hours never escalates.
        let mut closed = BusinessCalendar::office(480);
        closed.week = Default::default();
        assert!(due_escalations(&[rule], &f, &closed).is_empty());
    }

    #[test]
    fn the_empty_condition_matches_every_open_order() {
        let rule = EscalationRule {
            name: "all".to_owned(),
            when: RuleCondition::default(),
            after_mins: 0,
            business_hours: false,
            to: EscalationTarget::Role(Role::TeamLead),
        };
        for status in TicketStatus::ALL {
            assert_eq!(matches(&rule, &TicketFacts { status: *status, ..facts() }), status.is_open(), "{status}");
        }
        let any = EscalationRule { when: RuleCondition { unresolved: false, ..RuleCondition::default() }, ..rule };
        assert!(matches(&any, &TicketFacts { status: TicketStatus::Closed, ..facts() }));
        let no_media =
            EscalationRule { when: RuleCondition { media_exposure: Some(false), ..RuleCondition::default() }, ..any };
        assert!(matches(&no_media, &facts()));
        assert!(!matches(&no_media, &TicketFacts { media_exposure: true, ..facts() }));
    }

    #[test]
    fn rules_read_well_as_yaml_and_json() {
        let yaml = "- name: complaint_to_supervisor\n  when: { ticket_type: complaint }\n  after_mins: 30\n  to: { role: supervisor }\n- name: big\n  when: { amount_over: 5000, unresolved: false }\n  to: { tier: 3 }\n";
        let rules: Vec<EscalationRule> = serde_norway::from_str(yaml).unwrap();
        assert_eq!(rules[0].to, EscalationTarget::Role(Role::Supervisor));
        assert_eq!(
            rules[0].when,
            RuleCondition { ticket_type: Some(TicketType::Complaint), ..RuleCondition::default() }
        );
        assert!(rules[0].when.unresolved, "unresolved defaults to true");
        assert_eq!(rules[1].to, EscalationTarget::Tier(3));
        assert_eq!(rules[1].after_mins, 0);
        assert!(!rules[1].when.unresolved);
        assert_eq!(serde_json::to_value(EscalationTarget::Tier(2)).unwrap(), serde_json::json!({ "tier": 2 }));
        assert_eq!(
            serde_json::to_value(EscalationTarget::Role(Role::Supervisor)).unwrap(),
            serde_json::json!({ "role": "supervisor" })
        );
        assert_eq!(serde_json::to_value(RuleCondition::default()).unwrap(), serde_json::json!({ "unresolved": true }));
        let defaults = default_rules();
        let back: Vec<EscalationRule> = serde_json::from_str(&serde_json::to_string(&defaults).unwrap()).unwrap();
        assert_eq!(back, defaults);
        assert!(serde_json::from_str::<RuleCondition>(r#"{"tiers": 1}"#).is_err());
        assert!(serde_json::from_str::<EscalationTarget>(r#"{"team": 1}"#).is_err());
        let both = serde_json::from_str::<EscalationTarget>(r#"{"tier": 2, "role": "admin"}"#).unwrap_err().to_string();
        assert!(both.contains("either { tier: N } or { role: NAME }"), "{both}");
        assert!(serde_norway::to_string(&default_rules()).unwrap().contains("to:\n    tier: 2"));
        assert_eq!(EscalationTarget::Tier(2).to_string(), "tier 2");
        assert_eq!(EscalationTarget::Role(Role::Supervisor).to_string(), "supervisor");
    }

    #[test]
    fn bad_rules_are_reported_all_at_once() {
        let ok = default_rules().remove(0);
        let bad = vec![
            ok.clone(),
            ok.clone(),
            EscalationRule { name: String::new(), ..ok.clone() },
            EscalationRule { name: "x".repeat(65), ..ok.clone() },
            EscalationRule {
                name: "tier0".into(),
                when: RuleCondition { tier: Some(0), ..RuleCondition::default() },
                to: EscalationTarget::Tier(4),
                ..ok.clone()
            },
            EscalationRule {
                name: "down".into(),
                when: RuleCondition { tier: Some(2), ..RuleCondition::default() },
                to: EscalationTarget::Tier(2),
                ..ok.clone()
            },
            EscalationRule { name: "agent".into(), to: EscalationTarget::Role(Role::Agent), ..ok.clone() },
            EscalationRule {
                name: "neg".into(),
                when: RuleCondition { amount_over: Some(-1), ..RuleCondition::default() },
                ..ok.clone()
            },
            EscalationRule { name: "slow".into(), after_mins: MAX_AFTER_MINS + 1, ..ok.clone() },
            EscalationRule { name: "one".into(), when: RuleCondition::default(), to: EscalationTarget::Tier(1), ..ok },
        ];
        let problems = validate_rules(&bad).unwrap_err();
        let expected = [
            "rule `tier1_unresolved_30min`: another rule has the same name",
            "rule #3: the name must not be empty",
            "is 65 characters; at most 64 are allowed",
            "rule `tier0`: when.tier must be between 1 and 3, got 0",
            "rule `tier0`: to.tier must be between 2 and 3, got 4",
            "rule `down`: escalates from tier 2 to tier 2, which is not higher",
            "rule `agent`: to.role must be above agent",
            "rule `neg`: when.amount_over must not be negative, got -1",
            "rule `slow`: after_mins must be at most 43200 (30 days), got 43201",
            "rule `one`: to.tier must be between 2 and 3, got 1",
        ];
        for e in expected {
            assert!(problems.iter().any(|p| p.contains(e)), "missing {e:?} in {problems:#?}");
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }
}
