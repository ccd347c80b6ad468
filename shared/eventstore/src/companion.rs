//! Rows of other tables written in the commit of an append ([`EventStore::append_with`]).
//!
//! [`EventStore::append_with`]: crate::EventStore::append_with

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::{Arguments, Encode, Type};

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

    /// PostgreSQL: adds this companion's writes to the append's one statement, so that
    /// the whole append is one autocommitted round trip instead of a transaction of one
    /// per write. Each write must do all that [`write`](Self::write) would, or fail: any
    /// database error sends the append down the transaction path, where `write` runs and
    /// decides (a refusal, a retry of an earlier append). `false` (the default): the
    /// append takes a transaction.
    fn in_statement(&self, _statement: &mut InStatement) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// The companions' writes of a PostgreSQL append made in one statement: data-modifying
/// statements, run as `WITH` parts of the events' `INSERT` (PostgreSQL runs each one
/// exactly once, to completion, in the statement's transaction).
pub struct InStatement {
    pub(crate) writes: Vec<String>,
    pub(crate) arguments: PgArguments,
}

impl InStatement {
    pub(crate) fn new(arguments: PgArguments) -> Self {
        Self {
            writes: Vec::new(),
            arguments,
        }
    }

    /// Binds `value`: the placeholder (`$9`) a write names it by.
    pub fn bind<'t, T>(&mut self, value: T) -> Result<String, StoreError>
    where
        T: Encode<'t, Postgres> + Type<Postgres>,
    {
        self.arguments
            .add(value)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        Ok(format!("${}", self.arguments.len()))
    }

    /// A data-modifying statement (`INSERT …`, no `RETURNING` needed) to run with the
    /// events.
    pub fn write(&mut self, statement: String) {
        self.writes.push(statement);
    }
}

/// A companion's write under way.
pub type CompanionWrite<'c> = BoxFuture<'c, Result<(), StoreError>>;

/// The companions of one append, in the order they are written.
pub type Companions = Vec<Arc<dyn Companion>>;
