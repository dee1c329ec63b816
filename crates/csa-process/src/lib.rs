//! Processes of csa sessions: their liveness, and everything that starts,
//! supervises, signals and waits for them.
//!
//! Liveness answers "is this session's process still alive?" as alive, dead
//! or unknown, with the evidence: pid records ([`record`]), process facts
//! ([`facts`]), held `flock`s ([`held`]), and recent output.
//! [`evidence::gather`] collects the facts of one session dir;
//! [`verdict::verdict`] is the pure decision over them; [`ProbeContext`]
//! offers both to the store as its [`csa_session::LivenessProbe`].
//!
//! Process management, which the `csa` binary only wires:
//!
//! - `csa run`: [`ready`] (the readiness pipe) and [`launch`] (start the
//!   daemon detached; the daemon's first act, `close_inherited_fds`);
//! - the daemon: [`spawn`] (subreaper, the command in its own group) and
//!   [`supervise`] (wait, reap, stop on request or timeout, clean up every
//!   descendant except other sessions' daemons);
//! - `csa session kill`: [`signal`] (verify before any signal) and [`stop`]
//!   (stop a verified group, wait for a verified process);
//! - `csa session show`: [`usage`] (memory and CPU of a process tree), from
//!   one [`proctable`] snapshot; `csa session top`: [`sampler`] (every
//!   session's tree from one snapshot, CPU% over the last interval);
//! - `csa session wait` and `logs --follow`: [`end_watch`] (has a session
//!   ended, reconciling it on the way), woken by [`watcher`] (a session's
//!   files change or its verified processes exit).
//!
//! Nothing here reads or writes session state (TOML): paths come from
//! `csa_session::layout`, and the store's protocols call in through the probe.
//! Nothing here prints: errors are typed, and `tracing` debug events say what
//! each step did.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod consts;
pub mod daemon;
pub mod end_watch;
pub mod evidence;
pub mod facts;
pub mod held;
pub mod kill;
pub mod launch;
pub mod log_file;
#[cfg(unix)]
pub mod log_pump;
#[cfg(unix)]
mod pre_exec;
pub mod proctable;
pub mod ready;
pub mod record;
pub mod sampler;
pub mod signal;
pub mod spawn;
pub mod start;
pub mod stop;
pub mod supervise;
pub mod usage;
pub mod verdict;
mod watch;
pub mod watcher;

pub use end_watch::{EndWatch, EndWatchError};
pub use evidence::{Evidence, ProbeContext, gather};
pub use facts::{Existence, ProcState, ProcessFacts};
pub use held::HeldLocks;
pub use launch::spawn_detached;
pub use proctable::{ProcInfo, descendants_of};
pub use ready::{Ready, ReadyError, ReadyReader, ReadyWriter, ready_pipe};
pub use record::{
    CmdPid, DaemonPid, LockHolder, LockRecord, RecordError, read_cmd_pid, read_daemon_pid,
    read_lock_record,
};
pub use sampler::{Sampler, TreeSample, session_roots};
pub use spawn::{CommandSpec, Spawned, become_subreaper, spawn_command};
pub use stop::stop_group;
pub use supervise::{
    Cleanup, Ending, Exit, RunOptions, StopCause, SuperviseError, Supervisor, spare_other_sessions,
};
pub use usage::{Usage, session_processes, tree_usage, trees_usage};
pub use verdict::{Liveness, Verdict, verdict};
pub use watcher::{Wake, Waker, Watcher};

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
