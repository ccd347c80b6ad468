//! Accounts (category `user`): one per person of the vault, so one per e-mail address.
//!
//! - `bulk`: one account per open school, at an address built from a pattern;
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`password`]: the length rule, hashing and generated passwords;
//! - `http`: the routes that create, read, change (role, grants) and deactivate accounts, and
//!   [`create`], which the bootstrap and `pharos users create` share with them;
//! - `list`: the accounts an actor manages, filtered and paginated;
//! - [`reset`]: reset links (issued by whoever manages the account, or
//!   `pharos users reset-password`) and the public route that sets a password with one.

pub mod bulk;
pub mod decider;
pub(crate) mod http;
pub(crate) mod list;
pub mod password;
pub mod reset;

pub use decider::{Account, AccountCommand, AccountState, Created, stream};
pub use http::{CreatedUser, NewUser, create};
