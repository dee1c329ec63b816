//! What a session's files say of it, in the two words every view uses: its
//! [`SessionStatus`] (the STATUS of `csa session list`, contract §7) and,
//! once it has a result, its [`Outcome`] (success, failure, killed, timeout).
//!
//! Defined once here: `list`, `show`, `top`, `clean --status` and the
//! removal decision all map a phase and a result through [`SessionStatus::of`].

use serde::{Deserialize, Serialize};

use crate::phase::Phase;
use crate::result::SessionResult;
use crate::vocab::{ResultStatus, TerminationReason};

/// A session's STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionStatus {
    Active,
    Available,
    /// Retired with a successful result, or with none.
    Retired,
    /// A result with status failure/timeout/signal/killed or a non-zero exit code.
    Failed,
    /// Unreadable or unparseable state or result.
    Error,
}

impl SessionStatus {
    /// Every status, in the order `--help` lists them.
    pub const ALL: [SessionStatus; 5] = [
        SessionStatus::Active,
        SessionStatus::Available,
        SessionStatus::Retired,
        SessionStatus::Failed,
        SessionStatus::Error,
    ];

    /// The status of a session from its phase and what `result.toml` held
    /// (`Err(())`: it exists but cannot be read).
    pub fn of(phase: Phase, result: Result<Option<&SessionResult>, ()>) -> SessionStatus {
        match (phase, result) {
            (_, Err(())) => SessionStatus::Error,
            (Phase::Active, Ok(_)) => SessionStatus::Active,
            (Phase::Available, Ok(_)) => SessionStatus::Available,
            (Phase::Retired, Ok(Some(result))) if result.is_failure() => SessionStatus::Failed,
            (Phase::Retired, Ok(_)) => SessionStatus::Retired,
        }
    }

    /// The word shown in the STATUS column (`Active`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "Active",
            SessionStatus::Available => "Available",
            SessionStatus::Retired => "Retired",
            SessionStatus::Failed => "Failed",
            SessionStatus::Error => "Error",
        }
    }

    /// The word a command line takes for it (`--status active`).
    pub fn as_arg(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Available => "available",
            SessionStatus::Retired => "retired",
            SessionStatus::Failed => "failed",
            SessionStatus::Error => "error",
        }
    }

    /// The status named `text` as the STATUS column or a command line
    /// writes it (either case).
    pub fn parse(text: &str) -> Option<SessionStatus> {
        SessionStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text))
    }

    /// Settled: ended, with nothing more to happen to it.
    pub fn is_settled(self) -> bool {
        matches!(self, SessionStatus::Retired | SessionStatus::Failed)
    }
}

/// A set of statuses, as `--status a,b` names them (`clean --status`): a
/// copyable value, each status in it at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// Whether `status` is in the set.
    pub fn contains(self, status: SessionStatus) -> bool {
        self.0 & StatusSet::bit(status) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with `status` in it too.
    pub fn with(self, status: SessionStatus) -> StatusSet {
        StatusSet(self.0 | StatusSet::bit(status))
    }

    fn bit(status: SessionStatus) -> u8 {
        let at = SessionStatus::ALL
            .iter()
            .position(|s| *s == status)
            .expect("ALL holds every status");
        1 << at
    }
}

impl FromIterator<SessionStatus> for StatusSet {
    fn from_iter<I: IntoIterator<Item = SessionStatus>>(iter: I) -> StatusSet {
        iter.into_iter().fold(StatusSet::default(), StatusSet::with)
    }
}

/// How a run ended, read from its result: the OUTCOME of `list` and `top`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Status success and exit code 0.
    Success,
    /// Any other ending that was not a stop.
    Failure,
    /// Stopped by `csa session kill`.
    Killed,
    /// Stopped by `csa run --timeout`.
    Timeout,
}

impl Outcome {
    /// The outcome a result records: a stop by its status or termination
    /// reason, else success or failure as [`SessionResult::is_failure`] says.
    pub fn of(result: &SessionResult) -> Outcome {
        let reason = result.termination_reason();
        match result.status() {
            ResultStatus::Killed => Outcome::Killed,
            ResultStatus::Timeout => Outcome::Timeout,
            _ if reason == Some(TerminationReason::Killed) => Outcome::Killed,
            _ if reason == Some(TerminationReason::Timeout) => Outcome::Timeout,
            _ if result.is_failure() => Outcome::Failure,
            _ => Outcome::Success,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Killed => "killed",
            Outcome::Timeout => "timeout",
        }
    }

    /// The outcome named `text` (as [`Outcome::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Killed,
            Outcome::Timeout,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn a_status_set_holds_each_status_named_and_no_other() {
        let set: StatusSet = [
            SessionStatus::Failed,
            SessionStatus::Error,
            SessionStatus::Failed,
        ]
        .into_iter()
        .collect();
        let held: Vec<SessionStatus> = SessionStatus::ALL
            .into_iter()
            .filter(|s| set.contains(*s))
            .collect();
        assert_eq!(held, [SessionStatus::Failed, SessionStatus::Error]);
        assert!(!set.is_empty());
        assert!(StatusSet::default().is_empty());
        for status in SessionStatus::ALL {
            let one = StatusSet::default().with(status);
            let others = SessionStatus::ALL.into_iter().filter(|s| *s != status);
            assert!(one.contains(status));
            assert!(others.into_iter().all(|s| !one.contains(s)), "{status:?}");
        }
    }

    fn result(status: &str, code: i32, reason: Option<TerminationReason>) -> SessionResult {
        let now = Utc::now();
        let result = SessionResult::new(&ResultStatus::parse(status), code, "", "t", now, now);
        match reason {
            Some(reason) => result.with_termination_reason(&reason),
            None => result,
        }
    }

    #[test]
    fn status_from_phase_and_result() {
        let ok = result("success", 0, None);
        let failed = result("success", 2, None);
        type Read<'r> = Result<Option<&'r SessionResult>, ()>;
        let table: &[(Phase, Read<'_>, SessionStatus)] = &[
            (Phase::Active, Ok(Some(&failed)), SessionStatus::Active),
            (Phase::Active, Ok(None), SessionStatus::Active),
            (Phase::Active, Err(()), SessionStatus::Error),
            (Phase::Available, Ok(None), SessionStatus::Available),
            (Phase::Available, Err(()), SessionStatus::Error),
            (Phase::Retired, Ok(None), SessionStatus::Retired),
            (Phase::Retired, Ok(Some(&ok)), SessionStatus::Retired),
            (Phase::Retired, Ok(Some(&failed)), SessionStatus::Failed),
            (Phase::Retired, Err(()), SessionStatus::Error),
        ];
        for (phase, result, expected) in table {
            assert_eq!(SessionStatus::of(*phase, *result), *expected, "{phase:?}");
        }
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(status.as_str()), Some(status));
            assert_eq!(SessionStatus::parse(status.as_arg()), Some(status));
        }
        assert_eq!(SessionStatus::parse("gone"), None);
    }

    #[test]
    fn outcome_from_status_reason_and_exit_code() {
        let table = [
            (result("success", 0, None), Outcome::Success),
            (result("success", 1, None), Outcome::Failure),
            (result("failure", 0, None), Outcome::Failure),
            (result("signal", 137, None), Outcome::Failure),
            (result("killed", 143, None), Outcome::Killed),
            (
                result("failure", 137, Some(TerminationReason::Killed)),
                Outcome::Killed,
            ),
            (result("timeout", 124, None), Outcome::Timeout),
            (
                result("failure", 124, Some(TerminationReason::Timeout)),
                Outcome::Timeout,
            ),
            (result("weird", 0, None), Outcome::Success),
        ];
        for (result, expected) in &table {
            assert_eq!(Outcome::of(result), *expected, "{result:?}");
            assert_eq!(Outcome::parse(expected.as_str()), Some(*expected));
        }
    }
}
