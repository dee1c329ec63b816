//! `csa run --tool NAME -- CMD...`: create a session, start its daemon, and
//! print the session id once the daemon confirms CMD started (contract §8.1).
//!
//! The session dir appears complete with one rename
//! (`csa_session::create`): `state.toml` (with `[run]` and, for a run inside
//! a session, `[genealogy]`), `daemon.pid` naming this launcher, and the tool
//! lock, locked by this launcher and handed to the daemon as an inherited
//! descriptor. If the launcher dies before the daemon exists, the lock goes
//! with it and `daemon.pid` names a dead process: the session is reconciled,
//! never left active forever. The daemon replaces `daemon.pid` with its own
//! record before it reports, through a readiness pipe (`csa_process::ready`),
//! whether CMD started; the launcher never writes it again, so a launcher
//! killed at any moment after the spawn cannot leave it naming the launcher.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use csa_process::start::DaemonStart;
use csa_process::{DaemonPid, LockHolder, LockRecord};
use csa_session::create::{NewSession, create_session};
use csa_session::fault::FaultPoint;
use csa_session::nesting::Nesting;
use csa_session::{RunSpec, SessionId, SessionState, ToolName, ToolState};

use crate::cli::RunArgs;
use crate::context::Context;
use crate::ui::Ui;

pub fn run(args: &RunArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let tool = ToolName::parse(&args.tool)?;
    let nesting = Nesting::from_env()?;
    let ctx = Context::new(&args.project, ui)?;
    let id = SessionId::generate();
    let now = Utc::now();
    let project_dir = ctx.project.project_dir();
    check_enterable(project_dir)?;
    // state.toml holds the path as a string: a lossy copy would name
    // another directory, in which CMD could not run.
    let project = project_dir
        .to_str()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cannot run in {}: its path is not valid UTF-8, which state.toml cannot record",
                project_dir.display()
            )
        })?
        .to_owned();
    let mut state = SessionState::new(
        &id,
        &project,
        now,
        args.description.as_deref(),
        git_branch(project_dir).as_deref(),
    );
    state.set_tool(
        tool.as_str(),
        &ToolState {
            last_action_summary: Some(String::new()),
            last_exit_code: Some(0),
            updated_at: Some(now),
            ..ToolState::default()
        },
    );
    state.set_run(&RunSpec {
        command: args.cmd.clone(),
        cwd: project.clone(),
        timeout_secs: args.timeout.map(crate::duration::whole_secs_up),
        max_log_size: Some(
            args.max_log_size
                .unwrap_or(csa_session::consts::DEFAULT_MAX_LOG_SIZE),
        ),
    });
    if let Some(parent) = &nesting.parent {
        state.set_genealogy(Some(parent), nesting.depth);
    }
    let launcher = DaemonPid::of_this_process();
    let lock_record = LockRecord::for_this_process(&tool, LockHolder::Launcher);
    let created = create_session(
        &ctx.primary_sessions_dir(),
        &NewSession {
            id: &id,
            state: &state,
            daemon_pid: &format!("{launcher}\n"),
            tool: &tool,
            lock_record: lock_record.to_json().as_bytes(),
        },
    )?;
    tracing::info!(session = %id, dir = %created.dir.path().display(), "session created");
    csa_session::fault::hit(FaultPoint::RunCreated)?;
    let exe = std::env::current_exe().context("cannot find the csa executable")?;
    csa_process::start::start_daemon(&DaemonStart {
        exe,
        created: &created,
        id: &id,
        tool: &tool,
        depth: nesting.depth,
        timeout: args.timeout,
        cmd: &args.cmd,
    })?;
    ui.stdout(&format!("{id}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// CMD runs in the project dir: one this user cannot enter is refused here,
/// before a session exists, rather than reported as a command that cannot
/// start.
fn check_enterable(dir: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    rustix::fs::access(dir, rustix::fs::Access::EXEC_OK).map_err(|err| {
        anyhow::anyhow!(
            "cannot run in {}: {}",
            dir.display(),
            std::io::Error::from(err)
        )
    })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The checked-out branch, from `.git/HEAD` (no git process, bounded read).
fn git_branch(project_dir: &std::path::Path) -> Option<String> {
    let head =
        csa_session::read::read_bounded(&project_dir.join(".git").join("HEAD"), 4096).ok()?;
    String::from_utf8(head)
        .ok()?
        .trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned)
}
