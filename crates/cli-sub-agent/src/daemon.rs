//! The daemon `csa run` starts (contract §8.1): wiring only. The binary
//! takes over the descriptors `csa run` handed on (the readiness pipe and
//! the locked tool lock), reads the run from `state.toml`, and hands it to
//! `csa_process::daemon::run`, which supervises CMD and records the ending
//! (`csa_session::ending`). Panics and errors are appended to the session's
//! `stderr.log`: the daemon's own stderr is `/dev/null`.

use std::path::PathBuf;
use std::process::ExitCode;

use csa_process::daemon::{DaemonRun, note};
use csa_session::{SessionDir, SessionId, SessionState, ToolName};

use crate::cli::DaemonArgs;

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
    let session = session.clone();
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
        note(&session, &format!("csa daemon: panic: {message}{at}"));
    }));
}

/// The run, from the daemon's arguments and `state.toml`: CMD's working
/// directory (the `[run]` table's, else the project's) and its `CSA_*`
/// environment, with its depth (this session's + 1; `csa run` says, and a
/// daemon started without `--depth` falls back on what `[genealogy]`
/// recorded).
fn load_run(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<DaemonRun> {
    let state: SessionState = csa_session::load_state(session)?.value;
    let recorded = || {
        let depth = state.genealogy().depth.unwrap_or(0);
        u32::try_from(depth.max(0)).unwrap_or(u32::MAX)
    };
    let depth = args.depth.unwrap_or_else(recorded);
    let id = SessionId::parse(&args.session_id)?;
    let tool = ToolName::parse(&args.tool)?;
    let cwd = state
        .run()
        .map(|run| run.cwd)
        .filter(|cwd| !cwd.is_empty())
        .unwrap_or_else(|| state.project_path().to_owned());
    let env = vec![
        (ENV_SESSION_ID.into(), id.to_string()),
        (ENV_SESSION_DIR.into(), session.path().display().to_string()),
        (ENV_PROJECT_ROOT.into(), state.project_path().to_owned()),
        (ENV_TOOL.into(), tool.to_string()),
        (ENV_DEPTH.into(), depth.saturating_add(1).to_string()),
    ];
    Ok(DaemonRun {
        session: session.clone(),
        id,
        tool,
        cmd: args.cmd.clone(),
        cwd: PathBuf::from(cwd),
        env,
        timeout: args.timeout_secs,
        max_log_size: state
            .run()
            .and_then(|run| run.max_log_size)
            .unwrap_or(csa_session::consts::DEFAULT_MAX_LOG_SIZE),
    })
}

#[cfg(unix)]
mod platform {
    use std::fs::File;
    use std::os::fd::{FromRawFd, RawFd};
    use std::process::ExitCode;

    use anyhow::Context as _;
    use csa_process::ReadyWriter;
    use csa_session::SessionDir;

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
        // SAFETY: --lock-fd names the tool lock csa run handed on; it was
        // kept open above and nothing else in this process owns it.
        let lock = args.lock_fd.map(|fd| unsafe { File::from_raw_fd(fd) });
        let run = super::load_run(session, args)?;
        csa_process::daemon::run(&run, lock, ready)?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(not(unix))]
mod platform {
    use std::process::ExitCode;

    use csa_session::SessionDir;

    use crate::cli::DaemonArgs;

    pub fn daemon(session: &SessionDir, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
        let run = super::load_run(session, args)?;
        csa_process::daemon::run(&run, None, None)?;
        Ok(ExitCode::SUCCESS)
    }
}

fn log_error(session: &SessionDir, err: &anyhow::Error) {
    note(
        session,
        &format!("csa daemon: error: {}", crate::ui::one_line(err)),
    );
}
