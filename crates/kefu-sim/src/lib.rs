//! The contact-center simulator: Poisson arrivals with an intraday profile, handle times and
//! caller patience driving the real ACD router from `kefu-core` in simulated time, with the
//! KPIs computed from the router's own events by `kefu_core::kpi`.
//!
//! ```no_run
//! use kefu_sim::{Center, SimOptions, SingleQueue};
//! let center = Center::single_queue(&SingleQueue {
//!     agents: 14, calls_per_hour: 200.0, aht_secs: 180.0, patience_secs: None,
//!     hours: 8.0, acw_secs: 0.0, ring_delay_secs: 0.0,
//! })?;
//! let options = SimOptions::default();
//! let outcome = kefu_sim::run(&center, &options)?;
//! println!("{}", kefu_sim::Summary::new(&center, &options, &outcome).to_json());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A fixed seed gives byte-identical results: the random streams are ChaCha8 seeded from it,
//! events at the same time run in the order they were scheduled, and nothing depends on hash
//! map iteration order.

pub mod dist;
pub mod engine;
pub mod ids;
pub mod report;
pub mod scenario;

pub use engine::{Outcome, SimError, SimOptions, Tally, run};
pub use report::{QueueSummary, Row, Summary};
pub use scenario::{Center, Problem, ScenarioError, SingleQueue};
