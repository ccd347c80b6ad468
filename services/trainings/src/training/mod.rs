//! Trainings (category `training`): what is taught, to whom, by which department.
//! [`decider`] holds the rules, pure; `http` the routes that run them.

pub mod decider;
pub(crate) mod http;

pub use decider::{Training, TrainingState, stream};
