//! pHARe labels (category `phare_label`): one application per school and school year,
//! `draft → submitted → under_review → awarded(level) | not_awarded`, or
//! `under_review → returned(reason) → submitted` when the pole sends it back to the school.
//! Each criterion the school answers shows what the deployment's recorded facts suggest.
//! The checklists of a year are the pole's to edit (`phare_label-criteria-<year>`).
//!
//! The pole either starts the review explicitly (`POST /labels/{id}/review`, so the
//! school sees its application is being examined) or decides a submitted application
//! straight away.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`criteria`]: a year's checklists as the pole edits them at run time, pure;
//! - [`http`]: the routes, their request and answer shapes, and who may use them.

pub mod criteria;
pub mod decider;
pub mod http;

pub use decider::{Label, LabelCommand, LabelState, label_id};
