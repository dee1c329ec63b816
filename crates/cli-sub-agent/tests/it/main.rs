//! End-to-end tests: the real `csa` binary against temp state dirs, real
//! files and real processes.

// Test helpers outside #[test] functions panic on setup failures by design.
#![allow(clippy::unwrap_used)]

mod cleanup;
mod cli_errors;
mod completions;
#[cfg(target_os = "linux")]
mod containment;
mod crash;
#[cfg(target_os = "linux")]
mod fleet_logs;
mod habits;
mod hostile;
mod ids;
mod interop;
#[cfg(target_os = "linux")]
mod kill;
#[cfg(target_os = "linux")]
mod kill_trouble;
mod list;
#[cfg(target_os = "linux")]
mod list_columns;
mod live_sessions;
#[cfg(target_os = "linux")]
mod logs;
#[cfg(target_os = "linux")]
mod model;
#[cfg(target_os = "linux")]
mod namespaces;
#[cfg(target_os = "linux")]
mod nesting;
#[cfg(target_os = "linux")]
mod project_root;
mod reconcile;
#[cfg(target_os = "linux")]
mod remote;
#[cfg(target_os = "linux")]
mod remote_fleet;
#[cfg(unix)]
mod removal_hazards;
#[cfg(target_os = "linux")]
mod removal_limits;
mod rollback;
#[cfg(target_os = "linux")]
mod rotation;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod show;
mod stats;
#[cfg(target_os = "linux")]
mod storm;
mod terminal;
mod their_docs;
mod their_flags;
#[cfg(target_os = "linux")]
mod top;
mod torture;
#[cfg(target_os = "linux")]
mod tree_ops;
mod trees;
#[cfg(target_os = "linux")]
mod wait;
#[cfg(target_os = "linux")]
mod why;
