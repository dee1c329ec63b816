//! The removal protocol (contract §8.6), step by step:
//!
//! 1. **Survey** ([`Remover::survey`]), each session: reconcile it if it is
//!    active (a dead one is retired and then settled like any other), then
//!    read everything about it, unlocked: state, result, and a liveness
//!    verdict whatever its phase. Nothing is created for a session that is
//!    kept. With `--dry-run` the reconcile is only decided, and the session
//!    judged as it would be after it.
//! 2. **Lock** ([`Remover::remove`]): take its `.reconcile.lock` without
//!    blocking (held elsewhere: kept, locked by another csa), make sure the
//!    locked file is still the session's, and read and decide again under
//!    the lock, with a fresh liveness probe (the dir's age is the one the
//!    survey read: creating the lock file changed the dir). Then make sure
//!    the dir is still the real folder the survey read (not a symlink
//!    swapped in) and take every tool lock of it without blocking
//!    ([`under_lock`](super::under_lock)): one held, or a `locks/` that
//!    cannot be read, keeps the session.
//! 3. **Rename** the dir into `sessions/.trash/<c>/<id>-<unique>`: one
//!    rename, after which no command sees the session. The locks are
//!    released.
//! 4. **Sync** ([`Remover::finish`]): fsync the sessions folder and the
//!    trash (group commit: the removals of one command that reach this step
//!    together share one fsync).
//! 5. **Purge**: remove the dir from the trash, never following a symlink.
//!
//! A crash before step 3 leaves the session as it was; a crash after it
//! leaves it in the trash, which the next `delete` or `clean` empties
//! ([`Remover::empty_trash`], which fsyncs before it removes anything).
//! [`FaultPoint`]s sit between the steps.
//!
//! Kept settled sessions with temp files of a crashed writer get them swept
//! (under the lock), and staging folders of crashed creations older than an
//! hour are removed the same way ([`Remover::survey_staging`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::consts::INITIALIZING_AGE;
use crate::durable::{has_stale_temp_files, sweep_temp_files};
use crate::error::chain;
use crate::fault::{self, FaultPoint};
use crate::id::SessionId;
use crate::layout::{SessionDir, SessionsDir};
use crate::liveness::{Check, Liveness, LivenessProbe, Verdict};
use crate::load::{Loaded, is_gone, is_initializing_since, load_state};
use crate::phase::Phase;
use crate::reconcile::decision::{self as reconcile_decision, ResultFile};
use crate::reconcile::{CooldownMode, Outcome, Reconciler, SessionGuard, Snapshot};
use crate::resolve::SessionLocation;
use crate::state::SessionState;
use crate::vocab::Trigger;

use super::RemoveError;
use super::decision::{self, Decision, Facts, Keep, Policy, Standing, decide, human};
use super::mounts::Mounts;
use super::trash::{self, GroupSync};
use super::under_lock::{DirIdentity, hold_tool_locks};

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Deleted,
    /// `--dry-run`: it would have been deleted.
    WouldDelete,
    Kept,
}

impl Action {
    /// The words of a text line (`<ULID> would delete`), which `--json`
    /// uses too.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deleted => "deleted",
            Action::WouldDelete => "would delete",
            Action::Kept => "kept",
        }
    }
}

/// What was read about one session before any lock (step 1).
#[derive(Debug)]
pub struct Survey {
    pub loc: SessionLocation,
    pub facts: Facts,
    /// The liveness evidence (or why the state cannot be read), one line.
    pub evidence: String,
    /// What the reconcile did (or, dry run, would do) first; empty if nothing.
    pub note: String,
    /// The reconcile failed; the session stays as it was.
    pub error: Option<RemoveError>,
    /// A staging folder (`.creating-<id>`), not a session.
    staging: bool,
    /// The reconcile was skipped: another csa holds `.reconcile.lock`.
    locked: bool,
    /// The real folder the dir was when surveyed (`None`: not one).
    identity: Option<DirIdentity>,
    /// The dir's modification time when surveyed, before any lock file of
    /// ours changed it: the age of a dir without a readable state.
    changed: Option<DateTime<Utc>>,
}

/// One session's removal report.
#[derive(Debug)]
pub struct Report {
    pub session_id: SessionId,
    pub action: Action,
    /// Why it was kept (`None` when deleted, or kept by an error).
    pub keep: Option<Keep>,
    /// One line: why it was (or would be) deleted or kept, with the evidence.
    pub reason: String,
    /// What went wrong. With [`Action::Deleted`] the session left `sessions/`
    /// but removing it from the trash failed (the next command retries).
    pub error: Option<RemoveError>,
    /// Where a deleted session waits for [`Remover::finish`].
    trashed: Option<Trashed>,
}

/// A session in the trash, waiting for [`Remover::finish`].
#[derive(Debug)]
struct Trashed {
    sessions: SessionsDir,
    entry: PathBuf,
}

impl Report {
    /// The session is in the trash, waiting for [`Remover::finish`].
    pub fn is_trashed(&self) -> bool {
        self.trashed.is_some()
    }

    /// Kept because something of it may still be running.
    pub fn is_live(&self) -> bool {
        self.keep.as_ref().is_some_and(Keep::is_live)
    }

    /// Kept because it is active: `csa session kill` is what stops it (a
    /// settled session with a live process is past what kill does).
    pub fn is_kept_active(&self) -> bool {
        matches!(self.keep, Some(Keep::Active(_)))
    }
}

/// Removes sessions for one command.
pub struct Remover<'a> {
    probe: &'a dyn LivenessProbe,
    reconciler: Reconciler<'a>,
    policy: Policy,
    dry_run: bool,
    now: DateTime<Utc>,
    /// One group commit per sessions folder (step 4).
    syncs: Mutex<HashMap<PathBuf, Arc<GroupSync>>>,
    /// The mount points that may be in a session dir, read once, at the
    /// first removal that gets as far as the lock.
    mounts: OnceLock<Mounts>,
}

impl std::fmt::Debug for Remover<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remover")
            .field("policy", &self.policy)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// What one read of a session gave.
struct Read {
    facts: Facts,
    evidence: String,
    snapshot: Option<Snapshot>,
}

impl<'a> Remover<'a> {
    /// `trigger` names the command in the summaries of the reconciles it
    /// does first (`session delete`, `session clean`). Cooldown markers of
    /// those reconciles are written by [`Remover::flush_cooldown`].
    pub fn new(
        probe: &'a dyn LivenessProbe,
        trigger: Trigger,
        policy: Policy,
        dry_run: bool,
    ) -> Remover<'a> {
        Remover {
            probe,
            reconciler: Reconciler::new(probe, trigger, dry_run, CooldownMode::Batched),
            policy,
            dry_run,
            now: Utc::now(),
            syncs: Mutex::new(HashMap::new()),
            mounts: OnceLock::new(),
        }
    }

    /// Finish removing what crashed or failed removals left in the trash of
    /// `sessions` (nothing with `--dry-run`): how many were removed, and why
    /// each of the others could not be.
    pub fn empty_trash(&self, sessions: &SessionsDir) -> Result<trash::Emptied, RemoveError> {
        if self.dry_run {
            return Ok(trash::Emptied::default());
        }
        trash::empty_trash(sessions)
    }

    /// Step 1 for one session: reconcile it if active, then read and judge
    /// it, unlocked.
    pub fn survey(&self, loc: &SessionLocation) -> Survey {
        let _span = tracing::info_span!("remove", session = %loc.id).entered();
        let mut note = String::new();
        let mut error = None;
        let mut locked = false;
        let identity = DirIdentity::of(loc.dir.path());
        let changed = modified(&loc.dir);
        let preloaded = load_state(&loc.dir).ok();
        if let Some(state) = preloaded.as_ref().filter(|_| !self.dry_run)
            && state.value.phase() == Phase::Active
        {
            let report = self.reconciler.reconcile_loaded(loc, Some(state.clone()));
            if report.outcome.changed() {
                note = format!("reconciled first: {}", report.outcome.as_str());
            }
            locked = report.outcome == Outcome::SkippedLocked;
            error = report.error.map(RemoveError::from);
        }
        if self.dry_run {
            // What the real run would meet: another csa holding the lock, or
            // a lock file it cannot take.
            match SessionGuard::held_elsewhere(loc) {
                Ok(held) => locked = held,
                Err(err) => error = Some(err.into()),
            }
        }
        let mut read = self.read(loc, Check::PreCheck, preloaded, changed);
        if read.facts.standing == Standing::Gone {
            // Removed by another csa while it was being reconciled.
            error = None;
        }
        if self.dry_run
            && read.facts.standing == Standing::Active
            && let Some(snap) = &read.snapshot
            && let reconcile_decision::Decision::Change(plan) =
                reconcile_decision::decide(&snap.facts())
        {
            let completion_failed = snap
                .completion
                .as_ref()
                .is_some_and(|c| c.exit_code != 0 || c.status.is_failure());
            let existing = snap.result_value.as_ref().map(|r| &r.value);
            read.facts.standing = Standing::after_reconcile(&plan, existing, completion_failed);
            note = format!("would {} first", plan.describe());
        }
        Survey {
            loc: loc.clone(),
            facts: read.facts,
            evidence: read.evidence,
            note,
            error,
            staging: false,
            locked,
            identity,
            changed,
        }
    }

    /// Step 1 for the staging folders (`.creating-<id>`) of `sessions`: each
    /// is being created (younger than an hour) or abandoned by a crash.
    pub fn survey_staging(&self, sessions: &SessionsDir) -> Vec<Survey> {
        trash::staging_dirs(sessions)
            .into_iter()
            .map(|(id, path)| {
                let loc = SessionLocation {
                    id,
                    dir: SessionDir::new(path),
                    legacy: sessions.legacy,
                };
                let identity = DirIdentity::of(loc.dir.path());
                let (facts, evidence) = self.read_staging(&loc, Check::PreCheck);
                Survey {
                    changed: facts.last_accessed,
                    loc,
                    facts,
                    evidence,
                    note: String::new(),
                    error: None,
                    staging: true,
                    locked: false,
                    identity,
                }
            })
            .collect()
    }

    /// Set each survey's place among the newest of its project (for
    /// `--keep`); `project_of` says which project a session belongs to.
    pub fn rank<K: Eq + Hash>(
        &self,
        surveys: &mut [Survey],
        project_of: impl Fn(&SessionLocation) -> K,
    ) {
        let mut groups: HashMap<K, Vec<usize>> = HashMap::new();
        for (index, survey) in surveys.iter().enumerate() {
            groups
                .entry(project_of(&survey.loc))
                .or_default()
                .push(index);
        }
        for indices in groups.into_values() {
            let mut facts: Vec<Facts> = indices.iter().map(|&i| surveys[i].facts.clone()).collect();
            decision::rank(&mut facts, &self.policy);
            for (index, ranked) in indices.into_iter().zip(facts) {
                surveys[index].facts.newer = ranked.newer;
            }
        }
    }

    /// Decide on a survey and, when the session is to go (and this is not a
    /// dry run), carry out steps 2 and 3: it leaves `sessions/` for the
    /// trash. [`Remover::finish`] must follow.
    pub fn remove(&self, mut survey: Survey) -> Report {
        let _span = tracing::info_span!("remove", session = %survey.loc.id).entered();
        let report = match decide(&survey.facts, &self.policy, self.now) {
            // Still active because another csa was reconciling it.
            Decision::Keep(Keep::Active(Verdict::Dead)) if survey.locked => {
                let error = survey.error.take();
                kept(&survey, Keep::Locked, "", error)
            }
            Decision::Keep(keep) => {
                let settled = matches!(
                    survey.facts.standing,
                    Standing::Retired | Standing::Failed | Standing::Error
                );
                if settled && !self.dry_run && !survey.staging {
                    self.tidy(&survey.loc);
                }
                let error = survey.error.take();
                kept(&survey, keep, "", error)
            }
            Decision::Delete(_) if self.dry_run && survey.locked => {
                kept(&survey, Keep::Locked, "", None)
            }
            // The real run would fail to take the lock file (not a regular file).
            Decision::Delete(_) if self.dry_run && survey.error.is_some() => {
                let error = survey.error.take();
                Report {
                    session_id: survey.loc.id.clone(),
                    action: Action::Kept,
                    keep: None,
                    reason: error.as_ref().map(|e| chain(e)).unwrap_or_default(),
                    error,
                    trashed: None,
                }
            }
            Decision::Delete(standing) if self.dry_run => Report {
                session_id: survey.loc.id.clone(),
                action: Action::WouldDelete,
                keep: None,
                reason: deleted_reason(standing, &survey),
                error: None,
                trashed: None,
            },
            Decision::Delete(standing) => {
                let done = if survey.staging {
                    self.delete_staging(&survey, standing)
                } else {
                    self.delete(&survey, standing)
                };
                done.unwrap_or_else(|err| Report {
                    session_id: survey.loc.id.clone(),
                    action: Action::Kept,
                    keep: None,
                    reason: chain(&err),
                    error: Some(err),
                    trashed: None,
                })
            }
        };
        match (&report.action, &report.error) {
            (_, Some(err)) => tracing::warn!(action = report.action.as_str(), "{}", chain(err)),
            (Action::Deleted, None) => {
                tracing::info!(reason = %report.reason, "deleted")
            }
            _ => tracing::debug!(action = report.action.as_str(), reason = %report.reason),
        }
        report
    }

    /// Write the cooldown markers of the reconciles done on the way.
    pub fn flush_cooldown(&self) -> Result<(), RemoveError> {
        Ok(self.reconciler.flush_cooldown()?)
    }

    /// Steps 2 to 5 for a session decided `standing` on the unlocked read.
    fn delete(&self, survey: &Survey, standing: Standing) -> Result<Report, RemoveError> {
        let loc = &survey.loc;
        // Step 2: the lock, then every check again under it.
        let guard = match SessionGuard::try_lock(loc) {
            Ok(Some(guard)) if guard.is_current() => guard,
            Ok(Some(_)) => return Ok(kept(survey, Keep::Gone, "", None)),
            Ok(None) => return Ok(kept(survey, Keep::Locked, "", None)),
            Err(_) if !loc.dir.path().exists() => return Ok(kept(survey, Keep::Gone, "", None)),
            Err(err) => return Err(err.into()),
        };
        fault::hit(FaultPoint::RemoveLocked)?;
        // Still the real folder surveyed: a symlink swapped in is never read
        // through, nor moved.
        let replaced = || !DirIdentity::unchanged(survey.identity, loc.dir.path());
        if replaced() {
            return Ok(kept(survey, Keep::NotADirectory, " (under lock)", None));
        }
        let read = self.read(loc, Check::UnderLock, None, survey.changed);
        let facts = Facts {
            newer: survey.facts.newer,
            ..read.facts
        };
        if let Decision::Keep(keep) = decide(&facts, &self.policy, Utc::now()) {
            let survey = Survey {
                evidence: read.evidence,
                ..clone_survey(survey, facts)
            };
            return Ok(kept(&survey, keep, " (under lock)", None));
        }
        if let Some(point) = self.mounts.get_or_init(Mounts::read).inside(loc.dir.path()) {
            let keep = Keep::MountInside(point.to_path_buf());
            return Ok(kept(survey, keep, " (under lock)", None));
        }
        let tool_locks = match hold_tool_locks(&loc.dir) {
            Ok(held) => held,
            Err(keep) => return Ok(kept(survey, keep, " (under lock)", None)),
        };
        if replaced() {
            return Ok(kept(survey, Keep::NotADirectory, " (under lock)", None));
        }

        // Step 3: one rename into the trash; the locks have done their work.
        let sessions = sessions_of(loc)?;
        let entry = trash::move_to_trash(&sessions, loc.dir.path(), &loc.id)?;
        drop(tool_locks);
        drop(guard);
        let mut report = trashed(survey, standing, sessions, entry);
        if let Err(fault) = fault::hit(FaultPoint::RemoveRenamed) {
            // It is deleted; the next delete or clean empties the trash.
            report.trashed = None;
            report.error = Some(fault.into());
        }
        Ok(report)
    }

    /// Step 3 for an abandoned staging folder, after judging it again (its
    /// tool lock may not be held). No reconciler ever locks one.
    fn delete_staging(&self, survey: &Survey, standing: Standing) -> Result<Report, RemoveError> {
        let loc = &survey.loc;
        let (facts, evidence) = self.read_staging(loc, Check::UnderLock);
        if let Decision::Keep(keep) = decide(&facts, &self.policy, Utc::now()) {
            let survey = Survey {
                evidence,
                ..clone_survey(survey, facts)
            };
            return Ok(kept(&survey, keep, "", None));
        }
        if !DirIdentity::unchanged(survey.identity, loc.dir.path()) {
            return Ok(kept(survey, Keep::NotADirectory, "", None));
        }
        let tool_locks = match hold_tool_locks(&loc.dir) {
            Ok(held) => held,
            Err(keep) => return Ok(kept(survey, keep, "", None)),
        };
        let sessions = sessions_of(loc)?;
        let entry = match trash::move_to_trash(&sessions, loc.dir.path(), &loc.id) {
            Ok(entry) => entry,
            Err(_) if !loc.dir.path().exists() => return Ok(kept(survey, Keep::Gone, "", None)),
            Err(err) => return Err(err),
        };
        drop(tool_locks);
        Ok(trashed(survey, standing, sessions, entry))
    }

    /// Steps 4 and 5 for a report of [`Remover::remove`] (nothing for one
    /// that left nothing in the trash): wait for an fsync of its sessions
    /// folder and trash that started after its rename (group commit: the
    /// removals of one command that are here together share one), then remove
    /// it from the trash. When the fsync fails, the session stays in the
    /// trash for the next `delete` or `clean` (it is deleted all the same),
    /// and the report says why. Call it from as many threads as you like.
    pub fn finish(&self, mut report: Report) -> Report {
        let Some(Trashed { sessions, entry }) = report.trashed.take() else {
            return report;
        };
        let _span = tracing::info_span!("remove", session = %report.session_id).entered();
        // Step 4: make the rename durable.
        let shard = entry.parent().unwrap_or(&entry);
        let synced = self
            .group_sync(&sessions)
            .sync(&sessions, shard)
            .and_then(|()| Ok(fault::hit(FaultPoint::RemoveSynced)?));
        // Step 5: remove it from the trash.
        let purged = synced.and_then(|()| trash::purge(&entry));
        match purged {
            Ok(()) => tracing::debug!("removed from the trash"),
            Err(err) => {
                tracing::warn!("{}", chain(&err));
                report.error = Some(err);
            }
        }
        report
    }

    /// The group commit of a sessions folder.
    fn group_sync(&self, sessions: &SessionsDir) -> Arc<GroupSync> {
        let mut syncs = self.syncs.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(syncs.entry(sessions.path.clone()).or_default())
    }

    /// Everything about a session, read now: its standing, liveness verdict
    /// (whatever its phase) and last access. `changed` is the dir's
    /// modification time as the survey read it: the age of a dir without a
    /// readable state.
    fn read(
        &self,
        loc: &SessionLocation,
        check: Check,
        preloaded: Option<Loaded<SessionState>>,
        changed: Option<DateTime<Utc>>,
    ) -> Read {
        let facts = |standing, liveness: Option<&Liveness>, last_accessed| Facts {
            id: loc.id.clone(),
            standing,
            verdict: liveness.map_or(Verdict::Unknown, |l| l.verdict),
            alive_by_output_only: liveness.is_some_and(|l| l.blocked_by_progress),
            last_accessed,
            state_unreadable: false,
            unknown_despite_records: false,
            newer: 0,
        };
        match Snapshot::read_all(loc, self.probe, check, preloaded) {
            Ok(snap) => {
                let result = match snap.result {
                    ResultFile::Broken => Err(()),
                    _ => Ok(snap.result_value.as_ref().map(|r| &r.value)),
                };
                let standing = Standing::of(snap.state.value.phase(), result);
                let last = snap.state.value.last_accessed();
                Read {
                    facts: facts(standing, snap.liveness.as_ref(), Some(last)),
                    evidence: snap.evidence(),
                    snapshot: Some(snap),
                }
            }
            Err(err) if is_gone(&loc.dir, &err) => Read {
                facts: facts(Standing::Gone, None, None),
                evidence: String::new(),
                snapshot: None,
            },
            Err(err) if is_initializing_since(&err, changed.map(SystemTime::from)) => Read {
                facts: facts(Standing::Initializing, None, None),
                evidence: String::new(),
                snapshot: None,
            },
            Err(err) => {
                // In error: judged by its pid records and locks alone.
                let liveness = self.probe.judge(&loc.dir, &loc.id, &[], check);
                let evidence = format!("{}; {}", chain(&err), liveness.summary());
                Read {
                    facts: Facts {
                        state_unreadable: true,
                        unknown_despite_records: liveness.verdict == Verdict::Unknown
                            && records_a_process(&loc.dir),
                        ..facts(Standing::Error, Some(&liveness), changed)
                    },
                    evidence,
                    snapshot: None,
                }
            }
        }
    }

    /// A staging folder: being created while younger than an hour, else
    /// abandoned; judged by its pid records and tool lock.
    fn read_staging(&self, loc: &SessionLocation, check: Check) -> (Facts, String) {
        let changed = modified(&loc.dir);
        let young = changed.is_none_or(|at| {
            (Utc::now() - at)
                .to_std()
                .map_or(true, |age| age < INITIALIZING_AGE)
        });
        let (standing, liveness) = if !loc.dir.path().exists() {
            (Standing::Gone, None)
        } else if young {
            (Standing::Initializing, None)
        } else {
            let tools = load_state(&loc.dir)
                .map(|s| s.value.tool_names())
                .unwrap_or_default();
            let liveness = self.probe.judge(&loc.dir, &loc.id, &tools, check);
            (Standing::Abandoned, Some(liveness))
        };
        let facts = Facts {
            id: loc.id.clone(),
            standing,
            verdict: liveness.as_ref().map_or(Verdict::Unknown, |l| l.verdict),
            alive_by_output_only: liveness.as_ref().is_some_and(|l| l.blocked_by_progress),
            last_accessed: changed,
            state_unreadable: false,
            unknown_despite_records: false,
            newer: 0,
        };
        let evidence = liveness.as_ref().map(Liveness::summary).unwrap_or_default();
        (facts, evidence)
    }

    /// Sweep the temp files a crashed writer left in a kept, settled
    /// session (under its lock; skipped when another csa holds it).
    fn tidy(&self, loc: &SessionLocation) {
        if !has_stale_temp_files(loc.dir.path()) {
            return;
        }
        let Ok(Some(_guard)) = SessionGuard::try_lock(loc) else {
            return;
        };
        match sweep_temp_files(loc.dir.path()) {
            Ok(swept) => tracing::info!(swept, "swept temp files of a crashed writer"),
            Err(err) => tracing::warn!("cannot sweep temp files: {}", chain(&err)),
        }
    }
}

/// A kept report: the reason, with the evidence where it explains it.
fn kept(survey: &Survey, keep: Keep, suffix: &str, error: Option<RemoveError>) -> Report {
    let mut reason = format!("{}{suffix}", keep.describe());
    let explains = matches!(
        keep,
        Keep::Active(_)
            | Keep::StillRunning
            | Keep::Unconfirmed
            | Keep::NotSelected(Standing::Error)
    );
    for detail in [
        explains.then_some(survey.evidence.as_str()),
        Some(survey.note.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        if !detail.is_empty() {
            reason.push_str("; ");
            reason.push_str(detail);
        }
    }
    if let Some(err) = &error {
        reason.push_str("; ");
        reason.push_str(&chain(err));
    }
    Report {
        session_id: survey.loc.id.clone(),
        action: Action::Kept,
        keep: Some(keep),
        reason,
        error,
        trashed: None,
    }
}

/// The report of a session moved to the trash (step 3 done).
fn trashed(survey: &Survey, standing: Standing, sessions: SessionsDir, entry: PathBuf) -> Report {
    tracing::info!(trash = %entry.display(), "moved to the trash");
    Report {
        session_id: survey.loc.id.clone(),
        action: Action::Deleted,
        keep: None,
        reason: deleted_reason(standing, survey),
        error: None,
        trashed: Some(Trashed { sessions, entry }),
    }
}

/// Why a session is (or would be) deleted: its standing and age.
fn deleted_reason(standing: Standing, survey: &Survey) -> String {
    let mut reason = standing.as_str().to_owned();
    if let Some(age) = survey
        .facts
        .last_accessed
        .and_then(|at| (Utc::now() - at).to_std().ok())
    {
        let what = if standing == Standing::Abandoned {
            "created"
        } else {
            "last accessed"
        };
        reason.push_str(&format!(", {what} {} ago", human(age)));
    }
    if !survey.note.is_empty() {
        reason.push_str("; ");
        reason.push_str(&survey.note);
    }
    reason
}

fn clone_survey(survey: &Survey, facts: Facts) -> Survey {
    Survey {
        loc: survey.loc.clone(),
        facts,
        evidence: survey.evidence.clone(),
        note: survey.note.clone(),
        error: None,
        staging: survey.staging,
        locked: survey.locked,
        identity: survey.identity,
        changed: survey.changed,
    }
}

fn sessions_of(loc: &SessionLocation) -> Result<SessionsDir, RemoveError> {
    loc.sessions_dir().ok_or_else(|| RemoveError::Trash {
        path: loc.dir.path().to_path_buf(),
        source: std::io::Error::other("the session dir has no parent folder"),
    })
}

/// Whether the session dir records a process: `daemon.pid`, `cmd.pid`, or
/// a lock file with content.
fn records_a_process(dir: &SessionDir) -> bool {
    let non_empty =
        |path: &std::path::Path| fs_err::symlink_metadata(path).is_ok_and(|meta| meta.len() > 0);
    if non_empty(&dir.daemon_pid()) || non_empty(&dir.cmd_pid()) {
        return true;
    }
    fs_err::read_dir(dir.locks()).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| SessionDir::is_lock_file(&entry.path()) && non_empty(&entry.path()))
    })
}

/// A folder's modification time.
fn modified(dir: &SessionDir) -> Option<DateTime<Utc>> {
    let at: SystemTime = fs_err::symlink_metadata(dir.path()).ok()?.modified().ok()?;
    Some(at.into())
}
