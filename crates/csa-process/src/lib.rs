//! Processes of csa sessions: pid records, process facts and the liveness
//! verdict, and the signals that stop a session.
//!
//! Answers "is this session's process still alive?" as alive, dead or unknown,
//! with the evidence: pid records ([`record`]), process facts ([`facts`]), held
//! `flock`s ([`held`]), and recent output. [`evidence::gather`] collects the
//! facts of one session dir; [`verdict::verdict`] is the pure decision over them;
//! [`ProbeContext`] offers both to the store as its
//! [`csa_session::LivenessProbe`]. [`signal`] is the only way to signal a
//! session's process. Nothing here reads or writes session state (TOML): paths
//! come from `csa_session::layout` and the store's protocols call in through
//! the probe.

pub mod consts;
pub mod evidence;
pub mod facts;
pub mod held;
pub mod record;
pub mod signal;
pub mod verdict;

pub use evidence::{Evidence, ProbeContext, gather};
pub use facts::{Existence, ProcState, ProcessFacts};
pub use held::HeldLocks;
pub use record::{DaemonPid, LockRecord, RecordError, read_daemon_pid, read_lock_record};
pub use verdict::{Liveness, Verdict, verdict};

/// Gather the evidence of one session and judge it.
pub fn liveness(
    session: &csa_session::SessionDir,
    session_id: &str,
    tool_names: &[String],
    ctx: &ProbeContext,
) -> Liveness {
    verdict(&gather(session, session_id, tool_names, ctx))
}

impl csa_session::LivenessProbe for ProbeContext {
    /// The pre-check shares this context's clock and lock table; a check
    /// under the reconcile lock takes a fresh clock and a fresh lock table.
    fn judge(
        &self,
        session: &csa_session::SessionDir,
        id: &csa_session::SessionId,
        tools: &[String],
        check: csa_session::Check,
    ) -> Liveness {
        match check {
            csa_session::Check::PreCheck => liveness(session, id.as_str(), tools, self),
            csa_session::Check::UnderLock => liveness(session, id.as_str(), tools, &self.fresh()),
        }
    }
}
