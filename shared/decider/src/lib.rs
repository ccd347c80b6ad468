//! Aggregates as pure functions (the decider pattern): [`Decider`] (`decide`, `evolve`),
//! the [`Rejection`] a decision refuses with, the [`Clock`] time comes from, the command
//! loop that runs a decision against the event store ([`execute`], [`execute_with`],
//! [`execute_linked`] for a decision spanning two streams) on the state this process
//! holds for a stream when it has one (`held`: the append's version check catches a stale
//! one),
//! and [`given`], the given/when/then helper of decider tests.
//!
//! No HTTP here: `pharos-web` maps a [`Rejection`] to problem+json in one place, and a
//! handler's error type only needs `From<Rejection> + From<StoreError>` to run commands.

mod command;
pub mod held;
mod rejection;
pub mod testing;

use chrono::{DateTime, Utc};

pub use command::{
    Decider, Executed, execute, execute_attached, execute_linked, execute_with, load,
};
pub use rejection::{Rejection, RejectionKind, sentence};
pub use testing::given;

/// Where time comes from: the system clock in production, a fixed instant in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told: tests move time forward (a session planned in the
/// future, then attended).
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(now))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
