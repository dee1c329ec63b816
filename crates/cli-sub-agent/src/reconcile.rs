//! Wiring the store's reconciler (`csa_session::reconcile`) into commands:
//! the liveness probe from `csa-process`, and warnings on stderr.

use csa_process::ProbeContext;
use csa_session::reconcile::{CooldownMode, Reconciler, Report};
use csa_session::{SessionLocation, Trigger};

use crate::ui::{Ui, chain};

/// Reconcile one session for a single-session command (`result`, `is-alive`,
/// `wait`, ...). A failure is printed as a warning on stderr and the command
/// goes on with what is on disk.
pub fn reconcile_one(
    ui: &Ui,
    loc: &SessionLocation,
    probe: &ProbeContext,
    trigger: Trigger,
) -> Report {
    let report = reconcile_quietly(loc, probe, trigger);
    if let Some(error) = &report.error {
        ui.warning(&format!("reconciling session {}: {}", loc.id, chain(error)));
    }
    report
}

/// Reconcile one session; an error stays in the report for the caller.
pub fn reconcile_quietly(loc: &SessionLocation, probe: &ProbeContext, trigger: Trigger) -> Report {
    Reconciler::new(probe, trigger, false, CooldownMode::Immediate).reconcile(loc)
}
