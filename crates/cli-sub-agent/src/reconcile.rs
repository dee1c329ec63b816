//! Wiring the store's reconciler (`csa_session::reconcile`) into commands:
//! the liveness probe from `csa-process`, warnings on stderr, and the
//! load-reconcile-reload start that `show`, `is-alive` and `result` share
//! ([`Reconciled`]).

use csa_process::ProbeContext;
use csa_session::reconcile::{CooldownMode, Reconciler, Report};
use csa_session::{Liveness, LoadError, SessionLocation, SessionState, Trigger};

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

/// The shared start of the commands that show one session after reconciling
/// it (`show`, `is-alive`, `result`): its state read (an unreadable state is
/// the one error to report, before a reconcile could warn about it too), the
/// session reconciled (a failure is a warning), and its state read again as
/// the reconcile left it.
#[derive(Debug)]
pub struct Reconciled {
    pub state: SessionState,
    pub report: Report,
    probe: ProbeContext,
}

impl Reconciled {
    pub fn load(ui: &Ui, loc: &SessionLocation, trigger: Trigger) -> Result<Reconciled, LoadError> {
        csa_session::load_state(&loc.dir)?;
        let probe = ProbeContext::new();
        let report = reconcile_one(ui, loc, &probe, trigger);
        let state = csa_session::load_state(&loc.dir)?.value;
        Ok(Reconciled {
            state,
            report,
            probe,
        })
    }

    /// The session's liveness: the reconcile's verdict when it probed one,
    /// else probed now.
    pub fn liveness(&self, loc: &SessionLocation) -> Liveness {
        match &self.report.liveness {
            Some(liveness) => liveness.clone(),
            None => csa_process::liveness(
                &loc.dir,
                loc.id.as_str(),
                &self.state.tool_names(),
                &self.probe,
            ),
        }
    }
}
