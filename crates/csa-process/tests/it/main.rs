//! Liveness against real processes, real files and real `flock`s (Linux).

// Test helpers outside #[test] functions panic on setup failures by design.
#![allow(clippy::unwrap_used)]

#[cfg(target_os = "linux")]
mod gather;
#[cfg(target_os = "linux")]
mod harness;

#[cfg(target_os = "linux")]
mod launch;
#[cfg(target_os = "linux")]
mod locks;
#[cfg(target_os = "linux")]
mod pid_records;
#[cfg(target_os = "linux")]
mod progress;
#[cfg(target_os = "linux")]
mod stopping;
#[cfg(target_os = "linux")]
mod supervise;
#[cfg(target_os = "linux")]
mod usage;
#[cfg(target_os = "linux")]
mod verification;
