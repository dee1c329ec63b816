//! The guards of the removal decision that keep user data: which standings
//! each `clean --status` removes, what holds back a session whose state
//! cannot be read, what `delete` refuses, and the words a kept session is
//! reported with. Each test fails if its guard is weakened (they pin what
//! `just mutants` checks).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::status::{SessionStatus, StatusSet};

const DAY: Duration = Duration::from_secs(86_400);

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .unwrap()
        .to_utc()
}

fn facts(standing: Standing, verdict: Verdict, age_days: i64) -> Facts {
    Facts {
        id: SessionId::parse("01ARZ3NDEKTSV4RRFFQ69G5F00").unwrap(),
        standing,
        verdict,
        alive_by_output_only: false,
        last_accessed: Some(now() - TimeDelta::days(age_days)),
        state_unreadable: false,
        unknown_despite_records: false,
        newer: 0,
    }
}

fn sweep(status: Option<SessionStatus>) -> Policy {
    Policy::Sweep {
        older_than: 7 * DAY,
        keep: 0,
        status: status.into_iter().collect(),
    }
}

#[test]
fn each_clean_status_admits_its_own_standing_only() {
    use SessionStatus as S;
    let all = [
        Standing::Active,
        Standing::Available,
        Standing::Retired,
        Standing::Failed,
        Standing::Error,
        Standing::Initializing,
        Standing::Gone,
        Standing::Abandoned,
    ];
    for (status, admitted) in [
        (None, &[Standing::Retired, Standing::Failed][..]),
        (Some(S::Retired), &[Standing::Retired]),
        (Some(S::Failed), &[Standing::Failed]),
        (Some(S::Error), &[Standing::Error]),
        (Some(S::Active), &[Standing::Active]),
        (Some(S::Available), &[Standing::Available]),
    ] {
        let status: StatusSet = status.into_iter().collect();
        for standing in all {
            let expected = admitted.contains(&standing);
            assert_eq!(
                admits(status, standing),
                expected,
                "{status:?} {standing:?}"
            );
        }
    }
    // Several statuses admit each of theirs and no other.
    let two: StatusSet = [S::Failed, S::Error].into_iter().collect();
    for standing in all {
        let expected = matches!(standing, Standing::Failed | Standing::Error);
        assert_eq!(admits(two, standing), expected, "{standing:?}");
    }
    // `clean --status retired` removes old retired sessions, never
    // failed or errored ones.
    let retired = sweep(Some(S::Retired));
    for (standing, expected) in [
        (Standing::Retired, Decision::Delete(Standing::Retired)),
        (
            Standing::Failed,
            Decision::Keep(Keep::NotSelected(Standing::Failed)),
        ),
        (
            Standing::Error,
            Decision::Keep(Keep::NotSelected(Standing::Error)),
        ),
    ] {
        let facts = facts(standing, Verdict::Dead, 30);
        assert_eq!(decide(&facts, &retired, now()), expected, "{standing:?}");
    }
}

#[test]
fn unconfirmed_takes_all_three_an_unreadable_state_unknown_and_records() {
    let case = |state_unreadable, verdict, unknown_despite_records| Facts {
        state_unreadable,
        unknown_despite_records,
        ..facts(Standing::Error, verdict, 30)
    };
    assert_eq!(
        decide(&case(true, Verdict::Unknown, true), &Policy::Named, now()),
        Decision::Keep(Keep::Unconfirmed)
    );
    for (unreadable, verdict, records) in [
        (false, Verdict::Unknown, true),
        (true, Verdict::Dead, true),
        (true, Verdict::Unknown, false),
    ] {
        assert_eq!(
            decide(&case(unreadable, verdict, records), &Policy::Named, now()),
            Decision::Delete(Standing::Error),
            "{unreadable} {verdict:?} {records}"
        );
    }
}

#[test]
fn delete_refuses_what_may_still_run_and_reports_every_keep_but_gone() {
    use Verdict::{Alive, Dead, Unknown};
    let live = [
        Keep::Active(Alive),
        Keep::Active(Unknown),
        Keep::StillRunning,
        Keep::Unconfirmed,
        Keep::ToolLockHeld("locks/codex.lock".into()),
        Keep::LocksUnreadable("denied".into()),
    ];
    let settled = [
        Keep::Active(Dead),
        Keep::Available,
        Keep::Initializing,
        Keep::Gone,
        Keep::Locked,
        Keep::NotADirectory,
        Keep::NotSelected(Standing::Failed),
        Keep::InTheFuture,
        Keep::AgeUnknown,
        Keep::Newest { keep: 2 },
    ];
    for keep in &live {
        assert!(keep.is_live(), "{keep:?}");
    }
    for keep in &settled {
        assert!(!keep.is_live(), "{keep:?}");
        assert_eq!(keep.is_refusal(), *keep != Keep::Gone, "{keep:?}");
    }
}

#[test]
fn reasons_to_keep_name_the_standing_and_the_ages() {
    assert_eq!(
        Keep::NotSelected(Standing::Failed).describe(),
        "failed (not selected by --status)"
    );
    assert_eq!(
        Keep::Recent {
            age: DAY,
            older_than: 7 * DAY
        }
        .describe(),
        "last accessed 1d ago (newer than 7d)"
    );
    let named: Vec<&str> = [
        Standing::Active,
        Standing::Available,
        Standing::Retired,
        Standing::Failed,
        Standing::Error,
        Standing::Initializing,
        Standing::Gone,
        Standing::Abandoned,
    ]
    .into_iter()
    .map(Standing::as_str)
    .collect();
    assert_eq!(
        named,
        [
            "active",
            "available",
            "retired",
            "failed",
            "error",
            "initializing",
            "gone",
            "an abandoned creation"
        ]
    );
}
