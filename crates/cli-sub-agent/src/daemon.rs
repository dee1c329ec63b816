//! The daemon `csa run` starts: holds `locks/<tool>.lock` for its whole life,
//! runs the command with its output in `output.log` / `stderr.log`, and on
//! exit records the ending through `csa_session::ending`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use anyhow::Context as _;
use chrono::Utc;
use csa_process::LockRecord;
use csa_session::durable::create_private_dir_all;
use csa_session::ending::{self, NOT_STARTED_EXIT, RunEnding};
use csa_session::{ResultStatus, SessionDir, TerminationReason, ToolName};

use crate::cli::DaemonArgs;

pub fn run(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let session = SessionDir::new(&args.session_dir);
    let outcome = supervise(&session, args);
    if let Err(err) = &outcome {
        log_error(&session, err);
    }
    outcome
}

fn supervise(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let tool = ToolName::parse(&args.tool)?;
    ignore_termination_signals();
    let lock = open_lock(session, &tool)?;
    lock.try_lock()
        .map_err(|_| anyhow::anyhow!("another daemon holds the {tool} lock of this session"))?;
    let record = LockRecord {
        pid: std::process::id(),
        tool_name: Some(tool.to_string()),
        acquired_at: Some(csa_session::format_time(Utc::now())),
        reason: Some("csa run".into()),
        pid_start_time_ticks: csa_process::facts::own_start_time_ticks(),
        boot_id: csa_process::facts::boot_id(),
        hostname: csa_process::facts::hostname(),
        pid_namespace: csa_process::facts::pid_namespace(),
    };
    let mut file = &lock;
    file.set_len(0)?;
    file.write_all(record.to_json().as_bytes())?;
    file.sync_all()?;

    let started_at = Utc::now();
    let (status, exit_code) = match spawn_command(session, &args.cmd) {
        Ok(mut child) => ending_of(child.wait()?),
        Err(err) => {
            let line = format!("csa: cannot start {:?}: {err}\n", args.cmd[0]);
            append(&session.stderr_log(), &line);
            (ResultStatus::Failure, NOT_STARTED_EXIT)
        }
    };
    let run_ending = RunEnding {
        summary: ending::summary_of(session, &status, exit_code),
        status,
        exit_code,
        reason: TerminationReason::Completed,
        started_at,
        completed_at: Utc::now(),
    };
    ending::finish_run(session, &tool, &run_ending)?;
    drop(lock);
    Ok(ExitCode::SUCCESS)
}

/// `(status, exit_code)`: success / failure by exit code, `signal` as 128 + signo.
fn ending_of(status: ExitStatus) -> (ResultStatus, i32) {
    if let Some(code) = status.code() {
        let word = if code == 0 {
            ResultStatus::Success
        } else {
            ResultStatus::Failure
        };
        return (word, code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (ResultStatus::Signal, 128 + signal);
        }
    }
    (ResultStatus::Failure, 1)
}

fn open_private(path: &Path, append: bool) -> std::io::Result<File> {
    let mut options = fs_err::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.read(true).write(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    Ok(options.open(path)?.into_parts().0)
}

fn open_lock(session: &SessionDir, tool: &ToolName) -> anyhow::Result<File> {
    create_private_dir_all(&session.locks())?;
    let path = session.lock(tool);
    open_private(&path, false).with_context(|| format!("cannot open {}", path.display()))
}

fn spawn_command(session: &SessionDir, cmd: &[String]) -> anyhow::Result<std::process::Child> {
    let (program, rest) = cmd.split_first().context("no command to run")?;
    let stdout = open_private(&session.output_log(), true)?;
    let stderr = open_private(&session.stderr_log(), true)?;
    let mut command = Command::new(program);
    command
        .args(rest)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: signal() is async-signal-safe; the child gets default dispositions back.
        unsafe {
            command.pre_exec(|| {
                for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
    }
    Ok(command.spawn()?)
}

/// The daemon outlives `session kill`'s SIGTERM to its group: the command gets
/// it, and the daemon records how the command ended.
fn ignore_termination_signals() {
    #[cfg(unix)]
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
}

fn append(path: &Path, text: &str) {
    if let Ok(mut file) = open_private(path, true) {
        let _ = file.write_all(text.as_bytes());
    }
}

fn log_error(session: &SessionDir, err: &anyhow::Error) {
    append(
        &session.stderr_log(),
        &format!("csa daemon: error: {}\n", crate::output::one_line(err)),
    );
}

/// `csa run` could not start the daemon: the session must not stay active.
pub fn record_launch_failure(session: &SessionDir, tool: &ToolName, err: &anyhow::Error) {
    log_error(session, err);
    let why = format!(
        "csa run could not start the daemon: {}",
        crate::output::one_line(err)
    );
    if let Err(err) = ending::record_launch_failure(session, tool, &why) {
        log_error(session, &err.into());
    }
}
