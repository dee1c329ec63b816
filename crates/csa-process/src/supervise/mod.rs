//! The daemon's care of its command and every descendant (contract §8.1, §8.3).
//!
//! The daemon wires it like this:
//!
//! ```text
//! become_subreaper()?;                       // crate::spawn
//! let mut supervisor = Supervisor::new()?;   // handlers before the child exists
//! let spawned = spawn_command(spec)?;        // write cmd.pid from spawned
//! let spare = spare_other_sessions(own_id);
//! let ending = supervisor.run(&spawned, &RunOptions { timeout, grace }, &spare)?;
//! let cleanup = supervisor.terminate_descendants(Duration::from_secs(2), &spare)?;
//! // write the result from `ending`, then drop the supervisor and exit
//! ```
//!
//! [`Supervisor::new`] installs `signal-hook` handlers: SIGTERM, SIGINT and
//! SIGHUP become a stop request (the daemon itself is not killed by them),
//! and those signals and SIGCHLD wake a self-pipe. [`Supervisor::run`] polls
//! that pipe with a timeout computed from its deadlines and reaps every child
//! that exits (orphans reparented to the subreaper included) until the command
//! has exited. On a stop request or at the `timeout`, it sends SIGTERM to the
//! command's process group and to every descendant not spared, and SIGKILL to
//! what is left after `grace`. [`Supervisor::terminate_descendants`] then
//! clears out every descendant still running (SIGTERM, SIGKILL after its
//! grace, repeated passes until none is left), except spared subtrees: the
//! daemon of another csa session (its command line names its session dir,
//! whose `daemon.pid` names it) and everything under it
//! ([`spare_other_sessions`]). Spared processes that exit while the
//! supervisor still runs are reaped; those still running when the daemon
//! exits are reparented as usual.
//!
//! The supervisor reaps *every* child of this process: nothing else in the
//! daemon may wait for children. The handlers stay installed while it lives;
//! after it is dropped, SIGTERM, SIGINT and SIGHUP are ignored (signal-hook
//! leaves its handler in place), so the daemon can finish writing its result.
//! Linux has all of this; other Unix systems have no subreaper and no process
//! table, so only the command's group is signalled and
//! [`Cleanup::complete`] is false; elsewhere [`Supervisor::new`] is
//! `Unsupported`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use csa_session::SessionDir;
use serde::Serialize;

use crate::proctable::ProcInfo;
use crate::signal::{self, Refusal};

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal with this number ended it.
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the code, or 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => 128 + signal,
        }
    }
}

/// Why the supervisor stopped the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// SIGTERM, SIGINT or SIGHUP reached the daemon (`csa session kill`).
    Requested,
    /// The run's `timeout` expired.
    Timeout,
}

/// The command's ending, and whether the supervisor stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ending {
    pub exit: Exit,
    pub stop: Option<StopCause>,
    /// The last signal the supervisor sent the command while stopping it
    /// (15 for SIGTERM, 9 for SIGKILL), if it sent any.
    pub last_signal: Option<i32>,
}

impl Ending {
    /// The exit code to record for the command. One that the supervisor
    /// stopped and that then exited by itself (a TERM trap that exits 0)
    /// was ended by csa's signal: 128 + the last signal sent (contract §8.3:
    /// a killed result carries 128+N of the signal that ended the command).
    /// Otherwise the shell's convention ([`Exit::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        match (self.stop, self.exit, self.last_signal) {
            (Some(_), Exit::Code(_), Some(signal)) => 128 + signal,
            _ => self.exit.exit_code(),
        }
    }
}

/// Limits of one run.
#[derive(Clone, Copy)]
pub struct RunOptions<'a> {
    /// Stop the command when this much time has passed since `run` started.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub grace: Duration,
    /// Asked when a stop is requested: the grace the requester wants (for
    /// example what `csa session kill --grace` left for the daemon), or
    /// `None` for [`RunOptions::grace`].
    pub requested_grace: Option<&'a (dyn Fn() -> Option<Duration> + 'a)>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("timeout", &self.timeout)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl RunOptions<'_> {
    /// The grace of a stop with this cause.
    pub fn grace_for(&self, cause: StopCause) -> Duration {
        match cause {
            StopCause::Requested => self.requested().unwrap_or(self.grace),
            StopCause::Timeout => self.grace,
        }
    }

    /// The grace the requester of a stop asked for, if it said.
    pub fn requested(&self) -> Option<Duration> {
        self.requested_grace.and_then(|requested| requested())
    }
}

/// What [`Supervisor::terminate_descendants`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cleanup {
    /// Every descendant that was sent a signal.
    pub signalled: Vec<ProcInfo>,
    /// Descendants still running when it gave up (SIGKILL did not end them
    /// within [`crate::consts::AFTER_KILL_LIMIT`]).
    pub survivors: Vec<ProcInfo>,
    /// False where descendants cannot be enumerated on this platform.
    pub complete: bool,
}

/// The supervisor could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("cannot install the daemon's signal handlers")]
    Signals(#[source] std::io::Error),
    #[error("cannot wait for child processes")]
    Wait(#[source] std::io::Error),
    #[error(
        "the start time of the command (pid {pid}) is unknown, so it cannot be signalled safely"
    )]
    NoStartTime { pid: u32 },
    #[error("the command (pid {pid}) cannot be supervised: {refusal}")]
    Refused { pid: u32, refusal: Refusal },
    #[error("supervising commands is not supported on this platform")]
    Unsupported,
}

/// A predicate that spares a descendant (and its whole subtree) from
/// termination.
pub type Spare<'a> = dyn Fn(&ProcInfo) -> bool + 'a;

/// Spare the daemon of a child session of `own_session_id` (contract
/// §8.1, §8.8: it and everything under it belong to that session). See
/// [`is_other_sessions_daemon`] for what makes a process one. The state
/// roots are read from the environment once, here; where they cannot be,
/// nothing is spared.
pub fn spare_other_sessions(own_session_id: &str) -> impl Fn(&ProcInfo) -> bool + '_ {
    let roots: Vec<PathBuf> = csa_session::StateRoots::from_env()
        .map(|roots| {
            [roots.primary, roots.legacy]
                .into_iter()
                .filter_map(|root| fs_err::canonicalize(root).ok())
                .collect()
        })
        .unwrap_or_default();
    move |info: &ProcInfo| is_other_sessions_daemon(info, own_session_id, &roots)
}

/// Whether `info` really is the daemon of a child session of
/// `own_session_id`. Its command line must be `<csa> daemon ...
/// --session-dir <D> ... --session-id <id> ...` with `<id>` a session id
/// that is not `own_session_id`, `D` an absolute path whose file name is
/// `<id>`, and `D/daemon.pid` naming exactly this process (its pid and start
/// time; a daemon writes that record before its `csa run` returns). And `D`
/// must be a real session: in a `sessions` folder under one of `roots` (the
/// canonical state roots), its `state.toml` naming `own_session_id` as
/// `[genealogy] parent_session_id` (a nested `csa run` records it before
/// the daemon starts). A command line alone is not enough, nor a
/// `daemon.pid` a process wrote for itself: any command can take that
/// shape (`sh daemon --session-dir D --session-id <id>`) to escape the
/// cleanup of its session.
pub fn is_other_sessions_daemon(info: &ProcInfo, own_session_id: &str, roots: &[PathBuf]) -> bool {
    let Some(args) = crate::facts::cmdline_args(info.pid) else {
        return false;
    };
    let Some(daemon) = signal::daemon_argv(&args) else {
        return false;
    };
    let Some(dir) = daemon.session_dir.map(Path::new) else {
        return false;
    };
    let Ok(id) = csa_session::SessionId::parse(daemon.session_id) else {
        return false;
    };
    if id.as_str().eq_ignore_ascii_case(own_session_id)
        || !dir.is_absolute()
        || dir.file_name() != Some(OsStr::new(daemon.session_id))
    {
        return false;
    }
    let verified = matches!(
        crate::record::read_daemon_pid(&SessionDir::new(dir)),
        Ok(Some(record)) if record.pid == info.pid
            && record.start_time_ticks == Some(info.start_time_ticks)
    );
    verified && is_child_session(dir, id, own_session_id, roots)
}

/// Whether `dir` (session `id`) is a real session dir in a `sessions`
/// folder under one of `roots` whose parent is `parent`.
fn is_child_session(
    dir: &Path,
    id: csa_session::SessionId,
    parent: &str,
    roots: &[PathBuf],
) -> bool {
    let Ok(real) = fs_err::canonicalize(dir) else {
        return false;
    };
    let in_sessions = real.parent().and_then(Path::file_name)
        == Some(OsStr::new(csa_session::consts::SESSIONS_DIR));
    if !in_sessions || !roots.iter().any(|root| real.starts_with(root)) {
        return false;
    }
    let loc = csa_session::SessionLocation {
        id,
        dir: SessionDir::new(real),
        legacy: false,
    };
    csa_session::genealogy::Kin::read(&loc)
        .parent
        .is_some_and(|named| named.eq_ignore_ascii_case(parent))
}

/// Spare nothing.
pub fn spare_nothing(_info: &ProcInfo) -> bool {
    false
}

#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod wakeup;
#[cfg(unix)]
use unix as imp;

#[cfg(not(unix))]
mod imp {
    use super::{Cleanup, Ending, RunOptions, Spare, SuperviseError};
    use crate::spawn::Spawned;

    /// Not available here: [`Supervisor::new`] is `Unsupported`.
    #[derive(Debug)]
    pub struct Supervisor {
        never: std::convert::Infallible,
    }

    impl Supervisor {
        pub fn new() -> Result<Supervisor, SuperviseError> {
            Err(SuperviseError::Unsupported)
        }

        pub fn stop_requested(&self) -> Option<i32> {
            match self.never {}
        }

        pub fn run(
            &mut self,
            _cmd: &Spawned,
            _options: &RunOptions<'_>,
            _spare: &Spare<'_>,
        ) -> Result<Ending, SuperviseError> {
            match self.never {}
        }

        pub fn terminate_descendants(
            &mut self,
            _grace: std::time::Duration,
            _spare: &Spare<'_>,
        ) -> Result<Cleanup, SuperviseError> {
            match self.never {}
        }
    }
}

pub use imp::Supervisor;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Exit::Code(3).exit_code(), 3);
        assert_eq!(Exit::Signal(15).exit_code(), 143);
        assert_eq!(Exit::Signal(9).exit_code(), 137);
    }

    #[test]
    fn a_stopped_command_that_exits_by_itself_was_ended_by_the_last_signal_sent() {
        let ending = |exit, stop, last_signal| {
            Ending {
                exit,
                stop,
                last_signal,
            }
            .exit_code()
        };
        let requested = Some(StopCause::Requested);
        let timeout = Some(StopCause::Timeout);
        assert_eq!(ending(Exit::Code(0), requested, Some(15)), 143);
        assert_eq!(ending(Exit::Code(3), timeout, Some(15)), 143);
        assert_eq!(ending(Exit::Code(0), requested, Some(9)), 137);
        assert_eq!(ending(Exit::Signal(9), requested, Some(9)), 137);
        assert_eq!(ending(Exit::Signal(2), requested, Some(15)), 130);
        // Not stopped by csa: its own code or signal.
        assert_eq!(ending(Exit::Code(0), None, None), 0);
        assert_eq!(ending(Exit::Code(3), None, None), 3);
        assert_eq!(ending(Exit::Signal(15), None, None), 143);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_daemons_of_other_sessions_are_spared() {
        let me = crate::proctable::snapshot()
            .and_then(|t| t.get(std::process::id()).copied())
            .unwrap();
        // This test binary is no csa daemon.
        assert!(!spare_other_sessions("01ARZ3NDEKTSV4RRFFQ69G5FAV")(&me));
        assert!(!spare_nothing(&me));
    }
}
