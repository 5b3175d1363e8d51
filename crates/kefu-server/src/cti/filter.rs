//! Who sees which message of the CTI stream — the stream's security property, as pure
//! functions. Sight comes from the role's permissions (never from role names): an agent sees
//! only themselves; `telephony_monitor` adds their team's agents and the queues;
//! `event_log_read` on top of it (the whole event log may be read anyway) widens that to the
//! whole floor.

use kefu_core::{Permission, Role, TeamId, UserId};

/// How far a user sees on the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sight {
    /// Only their own state, offers and calls.
    Own,
    /// Their own, their team's agents (if they lead one) and the queues' figures.
    Team(Option<TeamId>),
    /// Every agent and every queue.
    Floor,
}

impl Sight {
    /// The sight of a user of `role` in `team`.
    pub fn of(role: Role, team: Option<TeamId>) -> Sight {
        if !role.allows(Permission::TelephonyMonitor) {
            Sight::Own
        } else if role.allows(Permission::EventLogRead) {
            Sight::Floor
        } else {
            Sight::Team(team)
        }
    }

    /// Whether this sight includes the queues' figures and other floor-wide data.
    pub fn monitors(self) -> bool {
        !matches!(self, Sight::Own)
    }
}

/// Whom a message is about, which decides who may receive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One agent (their state, an offer to them, their call), with their team when it was
    /// published.
    Agent {
        /// The agent.
        agent: UserId,
        /// Their team.
        team: Option<TeamId>,
    },
    /// About an agent, for those who watch them but not for the agent (a supervisor listening
    /// in, an agent's call for help).
    Watchers {
        /// The agent.
        agent: UserId,
        /// Their team.
        team: Option<TeamId>,
    },
    /// Queue-wide figures: for those who monitor.
    Monitors,
}

/// One connected user, as the filter sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The user.
    pub user: UserId,
    /// Their role when they connected.
    pub role: Role,
    /// Their team when they connected.
    pub team: Option<TeamId>,
}

impl Viewer {
    /// How far the viewer sees.
    pub fn sight(&self) -> Sight {
        Sight::of(self.role, self.team)
    }

    /// Whether the viewer sees customers' numbers in clear.
    pub fn pii(&self) -> bool {
        self.role.allows(Permission::PiiRead)
    }

    /// Whether the viewer may receive a message of `scope`.
    pub fn sees(&self, scope: Scope) -> bool {
        sees(self.user, self.sight(), scope)
    }

    /// Whether the viewer may see agent `agent` of team `team` (snapshots).
    pub fn sees_agent(&self, agent: UserId, team: Option<TeamId>) -> bool {
        self.sees(Scope::Agent { agent, team })
    }
}

/// Whether `user` with `sight` may receive a message of `scope`.
pub fn sees(user: UserId, sight: Sight, scope: Scope) -> bool {
    match scope {
        Scope::Agent { agent, team } => match sight {
            Sight::Floor => true,
            Sight::Team(Some(mine)) => agent == user || team == Some(mine),
            Sight::Team(None) | Sight::Own => agent == user,
        },
        Scope::Watchers { agent, team } => {
            agent != user && sight.monitors() && sees(user, sight, Scope::Agent { agent, team })
        }
        Scope::Monitors => sight.monitors(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::Role::{Admin, Agent, Qa, Supervisor, TeamLead};

    fn id() -> UserId {
        UserId::from_uuid(uuid::Uuid::now_v7())
    }

    fn team() -> TeamId {
        TeamId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn sight_follows_permissions() {
        let t = team();
        assert_eq!(Sight::of(Agent, Some(t)), Sight::Own);
        assert_eq!(Sight::of(Qa, Some(t)), Sight::Own);
        assert_eq!(Sight::of(TeamLead, Some(t)), Sight::Team(Some(t)));
        assert_eq!(Sight::of(TeamLead, None), Sight::Team(None));
        assert_eq!(Sight::of(Supervisor, Some(t)), Sight::Floor);
        assert_eq!(Sight::of(Admin, None), Sight::Floor);
    }

    #[test]
    fn agents_see_only_themselves() {
        let (me, other, t) = (id(), id(), team());
        let v = Viewer { user: me, role: Agent, team: Some(t) };
        assert!(v.sees(Scope::Agent { agent: me, team: Some(t) }));
        assert!(!v.sees(Scope::Agent { agent: other, team: Some(t) }), "not even a teammate");
        assert!(!v.sees(Scope::Monitors));
        assert!(!v.sees(Scope::Watchers { agent: me, team: Some(t) }), "a silent listen stays silent");
        assert!(!v.pii());
    }

    #[test]
    fn team_leads_see_their_team_and_the_queues() {
        let (me, mate, stranger, t, u) = (id(), id(), id(), team(), team());
        let v = Viewer { user: me, role: TeamLead, team: Some(t) };
        assert!(v.sees(Scope::Agent { agent: mate, team: Some(t) }));
        assert!(!v.sees(Scope::Agent { agent: stranger, team: Some(u) }));
        assert!(!v.sees(Scope::Agent { agent: stranger, team: None }));
        assert!(v.sees(Scope::Agent { agent: me, team: None }));
        assert!(v.sees(Scope::Monitors));
        assert!(v.sees(Scope::Watchers { agent: mate, team: Some(t) }));
        assert!(!v.sees(Scope::Watchers { agent: stranger, team: Some(u) }));
        assert!(!v.pii());
        let lone = Viewer { user: me, role: TeamLead, team: None };
        assert!(!lone.sees(Scope::Agent { agent: stranger, team: None }), "no team: no one else");
    }

    #[test]
    fn supervisors_and_admins_see_everything() {
        for role in [Supervisor, Admin] {
            let v = Viewer { user: id(), role, team: None };
            assert!(v.sees(Scope::Agent { agent: id(), team: Some(team()) }));
            assert!(v.sees(Scope::Agent { agent: id(), team: None }));
            assert!(v.sees(Scope::Monitors));
            assert!(v.pii());
        }
    }
}
