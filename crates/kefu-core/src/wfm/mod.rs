//! Workforce management: Erlang B/C/A queueing formulas for staffing and for checking the
//! simulator (forecasting and shift scheduling come later).

pub mod erlang;

pub use erlang::{ErlangA, ErlangError, Staffing, StaffingTarget};
