//! `csa session wait <ID>... | --all [--tree] [--any] [--timeout SECS]`: wait
//! until every named session (with `--all`, every active session of the
//! project; with `--tree`, every descendant too, even one started while
//! waiting) has ended, printing `<ULID> <status> exit <code>: <first summary
//! line>` as each one ends. One session: exit with its exit code; several: 0
//! when every one exited 0, else 1; 124 on timeout. With `--any`, the first
//! session to end is the answer: its line, its exit code. A session whose
//! dir is removed or moved away meanwhile ends with the line `<ULID> removed`
//! and exit code 1. With `--json`, each end is one JSON object on its own
//! line ([`csa_session::EndRow`]), which a csa on another machine draws.
//!
//! Run inside a session (`CSA_SESSION_ID` set, as a planner's command is),
//! it never waits for that session or one of its ancestors, which cannot end
//! before it returns: `--all` and `--tree` leave them out, and naming one is
//! a usage error (exit 2, "would wait for itself").
//!
//! Event-driven through [`csa_process::end_watch`]: it wakes when a session's state
//! or result changes or its process exits, and reconciles a session whose
//! process died without a result on the way.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::CommandFactory as _;
use csa_process::Wake;
use csa_session::consts::ENV_SESSION_ID;
use csa_session::{EndKind, EndRow, SessionId, SessionLocation, Trigger};

use crate::cli::{Cli, WaitArgs};
use crate::context::{Context, Relatives};
use crate::term::{escape, human_duration};
use crate::ui::Ui;
use csa_process::end_watch::{EndWatch, Ending};

/// Exit code on timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: u8 = 124;

pub fn run(args: &WaitArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let timeout = args.timeout;
    let itself = own_lineage(&ctx);
    let roots = if args.targets.all {
        let mut active = ctx.active_sessions()?;
        active.retain(|loc| !itself.contains(&loc.id));
        active
    } else {
        let named = ctx.resolve_each(&args.targets.ids)?;
        if let Some(loc) = named.iter().find(|loc| itself.contains(&loc.id)) {
            return Ok(would_wait_for_itself(ui, loc, &itself));
        }
        named
    };
    let mut sessions = roots.clone();
    if args.targets.tree {
        sessions.extend(new_descendants(&ctx, &roots, &sessions, &itself)?);
    }
    if sessions.is_empty() {
        ui.stderr(&format!(
            "no active sessions in {}\n",
            ctx.project.project_dir().display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    // The parser keeps a timeout within 10 years, which any clock can add.
    let deadline = timeout.and_then(|limit| Instant::now().checked_add(limit));
    let mut watch = EndWatch::new(Trigger::SessionWait);
    for loc in &sessions {
        watch.add(loc, &[]);
    }
    tracing::info!(
        "waiting for {} session(s): {}",
        sessions.len(),
        sessions
            .iter()
            .map(|loc| loc.id.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut pending: Vec<SessionLocation> = sessions.clone();
    let mut codes = Vec::with_capacity(sessions.len());
    loop {
        let mut still = Vec::with_capacity(pending.len());
        let mut ended = false;
        for loc in pending {
            match watch.check(&loc)? {
                Some(ending) if args.any => {
                    return Ok(ExitCode::from(report(ui, &loc, &ending, args.json)?));
                }
                Some(ending) => {
                    codes.push(report(ui, &loc, &ending, args.json)?);
                    ended = true;
                }
                None => still.push(loc),
            }
        }
        pending = still;
        // A session of the tree may have started children before it ended:
        // look for new members whenever one ends.
        if args.targets.tree && ended {
            let found = new_descendants(&ctx, &roots, &sessions, &itself)?;
            for loc in &found {
                watch.add(loc, &[]);
            }
            sessions.extend(found.iter().cloned());
            pending.extend(found);
            if !pending.is_empty() {
                continue;
            }
        }
        if pending.is_empty() {
            break;
        }
        if let (Some(limit), Wake::Deadline) = (timeout, watch.wait(deadline)) {
            timed_out(ui, limit, &pending, sessions.len(), args.any);
            return Ok(ExitCode::from(TIMEOUT_EXIT));
        }
    }
    Ok(ExitCode::from(combined_exit(&codes)))
}

/// One session: its exit code; several: 0 when every one is 0, else 1.
fn combined_exit(codes: &[u8]) -> u8 {
    match codes {
        [one] => *one,
        all if all.iter().all(|code| *code == 0) => 0,
        _ => 1,
    }
}

/// The session this command runs in (`CSA_SESSION_ID`) and its ancestors,
/// nearest first, each looked for in the project, then in any project; empty
/// outside a session.
fn own_lineage(ctx: &Context<'_>) -> Vec<SessionId> {
    let Some(text) = std::env::var_os(ENV_SESSION_ID) else {
        return Vec::new();
    };
    let Some(id) = text.to_str().and_then(|text| SessionId::parse(text).ok()) else {
        tracing::debug!(value = ?text, "{ENV_SESSION_ID} is not a session id: ignored");
        return Vec::new();
    };
    let dirs = ctx.sessions_dirs();
    let lineage =
        csa_session::genealogy::lineage(&id, |id| match csa_session::find_full_id(&dirs, id) {
            Ok(Some(loc)) => Some(loc),
            _ => csa_session::find_in_any_project(&ctx.roots, id).map(|(loc, _)| loc),
        });
    tracing::debug!(?lineage, "inside a session: never waited for");
    lineage
}

/// The usage error for naming the session this command runs in, or one of
/// its ancestors (`itself`, nearest first): exit 2, as clap's errors.
fn would_wait_for_itself(ui: &Ui, loc: &SessionLocation, itself: &[SessionId]) -> ExitCode {
    let what = if itself.first() == Some(&loc.id) {
        "it is the session this command runs in"
    } else {
        "it is an ancestor of the session this command runs in"
    };
    let own = itself.first().map(SessionId::as_str).unwrap_or_default();
    let message = format!(
        "session {} would wait for itself: {what} ({ENV_SESSION_ID}={own}), which cannot end before this wait does",
        loc.id
    );
    let mut cli = Cli::command();
    cli.build();
    let wait = cli
        .find_subcommand_mut("session")
        .and_then(|session| session.find_subcommand_mut("wait"));
    let err = match wait {
        Some(wait) => wait.error(clap::error::ErrorKind::ArgumentConflict, message),
        None => Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message),
    };
    ui.usage_error(err)
}

/// The descendants of `roots` (by `[genealogy] parent_session_id`, within the
/// project) that are not in `known` yet and are not this command's own
/// session or an ancestor of it (`itself`), oldest id first.
fn new_descendants(
    ctx: &Context<'_>,
    roots: &[SessionLocation],
    known: &[SessionLocation],
    itself: &[SessionId],
) -> anyhow::Result<Vec<SessionLocation>> {
    let relatives = Relatives::read(ctx)?;
    let mut found: Vec<SessionLocation> = Vec::new();
    for root in roots {
        for loc in relatives.descendants(&root.id) {
            if itself.contains(&loc.id) {
                continue;
            }
            if !known.iter().chain(&found).any(|seen| seen.id == loc.id) {
                found.push(loc);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Print the line (or with `--json` the object) of a session that ended; its exit code.
fn report(ui: &Ui, loc: &SessionLocation, ending: &Ending, json: bool) -> anyhow::Result<u8> {
    let id = loc.id.as_str();
    let row = match ending {
        Ending::Result(result) => EndRow::with_result(id, result, ending.exit_code()),
        Ending::NoResult => EndRow::without_result(id, EndKind::NoResult),
        Ending::Removed => EndRow::without_result(id, EndKind::Removed),
    };
    if json {
        ui.stdout(&format!("{}\n", serde_json::to_string(&row)?))?;
    } else {
        ui.stdout(&end_line(&row))?;
    }
    Ok(row.wait_exit)
}

/// The line of a session that ended: `<ULID> <status> exit <code>: <summary>`.
pub fn end_line(row: &EndRow) -> String {
    let id = escape(&row.session_id);
    match row.ending {
        EndKind::Result => format!(
            "{id} {} exit {}: {}\n",
            escape(row.status.as_deref().unwrap_or("")),
            row.exit_code.unwrap_or_default(),
            escape(row.summary.as_deref().unwrap_or(""))
        ),
        EndKind::NoResult => format!("{id} retired without a result\n"),
        EndKind::Removed => format!("{id} removed\n"),
    }
}

fn timed_out(ui: &Ui, limit: Duration, pending: &[SessionLocation], total: usize, any: bool) {
    let waited = human_duration(limit);
    let message = match pending {
        _ if any && total > 1 => {
            format!("csa: timed out after {waited} waiting for any of {total} sessions to end\n")
        }
        [one] if total == 1 => {
            format!(
                "csa: timed out after {waited} waiting for session {}\n",
                one.id
            )
        }
        _ => {
            let ids: Vec<String> = pending.iter().map(|loc| loc.id.to_string()).collect();
            format!(
                "csa: timed out after {waited} waiting for {} of {total} sessions: {}\n",
                pending.len(),
                ids.join(", ")
            )
        }
    };
    ui.stderr(&message);
}

#[cfg(test)]
mod tests {
    use csa_session::{ResultStatus, SessionResult};
    use snapbox::{assert_data_eq, str};

    use super::*;
    use crate::ui::Facts;

    const ID: &str = "01KAZ9X3M2QAAAAAAAAAAAAAAA";

    #[test]
    fn the_line_of_each_ending_is_pinned_and_escaped() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let result = SessionResult::new(
            &ResultStatus::Failure,
            3,
            "fatal: worker 4 crashed \x1b[2J\nsecond line",
            "demo",
            at,
            at,
        );
        let lines = [
            end_line(&EndRow::with_result(ID, &result, 3)),
            end_line(&EndRow::without_result(ID, EndKind::NoResult)),
            end_line(&EndRow::without_result(ID, EndKind::Removed)),
        ];
        // snapbox reads `\` as a path separator: the escape is checked as is.
        assert!(lines[0].ends_with(" crashed \\x1b[2J\n"), "{:?}", lines[0]);
        assert_data_eq!(
            lines.concat(),
            str![[r#"
01KAZ9X3M2QAAAAAAAAAAAAAAA failure exit 3: fatal: worker 4 crashed /x1b[2J
01KAZ9X3M2QAAAAAAAAAAAAAAA retired without a result
01KAZ9X3M2QAAAAAAAAAAAAAAA removed

"#]]
        );
    }

    #[test]
    fn a_timeout_names_what_is_still_running() {
        let facts = Facts {
            stdout_colors: false,
            stderr_colors: false,
            stdout_width: None,
            read_by_csa: false,
        };
        let loc = |id: &str| SessionLocation {
            id: SessionId::parse(id).unwrap(),
            dir: csa_session::SessionDir::new(std::path::Path::new("/s").join(id)),
            legacy: false,
        };
        let (a, b) = (loc(ID), loc("01KAZ9X3M2QBBBBBBBBBBBBBBB"));
        let (ui, captured) = Ui::capture(facts);
        let limit = Duration::from_secs(90);
        timed_out(&ui, limit, std::slice::from_ref(&a), 1, false);
        timed_out(&ui, limit, &[a.clone(), b.clone()], 3, false);
        timed_out(&ui, limit, &[a, b], 3, true);
        assert_data_eq!(
            captured.stderr(),
            str![[r#"
csa: timed out after 1 min 30 s waiting for session 01KAZ9X3M2QAAAAAAAAAAAAAAA
csa: timed out after 1 min 30 s waiting for 2 of 3 sessions: 01KAZ9X3M2QAAAAAAAAAAAAAAA, 01KAZ9X3M2QBBBBBBBBBBBBBBB
csa: timed out after 1 min 30 s waiting for any of 3 sessions to end

"#]]
        );
    }

    #[test]
    fn one_session_passes_its_code_on_and_several_combine() {
        assert_eq!(combined_exit(&[3]), 3);
        assert_eq!(combined_exit(&[0]), 0);
        assert_eq!(combined_exit(&[0, 0, 0]), 0);
        assert_eq!(combined_exit(&[0, 3, 0]), 1);
        assert_eq!(combined_exit(&[0, 1]), 1);
    }
}
