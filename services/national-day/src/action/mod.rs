//! Awareness and prevention actions (category `awareness_action`, one stream per action):
//! for the national day (within its window) or during the year.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`http`]: the routes, their request and answer shapes, and who may use them.

pub mod decider;
pub mod http;

pub use decider::{Action, ActionCommand, ActionState, ActionStatus, Draft};
