//! Every file and folder name of the state root and of a session dir, and the
//! time windows the store uses. Callers name files through these constants only.

use std::time::Duration;

/// Folder under the state home that holds every project's sessions.
pub const APP_DIR: &str = "cli-sub-agent";
/// Folder of older installs; read and reconciled in place, never created.
pub const LEGACY_APP_DIR: &str = "csa";
/// Folder under a project key that holds one folder per session.
pub const SESSIONS_DIR: &str = "sessions";

/// The session's state.
pub const STATE_FILE: &str = "state.toml";
/// The session's result, written once by the run or the reconciler.
pub const RESULT_FILE: &str = "result.toml";
/// Exit facts the daemon writes as it exits.
pub const DAEMON_COMPLETION_FILE: &str = "daemon-completion.toml";
/// The `flock` target reconcilers take; never a liveness signal.
pub const RECONCILE_LOCK_FILE: &str = ".reconcile.lock";
/// The most recent terminal write of a project, in its sessions folder.
pub const COOLDOWN_MARKER_FILE: &str = "cooldown-marker.toml";
/// The pid record the launcher writes.
pub const DAEMON_PID_FILE: &str = "daemon.pid";
/// Folder of per-tool lock files.
pub const LOCKS_DIR: &str = "locks";
/// The running tool's standard output.
pub const OUTPUT_LOG: &str = "output.log";
/// The running tool's standard error.
pub const STDERR_LOG: &str = "stderr.log";

/// Every temp file the durable writers create starts with this.
pub const TEMP_PREFIX: &str = ".csa-tmp-";
/// A temp file older than this was left by a crashed writer and may be swept.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// Permission bits of files the store creates.
pub const NEW_FILE_MODE: u32 = 0o600;
/// Permission bits of folders the store creates.
pub const NEW_DIR_MODE: u32 = 0o700;
