//! Stopping a verified process group from outside it, and waiting for a
//! verified process to exit (contract §8.3).
//!
//! `csa session kill` uses these when it is not the parent of what it stops:
//!
//! - daemon alive: [`crate::signal::verify_daemon`], `signal(Sig::Term)`, then
//!   [`Verified::wait_for_exit`] while the daemon stops its command and writes
//!   the result;
//! - daemon dead (or too slow), command alive:
//!   [`crate::signal::verify_command`], then [`stop_group`] (SIGTERM, SIGKILL
//!   after the grace period), which says which signal ended the group.
//!
//! Waiting is event-driven on Linux: a pidfd becomes readable when its
//! process exits, so the waiter polls the pidfds of the group's live members
//! and re-reads the group as they exit. Zombies are not alive: a group whose
//! only members are zombies is gone. Where pidfds are unavailable the wait is
//! a bounded probe.

use std::time::{Duration, Instant};

use crate::consts::AFTER_KILL_LIMIT;
use crate::facts::{self, Existence, ProcState};
use crate::signal::{self, CommandGroup, Refusal, Sig, Verified};
use crate::watch::{Backoff, deadline_after, passed};

/// SIGTERM the command group `target`, wait until no live member is left,
/// SIGKILL whatever is left after `grace`, and wait again (at most
/// [`AFTER_KILL_LIMIT`]). Returns the signal that ended the group: SIGTERM
/// when it was gone within the grace, else SIGKILL. `Err(Refusal::Survived)`
/// if members outlive SIGKILL. A grace too long to represent as a deadline
/// means no SIGKILL.
pub fn stop_group(target: &CommandGroup, grace: Duration) -> Result<Sig, Refusal> {
    let pgid = target.pgid();
    if !signal::is_signallable_group(pgid) {
        return Err(Refusal::ReservedGroup { pgid });
    }
    signal_members(target, Sig::Term)?;
    if wait_group_gone(pgid, deadline_after(grace)) {
        return Ok(Sig::Term);
    }
    tracing::debug!(pgid, "process group outlived its grace period: SIGKILL");
    signal_members(target, Sig::Kill)?;
    if wait_group_gone(pgid, deadline_after(AFTER_KILL_LIMIT)) {
        return Ok(Sig::Kill);
    }
    Err(Refusal::Survived { pgid })
}

/// Signal the group through its verified leader; once the leader is gone
/// (reaped), signal the members still in the group and the daemon's session
/// one by one, each checked against its start time.
fn signal_members(target: &CommandGroup, sig: Sig) -> Result<(), Refusal> {
    match target {
        CommandGroup::Leader(leader) => match leader.signal_group(sig) {
            Ok(()) => Ok(()),
            Err(Refusal::Gone { .. }) => {
                if let Some(remnant) = leader_remnant(leader) {
                    remnant.signal(sig);
                }
                Ok(())
            }
            Err(refusal) => Err(refusal),
        },
        CommandGroup::Remnant(remnant) => {
            remnant.signal(sig);
            Ok(())
        }
    }
}

/// The members of a verified leader's group, in the session it was verified
/// in, once the leader has been reaped.
fn leader_remnant(leader: &Verified) -> Option<signal::Remnant> {
    Some(signal::Remnant {
        pgid: i32::try_from(leader.group()?).ok()?,
        sid: leader.session()?,
    })
}

/// True once process group `pgid` has no live (non-zombie) member, false if
/// `deadline` (`None`: none) passed first.
pub fn wait_group_gone(pgid: i64, deadline: Option<Instant>) -> bool {
    platform::wait_group_gone(pgid, deadline)
}

impl Verified {
    /// Wait until the verified process has exited (a zombie has exited), at
    /// most `timeout` (one too long to represent: no limit). True if it did.
    /// Event-driven with the pidfd opened at verification (Linux); elsewhere
    /// a bounded probe of the pid and its start time.
    pub fn wait_for_exit(&self, timeout: Duration) -> bool {
        let deadline = deadline_after(timeout);
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.pidfd() {
            use std::os::fd::AsFd;
            match crate::watch::wait_readable(&[fd.as_fd()], deadline) {
                Ok(exited) => return exited,
                Err(err) => tracing::debug!(%err, "poll on a pidfd failed; probing instead"),
            }
        }
        let mut backoff = Backoff::new();
        loop {
            if self.has_exited() {
                return true;
            }
            if passed(deadline) {
                return false;
            }
            backoff.pause(deadline);
        }
    }

    /// The pid is gone, a zombie, or names a process with another start time.
    fn has_exited(&self) -> bool {
        let facts = facts::probe(self.pid());
        match facts.existence {
            Existence::Missing => true,
            Existence::Unknown => false,
            Existence::Exists => {
                matches!(facts.state, ProcState::Zombie | ProcState::Dead)
                    || facts
                        .start_time_ticks
                        .is_some_and(|ticks| ticks != self.start_time_ticks())
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::time::Instant;

    use crate::consts::PROBE_INTERVAL_MAX;
    use crate::watch::{self, Backoff, at_most, passed};

    pub fn wait_group_gone(pgid: i64, deadline: Option<Instant>) -> bool {
        let Ok(pgid) = i32::try_from(pgid) else {
            return true;
        };
        let mut backoff = Backoff::new();
        loop {
            let Some(table) = crate::proctable::snapshot() else {
                // No /proc: fall back to the slower full scan's answer.
                return probe_until(pgid, deadline);
            };
            let live: Vec<u32> = table
                .group_members(pgid)
                .filter(|p| p.is_live())
                .map(|p| p.pid)
                .collect();
            if live.is_empty() {
                return true;
            }
            if passed(deadline) {
                return false;
            }
            let fds: Vec<OwnedFd> = live.iter().filter_map(|pid| watch::pidfd(*pid)).collect();
            if fds.len() < live.len() {
                // Some member cannot be watched (exited already, or no
                // pidfds here): look again soon, but not in a busy loop.
                let soon = at_most(deadline, PROBE_INTERVAL_MAX);
                if fds.is_empty() {
                    backoff.pause(soon);
                    continue;
                }
                wait_any(&fds, soon);
                continue;
            }
            wait_any(&fds, deadline);
        }
    }

    fn wait_any(fds: &[OwnedFd], deadline: Option<Instant>) {
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        if let Err(err) = watch::wait_readable(&borrowed, deadline) {
            tracing::debug!(%err, "poll on pidfds failed");
            Backoff::new().pause(at_most(deadline, PROBE_INTERVAL_MAX));
        }
    }

    fn probe_until(pgid: i32, deadline: Option<Instant>) -> bool {
        let mut backoff = Backoff::new();
        loop {
            if crate::facts::group_has_live_members(pgid) != Some(true) {
                return true;
            }
            if passed(deadline) {
                return false;
            }
            backoff.pause(deadline);
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod platform {
    use std::time::Instant;

    use crate::watch::{Backoff, passed};

    /// Without a process table, `kill(-pgid, 0)` tells whether the group has
    /// members at all; zombies cannot be told apart, so they delay the answer
    /// until their parent reaps them.
    pub fn wait_group_gone(pgid: i64, deadline: Option<Instant>) -> bool {
        let Some(group) = i32::try_from(pgid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return true;
        };
        let mut backoff = Backoff::new();
        loop {
            if rustix::process::test_kill_process_group(group) == Err(rustix::io::Errno::SRCH) {
                return true;
            }
            if passed(deadline) {
                return false;
            }
            backoff.pause(deadline);
        }
    }
}

#[cfg(not(unix))]
mod platform {
    use std::time::Instant;

    /// No process groups here: nothing can be known, so never "gone".
    pub fn wait_group_gone(_pgid: i64, _deadline: Option<Instant>) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::record::DaemonPid;

    #[test]
    fn a_verified_process_has_exited_only_once_it_is_a_zombie_or_gone() {
        use csa_test_support::{proc_state, sleeper, start_time, wait_until};
        let mut child = sleeper();
        let pid = child.pid();
        let ticks = start_time(pid);
        let record = DaemonPid {
            pid,
            start_time_ticks: Some(ticks),
        };
        let verified = signal::verify(&record, |_| Ok(())).expect("verified");
        assert_eq!((verified.pid(), verified.start_time_ticks()), (pid, ticks));
        assert!(!verified.has_exited(), "a running process");

        child.child.kill().expect("kill");
        wait_until("a zombie", || proc_state(pid) == Some('Z'));
        assert!(verified.has_exited(), "a zombie has exited");
        child.child.wait().expect("reap");
        assert!(verified.has_exited(), "a reaped process has exited");
    }
}
