//! Blocklist screening of inbound calls (IVR-4, AG-6): a caller whose number is on the
//! approved harassment blocklist is diverted to the harassment treatment when the call goes
//! to an IVR flow that has one (the flow's `caller_rules` node's `blocked` branch — in the demo
//! hotline a deterrent message and the `harassment` queue — or else the `harassment` queue if
//! the ACD has it), and declined with 603 otherwise. The SIP server asks before it answers
//! (`telephony.rs`); the IVR runner asks again when it takes the call, to divert it.

use kefu_core::event::{Event, EventKind};
use kefu_core::ivr::{Flow, Node};
use kefu_core::service::customer::{PhoneNumber, show_number};
use kefu_core::{BlocklistEntryId, EventId, InteractionId, Timestamp};
use kefu_store::Store;
use serde_json::json;
use tracing::warn;

use crate::acd::Acd;

/// The queue blocklisted callers wait in when their flow names no treatment of its own.
pub const HARASSMENT_QUEUE: &str = "harassment";

/// What to do with a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The caller is not blocked.
    Clear,
    /// Blocked: divert the call.
    Divert {
        /// The blocklist entry.
        entry: BlocklistEntryId,
        /// Where to.
        to: Divert,
    },
    /// Blocked, and there is no harassment treatment: decline (603).
    Decline {
        /// The blocklist entry.
        entry: BlocklistEntryId,
    },
}

/// Where a blocked call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Divert {
    /// This node of the call's flow (a `caller_rules` node's `blocked` branch).
    Node(String),
    /// The [`HARASSMENT_QUEUE`].
    Queue,
}

/// The `blocked` branch of the flow's first `caller_rules` node (by node name), if any.
pub fn blocked_node(flow: &Flow) -> Option<String> {
    flow.nodes.values().find_map(|n| match n {
        Node::CallerRules { blocked, .. } => Some(blocked.clone()),
        _ => None,
    })
}

/// The blocklist entry that blocks `caller` now, if any. A caller id that is not a phone
/// number is never blocked; a failed lookup lets the call through (a database hiccup must not
/// turn every caller away) and is logged.
pub async fn blocked_by(store: &Store, caller: &str, now: Timestamp) -> Option<BlocklistEntryId> {
    let phone = PhoneNumber::parse(caller).ok()?;
    match store.blocklist_match(&phone, now).await {
        Ok(found) => found,
        Err(e) => {
            warn!(error = %e, "blocklist lookup failed; the call goes through");
            None
        }
    }
}

/// Decides for a call from `caller` into `flow` (`None`: the call rings an extension).
pub async fn check(store: &Store, acd: &Acd, flow: Option<&Flow>, caller: &str, now: Timestamp) -> Verdict {
    let Some(entry) = blocked_by(store, caller, now).await else { return Verdict::Clear };
    let Some(flow) = flow else { return Verdict::Decline { entry } };
    if let Some(node) = blocked_node(flow) {
        return Verdict::Divert { entry, to: Divert::Node(node) };
    }
    if acd.queue_id(HARASSMENT_QUEUE).await.is_some() {
        return Verdict::Divert { entry, to: Divert::Queue };
    }
    Verdict::Decline { entry }
}

/// The `call.blocked` record.
pub fn blocked_event(
    now: Timestamp,
    call: Option<InteractionId>,
    entry: BlocklistEntryId,
    caller: &str,
    dialled: &str,
    outcome: &str,
) -> Event {
    let mut e = Event::new(EventId::from_uuid(uuid::Uuid::now_v7()), now, EventKind::CallBlocked);
    e.interaction = call;
    e.data = json!({ "entry": entry, "number": show_number(caller, true), "dialled": dialled, "outcome": outcome });
    e
}
