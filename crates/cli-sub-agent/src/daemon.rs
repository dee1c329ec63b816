//! The daemon `csa run` starts (contract §8.1): wiring only. Process care is
//! `csa_process` (launch hygiene, subreaper, supervision, cleanup); the
//! ending is `csa_session::ending`.
//!
//! In order: close every inherited descriptor but the readiness pipe and the
//! tool lock `csa run` handed on (already locked: the lock is held without a
//! gap from creation to the end), rewrite the lock record with this process,
//! replace `daemon.pid` (the launcher's record) with this process's, become a
//! subreaper, install the stop handlers, start CMD in its own process
//! group in the project dir with the `CSA_*` environment, write `cmd.pid`,
//! tell `csa run` it started, supervise it (stop on SIGTERM/SIGINT/SIGHUP or
//! at `--timeout`), stop every descendant it left (other sessions' daemons are
//! spared), and record the ending.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
#[cfg(unix)]
use csa_process::LockRecord;
use csa_session::durable::write_atomic;
use csa_session::ending::{self, NOT_STARTED_EXIT, RunEnding, TIMEOUT_EXIT};
#[cfg(unix)]
use csa_session::stop_request::StopRequest;
use csa_session::{ResultStatus, SessionDir, SessionId, SessionState, TerminationReason, ToolName};

use crate::cli::DaemonArgs;

#[cfg(unix)]
/// Between SIGTERM and SIGKILL when a stop does not say otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
#[cfg(unix)]
/// Between SIGTERM and SIGKILL for what CMD leaves behind when it ends.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);
/// The environment variables CMD gets.
pub use csa_session::consts::{
    ENV_DEPTH, ENV_PROJECT_ROOT, ENV_SESSION_DIR, ENV_SESSION_ID, ENV_TOOL,
};

pub fn run(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let session = SessionDir::new(&args.session_dir);
    report_panics_in(&session);
    let outcome = platform::daemon(&session, args);
    if let Err(err) = &outcome {
        log_error(&session, err);
    }
    outcome
}

/// Record a panic of the daemon as one line of the session's `stderr.log`.
/// The daemon's own stderr is `/dev/null`: without this, a panic (a bug)
/// would end the daemon, leave CMD unsupervised and say nothing anywhere.
fn report_panics_in(session: &SessionDir) {
    let log = session.stderr_log();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        let at = info
            .location()
            .map(|at| format!(" at {}:{}", at.file(), at.line()))
            .unwrap_or_default();
        let line: String = format!("csa daemon: panic: {message}{at}")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        append(&log, &format!("{line}\n"));
    }));
}

/// What the daemon knows about its run, from its arguments and `state.toml`.
struct Run {
    session: SessionDir,
    id: SessionId,
    tool: ToolName,
    state: SessionState,
    cmd: Vec<String>,
    timeout: Option<Duration>,
    /// The session's depth in a tree of sessions (0 at the top).
    depth: u32,
}

impl Run {
    fn load(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<Run> {
        let state = csa_session::load_state(session)?.value;
        // `csa run` says; a daemon started without --depth falls back on
        // what `[genealogy]` recorded (written only for a nested run).
        let recorded = || {
            let depth = state.genealogy().depth.unwrap_or(0);
            u32::try_from(depth.max(0)).unwrap_or(u32::MAX)
        };
        let depth = args.depth.unwrap_or_else(recorded);
        Ok(Run {
            session: session.clone(),
            id: SessionId::parse(&args.session_id)?,
            tool: ToolName::parse(&args.tool)?,
            state,
            cmd: args.cmd.clone(),
            timeout: args.timeout_secs,
            depth,
        })
    }

    /// CMD's working directory: the `[run]` table's, else the project's.
    fn cwd(&self) -> String {
        self.state
            .run()
            .map(|run| run.cwd)
            .filter(|cwd| !cwd.is_empty())
            .unwrap_or_else(|| self.state.project_path().to_owned())
    }

    /// `CSA_*` for CMD: its session, and its depth (this session's + 1).
    fn env(&self) -> Vec<(String, String)> {
        let depth = self.depth.saturating_add(1);
        vec![
            (ENV_SESSION_ID.into(), self.id.to_string()),
            (
                ENV_SESSION_DIR.into(),
                self.session.path().display().to_string(),
            ),
            (
                ENV_PROJECT_ROOT.into(),
                self.state.project_path().to_owned(),
            ),
            (ENV_TOOL.into(), self.tool.to_string()),
            (ENV_DEPTH.into(), depth.to_string()),
        ]
    }

    /// The ending when CMD could not be started.
    fn not_started(&self, why: &str, started_at: DateTime<Utc>) -> RunEnding {
        RunEnding {
            status: ResultStatus::Failure,
            exit_code: NOT_STARTED_EXIT,
            reason: TerminationReason::Completed,
            summary: why.to_owned(),
            started_at,
            completed_at: Utc::now(),
        }
    }
}

#[cfg(unix)]
/// The lock record naming this process.
fn own_lock_record(tool: &ToolName) -> LockRecord {
    LockRecord {
        pid: std::process::id(),
        tool_name: Some(tool.to_string()),
        acquired_at: Some(csa_session::format_time(Utc::now())),
        reason: Some("csa run".into()),
        pid_start_time_ticks: csa_process::facts::own_start_time_ticks(),
        boot_id: csa_process::facts::boot_id(),
        hostname: csa_process::facts::hostname(),
        pid_namespace: csa_process::facts::pid_namespace(),
    }
}

#[cfg(unix)]
/// Rewrite the lock file (held) so it names this process. The descriptor
/// was inherited from `csa run`: its offset is past what that wrote.
fn write_lock_record(mut lock: &File, tool: &ToolName) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    lock.set_len(0)?;
    lock.seek(SeekFrom::Start(0))?;
    lock.write_all(own_lock_record(tool).to_json().as_bytes())?;
    lock.sync_all()
}

/// Name this process in `daemon.pid`, replacing the launcher's record.
/// Done before `csa run` hears that CMD started, so from then on the record
/// names the daemon whatever happens to the launcher (`kill` verifies the
/// daemon by it). A failure stops the daemon before CMD starts: a session
/// whose daemon cannot be named could not be stopped.
fn write_daemon_pid(session: &SessionDir) -> anyhow::Result<()> {
    let record = csa_process::DaemonPid {
        pid: std::process::id(),
        start_time_ticks: csa_process::facts::own_start_time_ticks(),
    };
    match write_atomic(&session.daemon_pid(), format!("{record}\n").as_bytes()) {
        Ok(()) => Ok(()),
        Err(err) if err.is_in_place() => {
            append(
                &session.stderr_log(),
                &format!("csa daemon: {}\n", crate::ui::chain(&err)),
            );
            Ok(())
        }
        Err(err) => Err(anyhow::Error::new(err).context("cannot record the daemon's pid")),
    }
}

/// Open a log for appending: 0600, never through a symlink.
fn open_log(path: &Path) -> std::io::Result<File> {
    let mut options = fs_err::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    Ok(options.open(path)?.into_parts().0)
}

/// The ending of a run, from how CMD ended and whether the daemon stopped it.
/// A stopped CMD that exited by itself (a TERM trap that exits 0) records
/// 128 + the last signal the daemon sent (`Ending::exit_code`).
fn ending_of(run: &Run, ending: csa_process::Ending, started_at: DateTime<Utc>) -> RunEnding {
    use csa_process::{Exit, StopCause};
    let exit_code = ending.exit_code();
    let last_line = csa_session::log_tail::output_tail(&run.session, 1);
    let with_last = |what: String| {
        if last_line.is_empty() {
            what
        } else {
            format!("{what}; last output: {last_line}")
        }
    };
    let signal_name = |signal: i32| match signal {
        9 => "SIGKILL".to_owned(),
        15 => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    };
    let how = match (ending.exit, ending.last_signal) {
        (Exit::Signal(signal), _) => signal_name(signal),
        (Exit::Code(code), Some(sent)) => {
            format!("its own exit {code} after {}", signal_name(sent))
        }
        (Exit::Code(code), None) => format!("its own exit {code}"),
    };
    let (status, exit_code, reason, summary) = match ending.stop {
        Some(StopCause::Requested) => (
            ResultStatus::Killed,
            exit_code,
            TerminationReason::Killed,
            with_last(format!("killed by csa session kill (ended by {how})")),
        ),
        Some(StopCause::Timeout) => (
            ResultStatus::Timeout,
            TIMEOUT_EXIT,
            TerminationReason::Timeout,
            with_last(format!(
                "timed out after {} s (ended by {how})",
                run.timeout.map_or(0.0, |t| t.as_secs_f64())
            )),
        ),
        None => {
            let status = match ending.exit {
                Exit::Code(0) => ResultStatus::Success,
                Exit::Code(_) => ResultStatus::Failure,
                Exit::Signal(_) => ResultStatus::Signal,
            };
            let summary = ending::summary_of(&run.session, &status, exit_code);
            (status, exit_code, TerminationReason::Completed, summary)
        }
    };
    RunEnding {
        status,
        exit_code,
        reason,
        summary,
        started_at,
        completed_at: Utc::now(),
    }
}

#[cfg(unix)]
/// The grace a `csa session kill` asked for, else the default.
fn requested_grace(session: &SessionDir) -> Option<Duration> {
    StopRequest::read(session).map(|request| request.grace)
}

#[cfg(unix)]
mod platform {
    use std::ffi::OsString;
    use std::fs::File;
    use std::os::fd::{FromRawFd, RawFd};
    use std::process::ExitCode;

    use anyhow::Context as _;
    use chrono::Utc;
    use csa_process::{
        CommandSpec, ReadyWriter, RunOptions, Supervisor, become_subreaper, spare_other_sessions,
        spawn_command,
    };
    use csa_session::SessionDir;
    use csa_session::durable::write_atomic;
    use csa_session::ending;

    use super::{
        DEFAULT_GRACE, LEFTOVER_GRACE, Run, ending_of, open_log, requested_grace, write_lock_record,
    };
    use crate::cli::DaemonArgs;

    pub fn daemon(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
        let keep: Vec<RawFd> = [args.ready_fd, args.lock_fd]
            .into_iter()
            .flatten()
            .collect();
        // SAFETY: the daemon's first act: nothing in this process owns a
        // descriptor >= 3 yet except the two csa run handed on, which are kept.
        unsafe { csa_process::launch::close_inherited_fds(&keep) }
            .context("cannot close inherited descriptors")?;
        let ready = match args.ready_fd {
            // SAFETY: --ready-fd names the pipe csa run handed on; it was kept
            // open above and nothing else in this process owns it.
            Some(fd) => Some(unsafe { ReadyWriter::from_inherited_fd(fd) }?),
            None => None,
        };
        let run = Run::load(session, args)?;
        let lock = match args.lock_fd {
            // SAFETY: --lock-fd names the tool lock csa run handed on; it was
            // kept open above and nothing else in this process owns it.
            Some(fd) => unsafe { File::from_raw_fd(fd) },
            None => open_lock(&run)?,
        };
        // The lock csa run took is ours already (same open file description);
        // a lock someone else holds is not.
        lock.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another process holds the {} lock of this session",
                run.tool
            )
        })?;
        write_lock_record(&lock, &run.tool)?;
        // The stop signals are caught before daemon.pid names this process:
        // from then on `csa session kill` may verify it and send SIGTERM,
        // which must be a stop request, never the default action (death
        // without a result).
        let supervisor = Supervisor::new()?;
        super::write_daemon_pid(&run.session)?;
        csa_session::fault::hit(csa_session::fault::FaultPoint::DaemonPidWritten)?;
        supervise(&run, ready, supervisor)?;
        drop(lock);
        Ok(ExitCode::SUCCESS)
    }

    fn open_lock(run: &Run) -> anyhow::Result<File> {
        csa_session::durable::create_private_dir_all(&run.session.locks())?;
        Ok(csa_session::durable::open_lock_file(
            &run.session.lock(&run.tool),
        )?)
    }

    fn supervise(
        run: &Run,
        ready: Option<ReadyWriter>,
        mut supervisor: Supervisor,
    ) -> anyhow::Result<()> {
        let started_at = Utc::now();
        match become_subreaper() {
            Ok(()) => {}
            // Only Linux has subreapers: elsewhere CMD's group is all there is.
            Err(err) if err.kind() == std::io::ErrorKind::Unsupported => {
                tracing::debug!("no child subreaper on this platform");
            }
            Err(err) => {
                return Err(anyhow::Error::new(err).context("cannot become a child subreaper"));
            }
        }
        let spec = || -> std::io::Result<CommandSpec> {
            let (program, rest) = run
                .cmd
                .split_first()
                .ok_or_else(|| std::io::Error::other("no command to run"))?;
            Ok(CommandSpec {
                program: program.into(),
                args: rest.iter().map(OsString::from).collect(),
                cwd: run.cwd().into(),
                env: run
                    .env()
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                stdout: open_log(&run.session.output_log())?,
                stderr: open_log(&run.session.stderr_log())?,
            })
        };
        let spawned = match spec().and_then(spawn_command) {
            Ok(spawned) => spawned,
            Err(err) => {
                let why = format!(
                    "cannot start {:?}: {err}",
                    run.cmd.first().map_or("", String::as_str)
                );
                super::append(&run.session.stderr_log(), &format!("csa: {why}\n"));
                ending::finish_run(&run.session, &run.tool, &run.not_started(&why, started_at))?;
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
            super::append(
                &run.session.stderr_log(),
                &format!("csa: cannot record cmd.pid: {}\n", crate::ui::chain(&err)),
            );
        }
        if let Some(ready) = ready {
            let _ = ready.started(spawned.pid, spawned.start_time_ticks.unwrap_or(0));
        }
        let spare = spare_other_sessions(run.id.as_str());
        let requested = || requested_grace(&run.session);
        let options = RunOptions {
            timeout: run.timeout,
            grace: DEFAULT_GRACE,
            requested_grace: Some(&requested),
        };
        let ending = supervisor.run(&spawned, &options, &spare)?;
        let cleanup = supervisor.terminate_descendants(LEFTOVER_GRACE, &spare)?;
        if !cleanup.signalled.is_empty() {
            tracing::info!(
                count = cleanup.signalled.len(),
                "stopped processes the command left behind"
            );
        }
        if !cleanup.survivors.is_empty() {
            super::append(
                &run.session.stderr_log(),
                &format!(
                    "csa: {} processes survived SIGKILL: {:?}\n",
                    cleanup.survivors.len(),
                    cleanup.survivors.iter().map(|p| p.pid).collect::<Vec<_>>()
                ),
            );
        }
        ending::finish_run(&run.session, &run.tool, &ending_of(run, ending, started_at))?;
        Ok(())
    }
}

/// Elsewhere: no process groups, signals or subreaper to contain CMD with.
/// The daemon runs CMD, waits for it, and records how it ended.
#[cfg(not(unix))]
mod platform {
    use std::process::{Command, ExitCode, Stdio};

    use chrono::Utc;
    use csa_session::SessionDir;
    use csa_session::ending;

    use super::{Run, ending_of, open_log};
    use crate::cli::DaemonArgs;

    pub fn daemon(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
        let run = Run::load(session, args)?;
        super::write_daemon_pid(&run.session)?;
        let started_at = Utc::now();
        let (program, rest) = run
            .cmd
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("no command to run"))?;
        let child = Command::new(program)
            .args(rest)
            .current_dir(run.cwd())
            .envs(run.env())
            .stdin(Stdio::null())
            .stdout(open_log(&run.session.output_log())?)
            .stderr(open_log(&run.session.stderr_log())?)
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => {
                let why = format!("cannot start {program:?}: {err}");
                ending::finish_run(&run.session, &run.tool, &run.not_started(&why, started_at))?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        let status = child.wait()?;
        let exit = match status.code() {
            Some(code) => csa_process::Exit::Code(code),
            None => csa_process::Exit::Code(1),
        };
        let end = csa_process::Ending {
            exit,
            stop: None,
            last_signal: None,
        };
        ending::finish_run(&run.session, &run.tool, &ending_of(&run, end, started_at))?;
        Ok(ExitCode::SUCCESS)
    }
}

fn append(path: &Path, text: &str) {
    if let Ok(mut file) = open_log(path) {
        let _ = file.write_all(text.as_bytes());
    }
}

fn log_error(session: &SessionDir, err: &anyhow::Error) {
    append(
        &session.stderr_log(),
        &format!("csa daemon: error: {}\n", crate::ui::one_line(err)),
    );
}

/// `csa run` could not start the daemon: the session must not stay active.
pub fn record_launch_failure(session: &SessionDir, tool: &ToolName, err: &anyhow::Error) {
    log_error(session, err);
    let why = format!(
        "csa run could not start the daemon: {}",
        crate::ui::one_line(err)
    );
    if let Err(err) = ending::record_launch_failure(session, tool, &why) {
        log_error(
            session,
            &anyhow::Error::new(err).context("recording the launch failure"),
        );
    }
}
