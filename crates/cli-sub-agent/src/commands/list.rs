//! `csa session list`: sessions newest first, reconciling each dead active
//! session on the way (unless `--no-reconcile`).

use std::fmt::Write as _;
use std::process::ExitCode;

use csa_process::ProbeContext;
use csa_session::{Phase, SessionLocation};

use crate::cli::ListArgs;
use crate::context::Context;
use crate::reconcile::{CooldownMode, Reconciler};
use crate::status::{SessionRow, read_result};
use crate::{output, pool};

/// Longest DESCRIPTION shown in the table.
const DESCRIPTION_WIDTH: usize = 40;

pub fn run(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project)?;
    let sessions = ctx.sessions(args.all_projects)?;
    let probe = ProbeContext::new();
    let reconciler = Reconciler::new(&probe, "session list", false, CooldownMode::Batched);
    let reconciler = (!args.no_reconcile).then_some(&reconciler);
    let mut rows = pool::map(&sessions, |loc| row(loc, reconciler, &probe));
    if let Some(reconciler) = reconciler {
        reconciler.flush_cooldown()?;
    }
    rows.retain(|row| keep(row, args));
    rows.sort_by(|a, b| {
        b.sort_key
            .cmp(&a.sort_key)
            .then_with(|| b.session_id.cmp(&a.session_id))
    });
    if args.json {
        output::stdout(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
    } else if rows.is_empty() {
        tracing::info!("no sessions");
        output::stderr(&format!(
            "no sessions found for {}\n",
            if args.all_projects {
                "any project".to_owned()
            } else {
                ctx.project.project_dir().display().to_string()
            }
        ));
    } else {
        output::stdout(&table(&rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One session's row, reconciling it first if it is active and dead.
fn row(
    loc: &SessionLocation,
    reconciler: Option<&Reconciler<'_>>,
    probe: &ProbeContext,
) -> SessionRow {
    let mut state = match csa_session::load_state(&loc.dir) {
        Ok(loaded) => loaded.value,
        Err(err) => return SessionRow::broken(loc, &err),
    };
    let mut liveness = None;
    if state.phase() == Phase::Active {
        match reconciler {
            Some(reconciler) => {
                let report = reconciler.reconcile(loc);
                if let Some(error) = &report.error {
                    output::stderr(&format!("csa: warning: session {}: {error}\n", loc.id));
                }
                liveness = report.liveness;
                if report.outcome.changed() {
                    match csa_session::load_state(&loc.dir) {
                        Ok(loaded) => state = loaded.value,
                        Err(err) => return SessionRow::broken(loc, &err),
                    }
                }
            }
            None => {
                let tools = state.tool_names();
                liveness = Some(csa_process::liveness(
                    &loc.dir,
                    loc.id.as_str(),
                    &tools,
                    probe,
                ));
            }
        }
    }
    let result = read_result(loc);
    SessionRow::from_files(
        loc,
        &state,
        result.as_ref().map(Option::as_ref),
        liveness.as_ref(),
    )
}

fn keep(row: &SessionRow, args: &ListArgs) -> bool {
    if let Some(filter) = args.status
        && !row.status.matches(filter)
    {
        return false;
    }
    if !args.tool.is_empty() && !row.tools.iter().any(|t| args.tool.contains(t)) {
        return false;
    }
    if let Some(branch) = &args.branch
        && row.branch.as_ref() != Some(branch)
    {
        return false;
    }
    true
}

fn truncate(text: &str, width: usize) -> String {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= width {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(width.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

fn table(rows: &[SessionRow]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            let accessed = row
                .sort_key
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "-".into());
            let description = match &row.error {
                Some(error) => format!("error: {}", error.replace('\n', " ")),
                None => truncate(row.description.as_deref().unwrap_or(""), DESCRIPTION_WIDTH),
            };
            [
                row.session_id
                    .chars()
                    .take(csa_session::id::SHORT_ID_LEN)
                    .collect(),
                accessed,
                row.status.as_str().to_owned(),
                description,
                row.tools.join(","),
                row.branch.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "SESSION",
        "LAST ACCESSED",
        "STATUS",
        "DESCRIPTION",
        "TOOLS",
        "BRANCH",
    ];
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::with_capacity(rows.len() * 100);
    let mut line = |cells: [&str; 6]| {
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ", width = widths[i]);
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(header);
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
    out
}
