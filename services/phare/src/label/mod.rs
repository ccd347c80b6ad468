//! pHARe labels (category `phare_label`): one application per school and school year,
//! `draft → submitted → under_review → awarded(level) | not_awarded`.
//!
//! The pole either starts the review explicitly (`POST /labels/{id}/review`, so the
//! school sees its application is being examined) or decides a submitted application
//! straight away.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`http`]: the routes, their request and answer shapes, and who may use them.

pub mod decider;
pub mod http;

pub use decider::{Label, LabelCommand, LabelState, label_id};
