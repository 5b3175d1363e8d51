//! Deterministic ids for simulated skills, queues, agents and calls: the kind in the top 32
//! bits of the UUID, a running number in the low 96, so the same scenario always produces
//! the same ids and an id maps back to its index without a lookup table.

use kefu_core::{InteractionId, QueueId, SkillId, UserId};
use uuid::Uuid;

const SKILL: u128 = 1;
const QUEUE: u128 = 2;
const AGENT: u128 = 3;
const CALL: u128 = 4;
const LOW: u128 = (1 << 96) - 1;

fn make(kind: u128, n: usize) -> Uuid {
    Uuid::from_u128((kind << 96) | (n as u128 & LOW))
}

fn index(kind: u128, id: Uuid) -> Option<usize> {
    let v = id.as_u128();
    (v >> 96 == kind).then(|| usize::try_from(v & LOW).ok()).flatten()
}

/// The id of skill number `n`.
pub fn skill(n: usize) -> SkillId {
    SkillId::from_uuid(make(SKILL, n))
}

/// The id of queue number `n`.
pub fn queue(n: usize) -> QueueId {
    QueueId::from_uuid(make(QUEUE, n))
}

/// The id of agent number `n`.
pub fn agent(n: usize) -> UserId {
    UserId::from_uuid(make(AGENT, n))
}

/// The id of call number `n`.
pub fn call(n: usize) -> InteractionId {
    InteractionId::from_uuid(make(CALL, n))
}

/// The number of an agent id made by [`agent`].
pub fn agent_index(id: UserId) -> Option<usize> {
    index(AGENT, id.as_uuid())
}

/// The number of a call id made by [`call`].
pub fn call_index(id: InteractionId) -> Option<usize> {
    index(CALL, id.as_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_back_to_their_numbers_and_kinds_do_not_mix() {
        assert_eq!(call_index(call(123_456)), Some(123_456));
        assert_eq!(agent_index(agent(7)), Some(7));
        assert_eq!(agent_index(UserId::from_uuid(call(7).as_uuid())), None);
        assert_ne!(queue(0).as_uuid(), skill(0).as_uuid());
    }
}
