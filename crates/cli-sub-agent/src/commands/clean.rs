//! `csa session clean`: remove the project's old settled sessions through
//! `csa_session::remove`, skipping (and reporting) every session that may
//! still run, is being created, or is newer than `--older-than`.

use std::collections::HashMap;
use std::process::ExitCode;

use csa_process::ProbeContext;
use csa_session::Trigger;
use csa_session::remove::{Action, Policy, Remover};

use crate::cli::CleanArgs;
use crate::context::{Context, sessions_in};
use crate::pool::{self, Work};
use crate::removal;
use crate::ui::Ui;

pub fn run(args: &CleanArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let dirs = ctx.scope(args.all_projects)?;
    let policy = Policy::Sweep {
        older_than: args.older_than,
        keep: args.keep,
        status: args.status.iter().copied().collect(),
    };
    let probe = ProbeContext::new();
    let remover = Remover::new(&probe, Trigger::SessionClean, policy, args.dry_run);
    removal::empty_trash(ui, &remover, &dirs);
    let mut sessions = sessions_in(&dirs)?;
    if !args.tool.is_empty() {
        // Only sessions that used one of the tools: one whose state cannot
        // be read is not known to have, and is left alone.
        sessions.retain(|loc| {
            csa_session::load_state(&loc.dir)
                .is_ok_and(|s| s.value.tool_names().iter().any(|t| args.tool.contains(t)))
        });
    }
    let mut surveys = pool::map(Work::Io, sessions.iter().collect(), |loc| {
        remover.survey(loc)
    });
    surveys.extend(dirs.iter().flat_map(|dir| remover.survey_staging(dir)));
    // `--keep` counts per project (its primary and legacy folders together).
    remover.rank(&mut surveys, |loc| {
        loc.sessions_dir()
            .map(|dir| ctx.roots.project_of(&dir).unwrap_or(dir.path))
    });
    let sizes = if args.json {
        HashMap::new()
    } else {
        removal::sizes(&surveys)
    };
    let mut reports = removal::remove(&remover, surveys);
    removal::finish(ui, &remover, &reports);
    reports.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    removal::print(
        ui,
        &reports,
        &sizes,
        removal::Printing {
            json: args.json,
            kill_hint: false,
            list_kept: args.verbose > 0,
            dry_run: args.dry_run,
        },
    )?;
    let failed = reports
        .iter()
        .any(|r| r.action == Action::Kept && r.error.is_some());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
