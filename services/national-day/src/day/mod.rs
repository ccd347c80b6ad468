//! A year's national day (category `national_day`, one stream per school year): the
//! computed date, window and report deadline, and what the pole overrides of them.
//!
//! - [`decider`]: the aggregate, pure;
//! - [`http`]: `GET`/`PUT /api/v1/national-days/{school_year}`, the vocabulary, and the
//!   expected reports of a department.

pub mod decider;
pub mod http;

pub use decider::{Edition, NationalDay, NationalDayCommand, NationalDayState, Overrides};
