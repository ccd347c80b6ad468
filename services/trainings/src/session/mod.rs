//! Sessions (category `training_session`): one occurrence of a training, with its
//! registrations and attendance. [`decider`] holds the rules, pure; `http` the routes
//! that run them.

pub mod decider;
pub(crate) mod http;

pub use decider::{Session, SessionCommand, SessionState, stream};
