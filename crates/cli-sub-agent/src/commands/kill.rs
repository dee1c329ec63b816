//! `csa session kill <ID>... | --all [--grace SECS]` (contract §8.3).
//!
//! Nothing is signalled before it is verified (`csa_process::signal`): the
//! daemon by its start time, its lock record's host, boot and pid namespace,
//! and its command line; pid 0, pid 1, groups <= 1 and csa's own group never.
//! A verified daemon is asked to stop: `stop-request.toml` carries the grace,
//! then SIGTERM; the daemon stops CMD and everything under it (SIGKILL after
//! the grace), writes the `killed` result and exits, which `kill` waits for
//! on the daemon's pidfd. If the daemon is dead but CMD lives, CMD's group is
//! verified by `cmd.pid` and stopped here, and the ending is recorded under
//! the reconcile lock. Several sessions are stopped at once, one thread each,
//! so twenty TERM-ignoring commands take one grace period, not twenty.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::Utc;
use csa_process::signal::{self, Refusal, Sig, Verified};
use csa_process::{ProbeContext, stop_group};
use csa_session::ending::{self, RunEnding};
use csa_session::stop_request::StopRequest;
use csa_session::{Phase, ResultStatus, SessionId, SessionLocation, TerminationReason, Trigger};

use crate::cli::KillArgs;
use crate::context::{Context, Relatives, is_active};
use crate::reconcile::reconcile_quietly;
use crate::term::escape;
use crate::ui::{Ui, chain};

/// How long the daemon may take, beyond the grace, to end the command, stop
/// what it left behind and write the result.
const DAEMON_FINISH: Duration = Duration::from_secs(15);

pub fn run(args: &KillArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let grace = args.grace;
    let ctx = Context::new(&args.project, ui)?;
    let targets = if args.targets.all {
        ctx.active_sessions()?
    } else {
        let mut found = ctx.resolve_each(&args.targets.ids)?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    };
    if targets.is_empty() {
        ui.stderr("no active sessions to kill\n");
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes = if args.targets.tree {
        stop_trees(&ctx, &targets, grace)?
    } else {
        stop_together(&targets, grace)
    };
    let mut failed = false;
    let mut text = String::new();
    for outcome in outcomes {
        match outcome {
            Ok(line) => text.push_str(&line),
            Err(err) => {
                failed = true;
                ui.error_line(&err);
            }
        }
    }
    ui.stdout(&text)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Stop the trees of `roots`: each root's descendants first, deepest level
/// first, the sessions of a level together. A session may start a child
/// between the look at the tree and its own stop, so the tree is looked at
/// again afterwards and any new active member stopped the same way, until a
/// look finds none.
fn stop_trees(
    ctx: &Context<'_>,
    roots: &[SessionLocation],
    grace: Duration,
) -> anyhow::Result<Vec<anyhow::Result<String>>> {
    let mut handled: HashSet<SessionId> = HashSet::new();
    let mut outcomes = Vec::new();
    loop {
        let relatives = Relatives::read(ctx)?;
        // levels[d]: the members at distance d from their root.
        let mut levels: Vec<Vec<SessionLocation>> = Vec::new();
        for root in roots {
            for (distance, level) in relatives.levels(root).into_iter().rev().enumerate() {
                if levels.len() <= distance {
                    levels.push(Vec::new());
                }
                let first_look = handled.is_empty();
                levels[distance].extend(
                    level
                        .into_iter()
                        .filter(|loc| !handled.contains(&loc.id) && (first_look || is_active(loc))),
                );
            }
        }
        let mut stopped_any = false;
        for level in levels.iter_mut().rev() {
            level.retain(|loc| handled.insert(loc.id.clone()));
            if !level.is_empty() {
                stopped_any = true;
                outcomes.extend(stop_together(level, grace));
            }
        }
        if !stopped_any {
            return Ok(outcomes);
        }
    }
}

/// Stop these sessions at once, one thread each; the lines in order.
fn stop_together(sessions: &[SessionLocation], grace: Duration) -> Vec<anyhow::Result<String>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .map(|loc| scope.spawn(move || stop_session(loc, grace)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a kill thread panicked")))
            })
            .collect()
    })
}

/// Stop one session; the line to print.
fn stop_session(loc: &SessionLocation, grace: Duration) -> anyhow::Result<String> {
    let state = csa_session::load_state(&loc.dir)?.value;
    if state.phase() != Phase::Active {
        return ended_line(loc, false);
    }
    let refused =
        |refusal: Refusal| anyhow::anyhow!("refusing to signal session {}: {refusal}", loc.id);
    match signal::verify_daemon(&loc.dir, loc.id.as_str()) {
        Ok(daemon) => stop_through_daemon(loc, &daemon, grace),
        // The recorded daemon is gone (exited, or a zombie): what may still
        // run is the command.
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => stop_without_daemon(loc, grace),
        // Its pid names another process now, so the daemon is gone too; a
        // command of the session that still runs is stopped, else the
        // refusal stands (nothing verified, nothing signalled).
        Err(reused @ Refusal::Reused { .. }) => {
            match signal::verify_command(&loc.dir, loc.id.as_str()) {
                Ok(command) => stop_command(loc, &command, grace),
                Err(_) => Err(refused(reused)),
            }
        }
        Err(refusal) => Err(refused(refusal)),
    }
}

/// Ask the verified daemon to stop, and wait until it has recorded the end.
fn stop_through_daemon(
    loc: &SessionLocation,
    daemon: &Verified,
    grace: Duration,
) -> anyhow::Result<String> {
    let request = StopRequest {
        grace,
        requested_at: Utc::now(),
    };
    request.write(&loc.dir)?;
    match daemon.signal(Sig::Term) {
        Ok(()) | Err(Refusal::Gone { .. }) => {}
        Err(refusal) => {
            anyhow::bail!("refusing to signal session {}: {refusal}", loc.id)
        }
    }
    tracing::info!(session = %loc.id, pid = daemon.pid(), "asked the daemon to stop");
    let limit = grace + DAEMON_FINISH;
    anyhow::ensure!(
        daemon.wait_for_exit(limit),
        "the daemon of session {} (pid {}) did not finish within {} s of being asked to stop",
        loc.id,
        daemon.pid(),
        limit.as_secs()
    );
    // A daemon that died without recording the end (it crashed, or was
    // SIGKILLed meanwhile) leaves its command to stop from here.
    if csa_session::load_result_if_any(&loc.dir)
        .ok()
        .flatten()
        .is_none()
    {
        tracing::info!(session = %loc.id, "the daemon ended without a result; stopping its command");
        return stop_without_daemon(loc, grace);
    }
    ended_line(loc, true)
}

/// The daemon is gone: stop CMD's group if it still runs, and record how the
/// session ended.
fn stop_without_daemon(loc: &SessionLocation, grace: Duration) -> anyhow::Result<String> {
    let command = match signal::verify_command(&loc.dir, loc.id.as_str()) {
        Ok(command) => command,
        // Nothing of the session runs any more: the reconciler settles it.
        Err(Refusal::Gone { .. } | Refusal::NoRecord { .. }) => return ended_line(loc, false),
        Err(refusal) => {
            anyhow::bail!("refusing to signal session {}: {refusal}", loc.id)
        }
    };
    stop_command(loc, &command, grace)
}

/// Stop the verified command of a session whose daemon is gone, and record
/// the `killed` ending.
fn stop_command(
    loc: &SessionLocation,
    command: &Verified,
    grace: Duration,
) -> anyhow::Result<String> {
    tracing::info!(session = %loc.id, pid = command.pid(), "the daemon is dead; stopping its command");
    let started = Instant::now();
    stop_group(command, grace)
        .map_err(|refusal| anyhow::anyhow!("cannot stop session {}: {refusal}", loc.id))?;
    // Gone within the grace: SIGTERM ended it; else SIGKILL did.
    let signal = if started.elapsed() < grace {
        Sig::Term
    } else {
        Sig::Kill
    };
    let now = Utc::now();
    let stopped = RunEnding {
        status: ResultStatus::Killed,
        exit_code: 128 + signal.number(),
        reason: TerminationReason::Killed,
        summary: format!(
            "killed by csa session kill after its daemon had died (ended by {})",
            if signal == Sig::Term {
                "SIGTERM"
            } else {
                "SIGKILL"
            }
        ),
        started_at: csa_session::load_state(&loc.dir)
            .map_or(now, |s| s.value.last_accessed().min(now)),
        completed_at: now,
    };
    ending::record_stopped(loc, &stopped)?;
    ended_line(loc, true)
}

/// Reconcile the session (its daemon may have died without a result), then
/// say how it ended: `killed` only when this kill `stopped` it, else
/// `already ended` (a second kill of a killed session says so too).
fn ended_line(loc: &SessionLocation, stopped: bool) -> anyhow::Result<String> {
    let probe = ProbeContext::new();
    let report = reconcile_quietly(loc, &probe, Trigger::SessionKill);
    if let Some(error) = &report.error {
        anyhow::bail!(
            "session {} could not be reconciled: {}",
            loc.id,
            chain(error)
        );
    }
    match csa_session::load_result_if_any(&loc.dir)? {
        Some(result) if stopped && result.status() == ResultStatus::Killed => {
            Ok(format!("{} killed: exit {}\n", loc.id, result.exit_code()))
        }
        Some(result) => Ok(format!(
            "{} already ended: {} exit {}\n",
            loc.id,
            escape(result.status_text()),
            result.exit_code()
        )),
        None => {
            let state = csa_session::load_state(&loc.dir)?.value;
            anyhow::ensure!(
                state.phase() != Phase::Active,
                "session {} is still active, but csa finds no verified process of it to stop ({})",
                loc.id,
                report.evidence
            );
            Ok(format!(
                "{} already ended: retired without a result\n",
                loc.id
            ))
        }
    }
}
