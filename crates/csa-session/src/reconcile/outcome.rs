//! What a reconcile reports: the outcome, its evidence, and any error.

use serde::Serialize;

use crate::id::SessionId;
use crate::liveness::Liveness;
use crate::result::SessionResult;
use crate::state::SessionState;

use super::ReconcileError;

/// The outcome names of `csa session reconcile` (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    NoChange,
    Retired,
    SynthesizedFailure,
    LateResultRetired,
    FinalizedFromCompletion,
    SkippedLocked,
    /// The session dir went away (a `delete` or `clean` moved it to the
    /// trash) while it was being reconciled: nothing left to do, no error.
    Removed,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NoChange => "no-change",
            Outcome::Retired => "retired",
            Outcome::SynthesizedFailure => "synthesized-failure",
            Outcome::LateResultRetired => "late-result-retired",
            Outcome::FinalizedFromCompletion => "finalized-from-completion",
            Outcome::SkippedLocked => "skipped-locked",
            Outcome::Removed => "removed",
            Outcome::Error => "error",
        }
    }

    /// True for outcomes that changed the session.
    pub fn changed(self) -> bool {
        matches!(
            self,
            Outcome::Retired
                | Outcome::SynthesizedFailure
                | Outcome::LateResultRetired
                | Outcome::FinalizedFromCompletion
        )
    }
}

/// One session's reconcile report.
#[derive(Debug)]
pub struct Report {
    pub session_id: SessionId,
    pub outcome: Outcome,
    /// Human-readable evidence and what was done.
    pub evidence: String,
    pub error: Option<ReconcileError>,
    /// The liveness verdict, when the session was active and probed.
    pub liveness: Option<Liveness>,
    /// The state and result on disk after the reconcile, when the reconciler
    /// knows them exactly (saves callers a re-read).
    pub files: Option<(SessionState, Option<SessionResult>)>,
}

impl Report {
    pub fn new(session_id: SessionId, outcome: Outcome, evidence: String) -> Report {
        Report {
            session_id,
            outcome,
            evidence,
            error: None,
            liveness: None,
            files: None,
        }
    }

    pub fn error(session_id: SessionId, error: ReconcileError) -> Report {
        Report {
            error: Some(error),
            ..Report::new(session_id, Outcome::Error, String::new())
        }
    }
}
