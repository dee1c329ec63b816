//! Starting the daemon of a session `csa run` has just created (contract
//! §8.1): the daemon's command line, its start detached ([`crate::launch`])
//! with the readiness pipe and the held tool lock, and the wait until it
//! says whether CMD started. A daemon that cannot be started, or that dies
//! before it says, leaves a session with a result saying so: never one that
//! stays active with nothing running.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use csa_session::create::Created;
use csa_session::fault::InjectedFault;
use csa_session::{SessionId, ToolName};

use crate::ready::ReadyError;

/// How long `csa run` waits for the daemon to say whether CMD started.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the daemon of a new session is started with.
#[derive(Debug)]
pub struct DaemonStart<'a> {
    /// The csa executable (the daemon is `csa daemon ...`).
    pub exe: PathBuf,
    pub created: &'a Created,
    pub id: &'a SessionId,
    pub tool: &'a ToolName,
    /// This run's depth in a tree of sessions (`CSA_DEPTH`).
    pub depth: u32,
    pub timeout: Option<Duration>,
    /// CMD and its arguments.
    pub cmd: &'a [String],
}

/// Why the run did not start; each message is one line naming the session.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the daemon for session {id}")]
    Spawn {
        id: SessionId,
        #[source]
        source: std::io::Error,
    },
    #[error("session {id} ended at once: {why} (its result says so)")]
    EndedAtOnce { id: SessionId, why: String },
    #[error("the daemon of session {id} died before it started the command; see {log}")]
    DaemonDied { id: SessionId, log: String },
    #[error(
        "the daemon of session {id} did not confirm within {} s that the command started; it may still start: see csa session show {id}",
        READY_TIMEOUT.as_secs()
    )]
    Unconfirmed { id: SessionId },
    #[error("cannot hear from the daemon of session {id}")]
    Unheard {
        id: SessionId,
        #[source]
        source: ReadyError,
    },
    #[error(transparent)]
    Fault(#[from] InjectedFault),
}

/// Start the daemon and, where a readiness pipe exists (Unix), wait until
/// it says whether CMD started. Elsewhere the daemon is started detached
/// and not waited for.
pub fn start_daemon(start: &DaemonStart<'_>) -> Result<(), StartError> {
    platform::start_daemon(start)
}

/// The daemon's command line: `daemon --session-dir ... --session-id ...
/// --tool ... --depth N [<fd option> <fd>]... [--timeout-secs N] -- CMD...`
/// (the session id on it is what `kill` verifies the daemon by).
fn daemon_args(start: &DaemonStart<'_>, handed_fds: &[(&str, i32)]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![
        "daemon".into(),
        "--session-dir".into(),
        start.created.dir.path().into(),
        "--session-id".into(),
        start.id.as_str().into(),
        "--tool".into(),
        start.tool.as_str().into(),
        "--depth".into(),
        start.depth.to_string().into(),
    ];
    for (option, fd) in handed_fds {
        out.push((*option).into());
        out.push(fd.to_string().into());
    }
    if let Some(timeout) = start.timeout {
        out.push("--timeout-secs".into());
        out.push(timeout.as_secs_f64().to_string().into());
    }
    out.push("--".into());
    out.extend(start.cmd.iter().map(Into::into));
    out
}

#[cfg(unix)]
mod platform {
    use std::os::fd::{AsFd, AsRawFd};

    use csa_session::fault::FaultPoint;

    use super::{DaemonStart, READY_TIMEOUT, StartError, daemon_args};
    use crate::daemon::record_launch_failure;
    use crate::launch::spawn_detached;
    use crate::ready::{Ready, ReadyError, ready_pipe};

    pub fn start_daemon(start: &DaemonStart<'_>) -> Result<(), StartError> {
        let dir = &start.created.dir;
        let id = start.id.clone();
        let launched = (|| -> std::io::Result<_> {
            let (reader, writer) = ready_pipe()?;
            let lock = start.created.lock.as_fd();
            let handed = [
                ("--ready-fd", writer.raw_fd()),
                ("--lock-fd", lock.as_raw_fd()),
            ];
            let args = daemon_args(start, &handed);
            let child = spawn_detached(&start.exe, &args, writer, Some(lock))?;
            Ok((reader, child))
        })();
        let (reader, child) = match launched {
            Ok(launched) => launched,
            Err(source) => {
                let err = StartError::Spawn { id, source };
                record_launch_failure(dir, start.tool, &err);
                return Err(err);
            }
        };
        tracing::debug!(session = %start.id, pid = child.id(), "daemon started");
        // The daemon records its own pid in daemon.pid before it reports:
        // nothing this launcher does (or fails to do) from here on can leave
        // daemon.pid naming the launcher while the daemon runs.
        csa_session::fault::hit(FaultPoint::RunSpawned)?;
        match reader.wait(READY_TIMEOUT) {
            Ok(Ready::Started { .. }) => Ok(()),
            Ok(Ready::Failed(why)) => Err(StartError::EndedAtOnce { id, why }),
            Err(ReadyError::DaemonDied) => {
                let log = dir.stderr_log().display().to_string();
                let err = StartError::DaemonDied { id, log };
                if csa_session::load_result_if_any(dir)
                    .ok()
                    .flatten()
                    .is_none()
                {
                    record_launch_failure(dir, start.tool, &err);
                }
                Err(err)
            }
            Err(ReadyError::Timeout(_)) => Err(StartError::Unconfirmed { id }),
            Err(source) => Err(StartError::Unheard { id, source }),
        }
    }
}

#[cfg(not(unix))]
mod platform {
    use std::process::{Command, Stdio};

    use super::{DaemonStart, StartError, daemon_args};
    use crate::daemon::record_launch_failure;

    pub fn start_daemon(start: &DaemonStart<'_>) -> Result<(), StartError> {
        let mut cmd = Command::new(&start.exe);
        cmd.args(daemon_args(start, &[]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            const DETACHED_PROCESS: u32 = 0x0000_0008;
            const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
            cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
        }
        if let Err(source) = cmd.spawn() {
            let err = StartError::Spawn {
                id: start.id.clone(),
                source,
            };
            record_launch_failure(&start.created.dir, start.tool, &err);
            return Err(err);
        }
        Ok(())
    }
}
