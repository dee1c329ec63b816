//! A liveness probe that says what the test wants, for driving the store's
//! protocols in-process (the real one lives in `csa-process`).

use std::sync::atomic::{AtomicUsize, Ordering};

use csa_session::{Check, Liveness, LivenessProbe, SessionDir, SessionId, Verdict};

/// Judges every session `pre_check` before the lock and `under_lock` under
/// it, and counts how often it was asked.
pub struct FixedProbe {
    pub pre_check: Verdict,
    pub under_lock: Verdict,
    pub asked: AtomicUsize,
}

impl FixedProbe {
    /// The same verdict before and under the lock.
    pub fn new(verdict: Verdict) -> FixedProbe {
        FixedProbe::changing(verdict, verdict)
    }

    /// One verdict for the unlocked pre-check, another under the lock (a
    /// process that appeared in between).
    pub fn changing(pre_check: Verdict, under_lock: Verdict) -> FixedProbe {
        FixedProbe {
            pre_check,
            under_lock,
            asked: AtomicUsize::new(0),
        }
    }
}

impl LivenessProbe for FixedProbe {
    fn judge(&self, _: &SessionDir, _: &SessionId, _: &[String], check: Check) -> Liveness {
        self.asked.fetch_add(1, Ordering::Relaxed);
        let verdict = match check {
            Check::PreCheck => self.pre_check,
            Check::UnderLock => self.under_lock,
        };
        Liveness {
            verdict,
            reasons: vec![format!("the test says {}", verdict.as_str())],
            blocked_by_progress: false,
        }
    }
}
