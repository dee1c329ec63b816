//! Whether and how `csa session kill` stops one session, decided in pure
//! code over what was found (contract §8.3, §8.8), as the reconciler's
//! decision is. [`super::kill_session`] gathers the [`Facts`] (the phase,
//! the check of `daemon.pid`, the check of `cmd.pid`) and carries out the
//! [`StopPlan`]; the table below is the whole policy.

use csa_session::Phase;

/// What the check of `daemon.pid` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonFound {
    /// The session's live daemon, verified (a stopped one too).
    Verified,
    /// `csa run`, still starting the daemon.
    Launching,
    /// Nothing of it runs: no record, the pid has exited (or is an unreaped
    /// zombie), or an older install's record without start time names no
    /// process.
    Gone,
    /// The pid names another process now (another start time).
    Reused,
    /// Something csa must not act on: a record of another host, boot or pid
    /// namespace, pid 1, a process that is not this session's daemon, a live
    /// pid without start time (older installs), an unreadable record.
    Refused,
}

/// What the check of `cmd.pid` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandFound {
    /// The command, or what is left of its group, verified (start time, its
    /// group, the daemon's session).
    Verified,
    /// No record, or nothing of its group lives.
    Gone,
    /// A record csa must not act on (another session's process, another
    /// host, a csa daemon, ...).
    Refused,
}

/// What `kill` knows about one session before it signals anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub phase: Phase,
    pub daemon: DaemonFound,
    pub command: CommandFound,
    /// `kill` already waited for a launching daemon to take over.
    pub launch_waited: bool,
}

/// Whose refusal stands when nothing is signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The check of `daemon.pid`.
    Daemon,
    /// The check of `cmd.pid`.
    Command,
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPlan {
    /// It has ended, or nothing of it runs: reconcile it and say how it ended.
    AlreadyEnded,
    /// `daemon.pid` still names `csa run`: wait (briefly, on events) for the
    /// daemon to take over, then look again.
    AwaitLaunch,
    /// Ask the verified daemon to stop its command; it records the end.
    ThroughDaemon,
    /// The daemon is gone: stop the verified command group here, and record
    /// the end under the session's reconcile lock.
    Command,
    /// Signal nothing: the refusal of that check says why.
    Refuse(Blame),
}

/// The plan for these facts. A session in phase `available` whose daemon
/// or command lives is stopped like an active one.
pub fn decide(facts: &Facts) -> StopPlan {
    use CommandFound as C;
    use DaemonFound as D;
    if facts.phase == Phase::Retired {
        return StopPlan::AlreadyEnded;
    }
    match (facts.daemon, facts.command) {
        (D::Verified, _) => StopPlan::ThroughDaemon,
        (D::Launching, _) if !facts.launch_waited => StopPlan::AwaitLaunch,
        (D::Launching | D::Refused, _) => StopPlan::Refuse(Blame::Daemon),
        (D::Gone | D::Reused, C::Verified) => StopPlan::Command,
        (D::Gone, C::Gone) => StopPlan::AlreadyEnded,
        (D::Gone, C::Refused) => StopPlan::Refuse(Blame::Command),
        // A reused daemon pid and no command of the session to stop: the
        // record names a stranger, and nothing was verified.
        (D::Reused, C::Gone | C::Refused) => StopPlan::Refuse(Blame::Daemon),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_for_every_combination_of_facts() {
        use Blame as B;
        use CommandFound as C;
        use DaemonFound as D;
        use StopPlan as S;
        let ended = S::AlreadyEnded;
        #[rustfmt::skip]
        let table: &[(Phase, DaemonFound, CommandFound, bool, StopPlan)] = &[
            // Ended: nothing is signalled, whatever runs.
            (Phase::Retired, D::Verified, C::Verified, false, ended),
            (Phase::Retired, D::Refused, C::Refused, false, ended),
            // A verified daemon stops its own command.
            (Phase::Active, D::Verified, C::Verified, false, S::ThroughDaemon),
            (Phase::Active, D::Verified, C::Gone, false, S::ThroughDaemon),
            (Phase::Active, D::Verified, C::Refused, false, S::ThroughDaemon),
            (Phase::Available, D::Verified, C::Gone, false, S::ThroughDaemon),
            // A launch in progress is waited for once, then refused.
            (Phase::Active, D::Launching, C::Gone, false, S::AwaitLaunch),
            (Phase::Active, D::Launching, C::Gone, true, S::Refuse(B::Daemon)),
            // A record csa must not act on: nothing is signalled.
            (Phase::Active, D::Refused, C::Verified, false, S::Refuse(B::Daemon)),
            (Phase::Available, D::Refused, C::Gone, false, S::Refuse(B::Daemon)),
            // The daemon died: its command is stopped here.
            (Phase::Active, D::Gone, C::Verified, false, S::Command),
            (Phase::Active, D::Reused, C::Verified, false, S::Command),
            (Phase::Available, D::Gone, C::Verified, false, S::Command),
            // Nothing of it runs: reconciled, "already ended".
            (Phase::Active, D::Gone, C::Gone, false, ended),
            (Phase::Available, D::Gone, C::Gone, false, ended),
            (Phase::Active, D::Gone, C::Refused, false, S::Refuse(B::Command)),
            // A stranger holds the daemon's pid and nothing else verifies.
            (Phase::Active, D::Reused, C::Gone, false, S::Refuse(B::Daemon)),
            (Phase::Active, D::Reused, C::Refused, false, S::Refuse(B::Daemon)),
        ];
        for &(phase, daemon, command, launch_waited, plan) in table {
            let facts = Facts {
                phase,
                daemon,
                command,
                launch_waited,
            };
            assert_eq!(decide(&facts), plan, "{facts:?}");
        }
    }
}
