//! Named fault points between the steps of the store's protocols, for crash,
//! rollback and race tests.
//!
//! Each point is a [`FaultPoint`] variant, named once. With the cargo feature
//! `fault-injection` (enabled only by the test builds of the `csa` binary),
//! and once the program opted in with [`enable_from_env`] (the `csa` binary
//! does at startup; a library user, such as an in-process test, does not and
//! so is never faulted by its environment),
//! `CSA_FAULT=<point>:<mode>[,<point>:<mode>...]` acts at the named point:
//! `error` makes that step fail, `abort` kills the process there (a crash),
//! `panic` panics there (a bug), `pause` creates `$CSA_FAULT_DIR/<point>.paused` and waits (up to 60 s) for
//! `<point>.resume`, so a test can act in the window. Without the feature,
//! [`hit`] is an empty inline function: release builds cannot be faulted.

/// The environment variable that selects fault points.
pub const FAULT_ENV: &str = "CSA_FAULT";
/// The folder `pause` uses for its handshake files.
pub const FAULT_DIR_ENV: &str = "CSA_FAULT_DIR";

/// A place in a protocol where a test can make csa fail, crash or wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// Reconcile: the unlocked pre-check decided a change, before
    /// `.reconcile.lock` is taken.
    ReconcileChecked,
    /// Reconcile: after `.reconcile.lock` is taken, before the re-check.
    ReconcileLocked,
    /// Reconcile: before the result is published.
    ReconcilePublish,
    /// Reconcile: after publishing, before the phase event.
    ReconcileTransition,
    /// Reconcile: before `state.toml` is written.
    ReconcileStateWrite,
    /// Reconcile: after `state.toml` is written, before the cooldown marker.
    ReconcileCooldown,
    /// Reconcile: after the cooldown marker.
    ReconcileDone,
    /// Daemon ending: before `daemon-completion.toml` is written.
    DaemonCompletion,
    /// Daemon ending: before `result.toml` is published.
    DaemonResult,
    /// Daemon ending: before the retired `state.toml` is written.
    DaemonState,
    /// Daemon ending: before the cooldown marker.
    DaemonCooldown,
    /// Any atomic replace: after the rename, before the folder is fsynced.
    DurableDirSync,
    /// Session creation: the complete dir is staged, before its rename.
    CreateStaged,
    /// `csa run`: the session exists, before its daemon is started.
    RunCreated,
    /// `csa run`: its daemon was started, before `csa run` hears from it.
    RunSpawned,
    /// Daemon: `daemon.pid` names it, before it starts the command.
    DaemonPidWritten,
    /// Removal: after `.reconcile.lock` is taken, before the re-check.
    RemoveLocked,
    /// Removal: after the dir was renamed into `.trash`, before the fsyncs.
    RemoveRenamed,
    /// Removal: after the sessions folder and `.trash` are fsynced, before
    /// the trashed dir is removed.
    RemoveSynced,
    /// Removal: after the first entry of the trashed dir is removed (a
    /// half-removed dir in `.trash`).
    RemovePurging,
    /// `csa session top`: the live view's first frame is drawn (a panic
    /// here tests that the terminal is restored).
    TopDrawn,
}

impl FaultPoint {
    /// Every point of the reconcile protocol, in order.
    pub const RECONCILE: [FaultPoint; 7] = [
        FaultPoint::ReconcileChecked,
        FaultPoint::ReconcileLocked,
        FaultPoint::ReconcilePublish,
        FaultPoint::ReconcileTransition,
        FaultPoint::ReconcileStateWrite,
        FaultPoint::ReconcileCooldown,
        FaultPoint::ReconcileDone,
    ];

    /// Every point of the daemon's ending, in order.
    pub const DAEMON: [FaultPoint; 4] = [
        FaultPoint::DaemonCompletion,
        FaultPoint::DaemonResult,
        FaultPoint::DaemonState,
        FaultPoint::DaemonCooldown,
    ];

    /// Every point of the removal protocol, in order.
    pub const REMOVE: [FaultPoint; 4] = [
        FaultPoint::RemoveLocked,
        FaultPoint::RemoveRenamed,
        FaultPoint::RemoveSynced,
        FaultPoint::RemovePurging,
    ];

    /// The name `CSA_FAULT` uses.
    pub fn name(self) -> &'static str {
        match self {
            FaultPoint::ReconcileChecked => "reconcile:checked",
            FaultPoint::ReconcileLocked => "reconcile:locked",
            FaultPoint::ReconcilePublish => "reconcile:publish",
            FaultPoint::ReconcileTransition => "reconcile:transition",
            FaultPoint::ReconcileStateWrite => "reconcile:state-write",
            FaultPoint::ReconcileCooldown => "reconcile:cooldown",
            FaultPoint::ReconcileDone => "reconcile:done",
            FaultPoint::DaemonCompletion => "daemon:completion",
            FaultPoint::DaemonResult => "daemon:result",
            FaultPoint::DaemonState => "daemon:state",
            FaultPoint::DaemonCooldown => "daemon:cooldown",
            FaultPoint::DurableDirSync => "durable:dir-sync",
            FaultPoint::CreateStaged => "create:staged",
            FaultPoint::RunCreated => "run:created",
            FaultPoint::RunSpawned => "run:spawned",
            FaultPoint::DaemonPidWritten => "daemon:pid-written",
            FaultPoint::RemoveLocked => "remove:locked",
            FaultPoint::RemoveRenamed => "remove:renamed",
            FaultPoint::RemoveSynced => "remove:synced",
            FaultPoint::RemovePurging => "remove:purging",
            FaultPoint::TopDrawn => "top:drawn",
        }
    }

    /// `<point>:<mode>`, one entry of `CSA_FAULT`.
    pub fn spec(self, mode: FaultMode) -> String {
        format!("{}:{}", self.name(), mode.name())
    }
}

impl std::fmt::Display for FaultPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens at a selected fault point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    Error,
    Abort,
    Pause,
    Panic,
}

impl FaultMode {
    pub fn name(self) -> &'static str {
        match self {
            FaultMode::Error => "error",
            FaultMode::Abort => "abort",
            FaultMode::Pause => "pause",
            FaultMode::Panic => "panic",
        }
    }
}

/// A step that failed because a test asked it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("injected fault at {point}{detail}")]
pub struct InjectedFault {
    pub point: FaultPoint,
    /// Empty for `error`; says why for a pause that could not complete.
    pub detail: String,
}

/// The fault points this process opted into (see [`enable_from_env`]).
#[cfg(feature = "fault-injection")]
static SPEC: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Read `CSA_FAULT` once, for this process: only a program that calls this
/// can be faulted. A no-op without the `fault-injection` feature.
pub fn enable_from_env() {
    #[cfg(feature = "fault-injection")]
    let _ = SPEC.set(std::env::var(FAULT_ENV).ok());
}

/// Act at `point` if `CSA_FAULT` names it (and the program opted in).
#[cfg(feature = "fault-injection")]
pub fn hit(point: FaultPoint) -> Result<(), InjectedFault> {
    let Some(Some(spec)) = SPEC.get() else {
        return Ok(());
    };
    for entry in spec.split(',') {
        let Some((name, mode)) = entry.rsplit_once(':') else {
            continue;
        };
        if name != point.name() {
            continue;
        }
        match mode {
            "abort" => {
                tracing::warn!(%point, "fault injection: aborting");
                std::process::abort();
            }
            "pause" => pause(point)?,
            "panic" => panic!("injected panic at {point}"),
            _ => {
                return Err(InjectedFault {
                    point,
                    detail: String::new(),
                });
            }
        }
    }
    Ok(())
}

/// Wait for the test's `<point>.resume` file (test builds only; a poll is
/// fine here: no user ever waits on it).
#[cfg(feature = "fault-injection")]
fn pause(point: FaultPoint) -> Result<(), InjectedFault> {
    use std::time::{Duration, Instant};
    let failed = |detail: &str| InjectedFault {
        point,
        detail: format!(" ({detail})"),
    };
    let dir = std::env::var_os(FAULT_DIR_ENV)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| failed("CSA_FAULT_DIR must be set for pause faults"))?;
    fs_err::write(dir.join(format!("{}.paused", point.name())), b"")
        .map_err(|err| failed(&err.to_string()))?;
    let resume = dir.join(format!("{}.resume", point.name()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !resume.exists() {
        if Instant::now() >= deadline {
            return Err(failed("the pause was never resumed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Without the `fault-injection` feature fault points do not exist.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn hit(_point: FaultPoint) -> Result<(), InjectedFault> {
    Ok(())
}
