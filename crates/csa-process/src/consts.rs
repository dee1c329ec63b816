//! Time windows and limits of liveness evidence, in one place. File names
//! and paths come from `csa_session::layout`.

use std::time::Duration;

/// A progress file modified within this window blocks reconciliation.
pub const PROGRESS_WINDOW: Duration = Duration::from_secs(30);
/// A legacy lock file (no start time) modified within this window counts as alive.
pub const LEGACY_LOCK_WINDOW: Duration = Duration::from_secs(60);
/// Largest pid record we accept (pids are positive `pid_t` values).
pub const MAX_PID: u32 = i32::MAX as u32;
/// How long `stop_group` and descendant cleanup wait after SIGKILL before
/// giving up on processes that do not die (for example, stuck in the kernel).
pub const AFTER_KILL_LIMIT: Duration = Duration::from_secs(5);
/// Where a process cannot be watched for its exit (no pidfd), the longest
/// pause between two probes of a bounded-probe fallback.
pub const PROBE_INTERVAL_MAX: Duration = Duration::from_millis(50);
/// Largest descriptor number (exclusive) that fallback loops over descriptors
/// visit when the platform has no way to list or range-close them.
pub const FD_SWEEP_CAP: i32 = 65_536;
/// Where a [`crate::watcher::Watcher`] cannot be event-driven, its first
/// pause before the caller looks again ...
pub const WATCH_POLL_FIRST: Duration = Duration::from_millis(10);
/// ... doubling up to this.
pub const WATCH_POLL_MAX: Duration = Duration::from_millis(250);
/// The first buffer for one `read` of `/proc/locks` (a few hundred locks) ...
pub const LOCKS_FIRST_READ: usize = 64 * 1024;
/// ... doubled while a read fills it, up to this; a larger table is unknown.
pub const LOCKS_MAX_READ: usize = 16 * 1024 * 1024;
/// Most passes over a lock table larger than the kernel hands out in one
/// `read` (a page): each pass may skip a record, so passes are repeated until
/// two agree, and every lock any of them saw counts as held.
pub const LOCKS_MAX_PASSES: usize = 4;
