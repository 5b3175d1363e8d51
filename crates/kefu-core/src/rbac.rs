//! Roles and permissions: the one table that says which role may do what. Every HTTP route
//! names the permission it needs; nothing else decides access.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user is in the contact center.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A front-line agent (座席): handles contacts, sees what the job needs.
    Agent,
    /// A team lead (班长): watches and coaches one team.
    TeamLead,
    /// A quality inspector (质检): scores calls and recordings.
    Qa,
    /// A supervisor or duty manager (主管 / 值班长): runs the floor.
    Supervisor,
    /// An administrator: configures the center.
    Admin,
}

impl Role {
    /// Every role, from least to most privileged.
    pub const ALL: [Role; 5] = [Role::Agent, Role::TeamLead, Role::Qa, Role::Supervisor, Role::Admin];

    /// The stable snake_case name used in the API, the database and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::TeamLead => "team_lead",
            Role::Qa => "qa",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Whether this role holds `permission`, according to [`PERMISSIONS`].
    pub fn allows(self, permission: Permission) -> bool {
        PERMISSIONS.iter().find(|(p, _)| *p == permission).is_some_and(|(_, roles)| roles.contains(&self))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that is not one of `agent`, `team_lead`, `qa`, `supervisor`, `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected one of agent, team_lead, qa, supervisor, admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.chars().take(32).collect()))
    }
}

/// Something a route or command needs the caller to be allowed to do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the directory of users (names, roles, teams, extensions, skills).
    DirectoryRead,
    /// Create, change, disable and delete users and their skills.
    UsersManage,
    /// Read the center's configuration: teams, skills, queues.
    ConfigRead,
    /// Create, change and delete teams, skills and queues.
    ConfigManage,
    /// Read the raw event log.
    EventLogRead,
    /// Read the audit log of logins and administrative changes.
    AuditRead,
    /// Create, change and delete SIP trunks (carrier addresses and credentials).
    TrunksManage,
    /// List and read every call recording; without it a user sees only the recordings of
    /// their own calls.
    RecordingsRead,
    /// Place and control one's own calls (click-to-dial, hold, transfer, hang up).
    CallsControl,
    /// See every registered phone and live call, and control any call.
    TelephonyMonitor,
    /// Read customers (profiles with sensitive numbers masked, assets, timeline).
    CustomersRead,
    /// Create and change customers, their assets and notes.
    CustomersWrite,
    /// See customers' phone, ID-card and account numbers in clear; every such read is
    /// written to the audit log.
    PiiRead,
    /// Read work orders, categories, templates and SLA state.
    TicketsRead,
    /// Create work orders and work those of one's own group (or assigned to oneself):
    /// change status, note progress, attach files, record callbacks.
    TicketsWork,
    /// Work any group's orders: reassign, dispatch, escalate by hand, close.
    TicketsManage,
    /// Read and search the knowledge base.
    KbRead,
    /// Write knowledge-base articles, FAQ entries and case studies.
    KbWrite,
    /// Export lists (work orders, customers) as CSV, masked unless `PiiRead` is held too.
    DataExport,
    /// Run the floor: put numbers on the harassment blocklist, approve or reject agents'
    /// proposals and take numbers off it; set the wallboard's alert thresholds.
    FloorManage,
}

impl Permission {
    /// Every permission (the role-matrix test walks this list).
    pub const ALL: [Permission; 20] = [
        Permission::DirectoryRead,
        Permission::UsersManage,
        Permission::ConfigRead,
        Permission::ConfigManage,
        Permission::EventLogRead,
        Permission::AuditRead,
        Permission::TrunksManage,
        Permission::RecordingsRead,
        Permission::CallsControl,
        Permission::TelephonyMonitor,
        Permission::CustomersRead,
        Permission::CustomersWrite,
        Permission::PiiRead,
        Permission::TicketsRead,
        Permission::TicketsWork,
        Permission::TicketsManage,
        Permission::KbRead,
        Permission::KbWrite,
        Permission::DataExport,
        Permission::FloorManage,
    ];
}

use Role::{Admin, Agent, Qa, Supervisor, TeamLead};

/// The permission table: each permission and the roles that hold it.
///
/// Reading the configuration is open to every role because agents pick queues and skills
/// (transfers, their own memberships); changing anything is for administrators. Recordings
/// are for the people who coach and score calls; agents hear only their own. Customers'
/// sensitive numbers are masked for everyone below supervisor; agents work their own
/// group's orders, team leads and up any group's.
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (Permission::DirectoryRead, &[TeamLead, Qa, Supervisor, Admin]),
    (Permission::UsersManage, &[Admin]),
    (Permission::ConfigRead, &[Agent, TeamLead, Qa, Supervisor, Admin]),
    (Permission::ConfigManage, &[Admin]),
    (Permission::EventLogRead, &[Supervisor, Admin]),
    (Permission::AuditRead, &[Admin]),
    (Permission::TrunksManage, &[Admin]),
    (Permission::RecordingsRead, &[TeamLead, Qa, Supervisor, Admin]),
    (Permission::CallsControl, &[Agent, TeamLead, Supervisor, Admin]),
    (Permission::TelephonyMonitor, &[TeamLead, Supervisor, Admin]),
    (Permission::CustomersRead, &[Agent, TeamLead, Qa, Supervisor, Admin]),
    (Permission::CustomersWrite, &[Agent, TeamLead, Supervisor, Admin]),
    (Permission::PiiRead, &[Supervisor, Admin]),
    (Permission::TicketsRead, &[Agent, TeamLead, Qa, Supervisor, Admin]),
    (Permission::TicketsWork, &[Agent, TeamLead, Supervisor, Admin]),
    (Permission::TicketsManage, &[TeamLead, Supervisor, Admin]),
    (Permission::KbRead, &[Agent, TeamLead, Qa, Supervisor, Admin]),
    (Permission::KbWrite, &[TeamLead, Qa, Supervisor, Admin]),
    (Permission::DataExport, &[TeamLead, Supervisor, Admin]),
    (Permission::FloorManage, &[Supervisor, Admin]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_exactly_one_row() {
        for p in Permission::ALL {
            let rows = PERMISSIONS.iter().filter(|(q, _)| *q == p).count();
            assert_eq!(rows, 1, "{p:?} must appear once in PERMISSIONS");
        }
        assert_eq!(PERMISSIONS.len(), Permission::ALL.len());
    }

    #[test]
    fn admin_holds_everything_and_agents_cannot_manage() {
        for p in Permission::ALL {
            assert!(Role::Admin.allows(p), "admin lacks {p:?}");
        }
        assert!(!Role::Agent.allows(Permission::UsersManage));
        assert!(!Role::Agent.allows(Permission::DirectoryRead));
        assert!(Role::Agent.allows(Permission::ConfigRead));
        assert!(!Role::TeamLead.allows(Permission::EventLogRead));
        assert!(Role::Supervisor.allows(Permission::EventLogRead));
        assert!(!Role::Agent.allows(Permission::RecordingsRead));
        assert!(Role::Qa.allows(Permission::RecordingsRead));
        assert!(!Role::Supervisor.allows(Permission::TrunksManage));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
