//! The demo tenant: ten agents, two team leads, a supervisor and an administrator, four
//! skill groups (complaints, product questions, after-sales, VIP), SIP credentials for the
//! agents' phones (extensions 1001–1010, the demo password), a trunk `local` for a SIP
//! test tool on 127.0.0.1:5080 and the IVR flow `hotline` for calls to 4000. Seeding is
//! idempotent: running the demo again keeps the data and resets the demo passwords and the
//! `local` trunk; the hotline is created only when there is no flow of that name.

use crate::auth::{password, sip};
use crate::clock::Clock;
use kefu_core::acd::{OverflowAction, OverflowStep, OverflowWhen};
use kefu_core::ivr::Flow;
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::{Role, SkillId, TeamId, Timestamp};
use kefu_store::{
    NewQueue, NewSkill, NewTeam, NewTrunk, NewUser, PageRequest, QueueSkill, Store, StoreError, TrunkPatch,
    TrunkTransport, UserPatch, UserSkill,
};
use std::collections::BTreeMap;

/// The demo's accounts, in the order they are printed: (username, display name, role).
pub fn accounts() -> Vec<(String, String, Role)> {
    const AGENT_NAMES: [&str; 10] = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷"];
    let mut out: Vec<(String, String, Role)> = AGENT_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("{}", 1001 + i), (*name).to_owned(), Role::Agent))
        .collect();
    out.push(("lead1".into(), "班长 一组 (Team lead 1)".into(), Role::TeamLead));
    out.push(("lead2".into(), "班长 二组 (Team lead 2)".into(), Role::TeamLead));
    out.push(("super".into(), "值班主管 (Supervisor)".into(), Role::Supervisor));
    out.push(("admin".into(), "系统管理员 (Administrator)".into(), Role::Admin));
    out
}

/// (name, description) of the demo skills; each has a queue of the same name.
const SKILLS: [(&str, &str); 4] = [
    ("complaints", "投诉 Complaints"),
    ("product", "产品咨询 Product questions"),
    ("after_sales", "售后服务 After-sales service"),
    ("vip", "VIP 客户 VIP customers"),
];

/// The demo trunk's name.
pub const DEMO_TRUNK: &str = "local";

/// The demo trunk: a SIP tool (sipp, a softphone) on 127.0.0.1:5080 over UDP; every call it
/// sends rings extension 1001, and calls out through it show caller id 4000.
pub fn demo_trunk() -> NewTrunk {
    NewTrunk {
        name: DEMO_TRUNK.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 5080,
        transport: TrunkTransport::Udp,
        auth_username: None,
        auth_password: None,
        allow_from: vec!["127.0.0.1".to_owned()],
        inbound_routes: BTreeMap::from([
            (DEMO_FLOW_NUMBER.to_owned(), format!("ivr:{DEMO_FLOW}")),
            ("*".to_owned(), "1001".to_owned()),
        ]),
        caller_id: Some("4000".to_owned()),
        enabled: true,
    }
}

/// The demo IVR flow's name.
pub const DEMO_FLOW: &str = "hotline";

/// The number whose calls start the demo flow (the `local` trunk's caller id).
pub const DEMO_FLOW_NUMBER: &str = "4000";

/// The demo IVR flow as YAML: welcome, caller rules (VIPs, blocklist), opening hours, the main
/// menu to the skill-group queues, and the post-call survey.
pub const DEMO_FLOW_YAML: &str = include_str!("demo_hotline.yaml");

/// The demo IVR flow.
///
/// # Errors
///
/// Only if the embedded YAML is broken (a test keeps it whole).
pub fn demo_flow() -> anyhow::Result<Flow> {
    let flow = Flow::from_yaml(DEMO_FLOW_YAML)?;
    if let Err(problems) = flow.validate() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("the demo flow has problems: {}", list.join("; "));
    }
    Ok(flow)
}

/// Creates (or refreshes) the demo tenant with `password` for every demo account, and SIP
/// credentials in `sip_realm` (the setting) for every demo account with an extension.
pub async fn seed(store: &Store, clock: &Clock, demo_password: &str, sip_realm: &str) -> anyhow::Result<()> {
    let now = clock.now();
    let hash = password::hash_async(demo_password.to_owned()).await?;

    let mut teams: Vec<TeamId> = Vec::new();
    for name in ["一组 Team 1", "二组 Team 2"] {
        teams.push(find_or_create_team(store, name, now).await?);
    }
    let mut skills: Vec<SkillId> = Vec::new();
    for (name, desc) in SKILLS {
        skills.push(find_or_create_skill(store, name, desc, now).await?);
    }
    let existing_queues = store.list_queues(&PageRequest { limit: Some(500), cursor: None }).await?.items;
    // (name, description, skill index, minimum proficiency): the skill groups, plus the
    // hotline's general queue (anyone with product knowledge) and the harassment queue
    // (senior complaint handlers only).
    let queues = [
        ("complaints", SKILLS[0].1, 0, 1),
        ("product", SKILLS[1].1, 1, 1),
        ("after_sales", SKILLS[2].1, 2, 1),
        ("vip", SKILLS[3].1, 3, 7),
        ("general", "综合 General (hotline menu 0)", 1, 1),
        ("harassment", "骚扰电话 Harassing callers", 0, 7),
    ];
    for (name, desc, skill, min) in queues {
        if existing_queues.iter().any(|q| q.name == name) {
            continue;
        }
        let strategy = if name == "vip" { QueueStrategy::SkillWeighted } else { QueueStrategy::LongestIdle };
        // nobody waits for ever: after three minutes the caller may leave a voicemail
        let overflow = if name == "harassment" {
            vec![]
        } else {
            vec![OverflowStep { after_secs: 180, when: OverflowWhen::Always, action: OverflowAction::Voicemail }]
        };
        store
            .create_queue(
                &NewQueue {
                    name: name.to_owned(),
                    description: desc.to_owned(),
                    strategy,
                    targets: ServiceTargets::default(),
                    skills: vec![QueueSkill { skill_id: skills[skill], min_proficiency: Proficiency::new(min)? }],
                    overflow,
                },
                now,
            )
            .await?;
    }

    for (i, (username, display, role)) in accounts().into_iter().enumerate() {
        let is_agent = role == Role::Agent;
        // Agents: everyone does product questions; odd ones complaints, even ones after-sales,
        // the first three also VIP; proficiency varies so skill-weighted routing has choices.
        let agent_skills = if is_agent {
            let mut s = vec![UserSkill { skill_id: skills[1], proficiency: Proficiency::new(5 + (i % 5) as i64)? }];
            s.push(UserSkill {
                skill_id: if i % 2 == 0 { skills[0] } else { skills[2] },
                proficiency: Proficiency::new(3 + (i % 7) as i64)?,
            });
            if i < 3 {
                s.push(UserSkill { skill_id: skills[3], proficiency: Proficiency::new(9 - i as i64)? });
            }
            s
        } else {
            Vec::new()
        };
        let team = match role {
            Role::Agent => Some(teams[i % 2]),
            Role::TeamLead if username == "lead1" => Some(teams[0]),
            Role::TeamLead => Some(teams[1]),
            _ => None,
        };
        let extension = is_agent.then(|| username.clone());
        match store.user_by_username(&username).await {
            Ok(existing) => {
                // an administrator may have changed the extension: the phone logs in with that one
                let patch = UserPatch {
                    password_hash: Some(hash.clone()),
                    enabled: Some(true),
                    sip: sip::for_user(sip_realm, existing.extension.as_deref(), demo_password),
                    ..Default::default()
                };
                store.update_user(existing.id, &patch, now).await?;
            }
            Err(StoreError::NotFound { .. }) => {
                let new = NewUser {
                    username,
                    display_name: display,
                    role,
                    password_hash: hash.clone(),
                    team_id: team,
                    sip: sip::for_user(sip_realm, extension.as_deref(), demo_password),
                    extension,
                    skills: agent_skills,
                };
                store.create_user(&new, now).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    seed_trunk(store, now).await?;
    seed_flow(store, now).await?;
    crate::demo_service::seed(store, now).await
}

/// Creates the hotline flow unless a flow of that name exists (an administrator's edits stay).
async fn seed_flow(store: &Store, now: Timestamp) -> anyhow::Result<()> {
    if store.flow_by_name(DEMO_FLOW).await?.is_some() {
        return Ok(());
    }
    match store.save_flow(&demo_flow()?, &[DEMO_FLOW_NUMBER.to_owned()], now).await {
        Ok(_) => Ok(()),
        // another flow took the number: keep it, and say why the hotline is missing
        Err(StoreError::Conflict(why)) => {
            tracing::warn!(%why, "demo IVR flow `{DEMO_FLOW}` not created");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn seed_trunk(store: &Store, now: Timestamp) -> anyhow::Result<()> {
    let t = demo_trunk();
    match store.trunk_by_name(&t.name).await? {
        None => {
            store.create_trunk(&t, now).await?;
        }
        Some(existing) => {
            let patch = TrunkPatch {
                name: None,
                host: Some(t.host),
                port: Some(t.port),
                transport: Some(t.transport),
                auth_username: Some(t.auth_username),
                auth_password: Some(t.auth_password),
                allow_from: Some(t.allow_from),
                inbound_routes: Some(t.inbound_routes),
                caller_id: Some(t.caller_id),
                enabled: Some(t.enabled),
            };
            store.update_trunk(existing.id, &patch, now).await?;
        }
    }
    Ok(())
}

async fn find_or_create_team(store: &Store, name: &str, now: Timestamp) -> anyhow::Result<TeamId> {
    let all = store.list_teams(&PageRequest { limit: Some(500), cursor: None }).await?.items;
    if let Some(t) = all.iter().find(|t| t.name == name) {
        return Ok(t.id);
    }
    Ok(store.create_team(&NewTeam { name: name.to_owned() }, now).await?.id)
}

async fn find_or_create_skill(store: &Store, name: &str, desc: &str, now: Timestamp) -> anyhow::Result<SkillId> {
    let all = store.list_skills(&PageRequest { limit: Some(500), cursor: None }).await?.items;
    if let Some(s) = all.iter().find(|s| s.name == name) {
        return Ok(s.id);
    }
    Ok(store.create_skill(&NewSkill { name: name.to_owned(), description: desc.to_owned() }, now).await?.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::ivr::Node;
    use std::collections::BTreeSet;

    #[test]
    fn the_demo_flow_parses_and_has_no_problems() {
        let flow = Flow::from_yaml(DEMO_FLOW_YAML).unwrap();
        assert_eq!(flow.problems(), vec![], "{:#?}", flow.problems());
        assert_eq!((flow.name.as_str(), flow.language.as_str(), flow.start.as_str()), ("hotline", "zh-CN", "welcome"));
        assert_eq!(flow.survey.as_deref(), Some("post_survey"));
        assert!(demo_flow().is_ok());
        let Some(Node::Menu { options, default, .. }) = flow.nodes.get("menu") else { panic!("no menu") };
        assert_eq!(options.keys().map(String::as_str).collect::<Vec<_>>(), ["0", "1", "2", "3"]);
        assert_eq!(default, "general");
        let Some(Node::Hours { holidays, .. }) = flow.nodes.get("hours") else { panic!("no hours") };
        assert_eq!(holidays.len(), 8, "New Year's Day and the National Day week");
        // the menu's queues are the demo's skill groups; `general` and `harassment` are not
        // (yet) demo queues
        let queues: BTreeSet<&str> = flow
            .nodes
            .values()
            .filter_map(|n| match n {
                Node::Queue { queue, .. } => Some(queue.as_str()),
                Node::Voicemail { queue, .. } => queue.as_deref(),
                _ => None,
            })
            .collect();
        let demo: BTreeSet<&str> = SKILLS.iter().map(|(name, _)| *name).collect();
        let missing: Vec<&str> = queues.difference(&demo).copied().collect();
        assert_eq!(missing, ["general", "harassment"]);
        assert!(["complaints", "product", "after_sales"].iter().all(|q| queues.contains(q)));
    }
}
