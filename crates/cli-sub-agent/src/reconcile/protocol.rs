//! The reconcile protocol (contract §6), step by step.
//!
//! 1. Unlocked pre-check: read state, liveness, result and completion; if
//!    nothing is to be done, return without creating any file.
//! 2. Take `.reconcile.lock` without blocking (held elsewhere: skipped), then
//!    read and decide again under the lock.
//! 3. Publish the result with no clobber (a real result that appeared
//!    meanwhile is kept: late result).
//! 4. Apply the `Retired` phase event and set the termination reason.
//! 5. Persist `state.toml` durably.
//! 6. Record the cooldown marker.
//!
//! If step 4 or 5 fails after step 3 published our result, the result is
//! removed only if its bytes are unchanged, `state.toml` is left as it was, no
//! marker is written, and the error is reported. Fault points (`crate::fault`)
//! sit between the steps: `reconcile:locked`, `reconcile:publish`,
//! `reconcile:transition`, `reconcile:state-write`, `reconcile:cooldown`,
//! `reconcile:done`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use csa_process::{HeldLocks, Liveness, ProbeContext};
use csa_session::consts::{RECONCILE_LOCK_FILE, RESULT_FILE, STATE_FILE};
use csa_session::durable::{self, Published, Removal};
use csa_session::{
    CooldownMarker, DaemonCompletion, LoadError, Loaded, Phase, PhaseEvent, SessionLocation,
    SessionResult, SessionState,
};

use super::decision::{Action, CompletionFile, ResultFile, decide};
use super::outcome::{Outcome, Report};
use super::synthetic;
use crate::fault;

/// When the cooldown marker is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CooldownMode {
    /// As the last step of each reconcile.
    Immediate,
    /// Once per sessions folder, by [`Reconciler::flush_cooldown`] at the end of a
    /// batch, with the newest `completed_at` (thousands of reconciles would
    /// otherwise rewrite and fsync the same file thousands of times).
    Batched,
}

/// Why a session is retired; decides its `termination_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// A synthetic failure: `orphaned_process`, always set.
    Orphaned,
    /// A real result exists: `completed`, only if empty.
    Completed,
    /// Finalized from `daemon-completion.toml`: `daemon_completion`, only if empty.
    DaemonCompletion,
}

/// What the reconciler read about one session.
struct Snapshot {
    state: Loaded<SessionState>,
    liveness: Option<Liveness>,
    result: ResultFile,
    result_value: Option<Loaded<SessionResult>>,
    completion: Option<DaemonCompletion>,
    completion_file: CompletionFile,
}

impl Snapshot {
    /// The pre-check's read; `preloaded` is a state the caller already read.
    fn read(
        loc: &SessionLocation,
        probe: &ProbeContext,
        preloaded: Option<Loaded<SessionState>>,
    ) -> Result<Snapshot, LoadError> {
        let state = match preloaded {
            Some(state) => state,
            None => csa_session::load_state(&loc.dir)?,
        };
        Snapshot::read_with(loc, probe, state, None)
    }

    /// Read every file again (under the lock). Files whose bytes have not
    /// changed since `earlier` keep their parse instead of being parsed twice.
    fn reread(
        loc: &SessionLocation,
        probe: &ProbeContext,
        earlier: Snapshot,
    ) -> Result<Snapshot, LoadError> {
        let state = csa_session::reload_state(&loc.dir, Some(earlier.state))?;
        Snapshot::read_with(loc, probe, state, earlier.result_value)
    }

    fn read_with(
        loc: &SessionLocation,
        probe: &ProbeContext,
        state: Loaded<SessionState>,
        earlier_result: Option<Loaded<SessionResult>>,
    ) -> Result<Snapshot, LoadError> {
        let mut snapshot = Snapshot {
            liveness: None,
            result: ResultFile::Missing,
            result_value: None,
            completion: None,
            completion_file: CompletionFile::Missing,
            state,
        };
        if snapshot.state.value.phase() != Phase::Active {
            return Ok(snapshot);
        }
        let tools = snapshot.state.value.tool_names();
        snapshot.liveness = Some(csa_process::liveness(
            &loc.dir,
            loc.id.as_str(),
            &tools,
            probe,
        ));
        snapshot.result = match csa_session::reload_result(&loc.dir, earlier_result) {
            Ok(loaded) => {
                snapshot.result_value = Some(loaded);
                ResultFile::Valid
            }
            Err(err) if err.is_missing() => ResultFile::Missing,
            Err(_) => ResultFile::Broken,
        };
        if snapshot.result == ResultFile::Missing {
            match csa_session::load_daemon_completion(&loc.dir) {
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

    fn decide(&self) -> Action {
        let verdict = self
            .liveness
            .as_ref()
            .map_or(csa_process::Verdict::Unknown, |l| l.verdict);
        decide(
            self.state.value.phase(),
            verdict,
            self.result,
            self.completion_file,
        )
    }

    /// The files as read, when they are known exactly.
    fn files(&self) -> Option<(SessionState, Option<SessionResult>)> {
        let known = self.state.value.phase() == Phase::Active && self.result != ResultFile::Broken;
        let result = self.result_value.as_ref().map(|r| r.value.clone());
        known.then(|| (self.state.value.clone(), result))
    }

    fn evidence(&self) -> String {
        self.liveness
            .as_ref()
            .map(Liveness::summary)
            .unwrap_or_default()
    }
}

/// Reconciles sessions for one command.
#[derive(Debug)]
pub struct Reconciler<'a> {
    probe: &'a ProbeContext,
    trigger: &'a str,
    dry_run: bool,
    cooldown: CooldownMode,
    pending: Mutex<HashMap<PathBuf, CooldownMarker>>,
}

impl<'a> Reconciler<'a> {
    /// `trigger` names the command in synthetic summaries (`session list`, ...).
    pub fn new(
        probe: &'a ProbeContext,
        trigger: &'a str,
        dry_run: bool,
        cooldown: CooldownMode,
    ) -> Reconciler<'a> {
        Reconciler {
            probe,
            trigger,
            dry_run,
            cooldown,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Reconcile one session; every failure becomes an `error` report.
    pub fn reconcile(&self, loc: &SessionLocation) -> Report {
        self.reconcile_loaded(loc, None)
    }

    /// Like [`Reconciler::reconcile`], with the pre-check reusing a state the
    /// caller has already read (the check under the lock always reads again).
    pub fn reconcile_loaded(
        &self,
        loc: &SessionLocation,
        state: Option<Loaded<SessionState>>,
    ) -> Report {
        match self.try_reconcile(loc, state) {
            Ok(report) => report,
            Err(err) => Report::error(loc.id.clone(), &err),
        }
    }

    /// Write the batched cooldown markers (no-op in immediate mode).
    pub fn flush_cooldown(&self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for (sessions_dir, marker) in pending {
            csa_session::write_cooldown_marker(&sessions_dir, &marker)?;
        }
        Ok(())
    }

    fn try_reconcile(
        &self,
        loc: &SessionLocation,
        preloaded: Option<Loaded<SessionState>>,
    ) -> anyhow::Result<Report> {
        // Step 1: unlocked pre-check. Creates no file.
        let first = Snapshot::read(loc, self.probe, preloaded)?;
        let action = first.decide();
        let report = |outcome, evidence: String, snap: &Snapshot| {
            let mut r = Report::new(loc.id.clone(), outcome, evidence);
            r.liveness = snap.liveness.clone();
            r
        };
        if let Action::NoChange(hold) = action {
            let evidence = join(&hold.describe(), &first.evidence());
            let mut r = report(Outcome::NoChange, evidence, &first);
            r.files = first.files();
            return Ok(r);
        }
        if self.dry_run {
            let evidence = join(&format!("would {}", describe(action)), &first.evidence());
            return Ok(report(planned_outcome(action), evidence, &first));
        }

        // Step 2: the reconcile lock, then every check again under it.
        let mut lock = ReconcileLock::open(&loc.dir)?;
        let Some(_guard) = lock.try_take(&loc.dir)? else {
            let evidence = "another reconciler holds .reconcile.lock".to_owned();
            return Ok(report(Outcome::SkippedLocked, evidence, &first));
        };
        fault::hit("reconcile:locked")?;
        if let Err(err) = durable::sweep_temp_files(&loc.dir) {
            tracing::warn!(session = %loc.id, "cannot sweep temp files: {err}");
        }
        let fresh_probe = ProbeContext {
            now: SystemTime::now(),
            hostname: self.probe.hostname.clone(),
            boot_id: self.probe.boot_id.clone(),
            held: HeldLocks::new(),
        };
        let snap = Snapshot::reread(loc, &fresh_probe, first)?;
        let action = snap.decide();
        let evidence = snap.evidence();
        let ended = match action {
            Action::NoChange(hold) => {
                let evidence = join(&format!("{} (under lock)", hold.describe()), &evidence);
                let mut r = report(Outcome::NoChange, evidence, &snap);
                r.files = snap.files();
                return Ok(r);
            }
            Action::Retire => self.retire_with_result(loc, &snap)?,
            Action::FinalizeFromCompletion => {
                let completion = snap
                    .completion
                    .as_ref()
                    .context("daemon-completion.toml vanished under the lock")?;
                let result = synthetic::from_completion(
                    &snap.state.value,
                    &loc.dir,
                    self.trigger,
                    completion,
                    Utc::now(),
                );
                let outcome = Outcome::FinalizedFromCompletion;
                self.publish_and_retire(loc, &snap, &result, Ending::DaemonCompletion, outcome)?
            }
            Action::SynthesizeFailure => {
                let liveness = snap
                    .liveness
                    .as_ref()
                    .context("an active session always has a liveness verdict")?;
                let result = synthetic::synthetic_failure(
                    &snap.state.value,
                    &loc.dir,
                    self.trigger,
                    liveness,
                    Utc::now(),
                );
                let outcome = Outcome::SynthesizedFailure;
                self.publish_and_retire(loc, &snap, &result, Ending::Orphaned, outcome)?
            }
        };
        let mut r = report(ended.outcome, join(describe(action), &evidence), &snap);
        r.files = Some((ended.state, ended.result));
        Ok(r)
    }

    /// Dead with a valid result: steps 4-6 only.
    fn retire_with_result(&self, loc: &SessionLocation, snap: &Snapshot) -> anyhow::Result<Ended> {
        let state = self.transition_and_persist(loc, &snap.state, Ending::Completed)?;
        let completed_at = snap
            .result_value
            .as_ref()
            .map_or_else(Utc::now, |r| r.value.completed_at());
        self.record_cooldown(loc, completed_at)?;
        fault::hit("reconcile:done")?;
        Ok(Ended {
            outcome: Outcome::Retired,
            state,
            result: snap.result_value.as_ref().map(|r| r.value.clone()),
        })
    }

    /// Steps 3-6 for a result we write, with rollback if 4 or 5 fail.
    fn publish_and_retire(
        &self,
        loc: &SessionLocation,
        snap: &Snapshot,
        result: &SessionResult,
        ending: Ending,
        outcome: Outcome,
    ) -> anyhow::Result<Ended> {
        let result_path = loc.dir.join(RESULT_FILE);
        let bytes = result.to_toml_string().into_bytes();

        // Step 3: publish without clobbering a result that appeared meanwhile.
        fault::hit("reconcile:publish")?;
        let published = durable::publish_no_clobber(&result_path, &bytes)?;
        let (outcome, ending, on_disk) = match published {
            Published::Created => (outcome, ending, Some(result.clone())),
            Published::AlreadyExists => (
                Outcome::LateResultRetired,
                Ending::Completed,
                csa_session::load_result(&loc.dir).ok().map(|r| r.value),
            ),
        };
        let completed_at = on_disk
            .as_ref()
            .map_or_else(Utc::now, SessionResult::completed_at);

        // Steps 4 and 5: on failure, take back only our own, unchanged result.
        let state = match self.transition_and_persist(loc, &snap.state, ending) {
            Ok(state) => state,
            Err(err) if published == Published::Created => {
                let removal = durable::remove_if_unchanged(&result_path, &bytes);
                return Err(match removal {
                    Ok(Removal::Removed) => err.context("the published result was rolled back"),
                    Ok(Removal::Changed | Removal::Missing) => {
                        err.context("a newer result.toml replaced ours and was kept")
                    }
                    Err(rollback) => {
                        err.context(format!("rolling back result.toml also failed: {rollback}"))
                    }
                });
            }
            Err(err) => return Err(err),
        };

        // Step 6: the cooldown marker.
        self.record_cooldown(loc, completed_at)?;
        fault::hit("reconcile:done")?;
        Ok(Ended {
            outcome,
            state,
            result: on_disk,
        })
    }

    /// Steps 4 and 5: the `Retired` event, the termination reason, and a durable
    /// write of `state.toml`. Nothing is written unless every step succeeds.
    fn transition_and_persist(
        &self,
        loc: &SessionLocation,
        loaded: &Loaded<SessionState>,
        ending: Ending,
    ) -> anyhow::Result<SessionState> {
        fault::hit("reconcile:transition")?;
        let mut state = loaded.value.clone();
        state
            .apply_event(PhaseEvent::Retired)
            .with_context(|| format!("cannot retire session {}", loc.id))?;
        match ending {
            Ending::Orphaned => state.set_termination_reason("orphaned_process"),
            Ending::Completed => {
                state.set_termination_reason_if_empty("completed");
            }
            Ending::DaemonCompletion => {
                state.set_termination_reason_if_empty("daemon_completion");
            }
        }
        fault::hit("reconcile:state-write")?;
        durable::write_atomic(&loc.dir.join(STATE_FILE), state.to_toml_string().as_bytes())?;
        Ok(state)
    }

    fn record_cooldown(
        &self,
        loc: &SessionLocation,
        completed_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        fault::hit("reconcile:cooldown")?;
        let Some(sessions_dir) = loc.dir.parent() else {
            return Ok(());
        };
        let marker = CooldownMarker {
            session_id: loc.id.to_string(),
            completed_at,
        };
        match self.cooldown {
            CooldownMode::Immediate => {
                csa_session::write_cooldown_marker(sessions_dir, &marker)?;
            }
            CooldownMode::Batched => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let slot = pending
                    .entry(sessions_dir.to_path_buf())
                    .or_insert_with(|| marker.clone());
                if marker.completed_at > slot.completed_at {
                    *slot = marker;
                }
            }
        }
        Ok(())
    }
}

/// How a session that was changed ended.
struct Ended {
    outcome: Outcome,
    state: SessionState,
    result: Option<SessionResult>,
}

fn planned_outcome(action: Action) -> Outcome {
    match action {
        Action::NoChange(_) => Outcome::NoChange,
        Action::Retire => Outcome::Retired,
        Action::FinalizeFromCompletion => Outcome::FinalizedFromCompletion,
        Action::SynthesizeFailure => Outcome::SynthesizedFailure,
    }
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::NoChange(_) => "leave unchanged",
        Action::Retire => "retire with its existing result",
        Action::FinalizeFromCompletion => "publish a result from daemon-completion.toml and retire",
        Action::SynthesizeFailure => "publish a synthetic failure and retire as orphaned_process",
    }
}

fn join(what: &str, evidence: &str) -> String {
    if evidence.is_empty() {
        what.to_owned()
    } else {
        format!("{what}; {evidence}")
    }
}

/// `.reconcile.lock`: a `flock` target for reconcilers only.
struct ReconcileLock {
    lock: fd_lock::RwLock<File>,
}

impl ReconcileLock {
    /// Open (creating, 0600) the lock file; a symlink there is refused.
    fn open(session_dir: &Path) -> anyhow::Result<ReconcileLock> {
        let path = session_dir.join(RECONCILE_LOCK_FILE);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = options
            .open(&path)
            .with_context(|| format!("cannot open {} (a symlink is refused)", path.display()))?;
        Ok(ReconcileLock {
            lock: fd_lock::RwLock::new(file),
        })
    }

    /// Take the lock without blocking; `None` if another reconciler holds it.
    fn try_take(
        &mut self,
        session_dir: &Path,
    ) -> anyhow::Result<Option<fd_lock::RwLockWriteGuard<'_, File>>> {
        match self.lock.try_write() {
            Ok(guard) => Ok(Some(guard)),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(anyhow::Error::new(err).context(format!(
                "cannot lock {}",
                session_dir.join(RECONCILE_LOCK_FILE).display()
            ))),
        }
    }
}
