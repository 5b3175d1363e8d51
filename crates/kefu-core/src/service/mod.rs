//! The service side, as pure rules: customers' numbers (normalised, validated, masked), the
//! work-order category tree, the work-order life cycle, business calendars, the SLA clock,
//! escalation rules and follow-up callbacks. Time is always a parameter.

pub mod calendar;
pub mod category;
pub mod customer;
pub mod escalation;
pub mod followup;
pub mod sla;
pub mod ticket;
