//! The reconciler's decision: a pure function from what was read to a plan
//! (contract §6). Only a session that is active and whose process is judged
//! dead may change; unknown liveness is treated as alive, and a `result.toml`
//! that exists but cannot be read or parsed is a late writer in progress that
//! must not be touched.

use crate::liveness::Verdict;
use crate::phase::Phase;
use crate::vocab::TerminationReason;

use super::outcome::Outcome;

/// What `result.toml` looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultFile {
    Missing,
    /// A valid result; csa's own results say which ending wrote them.
    Valid {
        written_by: Option<TerminationReason>,
    },
    /// Exists but is unparseable, unreadable or not a regular file.
    Broken,
}

/// What `daemon-completion.toml` looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionFile {
    Missing,
    Usable,
    Unusable,
}

/// Everything the decision looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub phase: Phase,
    pub verdict: Verdict,
    pub result: ResultFile,
    pub completion: CompletionFile,
}

/// Why nothing is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    NotActive(Phase),
    NotDead(Verdict),
    ResultInProgress,
}

impl Hold {
    /// A one-line reason for reports.
    pub fn describe(self) -> String {
        match self {
            Hold::NotActive(phase) => format!("session is {}", phase.as_str()),
            Hold::NotDead(verdict) => format!("process is {}", verdict.as_str()),
            Hold::ResultInProgress => {
                "result.toml exists but cannot be parsed or read (a writer may be in progress); left untouched"
                    .into()
            }
        }
    }
}

/// What to publish before retiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// A valid result is already there.
    Nothing,
    /// A result built from `daemon-completion.toml`.
    FromCompletion,
    /// The synthetic failure.
    SyntheticFailure,
}

/// How the retired state's `termination_reason` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonRule {
    pub reason: TerminationReason,
    /// Replace a reason already there (else set it only if it is empty).
    pub overwrite: bool,
}

/// A change to carry out, step by step, by the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub publish: Publish,
    pub reason: ReasonRule,
    pub outcome: Outcome,
}

/// Leave the session alone, or change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    NoChange(Hold),
    Change(Plan),
}

/// Decide what to do with a session.
pub fn decide(facts: &Facts) -> Decision {
    if facts.phase != Phase::Active {
        return Decision::NoChange(Hold::NotActive(facts.phase));
    }
    if facts.verdict != Verdict::Dead {
        return Decision::NoChange(Hold::NotDead(facts.verdict));
    }
    let plan = match (&facts.result, facts.completion) {
        (ResultFile::Broken, _) => return Decision::NoChange(Hold::ResultInProgress),
        (ResultFile::Valid { written_by }, _) => Plan {
            publish: Publish::Nothing,
            reason: reason_for_existing(written_by.as_ref()),
            outcome: Outcome::Retired,
        },
        (ResultFile::Missing, CompletionFile::Usable) => Plan {
            publish: Publish::FromCompletion,
            reason: ReasonRule {
                reason: TerminationReason::DaemonCompletion,
                overwrite: false,
            },
            outcome: Outcome::FinalizedFromCompletion,
        },
        (ResultFile::Missing, _) => Plan {
            publish: Publish::SyntheticFailure,
            reason: ReasonRule {
                reason: TerminationReason::OrphanedProcess,
                overwrite: true,
            },
            outcome: Outcome::SynthesizedFailure,
        },
    };
    Decision::Change(plan)
}

/// The reason for retiring with a result that is already there: the ending
/// that wrote it when csa did (`orphaned_process` always replaces, as the
/// contract says of synthetic failures), else `completed` if empty.
pub fn reason_for_existing(written_by: Option<&TerminationReason>) -> ReasonRule {
    match written_by {
        Some(TerminationReason::OrphanedProcess) => ReasonRule {
            reason: TerminationReason::OrphanedProcess,
            overwrite: true,
        },
        Some(reason) => ReasonRule {
            reason: reason.clone(),
            overwrite: false,
        },
        None => ReasonRule {
            reason: TerminationReason::Completed,
            overwrite: false,
        },
    }
}

impl Plan {
    /// The plan once the publish found a result someone else wrote first.
    pub fn with_late_result(self, written_by: Option<&TerminationReason>) -> Plan {
        Plan {
            publish: Publish::Nothing,
            reason: reason_for_existing(written_by),
            outcome: Outcome::LateResultRetired,
        }
    }

    /// What the plan does, for reports.
    pub fn describe(&self) -> &'static str {
        match self.publish {
            Publish::Nothing => "retire with its existing result",
            Publish::FromCompletion => "publish a result from daemon-completion.toml and retire",
            Publish::SyntheticFailure => {
                "publish a synthetic failure and retire as orphaned_process"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompletionFile as C;
    use TerminationReason as T;

    fn facts(phase: Phase, verdict: Verdict, result: ResultFile, completion: C) -> Facts {
        Facts {
            phase,
            verdict,
            result,
            completion,
        }
    }

    fn valid(written_by: Option<T>) -> ResultFile {
        ResultFile::Valid { written_by }
    }

    #[test]
    fn decision_table() {
        let (active, dead) = (Phase::Active, Verdict::Dead);
        let rows = [
            (
                ResultFile::Missing,
                C::Missing,
                Some((
                    Publish::SyntheticFailure,
                    T::OrphanedProcess,
                    true,
                    Outcome::SynthesizedFailure,
                )),
            ),
            (
                ResultFile::Missing,
                C::Unusable,
                Some((
                    Publish::SyntheticFailure,
                    T::OrphanedProcess,
                    true,
                    Outcome::SynthesizedFailure,
                )),
            ),
            (
                ResultFile::Missing,
                C::Usable,
                Some((
                    Publish::FromCompletion,
                    T::DaemonCompletion,
                    false,
                    Outcome::FinalizedFromCompletion,
                )),
            ),
            (
                valid(None),
                C::Missing,
                Some((Publish::Nothing, T::Completed, false, Outcome::Retired)),
            ),
            (
                valid(None),
                C::Usable,
                Some((Publish::Nothing, T::Completed, false, Outcome::Retired)),
            ),
            (
                valid(Some(T::OrphanedProcess)),
                C::Missing,
                Some((Publish::Nothing, T::OrphanedProcess, true, Outcome::Retired)),
            ),
            (
                valid(Some(T::DaemonCompletion)),
                C::Usable,
                Some((
                    Publish::Nothing,
                    T::DaemonCompletion,
                    false,
                    Outcome::Retired,
                )),
            ),
            (
                valid(Some(T::Killed)),
                C::Usable,
                Some((Publish::Nothing, T::Killed, false, Outcome::Retired)),
            ),
            (ResultFile::Broken, C::Usable, None),
            (ResultFile::Broken, C::Missing, None),
        ];
        for (result, completion, expected) in rows {
            let context = format!("{result:?} {completion:?}");
            let decision = decide(&facts(active, dead, result, completion));
            let expected = match expected {
                None => Decision::NoChange(Hold::ResultInProgress),
                Some((publish, reason, overwrite, outcome)) => Decision::Change(Plan {
                    publish,
                    reason: ReasonRule { reason, overwrite },
                    outcome,
                }),
            };
            assert_eq!(decision, expected, "{context}");
        }
    }

    #[test]
    fn only_dead_active_sessions_change() {
        for verdict in [Verdict::Alive, Verdict::Unknown] {
            for result in [ResultFile::Missing, valid(None), ResultFile::Broken] {
                assert_eq!(
                    decide(&facts(Phase::Active, verdict, result, C::Usable)),
                    Decision::NoChange(Hold::NotDead(verdict))
                );
            }
        }
        for phase in [Phase::Available, Phase::Retired] {
            for verdict in [Verdict::Alive, Verdict::Dead, Verdict::Unknown] {
                assert_eq!(
                    decide(&facts(phase, verdict, ResultFile::Missing, C::Missing)),
                    Decision::NoChange(Hold::NotActive(phase))
                );
            }
        }
    }

    #[test]
    fn holds_and_plans_say_what_they_do() {
        assert_eq!(
            Hold::NotActive(Phase::Retired).describe(),
            "session is retired"
        );
        assert_eq!(
            Hold::NotDead(Verdict::Unknown).describe(),
            "process is unknown"
        );
        assert!(Hold::ResultInProgress.describe().contains("left untouched"));
        let plan = |publish| Plan {
            publish,
            reason: ReasonRule {
                reason: T::OrphanedProcess,
                overwrite: true,
            },
            outcome: Outcome::SynthesizedFailure,
        };
        assert_eq!(
            plan(Publish::Nothing).describe(),
            "retire with its existing result"
        );
        assert!(
            plan(Publish::FromCompletion)
                .describe()
                .contains("daemon-completion.toml")
        );
        assert!(
            plan(Publish::SyntheticFailure)
                .describe()
                .contains("synthetic failure")
        );
    }

    #[test]
    fn a_late_result_is_retired_with_the_reason_of_whoever_wrote_it() {
        let plan = Plan {
            publish: Publish::SyntheticFailure,
            reason: ReasonRule {
                reason: T::OrphanedProcess,
                overwrite: true,
            },
            outcome: Outcome::SynthesizedFailure,
        };
        let late = plan.clone().with_late_result(None);
        assert_eq!(late.outcome, Outcome::LateResultRetired);
        assert_eq!(late.publish, Publish::Nothing);
        assert_eq!(late.reason.reason, T::Completed);
        let killed = plan.with_late_result(Some(&T::Killed));
        assert_eq!(killed.reason.reason, T::Killed);
    }
}
