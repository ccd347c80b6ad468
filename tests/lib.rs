//! Test support for every crate's tests: [`TestApp`], the assembled application (the same
//! [`pharos::assemble`] the binary runs) on a real port with a manual clock, and
//! [`Client`]s logged in as a given role; scratch databases on both backends
//! ([`TestDb`], [`on_both_backends!`]); `pharos` run as a separate process ([`Served`]).
//! The end-to-end tests are in `e2e.rs` beside this file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod db;
pub mod layout;
pub mod process;
pub mod seed;
pub mod smtp;

pub use app::{ADMIN, Client, PASSWORD, TestApp, TestAppBuilder, instant, metric, rule};
pub use db::{Served, TestDb};
/// The settings a test may change before the application starts.
pub use pharos::config::RawConfig;
