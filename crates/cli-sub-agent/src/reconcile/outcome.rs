//! What a reconcile reports: the outcome, its evidence, and any error.

use csa_process::Liveness;
use csa_session::{SessionId, SessionResult, SessionState};
use serde::Serialize;

/// The outcome names of `csa session reconcile` (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    NoChange,
    Retired,
    SynthesizedFailure,
    LateResultRetired,
    FinalizedFromCompletion,
    SkippedLocked,
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
            Outcome::Error => "error",
        }
    }
}

/// One session's reconcile report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub session_id: SessionId,
    pub outcome: Outcome,
    /// Human-readable evidence and what was done.
    pub evidence: String,
    pub error: Option<String>,
    /// The liveness verdict, when the session was active and probed.
    #[serde(skip)]
    pub liveness: Option<Liveness>,
    /// The state and result on disk after the reconcile, when the reconciler
    /// knows them exactly (saves callers a re-read).
    #[serde(skip)]
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

    pub fn error(session_id: SessionId, err: &anyhow::Error) -> Report {
        let message = crate::output::one_line(err);
        Report {
            session_id,
            outcome: Outcome::Error,
            evidence: String::new(),
            error: Some(message),
            liveness: None,
            files: None,
        }
    }
}
