//! `csa session delete <ID>...`: remove the named sessions once they have
//! ended, through `csa_session::remove`; a session that may still run is
//! refused with a line that says to kill it first.

use std::collections::HashMap;
use std::process::ExitCode;

use csa_process::ProbeContext;
use csa_session::Trigger;
use csa_session::remove::{Action, Policy, Remover};

use crate::cli::DeleteArgs;
use crate::context::Context;
use crate::pool::{self, Work};
use crate::removal;
use crate::ui::Ui;

pub fn run(args: &DeleteArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let probe = ProbeContext::new();
    let remover = Remover::new(&probe, Trigger::SessionDelete, Policy::Named, args.dry_run);
    // What crashed removals left in the project's trash goes first (even if
    // an id below turns out not to resolve: it may be one of those).
    removal::empty_trash(ui, &remover, &ctx.sessions_dirs());
    // Every id is resolved before anything is removed.
    let mut sessions = Vec::with_capacity(args.ids.len());
    for id in &args.ids {
        sessions.push(ctx.resolve(id)?);
    }
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    sessions.dedup_by(|a, b| a.id == b.id);
    let surveys = pool::map(Work::Io, sessions.iter().collect(), |loc| {
        remover.survey(loc)
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
            kill_hint: true,
            list_kept: true,
            dry_run: args.dry_run,
        },
    )?;
    let refused = reports.iter().any(|r| match r.action {
        Action::Deleted | Action::WouldDelete => false,
        Action::Kept => r.error.is_some() || r.keep.as_ref().is_none_or(|k| k.is_refusal()),
    });
    Ok(if refused {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
