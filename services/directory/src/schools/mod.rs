//! Schools (category `school`): the registry the whole academy shares, one stream per
//! UAI, fed by hand or by imports of the national directory.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`input`]: a school as typed or imported, checked into a record;
//! - `http`: the routes that register, close and read a school.

pub mod decider;
pub(crate) mod http;
pub mod input;

pub use decider::{School, SchoolCommand, SchoolState, stream};
pub use input::SchoolInput;
