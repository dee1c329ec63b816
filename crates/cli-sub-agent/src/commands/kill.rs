//! `csa session kill <ID>... | --all [--tree] [--grace SECS]` (contract §8.3,
//! §8.8): parse, call `csa_process::kill::kill_session` for each session,
//! draw. The protocol (what to verify, whom to signal, when to refuse) is the
//! library's; several sessions are stopped at once, one thread each, so
//! twenty TERM-ignoring commands take one grace period, not twenty.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use csa_process::kill::{Ended, Kill, kill_session};
use csa_session::{SessionId, SessionLocation};

use crate::cli::KillArgs;
use crate::context::{Context, Relatives, is_active};
use crate::term::escape;
use crate::ui::{Ui, chain};

/// One session's lines: stdout, and the warnings for stderr.
type Lines = anyhow::Result<(String, Vec<String>)>;

pub fn run(args: &KillArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let grace = args.grace;
    let ctx = Context::new(&args.project, ui)?;
    let targets = if args.targets.all {
        let mut running: Vec<SessionLocation> = ctx
            .sessions(false)?
            .into_iter()
            .filter(csa_process::kill::is_running)
            .collect();
        running.sort_by(|a, b| a.id.cmp(&b.id));
        running
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
            Ok((line, warnings)) => {
                text.push_str(&line);
                for warning in warnings {
                    ui.warning(&warning);
                }
            }
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
) -> anyhow::Result<Vec<Lines>> {
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
fn stop_together(sessions: &[SessionLocation], grace: Duration) -> Vec<Lines> {
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

/// Stop one session: the line to print, and what could not be recorded.
fn stop_session(loc: &SessionLocation, grace: Duration) -> Lines {
    let Kill { ended, unrecorded } = kill_session(loc, grace)?;
    let warnings = unrecorded
        .iter()
        .map(|missed| {
            format!(
                "session {}: {}; it was stopped all the same",
                loc.id,
                chain(missed)
            )
        })
        .collect();
    let line = match ended {
        Ended::Killed {
            exit_code: Some(code),
        } => format!("{} killed: exit {code}\n", loc.id),
        Ended::Killed { exit_code: None } => format!("{} killed\n", loc.id),
        Ended::AlreadyEnded { status, exit_code } => format!(
            "{} already ended: {} exit {exit_code}\n",
            loc.id,
            escape(&status)
        ),
        Ended::WithoutResult { phase } => format!(
            "{} already ended: {} without a result\n",
            loc.id,
            phase.as_str()
        ),
    };
    Ok((line, warnings))
}
