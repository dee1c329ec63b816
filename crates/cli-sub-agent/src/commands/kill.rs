//! `csa session kill <ID>`: SIGTERM the session's process group, SIGKILL after
//! a grace period, but only after verifying the daemon (`csa_process::signal`):
//! its start time matches `daemon.pid`, its lock record is of this host and
//! boot, and its command line makes it the csa daemon of this session. A pid
//! <= 1, a reused pid or any other process is never signalled.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use csa_process::ProbeContext;
use csa_process::signal::{self, Refusal, Sig, Verified};
use csa_session::{SessionLocation, Trigger};

use crate::cli::KillArgs;
use crate::context::Context;
use crate::output;
use crate::reconcile::reconcile_quietly;
use crate::term::escape;

/// Pause between checks of whether the group is gone.
const POLL: Duration = Duration::from_millis(20);
/// How long to wait for the group to go after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

pub fn run(args: &KillArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project)?;
    let loc = ctx.resolve(&args.session.id)?;
    anyhow::ensure!(
        args.grace.is_finite() && args.grace >= 0.0,
        "--grace must be a non-negative number of seconds"
    );
    let daemon = match signal::verify_daemon(&loc.dir, loc.id.as_str()) {
        Ok(daemon) => daemon,
        Err(Refusal::Gone { pid }) => {
            output::stdout(&format!(
                "pid {pid} of session {} is already gone\n",
                loc.id
            ))?;
            return finish(&loc);
        }
        Err(refusal) => {
            anyhow::bail!("refusing to signal session {}: {refusal}", loc.id)
        }
    };
    terminate_group(&daemon, Duration::from_secs_f64(args.grace), &loc)?;
    finish(&loc)
}

/// Wait for the daemon to record the ending, or reconcile it, then report.
fn finish(loc: &SessionLocation) -> anyhow::Result<ExitCode> {
    let probe = ProbeContext::new();
    let report = reconcile_quietly(loc, &probe, Trigger::SessionKill);
    if let Some(error) = &report.error {
        anyhow::bail!(
            "session {} was signalled but could not be reconciled: {}",
            loc.id,
            output::chain(error)
        );
    }
    match csa_session::load_result(&loc.dir) {
        Ok(result) => output::stdout(&format!(
            "{} terminated: {} exit {}\n",
            loc.id,
            escape(result.value.status_text()),
            result.value.exit_code()
        ))?,
        Err(_) => output::stdout(&format!(
            "{} signalled; {}\n",
            loc.id,
            escape(&report.evidence)
        ))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM the daemon's group, SIGKILL it after `grace`, and wait until no
/// live member is left (zombies do not count).
fn terminate_group(
    daemon: &Verified,
    grace: Duration,
    loc: &SessionLocation,
) -> anyhow::Result<()> {
    let refused =
        |refusal: Refusal| anyhow::anyhow!("refusing to signal session {}: {refusal}", loc.id);
    match daemon.signal_group(Sig::Term) {
        Ok(()) | Err(Refusal::Gone { .. }) => {}
        Err(refusal) => return Err(refused(refusal)),
    }
    output::stderr(&format!(
        "csa: sent SIGTERM to process group {} of session {}\n",
        daemon.pid(),
        loc.id
    ));
    if !wait_for_group(daemon, grace) {
        match daemon.signal_group(Sig::Kill) {
            Ok(()) => output::stderr(&format!(
                "csa: sent SIGKILL to process group {}\n",
                daemon.pid()
            )),
            Err(Refusal::Gone { .. }) => {}
            Err(refusal) => return Err(refused(refusal)),
        }
        wait_for_group(daemon, AFTER_KILL);
    }
    Ok(())
}

/// True once the group has no live member, false if `limit` passed first.
fn wait_for_group(daemon: &Verified, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if daemon.group_has_live_members() != Some(true) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}
