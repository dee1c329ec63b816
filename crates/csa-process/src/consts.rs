//! File names and time windows of liveness evidence, in one place.

use std::time::Duration;

/// The launcher's pid record: `<pid>` or `<pid> <starttime_ticks>`.
pub const DAEMON_PID_FILE: &str = "daemon.pid";
/// The daemon's record of the command it runs: `<pid> <starttime_ticks>`.
pub const CMD_PID_FILE: &str = "cmd.pid";
/// Folder of per-tool lock files, each held with `flock` by a running daemon.
pub const LOCKS_DIR: &str = "locks";
/// Extension of lock files in [`LOCKS_DIR`].
pub const LOCK_EXT: &str = "lock";
/// Files whose recent modification means the session is making progress.
pub const PROGRESS_FILES: [&str; 3] = ["output.log", "stderr.log", "output/acp-events.jsonl"];
/// A progress file modified within this window blocks reconciliation.
pub const PROGRESS_WINDOW: Duration = Duration::from_secs(30);
/// A legacy lock file (no start time) modified within this window counts as alive.
pub const LEGACY_LOCK_WINDOW: Duration = Duration::from_secs(60);
/// Reconciler artifacts: never evidence of anything.
pub const RECONCILER_ARTIFACTS: [&str; 2] = [".reconcile.lock", ".reconcile"];
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
