//! Time windows and limits of liveness evidence, in one place. File names
//! and paths come from `csa_session::layout`.

use std::time::Duration;

/// A progress file modified within this window blocks reconciliation.
pub const PROGRESS_WINDOW: Duration = Duration::from_secs(30);
/// A legacy lock file (no start time) modified within this window counts as alive.
pub const LEGACY_LOCK_WINDOW: Duration = Duration::from_secs(60);
/// Largest pid record we accept (pids are positive `pid_t` values).
pub const MAX_PID: u32 = i32::MAX as u32;
