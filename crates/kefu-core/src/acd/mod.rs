//! The ACD: skills-based queues, strategies, caller priority with aging, ring-no-answer,
//! overflow rules, merge groups, queue statistics and wait estimates. Pure: time comes in
//! with every input, decisions go out as actions and events.

pub mod config;
pub mod events;
pub mod router;
pub mod stats;
pub mod strategy;
pub mod types;

#[cfg(test)]
mod tests;

pub use config::ConfigError;
pub use events::{RouterEvent, RouterEventDetail};
pub use router::{AcdError, Router};
pub use stats::{QueueCounters, QueueStats};
pub use types::*;
