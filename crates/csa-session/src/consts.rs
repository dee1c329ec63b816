//! Every file and folder name of the state root and of a session dir, and the
//! time windows and limits the store uses. Paths are built from these names
//! only by [`crate::layout`]; other crates use its types, never the names.

use std::time::Duration;

/// Folder under the state home that holds every project's sessions.
pub const APP_DIR: &str = "cli-sub-agent";
/// Folder of older installs; read and reconciled in place, never created.
pub const LEGACY_APP_DIR: &str = "csa";
/// Folder under a project key that holds one folder per session.
pub const SESSIONS_DIR: &str = "sessions";
/// Folder inside a sessions folder where removed sessions wait to be deleted.
pub const TRASH_DIR: &str = ".trash";

/// The session's state.
pub const STATE_FILE: &str = "state.toml";
/// The session's result, written once by the run or the reconciler.
pub const RESULT_FILE: &str = "result.toml";
/// Exit facts the daemon writes as it exits.
pub const DAEMON_COMPLETION_FILE: &str = "daemon-completion.toml";
/// The `flock` target reconcilers take; never a liveness signal.
pub const RECONCILE_LOCK_FILE: &str = ".reconcile.lock";
/// Reconciler artifacts: never evidence of anything.
pub const RECONCILER_ARTIFACTS: [&str; 2] = [RECONCILE_LOCK_FILE, ".reconcile"];
/// The most recent terminal write of a project, in its sessions folder.
pub const COOLDOWN_MARKER_FILE: &str = "cooldown-marker.toml";
/// The `flock` target that serializes writers of the cooldown marker.
pub const COOLDOWN_LOCK_FILE: &str = ".cooldown-marker.lock";
/// The launcher's pid record: `<pid>` or `<pid> <starttime_ticks>`.
pub const DAEMON_PID_FILE: &str = "daemon.pid";
/// What `csa session kill` asks of the daemon before it signals it (the grace).
pub const STOP_REQUEST_FILE: &str = "stop-request.toml";
/// The pid record of the command the daemon runs: `<pid> <starttime_ticks>`.
pub const CMD_PID_FILE: &str = "cmd.pid";
/// Folder of per-tool lock files, each held with `flock` by a running daemon.
pub const LOCKS_DIR: &str = "locks";
/// Extension of lock files in [`LOCKS_DIR`].
pub const LOCK_EXT: &str = "lock";
/// The running tool's standard output.
pub const OUTPUT_LOG: &str = "output.log";
/// The running tool's standard error.
pub const STDERR_LOG: &str = "stderr.log";
/// `output.log` once it reached the run's `max_log_size` (one rotation kept).
pub const OUTPUT_LOG_ROTATED: &str = "output.log.1";
/// `stderr.log` once it reached the run's `max_log_size`.
pub const STDERR_LOG_ROTATED: &str = "stderr.log.1";
/// The default `csa run --max-log-size`: 512 MiB per stream.
pub const DEFAULT_MAX_LOG_SIZE: u64 = 512 << 20;
/// Events some tools stream while they work.
pub const ACP_EVENTS_LOG: &str = "output/acp-events.jsonl";
/// Files whose recent modification means the session is making progress.
pub const PROGRESS_FILES: [&str; 3] = [OUTPUT_LOG, STDERR_LOG, ACP_EVENTS_LOG];

/// A session being created is built under this prefix plus its id, then
/// renamed into place; listing and id resolution skip it.
pub const CREATING_PREFIX: &str = ".creating-";
/// A session dir without `state.toml` younger than this is being created
/// (by this or an older install), not broken.
pub const INITIALIZING_AGE: Duration = Duration::from_secs(3600);

/// How long the leader of a group fsync of removals gathers the others
/// before it syncs (only when it is not alone): longer means fewer fsyncs,
/// shorter less waiting.
pub const GROUP_SYNC_WINDOW: Duration = Duration::from_millis(10);

/// Every temp file the durable writers create starts with this.
pub const TEMP_PREFIX: &str = ".csa-tmp-";
/// A temp file older than this was left by a crashed writer and may be swept.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// Permission bits of files the store creates.
pub const NEW_FILE_MODE: u32 = 0o600;
/// Permission bits of folders the store creates.
pub const NEW_DIR_MODE: u32 = 0o700;

/// The environment variables `csa run` gives CMD (contract §8.1).
pub const ENV_SESSION_ID: &str = "CSA_SESSION_ID";
pub const ENV_SESSION_DIR: &str = "CSA_SESSION_DIR";
pub const ENV_PROJECT_ROOT: &str = "CSA_PROJECT_ROOT";
pub const ENV_TOOL: &str = "CSA_TOOL";
pub const ENV_DEPTH: &str = "CSA_DEPTH";

/// Most ancestors `genealogy::lineage` follows: nested runs are a few deep
/// (`CSA_MAX_DEPTH`, default 5); a longer chain was written by hand.
pub const MAX_LINEAGE: usize = 256;

/// Largest `/proc/self/mountinfo` read when looking for mount points inside
/// a session before removing it (a machine with thousands of mounts).
pub const MAX_MOUNTINFO_BYTES: u64 = 16 << 20;

/// How many session ids a shell completion offers at most (the newest that
/// match what was typed): only their `state.toml` files are read, so
/// completing stays quick however many sessions a project has.
pub const MAX_SUGGESTIONS: usize = 100;
