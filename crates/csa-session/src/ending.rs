//! The daemon's own ending: how a session that ran under `csa run` is
//! retired with its real result (contract §8.1, §8.3).
//!
//! In order, with a fault point before each step: `daemon-completion.toml`
//! (so a reconciler can finalize a result should the daemon die next), the
//! result with no clobber (a result the tool wrote itself is real too, and is
//! kept), the retired `state.toml`, the cooldown marker. The result records
//! which ending wrote it, so a crash before the state is retired is recovered
//! with the right termination reason.

use chrono::{DateTime, Utc};

use crate::completion::DaemonCompletion;
use crate::cooldown::{CooldownMarker, write_cooldown_marker};
use crate::durable::{publish_no_clobber, write_atomic, write_atomic_deferring_dir_sync};
use crate::error::{LoadError, StoreError, WriteError};
use crate::fault::{self, FaultPoint, InjectedFault};
use crate::layout::{SessionDir, SessionsDir};
use crate::load::load_state;
use crate::log_tail::summary_line;
use crate::phase::{Phase, PhaseEvent, TransitionError};
use crate::reconcile::{ReconcileError, SessionGuard};
use crate::resolve::SessionLocation;
use crate::result::SessionResult;
use crate::state::ToolState;
use crate::tool::ToolName;
use crate::vocab::{ResultStatus, TerminationReason};

/// Exit code recorded when the command cannot be started (as shells do).
pub const NOT_STARTED_EXIT: i32 = 127;
/// Exit code of a run stopped by its timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: i32 = 124;

/// How a run ended, as the daemon saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnding {
    pub status: ResultStatus,
    pub exit_code: i32,
    /// `completed`, `killed` or `timeout`.
    pub reason: TerminationReason,
    pub summary: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

impl RunEnding {
    /// Stopped by `csa session kill`: `killed`, with `exit_code` 128 + the
    /// signal that ended the command.
    pub fn killed(exit_code: i32, summary: String, started_at: DateTime<Utc>) -> RunEnding {
        RunEnding::new(
            ResultStatus::Killed,
            exit_code,
            TerminationReason::Killed,
            summary,
            started_at,
        )
    }

    /// Stopped because the run's `--timeout` expired: `timeout`, exit 124.
    pub fn timed_out(summary: String, started_at: DateTime<Utc>) -> RunEnding {
        RunEnding::new(
            ResultStatus::Timeout,
            TIMEOUT_EXIT,
            TerminationReason::Timeout,
            summary,
            started_at,
        )
    }

    /// The command ended by itself: success for exit 0, failure for another
    /// code, signal when a signal nobody in csa sent ended it.
    pub fn exited(
        status: ResultStatus,
        exit_code: i32,
        summary: String,
        started_at: DateTime<Utc>,
    ) -> RunEnding {
        RunEnding::new(
            status,
            exit_code,
            TerminationReason::Completed,
            summary,
            started_at,
        )
    }

    /// The command could not be started (exit 127, as shells say).
    pub fn not_started(why: &str, started_at: DateTime<Utc>) -> RunEnding {
        RunEnding::exited(
            ResultStatus::Failure,
            NOT_STARTED_EXIT,
            why.to_owned(),
            started_at,
        )
    }

    /// Completed now, and never before it started.
    fn new(
        status: ResultStatus,
        exit_code: i32,
        reason: TerminationReason,
        summary: String,
        started_at: DateTime<Utc>,
    ) -> RunEnding {
        let completed_at = Utc::now().max(started_at);
        RunEnding {
            status,
            exit_code,
            reason,
            summary,
            started_at,
            completed_at,
        }
    }
}

/// The daemon's ending could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum EndingError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot retire the session")]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Fault(#[from] InjectedFault),
    #[error("cannot take the session's reconcile lock")]
    Lock(#[source] Box<ReconcileError>),
}

/// Record the ending of the run in `session`: completion, result, retired
/// state, cooldown marker.
pub fn finish_run(
    session: &SessionDir,
    tool: &ToolName,
    ending: &RunEnding,
) -> Result<(), EndingError> {
    record(session, tool.as_str(), ending)
}

/// What [`record_stopped`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The ending was recorded.
    Recorded,
    /// The session had already ended; nothing was written.
    AlreadyEnded,
    /// Another csa holds the session's reconcile lock; nothing was written.
    Locked,
}

/// Record the ending of a session whose processes the caller itself has
/// stopped and seen gone (`csa session kill` when the daemon was dead): under
/// the session's reconcile lock, and only if it has not ended (phase active
/// or available), the same steps as [`finish_run`], naming the tool with the
/// newest `updated_at`.
pub fn record_stopped(loc: &SessionLocation, ending: &RunEnding) -> Result<Stopped, EndingError> {
    let Some(guard) = SessionGuard::try_lock(loc).map_err(|err| match err {
        ReconcileError::Write(err) => EndingError::Write(err),
        other => EndingError::Lock(Box::new(other)),
    })?
    else {
        return Ok(Stopped::Locked);
    };
    record_stopped_under(&guard, loc, ending)
}

/// [`record_stopped`] for a caller that already holds the session's
/// reconcile lock (it took it before stopping the processes, so that no
/// reconciler could judge the session between the stop and this record).
pub fn record_stopped_under(
    _guard: &SessionGuard,
    loc: &SessionLocation,
    ending: &RunEnding,
) -> Result<Stopped, EndingError> {
    let state = load_state(&loc.dir)?.value;
    if state.phase() == Phase::Retired {
        return Ok(Stopped::AlreadyEnded);
    }
    let tool = state
        .newest_tool()
        .unwrap_or_else(|| crate::reconcile::results::UNKNOWN_TOOL.to_owned());
    record(&loc.dir, &tool, ending)?;
    Ok(Stopped::Recorded)
}

fn record(session: &SessionDir, tool: &str, ending: &RunEnding) -> Result<(), EndingError> {
    fault::hit(FaultPoint::DaemonCompletion)?;
    let completion = DaemonCompletion {
        exit_code: ending.exit_code,
        status: ending.status.clone(),
    };
    // Its folder is fsynced by the result's publish (or the state's write)
    // right after: nothing depends on the completion before then.
    write_atomic_deferring_dir_sync(
        &session.completion(),
        completion.to_toml_string().as_bytes(),
    )?;

    fault::hit(FaultPoint::DaemonResult)?;
    let result = SessionResult::new(
        &ending.status,
        ending.exit_code,
        &ending.summary,
        tool,
        ending.started_at,
        ending.completed_at,
    )
    .with_termination_reason(&ending.reason);
    publish_no_clobber(&session.result(), result.to_toml_string().as_bytes())?;

    fault::hit(FaultPoint::DaemonState)?;
    retire(session, tool, ending)?;

    fault::hit(FaultPoint::DaemonCooldown)?;
    if let (Some(parent), Some(id)) = (session.parent(), session.path().file_name()) {
        let sessions = SessionsDir {
            path: parent.to_path_buf(),
            legacy: false,
        };
        let marker = CooldownMarker {
            session_id: id.to_string_lossy().into_owned(),
            completed_at: ending.completed_at,
        };
        write_cooldown_marker(&sessions, &marker)?;
    }
    Ok(())
}

/// The retired state, with the tool's last exit code and summary.
fn retire(session: &SessionDir, tool: &str, ending: &RunEnding) -> Result<(), EndingError> {
    let mut state = load_state(session)?.value;
    let first_line = ending.summary.lines().next().unwrap_or_default();
    state.set_tool(
        tool,
        &ToolState {
            last_action_summary: Some(first_line.to_owned()),
            last_exit_code: Some(i64::from(ending.exit_code)),
            updated_at: Some(ending.completed_at),
            ..ToolState::default()
        },
    );
    if state.phase() != Phase::Retired {
        state.apply_event(PhaseEvent::Retired)?;
        state.set_termination_reason_if_empty(&ending.reason);
    }
    // The end of the run is its last access: `list` sorts by it and `clean
    // --older-than` measures age from it, so a long run's fresh result is
    // not old the moment it is written.
    if ending.completed_at > state.last_accessed() {
        state.touch(ending.completed_at);
    }
    write_atomic(&session.state(), state.to_toml_string().as_bytes())?;
    Ok(())
}

/// The summary of a run that ended on its own: the last non-empty line of
/// `output.log`, else of `stderr.log`, else what the exit code says.
pub fn summary_of(session: &SessionDir, status: &ResultStatus, exit_code: i32) -> String {
    if let Some(line) = summary_line(session, *status != ResultStatus::Success) {
        return line;
    }
    if *status == ResultStatus::Signal {
        format!("terminated by signal {}", exit_code - 128)
    } else {
        format!("exited with code {exit_code}")
    }
}

/// The daemon could not start the run (or `csa run` could not start the
/// daemon): the session must not stay active. Publishes a failure result
/// (exit 127) saying why, and retires the session.
pub fn record_launch_failure(
    session: &SessionDir,
    tool: &ToolName,
    why: &str,
) -> Result<(), EndingError> {
    finish_run(session, tool, &RunEnding::not_started(why, Utc::now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::load::load_result;
    use crate::state::SessionState;

    fn session_with_state() -> (tempfile::TempDir, SessionDir) {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path().join(SessionId::generate().as_str()));
        fs_err::create_dir_all(session.path()).unwrap();
        let state = SessionState::new(&SessionId::generate(), "/p", Utc::now(), None, None);
        fs_err::write(session.state(), state.to_toml_string()).unwrap();
        (tmp, session)
    }

    #[test]
    fn a_run_ends_retired_with_its_result_and_the_ending_it_had() {
        let (_tmp, session) = session_with_state();
        let tool = ToolName::parse("demo").unwrap();
        let now = Utc::now();
        let ending = RunEnding {
            status: ResultStatus::Killed,
            exit_code: 143,
            reason: TerminationReason::Killed,
            summary: "stopped\nmore".into(),
            started_at: now,
            completed_at: now,
        };
        finish_run(&session, &tool, &ending).unwrap();
        let result = load_result(&session).unwrap().value;
        assert_eq!(
            (result.status(), result.exit_code()),
            (ResultStatus::Killed, 143)
        );
        assert_eq!(result.termination_reason(), Some(TerminationReason::Killed));
        let state = load_state(&session).unwrap().value;
        assert_eq!(state.phase(), Phase::Retired);
        assert_eq!(state.termination_reason(), Some(TerminationReason::Killed));
        let (_, demo) = state
            .tools()
            .into_iter()
            .find(|(n, _)| n == "demo")
            .unwrap();
        assert_eq!(demo.last_exit_code, Some(143));
        assert_eq!(demo.last_action_summary.as_deref(), Some("stopped"));
        assert!(session.completion().exists());
    }

    #[test]
    fn summaries_fall_back_from_output_to_stderr_to_the_exit_code() {
        let (_tmp, session) = session_with_state();
        assert_eq!(
            summary_of(&session, &ResultStatus::Failure, 3),
            "exited with code 3"
        );
        assert_eq!(
            summary_of(&session, &ResultStatus::Signal, 137),
            "terminated by signal 9"
        );
        fs_err::write(session.stderr_log(), "oops\n").unwrap();
        assert_eq!(summary_of(&session, &ResultStatus::Failure, 3), "oops");
        fs_err::write(session.output_log(), "done\n").unwrap();
        // A failure says why: stderr's last line, not the last output.
        assert_eq!(summary_of(&session, &ResultStatus::Failure, 3), "oops");
        assert_eq!(summary_of(&session, &ResultStatus::Signal, 137), "oops");
        assert_eq!(summary_of(&session, &ResultStatus::Success, 0), "done");
    }
}
