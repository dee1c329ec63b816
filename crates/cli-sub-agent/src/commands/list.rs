//! `csa session list`: sessions newest first, reconciling each dead active
//! session on the way (unless `--no-reconcile`); with `--tree`, each under
//! its parent.

use std::process::ExitCode;

use csa_process::{Liveness, ProbeContext};
use csa_session::genealogy::{Link, Member, Node, Tree};
use csa_session::reconcile::{CooldownMode, Reconciler};
use csa_session::{Loaded, Phase, SessionLocation, SessionState, ShortIds, Trigger};

use crate::cli::ListArgs;
use crate::context::{Context, Noise, sessions_in, sessions_in_each};
use crate::list_cache::{Folders, ListCache};
use crate::list_table::{self, Layout, TreeMark, TreeNote};
use crate::pool::{self, Step};
use crate::status::SessionRow;
use crate::ui::{Ui, chain};

pub fn run(args: &ListArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
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
    let rows = pool::two_stage(
        sessions.iter().collect(),
        |loc| read_row(loc, &folders, &cache, reconciler, &probe),
        |(loc, state, reconciler)| reconciled_row(ui, loc, state, reconciler),
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
        .filter(|row| keep(row, args))
        .collect();
    // Short ids are unique among every session of the scope, not only the
    // rows shown, so that each one stays a valid argument.
    let short_ids = ShortIds::new(sessions.iter().map(|loc| loc.id.as_str()));
    let placed: Vec<Placed<'_>> = if args.tree {
        in_tree_order(&rows)
    } else {
        rows.sort_unstable_by(|a, b| {
            b.sort_key
                .cmp(&a.sort_key)
                .then_with(|| b.session_id.cmp(a.session_id))
        });
        rows.iter().map(|row| (*row, None)).collect()
    };
    if args.json {
        ui.stdout(&format!("{}\n", json(&placed)?))?;
    } else if placed.is_empty() {
        tracing::info!("no sessions");
        let project = ctx.project.project_dir().display().to_string();
        let message = list_table::empty_message(args, total, &project);
        ui.stderr(&format!("{message}\n"));
    } else {
        let lines = lines(&placed, &short_ids, args.all_projects);
        ui.stdout(&list_table::table(&lines, &Layout::for_stdout(ui)))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A row to print, and its node when drawn as a tree.
type Placed<'r> = (&'r SessionRow<'r>, Option<Node>);

/// The rows under their parents (one tree build: O(n log n)).
fn in_tree_order<'r>(rows: &[&'r SessionRow<'r>]) -> Vec<Placed<'r>> {
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
fn lines<'r>(
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

/// An active session to reconcile, with the state the first read parsed.
type ToReconcile<'a> = (
    &'a SessionLocation,
    Loaded<SessionState>,
    &'a Reconciler<'a>,
);

/// A session's row from the cache when its files are unchanged, else from its
/// files; an active session is handed on when it is to be reconciled.
fn read_row<'a>(
    loc: &'a SessionLocation,
    folders: &Folders,
    cache: &'a ListCache,
    reconciler: Option<&'a Reconciler<'a>>,
    probe: &ProbeContext,
) -> Step<Option<SessionRow<'a>>, ToReconcile<'a>> {
    let files = folders.fingerprints(loc.dir.path());
    if let Some(row) = cache.get(loc, &files) {
        return Step::Done(Some(row));
    }
    let loaded = match csa_session::load_state(&loc.dir) {
        Ok(loaded) => loaded,
        // Being created (by an older install): not a row yet, and not an
        // error. Removed (by `delete` or `clean`) since it was listed: no row.
        Err(err) if csa_session::is_initializing(&loc.dir, &err) => return Step::Done(None),
        Err(err) if csa_session::is_gone(&loc.dir, &err) => return Step::Done(None),
        Err(err) => return Step::Done(Some(SessionRow::broken(loc, &err))),
    };
    let active = loaded.value.phase() == Phase::Active;
    if let Some(reconciler) = reconciler.filter(|_| active) {
        return Step::HandOn((loc, loaded, reconciler));
    }
    let liveness = active.then(|| {
        let tools = loaded.value.tool_names();
        csa_process::liveness(&loc.dir, loc.id.as_str(), &tools, probe)
    });
    let row = row_from_files(loc, &loaded.value, liveness.as_ref());
    cache.put(&files, &row);
    Step::Done(Some(row))
}

/// The row of an active session after reconciling it. Not cached: it is
/// either active or was written just now. `None` when the session was
/// removed meanwhile (by `delete` or `clean`).
fn reconciled_row<'a>(
    ui: &Ui,
    loc: &'a SessionLocation,
    state: Loaded<SessionState>,
    reconciler: &Reconciler<'_>,
) -> Option<SessionRow<'a>> {
    let report = reconciler.reconcile_loaded(loc, Some(state));
    if let Some((state, result)) = &report.files {
        let liveness = report.liveness.as_ref();
        return Some(SessionRow::from_files(
            loc,
            state,
            Ok(result.as_ref()),
            liveness,
        ));
    }
    let loaded = csa_session::load_state(&loc.dir);
    if let Err(err) = &loaded
        && csa_session::is_gone(&loc.dir, err)
    {
        return None;
    }
    if let Some(error) = &report.error {
        ui.warning(&format!("session {}: {}", loc.id, chain(error)));
    }
    Some(match loaded {
        Ok(loaded) => row_from_files(loc, &loaded.value, report.liveness.as_ref()),
        Err(err) => SessionRow::broken(loc, &err),
    })
}

/// A session's row from its state and the `result.toml` read now.
fn row_from_files<'a>(
    loc: &'a SessionLocation,
    state: &SessionState,
    liveness: Option<&Liveness>,
) -> SessionRow<'a> {
    let result = csa_session::load_result_if_any(&loc.dir);
    SessionRow::from_files(loc, state, result.as_ref().map(Option::as_ref), liveness)
}

fn keep(row: &SessionRow<'_>, args: &ListArgs) -> bool {
    if let Some(filter) = args.status
        && !row.status.matches(filter)
    {
        return false;
    }
    if !args.tool.is_empty() && !row.tools.iter().any(|t| args.tool.iter().any(|a| a == t)) {
        return false;
    }
    if let Some(branch) = &args.branch
        && row.branch.as_deref() != Some(branch.as_str())
    {
        return false;
    }
    true
}
