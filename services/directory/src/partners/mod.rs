//! The orientation directory (category `partner`): partners and help lines the pole
//! orients people to, flagged for review twelve months after their last check.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - `http`: the routes, the form and its checks, the views;
//! - `phone`: phone numbers as people write them, normalised;
//! - `seed`: the national help lines of `seed/partners.json`, registered on start.

pub mod decider;
pub(crate) mod http;
pub(crate) mod phone;
pub(crate) mod seed;

pub use decider::{Partner, PartnerCommand, PartnerState, needs_review, stream};
