//! The daemon `csa run` starts (contract §8.1), as one library call: the
//! binary parses its arguments, reads the run from `state.toml` into a
//! [`DaemonRun`], takes over the descriptors `csa run` handed on, and calls
//! [`run`]. Process care is this crate's ([`crate::spawn`],
//! [`crate::supervise`]); the ending files are `csa_session::ending`'s; how
//! a run ended is decided in pure code ([`ending`]).
//!
//! In order: take the tool lock `csa run` handed on (already locked: it is
//! held without a gap from creation to the end) and rewrite its record with
//! this process, install the stop handlers, replace `daemon.pid` (the
//! launcher's record) with this process's, become a subreaper, start CMD in
//! its own process group, write `cmd.pid`, tell `csa run` it started,
//! supervise it (stop on SIGTERM/SIGINT/SIGHUP or at `--timeout`; a stop
//! asked again with a shorter grace escalates), stop every descendant it
//! left (other sessions' daemons are spared), and record the ending. What
//! goes wrong on the way is appended to the session's `stderr.log` (the
//! daemon's own stderr is `/dev/null`).

pub mod ending;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use csa_session::durable::write_atomic;
use csa_session::ending::{EndingError, RunEnding, finish_run, summary_of};
use csa_session::fault::InjectedFault;
use csa_session::{SessionDir, SessionId, ToolName, WriteError};

pub use crate::log_file::open_log;
use crate::record::DaemonPid;
use crate::supervise::{Ending, SuperviseError};

/// Between SIGTERM and SIGKILL when a stop does not say otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Between SIGTERM and SIGKILL for what CMD leaves behind when it ends.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// What the daemon runs, and for which session.
#[derive(Debug, Clone)]
pub struct DaemonRun {
    pub session: SessionDir,
    pub id: SessionId,
    pub tool: ToolName,
    /// CMD and its arguments.
    pub cmd: Vec<String>,
    /// CMD's working directory.
    pub cwd: PathBuf,
    /// Added to CMD's environment (`CSA_*`).
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// A log that reaches this many bytes is rotated (`[run] max_log_size`).
    pub max_log_size: u64,
}

/// The daemon could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("another process holds the {tool} lock of this session")]
    LockHeld { tool: ToolName },
    #[error("cannot record this process in the {tool} lock file")]
    LockRecord {
        tool: ToolName,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the {tool} lock file")]
    Lock {
        tool: ToolName,
        #[source]
        source: WriteError,
    },
    #[error("cannot record the daemon's pid")]
    DaemonPid(#[source] WriteError),
    #[error("cannot become a child subreaper")]
    Subreaper(#[source] std::io::Error),
    #[error("cannot supervise the command")]
    Supervise(#[from] SuperviseError),
    #[error("cannot wait for the command")]
    Wait(#[source] std::io::Error),
    #[error("cannot record how the run ended")]
    Ending(#[from] EndingError),
    #[error(transparent)]
    Fault(#[from] InjectedFault),
}

/// Run the session to its end: see the module docs. `lock` is the tool lock
/// `csa run` handed on (`None`: open it here); `ready` the pipe on which
/// `csa run` waits to hear whether CMD started.
pub fn run(
    run: &DaemonRun,
    lock: Option<File>,
    ready: Option<crate::ReadyWriter>,
) -> Result<(), DaemonError> {
    platform::run(run, lock, ready)
}

/// Name this process in `daemon.pid`, replacing the launcher's record.
/// Done before `csa run` hears that CMD started, so from then on the record
/// names the daemon whatever happens to the launcher (`kill` verifies the
/// daemon by it). A failure stops the daemon before CMD starts: a session
/// whose daemon cannot be named could not be stopped.
fn write_daemon_pid(session: &SessionDir) -> Result<(), DaemonError> {
    let record = DaemonPid::of_this_process();
    match write_atomic(&session.daemon_pid(), format!("{record}\n").as_bytes()) {
        Ok(()) => Ok(()),
        Err(err) if err.is_in_place() => {
            note(session, &format!("csa daemon: {}", chain(&err)));
            Ok(())
        }
        Err(err) => Err(DaemonError::DaemonPid(err)),
    }
}

/// How the run ended, from the supervisor's account and the session's logs.
fn ending_of(run: &DaemonRun, ending: Ending, started_at: DateTime<Utc>) -> RunEnding {
    let last_output = csa_session::log_tail::output_tail(&run.session, 1);
    let facts = ending::EndFacts {
        ending,
        timeout: run.timeout,
        last_output: &last_output,
        started_at,
    };
    ending::run_ending(&facts, |status, code| {
        summary_of(&run.session, status, code)
    })
}

/// CMD could not be started: record why, as a failure (exit 127).
fn not_started(run: &DaemonRun, why: &str, started_at: DateTime<Utc>) -> Result<(), DaemonError> {
    note(&run.session, &format!("csa: {why}"));
    finish_run(
        &run.session,
        &run.tool,
        &RunEnding::not_started(why, started_at),
    )?;
    Ok(())
}

/// Append one line to the session's `stderr.log`, best effort: it is where
/// the daemon says what went wrong (its own stderr is `/dev/null`).
pub fn note(session: &SessionDir, line: &str) {
    let line: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if let Ok(mut file) = open_log(&session.stderr_log()) {
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

/// `csa run` could not start the daemon, or it died before it started CMD:
/// say why in `stderr.log` and give the session its result, so it never
/// stays active with nothing running.
pub fn record_launch_failure(
    session: &SessionDir,
    tool: &ToolName,
    err: &(dyn std::error::Error + 'static),
) {
    let why = chain(err);
    note(session, &format!("csa daemon: error: {why}"));
    let why = format!("csa run could not start the daemon: {why}");
    if let Err(err) = csa_session::ending::record_launch_failure(session, tool, &why) {
        note(
            session,
            &format!(
                "csa daemon: error: recording the launch failure: {}",
                chain(&err)
            ),
        );
    }
}

/// An error and its causes on one line.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    crate::evidence::error_chain(err)
}

#[cfg(unix)]
mod platform {
    use std::ffi::OsString;
    use std::fs::File;
    use std::io::{Seek, SeekFrom, Write};

    use chrono::Utc;
    use csa_session::durable::{create_private_dir_all, open_lock_file, write_atomic};
    use csa_session::ending::finish_run;
    use csa_session::fault::{self, FaultPoint};

    use super::{
        DEFAULT_GRACE, DaemonError, DaemonRun, LEFTOVER_GRACE, chain, ending_of, not_started, note,
        write_daemon_pid,
    };
    use crate::log_pump::LogPump;
    use crate::record::{LockHolder, LockRecord};
    use crate::supervise::{RunOptions, Supervisor, spare_other_sessions};
    use crate::{CommandSpec, ReadyWriter, become_subreaper, spawn_command};

    pub fn run(
        run: &DaemonRun,
        lock: Option<File>,
        ready: Option<ReadyWriter>,
    ) -> Result<(), DaemonError> {
        let lock = match lock {
            Some(lock) => lock,
            None => open_lock(run)?,
        };
        // The lock csa run took is ours already (same open file description);
        // a lock someone else holds is not.
        lock.try_lock().map_err(|_| DaemonError::LockHeld {
            tool: run.tool.clone(),
        })?;
        write_lock_record(&lock, run).map_err(|source| DaemonError::LockRecord {
            tool: run.tool.clone(),
            source,
        })?;
        // The stop signals are caught before daemon.pid names this process:
        // from then on `csa session kill` may verify it and send SIGTERM,
        // which must be a stop request, never the default action (death
        // without a result).
        let supervisor = Supervisor::new()?;
        write_daemon_pid(&run.session)?;
        fault::hit(FaultPoint::DaemonPidWritten)?;
        supervise(run, ready, supervisor)?;
        drop(lock);
        Ok(())
    }

    fn open_lock(run: &DaemonRun) -> Result<File, DaemonError> {
        let lock_error = |source| DaemonError::Lock {
            tool: run.tool.clone(),
            source,
        };
        create_private_dir_all(&run.session.locks()).map_err(lock_error)?;
        open_lock_file(&run.session.lock(&run.tool)).map_err(lock_error)
    }

    /// Rewrite the lock file (held) so it names this process. The descriptor
    /// was inherited from `csa run`: its offset is past what that wrote.
    fn write_lock_record(mut lock: &File, run: &DaemonRun) -> std::io::Result<()> {
        let record = LockRecord::for_this_process(&run.tool, LockHolder::Daemon);
        lock.set_len(0)?;
        lock.seek(SeekFrom::Start(0))?;
        lock.write_all(record.to_json().as_bytes())?;
        lock.sync_all()
    }

    fn supervise(
        run: &DaemonRun,
        ready: Option<ReadyWriter>,
        mut supervisor: Supervisor,
    ) -> Result<(), DaemonError> {
        let started_at = Utc::now();
        match become_subreaper() {
            Ok(()) => {}
            // Only Linux has subreapers: elsewhere CMD's group is all there is.
            Err(err) if err.kind() == std::io::ErrorKind::Unsupported => {
                tracing::debug!("no child subreaper on this platform");
            }
            Err(err) => return Err(DaemonError::Subreaper(err)),
        }
        // CMD writes into pipes; the pump copies them into the logs and
        // rotates a full one.
        let mut pump = None;
        let mut spec = || -> std::io::Result<CommandSpec> {
            let (program, rest) = run
                .cmd
                .split_first()
                .ok_or_else(|| std::io::Error::other("no command to run"))?;
            let (started, inputs) = LogPump::start(&run.session, run.max_log_size)?;
            pump = Some(started);
            Ok(CommandSpec {
                program: program.into(),
                args: rest.iter().map(OsString::from).collect(),
                cwd: run.cwd.clone(),
                env: run.env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
                stdout: inputs.stdout,
                stderr: inputs.stderr,
            })
        };
        let spawned = match spec().and_then(spawn_command) {
            Ok(spawned) => spawned,
            Err(err) => {
                // CMD's ends of the pipes are closed: the pump ends at once.
                if let Some(pump) = pump.take() {
                    pump.finish(LEFTOVER_GRACE);
                }
                let why = format!(
                    "cannot start {:?}: {err}",
                    run.cmd.first().map_or("", String::as_str)
                );
                not_started(run, &why, started_at)?;
                if let Some(ready) = ready {
                    let _ = ready.failed(&why);
                }
                return Ok(());
            }
        };
        // CMD runs now: nothing may end the daemon before it supervises it.
        // cmd.pid is one more liveness record (the daemon's own and its lock
        // already keep the session alive): a failure to write it is logged.
        if let Some(record) = spawned.cmd_pid()
            && let Err(err) = write_atomic(&run.session.cmd_pid(), format!("{record}\n").as_bytes())
        {
            note(
                &run.session,
                &format!("csa: cannot record cmd.pid: {}", chain(&err)),
            );
        }
        if let Some(ready) = ready {
            let _ = ready.started(spawned.pid, spawned.start_time_ticks.unwrap_or(0));
        }
        let spare = spare_other_sessions(run.id.as_str());
        let requested = || {
            csa_session::stop_request::StopRequest::read(&run.session).map(|request| request.grace)
        };
        let options = RunOptions {
            timeout: run.timeout,
            grace: DEFAULT_GRACE,
            requested_grace: Some(&requested),
        };
        let ending = supervisor.run(&spawned, &options, &spare)?;
        let cleanup = supervisor.terminate_descendants(LEFTOVER_GRACE, &spare)?;
        // Every writer is gone: the logs are complete once the pump is done.
        if let Some(pump) = pump.take() {
            pump.finish(LEFTOVER_GRACE);
        }
        if !cleanup.signalled.is_empty() {
            tracing::info!(
                count = cleanup.signalled.len(),
                "stopped processes the command left behind"
            );
        }
        if !cleanup.survivors.is_empty() {
            note(
                &run.session,
                &format!(
                    "csa: {} processes survived SIGKILL: {:?}",
                    cleanup.survivors.len(),
                    cleanup.survivors.iter().map(|p| p.pid).collect::<Vec<_>>()
                ),
            );
        }
        finish_run(&run.session, &run.tool, &ending_of(run, ending, started_at))?;
        Ok(())
    }
}

/// Elsewhere: no process groups, signals or subreaper to contain CMD with.
/// The daemon runs CMD, waits for it, and records how it ended.
#[cfg(not(unix))]
mod platform {
    use std::fs::File;
    use std::process::{Command, Stdio};

    use chrono::Utc;
    use csa_session::ending::finish_run;

    use super::{DaemonError, DaemonRun, ending_of, not_started, open_log, write_daemon_pid};
    use crate::ReadyWriter;
    use crate::supervise::{Ending, Exit};

    pub fn run(
        run: &DaemonRun,
        _lock: Option<File>,
        _ready: Option<ReadyWriter>,
    ) -> Result<(), DaemonError> {
        write_daemon_pid(&run.session)?;
        let started_at = Utc::now();
        let Some((program, rest)) = run.cmd.split_first() else {
            return not_started(run, "no command to run", started_at);
        };
        let logs = || -> std::io::Result<(File, File)> {
            Ok((
                open_log(&run.session.output_log())?,
                open_log(&run.session.stderr_log())?,
            ))
        };
        let child = logs().and_then(|(stdout, stderr)| {
            Command::new(program)
                .args(rest)
                .current_dir(&run.cwd)
                .envs(run.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
        });
        let mut child = match child {
            Ok(child) => child,
            Err(err) => {
                return not_started(run, &format!("cannot start {program:?}: {err}"), started_at);
            }
        };
        let status = child.wait().map_err(DaemonError::Wait)?;
        let end = Ending {
            exit: Exit::Code(status.code().unwrap_or(1)),
            stop: None,
            last_signal: None,
        };
        finish_run(&run.session, &run.tool, &ending_of(run, end, started_at))?;
        Ok(())
    }
}
