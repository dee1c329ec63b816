//! `csa session list`: sessions newest first, reconciling each dead active
//! session on the way (unless `--no-reconcile`).

use std::process::ExitCode;

use csa_process::{Liveness, ProbeContext};
use csa_session::reconcile::{CooldownMode, Reconciler};
use csa_session::{Loaded, Phase, SessionLocation, SessionState, Trigger};

use crate::cli::ListArgs;
use crate::context::{Context, sessions_in};
use crate::list_cache::{Folders, ListCache};
use crate::list_table::{self, Layout};
use crate::output;
use crate::pool::{self, Step};
use crate::status::SessionRow;

pub fn run(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project)?;
    let scope = ctx.scope(args.all_projects)?;
    let sessions = sessions_in(&scope)?;
    let scope_paths: Vec<_> = scope.iter().map(|d| d.path.clone()).collect();
    let cache = ListCache::load(&scope_paths);
    let folders = Folders::open(&scope_paths);
    let probe = ProbeContext::new();
    let reconciler = Reconciler::new(&probe, Trigger::SessionList, false, CooldownMode::Batched);
    let reconciler = (!args.no_reconcile).then_some(&reconciler);
    // Reads run on one thread per core; the sessions to reconcile are handed
    // to many more threads, since each reconcile waits on its fsyncs.
    let rows = pool::two_stage(
        sessions.iter().collect(),
        |loc| read_row(loc, &folders, &cache, reconciler, &probe),
        |(loc, state, reconciler)| reconciled_row(loc, state, reconciler),
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
    rows.sort_unstable_by(|a, b| {
        b.sort_key
            .cmp(&a.sort_key)
            .then_with(|| b.session_id.cmp(a.session_id))
    });
    if args.json {
        output::stdout(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
    } else if rows.is_empty() {
        tracing::info!("no sessions");
        let project = ctx.project.project_dir().display().to_string();
        let message = list_table::empty_message(args, total, &project);
        output::stderr(&format!("{message}\n"));
    } else {
        output::stdout(&list_table::table(&rows, &Layout::for_stdout()))?;
    }
    Ok(ExitCode::SUCCESS)
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
        output::warning(&format!("session {}: {}", loc.id, output::chain(error)));
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
