//! The IVR: flows as data ([`Flow`], YAML), their validation, and a sans-IO interpreter
//! ([`Session`]) that walks one call through a flow, returning [`Action`]s for the server to
//! perform. Numbers are spoken by concatenating prompts ([`say`]).

pub mod flow;
pub mod hours;
pub mod interp;
pub mod json_path;
pub mod say;
pub mod validate;

#[cfg(test)]
mod tests;

pub use flow::{Flow, HttpMethod, Node, OpenSpan, ParseError, PromptItem, Rule, SayAs, SurveyQuestion, Test, VipRule};
pub use interp::{Action, CallInfo, HttpResult, Input, IvrEvent, Outcome, Session};
pub use say::Language;
pub use validate::FlowError;
