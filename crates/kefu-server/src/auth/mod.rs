//! Authentication and authorisation: passwords, bearer tokens, login rate limits, and the
//! middleware that checks every route's access rule before its handler runs.

pub mod access;
pub mod password;
pub mod ratelimit;
pub mod token;

pub use access::{Access, Principal};
