//! The daemon `csa run` starts: holds `locks/<tool>.lock` for its whole life,
//! runs the command with its output in `output.log` / `stderr.log`, and on exit
//! records the ending in order: `daemon-completion.toml`, `result.toml` (no
//! clobber), the retired `state.toml`, the cooldown marker. Fault points
//! `daemon:completion`, `daemon:result`, `daemon:state`, `daemon:cooldown`
//! sit before each step.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use csa_process::LockRecord;
use csa_session::consts::{
    DAEMON_COMPLETION_FILE, LOCKS_DIR, OUTPUT_LOG, RESULT_FILE, STATE_FILE, STDERR_LOG,
};
use csa_session::durable::{create_private_dir_all, publish_no_clobber, write_atomic};
use csa_session::{CooldownMarker, DaemonCompletion, Phase, PhaseEvent, SessionResult, ToolState};

use crate::cli::DaemonArgs;
use crate::fault;
use crate::reconcile::synthetic::{log_tail, output_tail};

/// Exit code recorded when the command cannot be started (as shells do).
const NOT_STARTED_EXIT: i64 = 127;

pub fn run(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.session_dir;
    let outcome = supervise(args);
    if let Err(err) = &outcome {
        log_error(dir, err);
    }
    outcome
}

fn supervise(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.session_dir;
    ignore_termination_signals();
    let mut lock = open_lock(dir, &args.tool)?;
    let mut guard = lock.try_write().with_context(|| {
        format!(
            "another daemon holds the {} lock of this session",
            args.tool
        )
    })?;
    let record = LockRecord {
        pid: std::process::id(),
        tool_name: Some(args.tool.clone()),
        acquired_at: Some(csa_session::format_time(Utc::now())),
        reason: Some("csa run".into()),
        pid_start_time_ticks: csa_process::facts::own_start_time_ticks(),
        boot_id: csa_process::facts::boot_id(),
        hostname: csa_process::facts::hostname(),
    };
    guard.set_len(0)?;
    guard.write_all(record.to_json().as_bytes())?;
    guard.sync_all()?;

    let started_at = Utc::now();
    let (status, exit_code) = match spawn_command(dir, &args.cmd) {
        Ok(mut child) => ending(child.wait()?),
        Err(err) => {
            let line = format!("csa: cannot start {:?}: {err}\n", args.cmd[0]);
            append(dir, STDERR_LOG, &line);
            ("failure".to_owned(), NOT_STARTED_EXIT)
        }
    };
    finish(dir, &args.tool, &status, exit_code, started_at)?;
    drop(guard);
    Ok(ExitCode::SUCCESS)
}

/// Record the ending: completion, result, retired state, cooldown marker.
fn finish(
    dir: &Path,
    tool: &str,
    status: &str,
    exit_code: i64,
    started_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let completed_at = Utc::now();
    fault::hit("daemon:completion")?;
    let completion = DaemonCompletion {
        exit_code,
        status: status.to_owned(),
    };
    write_atomic(
        &dir.join(DAEMON_COMPLETION_FILE),
        completion.to_toml_string().as_bytes(),
    )?;

    fault::hit("daemon:result")?;
    let summary = summary_line(dir, status, exit_code);
    let result = SessionResult::new(status, exit_code, &summary, tool, started_at, completed_at);
    // A result the tool wrote itself is real too: keep it.
    publish_no_clobber(&dir.join(RESULT_FILE), result.to_toml_string().as_bytes())?;

    fault::hit("daemon:state")?;
    let mut state = csa_session::load_state(dir)?.value;
    state.set_tool(
        tool,
        &ToolState {
            last_exit_code: Some(exit_code),
            updated_at: Some(completed_at),
            ..ToolState::default()
        },
    );
    if state.phase() != Phase::Retired {
        state.apply_event(PhaseEvent::Retired)?;
        state.set_termination_reason_if_empty("completed");
    }
    write_atomic(&dir.join(STATE_FILE), state.to_toml_string().as_bytes())?;

    fault::hit("daemon:cooldown")?;
    if let (Some(sessions_dir), Some(id)) = (dir.parent(), dir.file_name()) {
        let marker = CooldownMarker {
            session_id: id.to_string_lossy().into_owned(),
            completed_at,
        };
        csa_session::write_cooldown_marker(sessions_dir, &marker)?;
    }
    Ok(())
}

/// `(status, exit_code)`: success / failure by exit code, `signal` as 128 + signo.
fn ending(status: ExitStatus) -> (String, i64) {
    if let Some(code) = status.code() {
        let word = if code == 0 { "success" } else { "failure" };
        return (word.to_owned(), i64::from(code));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ("signal".to_owned(), 128 + i64::from(signal));
        }
    }
    ("failure".to_owned(), 1)
}

/// The result summary: the last non-empty output line, else stderr's, else the code.
fn summary_line(dir: &Path, status: &str, exit_code: i64) -> String {
    let last = output_tail(dir, 1);
    if !last.is_empty() {
        return last;
    }
    let err_last = log_tail(&dir.join(STDERR_LOG), 1);
    if err_last.is_empty() && status == "signal" {
        format!("terminated by signal {}", exit_code - 128)
    } else if err_last.is_empty() {
        format!("exited with code {exit_code}")
    } else {
        err_last
    }
}

fn open_private(path: &Path, append: bool) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.read(true).write(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

fn open_lock(dir: &Path, tool: &str) -> anyhow::Result<fd_lock::RwLock<File>> {
    let locks = dir.join(LOCKS_DIR);
    create_private_dir_all(&locks)?;
    let path = locks.join(format!("{tool}.lock"));
    let file =
        open_private(&path, false).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(fd_lock::RwLock::new(file))
}

fn spawn_command(dir: &Path, cmd: &[String]) -> anyhow::Result<std::process::Child> {
    let (program, rest) = cmd.split_first().context("no command to run")?;
    let stdout = open_private(&dir.join(OUTPUT_LOG), true)?;
    let stderr = open_private(&dir.join(STDERR_LOG), true)?;
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

fn append(dir: &Path, name: &str, text: &str) {
    if let Ok(mut file) = open_private(&dir.join(name), true) {
        let _ = file.write_all(text.as_bytes());
    }
}

fn log_error(dir: &Path, err: &anyhow::Error) {
    append(
        dir,
        STDERR_LOG,
        &format!("csa daemon: error: {}\n", crate::output::one_line(err)),
    );
}

/// `csa run` could not start the daemon: the session must not stay active.
pub fn record_launch_failure(dir: &Path, tool: &str, err: &anyhow::Error) {
    log_error(dir, err);
    let now = Utc::now();
    let result = SessionResult::new(
        "failure",
        NOT_STARTED_EXIT,
        &format!(
            "csa run could not start the daemon: {}",
            crate::output::one_line(err)
        ),
        tool,
        now,
        now,
    );
    let _ = publish_no_clobber(&dir.join(RESULT_FILE), result.to_toml_string().as_bytes());
    if let Ok(mut state) = csa_session::load_state(dir).map(|s| s.value)
        && state.apply_event(PhaseEvent::Retired).is_ok()
    {
        state.set_termination_reason_if_empty("completed");
        let _ = write_atomic(&dir.join(STATE_FILE), state.to_toml_string().as_bytes());
    }
}
