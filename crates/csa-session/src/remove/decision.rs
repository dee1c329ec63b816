//! The removal decision (contract §8.6): a pure function from what was read
//! about a session, the policy of the command and the time, to *delete* or
//! *keep, and why*. `delete`, `clean` and their `--dry-run` all decide here;
//! the protocol decides once on an unlocked read and again under the lock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::id::SessionId;
use crate::liveness::Verdict;
use crate::phase::Phase;
use crate::reconcile::decision::{Plan, Publish};
use crate::result::SessionResult;
use crate::status::{SessionStatus, StatusSet};

/// Where a session stands, as far as removal is concerned: its
/// [`SessionStatus`] (except that an active session is always `Active`, even
/// with a broken result), or one of the states only removal meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// Phase `active`: its process is alive or unknown (or dead and not yet
    /// reconciled).
    Active,
    /// Phase `available`: it can be resumed.
    Available,
    /// Retired with a successful result or with none.
    Retired,
    /// Retired with a failed result.
    Failed,
    /// `state.toml` or `result.toml` cannot be read or parsed.
    Error,
    /// No `state.toml` yet and younger than an hour: being created.
    Initializing,
    /// The session dir is no longer there (another csa removed it).
    Gone,
    /// A staging folder (`.creating-<id>`) older than an hour: a creation
    /// that crashed before it was published.
    Abandoned,
}

impl Standing {
    /// The standing of a session whose state was read: its phase and what
    /// `result.toml` held (`Err(())`: it exists but cannot be read).
    pub fn of(phase: Phase, result: Result<Option<&SessionResult>, ()>) -> Standing {
        if phase == Phase::Active {
            return Standing::Active;
        }
        Standing::from(SessionStatus::of(phase, result))
    }

    /// The standing an active session will have once the reconcile `plan`
    /// is carried out (for `--dry-run`, which carries out nothing).
    /// `existing` is the valid result already there; `completion_failed`
    /// says whether `daemon-completion.toml` records a failure.
    pub fn after_reconcile(
        plan: &Plan,
        existing: Option<&SessionResult>,
        completion_failed: bool,
    ) -> Standing {
        let failed = match plan.publish {
            Publish::Nothing => existing.is_some_and(SessionResult::is_failure),
            Publish::FromCompletion => completion_failed,
            Publish::SyntheticFailure => true,
        };
        if failed {
            Standing::Failed
        } else {
            Standing::Retired
        }
    }

    /// Settled: ended, with nothing more to happen to it.
    pub fn is_settled(self) -> bool {
        self.status().is_some_and(SessionStatus::is_settled)
    }

    /// The session's status, when it is a session that can be listed.
    pub fn status(self) -> Option<SessionStatus> {
        match self {
            Standing::Active => Some(SessionStatus::Active),
            Standing::Available => Some(SessionStatus::Available),
            Standing::Retired => Some(SessionStatus::Retired),
            Standing::Failed => Some(SessionStatus::Failed),
            Standing::Error => Some(SessionStatus::Error),
            Standing::Initializing | Standing::Gone | Standing::Abandoned => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Available => "available",
            Standing::Retired => "retired",
            Standing::Failed => "failed",
            Standing::Error => "error",
            Standing::Initializing => "initializing",
            Standing::Gone => "gone",
            Standing::Abandoned => "an abandoned creation",
        }
    }
}

impl From<SessionStatus> for Standing {
    fn from(status: SessionStatus) -> Standing {
        match status {
            SessionStatus::Active => Standing::Active,
            SessionStatus::Available => Standing::Available,
            SessionStatus::Retired => Standing::Retired,
            SessionStatus::Failed => Standing::Failed,
            SessionStatus::Error => Standing::Error,
        }
    }
}

/// Whether `clean --status` (empty: no `--status`) selects a session
/// standing so: one of the named statuses, or without any the settled
/// sessions (retired and failed; `error` only when named).
fn admits(status: StatusSet, standing: Standing) -> bool {
    if status.is_empty() {
        return standing.is_settled();
    }
    standing.status().is_some_and(|s| status.contains(s))
}

/// What a command asks to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `delete`: sessions the user named. Removed when retired, failed or in
    /// error, whatever their age.
    Named,
    /// `clean`: settled sessions (as `status` selects) last accessed at least
    /// `older_than` ago, except the newest `keep` of them.
    Sweep {
        older_than: Duration,
        keep: usize,
        /// `--status`: empty for the settled sessions.
        status: StatusSet,
    },
}

impl Policy {
    /// Whether a session standing so is one this policy may remove at all
    /// (the sessions `--keep` counts).
    pub fn selects(&self, standing: Standing) -> bool {
        match self {
            Policy::Named => standing.is_settled() || standing == Standing::Error,
            Policy::Sweep { status, .. } => admits(*status, standing),
        }
    }
}

/// Everything the decision looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub id: SessionId,
    pub standing: Standing,
    /// The liveness verdict (for every standing: a settled session whose
    /// tool lock is held is judged alive).
    pub verdict: Verdict,
    /// The verdict is alive only because a log was written in the last 30 s
    /// (no tool lock held, no live recorded process).
    pub alive_by_output_only: bool,
    /// `last_accessed`, else (state unreadable) the dir's modification time.
    pub last_accessed: Option<DateTime<Utc>>,
    /// `state.toml` could not be read, so nothing says the session ended:
    /// recent output alone then holds it back too.
    pub state_unreadable: bool,
    /// The verdict is unknown although the dir records a process (a pid
    /// record or a lock record that cannot be checked, say from another
    /// host), not merely because it records none.
    pub unknown_despite_records: bool,
    /// How many sessions of the same project that the policy selects are
    /// newer than this one (set by [`rank`]).
    pub newer: usize,
}

/// Why a session is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Active: its process is alive or unknown (or dead, not yet reconciled).
    Active(Verdict),
    /// Settled, but something of it is still alive: a held tool lock, a live
    /// recorded process, recent output.
    StillRunning,
    /// Its `state.toml` cannot be read, so nothing says it ended, and the
    /// process it records cannot be checked.
    Unconfirmed,
    /// Available: it can be resumed.
    Available,
    /// Being created (no `state.toml` yet, younger than an hour).
    Initializing,
    /// Already removed by another csa.
    Gone,
    /// Another csa holds its `.reconcile.lock` (decided by the protocol,
    /// never by [`decide`]).
    Locked,
    /// A tool lock of it (`locks/<tool>.lock`, named) is held: found by
    /// trying it under the lock (by the protocol, never by [`decide`]).
    ToolLockHeld(String),
    /// Its `locks/` folder (or a lock file in it) cannot be read, so a held
    /// tool lock cannot be ruled out (by the protocol; the detail says why).
    LocksUnreadable(String),
    /// Its dir is not a real folder (a symlink or a file, never followed),
    /// or not the one that was read before the lock (by the protocol).
    NotADirectory,
    /// Something is mounted at or under its dir (a bind, FUSE or network
    /// mount left in it): removal never crosses into another file system
    /// (by the protocol, never by [`decide`]).
    MountInside(std::path::PathBuf),
    /// Its status is not one the command removes.
    NotSelected(Standing),
    /// Last accessed less than the policy's age ago.
    Recent { age: Duration, older_than: Duration },
    /// Last accessed in the future (a clock moved back): too young to judge.
    InTheFuture,
    /// Its age cannot be read.
    AgeUnknown,
    /// One of the newest `keep`.
    Newest { keep: usize },
}

impl Keep {
    /// Kept because something of it may still be running: `delete` refuses
    /// these and says to kill the session first.
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Keep::Active(Verdict::Alive | Verdict::Unknown)
                | Keep::StillRunning
                | Keep::Unconfirmed
                | Keep::ToolLockHeld(_)
                | Keep::LocksUnreadable(_)
        )
    }

    /// Kept for a reason `delete` reports as a refusal (everything but a
    /// session that is already gone).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Keep::Gone)
    }

    /// A one-line reason (the evidence is added by the caller).
    pub fn describe(&self) -> String {
        match self {
            Keep::Active(Verdict::Dead) => {
                "active, and not reconciled yet (its result.toml may be being written)".into()
            }
            Keep::Active(verdict) => format!("active (process is {})", verdict.as_str()),
            Keep::StillRunning => "a process of it is still alive".into(),
            Keep::Unconfirmed => {
                "its state.toml cannot be read and the process it records cannot be checked, so nothing says it ended"
                    .into()
            }
            Keep::Available => "available (it can be resumed), not settled".into(),
            Keep::Initializing => "being created (no state.toml yet, younger than 1h)".into(),
            Keep::Gone => "already removed by another csa".into(),
            Keep::Locked => "locked by another csa".into(),
            Keep::ToolLockHeld(lock) => {
                format!("its tool lock is held ({lock}): a process of it may still run")
            }
            Keep::LocksUnreadable(why) => format!(
                "its locks/ folder cannot be read, so a held tool lock cannot be ruled out ({why})"
            ),
            Keep::NotADirectory => {
                "its dir is not a directory (a symlink or a file, never followed), or was replaced since it was read"
                    .into()
            }
            Keep::MountInside(point) => format!(
                "a mount point is inside ({}); unmount it first",
                point.display()
            ),
            Keep::NotSelected(Standing::Error) => {
                "in error (unreadable state or result); clean removes those only with --status error"
                    .into()
            }
            Keep::NotSelected(standing) => {
                format!("{} (not selected by --status)", standing.as_str())
            }
            Keep::Recent { age, older_than } => format!(
                "last accessed {} ago (newer than {})",
                human(*age),
                human(*older_than)
            ),
            Keep::InTheFuture => "last accessed in the future (the clock moved back?)".into(),
            Keep::AgeUnknown => "its last access time cannot be read".into(),
            Keep::Newest { keep } => format!("one of the newest {keep} (--keep {keep})"),
        }
    }
}

/// Remove the session, or keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Remove it; the standing it was removed in.
    Delete(Standing),
    Keep(Keep),
}

/// Decide whether to remove one session.
pub fn decide(facts: &Facts, policy: &Policy, now: DateTime<Utc>) -> Decision {
    let keep = match facts.standing {
        Standing::Active => Some(Keep::Active(facts.verdict)),
        Standing::Available => Some(Keep::Available),
        Standing::Initializing => Some(Keep::Initializing),
        Standing::Gone => Some(Keep::Gone),
        Standing::Retired | Standing::Failed | Standing::Error | Standing::Abandoned => None,
    };
    if let Some(keep) = keep {
        return Decision::Keep(keep);
    }
    // The session says it has ended; only positive evidence of a live
    // process (a held tool lock, a live recorded pid) holds it back. Recent
    // output alone does not: a settled session's result is written after
    // every process of it has ended. A session whose state cannot be read
    // says nothing, so there recent output counts too.
    let output_counts = facts.state_unreadable || !facts.alive_by_output_only;
    if facts.verdict == Verdict::Alive && output_counts {
        return Decision::Keep(Keep::StillRunning);
    }
    if facts.state_unreadable && facts.verdict == Verdict::Unknown && facts.unknown_despite_records
    {
        return Decision::Keep(Keep::Unconfirmed);
    }
    if facts.standing == Standing::Abandoned {
        // Never a session: removed by every clean once an hour old.
        return Decision::Delete(Standing::Abandoned);
    }
    if !policy.selects(facts.standing) {
        return Decision::Keep(Keep::NotSelected(facts.standing));
    }
    if let Policy::Sweep {
        older_than, keep, ..
    } = *policy
    {
        let Some(last) = facts.last_accessed else {
            return Decision::Keep(Keep::AgeUnknown);
        };
        let Ok(age) = (now - last).to_std() else {
            return Decision::Keep(Keep::InTheFuture);
        };
        if age < older_than {
            return Decision::Keep(Keep::Recent { age, older_than });
        }
        if facts.newer < keep {
            return Decision::Keep(Keep::Newest { keep });
        }
    }
    Decision::Delete(facts.standing)
}

/// Set [`Facts::newer`] for sessions of one project: the sessions the policy
/// selects, newest `last_accessed` first (ties: the larger id first).
pub fn rank(facts: &mut [Facts], policy: &Policy) {
    let mut order: Vec<usize> = (0..facts.len())
        .filter(|&i| policy.selects(facts[i].standing))
        .collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&facts[a], &facts[b]);
        b.last_accessed
            .cmp(&a.last_accessed)
            .then_with(|| b.id.cmp(&a.id))
    });
    for (place, index) in order.into_iter().enumerate() {
        facts[index].newer = place;
    }
}

/// A duration as the largest whole unit: `90s`, `15m`, `2h`, `7d`.
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) || secs >= size * 2 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
#[path = "decision_guard_tests.rs"]
mod guard_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    const DAY: Duration = Duration::from_secs(86_400);

    fn id(n: u8) -> SessionId {
        SessionId::parse(&format!("01ARZ3NDEKTSV4RRFFQ69G5F{:02}", n % 100)).unwrap()
    }

    fn facts(standing: Standing, verdict: Verdict, age_days: i64) -> Facts {
        Facts {
            id: id(0),
            standing,
            verdict,
            alive_by_output_only: false,
            last_accessed: Some(now() - TimeDelta::days(age_days)),
            state_unreadable: false,
            unknown_despite_records: false,
            newer: 0,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn sweep(status: Option<SessionStatus>) -> Policy {
        Policy::Sweep {
            older_than: 7 * DAY,
            keep: 0,
            status: status.into_iter().collect(),
        }
    }

    #[test]
    fn recent_output_holds_back_only_a_session_whose_state_cannot_be_read() {
        let errors = sweep(Some(SessionStatus::Error));
        for policy in [Policy::Named, errors] {
            let writing = |state_unreadable| Facts {
                state_unreadable,
                alive_by_output_only: true,
                ..facts(Standing::Error, Verdict::Alive, 30)
            };
            assert_eq!(
                decide(&writing(true), &policy, now()),
                Decision::Keep(Keep::StillRunning)
            );
            assert_eq!(
                decide(&writing(false), &policy, now()),
                Decision::Delete(Standing::Error),
                "a readable retired state with a broken result said it ended"
            );
        }
    }

    #[test]
    fn an_unreadable_state_whose_recorded_process_cannot_be_checked_is_kept() {
        let unknown = |unknown_despite_records| Facts {
            state_unreadable: true,
            unknown_despite_records,
            ..facts(Standing::Error, Verdict::Unknown, 30)
        };
        for policy in [Policy::Named, sweep(Some(SessionStatus::Error))] {
            assert_eq!(
                decide(&unknown(true), &policy, now()),
                Decision::Keep(Keep::Unconfirmed)
            );
            assert_eq!(
                decide(&unknown(false), &policy, now()),
                Decision::Delete(Standing::Error),
                "no record at all: nothing can run"
            );
        }
    }

    #[test]
    fn decision_table() {
        use Standing as S;
        use Verdict::{Alive, Dead, Unknown};
        let named = Policy::Named;
        let clean = sweep(None);
        let errors = sweep(Some(SessionStatus::Error));
        let failed = sweep(Some(SessionStatus::Failed));
        let failed_or_error = Policy::Sweep {
            older_than: 7 * DAY,
            keep: 0,
            status: [SessionStatus::Failed, SessionStatus::Error]
                .into_iter()
                .collect(),
        };
        let deleted = |s| Decision::Delete(s);
        let kept = Decision::Keep;
        let rows = [
            // Active sessions are never removed, whatever the command.
            (S::Active, Alive, 30, named, kept(Keep::Active(Alive))),
            (S::Active, Unknown, 30, named, kept(Keep::Active(Unknown))),
            (S::Active, Dead, 30, named, kept(Keep::Active(Dead))),
            (S::Active, Unknown, 30, clean, kept(Keep::Active(Unknown))),
            (S::Available, Dead, 30, named, kept(Keep::Available)),
            (S::Available, Dead, 30, clean, kept(Keep::Available)),
            (
                S::Initializing,
                Unknown,
                30,
                named,
                kept(Keep::Initializing),
            ),
            (S::Gone, Unknown, 30, named, kept(Keep::Gone)),
            (S::Abandoned, Dead, 0, errors, deleted(S::Abandoned)),
            (S::Abandoned, Unknown, 0, clean, deleted(S::Abandoned)),
            (S::Abandoned, Alive, 0, clean, kept(Keep::StillRunning)),
            // Settled: removed unless something of it is alive.
            (S::Retired, Dead, 30, named, deleted(S::Retired)),
            (S::Retired, Unknown, 30, named, deleted(S::Retired)),
            (S::Retired, Alive, 30, named, kept(Keep::StillRunning)),
            (S::Failed, Alive, 30, clean, kept(Keep::StillRunning)),
            (S::Failed, Unknown, 0, named, deleted(S::Failed)),
            (S::Error, Unknown, 0, named, deleted(S::Error)),
            (S::Error, Alive, 30, named, kept(Keep::StillRunning)),
            // clean: old enough, and selected by --status.
            (S::Retired, Dead, 30, clean, deleted(S::Retired)),
            (S::Failed, Unknown, 30, clean, deleted(S::Failed)),
            (S::Error, Dead, 30, clean, kept(Keep::NotSelected(S::Error))),
            (S::Error, Dead, 30, errors, deleted(S::Error)),
            (
                S::Retired,
                Dead,
                30,
                errors,
                kept(Keep::NotSelected(S::Retired)),
            ),
            (
                S::Retired,
                Dead,
                30,
                failed,
                kept(Keep::NotSelected(S::Retired)),
            ),
            (S::Failed, Dead, 30, failed, deleted(S::Failed)),
            // Several statuses: any of them.
            (S::Failed, Dead, 30, failed_or_error, deleted(S::Failed)),
            (S::Error, Dead, 30, failed_or_error, deleted(S::Error)),
            (
                S::Retired,
                Dead,
                30,
                failed_or_error,
                kept(Keep::NotSelected(S::Retired)),
            ),
            (
                S::Retired,
                Dead,
                1,
                clean,
                kept(Keep::Recent {
                    age: DAY,
                    older_than: 7 * DAY,
                }),
            ),
            (S::Retired, Dead, 7, clean, deleted(S::Retired)),
            (S::Retired, Dead, -1, clean, kept(Keep::InTheFuture)),
        ];
        for (standing, verdict, age, policy, expected) in rows {
            let context = format!("{standing:?} {verdict:?} {age}d {policy:?}");
            let facts = facts(standing, verdict, age);
            assert_eq!(decide(&facts, &policy, now()), expected, "{context}");
        }
    }

    #[test]
    fn recent_output_alone_holds_back_an_active_session_but_not_a_settled_one() {
        let output_only = |standing| Facts {
            alive_by_output_only: true,
            ..facts(standing, Verdict::Alive, 30)
        };
        let clean = sweep(None);
        assert_eq!(
            decide(&output_only(Standing::Active), &clean, now()),
            Decision::Keep(Keep::Active(Verdict::Alive))
        );
        for standing in [Standing::Retired, Standing::Failed] {
            assert_eq!(
                decide(&output_only(standing), &clean, now()),
                Decision::Delete(standing)
            );
        }
    }

    #[test]
    fn zero_age_removes_everything_settled_and_unknown_age_keeps() {
        let policy = Policy::Sweep {
            older_than: Duration::ZERO,
            keep: 0,
            status: StatusSet::default(),
        };
        let just_now = facts(Standing::Retired, Verdict::Dead, 0);
        assert_eq!(
            decide(&just_now, &policy, now()),
            Decision::Delete(Standing::Retired)
        );
        let unknown = Facts {
            last_accessed: None,
            ..just_now
        };
        assert_eq!(
            decide(&unknown, &policy, now()),
            Decision::Keep(Keep::AgeUnknown)
        );
    }

    #[test]
    fn keep_n_keeps_the_newest_selected_whatever_their_age() {
        let policy = Policy::Sweep {
            older_than: DAY,
            keep: 2,
            status: StatusSet::default(),
        };
        // Ages in days; the active and error ones are not counted.
        let standings = [
            (Standing::Retired, 10),
            (Standing::Active, 1),
            (Standing::Failed, 12),
            (Standing::Error, 2),
            (Standing::Retired, 11),
            (Standing::Retired, 30),
        ];
        let mut all: Vec<Facts> = standings
            .iter()
            .enumerate()
            .map(|(i, (standing, age))| Facts {
                id: id(u8::try_from(i).unwrap()),
                ..facts(*standing, Verdict::Dead, *age)
            })
            .collect();
        rank(&mut all, &policy);
        let newer: Vec<usize> = all.iter().map(|f| f.newer).collect();
        assert_eq!(newer[0], 0);
        assert_eq!(newer[4], 1);
        assert_eq!(newer[2], 2);
        assert_eq!(newer[5], 3);
        let decisions: Vec<Decision> = all.iter().map(|f| decide(f, &policy, now())).collect();
        assert_eq!(decisions[0], Decision::Keep(Keep::Newest { keep: 2 }));
        assert_eq!(decisions[4], Decision::Keep(Keep::Newest { keep: 2 }));
        assert_eq!(decisions[2], Decision::Delete(Standing::Failed));
        assert_eq!(decisions[5], Decision::Delete(Standing::Retired));
        assert_eq!(decisions[1], Decision::Keep(Keep::Active(Verdict::Dead)));
        assert_eq!(
            decisions[3],
            Decision::Keep(Keep::NotSelected(Standing::Error))
        );
    }

    #[test]
    fn ties_rank_the_larger_id_first() {
        let policy = Policy::Named;
        let mut two = vec![
            Facts {
                id: id(1),
                ..facts(Standing::Retired, Verdict::Dead, 3)
            },
            Facts {
                id: id(2),
                ..facts(Standing::Retired, Verdict::Dead, 3)
            },
        ];
        rank(&mut two, &policy);
        assert_eq!((two[0].newer, two[1].newer), (1, 0));
    }

    #[test]
    fn standing_follows_list_status_except_that_active_stays_active() {
        let at = now();
        let ok = SessionResult::new(&crate::ResultStatus::Success, 0, "", "t", at, at);
        let bad = SessionResult::new(&crate::ResultStatus::Success, 3, "", "t", at, at);
        assert_eq!(Standing::of(Phase::Active, Err(())), Standing::Active);
        assert_eq!(Standing::of(Phase::Retired, Err(())), Standing::Error);
        assert_eq!(Standing::of(Phase::Available, Err(())), Standing::Error);
        assert_eq!(
            Standing::of(Phase::Available, Ok(None)),
            Standing::Available
        );
        assert_eq!(Standing::of(Phase::Retired, Ok(None)), Standing::Retired);
        assert_eq!(
            Standing::of(Phase::Retired, Ok(Some(&ok))),
            Standing::Retired
        );
        assert_eq!(
            Standing::of(Phase::Retired, Ok(Some(&bad))),
            Standing::Failed
        );
    }

    #[test]
    fn a_dry_run_predicts_the_standing_after_the_reconcile() {
        use crate::reconcile::Decision as Reconcile;
        use crate::reconcile::decision::{
            CompletionFile, Facts as ReconcileFacts, ResultFile, decide as reconcile,
        };
        let at = now();
        let bad = SessionResult::new(&crate::ResultStatus::Failure, 1, "", "t", at, at);
        let plan = |result: ResultFile, completion| {
            let facts = ReconcileFacts {
                phase: Phase::Active,
                verdict: Verdict::Dead,
                result,
                completion,
            };
            match reconcile(&facts) {
                Reconcile::Change(plan) => plan,
                Reconcile::NoChange(hold) => panic!("{hold:?}"),
            }
        };
        let synthetic = plan(ResultFile::Missing, CompletionFile::Missing);
        assert_eq!(
            Standing::after_reconcile(&synthetic, None, false),
            Standing::Failed
        );
        let existing = plan(
            ResultFile::Valid { written_by: None },
            CompletionFile::Missing,
        );
        assert_eq!(
            Standing::after_reconcile(&existing, None, false),
            Standing::Retired
        );
        assert_eq!(
            Standing::after_reconcile(&existing, Some(&bad), false),
            Standing::Failed
        );
        let completion = plan(ResultFile::Missing, CompletionFile::Usable);
        assert_eq!(
            Standing::after_reconcile(&completion, None, true),
            Standing::Failed
        );
        assert_eq!(
            Standing::after_reconcile(&completion, None, false),
            Standing::Retired
        );
    }

    #[test]
    fn durations_read_as_their_largest_unit() {
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(7_200)), "2h");
        assert_eq!(human(7 * DAY), "7d");
        assert_eq!(human(Duration::from_secs(59)), "59s");
        assert_eq!(human(Duration::from_secs(3 * 86_400 + 5)), "3d");
    }
}
