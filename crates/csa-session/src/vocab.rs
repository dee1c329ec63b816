//! The words sessions are described with: termination reasons, result
//! statuses and reconcile triggers. Each is an enum defined once; values that
//! other csa installs may write and this version does not know are kept in an
//! `Other` arm, so they round-trip unchanged.

use std::fmt;

/// Why a session ended (`termination_reason` in `state.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TerminationReason {
    /// Retired by the reconciler with a synthetic failure: the process died
    /// without a result.
    OrphanedProcess,
    /// Retired with a real result.
    Completed,
    /// Retired with a result finalized from `daemon-completion.toml`.
    DaemonCompletion,
    /// Stopped by `csa session kill`.
    Killed,
    /// Stopped because `csa run --timeout` expired.
    Timeout,
    /// A value this version does not know, kept as written.
    Other(String),
}

impl TerminationReason {
    pub fn parse(text: &str) -> TerminationReason {
        match text {
            "orphaned_process" => TerminationReason::OrphanedProcess,
            "completed" => TerminationReason::Completed,
            "daemon_completion" => TerminationReason::DaemonCompletion,
            "killed" => TerminationReason::Killed,
            "timeout" => TerminationReason::Timeout,
            other => TerminationReason::Other(other.to_owned()),
        }
    }

    /// The on-disk spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TerminationReason::OrphanedProcess => "orphaned_process",
            TerminationReason::Completed => "completed",
            TerminationReason::DaemonCompletion => "daemon_completion",
            TerminationReason::Killed => "killed",
            TerminationReason::Timeout => "timeout",
            TerminationReason::Other(text) => text,
        }
    }
}

impl fmt::Display for TerminationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A result's `status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultStatus {
    Success,
    Failure,
    Timeout,
    /// The command was ended by a signal nobody at csa sent.
    Signal,
    /// The command was stopped by `csa session kill`.
    Killed,
    /// A value this version does not know, kept as written.
    Other(String),
}

impl ResultStatus {
    /// Known statuses are matched without regard to case (other installs
    /// have written `Failure`); anything else is kept as written.
    pub fn parse(text: &str) -> ResultStatus {
        const KNOWN: [(&str, ResultStatus); 5] = [
            ("success", ResultStatus::Success),
            ("failure", ResultStatus::Failure),
            ("timeout", ResultStatus::Timeout),
            ("signal", ResultStatus::Signal),
            ("killed", ResultStatus::Killed),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| text.eq_ignore_ascii_case(name))
            .map_or_else(
                || ResultStatus::Other(text.to_owned()),
                |(_, status)| status,
            )
    }

    /// The on-disk spelling of a status csa writes.
    pub fn as_str(&self) -> &str {
        match self {
            ResultStatus::Success => "success",
            ResultStatus::Failure => "failure",
            ResultStatus::Timeout => "timeout",
            ResultStatus::Signal => "signal",
            ResultStatus::Killed => "killed",
            ResultStatus::Other(text) => text,
        }
    }

    /// Statuses that mean the run failed whatever its exit code.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            ResultStatus::Failure
                | ResultStatus::Timeout
                | ResultStatus::Signal
                | ResultStatus::Killed
        )
    }
}

impl fmt::Display for ResultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The command on whose behalf a session is reconciled; it names the writer
/// in a synthetic failure's summary (`synthetic failure by session list: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    SessionList,
    SessionReconcile,
    SessionResult,
    SessionIsAlive,
    SessionWait,
    SessionKill,
    SessionShow,
    SessionLogs,
    SessionDelete,
    SessionClean,
    SessionTop,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::SessionList => "session list",
            Trigger::SessionReconcile => "session reconcile",
            Trigger::SessionResult => "session result",
            Trigger::SessionIsAlive => "session is-alive",
            Trigger::SessionWait => "session wait",
            Trigger::SessionKill => "session kill",
            Trigger::SessionShow => "session show",
            Trigger::SessionLogs => "session logs",
            Trigger::SessionDelete => "session delete",
            Trigger::SessionClean => "session clean",
            Trigger::SessionTop => "session top",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_words_round_trip_and_unknown_ones_are_kept() {
        for text in [
            "orphaned_process",
            "completed",
            "daemon_completion",
            "killed",
            "timeout",
            "user_cancelled",
        ] {
            assert_eq!(TerminationReason::parse(text).as_str(), text);
        }
        assert_eq!(
            TerminationReason::parse("user_cancelled"),
            TerminationReason::Other("user_cancelled".into())
        );
        for text in [
            "success", "failure", "timeout", "signal", "killed", "partial",
        ] {
            assert_eq!(ResultStatus::parse(text).as_str(), text);
        }
        assert_eq!(ResultStatus::parse("Failure"), ResultStatus::Failure);
        assert_eq!(
            ResultStatus::parse("partial"),
            ResultStatus::Other("partial".into())
        );
    }

    #[test]
    fn failure_statuses() {
        for (text, failed) in [
            ("success", false),
            ("failure", true),
            ("TIMEOUT", true),
            ("signal", true),
            ("killed", true),
            ("partial", false),
        ] {
            assert_eq!(ResultStatus::parse(text).is_failure(), failed, "{text}");
        }
    }
}
