//! Process facts and the liveness verdict for csa sessions.
//!
//! Answers "is this session's process still alive?" as alive, dead or unknown,
//! with the evidence: pid records ([`record`]), process facts ([`facts`]), held
//! `flock`s ([`held`]), and recent output. [`evidence::gather`] collects the
//! facts of one session dir; [`verdict::verdict`] is the pure decision over them.
//! Nothing here reads or writes session state: the reconciler in the `csa`
//! binary combines this crate with `csa-session`.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod consts;
pub mod evidence;
pub mod facts;
pub mod held;
pub mod proctable;
pub mod record;
pub mod signal;
pub mod stop;
pub mod usage;
pub mod verdict;
mod watch;

pub use evidence::{Evidence, ProbeContext, gather};
pub use facts::{Existence, ProcState, ProcessFacts};
pub use held::HeldLocks;
pub use proctable::{ProcInfo, descendants_of};
pub use record::{
    CmdPid, DaemonPid, LockRecord, RecordError, read_cmd_pid, read_daemon_pid, read_lock_record,
};
pub use stop::stop_group;
pub use usage::{Usage, tree_usage};
pub use verdict::{Liveness, Verdict, verdict};

/// Gather the evidence of one session and judge it.
pub fn liveness(
    session_dir: &std::path::Path,
    session_id: &str,
    tool_names: &[String],
    ctx: &ProbeContext,
) -> Liveness {
    verdict(&gather(session_dir, session_id, tool_names, ctx))
}
