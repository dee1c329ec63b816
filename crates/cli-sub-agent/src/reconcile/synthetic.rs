//! The results the reconciler publishes: the synthetic failure for a dead
//! session without a result (contract §4), and a result finalized from the
//! daemon's `daemon-completion.toml`.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};
use csa_process::Liveness;
use csa_session::consts::OUTPUT_LOG;
use csa_session::{DaemonCompletion, SessionResult, SessionState};

/// How many trailing lines of `output.log` a synthetic summary quotes.
pub const TAIL_LINES: usize = 20;
/// How many trailing bytes of `output.log` are read for them.
pub const TAIL_BYTES: u64 = 4096;

/// The tool a reconciler-written result names: newest `updated_at`, else "unknown".
fn result_tool(state: &SessionState) -> String {
    state.newest_tool().unwrap_or_else(|| "unknown".into())
}

/// The synthetic failure for a session judged dead without a result.
pub fn synthetic_failure(
    state: &SessionState,
    session_dir: &Path,
    trigger: &str,
    liveness: &Liveness,
    now: DateTime<Utc>,
) -> SessionResult {
    let mut summary = format!(
        "synthetic failure by {trigger}: process dead, result.toml missing; judged dead because {}",
        liveness.summary()
    );
    let tail = output_tail(session_dir, TAIL_LINES);
    if !tail.is_empty() {
        summary.push_str("\nlast lines of output.log:\n");
        summary.push_str(&tail);
    }
    SessionResult::new(
        "failure",
        1,
        &summary,
        &result_tool(state),
        state.last_accessed().min(now),
        now,
    )
}

/// A result built from `daemon-completion.toml`.
pub fn from_completion(
    state: &SessionState,
    session_dir: &Path,
    trigger: &str,
    completion: &DaemonCompletion,
    now: DateTime<Utc>,
) -> SessionResult {
    let last_line = output_tail(session_dir, 1);
    let summary = if last_line.is_empty() {
        format!("finalized from daemon-completion.toml by {trigger}")
    } else {
        last_line
    };
    SessionResult::new(
        &completion.status,
        completion.exit_code,
        &summary,
        &result_tool(state),
        state.last_accessed().min(now),
        now,
    )
}

/// The last `lines` non-empty lines of the session's `output.log`.
pub fn output_tail(session_dir: &Path, lines: usize) -> String {
    log_tail(&session_dir.join(OUTPUT_LOG), lines)
}

/// The last `lines` non-empty lines of a log, reading at most [`TAIL_BYTES`]
/// from its end. Empty when the log is missing or empty.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let Ok(mut file) = fs_err::File::open(log) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.take(TAIL_BYTES).read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut kept: Vec<&str> = text
        .lines()
        .skip(usize::from(start > 0)) // the first line may be cut
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let skip = kept.len().saturating_sub(lines);
    kept.drain(..skip);
    kept.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use csa_process::Verdict;
    use csa_session::{SessionId, ToolState};

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
        let body: String = (1..=30).map(|n| format!("line {n}\n\n")).collect();
        fs_err::write(tmp.path().join(OUTPUT_LOG), body).unwrap();
        let state = state_with_tools();
        let now = Utc::now();
        let result = synthetic_failure(&state, tmp.path(), "session list", &dead(), now);
        assert_eq!(result.status(), "failure");
        assert_eq!(result.exit_code(), 1);
        assert_eq!(result.tool(), "claude-code");
        assert_eq!(result.completed_at(), now);
        assert_eq!(result.started_at(), state.last_accessed().min(now));
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
        let state = SessionState::new(&SessionId::generate(), "/p", Utc::now(), None, None);
        let result = synthetic_failure(&state, tmp.path(), "x", &dead(), Utc::now());
        assert_eq!(result.tool(), "unknown");
        assert!(!result.summary().contains("last lines"));
    }

    #[test]
    fn a_future_last_accessed_is_clamped_to_now() {
        let tmp = tempfile::tempdir().unwrap();
        let future = Utc::now() + chrono::TimeDelta::hours(3);
        let state = SessionState::new(&SessionId::generate(), "/p", future, None, None);
        let now = Utc::now();
        let result = synthetic_failure(&state, tmp.path(), "x", &dead(), now);
        assert_eq!(result.started_at(), now);
    }

    #[test]
    fn tail_reads_only_the_end_of_a_large_log() {
        let tmp = tempfile::tempdir().unwrap();
        let mut body = "x".repeat(1 << 20);
        body.push_str("\nthe end\n");
        fs_err::write(tmp.path().join(OUTPUT_LOG), body).unwrap();
        assert_eq!(output_tail(tmp.path(), 1), "the end");
    }
}
