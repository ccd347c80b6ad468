//! Rows of other tables written in the commit of an append ([`EventStore::append_with`]).
//!
//! [`EventStore::append_with`]: crate::EventStore::append_with

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::{ProjectionTx, StoreError};

/// Rows another part of Pharos stores in the same commit as an append: the vault's new
/// person (key and e-mail index) and its retention holds. Both are stored, or neither:
/// a registration refused by the log leaves no key behind, and one recorded never lacks
/// its hold. The write runs inside the append's transaction, and may run again when the
/// append is retried or answered as the retry of an earlier one: it must be idempotent.
/// Returning [`StoreError::CompanionRefused`] undoes the whole append.
pub trait Companion: Send + Sync + fmt::Debug {
    /// Writes on the append's transaction (the handle projections write through, so
    /// that `on_tx!` serves both backends).
    fn write<'c>(&'c self, tx: ProjectionTx<'c>) -> CompanionWrite<'c>;
}

/// A companion's write under way.
pub type CompanionWrite<'c> = BoxFuture<'c, Result<(), StoreError>>;

/// The companions of one append, in the order they are written.
pub type Companions = Vec<Arc<dyn Companion>>;
