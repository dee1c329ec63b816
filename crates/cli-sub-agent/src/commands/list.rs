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
        ui.stdout(&format!("{}\n", json(&placed)?))?;
    } else if placed.is_empty() {
        tracing::info!("no sessions");
        let project = ctx.project.project_dir().display().to_string();
        let message = list_table::empty_message(args, total, &project);
        ui.stderr(&format!("{message}\n"));
    } else {
        let lines = lines(&placed, &short_ids, args.all_projects);
        let layout = Layout::for_stdout(ui, now, args.all_projects);
        ui.stdout(&list_table::table(&lines, &layout))?;
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

/// The JSON array: the rows, with `tree_depth` when drawn as a tree.
fn json(placed: &[Placed<'_>]) -> serde_json::Result<String> {
    #[derive(serde::Serialize)]
    struct TreeRow<'r> {
        #[serde(flatten)]
        row: &'r SessionRow<'r>,
        tree_depth: usize,
    }
    if placed.iter().all(|(_, node)| node.is_none()) {
        let rows: Vec<&SessionRow<'_>> = placed.iter().map(|(row, _)| *row).collect();
        return serde_json::to_string_pretty(&rows);
    }
    let rows: Vec<TreeRow<'_>> = placed
        .iter()
        .map(|(row, node)| TreeRow {
            row,
            tree_depth: node.map_or(0, |n| n.depth),
        })
        .collect();
    serde_json::to_string_pretty(&rows)
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
