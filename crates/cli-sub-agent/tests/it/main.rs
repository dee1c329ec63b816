//! End-to-end tests: the real `csa` binary against temp state dirs, real
//! files and real processes.

// Test helpers outside #[test] functions panic on setup failures by design.
#![allow(clippy::unwrap_used)]

mod cleanup;
mod cli_errors;
mod crash;
mod hostile;
mod interop;
mod list;
mod live_sessions;
#[cfg(target_os = "linux")]
mod model;
#[cfg(target_os = "linux")]
mod namespaces;
mod reconcile;
mod rollback;
#[cfg(target_os = "linux")]
mod run;
mod terminal;
mod torture;
