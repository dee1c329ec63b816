//! Lock and re-check: what every protocol that changes a session does first.
//!
//! [`Snapshot`] is what was read about a session (state, liveness, result,
//! completion). A change is decided twice: once on an unlocked snapshot (the
//! pre-check, which creates no file), and again on a fresh snapshot taken
//! while holding the session's `.reconcile.lock` ([`SessionGuard`]). Reconcile
//! and delete both go through this; only the holder of the guard may change
//! the session.

use std::fs::File;
use std::path::PathBuf;

use crate::completion::DaemonCompletion;
use crate::durable::{open_existing_lock_file, open_lock_file};
use crate::error::LoadError;
use crate::liveness::{Check, Liveness, LivenessProbe, Verdict};
use crate::load::{self, Loaded};
use crate::phase::Phase;
use crate::resolve::SessionLocation;
use crate::result::SessionResult;
use crate::state::SessionState;

use super::ReconcileError;
use super::decision::{CompletionFile, Facts, ResultFile};

/// `.reconcile.lock` held by this process: released when dropped.
#[derive(Debug)]
pub struct SessionGuard {
    file: File,
    path: PathBuf,
}

impl SessionGuard {
    /// Take the session's `.reconcile.lock` without blocking (creating it,
    /// 0600, if needed; a symlink there is refused). `None` when another
    /// reconciler holds it.
    pub fn try_lock(loc: &SessionLocation) -> Result<Option<SessionGuard>, ReconcileError> {
        let path = loc.dir.reconcile_lock();
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SessionGuard { file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(ReconcileError::Lock { path, source }),
        }
    }

    /// Whether another csa holds the session's `.reconcile.lock` now, found
    /// without creating the file or keeping a lock (for dry runs, which
    /// write nothing). A lock file that cannot be opened (a FIFO, a link) is
    /// the error the real run would meet; it is never waited on.
    pub fn held_elsewhere(loc: &SessionLocation) -> Result<bool, ReconcileError> {
        let Some(file) = open_existing_lock_file(&loc.dir.reconcile_lock())? else {
            return Ok(false);
        };
        Ok(matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        ))
    }

    /// The lock file this guard holds.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Whether the file this guard locked is still the session's
    /// `.reconcile.lock`: false when the session was moved away (removed)
    /// between opening the lock file and taking the lock.
    pub fn is_current(&self) -> bool {
        let Ok(at_path) = fs_err::symlink_metadata(&self.path) else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.file
                .metadata()
                .is_ok_and(|ours| ours.dev() == at_path.dev() && ours.ino() == at_path.ino())
        }
        #[cfg(not(unix))]
        {
            // No inode to compare: the file is still there, and still ours to read.
            at_path.is_file() && self.file.metadata().is_ok()
        }
    }
}

/// What was read about one session.
#[derive(Debug)]
pub struct Snapshot {
    pub state: Loaded<SessionState>,
    /// Probed for active sessions ([`Snapshot::read_all`]: for every phase).
    pub liveness: Option<Liveness>,
    pub result: ResultFile,
    pub result_value: Option<Loaded<SessionResult>>,
    pub completion: Option<DaemonCompletion>,
    pub completion_file: CompletionFile,
}

impl Snapshot {
    /// The pre-check's read; `preloaded` is a state the caller already read.
    pub fn read(
        loc: &SessionLocation,
        probe: &dyn LivenessProbe,
        preloaded: Option<Loaded<SessionState>>,
    ) -> Result<Snapshot, LoadError> {
        let state = match preloaded {
            Some(state) => state,
            None => load::load_state(&loc.dir)?,
        };
        Snapshot::read_with(loc, probe, Check::PreCheck, state, None, false)
    }

    /// Everything about a session whatever its phase (removal's reads): the
    /// state, the liveness verdict, `result.toml` and `daemon-completion.toml`,
    /// which the reconciler's reads skip for sessions that are not active.
    /// `preloaded` is a state the caller already read; it is kept only if
    /// the file still holds the same bytes.
    pub fn read_all(
        loc: &SessionLocation,
        probe: &dyn LivenessProbe,
        check: Check,
        preloaded: Option<Loaded<SessionState>>,
    ) -> Result<Snapshot, LoadError> {
        let state = load::reload_state(&loc.dir, preloaded)?;
        Snapshot::read_with(loc, probe, check, state, None, true)
    }

    /// Read every file again (under the lock), with a fresh liveness probe.
    /// Files whose bytes have not changed keep their earlier parse.
    pub fn reread(
        loc: &SessionLocation,
        probe: &dyn LivenessProbe,
        earlier: Snapshot,
    ) -> Result<Snapshot, LoadError> {
        let state = load::reload_state(&loc.dir, Some(earlier.state))?;
        Snapshot::read_with(
            loc,
            probe,
            Check::UnderLock,
            state,
            earlier.result_value,
            false,
        )
    }

    fn read_with(
        loc: &SessionLocation,
        probe: &dyn LivenessProbe,
        check: Check,
        state: Loaded<SessionState>,
        earlier_result: Option<Loaded<SessionResult>>,
        every_phase: bool,
    ) -> Result<Snapshot, LoadError> {
        let mut snapshot = Snapshot {
            liveness: None,
            result: ResultFile::Missing,
            result_value: None,
            completion: None,
            completion_file: CompletionFile::Missing,
            state,
        };
        if snapshot.state.value.phase() != Phase::Active && !every_phase {
            return Ok(snapshot);
        }
        let tools = snapshot.state.value.tool_names();
        let liveness = probe.judge(&loc.dir, &loc.id, &tools, check);
        tracing::debug!(
            ?check,
            verdict = liveness.verdict.as_str(),
            blocked_by_progress = liveness.blocked_by_progress,
            evidence = %liveness.summary(),
            "liveness"
        );
        snapshot.liveness = Some(liveness);
        snapshot.result = match load::reload_result(&loc.dir, earlier_result) {
            Ok(loaded) => {
                let written_by = loaded.value.termination_reason();
                snapshot.result_value = Some(loaded);
                ResultFile::Valid { written_by }
            }
            Err(err) if err.is_missing() => ResultFile::Missing,
            Err(_) => ResultFile::Broken,
        };
        if snapshot.result == ResultFile::Missing {
            match load::load_daemon_completion(&loc.dir) {
                Ok(loaded) => {
                    snapshot.completion = Some(loaded.value);
                    snapshot.completion_file = CompletionFile::Usable;
                }
                Err(err) if err.is_missing() => {}
                Err(_) => snapshot.completion_file = CompletionFile::Unusable,
            }
        }
        Ok(snapshot)
    }

    /// The facts the decision looks at.
    pub fn facts(&self) -> Facts {
        Facts {
            phase: self.state.value.phase(),
            verdict: self
                .liveness
                .as_ref()
                .map_or(Verdict::Unknown, |l| l.verdict),
            result: self.result.clone(),
            completion: self.completion_file,
        }
    }

    /// The files as read, when they are known exactly.
    pub fn files(&self) -> Option<(SessionState, Option<SessionResult>)> {
        let known = self.state.value.phase() == Phase::Active && self.result != ResultFile::Broken;
        let result = self.result_value.as_ref().map(|r| r.value.clone());
        known.then(|| (self.state.value.clone(), result))
    }

    /// The liveness evidence as one line (empty when not probed).
    pub fn evidence(&self) -> String {
        self.liveness
            .as_ref()
            .map(Liveness::summary)
            .unwrap_or_default()
    }
}
