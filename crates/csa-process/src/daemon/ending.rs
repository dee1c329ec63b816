//! How a run ended, decided in pure code: from the supervisor's [`Ending`]
//! (how the command ended, whether csa stopped it and why, the last signal
//! it sent) to the [`RunEnding`] the store records (status, exit code,
//! termination reason, summary). The daemon gathers the facts and records
//! the result; `csa session kill` uses [`killed_after_its_daemon`] for a
//! command it stopped itself. Table-tested below.

use std::time::Duration;

use chrono::{DateTime, Utc};
use csa_session::ResultStatus;
use csa_session::ending::RunEnding;

use crate::signal::{Sig, signal_name};
use crate::supervise::{Ending, Exit, StopCause};

/// What the ending is made of, besides the supervisor's [`Ending`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndFacts<'a> {
    pub ending: Ending,
    /// The run's `--timeout`, if it had one.
    pub timeout: Option<Duration>,
    /// The last non-empty line of `output.log` (empty when none).
    pub last_output: &'a str,
    pub started_at: DateTime<Utc>,
}

/// The ending to record. A command that ended by itself is summarized by
/// `own_summary(status, exit_code)` (its logs, read by the caller).
pub fn run_ending(
    facts: &EndFacts<'_>,
    own_summary: impl FnOnce(&ResultStatus, i32) -> String,
) -> RunEnding {
    let ending = facts.ending;
    let exit_code = ending.exit_code();
    let how = match (ending.exit, ending.last_signal) {
        (Exit::Signal(signal), _) => signal_name(signal),
        (Exit::Code(code), Some(sent)) => {
            format!("its own exit {code} after {}", signal_name(sent))
        }
        (Exit::Code(code), None) => format!("its own exit {code}"),
    };
    let with_last = |what: String| {
        if facts.last_output.is_empty() {
            what
        } else {
            format!("{what}; last output: {}", facts.last_output)
        }
    };
    match ending.stop {
        Some(StopCause::Requested) => RunEnding::killed(
            exit_code,
            with_last(format!("killed by csa session kill (ended by {how})")),
            facts.started_at,
        ),
        Some(StopCause::Timeout) => RunEnding::timed_out(
            with_last(format!(
                "timed out after {} s (ended by {how})",
                facts.timeout.map_or(0.0, |t| t.as_secs_f64())
            )),
            facts.started_at,
        ),
        None => {
            let status = match ending.exit {
                Exit::Code(0) => ResultStatus::Success,
                Exit::Code(_) => ResultStatus::Failure,
                Exit::Signal(_) => ResultStatus::Signal,
            };
            let summary = own_summary(&status, exit_code);
            RunEnding::exited(status, exit_code, summary, facts.started_at)
        }
    }
}

/// The ending `csa session kill` records for a command it stopped itself
/// (its daemon had died, or did not stop it in time): `killed`, 128 + the
/// signal that ended the group.
pub fn killed_after_its_daemon(ended_by: Sig, started_at: DateTime<Utc>) -> RunEnding {
    RunEnding::killed(
        128 + ended_by.number(),
        format!(
            "killed by csa session kill without its daemon (ended by {})",
            ended_by.name()
        ),
        started_at,
    )
}

#[cfg(test)]
mod tests {
    use csa_session::TerminationReason;

    use super::*;

    /// (exit, stop, last signal sent, last output) -> (status, exit code,
    /// reason, summary).
    type Row = (
        Exit,
        Option<StopCause>,
        Option<i32>,
        &'static str,
        ResultStatus,
        i32,
        TerminationReason,
        &'static str,
    );

    #[test]
    fn how_a_run_ended_is_recorded() {
        use ResultStatus::{Failure, Killed, Signal, Success, Timeout};
        use TerminationReason as R;
        let requested = Some(StopCause::Requested);
        let timeout = Some(StopCause::Timeout);
        #[rustfmt::skip]
        let table: &[Row] = &[
            // Ended by itself: its own code, the summary of its logs.
            (Exit::Code(0), None, None, "", Success, 0, R::Completed, "own success 0"),
            (Exit::Code(3), None, None, "x", Failure, 3, R::Completed, "own failure 3"),
            (Exit::Signal(11), None, None, "", Signal, 139, R::Completed, "own signal 139"),
            // Killed: 128 + the signal that ended it.
            (Exit::Signal(15), requested, Some(15), "", Killed, 143, R::Killed,
                "killed by csa session kill (ended by SIGTERM)"),
            (Exit::Signal(9), requested, Some(9), "work", Killed, 137, R::Killed,
                "killed by csa session kill (ended by SIGKILL); last output: work"),
            // A TERM trap that exits 0 was still ended by csa's SIGTERM.
            (Exit::Code(0), requested, Some(15), "", Killed, 143, R::Killed,
                "killed by csa session kill (ended by its own exit 0 after SIGTERM)"),
            (Exit::Signal(2), requested, Some(15), "", Killed, 130, R::Killed,
                "killed by csa session kill (ended by SIGINT)"),
            // Timed out: 124 whatever ended it.
            (Exit::Signal(15), timeout, Some(15), "", Timeout, 124, R::Timeout,
                "timed out after 7 s (ended by SIGTERM)"),
            (Exit::Code(1), timeout, Some(9), "", Timeout, 124, R::Timeout,
                "timed out after 7 s (ended by its own exit 1 after SIGKILL)"),
        ];
        let started_at = Utc::now();
        for &(exit, stop, last_signal, last_output, ref status, code, ref reason, summary) in table
        {
            let facts = EndFacts {
                ending: Ending {
                    exit,
                    stop,
                    last_signal,
                },
                timeout: Some(Duration::from_secs(7)),
                last_output,
                started_at,
            };
            let ending = run_ending(&facts, |status, code| format!("own {status} {code}"));
            let row = format!("{exit:?} {stop:?} {last_signal:?}");
            assert_eq!(&ending.status, status, "{row}");
            assert_eq!(ending.exit_code, code, "{row}");
            assert_eq!(&ending.reason, reason, "{row}");
            assert_eq!(ending.summary, summary, "{row}");
            assert_eq!(ending.started_at, started_at, "{row}");
            assert!(ending.completed_at >= started_at, "{row}");
        }
    }

    #[test]
    fn a_command_kill_stopped_itself_records_the_signal_that_ended_it() {
        let now = Utc::now();
        for (sig, code) in [(Sig::Term, 143), (Sig::Kill, 137)] {
            let ending = killed_after_its_daemon(sig, now);
            assert_eq!(ending.status, ResultStatus::Killed);
            assert_eq!(ending.reason, TerminationReason::Killed);
            assert_eq!(ending.exit_code, code);
            assert!(ending.summary.contains(sig.name()), "{}", ending.summary);
        }
    }
}
