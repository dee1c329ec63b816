//! The sessions `top` shows: the library's [`csa_session::fleet`] rows,
//! reconciled here as `list` reconciles (the binary wires liveness into the
//! reconcile protocol) and sampled by `csa_process::Sampler`, one
//! process-table snapshot for every session per interval.

use csa_process::{ProbeContext, Sampler};
use csa_session::fleet;
use csa_session::{SessionId, SessionsDir, Trigger};

pub use csa_session::fleet::{FleetJson, FleetRow as TopRow, Totals};

/// Every session `top` shows, with the sampler of their process trees.
#[derive(Debug)]
pub struct Fleet {
    rows: fleet::Fleet,
    sampler: Sampler<SessionId>,
}

impl Fleet {
    pub fn new(dirs: Vec<SessionsDir>) -> Fleet {
        Fleet {
            rows: fleet::Fleet::new(dirs),
            sampler: Sampler::new(),
        }
    }

    pub fn dirs(&self) -> &[SessionsDir] {
        self.rows.dirs()
    }

    /// See [`fleet::Fleet::refresh`].
    pub fn refresh(&mut self) {
        self.rows.refresh();
    }

    /// Reconcile each active session whose process is dead, so a crashed
    /// daemon's session does not stay Active.
    pub fn reconcile(&mut self) {
        let probe = ProbeContext::new();
        self.rows.reconcile(|loc| {
            crate::reconcile::reconcile_quietly(loc, &probe, Trigger::SessionTop)
                .outcome
                .changed()
        });
    }

    /// Sample the process trees of the active sessions.
    pub fn sample(&mut self) {
        self.sampler.sample_fleet(&mut self.rows);
    }

    pub fn ordered(&self) -> Vec<&TopRow> {
        self.rows.ordered()
    }

    pub fn get(&self, id: &SessionId) -> Option<&TopRow> {
        self.rows.get(id)
    }
}
