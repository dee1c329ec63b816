//! The reconciler: gives a session whose process died without a result a
//! trustworthy ending (contract §6).
//!
//! `decision` is the pure choice of what to do; `protocol` carries it out in
//! named, ordered steps with fault points between them; `synthetic` builds the
//! results the reconciler publishes; `outcome` is what it reports.

pub mod decision;
pub mod outcome;
pub mod protocol;
pub mod synthetic;

pub use outcome::{Outcome, Report};
pub use protocol::{CooldownMode, Reconciler};

/// Reconcile one session for a single-session command (`result`, `is-alive`).
/// A failure is printed as a warning on stderr and the command goes on with
/// what is on disk.
pub fn reconcile_one(
    loc: &csa_session::SessionLocation,
    probe: &csa_process::ProbeContext,
    trigger: &str,
) -> Report {
    let report = Reconciler::new(probe, trigger, false, CooldownMode::Immediate).reconcile(loc);
    if let Some(error) = &report.error {
        crate::output::stderr(&format!(
            "csa: warning: reconciling session {}: {error}\n",
            loc.id
        ));
    }
    report
}
