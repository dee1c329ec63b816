//! `csa session kill <ID>`: SIGTERM the session's process group, SIGKILL after
//! a grace period, but only after verifying that `daemon.pid` still names the
//! process that was started (same start time): a reused pid is never signalled.

use std::process::ExitCode;
#[cfg(unix)]
use std::time::{Duration, Instant};

use anyhow::Context as _;
use csa_process::{Existence, ProbeContext};
use csa_session::SessionLocation;

use crate::cli::KillArgs;
use crate::context::Context;
use crate::output;
use crate::reconcile::{CooldownMode, Reconciler};

pub fn run(args: &KillArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project)?;
    let loc = ctx.resolve(&args.session.id)?;
    anyhow::ensure!(
        args.grace.is_finite() && args.grace >= 0.0,
        "--grace must be a non-negative number of seconds"
    );
    let record = csa_process::read_daemon_pid(&loc.dir)?.with_context(|| {
        format!(
            "session {} has no daemon.pid: there is no process to signal",
            loc.id
        )
    })?;
    let Some(recorded) = record.start_time_ticks else {
        anyhow::bail!(
            "refusing to signal pid {}: daemon.pid of session {} has no start time, so the pid cannot be verified",
            record.pid,
            loc.id
        );
    };
    let facts = csa_process::facts::probe(record.pid);
    if facts.existence == Existence::Missing {
        output::stdout(&format!(
            "pid {} of session {} is already gone\n",
            record.pid, loc.id
        ))?;
        return finish(&loc);
    }
    match facts.start_time_ticks {
        Some(actual) if actual == recorded => {}
        Some(actual) => anyhow::bail!(
            "refusing to signal pid {}: its start time {actual} does not match the recorded {recorded}; the pid was reused by another process",
            record.pid
        ),
        None => anyhow::bail!(
            "refusing to signal pid {}: its start time cannot be read on this platform",
            record.pid
        ),
    }
    terminate_group(record.pid, args.grace, &loc)?;
    finish(&loc)
}

/// Wait for the daemon to record the ending, or reconcile it, then report.
fn finish(loc: &SessionLocation) -> anyhow::Result<ExitCode> {
    let probe = ProbeContext::new();
    let report =
        Reconciler::new(&probe, "session kill", false, CooldownMode::Immediate).reconcile(loc);
    if let Some(error) = report.error {
        anyhow::bail!(
            "session {} was signalled but could not be reconciled: {error}",
            loc.id
        );
    }
    match csa_session::load_result(&loc.dir) {
        Ok(result) => output::stdout(&format!(
            "{} terminated: {} exit {}\n",
            loc.id,
            result.value.status(),
            result.value.exit_code()
        ))?,
        Err(_) => output::stdout(&format!("{} signalled; {}\n", loc.id, report.evidence))?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn terminate_group(pid: u32, grace: f64, loc: &SessionLocation) -> anyhow::Result<()> {
    let pgid = libc::pid_t::try_from(pid).context("pid out of range")?;
    signal_group(pgid, libc::SIGTERM)?;
    output::stderr(&format!(
        "csa: sent SIGTERM to process group {pgid} of session {}\n",
        loc.id
    ));
    let deadline = Instant::now() + Duration::from_secs_f64(grace);
    while group_exists(pgid) {
        if Instant::now() >= deadline {
            signal_group(pgid, libc::SIGKILL)?;
            output::stderr(&format!("csa: sent SIGKILL to process group {pgid}\n"));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while group_exists(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[cfg(unix)]
fn signal_group(pgid: libc::pid_t, signal: libc::c_int) -> anyhow::Result<()> {
    // SAFETY: killpg has no memory effects; the pgid was verified above.
    if unsafe { libc::killpg(pgid, signal) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        return Ok(()); // already gone
    }
    Err(anyhow::Error::new(err).context(format!("cannot signal process group {pgid}")))
}

#[cfg(unix)]
fn group_exists(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::killpg(pgid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn terminate_group(_pid: u32, _grace: f64, _loc: &SessionLocation) -> anyhow::Result<()> {
    anyhow::bail!("csa session kill is not supported on this platform")
}
