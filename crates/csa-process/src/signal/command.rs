//! The command of a session, verified from outside its daemon (contract
//! §8.3, §8.8): `cmd.pid` checked by start time, group and session, and what
//! is left of its group once the command itself has gone. `csa session
//! kill` stops it with [`crate::stop_group`] when the daemon is dead or late.

use csa_session::SessionDir;

use super::{
    Refusal, Sig, Verified, check_lock_records, daemon_argv, is_signallable_group, signal_seen,
    verify,
};
use crate::facts;
use crate::record::{self, CmdPid};

/// A session's command group as [`verify_command`] found it.
#[derive(Debug)]
pub enum CommandGroup {
    /// The command itself, verified, leading its group (a zombie leader
    /// whose group still has members counts).
    Leader(Verified),
    /// The command has gone (reaped), but members of its group live on.
    Remnant(Remnant),
}

impl CommandGroup {
    /// The process group.
    pub fn pgid(&self) -> i64 {
        match self {
            CommandGroup::Leader(leader) => leader.group.unwrap_or(0),
            CommandGroup::Remnant(remnant) => i64::from(remnant.pgid),
        }
    }

    /// The pid `cmd.pid` names (the group's id).
    pub fn pid(&self) -> u32 {
        u32::try_from(self.pgid()).unwrap_or(0)
    }
}

/// What is left of a session's command group once its leader has gone: the
/// live processes whose group is `cmd.pid`'s pid and whose session is the
/// daemon's recorded pid. A pid number in use as a group or session id is
/// never given to a new process, and a group never spans two sessions, so
/// while one such member lives the pair names this group and no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remnant {
    pub pgid: i32,
    pub sid: i32,
}

/// Verify the command of the session in `session`: `cmd.pid` (whose start
/// time is required) must name a live process with that start time that
/// leads its own process group, is no csa daemon, and runs in the session
/// (`getsid`) of the daemon that `daemon.pid` names, as every command a csa
/// daemon starts does (the daemon leads its own session; a command cannot
/// leave it without giving up its group). The command's environment is no
/// evidence (a command may clear it: `env -i`, `sudo`). When the command
/// itself has gone, live members of its group in that session are
/// [`CommandGroup::Remnant`]. The session's lock records must come from this
/// host, boot and pid namespace. Used when the daemon is dead or does not
/// stop the command in time.
pub fn verify_command(session: &SessionDir, session_id: &str) -> Result<CommandGroup, Refusal> {
    let unreadable = |what: &str, err: record::RecordError| Refusal::Unreadable {
        what: what.into(),
        reason: crate::evidence::error_chain(&err),
    };
    let record: CmdPid = record::read_cmd_pid(session)
        .map_err(|err| unreadable("cmd.pid", err))?
        .ok_or(Refusal::NoRecord { record: "cmd.pid" })?;
    let daemon = record::read_daemon_pid(session)
        .map_err(|err| unreadable("daemon.pid", err))?
        .map(|record| record.pid);
    // The lock records name the daemon, not the command; the command runs on
    // the daemon's host and boot, so every record must be of this machine.
    check_lock_records(session)?;
    let verified = verify(&record.as_pid_record(), |pid| {
        let probed = facts::probe(pid);
        let pgid = probed.pgid.map_or(0, i64::from);
        if pgid != i64::from(pid) {
            return Err(Refusal::NotGroupLeader { pid, pgid });
        }
        // A csa daemon is never a session's command: a nested session's
        // daemon belongs to that session (stopped only through `--tree`).
        if let Some(args) = facts::cmdline_args(pid)
            && let Some(other) = daemon_argv(&args)
        {
            return Err(Refusal::ADaemon {
                pid,
                session_id: other.session_id.to_owned(),
            });
        }
        let Some(daemon) = daemon else {
            return Err(Refusal::Unreadable {
                what: format!("the session of pid {pid}"),
                reason: "there is no daemon.pid to check it against".into(),
            });
        };
        let sid = facts::session_of(pid).map_or(0, i64::from);
        if sid != i64::from(daemon) {
            return Err(Refusal::NotTheCommand {
                pid,
                session_id: session_id.to_owned(),
                sid,
                daemon,
            });
        }
        Ok(())
    });
    match verified {
        Ok(leader) => Ok(CommandGroup::Leader(leader)),
        Err(Refusal::Gone { pid }) => {
            let Some(daemon) = daemon else {
                return Err(Refusal::Gone { pid });
            };
            let remnant = Remnant {
                pgid: i32::try_from(record.pid).unwrap_or(0),
                sid: i32::try_from(daemon).unwrap_or(0),
            };
            if is_signallable_group(i64::from(remnant.pgid)) && remnant.has_live_members() {
                Ok(CommandGroup::Remnant(remnant))
            } else {
                Err(Refusal::Gone { pid })
            }
        }
        Err(refusal) => Err(refusal),
    }
}

impl Remnant {
    /// The live members now (none where there is no process table).
    pub fn live_members(&self) -> Vec<crate::proctable::ProcInfo> {
        let Some(table) = crate::proctable::snapshot() else {
            return Vec::new();
        };
        table
            .group_members(self.pgid)
            .filter(|member| member.sid == self.sid && member.is_live())
            .copied()
            .collect()
    }

    pub fn has_live_members(&self) -> bool {
        !self.live_members().is_empty()
    }

    /// Signal every live member, each checked against its start time.
    pub fn signal(&self, sig: Sig) {
        for member in self.live_members() {
            match signal_seen(member.pid, member.start_time_ticks, sig) {
                Ok(()) | Err(Refusal::Gone { .. } | Refusal::Reused { .. }) => {}
                Err(refusal) => tracing::debug!(pid = member.pid, %refusal, "member not signalled"),
            }
        }
    }
}
