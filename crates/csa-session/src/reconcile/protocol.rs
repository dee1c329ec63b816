//! The reconcile protocol (contract §6), step by step.
//!
//! 1. Unlocked pre-check: read and decide; with nothing to do, return without
//!    creating any file.
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
//! marker is written, and the error is reported. A state write that was
//! renamed into place but whose folder could not be synced is *written*: the
//! result stays, and only the error is reported. [`FaultPoint`]s sit between
//! the steps.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::cooldown::{CooldownMarker, write_cooldown_marker};
use crate::durable::{self, Removal, sweep_temp_files};
use crate::fault::{self, FaultPoint};
use crate::layout::SessionsDir;
use crate::liveness::LivenessProbe;
use crate::load::{Loaded, is_initializing, load_result};
use crate::phase::PhaseEvent;
use crate::resolve::SessionLocation;
use crate::result::SessionResult;
use crate::state::SessionState;
use crate::vocab::Trigger;

use super::decision::{Decision, Hold, Plan, Publish, ReasonRule, decide};
use super::guard::{SessionGuard, Snapshot};
use super::outcome::{Outcome, Report};
use super::results::{from_completion, synthetic_failure};
use super::{ReconcileError, Undo};

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

/// Reconciles sessions for one command.
pub struct Reconciler<'a> {
    probe: &'a dyn LivenessProbe,
    trigger: Trigger,
    dry_run: bool,
    cooldown: CooldownMode,
    sweep_settled: bool,
    pending: Mutex<HashMap<PathBuf, (SessionsDir, CooldownMarker)>>,
}

impl std::fmt::Debug for Reconciler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("trigger", &self.trigger)
            .field("dry_run", &self.dry_run)
            .field("cooldown", &self.cooldown)
            .field("sweep_settled", &self.sweep_settled)
            .finish_non_exhaustive()
    }
}

/// The result on disk once step 3 is done, and whether it is ours.
struct Publication {
    result: SessionResult,
    /// Our file, held, when step 3 created it (what a rollback may remove).
    ours: Option<durable::Claim>,
    plan: Plan,
}

impl<'a> Reconciler<'a> {
    /// `trigger` names the command in synthetic summaries (`session list`, ...).
    pub fn new(
        probe: &'a dyn LivenessProbe,
        trigger: Trigger,
        dry_run: bool,
        cooldown: CooldownMode,
    ) -> Reconciler<'a> {
        Reconciler {
            probe,
            trigger,
            dry_run,
            cooldown,
            sweep_settled: false,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Also sweep, in sessions that are no longer active, the temp files a
    /// crashed writer left (older than a minute). For `csa session reconcile`,
    /// which reads each session's folder anyway; never for `list`, whose
    /// steady state must not list every session's folder.
    pub fn sweeping_settled_sessions(mut self) -> Self {
        self.sweep_settled = true;
        self
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
        let _span = tracing::info_span!("reconcile", session = %loc.id).entered();
        let report = match self.try_reconcile(loc, state) {
            Ok(report) => report,
            // Removed meanwhile: whatever failed, there is nothing to change.
            Err(err) if was_removed(loc) => {
                tracing::debug!(%err, "the session dir is gone");
                removed(loc)
            }
            Err(err) => Report::error(loc.id.clone(), err),
        };
        match &report.error {
            Some(err) => tracing::warn!(
                outcome = report.outcome.as_str(),
                "{}",
                crate::error::chain(err)
            ),
            None if report.outcome.changed() => {
                tracing::info!(outcome = report.outcome.as_str(), evidence = %report.evidence)
            }
            None => tracing::debug!(outcome = report.outcome.as_str(), evidence = %report.evidence),
        }
        report
    }

    /// Write the batched cooldown markers (no-op in immediate mode).
    pub fn flush_cooldown(&self) -> Result<(), ReconcileError> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for (sessions, marker) in pending.into_values() {
            write_cooldown_marker(&sessions, &marker)?;
        }
        Ok(())
    }

    fn try_reconcile(
        &self,
        loc: &SessionLocation,
        preloaded: Option<Loaded<SessionState>>,
    ) -> Result<Report, ReconcileError> {
        // Step 1: unlocked pre-check. Creates no file.
        let first = match Snapshot::read(loc, self.probe, preloaded) {
            Ok(first) => first,
            Err(err) if is_initializing(&loc.dir, &err) => {
                let evidence = "initializing: the session has no state.toml yet".to_owned();
                return Ok(Report::new(loc.id.clone(), Outcome::NoChange, evidence));
            }
            // A dir that never got its state.toml (an older install's failed
            // run): nothing to reconcile, and not an error of this command.
            Err(err)
                if err.is_missing() && err.path() == loc.dir.state() && loc.dir.path().is_dir() =>
            {
                let evidence = "no state.toml, for over an hour: not a session to reconcile (`csa session clean --status error` removes it)".to_owned();
                return Ok(Report::new(loc.id.clone(), Outcome::NoChange, evidence));
            }
            Err(err) => return Err(err.into()),
        };
        let plan = match decide(&first.facts()) {
            Decision::NoChange(hold) => {
                if self.sweep_settled && !self.dry_run && matches!(hold, Hold::NotActive(_)) {
                    self.sweep(loc);
                }
                return Ok(no_change(loc, hold, &first, ""));
            }
            Decision::Change(plan) => plan,
        };
        tracing::debug!(plan = plan.describe(), evidence = %first.evidence(), "pre-check");
        if self.dry_run {
            let evidence = join(&format!("would {}", plan.describe()), &first.evidence());
            return Ok(report(loc, plan.outcome, evidence, &first));
        }

        // Step 2: the reconcile lock, then every check again under it.
        fault::hit(FaultPoint::ReconcileChecked)?;
        let Some(guard) = SessionGuard::try_lock(loc)? else {
            let evidence = "another reconciler holds .reconcile.lock".to_owned();
            return Ok(report(loc, Outcome::SkippedLocked, evidence, &first));
        };
        if !guard.is_current() {
            // Moved away between opening the lock file and taking the lock.
            return Ok(removed(loc));
        }
        tracing::debug!(path = %guard.path().display(), "took the reconcile lock");
        fault::hit(FaultPoint::ReconcileLocked)?;
        self.sweep(loc);
        let snap = Snapshot::reread(loc, self.probe, first)?;
        let plan = match decide(&snap.facts()) {
            Decision::NoChange(hold) => return Ok(no_change(loc, hold, &snap, " (under lock)")),
            Decision::Change(plan) => plan,
        };
        tracing::debug!(plan = plan.describe(), "decided under the lock");
        let what = plan.describe();
        let Some((outcome, state, result)) = self.apply(loc, &snap, plan)? else {
            return Ok(no_change(
                loc,
                Hold::ResultInProgress,
                &snap,
                " (appeared under lock)",
            ));
        };
        let mut r = report(loc, outcome, join(what, &snap.evidence()), &snap);
        r.files = Some((state, Some(result)));
        Ok(r)
    }

    /// Steps 3 to 6, in order, for a plan decided under the lock. `None`
    /// when a result that cannot be read appeared before the publish (a
    /// writer in progress): nothing is changed.
    fn apply(
        &self,
        loc: &SessionLocation,
        snap: &Snapshot,
        plan: Plan,
    ) -> Result<Option<(Outcome, SessionState, SessionResult)>, ReconcileError> {
        // Step 3: publish without clobbering a result that appeared meanwhile.
        let Some(publication) = self.publish(loc, snap, plan)? else {
            return Ok(None);
        };
        let undo = |cause: ReconcileError| undo_publication(loc, &publication, cause);

        // Step 4: the `Retired` phase event and the termination reason.
        let state = fault::hit(FaultPoint::ReconcileTransition)
            .map_err(ReconcileError::from)
            .and_then(|()| retired_state(loc, &snap.state.value, &publication.plan.reason))
            .map_err(undo)?;

        // Step 5: persist `state.toml`.
        let write = fault::hit(FaultPoint::ReconcileStateWrite)
            .map_err(ReconcileError::from)
            .and_then(|()| {
                durable::write_atomic(&loc.dir.state(), state.to_toml_string().as_bytes())
                    .map_err(ReconcileError::from)
            });
        match write {
            Ok(()) => {}
            // Renamed into place: the session is retired with its result.
            Err(ReconcileError::Write(err)) if err.is_in_place() => return Err(err.into()),
            Err(err) => return Err(undo(err)),
        }
        tracing::info!(path = %loc.dir.state().display(), "wrote the retired state");

        // Step 6: the cooldown marker.
        fault::hit(FaultPoint::ReconcileCooldown)?;
        self.record_cooldown(loc, publication.result.completed_at())?;
        fault::hit(FaultPoint::ReconcileDone)?;
        Ok(Some((publication.plan.outcome, state, publication.result)))
    }

    /// Step 3. `None` when a result appeared meanwhile that cannot be read.
    fn publish(
        &self,
        loc: &SessionLocation,
        snap: &Snapshot,
        plan: Plan,
    ) -> Result<Option<Publication>, ReconcileError> {
        let now = Utc::now();
        let state = &snap.state.value;
        let result = match plan.publish {
            Publish::Nothing => {
                let existing = snap.result_value.as_ref().map(|r| r.value.clone());
                return Ok(existing.map(|result| Publication {
                    result,
                    ours: None,
                    plan,
                }));
            }
            Publish::FromCompletion => match &snap.completion {
                Some(completion) => from_completion(state, &loc.dir, self.trigger, completion, now),
                None => return Ok(None),
            },
            Publish::SyntheticFailure => {
                let Some(liveness) = &snap.liveness else {
                    return Ok(None);
                };
                synthetic_failure(state, &loc.dir, self.trigger, liveness, now)
            }
        };
        fault::hit(FaultPoint::ReconcilePublish)?;
        let bytes = result.to_toml_string().into_bytes();
        match durable::publish_claimed(&loc.dir.result(), &bytes)? {
            Some(claim) => {
                tracing::info!(path = %loc.dir.result().display(), "published the result");
                Ok(Some(Publication {
                    result,
                    ours: Some(claim),
                    plan,
                }))
            }
            None => {
                let Ok(late) = load_result(&loc.dir) else {
                    return Ok(None);
                };
                tracing::info!("a real result appeared first; it is kept");
                let plan = plan.with_late_result(late.value.termination_reason().as_ref());
                Ok(Some(Publication {
                    result: late.value,
                    ours: None,
                    plan,
                }))
            }
        }
    }

    /// Remove the stale temp files crashed writers left in a sessions folder
    /// itself (the cooldown marker is written there). Nothing in a dry run.
    pub fn sweep_folder(&self, sessions: &SessionsDir) {
        if self.dry_run {
            return;
        }
        match sweep_temp_files(&sessions.path) {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(count, folder = %sessions.path.display(), "swept temp files left by a crashed writer")
            }
            Err(err) => tracing::warn!("cannot sweep temp files: {err}"),
        }
    }

    /// Remove the stale temp files crashed writers left in the session dir.
    fn sweep(&self, loc: &SessionLocation) {
        match sweep_temp_files(loc.dir.path()) {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "swept temp files left by a crashed writer"),
            Err(err) => tracing::warn!("cannot sweep temp files: {err}"),
        }
    }

    fn record_cooldown(
        &self,
        loc: &SessionLocation,
        completed_at: DateTime<Utc>,
    ) -> Result<(), ReconcileError> {
        let Some(sessions) = loc.sessions_dir() else {
            return Ok(());
        };
        let marker = CooldownMarker {
            session_id: loc.id.to_string(),
            completed_at,
        };
        match self.cooldown {
            CooldownMode::Immediate => {
                write_cooldown_marker(&sessions, &marker)?;
            }
            CooldownMode::Batched => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let slot = pending
                    .entry(sessions.path.clone())
                    .or_insert_with(|| (sessions, marker.clone()));
                if marker.completed_at > slot.1.completed_at {
                    slot.1 = marker;
                }
            }
        }
        Ok(())
    }
}

/// Step 4, pure: the state retired with the plan's termination reason.
/// Whether the session dir itself is gone (moved to the trash by a removal).
fn was_removed(loc: &SessionLocation) -> bool {
    fs_err::symlink_metadata(loc.dir.path())
        .is_err_and(|err| err.kind() == std::io::ErrorKind::NotFound)
}

/// The report of a session removed while it was being reconciled.
fn removed(loc: &SessionLocation) -> Report {
    let evidence = "removed while being reconciled: nothing to do".to_owned();
    Report::new(loc.id.clone(), Outcome::Removed, evidence)
}

fn retired_state(
    loc: &SessionLocation,
    state: &SessionState,
    rule: &ReasonRule,
) -> Result<SessionState, ReconcileError> {
    let mut state = state.clone();
    state
        .apply_event(PhaseEvent::Retired)
        .map_err(|source| ReconcileError::Transition {
            id: loc.id.clone(),
            source,
        })?;
    if rule.overwrite {
        state.set_termination_reason(&rule.reason);
    } else {
        state.set_termination_reason_if_empty(&rule.reason);
    }
    Ok(state)
}

/// A step after the publish failed: take back our result if it is still
/// exactly ours, and say so in the error.
fn undo_publication(
    loc: &SessionLocation,
    publication: &Publication,
    cause: ReconcileError,
) -> ReconcileError {
    let Some(ours) = &publication.ours else {
        return cause;
    };
    let undo = match durable::take_back(&loc.dir.result(), ours) {
        Ok(Removal::Removed) => Undo::RolledBack,
        Ok(Removal::Changed | Removal::Missing) => Undo::KeptNewer,
        Err(err) => Undo::Failed(err),
    };
    tracing::warn!(%undo, "a step after the publish failed");
    ReconcileError::AfterPublish {
        undo,
        cause: Box::new(cause),
    }
}

fn report(loc: &SessionLocation, outcome: Outcome, evidence: String, snap: &Snapshot) -> Report {
    let mut r = Report::new(loc.id.clone(), outcome, evidence);
    r.liveness = snap.liveness.clone();
    r
}

fn no_change(loc: &SessionLocation, hold: Hold, snap: &Snapshot, suffix: &str) -> Report {
    let evidence = join(&format!("{}{suffix}", hold.describe()), &snap.evidence());
    let mut r = report(loc, Outcome::NoChange, evidence, snap);
    r.files = snap.files();
    r
}

fn join(what: &str, evidence: &str) -> String {
    if evidence.is_empty() {
        what.to_owned()
    } else {
        format!("{what}; {evidence}")
    }
}
