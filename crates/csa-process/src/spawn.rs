//! Starting a session's command under the daemon (contract §8.1).
//!
//! The daemon calls, in this order: [`become_subreaper`], then
//! [`crate::supervise::Supervisor::new`] (signal handlers before the child
//! exists, so that no exit and no stop request is missed), then
//! [`spawn_command`], writes `cmd.pid` from [`Spawned::cmd_pid`], and hands the
//! [`Spawned`] to [`crate::supervise::Supervisor::run`].
//!
//! The command leads a new process group (its pgid is its pid, not the
//! daemon's), runs in the given directory with the given extra environment,
//! reads `/dev/null`, writes to the given log files, starts with default
//! signal dispositions and an empty signal mask, and inherits no descriptor
//! beyond 0-2. It is not waited for here: the supervisor reaps it.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::PathBuf;

use crate::record::CmdPid;

/// What to run and where.
#[derive(Debug)]
pub struct CommandSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Working directory (the project dir).
    pub cwd: PathBuf,
    /// Added to (or replacing in) the daemon's environment.
    pub env: Vec<(OsString, OsString)>,
    /// Becomes the command's stdout (`output.log`).
    pub stdout: File,
    /// Becomes the command's stderr (`stderr.log`).
    pub stderr: File,
}

/// A started command: its pid, which is also its process group id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawned {
    pub pid: u32,
    /// `None` only where start times cannot be read on this platform.
    pub start_time_ticks: Option<u64>,
}

impl Spawned {
    /// The `cmd.pid` record of this command, where its start time is known.
    pub fn cmd_pid(&self) -> Option<CmdPid> {
        self.start_time_ticks.map(|start_time_ticks| CmdPid {
            pid: self.pid,
            start_time_ticks,
        })
    }
}

/// Make this process a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`):
/// every descendant orphaned later (one that double-forks, daemonizes or
/// calls `setsid`) is reparented to this process instead of init, so it stays
/// visible to [`crate::supervise`] and is reaped here. `Unsupported` elsewhere.
pub fn become_subreaper() -> io::Result<()> {
    platform::become_subreaper()
}

/// Start `spec` as described in the module docs.
pub fn spawn_command(spec: CommandSpec) -> io::Result<Spawned> {
    platform::spawn_command(spec)
}

#[cfg(unix)]
mod platform {
    use std::io;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    use super::{CommandSpec, Spawned};
    use crate::pre_exec::ChildSetup;

    #[cfg(target_os = "linux")]
    pub fn become_subreaper() -> io::Result<()> {
        let me = rustix::process::getpid();
        Ok(rustix::process::set_child_subreaper(Some(me))?)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn become_subreaper() -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "child subreapers exist only on Linux",
        ))
    }

    pub fn spawn_command(spec: CommandSpec) -> io::Result<Spawned> {
        let setup = ChildSetup::new();
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(spec.stdout)
            .stderr(spec.stderr)
            .process_group(0);
        // SAFETY: the hook runs in the forked child before exec and calls only
        // async-signal-safe functions (signal, sigprocmask, fcntl,
        // close_range); it allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || setup.apply(&[]));
        }
        let child = command.spawn()?;
        let pid = child.id();
        // Not reaped yet, so the pid still names the child (or its zombie).
        let start_time_ticks = crate::facts::start_time_ticks(pid);
        tracing::debug!(
            pid,
            ?start_time_ticks,
            "command started in its own process group"
        );
        // Dropping a Child neither kills nor waits: the supervisor reaps it.
        drop(child);
        Ok(Spawned {
            pid,
            start_time_ticks,
        })
    }
}

#[cfg(not(unix))]
mod platform {
    use std::io;

    use super::{CommandSpec, Spawned};

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "supervised commands need Unix process groups and signals",
        )
    }

    pub fn become_subreaper() -> io::Result<()> {
        Err(unsupported())
    }

    pub fn spawn_command(_spec: CommandSpec) -> io::Result<Spawned> {
        Err(unsupported())
    }
}
