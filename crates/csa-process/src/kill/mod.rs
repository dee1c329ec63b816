//! Stopping one session: the protocol of `csa session kill` (contract §8.3,
//! §8.8). The binary parses the command line, calls [`kill_session`] for
//! each session (one thread each) and draws the [`Kill`] it returns.
//!
//! Nothing is signalled before it is verified ([`crate::signal`]). The facts
//! (phase, the `daemon.pid` check, the `cmd.pid` check) go to the pure
//! [`decision::decide`]; its [`StopPlan`] is carried out here:
//!
//! - **through the daemon**: record the grace in `stop-request.toml` (best
//!   effort: a full or read-only disk is said, not fatal), SIGTERM the
//!   daemon and SIGCONT it (a stopped daemon acts on nothing), and wait on
//!   its pidfd. The daemon stops CMD (SIGKILL after the grace; a second,
//!   shorter request escalates) and records the `killed` result. If it has
//!   not finished `grace` + [`TAKEOVER_MARGIN`] later (stopped under a
//!   debugger, never told the grace, slow), `kill` SIGKILLs CMD's verified
//!   group itself and, if the daemon still records nothing, records the
//!   ending itself.
//! - **the command**, when the daemon is gone: take the session's reconcile
//!   lock first (so that no reconciler judges the session between the stop
//!   and its record, and concurrent kills stop it once), stop CMD's group
//!   ([`crate::stop_group`], which says which signal ended it), record the
//!   `killed` ending with that signal. A `kill` that finds the lock held
//!   waits (on events) for the holder to settle the session.
//! - **a launch**: `daemon.pid` still names `csa run`; wait up to
//!   [`LAUNCH_WAIT`] for the daemon to take over, then decide again.
//!
//! Every plan ends by reconciling the session and reading how it ended. A
//! kill that found the session running and whose result says `killed`
//! reports it killed; concurrent kills of one session all do.

pub mod decision;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use csa_session::ending::{EndingError, record_stopped_under};
use csa_session::reconcile::{CooldownMode, Outcome, ReconcileError, Reconciler, SessionGuard};
use csa_session::stop_request::StopRequest;
use csa_session::{
    LoadError, Phase, ResultStatus, SessionId, SessionLocation, Trigger, WriteError,
};

use crate::consts::AFTER_KILL_LIMIT;
use crate::daemon::ending::killed_after_its_daemon;
use crate::facts::{self, Existence};
use crate::signal::{self, CommandGroup, Refusal, Sig, Verified};
use crate::watch::deadline_after;
use crate::{ProbeContext, Watcher, stop_group};

pub use decision::{Blame, CommandFound, DaemonFound, Facts, StopPlan, decide};

/// How long `kill` waits for the daemon to take over from `csa run`.
pub const LAUNCH_WAIT: Duration = Duration::from_secs(2);
/// Beyond the grace, how long the daemon has to end CMD before `kill` stops
/// CMD's group itself.
pub const TAKEOVER_MARGIN: Duration = Duration::from_secs(1);
/// Once CMD has been stopped, how long the daemon has to record the end
/// before `kill` records it itself.
pub const RECORD_WAIT: Duration = Duration::from_secs(2);
/// How long a daemon whose command has ended may take to stop what its
/// command left behind and write the result.
pub const DAEMON_FINISH: Duration = Duration::from_secs(15);

/// How a session ended, as `kill` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Stopped while this kill ran (by it, or by a kill racing it): 128 + the
    /// signal that ended the command. `None` when no result records it
    /// and the signal is not known (a full or read-only disk).
    Killed { exit_code: Option<i64> },
    /// It had ended before: its result's status and exit code.
    AlreadyEnded { status: String, exit_code: i64 },
    /// It had ended before, and has no result.
    WithoutResult { phase: Phase },
}

/// What one kill did: how the session ended, and what it could not record
/// (said on stderr by the caller; none of it stops the stop).
#[derive(Debug)]
pub struct Kill {
    pub ended: Ended,
    pub unrecorded: Vec<Unrecorded>,
}

/// Something `kill` could not write. The stop went on without it.
#[derive(Debug, thiserror::Error)]
pub enum Unrecorded {
    #[error("cannot record the stop request (its grace) for the daemon")]
    StopRequest(#[source] WriteError),
    #[error("cannot take the session's reconcile lock")]
    Guard(#[source] ReconcileError),
    #[error("cannot record how the session ended")]
    Ending(#[source] EndingError),
    #[error("cannot reconcile the session")]
    Reconcile(#[source] ReconcileError),
}

/// `kill` could not stop a session.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    /// The refusal is part of the message (it is one line).
    #[error("refusing to signal session {id}: {refusal}")]
    Refused { id: SessionId, refusal: Refusal },
    #[error("cannot stop session {id}: {refusal}")]
    Stop { id: SessionId, refusal: Refusal },
    #[error("session {id} could not be reconciled")]
    NotReconciled {
        id: SessionId,
        #[source]
        source: ReconcileError,
    },
    #[error(
        "session {id} is still active, but csa finds no verified process of it to stop ({evidence})"
    )]
    StillActive { id: SessionId, evidence: String },
    #[error(
        "the daemon of session {id} (pid {pid}) did not finish within {secs} s of being asked to stop"
    )]
    DidNotFinish { id: SessionId, pid: u32, secs: u64 },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// What this kill did to the session's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Acted {
    /// It signalled the daemon or the command group.
    signalled: bool,
    /// The signal it ended the command group with, when it did that itself.
    ended_by: Option<Sig>,
}

impl Acted {
    const NOTHING: Acted = Acted {
        signalled: false,
        ended_by: None,
    };

    fn ended_by(sig: Sig) -> Acted {
        Acted {
            signalled: true,
            ended_by: Some(sig),
        }
    }
}

/// What the checks found, with the handles to act on.
struct Found {
    facts: Facts,
    daemon: Result<Verified, Refusal>,
    command: Result<CommandGroup, Refusal>,
}

/// Stop one session: see the module docs.
pub fn kill_session(loc: &SessionLocation, grace: Duration) -> Result<Kill, KillError> {
    let mut unrecorded = Vec::new();
    let mut launch: Option<(Instant, Watcher)> = None;
    let mut seen_running = false;
    loop {
        let launch_waited = launch
            .as_ref()
            .is_some_and(|(until, _)| Instant::now() >= *until);
        let found = gather(loc, launch_waited)?;
        seen_running |= found.facts.phase != Phase::Retired;
        let plan = decide(&found.facts);
        tracing::debug!(session = %loc.id, facts = ?found.facts, ?plan, "kill");
        let acted = match plan {
            StopPlan::AlreadyEnded => Acted::NOTHING,
            StopPlan::AwaitLaunch => {
                let (until, watcher) = launch.get_or_insert_with(|| {
                    let mut watcher = Watcher::new();
                    watcher.watch_files(&[loc.dir.daemon_pid(), loc.dir.state()]);
                    (Instant::now() + LAUNCH_WAIT, watcher)
                });
                watcher.wait(Some(*until));
                continue;
            }
            StopPlan::Refuse(blame) => {
                let refusal = match blame {
                    Blame::Daemon => found.daemon.err(),
                    Blame::Command => found.command.err(),
                };
                return Err(KillError::Refused {
                    id: loc.id.clone(),
                    refusal: refusal.unwrap_or(Refusal::NoRecord {
                        record: "daemon.pid",
                    }),
                });
            }
            StopPlan::ThroughDaemon => {
                let daemon = found.daemon.map_err(|refusal| refused(loc, refusal))?;
                through_daemon(loc, &daemon, grace, &mut unrecorded)?
            }
            StopPlan::Command => without_daemon(loc, grace, &mut unrecorded)?,
        };
        let ended = settle(loc, seen_running, acted, &mut unrecorded)?;
        return Ok(Kill { ended, unrecorded });
    }
}

/// Whether `kill --all` stops this session: every active one, and one in
/// phase `available` whose daemon or command is alive.
pub fn is_running(loc: &SessionLocation) -> bool {
    match csa_session::load_state(&loc.dir).map(|s| s.value.phase()) {
        Ok(Phase::Active) => true,
        Ok(Phase::Available) => {
            signal::verify_daemon(&loc.dir, loc.id.as_str()).is_ok()
                || signal::verify_command(&loc.dir, loc.id.as_str()).is_ok()
        }
        _ => false,
    }
}

fn refused(loc: &SessionLocation, refusal: Refusal) -> KillError {
    KillError::Refused {
        id: loc.id.clone(),
        refusal,
    }
}

/// Check `daemon.pid` and `cmd.pid`, and say what was found.
fn gather(loc: &SessionLocation, launch_waited: bool) -> Result<Found, KillError> {
    let phase = csa_session::load_state(&loc.dir)?.value.phase();
    let daemon = signal::verify_daemon(&loc.dir, loc.id.as_str());
    let daemon_found = match &daemon {
        Ok(_) => DaemonFound::Verified,
        Err(Refusal::Launching { .. }) => DaemonFound::Launching,
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => DaemonFound::Gone,
        Err(Refusal::Reused { .. }) => DaemonFound::Reused,
        // An older install's record: a pid with no start time that names
        // no process is a daemon that has gone; one that names a live
        // process cannot be verified.
        Err(Refusal::NoStartTime { pid }) if facts::existence(*pid) == Existence::Missing => {
            DaemonFound::Gone
        }
        Err(_) => DaemonFound::Refused,
    };
    let command = signal::verify_command(&loc.dir, loc.id.as_str());
    let command_found = match &command {
        Ok(_) => CommandFound::Verified,
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => CommandFound::Gone,
        Err(_) => CommandFound::Refused,
    };
    Ok(Found {
        facts: Facts {
            phase,
            daemon: daemon_found,
            command: command_found,
            launch_waited,
        },
        daemon,
        command,
    })
}

/// Ask the verified daemon to stop, and make sure CMD is stopped within the
/// grace (plus a margin) whatever becomes of the daemon.
fn through_daemon(
    loc: &SessionLocation,
    daemon: &Verified,
    grace: Duration,
    unrecorded: &mut Vec<Unrecorded>,
) -> Result<Acted, KillError> {
    let request = StopRequest {
        grace,
        requested_at: Utc::now(),
    };
    if let Err(err) = request.write(&loc.dir) {
        unrecorded.push(Unrecorded::StopRequest(err));
    }
    match daemon.signal(Sig::Term) {
        Ok(()) | Err(Refusal::Gone { .. }) => {}
        Err(refusal) => return Err(refused(loc, refusal)),
    }
    // A stopped daemon (SIGSTOP) would act on the SIGTERM only once continued.
    let _ = daemon.signal(Sig::Cont);
    tracing::info!(session = %loc.id, pid = daemon.pid(), "asked the daemon to stop");
    let asked = Acted {
        signalled: true,
        ended_by: None,
    };
    if daemon.wait_for_exit(grace.saturating_add(TAKEOVER_MARGIN)) {
        if has_result(loc) {
            return Ok(asked);
        }
        // It died without recording the end (crashed, SIGKILLed, no disk):
        // what may still run is its command.
        tracing::info!(session = %loc.id, "the daemon ended without a result");
        let here = without_daemon(loc, grace, unrecorded)?;
        return Ok(if here.ended_by.is_some() { here } else { asked });
    }
    // The daemon has not ended CMD in time (stopped under a debugger, slow,
    // or never told the grace): end CMD's group from here.
    let ended_by = match signal::verify_command(&loc.dir, loc.id.as_str()) {
        Ok(group) => {
            tracing::info!(session = %loc.id, pgid = group.pgid(), "the daemon is late; stopping its command");
            Some(
                stop_group(&group, Duration::ZERO).map_err(|refusal| KillError::Stop {
                    id: loc.id.clone(),
                    refusal,
                })?,
            )
        }
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => None,
        Err(refusal) => return Err(refused(loc, refusal)),
    };
    let wait = if ended_by.is_some() {
        RECORD_WAIT
    } else {
        DAEMON_FINISH
    };
    if daemon.wait_for_exit(wait) && has_result(loc) {
        return Ok(Acted {
            signalled: true,
            ended_by,
        });
    }
    match ended_by {
        Some(sig) => {
            record_ending(loc, sig, None, unrecorded);
            Ok(Acted::ended_by(sig))
        }
        None if has_result(loc) => Ok(asked),
        None => Err(KillError::DidNotFinish {
            id: loc.id.clone(),
            pid: daemon.pid(),
            secs: (grace + TAKEOVER_MARGIN + wait).as_secs(),
        }),
    }
}

/// The daemon is gone: stop CMD's group if it still runs, holding the
/// session's reconcile lock, and record the ending with the signal that
/// ended it. Nothing is done when another csa holds the lock (it is waited
/// for) or nothing of the command runs any more.
fn without_daemon(
    loc: &SessionLocation,
    grace: Duration,
    unrecorded: &mut Vec<Unrecorded>,
) -> Result<Acted, KillError> {
    let guard = match SessionGuard::try_lock(loc) {
        Ok(Some(guard)) => Some(guard),
        Ok(None) => {
            // Another kill stops it, or a reconciler settles it: wait for
            // that, then report what it recorded.
            wait_for_settle(loc, grace.saturating_add(AFTER_KILL_LIMIT + RECORD_WAIT));
            return Ok(Acted::NOTHING);
        }
        // A read-only or full disk: stop anyway, say what was not recorded.
        Err(err) => {
            unrecorded.push(Unrecorded::Guard(err));
            None
        }
    };
    // Looked at again under the lock: a kill that held it before may have
    // stopped the command already.
    let group = match signal::verify_command(&loc.dir, loc.id.as_str()) {
        Ok(group) => group,
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => return Ok(Acted::NOTHING),
        Err(refusal) => return Err(refused(loc, refusal)),
    };
    tracing::info!(session = %loc.id, pgid = group.pgid(), "the daemon is dead; stopping its command");
    let ended_by = stop_group(&group, grace).map_err(|refusal| KillError::Stop {
        id: loc.id.clone(),
        refusal,
    })?;
    record_ending(loc, ended_by, guard.as_ref(), unrecorded);
    Ok(Acted::ended_by(ended_by))
}

/// Record the `killed` ending of a command this kill stopped itself, under
/// the session's reconcile lock (taken here when `held` is `None`).
fn record_ending(
    loc: &SessionLocation,
    ended_by: Sig,
    held: Option<&SessionGuard>,
    unrecorded: &mut Vec<Unrecorded>,
) {
    let ending = killed_after_its_daemon(ended_by, started_at(loc));
    let taken;
    let guard = match held {
        Some(guard) => guard,
        None => match SessionGuard::try_lock(loc) {
            Ok(Some(guard)) => {
                taken = guard;
                &taken
            }
            // Someone else settles it; what they record is reported.
            Ok(None) => return,
            Err(err) => {
                unrecorded.push(Unrecorded::Guard(err));
                return;
            }
        },
    };
    if let Err(err) = record_stopped_under(guard, loc, &ending) {
        unrecorded.push(Unrecorded::Ending(err));
    }
}

/// When the run started, as far as the session says: its last access
/// before now.
fn started_at(loc: &SessionLocation) -> DateTime<Utc> {
    let now = Utc::now();
    csa_session::load_state(&loc.dir).map_or(now, |s| s.value.last_accessed().min(now))
}

fn has_result(loc: &SessionLocation) -> bool {
    matches!(csa_session::load_result_if_any(&loc.dir), Ok(Some(_)))
}

/// Wait until the session has ended (its phase is no longer active or
/// available) or nobody holds its reconcile lock, at most `limit`. Wakes on
/// changes of its files, not on a timer.
fn wait_for_settle(loc: &SessionLocation, limit: Duration) {
    let deadline = deadline_after(limit);
    let mut watcher = Watcher::new();
    watcher.watch_files(&[loc.dir.state(), loc.dir.result(), loc.dir.reconcile_lock()]);
    loop {
        let ended =
            csa_session::load_state(&loc.dir).is_ok_and(|s| s.value.phase() == Phase::Retired);
        let free = !SessionGuard::held_elsewhere(loc).unwrap_or(false);
        if ended || free {
            return;
        }
        if watcher.wait(deadline) == crate::Wake::Deadline {
            return;
        }
    }
}

/// Reconcile the session (its daemon may have died without a result), then
/// say how it ended. `seen_running`: this kill found it running; `acted`:
/// what this kill did to its processes. A session this kill stopped whose
/// ending nobody could record (a full or read-only disk) is still reported
/// killed, with what could not be recorded.
fn settle(
    loc: &SessionLocation,
    seen_running: bool,
    acted: Acted,
    unrecorded: &mut Vec<Unrecorded>,
) -> Result<Ended, KillError> {
    let probe = ProbeContext::new();
    let reconciler = Reconciler::new(&probe, Trigger::SessionKill, false, CooldownMode::Immediate);
    let mut report = reconciler.reconcile(loc);
    if report.outcome == Outcome::SkippedLocked {
        // Another csa is changing it (a kill recording its end): wait for
        // that, and look again.
        wait_for_settle(loc, RECORD_WAIT);
        report = reconciler.reconcile(loc);
    }
    let killed_here = |unrecorded: &mut Vec<Unrecorded>, error: Option<ReconcileError>| {
        if let Some(error) = error {
            unrecorded.push(Unrecorded::Reconcile(error));
        }
        Ended::Killed {
            exit_code: acted.ended_by.map(|sig| 128 + i64::from(sig.number())),
        }
    };
    if let Some(error) = report.error {
        if acted.signalled {
            return Ok(killed_here(unrecorded, Some(error)));
        }
        return Err(KillError::NotReconciled {
            id: loc.id.clone(),
            source: error,
        });
    }
    match csa_session::load_result_if_any(&loc.dir)? {
        Some(result) if seen_running && result.status() == ResultStatus::Killed => {
            Ok(Ended::Killed {
                exit_code: Some(result.exit_code()),
            })
        }
        Some(result) => Ok(Ended::AlreadyEnded {
            status: result.status_text().to_owned(),
            exit_code: result.exit_code(),
        }),
        None if acted.signalled => Ok(killed_here(unrecorded, None)),
        None => {
            let phase = csa_session::load_state(&loc.dir)?.value.phase();
            if phase == Phase::Active {
                return Err(KillError::StillActive {
                    id: loc.id.clone(),
                    evidence: report.evidence,
                });
            }
            Ok(Ended::WithoutResult { phase })
        }
    }
}
