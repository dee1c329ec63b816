//! `csa run --tool NAME -- CMD...`: create a session, start its detached
//! daemon, print the session id, and return at once.
//!
//! `state.toml` (active) is written before the daemon starts; the launcher
//! then writes `daemon.pid` as `<pid> <starttime_ticks>`. The daemon itself
//! (`crate::daemon`) holds the tool's lock file for its whole life.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::Context as _;
use chrono::Utc;
use csa_process::DaemonPid;
use csa_session::durable::{create_private_dir_all, write_atomic};
use csa_session::{SessionDir, SessionId, SessionState, ToolName, ToolState};

use crate::cli::RunArgs;
use crate::context::Context;
use crate::output;

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let tool = ToolName::parse(&args.tool)?;
    let ctx = Context::new(&args.project)?;
    let id = SessionId::generate();
    let dir = ctx.primary_sessions_dir().session(&id);
    create_private_dir_all(dir.path())?;
    let now = Utc::now();
    let project_dir = ctx.project.project_dir();
    let mut state = SessionState::new(
        &id,
        &project_dir.to_string_lossy(),
        now,
        args.description.as_deref(),
        git_branch(project_dir).as_deref(),
    );
    state.set_tool(
        tool.as_str(),
        &ToolState {
            updated_at: Some(now),
            ..ToolState::default()
        },
    );
    write_atomic(&dir.state(), state.to_toml_string().as_bytes())?;

    let child = spawn_daemon(&dir, &id, args)
        .with_context(|| format!("cannot start the daemon for session {id}"));
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            crate::daemon::record_launch_failure(&dir, &tool, &err);
            return Err(err);
        }
    };
    let record = DaemonPid {
        pid: child.id(),
        start_time_ticks: csa_process::facts::start_time_ticks(child.id()),
    };
    write_atomic(&dir.daemon_pid(), format!("{record}\n").as_bytes())?;
    output::stdout(&format!("{id}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Start `csa daemon` detached: its own session and process group, no terminal.
fn spawn_daemon(
    dir: &SessionDir,
    id: &SessionId,
    args: &RunArgs,
) -> anyhow::Result<std::process::Child> {
    let exe = std::env::current_exe().context("cannot find the csa executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("daemon")
        .arg("--session-dir")
        .arg(dir.path())
        .arg("--session-id")
        .arg(id.as_str())
        .arg("--tool")
        .arg(&args.tool)
        .arg("--")
        .args(&args.cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    }
    Ok(cmd.spawn()?)
}

/// The checked-out branch, from `.git/HEAD` (no git process).
fn git_branch(project_dir: &Path) -> Option<String> {
    let head = fs_err::read_to_string(project_dir.join(".git").join("HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned)
}
