//! `csa session list`: sessions newest first, reconciling each dead active
//! session on the way (unless `--no-reconcile`); with `--tree`, each under
//! its parent. Its flags are here, beside the command; which rows pass them
//! is `csa_session::RowFilter`'s to say.

use std::process::ExitCode;

use chrono::Utc;
use csa_process::ProbeContext;
use csa_session::genealogy::{Link, Member, Node, Tree};
use csa_session::list_cache::{Folders, ListCache};
use csa_session::listing::{FirstRead, RowReader};
use csa_session::reconcile::{CooldownMode, Reconciler};
use csa_session::{SessionRow, ShortIds, Trigger};

pub use crate::args::ListArgs;
use crate::context::{Context, Noise, sessions_in, sessions_in_each};
use crate::list_table::{self, Layout, TreeMark, TreeNote};
use crate::pool::{self, Step};
use crate::ui::{Ui, chain};

pub fn run(args: &ListArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let filter = args.filter(now);
    let ctx = Context::new(&args.project, ui)?;
    let scope = ctx.scope(args.all_projects)?;
    let scope_paths: Vec<_> = scope.iter().map(|d| d.path.clone()).collect();
    // The row cache is read and indexed while the sessions folders are
    // listed: both are serial work that neither needs the other's result.
    let (sessions, cache) = std::thread::scope(|threads| {
        let cache = threads.spawn(|| ListCache::load(&scope_paths));
        let sessions = if args.all_projects {
            Ok(sessions_in_each(&scope, Noise::Warn(ui)))
        } else {
            sessions_in(&scope)
        };
        let cache = cache
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (sessions, cache)
    });
    let sessions = sessions?;
    let folders = Folders::open(&scope_paths);
    let probe = ProbeContext::new();
    let reconciler = Reconciler::new(&probe, Trigger::SessionList, false, CooldownMode::Batched);
    let reconciler = (!args.no_reconcile).then_some(&reconciler);
    // Reads run on one thread per core; the sessions to reconcile are handed
    // to many more threads, since each reconcile waits on its fsyncs.
    let reader = RowReader::new(&folders, &cache, reconciler, &probe, now);
    let rows = pool::two_stage(
        sessions.iter().collect(),
        |loc| match reader.read(loc) {
            FirstRead::Row(row) => Step::Done(row),
            FirstRead::Reconcile(todo) => Step::HandOn((loc, todo)),
        },
        |(loc, todo)| {
            let reconciled = reader.reconcile(todo);
            if let Some(error) = &reconciled.error {
                ui.warning(&format!("session {}: {}", loc.id, chain(error)));
            }
            reconciled.row
        },
    );
    if let Some(reconciler) = reconciler {
        reconciler.flush_cooldown()?;
    }
    cache.save();
    let total = rows.iter().flatten().count();
    // Sort references: rows are large, and moving them costs more than comparing.
    let mut rows: Vec<&SessionRow<'_>> = rows
        .iter()
        .flatten()
        .filter(|row| filter.admits(row))
        .collect();
    rows.sort_unstable_by(|a, b| {
        b.sort_key
            .cmp(&a.sort_key)
            .then_with(|| b.session_id.cmp(a.session_id))
    });
    if let Some(limit) = args.limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    // Short ids are unique among every session of the scope, not only the
    // rows shown, so that each one stays a valid argument.
    let short_ids = ShortIds::new(sessions.iter().map(|loc| loc.id.as_str()));
    let placed: Vec<Placed<'_>> = if args.tree {
        in_tree_order(&rows)
    } else {
        rows.iter().map(|row| (*row, None)).collect()
    };
    if args.quiet {
        let mut ids = String::with_capacity(placed.len() * (csa_session::id::ULID_LEN + 1));
        for (row, _) in &placed {
            ids.push_str(row.session_id);
            ids.push('\n');
        }
        ui.stdout(&ids)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        print_json(ui, &placed)?;
    } else if placed.is_empty() {
        tracing::info!("no sessions");
        let project = ctx.project.project_dir().display().to_string();
        let message = list_table::empty_message(args, total, &project);
        ui.stderr(&format!("{message}\n"));
    } else {
        let lines = lines(&placed, &short_ids, args.all_projects);
        let layout = Layout::for_stdout(ui, now, args.all_projects);
        for part in list_table::table_parts(&lines, &layout) {
            ui.stdout(&part)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A row to print, and its node when drawn as a tree.
pub(crate) type Placed<'r> = (&'r SessionRow<'r>, Option<Node>);

/// The rows under their parents (one tree build: O(n log n)).
pub(crate) fn in_tree_order<'r>(rows: &[&'r SessionRow<'r>]) -> Vec<Placed<'r>> {
    let members: Vec<Member<'_>> = rows.iter().map(|row| row.member()).collect();
    Tree::build(&members)
        .nodes()
        .iter()
        .map(|node| (rows[node.index], Some(*node)))
        .collect()
}

/// The JSON array: the rows, with `tree_depth` when drawn as a tree. It is
/// written out a part at a time, each row as `serde_json` prints an element
/// of a pretty array (compact, one a line, when another csa reads it), so
/// that a long list is never one string.
fn print_json(ui: &Ui, placed: &[Placed<'_>]) -> anyhow::Result<()> {
    let style = match ui.facts().read_by_csa {
        true => JsonStyle::Compact,
        false => JsonStyle::Pretty,
    };
    ui.stdout(&json_text(placed, style, &mut |part| ui.stdout(part))?)
}

/// How much of the JSON array is gathered before it is handed on.
const JSON_PART: usize = 1 << 20;

/// How the JSON array is laid out: for a person, or for another csa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonStyle {
    Pretty,
    Compact,
}

/// The JSON array of `placed`: every full part handed to `part`, the rest returned.
fn json_text(
    placed: &[Placed<'_>],
    style: JsonStyle,
    part: &mut dyn FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct TreeRow<'r> {
        #[serde(flatten)]
        row: &'r SessionRow<'r>,
        tree_depth: usize,
    }
    if placed.is_empty() {
        return Ok("[]\n".to_owned());
    }
    let tree = placed.iter().any(|(_, node)| node.is_some());
    let mut out = String::from("[\n");
    for (i, (row, node)) in placed.iter().enumerate() {
        let tree_row = tree.then(|| TreeRow {
            row,
            tree_depth: node.map_or(0, |n| n.depth),
        });
        match style {
            JsonStyle::Compact => out.push_str(&match &tree_row {
                Some(tree_row) => serde_json::to_string(tree_row),
                None => serde_json::to_string(row),
            }?),
            JsonStyle::Pretty => {
                let element = match &tree_row {
                    Some(tree_row) => serde_json::to_string_pretty(tree_row),
                    None => serde_json::to_string_pretty(row),
                }?;
                for (n, line) in element.lines().enumerate() {
                    if n > 0 {
                        out.push('\n');
                    }
                    out.push_str("  ");
                    out.push_str(line);
                }
            }
        }
        out.push_str(if i + 1 < placed.len() { ",\n" } else { "\n" });
        if out.len() >= JSON_PART {
            part(&out)?;
            out.clear();
        }
    }
    out.push_str("]\n");
    Ok(out)
}

/// The table's lines: short ids, and with a tree its guides and notes.
pub(crate) fn lines<'r>(
    placed: &[Placed<'r>],
    short_ids: &ShortIds,
    all_projects: bool,
) -> Vec<list_table::Line<'r>> {
    let nodes: Vec<Node> = placed.iter().filter_map(|(_, node)| *node).collect();
    let mut guides = list_table::tree_guides(&nodes).into_iter();
    let ids: Vec<&str> = placed.iter().map(|(row, _)| row.session_id).collect();
    placed
        .iter()
        .zip(short_ids.of_each(&ids))
        .map(|(&(row, node), short_id)| list_table::Line {
            row,
            short_id,
            tree: node.map(|node| TreeMark {
                guides: guides.next().unwrap_or_default(),
                note: note(row, node, short_ids, all_projects),
            }),
        })
        .collect()
}

/// Why a session with a parent sits at the top level, if it does.
fn note<'r>(
    row: &'r SessionRow<'r>,
    node: Node,
    short_ids: &ShortIds,
    all_projects: bool,
) -> Option<TreeNote<'r>> {
    let parent = row.parent_session_id.as_deref()?;
    match node.link {
        Link::Cycle => Some(TreeNote::Cycle),
        Link::Orphan if short_ids.contains(parent) => {
            Some(TreeNote::FilteredOut(short_ids.of(parent)))
        }
        Link::Orphan if all_projects => Some(TreeNote::Gone(short_ids.outside(parent))),
        Link::Orphan => Some(TreeNote::NotInProject(short_ids.outside(parent))),
        Link::Root | Link::Child => None,
    }
}

#[cfg(test)]
mod tests {
    use csa_session::genealogy::{Link, Node};
    use csa_session::{LoadError, SessionDir, SessionId, SessionLocation};

    use super::*;

    fn location(id: &str) -> SessionLocation {
        SessionLocation {
            id: SessionId::parse(id).expect("an id"),
            dir: SessionDir::new(format!("/s/{id}")),
            legacy: false,
        }
    }

    #[test]
    fn the_json_array_is_written_in_parts_as_serde_prints_it_whole() {
        let locs = [
            location("01KAZ9X3M2QAAAAAAAAAAAAAAA"),
            location("01KAZ9W1B7EBBBBBBBBBBBBBBB"),
        ];
        let missing = LoadError::Missing {
            path: "/s/x\n\"y\"".into(),
        };
        let rows: Vec<SessionRow<'_>> = locs
            .iter()
            .map(|loc| SessionRow::broken(loc, &missing))
            .collect();
        let whole_in = |placed: &[Placed<'_>], style| {
            let mut parts = String::new();
            let rest = json_text(placed, style, &mut |part| {
                parts.push_str(part);
                Ok(())
            })
            .expect("rows serialize");
            parts + &rest
        };
        let whole = |placed: &[Placed<'_>]| whole_in(placed, JsonStyle::Pretty);
        let flat: Vec<Placed<'_>> = rows.iter().map(|row| (row, None)).collect();
        let refs: Vec<&SessionRow<'_>> = rows.iter().collect();
        let expected = serde_json::to_string_pretty(&refs).expect("rows serialize") + "\n";
        assert_eq!(whole(&flat), expected);
        assert_eq!(whole(&[]), "[]\n");
        let node = Node {
            index: 0,
            depth: 1,
            link: Link::Child,
            last: true,
        };
        let tree: Vec<Placed<'_>> = rows.iter().map(|row| (row, Some(node))).collect();
        let parsed: serde_json::Value = serde_json::from_str(&whole(&tree)).expect("JSON");
        assert_eq!(parsed[1]["tree_depth"], 1);
        assert_eq!(parsed[1]["session_id"], "01KAZ9W1B7EBBBBBBBBBBBBBBB");
        // For another csa: the same values, one element a line.
        for placed in [&flat, &tree] {
            let compact = whole_in(placed, JsonStyle::Compact);
            assert_eq!(compact.lines().count(), placed.len() + 2, "{compact}");
            let compact: serde_json::Value = serde_json::from_str(&compact).expect("JSON");
            let pretty: serde_json::Value = serde_json::from_str(&whole(placed)).expect("JSON");
            assert_eq!(compact, pretty);
        }
    }
}
