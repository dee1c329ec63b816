//! The liveness seam: the store's protocols need to know whether a session's
//! process is alive, and this crate knows nothing of processes. A
//! [`LivenessProbe`] (implemented by `csa-process`, wired by the `csa` binary)
//! answers with a [`Liveness`]: a verdict and the evidence behind it.

use serde::{Deserialize, Serialize};

use crate::id::SessionId;
use crate::layout::SessionDir;

/// Alive, dead or unknown. Only `Dead` allows a session to be reconciled;
/// `Unknown` is treated as alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Alive,
    Dead,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alive => "alive",
            Verdict::Dead => "dead",
            Verdict::Unknown => "unknown",
        }
    }
}

/// A verdict with the evidence that led to it, in human-readable lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Liveness {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// True when only recent output kept the session from being judged dead.
    pub blocked_by_progress: bool,
}

impl Liveness {
    /// Reconciliation is allowed only on this.
    pub fn is_dead(&self) -> bool {
        self.verdict == Verdict::Dead
    }

    /// The reasons as one line.
    pub fn summary(&self) -> String {
        self.reasons.join("; ")
    }
}

/// When a probe is asked: before the reconcile lock is taken, or under it.
/// Under the lock a probe must look again (fresh clock, fresh lock table)
/// rather than reuse what it saw for the pre-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    PreCheck,
    UnderLock,
}

/// Judges whether a session's process is alive.
pub trait LivenessProbe: Sync {
    /// The verdict for the session in `session`, whose id is `id` and whose
    /// state names the tools `tools`.
    fn judge(
        &self,
        session: &SessionDir,
        id: &SessionId,
        tools: &[String],
        check: Check,
    ) -> Liveness;
}
