//! Shared fixtures and helpers for the csa test suites (as cargo-test-support
//! or jj's testutils are for theirs): every integration test binary uses
//! these instead of a copy of its own.
//!
//! - [`env`]: a hermetic temp state home and project, session builders, and a
//!   `csa` command wired to them with every variable csa reads set or cleared.
//! - [`process`]: real child processes that are always killed and reaped.
//! - [`runs`]: sessions started by the real `csa run`.
//! - [`flock`]: a `flock` holder (in Rust, in this process).
//! - [`probe`]: a liveness probe that says what the test wants.
//! - [`faults`]: the store's fault points, named by their enum.
//! - [`fixtures`]: files recorded from real csa runs.
//! - [`sshd`]: a real OpenSSH server on 127.0.0.1 for the `--host` tests.
//! - [`table`]: finding a session's line in `csa session list` text.
//! - [`existing_install`]: the schema the csa installs users already run
//!   load `state.toml` and `result.toml` with, to check what we write.

// Test helpers panic on setup failures by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

pub mod env;
pub mod existing_install;
pub mod faults;
pub mod fixtures;
pub mod flock;
pub mod fs;
pub mod probe;
pub mod process;
#[cfg(unix)]
pub mod sshd;
pub mod table;

pub use env::*;
pub use existing_install::*;
pub use faults::*;
pub use fixtures::*;
pub use flock::*;
pub use fs::*;
pub use probe::*;
pub use process::*;
pub use table::*;
