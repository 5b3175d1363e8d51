//! Authentication and authorisation: passwords, bearer tokens, login rate limits, SIP digest
//! credentials, and the middleware that checks every route's access rule before its handler
//! runs.

pub mod access;
pub mod password;
pub mod ratelimit;
pub mod sip;
pub mod token;

pub use access::{Access, Principal};
