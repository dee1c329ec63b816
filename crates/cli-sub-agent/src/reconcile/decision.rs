//! The reconciler's decision: a pure function of what was read (contract §6).
//!
//! Only a session that is active and whose process is judged dead may change;
//! unknown liveness is treated as alive, and a `result.toml` that exists but
//! cannot be parsed is a late writer in progress that must not be touched.

use csa_process::Verdict;
use csa_session::Phase;

/// What `result.toml` looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFile {
    Missing,
    Valid,
    /// Exists but unparseable or unreadable.
    Broken,
}

/// What `daemon-completion.toml` looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionFile {
    Missing,
    Usable,
    Unusable,
}

/// Why nothing is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    NotActive(Phase),
    NotDead(Verdict),
    ResultInProgress,
}

/// What to do with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoChange(Hold),
    /// Dead with a valid result: retire, `termination_reason = completed` if empty.
    Retire,
    /// Dead, no result, usable completion: publish a result from it and retire.
    FinalizeFromCompletion,
    /// Dead, no result: publish the synthetic failure and retire as orphaned.
    SynthesizeFailure,
}

impl Hold {
    /// A one-line reason for reports.
    pub fn describe(self) -> String {
        match self {
            Hold::NotActive(phase) => format!("session is {}", phase.as_str()),
            Hold::NotDead(verdict) => format!("process is {}", verdict.as_str()),
            Hold::ResultInProgress => {
                "result.toml exists but cannot be parsed (a writer may be in progress); left untouched"
                    .into()
            }
        }
    }
}

/// Decide what to do with a session.
pub fn decide(
    phase: Phase,
    verdict: Verdict,
    result: ResultFile,
    completion: CompletionFile,
) -> Action {
    if phase != Phase::Active {
        return Action::NoChange(Hold::NotActive(phase));
    }
    if verdict != Verdict::Dead {
        return Action::NoChange(Hold::NotDead(verdict));
    }
    match (result, completion) {
        (ResultFile::Broken, _) => Action::NoChange(Hold::ResultInProgress),
        (ResultFile::Valid, _) => Action::Retire,
        (ResultFile::Missing, CompletionFile::Usable) => Action::FinalizeFromCompletion,
        (ResultFile::Missing, _) => Action::SynthesizeFailure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompletionFile as C;
    use ResultFile as R;

    #[test]
    fn decision_table() {
        let dead = Verdict::Dead;
        let active = Phase::Active;
        let rows = [
            (
                active,
                dead,
                R::Missing,
                C::Missing,
                Action::SynthesizeFailure,
            ),
            (
                active,
                dead,
                R::Missing,
                C::Unusable,
                Action::SynthesizeFailure,
            ),
            (
                active,
                dead,
                R::Missing,
                C::Usable,
                Action::FinalizeFromCompletion,
            ),
            (active, dead, R::Valid, C::Missing, Action::Retire),
            (active, dead, R::Valid, C::Usable, Action::Retire),
            (
                active,
                dead,
                R::Broken,
                C::Usable,
                Action::NoChange(Hold::ResultInProgress),
            ),
            (
                active,
                dead,
                R::Broken,
                C::Missing,
                Action::NoChange(Hold::ResultInProgress),
            ),
        ];
        for (phase, verdict, result, completion, expected) in rows {
            assert_eq!(
                decide(phase, verdict, result, completion),
                expected,
                "{result:?} {completion:?}"
            );
        }
    }

    #[test]
    fn only_dead_active_sessions_change() {
        for verdict in [Verdict::Alive, Verdict::Unknown] {
            for result in [R::Missing, R::Valid, R::Broken] {
                assert_eq!(
                    decide(Phase::Active, verdict, result, C::Usable),
                    Action::NoChange(Hold::NotDead(verdict))
                );
            }
        }
        for phase in [Phase::Available, Phase::Retired] {
            for verdict in [Verdict::Alive, Verdict::Dead, Verdict::Unknown] {
                assert_eq!(
                    decide(phase, verdict, R::Missing, C::Missing),
                    Action::NoChange(Hold::NotActive(phase))
                );
            }
        }
    }
}
