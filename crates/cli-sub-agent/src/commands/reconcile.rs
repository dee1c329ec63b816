//! `csa session reconcile <ID|PREFIX>... | --all`: one line per session with
//! its outcome and evidence; `--dry-run` writes nothing. A session removed
//! (by `delete` or `clean`) while this runs is skipped: no line, no error
//! (a named one gets a note on stderr).

use std::process::ExitCode;

use csa_process::ProbeContext;
use csa_session::Trigger;
use csa_session::reconcile::{CooldownMode, Outcome, Reconciler, Report};
use serde::Serialize;

use crate::cli::ReconcileArgs;
use crate::context::Context;
use crate::pool::{self, Work};
use crate::term::escape;
use crate::ui::{Ui, chain};

/// One line of `--json` output.
#[derive(Serialize)]
struct ReportView<'a> {
    session_id: &'a str,
    outcome: &'static str,
    evidence: &'a str,
    error: Option<String>,
}

pub fn run(args: &ReconcileArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let sessions = if args.all {
        ctx.sessions(false)?
    } else {
        let mut found = ctx.resolve_each(&args.ids)?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    };
    let probe = ProbeContext::new();
    let mode = if sessions.len() > 1 {
        CooldownMode::Batched
    } else {
        CooldownMode::Immediate
    };
    let reconciler = Reconciler::new(&probe, Trigger::SessionReconcile, args.dry_run, mode)
        .sweeping_settled_sessions();
    let mut reports = pool::map(Work::Io, sessions.iter().collect(), |loc| {
        reconciler.reconcile(loc)
    });
    reconciler.flush_cooldown()?;
    if args.all {
        for dir in ctx.sessions_dirs() {
            reconciler.sweep_folder(&dir);
        }
    }
    reports.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    reports.retain(|r| {
        let removed = r.outcome == Outcome::Removed;
        if removed && !args.all {
            ui.note(&format!(
                "session {} was removed meanwhile: skipped",
                r.session_id
            ));
        }
        !removed
    });
    print(ui, &reports, args.json)?;
    let failed = reports.iter().any(|r| r.outcome == Outcome::Error);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print(ui: &Ui, reports: &[Report], json: bool) -> anyhow::Result<()> {
    if json {
        let views: Vec<ReportView<'_>> = reports
            .iter()
            .map(|r| ReportView {
                session_id: r.session_id.as_str(),
                outcome: r.outcome.as_str(),
                evidence: &r.evidence,
                error: r.error.as_ref().map(|e| chain(e)),
            })
            .collect();
        return ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&views)?));
    }
    let mut text = String::new();
    for r in reports {
        let detail = match &r.error {
            Some(error) => chain(error),
            None => r.evidence.clone(),
        };
        text.push_str(&format!(
            "{} {} {}\n",
            r.session_id,
            r.outcome.as_str(),
            escape(&detail)
        ));
    }
    if reports.is_empty() {
        ui.stderr("no sessions to reconcile\n");
    }
    ui.stdout(&text)
}
