//! `csa session is-alive <ID>`: the liveness verdict and its evidence, after
//! reconciling the session if its process is dead. Exit 0 for alive or
//! unknown, 1 for dead.

use std::process::ExitCode;

use csa_process::Verdict;
use csa_session::{Phase, Trigger};

use crate::cli::IdArgs;
use crate::context::Context;
use crate::reconcile::Reconciled;
use crate::term::escape;
use crate::ui::Ui;

pub fn run(args: &IdArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let loc = ctx.resolve(&args.id)?;
    let reconciled = Reconciled::load(ui, &loc, Trigger::SessionIsAlive)?;
    let state = &reconciled.state;
    if state.phase() == Phase::Retired {
        let reason = state
            .termination_reason_text()
            .unwrap_or("no termination reason");
        let mut text = format!("dead\nsession is retired ({})\n", escape(reason));
        if let Some(liveness) = &reconciled.report.liveness {
            for reason in &liveness.reasons {
                text.push_str(&format!("{}\n", escape(reason)));
            }
        }
        ui.stdout(&text)?;
        return Ok(ExitCode::FAILURE);
    }
    let liveness = reconciled.liveness(&loc);
    let mut text = format!("{}\n", liveness.verdict.as_str());
    for reason in &liveness.reasons {
        text.push_str(&format!("{}\n", escape(reason)));
    }
    if liveness.verdict == Verdict::Unknown {
        text.push_str("unknown is treated as alive: the session is not reconciled\n");
    }
    ui.stdout(&text)?;
    Ok(if liveness.verdict == Verdict::Dead {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
