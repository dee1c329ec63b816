//! The supervisor on Unix: reaping, stopping and terminating descendants.

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::process::{WaitOptions, WaitStatus};

use super::wakeup::Wakeup;
use super::{Cleanup, Ending, Exit, RunOptions, Spare, StopCause, SuperviseError};
use crate::consts::{AFTER_KILL_LIMIT, PROBE_INTERVAL_MAX};
use crate::proctable::{self, ProcInfo};
use crate::record::DaemonPid;
use crate::signal::{self, Refusal, Sig, Verified};
use crate::spawn::Spawned;
use crate::watch::{at_most, passed};

/// Waits for the command, reaps every child, and stops and cleans up the
/// process tree. See the module docs of [`crate::supervise`].
#[derive(Debug)]
pub struct Supervisor {
    wakeup: Wakeup,
    /// When a stop is in progress: the moment SIGKILL is due (`None` also
    /// when the stop's grace is too long to represent: no SIGKILL).
    kill_at: Option<Instant>,
}

impl Supervisor {
    /// Install the signal handlers. Call before spawning the command.
    pub fn new() -> Result<Supervisor, SuperviseError> {
        Ok(Supervisor {
            wakeup: Wakeup::install().map_err(SuperviseError::Signals)?,
            kill_at: None,
        })
    }

    /// The stop signal (SIGTERM, SIGINT or SIGHUP) received so far, if any. A
    /// daemon that sees one before spawning its command need not spawn it.
    pub fn stop_requested(&self) -> Option<i32> {
        self.wakeup.stop_signal()
    }

    /// Wait until the command exits, reaping every child on the way, and
    /// stop it (and every descendant not spared) on a stop request or when
    /// `options.timeout` expires: SIGTERM, then SIGKILL after `options.grace`.
    /// A timeout or grace too long to represent as a moment never expires.
    /// Returns as soon as the command itself has been reaped; its remaining
    /// descendants are [`Supervisor::terminate_descendants`]'s work.
    pub fn run(
        &mut self,
        cmd: &Spawned,
        options: &RunOptions<'_>,
        spare: &Spare<'_>,
    ) -> Result<Ending, SuperviseError> {
        let leader = verify_leader(cmd)?;
        let started = Instant::now();
        let timeout_at = options
            .timeout
            .and_then(|timeout| started.checked_add(timeout));
        let mut stop: Option<StopCause> = None;
        let mut killed = false;
        let mut last_signal: Option<Sig> = None;
        loop {
            self.wakeup.drain();
            for (pid, exit) in reap()? {
                if pid == cmd.pid {
                    tracing::debug!(pid, ?exit, ?stop, "command reaped");
                    return Ok(Ending {
                        exit,
                        stop,
                        last_signal: last_signal.map(Sig::number),
                    });
                }
                tracing::debug!(pid, ?exit, "reaped a descendant");
            }
            let now = Instant::now();
            if stop.is_none() {
                let cause = if let Some(signal) = self.stop_requested() {
                    tracing::debug!(signal, "stop requested");
                    Some(StopCause::Requested)
                } else if timeout_at.is_some_and(|at| now >= at) {
                    tracing::debug!("timeout expired");
                    Some(StopCause::Timeout)
                } else {
                    None
                };
                if let Some(cause) = cause {
                    stop = Some(cause);
                    self.kill_at = now.checked_add(options.grace_for(cause));
                    signal_tree(&leader, Sig::Term, spare);
                    last_signal = Some(Sig::Term);
                }
            } else if !killed
                && self.stop_requested().is_some()
                && let Some(grace) = options.requested()
            {
                // Asked again (a second `kill` with a shorter grace): the
                // earlier SIGKILL moment wins, as a second Ctrl-C does.
                self.kill_at = match (self.kill_at, now.checked_add(grace)) {
                    (Some(due), Some(asked)) => Some(due.min(asked)),
                    (due, asked) => due.or(asked),
                };
            }
            if stop.is_some() && !killed && self.kill_at.is_some_and(|at| now >= at) {
                tracing::debug!("grace period over: SIGKILL");
                signal_tree(&leader, Sig::Kill, spare);
                last_signal = Some(Sig::Kill);
                killed = true;
            }
            let next = match stop {
                None => timeout_at,
                Some(_) if !killed => self.kill_at,
                Some(_) => None,
            };
            self.wakeup.wait(&[], next).map_err(SuperviseError::Wait)?;
        }
    }

    /// SIGTERM every descendant of this process still running (except spared
    /// subtrees), SIGKILL what is left after `grace` (or earlier, at the
    /// SIGKILL moment of a stop already in progress), reap what exits, and
    /// repeat until none is left. Each wakeup (a child exits, a pidfd of a
    /// descendant becomes readable) re-reads the process table, so processes
    /// forked meanwhile are caught too. Gives up, listing the survivors,
    /// [`AFTER_KILL_LIMIT`] after SIGKILL.
    pub fn terminate_descendants(
        &mut self,
        grace: Duration,
        spare: &Spare<'_>,
    ) -> Result<Cleanup, SuperviseError> {
        let own = std::process::id();
        // The earlier of the SIGKILL moments of a stop in progress and of this
        // grace; none if neither can be represented.
        let kill_at = match (self.kill_at, Instant::now().checked_add(grace)) {
            (Some(stop), Some(this)) => Some(stop.min(this)),
            (stop, this) => stop.or(this),
        };
        let give_up_at = kill_at.and_then(|at| at.checked_add(AFTER_KILL_LIMIT));
        let mut cleanup = Cleanup {
            complete: true,
            ..Cleanup::default()
        };
        let mut termed: HashSet<(u32, u64)> = HashSet::new();
        let mut killed: HashSet<(u32, u64)> = HashSet::new();
        loop {
            self.wakeup.drain();
            reap()?;
            let Some(table) = proctable::snapshot() else {
                cleanup.complete = false;
                return Ok(cleanup);
            };
            let live: Vec<ProcInfo> = table
                .descendants_of(own, spare)
                .into_iter()
                .filter(ProcInfo::is_live)
                .collect();
            if live.is_empty() {
                // Descendants that exited between the reap above and the
                // snapshot are zombies, not live: reap them too, or they
                // would wait for this process to exit.
                reap()?;
                return Ok(cleanup);
            }
            if passed(give_up_at) {
                tracing::debug!(count = live.len(), "descendants survived SIGKILL");
                cleanup.survivors = live;
                return Ok(cleanup);
            }
            let killing = passed(kill_at);
            let (sig, sent) = if killing {
                (Sig::Kill, &mut killed)
            } else {
                (Sig::Term, &mut termed)
            };
            for info in &live {
                if !sent.insert((info.pid, info.start_time_ticks)) {
                    continue;
                }
                match signal::signal_seen(info.pid, info.start_time_ticks, sig) {
                    Ok(()) => {
                        tracing::debug!(pid = info.pid, ?sig, "signalled a descendant");
                        if !cleanup.signalled.iter().any(|p| p.pid == info.pid) {
                            cleanup.signalled.push(*info);
                        }
                    }
                    Err(Refusal::Gone { .. } | Refusal::Reused { .. }) => {}
                    Err(refusal) => tracing::debug!(pid = info.pid, %refusal, "not signalled"),
                }
            }
            let deadline = if killing { give_up_at } else { kill_at };
            self.wait_for_any_exit(&live, deadline)?;
        }
    }

    /// Wait for a signal or for any of `procs` to exit, at most until
    /// `deadline` (`None`: none). Processes without a pidfd are looked at
    /// again soon.
    fn wait_for_any_exit(
        &self,
        procs: &[ProcInfo],
        deadline: Option<Instant>,
    ) -> Result<(), SuperviseError> {
        let fds: Vec<OwnedFd> = procs.iter().filter_map(|p| pidfd(p.pid)).collect();
        let deadline = if fds.len() < procs.len() {
            at_most(deadline, PROBE_INTERVAL_MAX)
        } else {
            deadline
        };
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        self.wakeup
            .wait(&borrowed, deadline)
            .map_err(SuperviseError::Wait)
    }
}

#[cfg(target_os = "linux")]
fn pidfd(pid: u32) -> Option<OwnedFd> {
    crate::watch::pidfd(pid)
}

#[cfg(not(target_os = "linux"))]
fn pidfd(_pid: u32) -> Option<OwnedFd> {
    None
}

/// The command as a verified process: its group may be signalled.
fn verify_leader(cmd: &Spawned) -> Result<Verified, SuperviseError> {
    let start_time_ticks = cmd
        .start_time_ticks
        .ok_or(SuperviseError::NoStartTime { pid: cmd.pid })?;
    let record = DaemonPid {
        pid: cmd.pid,
        start_time_ticks: Some(start_time_ticks),
    };
    let leader =
        signal::verify(&record, |_| Ok(())).map_err(|refusal| SuperviseError::Refused {
            pid: cmd.pid,
            refusal,
        })?;
    if leader.group().is_none() {
        return Err(SuperviseError::Refused {
            pid: cmd.pid,
            refusal: Refusal::NotGroupLeader {
                pid: cmd.pid,
                pgid: 0,
            },
        });
    }
    Ok(leader)
}

/// Signal the command's group, then every live descendant of this process
/// outside that group that is not spared.
fn signal_tree(leader: &Verified, sig: Sig, spare: &Spare<'_>) {
    match leader.signal_group(sig) {
        Ok(()) | Err(Refusal::Gone { .. }) => {}
        Err(refusal) => tracing::debug!(%refusal, "command group not signalled"),
    }
    let Some(table) = proctable::snapshot() else {
        return;
    };
    let group = leader.group().and_then(|g| i32::try_from(g).ok());
    for info in table.descendants_of(std::process::id(), spare) {
        if !info.is_live() || Some(info.pgid) == group {
            continue;
        }
        match signal::signal_seen(info.pid, info.start_time_ticks, sig) {
            Ok(()) | Err(Refusal::Gone { .. } | Refusal::Reused { .. }) => {}
            Err(refusal) => tracing::debug!(pid = info.pid, %refusal, "not signalled"),
        }
    }
}

/// Reap every child that has exited, without blocking.
fn reap() -> Result<Vec<(u32, Exit)>, SuperviseError> {
    let mut reaped = Vec::new();
    loop {
        // wait(), not waitpid(None): the latter is waitpid(0), this group only.
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                let pid = u32::try_from(pid.as_raw_nonzero().get()).unwrap_or(0);
                reaped.push((pid, exit_of(status)));
            }
            Ok(None) | Err(rustix::io::Errno::CHILD) => return Ok(reaped),
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(SuperviseError::Wait(err.into())),
        }
    }
}

fn exit_of(status: WaitStatus) -> Exit {
    if let Some(signal) = status.terminating_signal() {
        return Exit::Signal(signal);
    }
    Exit::Code(status.exit_status().unwrap_or(1))
}
