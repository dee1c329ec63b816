//! The results the reconciler publishes: the synthetic failure for a dead
//! session without a result (contract §4), and a result finalized from the
//! daemon's `daemon-completion.toml`. Both record which ending wrote them
//! (`termination_reason`), so a crash before the state is retired is
//! recovered with the right reason.

use chrono::{DateTime, Utc};

use crate::completion::DaemonCompletion;
use crate::layout::SessionDir;
use crate::liveness::Liveness;
use crate::log_tail::output_tail;
use crate::result::SessionResult;
use crate::state::SessionState;
use crate::vocab::{ResultStatus, TerminationReason, Trigger};

/// How many trailing lines of `output.log` a synthetic summary quotes.
pub const TAIL_LINES: usize = 20;
/// The tool a result names when the state names none with an `updated_at`.
pub const UNKNOWN_TOOL: &str = "unknown";

/// The tool a reconciler-written result names: newest `updated_at`, else "unknown".
fn result_tool(state: &SessionState) -> String {
    state.newest_tool().unwrap_or_else(|| UNKNOWN_TOOL.into())
}

/// The synthetic failure for a session judged dead without a result.
pub fn synthetic_failure(
    state: &SessionState,
    session: &SessionDir,
    trigger: Trigger,
    liveness: &Liveness,
    now: DateTime<Utc>,
) -> SessionResult {
    let mut summary = format!(
        "synthetic failure by {trigger}: process dead, result.toml missing; judged dead because {}",
        liveness.summary()
    );
    let tail = output_tail(session, TAIL_LINES);
    if !tail.is_empty() {
        summary.push_str("\nlast lines of output.log:\n");
        summary.push_str(&tail);
    }
    SessionResult::new(
        &ResultStatus::Failure,
        1,
        &summary,
        &result_tool(state),
        state.last_accessed().min(now),
        now,
    )
    .with_termination_reason(&TerminationReason::OrphanedProcess)
}

/// A result built from `daemon-completion.toml`.
pub fn from_completion(
    state: &SessionState,
    session: &SessionDir,
    trigger: Trigger,
    completion: &DaemonCompletion,
    now: DateTime<Utc>,
) -> SessionResult {
    let failed =
        completion.status != crate::vocab::ResultStatus::Success || completion.exit_code != 0;
    let summary = crate::log_tail::summary_line(session, failed)
        .unwrap_or_else(|| format!("finalized from daemon-completion.toml by {trigger}"));
    SessionResult::new(
        &completion.status,
        completion.exit_code,
        &summary,
        &result_tool(state),
        state.last_accessed().min(now),
        now,
    )
    .with_termination_reason(&TerminationReason::DaemonCompletion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::liveness::Verdict;
    use crate::state::ToolState;

    fn state_with_tools() -> SessionState {
        let now = Utc::now();
        let mut state = SessionState::new(&SessionId::generate(), "/p", now, None, None);
        for (name, age) in [("codex", 50), ("claude-code", 10), ("gemini-cli", 30)] {
            let tool = ToolState {
                updated_at: Some(now - chrono::TimeDelta::seconds(age)),
                ..ToolState::default()
            };
            state.set_tool(name, &tool);
        }
        state
    }

    fn dead() -> Liveness {
        Liveness {
            verdict: Verdict::Dead,
            reasons: vec!["daemon.pid: pid 9 does not exist".into()],
            blocked_by_progress: false,
        }
    }

    #[test]
    fn synthetic_failure_follows_the_contract() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let body: String = (1..=30).map(|n| format!("line {n}\n\n")).collect();
        fs_err::write(session.output_log(), body).unwrap();
        let state = state_with_tools();
        let now = Utc::now();
        let result = synthetic_failure(&state, &session, Trigger::SessionList, &dead(), now);
        assert_eq!(result.status(), ResultStatus::Failure);
        assert_eq!(result.exit_code(), 1);
        assert_eq!(result.tool(), "claude-code");
        assert_eq!(result.completed_at(), now);
        assert_eq!(result.started_at(), state.last_accessed().min(now));
        assert_eq!(
            result.termination_reason(),
            Some(TerminationReason::OrphanedProcess)
        );
        let summary = result.summary();
        assert!(
            summary.starts_with(
                "synthetic failure by session list: process dead, result.toml missing"
            )
        );
        assert!(summary.contains("pid 9 does not exist"));
        assert!(summary.contains("line 30") && summary.contains("line 11"));
        assert!(!summary.contains("line 10\n"), "{summary}");
    }

    #[test]
    fn no_tools_means_unknown_and_no_output_means_no_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let state = SessionState::new(&SessionId::generate(), "/p", Utc::now(), None, None);
        let result = synthetic_failure(
            &state,
            &session,
            Trigger::SessionReconcile,
            &dead(),
            Utc::now(),
        );
        assert_eq!(result.tool(), "unknown");
        assert!(!result.summary().contains("last lines"));
    }

    #[test]
    fn a_future_last_accessed_is_clamped_to_now() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let future = Utc::now() + chrono::TimeDelta::hours(3);
        let state = SessionState::new(&SessionId::generate(), "/p", future, None, None);
        let now = Utc::now();
        let result = synthetic_failure(&state, &session, Trigger::SessionList, &dead(), now);
        assert_eq!(result.started_at(), now);
    }

    #[test]
    fn a_result_from_a_completion_keeps_its_status_and_code() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        fs_err::write(session.output_log(), "first\nlast words\n").unwrap();
        let completion = DaemonCompletion {
            exit_code: 4,
            status: ResultStatus::Failure,
        };
        let result = from_completion(
            &state_with_tools(),
            &session,
            Trigger::SessionList,
            &completion,
            Utc::now(),
        );
        assert_eq!(
            (result.status(), result.exit_code()),
            (ResultStatus::Failure, 4)
        );
        assert_eq!(result.summary(), "last words");
        assert_eq!(
            result.termination_reason(),
            Some(TerminationReason::DaemonCompletion)
        );
    }
}
