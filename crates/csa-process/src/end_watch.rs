//! Waiting for sessions to end, event-driven: what `csa session wait` and
//! `csa session logs --follow` share (the binary only draws what it returns).
//!
//! [`EndWatch::add`] watches a session's `state.toml`, `result.toml`,
//! `daemon-completion.toml` and pid records (and any extra file, such as the
//! log `logs --follow` prints); [`EndWatch::check`] says whether the session
//! has ended, reconciling it on the way when its process is dead, and
//! arranges the next wake: the exit of its verified daemon and command
//! (pidfds), and a timer where no event can come:
//!
//! - a dead process whose logs were written less than 30 s ago is not
//!   reconciled yet (recent progress): it is looked at again once that
//!   window has passed;
//! - a session judged alive or unknown with no running process to watch
//!   (a legacy pid record without start time, a daemon left as a zombie
//!   while its group lives, another host) is looked at again every second;
//! - an unparseable `state.toml` or `result.toml`, or a dead session's
//!   `result.toml` that cannot be used (which the reconciler leaves alone,
//!   contract §6.6), may be a writer caught mid-write, and a file missing
//!   from a dir that is still there may be an `rm -rf` halfway: it is looked
//!   at again soon, and is an error once it has stayed so for
//!   [`MID_WRITE_LIMIT`].
//!
//! A session whose dir disappears or is moved away (a `delete`, a `clean`,
//! an `mv` or `rm -rf` by hand) has ended for the watch: [`Ending::Removed`],
//! woken by the removal itself (its name leaving the sessions folder, the
//! dir moved or deleted), not by the exit of a daemon that may run on in
//! the moved dir.
//!
//! [`EndWatch::wait`] blocks until one of these wakes or the deadline.
//! Watches are set up before the first check, so a change that lands
//! between a check and the wait is never missed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use csa_session::reconcile::{CooldownMode, Outcome, ReconcileError, Reconciler};
use csa_session::{
    LoadError, Loaded, Phase, SessionId, SessionLocation, SessionResult, SessionState, Trigger,
};

use crate::consts::PROGRESS_WINDOW;
use crate::facts::{self, ProcState};
use crate::signal::{self, Refusal, Verified};
use crate::{Liveness, ProbeContext, Verdict, Wake, Watcher};

/// How often a session with no process to watch is looked at again.
const UNWATCHED_RECHECK: Duration = Duration::from_secs(1);
/// How soon an unparseable file (perhaps mid-write) is looked at again ...
const MID_WRITE_RECHECK: Duration = Duration::from_millis(50);
/// ... and for how long before it is an error.
const MID_WRITE_LIMIT: Duration = Duration::from_secs(2);
/// Most members of a zombie leader's process group watched for their exit.
const MAX_GROUP_WATCHES: usize = 64;
/// Margin after the progress window ends, so the next look sees it ended.
const WINDOW_MARGIN: Duration = Duration::from_millis(20);

/// How a session ended.
#[derive(Debug)]
pub enum Ending {
    /// Retired (or in another final state) with this result.
    Result(SessionResult),
    /// Retired without a result.
    NoResult,
    /// The session dir is gone: removed, or moved away.
    Removed,
}

impl Ending {
    /// The process exit code for this ending: the result's exit code when it
    /// fits in 1..=255, 1 for any other failure, 0 for success; 1 without a
    /// result or a session dir.
    pub fn exit_code(&self) -> u8 {
        match self {
            Ending::Result(result) => exit_code_of(result),
            Ending::NoResult | Ending::Removed => 1,
        }
    }
}

/// The process exit code for a result: its exit code when it fits in
/// 1..=255, 1 for any other failure, 0 for success.
pub fn exit_code_of(result: &SessionResult) -> u8 {
    match u8::try_from(result.exit_code()) {
        Ok(0) if result.is_failure() => 1,
        Ok(code) => code,
        Err(_) => 1,
    }
}

/// Why [`EndWatch::check`] cannot tell whether a session has ended.
#[derive(Debug, thiserror::Error)]
pub enum EndWatchError {
    /// Its `state.toml` or `result.toml` cannot be loaded (or stayed
    /// unparseable for [`MID_WRITE_LIMIT`]).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Its process is dead and the reconcile that would end it failed.
    #[error("session {id} is dead but could not be reconciled")]
    NotReconciled {
        id: SessionId,
        #[source]
        source: ReconcileError,
    },
    /// Its process is dead and its `result.toml` exists but cannot be parsed
    /// or read: the reconciler leaves such a file alone (contract §6.6).
    #[error("session {id} is dead but its result.toml cannot be used (fix or remove it)")]
    ResultUnusable {
        id: SessionId,
        #[source]
        source: LoadError,
    },
}

/// Watches sessions until they end; see the module docs.
#[derive(Debug)]
pub struct EndWatch {
    watcher: Watcher,
    trigger: Trigger,
    /// When each session must be looked at again without an event.
    rechecks: HashMap<SessionId, Instant>,
    /// Since when each session's state or result has been unparseable.
    unparseable_since: HashMap<SessionId, Instant>,
}

impl EndWatch {
    /// `trigger` names the command in a synthetic failure it publishes.
    pub fn new(trigger: Trigger) -> EndWatch {
        EndWatch {
            watcher: Watcher::new(),
            trigger,
            rechecks: HashMap::new(),
            unparseable_since: HashMap::new(),
        }
    }

    /// Watch the files of `loc` whose change may end it (and its dir's name
    /// in the sessions folder, which a removal takes away), and `extra`
    /// files. Call before the first [`EndWatch::check`] of the session.
    pub fn add(&mut self, loc: &SessionLocation, extra: &[PathBuf]) {
        let dir = &loc.dir;
        let mut files = vec![
            dir.path().to_path_buf(),
            dir.state(),
            dir.result(),
            dir.completion(),
            dir.daemon_pid(),
            dir.cmd_pid(),
        ];
        files.extend_from_slice(extra);
        self.watcher.watch_files(&files);
    }

    /// Also wake when an entry appears in (or leaves) the folder `dir`: a
    /// session starting in a sessions folder.
    pub fn watch_entries(&mut self, dir: &std::path::Path) {
        self.watcher.watch_entries(dir);
    }

    /// Also wake when the file at `path` is written (following a link).
    pub fn watch_contents(&mut self, path: &std::path::Path) {
        self.watcher.watch_contents(path);
    }

    /// `Some` once the session has ended (or its dir is gone). An active
    /// session is reconciled first (a dead process gets its result), and the
    /// next wake for it is arranged. Errors: its state cannot be read, or it
    /// is dead and could not be reconciled.
    pub fn check(&mut self, loc: &SessionLocation) -> Result<Option<Ending>, EndWatchError> {
        let _span = tracing::info_span!("check", session = %loc.id).entered();
        self.rechecks.remove(&loc.id);
        match self.check_files(loc) {
            Err(err) if self.still_being_written(loc, &err) => {
                tracing::debug!(%err, "a file is being written: looking again soon");
                self.look_again_in(loc, MID_WRITE_RECHECK);
                Ok(None)
            }
            Err(err) => Err(err),
            Ok(ending) => {
                self.unparseable_since.remove(&loc.id);
                Ok(ending)
            }
        }
    }

    fn check_files(&mut self, loc: &SessionLocation) -> Result<Option<Ending>, EndWatchError> {
        let loaded = match csa_session::load_state(&loc.dir) {
            Ok(loaded) => loaded,
            Err(err) if csa_session::is_gone(&loc.dir, &err) => return Ok(Some(Ending::Removed)),
            Err(err) => return Err(err.into()),
        };
        match loaded.value.phase() {
            Phase::Active => match self.reconcile(loc, loaded)? {
                Reconciled::Active => return Ok(None),
                Reconciled::Removed => return Ok(Some(Ending::Removed)),
                Reconciled::Ended => {}
            },
            // Idle, not ended: only a change of its state can end it.
            Phase::Available => return Ok(None),
            Phase::Retired => {}
        }
        match csa_session::load_result(&loc.dir) {
            Ok(loaded) => Ok(Some(Ending::Result(loaded.value))),
            Err(err) if csa_session::is_gone(&loc.dir, &err) => Ok(Some(Ending::Removed)),
            Err(LoadError::Missing { .. }) => Ok(Some(Ending::NoResult)),
            Err(err) => Err(err.into()),
        }
    }

    /// An unparseable `state.toml` or `result.toml`, or a dead session's
    /// `result.toml` that cannot be used, may be a writer that writes in
    /// place, caught mid-write; a file missing from a dir still there may be
    /// a removal (`rm -rf`) caught halfway. For [`MID_WRITE_LIMIT`] it is
    /// looked at again, then it is an error.
    fn still_being_written(&mut self, loc: &SessionLocation, err: &EndWatchError) -> bool {
        let load = match err {
            EndWatchError::Load(load) => Some(load),
            EndWatchError::NotReconciled {
                source: ReconcileError::Load(load),
                ..
            } => Some(load),
            EndWatchError::ResultUnusable { .. } => None,
            EndWatchError::NotReconciled { .. } => return false,
        };
        let transient = match load {
            None => true,
            Some(LoadError::Unparseable { .. } | LoadError::Missing { .. }) => true,
            Some(LoadError::Unreadable { .. }) => false,
        };
        if !transient {
            return false;
        }
        let since = *self
            .unparseable_since
            .entry(loc.id.clone())
            .or_insert_with(Instant::now);
        since.elapsed() < MID_WRITE_LIMIT
    }

    /// Reconcile an active session (which changes nothing unless its process
    /// is dead) and arrange its next wake.
    fn reconcile(
        &mut self,
        loc: &SessionLocation,
        loaded: Loaded<SessionState>,
    ) -> Result<Reconciled, EndWatchError> {
        let mut state = Some(loaded);
        // A second look at most, when what the verdict saw alive ended
        // before its exit could be watched.
        for _ in 0..2 {
            let probe = ProbeContext::new();
            let report = Reconciler::new(&probe, self.trigger, false, CooldownMode::Immediate)
                .reconcile_loaded(loc, state.take());
            if let Some(source) = report.error {
                let id = loc.id.clone();
                return Err(EndWatchError::NotReconciled { id, source });
            }
            if report.outcome == Outcome::Removed {
                return Ok(Reconciled::Removed);
            }
            if report.outcome.changed() {
                return match csa_session::load_state(&loc.dir) {
                    Ok(loaded) if loaded.value.phase() == Phase::Active => Ok(Reconciled::Active),
                    Ok(_) => Ok(Reconciled::Ended),
                    Err(err) if csa_session::is_gone(&loc.dir, &err) => Ok(Reconciled::Removed),
                    Err(err) => Err(err.into()),
                };
            }
            let dead = report
                .liveness
                .as_ref()
                .is_some_and(|l| l.verdict == Verdict::Dead);
            if dead {
                // Dead, yet left active: its result.toml exists but cannot be
                // used, which nothing but a writer can change (contract §6.6).
                match csa_session::load_result(&loc.dir) {
                    Err(source) if !source.is_missing() => {
                        let id = loc.id.clone();
                        return Err(EndWatchError::ResultUnusable { id, source });
                    }
                    _ => {}
                }
            }
            if self.arrange(loc, report.liveness.as_ref()) == Arranged::Watching {
                return Ok(Reconciled::Active);
            }
            tracing::debug!("what was seen alive has ended: looking again");
        }
        self.look_again_in(loc, UNWATCHED_RECHECK);
        Ok(Reconciled::Active)
    }

    /// Block until something watched changes, a session is due to be looked
    /// at again, or `deadline` passes ([`Wake::Deadline`]).
    pub fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let recheck = self.rechecks.values().min().copied();
        let until = match (deadline, recheck) {
            (Some(d), Some(r)) => Some(d.min(r)),
            (d, r) => d.or(r),
        };
        let wake = self.watcher.wait(until);
        let deadline_passed = deadline.is_some_and(|d| Instant::now() >= d);
        match wake {
            Wake::Deadline if deadline_passed => Wake::Deadline,
            Wake::Deadline => {
                tracing::debug!("woke: time to look again");
                Wake::Changed
            }
            Wake::Changed => Wake::Changed,
        }
    }

    /// After a check that left the session active: watch the exits of its
    /// running, verified processes, and set a timer where no event can come.
    fn arrange(&mut self, loc: &SessionLocation, liveness: Option<&Liveness>) -> Arranged {
        let mut watching = false;
        let mut ended = false;
        // Verified by start time only: its exit is watched, never signalled.
        let daemon = crate::read_daemon_pid(&loc.dir).ok().flatten();
        let command = crate::read_cmd_pid(&loc.dir).ok().flatten();
        let records = [
            ("daemon", daemon),
            ("command", command.map(|c| c.as_pid_record())),
        ];
        for (what, record) in records {
            let Some(record) = record else { continue };
            match signal::verify(&record, |_| Ok(())) {
                Ok(process) if is_running(&process) => {
                    tracing::trace!(what, pid = process.pid(), "watching its exit");
                    self.watcher.watch_exit(&process);
                    watching = true;
                }
                Ok(process) => {
                    // A zombie group leader counts as alive while its group
                    // has live members: their exits are what can end it.
                    let members = self.watch_group_members(&process);
                    tracing::trace!(
                        what,
                        pid = process.pid(),
                        members,
                        "a zombie: watching its group"
                    );
                    watching |= members > 0;
                    ended |= members == 0;
                }
                Err(refusal @ (Refusal::Gone { .. } | Refusal::Reused { .. })) => {
                    tracing::trace!(what, %refusal, "ended");
                    ended = true;
                }
                Err(refusal) => tracing::trace!(what, %refusal, "not watched"),
            }
        }
        let blocked = liveness.is_some_and(|l| l.blocked_by_progress);
        let dead = liveness.is_some_and(|l| l.verdict == Verdict::Dead);
        let alive = liveness.is_some_and(|l| l.verdict == Verdict::Alive && !blocked);
        if ended && alive && !watching {
            return Arranged::LookAgain;
        }
        if blocked {
            // No process left, but recent output holds the reconcile back.
            let left = progress_window_left(loc).unwrap_or(UNWATCHED_RECHECK);
            self.look_again_in(loc, left);
        } else if dead || !watching {
            self.look_again_in(loc, UNWATCHED_RECHECK);
        }
        Arranged::Watching
    }

    fn look_again_in(&mut self, loc: &SessionLocation, delay: Duration) {
        tracing::debug!(in_ms = delay.as_millis(), "will look again");
        self.rechecks.insert(loc.id.clone(), Instant::now() + delay);
    }
}

/// What [`EndWatch::reconcile`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reconciled {
    /// Still active; its next wake is arranged.
    Active,
    /// No longer active.
    Ended,
    /// The session dir went away meanwhile.
    Removed,
}

/// What [`EndWatch::arrange`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arranged {
    /// Wakes are arranged (events, a timer, or both).
    Watching,
    /// A process the verdict saw alive has ended meanwhile: judge again now.
    LookAgain,
}

impl EndWatch {
    /// Watch the exits of the live members of the process group `leader`
    /// leads (at most [`MAX_GROUP_WATCHES`]), each verified by its start
    /// time. How many are watched.
    fn watch_group_members(&mut self, leader: &Verified) -> usize {
        let Some(pgid) = leader.group().and_then(|g| i32::try_from(g).ok()) else {
            return 0;
        };
        let Some(table) = crate::proctable::snapshot() else {
            return 0;
        };
        let mut watched = 0;
        for member in table.group_members(pgid).filter(|m| m.is_live()) {
            if watched == MAX_GROUP_WATCHES {
                break;
            }
            let record = crate::DaemonPid {
                pid: member.pid,
                start_time_ticks: Some(member.start_time_ticks),
            };
            if let Ok(process) = signal::verify(&record, |_| Ok(())) {
                self.watcher.watch_exit(&process);
                watched += 1;
            }
        }
        watched
    }
}

/// Neither gone nor a zombie: its exit is still to come.
fn is_running(process: &Verified) -> bool {
    !matches!(
        facts::probe(process.pid()).state,
        ProcState::Zombie | ProcState::Dead
    )
}

/// How long until the newest progress file of the session leaves the
/// progress window.
fn progress_window_left(loc: &SessionLocation) -> Option<Duration> {
    let newest = loc
        .dir
        .progress_files()
        .filter_map(|(_, path)| fs_err::metadata(path).ok()?.modified().ok())
        .max()?;
    let age = SystemTime::now().duration_since(newest).unwrap_or_default();
    (PROGRESS_WINDOW + WINDOW_MARGIN).checked_sub(age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn exit_codes_map_into_a_byte() {
        let now = Utc::now();
        let code = |status, exit| {
            let status = csa_session::ResultStatus::parse(status);
            exit_code_of(&SessionResult::new(&status, exit, "", "t", now, now))
        };
        assert_eq!(code("success", 0), 0);
        assert_eq!(code("failure", 3), 3);
        assert_eq!(code("failure", 0), 1);
        assert_eq!(code("failure", 256), 1);
        assert_eq!(code("failure", -1), 1);
        assert_eq!(code("signal", 143), 143);
        assert_eq!(Ending::NoResult.exit_code(), 1);
        assert_eq!(Ending::Removed.exit_code(), 1);
    }
}
