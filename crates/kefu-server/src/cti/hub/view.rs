//! What the hub knows of people — the directory of users and teams, read in the background
//! and refreshed — and how a snapshot shows agents, queues and the viewer's own screen-pop.

use std::collections::HashMap;

use axum::extract::ws::Utf8Bytes;
use kefu_core::agent::StateKind;
use kefu_core::{Permission, TeamId, Timestamp, UserId};
use kefu_store::PageRequest;
use serde_json::{Value, json};
use tracing::warn;

use super::{AgentLive, Cmd, Task};
use crate::cti::{Out, Viewer, envelope};
use crate::state::AppState;

/// A user as the stream shows them.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(super) username: String,
    pub(super) name: String,
    pub(super) extension: Option<String>,
    pub(super) team: Option<TeamId>,
}

/// Users and team names.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub(super) members: HashMap<UserId, Member>,
    pub(super) teams: HashMap<TeamId, String>,
}

impl Member {
    fn of(u: &kefu_store::User) -> Member {
        Member {
            username: u.username.clone(),
            name: u.display_name.clone(),
            extension: u.extension.clone(),
            team: u.team_id,
        }
    }
}
impl Task {
    // ------------------------------------------------------------------ the directory

    pub(super) fn load_directory(&self, state: &AppState) {
        let (store, me) = (state.store.clone(), self.me.clone());
        tokio::spawn(async move {
            match read_directory(&store).await {
                Ok(d) => {
                    if let Some(tx) = me.upgrade() {
                        let _ = tx.send(Cmd::Directory(Box::new(d)));
                    }
                }
                Err(e) => warn!(error = %e, "the cti stream could not read the directory"),
            }
        });
    }

    /// Reads one user the stream has not met yet (once until the answer comes).
    pub(super) fn ask_member(&mut self, state: &AppState, id: UserId) {
        if !self.asked.insert(id) {
            return;
        }
        let (store, me) = (state.store.clone(), self.me.clone());
        tokio::spawn(async move {
            let member = match store.user(id).await {
                Ok(u) => Some(Member::of(&u)),
                Err(kefu_store::StoreError::NotFound { .. }) => None,
                Err(e) => {
                    warn!(error = %e, "the cti stream could not read a user");
                    None
                }
            };
            if let Some(tx) = me.upgrade() {
                let _ = tx.send(Cmd::Member(id, member));
            }
        });
    }

    // ------------------------------------------------------------------ snapshots

    /// What `viewer` may see now: agents (their own row, or their team's, or all), queues for
    /// those who monitor, and their own ringing or current call's screen-pop.
    pub(super) fn snapshot(&self, viewer: &Viewer, reason: &str, now: Timestamp) -> Out {
        let mut agents: Vec<Value> = Vec::new();
        if viewer.sight().monitors() {
            let mut ids: Vec<&UserId> = self.agents.keys().collect();
            ids.sort();
            for id in ids {
                let team = self.directory.members.get(id).and_then(|m| m.team);
                if viewer.sees_agent(*id, team) {
                    agents.push(self.agent_row(*id, &self.agents[id]));
                }
            }
        }
        if !agents.iter().any(|a| a["id"] == json!(viewer.user)) && viewer.role.allows(Permission::CallsControl) {
            let live = self.agents.get(&viewer.user).copied().unwrap_or(AgentLive {
                state: StateKind::LoggedOut,
                reason: None,
                call: None,
                since: now,
            });
            agents.insert(0, self.agent_row(viewer.user, &live));
        }
        let queues: Vec<Value> =
            if viewer.sight().monitors() { self.queues.iter().map(|q| json!(q)).collect() } else { Vec::new() };
        let (offer, customers) = match self.offers.get(&viewer.user) {
            Some(o) if viewer.pii() => (o.clear.clone(), o.customers.to_vec()),
            Some(o) => (o.masked.clone(), Vec::new()),
            None => (Value::Null, Vec::new()),
        };
        let data = json!({
            "reason": reason,
            "agents": agents,
            "queues": queues,
            "offer": offer,
        });
        Out::Snapshot { seq: self.seq, text: Utf8Bytes::from(envelope(self.seq, "snapshot", now, &data)), customers }
    }

    /// An agent as snapshots and `agent.state` show them.
    pub(super) fn agent_row(&self, id: UserId, live: &AgentLive) -> Value {
        let m = self.directory.members.get(&id);
        let team = m.and_then(|m| m.team);
        let queue = live.call.and_then(|c| self.calls.get(&c)).and_then(|c| c.queue);
        json!({
            "id": id,
            "username": m.map(|m| m.username.as_str()),
            "name": m.map(|m| m.name.as_str()),
            "extension": m.and_then(|m| m.extension.as_deref()),
            "team_id": team,
            "team": team.and_then(|t| self.directory.teams.get(&t)),
            "state": live.state,
            "reason": live.reason,
            "since": live.since,
            "call": live.call,
            "queue": self.queue_ref(queue),
        })
    }
}

/// Every user and team (read in pages).
async fn read_directory(store: &kefu_store::Store) -> kefu_store::Result<Directory> {
    let mut d = Directory::default();
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let got = store.list_users(&page).await?;
        d.members.extend(got.items.iter().map(|u| (u.id, Member::of(u))));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let got = store.list_teams(&page).await?;
        d.teams.extend(got.items.into_iter().map(|t| (t.id, t.name)));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    Ok(d)
}
