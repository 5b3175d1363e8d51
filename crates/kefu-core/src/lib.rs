//! kefu's domain model: identifiers, roles and permissions, the event-log record, and the
//! pure state machines and rules — agent state, ACD, IVR, work orders and their SLA clock — that take the time as a
//! parameter and return actions. Nothing here performs I/O or reads a clock.

pub mod acd;
pub mod agent;
pub mod event;
pub mod ids;
pub mod ivr;
pub mod kpi;
pub mod org;
pub mod rbac;
pub mod service;
pub mod time;
pub mod wfm;

pub use ids::{ArticleId, AssetId, CategoryId, FieldDefId, FollowUpId, NoteId, TemplateId, TicketId};
pub use ids::{BlocklistEntryId, HandoverNoteId};
pub use ids::{CallbackRequestId, VoicemailId};
pub use ids::{CustomerId, EventId, FlowId, InteractionId, QueueId, RecordingId, SkillId, TeamId, TrunkId, UserId};
pub use rbac::{Permission, Role};
pub use time::Timestamp;
