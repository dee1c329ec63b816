use super::*;
use crate::evidence::{LockEvidence, Origin};
use crate::facts::ProcessFacts;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn ago(secs: u64) -> SystemTime {
    now() - Duration::from_secs(secs)
}

fn facts(existence: Existence, state: ProcState, ticks: Option<u64>) -> ProcessFacts {
    ProcessFacts {
        pid: 42,
        existence,
        state,
        start_time_ticks: ticks,
        pgid: Some(42),
    }
}

fn rec(recorded: Option<u64>, facts: ProcessFacts) -> PidEvidence {
    PidEvidence {
        pid: 42,
        start_time_ticks: recorded,
        origin: Origin::default(),
        facts: Some(facts),
        cmdline_matches: None,
        group_live: None,
    }
}

fn with_daemon(record: PidEvidence) -> Evidence {
    Evidence {
        now: now(),
        this_host: Some("here".into()),
        this_boot: Some("boot-1".into()),
        this_pid_namespace: Some("pid:[1]".into()),
        pids_visible: true,
        daemon_pid: RecordEvidence::Record(record),
        cmd_pid: RecordEvidence::Absent,
        locks: Vec::new(),
        progress: Vec::new(),
    }
}

fn lock(held: Option<bool>, modified: SystemTime, record: RecordEvidence) -> LockEvidence {
    LockEvidence {
        name: "locks/codex.lock".into(),
        held,
        modified: Some(modified),
        record,
    }
}

fn running(ticks: u64) -> ProcessFacts {
    facts(Existence::Exists, ProcState::Running, Some(ticks))
}

#[test]
fn records_with_a_start_time() {
    let cases = [
        ("same start time", rec(Some(7), running(7)), Verdict::Alive),
        (
            "start time differs: reuse",
            rec(Some(7), running(8)),
            Verdict::Dead,
        ),
        (
            "pid missing",
            rec(Some(7), facts(Existence::Missing, ProcState::Unknown, None)),
            Verdict::Dead,
        ),
        (
            "existence unknown",
            rec(Some(7), facts(Existence::Unknown, ProcState::Unknown, None)),
            Verdict::Unknown,
        ),
        (
            "start time unreadable",
            rec(Some(7), facts(Existence::Exists, ProcState::Unknown, None)),
            Verdict::Unknown,
        ),
        (
            "dead state",
            rec(Some(7), facts(Existence::Exists, ProcState::Dead, Some(7))),
            Verdict::Dead,
        ),
    ];
    for (name, record, expected) in cases {
        assert_eq!(verdict(&with_daemon(record)).verdict, expected, "{name}");
    }
}

#[test]
fn a_pid_not_found_where_the_process_table_cannot_be_seen_is_unknown() {
    let gone = rec(Some(7), facts(Existence::Missing, ProcState::Unknown, None));
    let mut ev = with_daemon(gone);
    assert_eq!(verdict(&ev).verdict, Verdict::Dead, "seen: truly gone");
    ev.pids_visible = false;
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Unknown);
    assert!(
        judged.summary().contains("not readable"),
        "{}",
        judged.summary()
    );
}

#[test]
fn zombies_depend_on_their_process_group() {
    for (group_live, expected) in [
        (Some(true), Verdict::Alive),
        (Some(false), Verdict::Dead),
        (None, Verdict::Unknown),
    ] {
        let mut record = rec(
            Some(7),
            facts(Existence::Exists, ProcState::Zombie, Some(7)),
        );
        record.group_live = group_live;
        assert_eq!(
            verdict(&with_daemon(record)).verdict,
            expected,
            "{group_live:?}"
        );
    }
}

#[test]
fn legacy_records_use_the_command_line_and_lock_age() {
    let legacy = |matches| {
        let mut r = rec(None, running(5));
        r.cmdline_matches = matches;
        r
    };
    assert_eq!(
        verdict(&with_daemon(legacy(Some(true)))).verdict,
        Verdict::Alive
    );
    assert_eq!(
        verdict(&with_daemon(legacy(Some(false)))).verdict,
        Verdict::Dead
    );
    assert_eq!(
        verdict(&with_daemon(legacy(None))).verdict,
        Verdict::Unknown
    );

    let lock_case = |mtime| {
        let mut ev = with_daemon(legacy(Some(false)));
        ev.daemon_pid = RecordEvidence::Absent;
        ev.locks = vec![lock(
            Some(false),
            mtime,
            RecordEvidence::Record(legacy(Some(false))),
        )];
        verdict(&ev)
    };
    let old = lock_case(ago(120));
    assert_eq!(old.verdict, Verdict::Dead);
    assert!(old.summary().contains("120s old"), "{}", old.summary());
    assert_eq!(lock_case(ago(5)).verdict, Verdict::Alive);
}

#[test]
fn the_legacy_lock_window_ends_at_its_length() {
    let window = crate::consts::LEGACY_LOCK_WINDOW.as_secs();
    let lock_aged = |secs| {
        let mut unrelated = rec(None, running(5));
        unrelated.cmdline_matches = Some(false);
        let mut ev = with_daemon(unrelated.clone());
        ev.daemon_pid = RecordEvidence::Absent;
        ev.locks = vec![lock(
            Some(false),
            ago(secs),
            RecordEvidence::Record(unrelated),
        )];
        verdict(&ev).verdict
    };
    assert_eq!(lock_aged(window - 1), Verdict::Alive);
    assert_eq!(
        lock_aged(window),
        Verdict::Dead,
        "{window}s old is not within {window}s"
    );
}

#[test]
fn the_progress_window_ends_at_its_length() {
    let window = crate::consts::PROGRESS_WINDOW.as_secs();
    let mut ev = with_daemon(rec(
        Some(7),
        facts(Existence::Missing, ProcState::Unknown, None),
    ));
    ev.progress = vec![("output.log".into(), ago(window - 1))];
    assert!(verdict(&ev).blocked_by_progress);
    ev.progress = vec![("output.log".into(), ago(window))];
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Dead, "{}", judged.summary());
    assert!(!judged.blocked_by_progress);
}

#[test]
fn a_held_lock_is_alive_even_when_its_json_names_a_dead_pid() {
    let mut ev = with_daemon(rec(
        Some(7),
        facts(Existence::Missing, ProcState::Unknown, None),
    ));
    let dead = rec(Some(9), facts(Existence::Missing, ProcState::Unknown, None));
    ev.locks = vec![lock(Some(true), ago(1000), RecordEvidence::Record(dead))];
    let live = verdict(&ev);
    assert_eq!(live.verdict, Verdict::Alive);
    assert!(live.summary().contains("flock is held"));
}

#[test]
fn host_and_boot_rules() {
    let mut other_host = rec(Some(7), running(7));
    other_host.origin.hostname = Some("elsewhere".into());
    other_host.facts = None;
    assert_eq!(verdict(&with_daemon(other_host)).verdict, Verdict::Unknown);

    let mut same_host = rec(Some(7), running(7));
    same_host.origin.hostname = Some("here".into());
    assert_eq!(verdict(&with_daemon(same_host)).verdict, Verdict::Alive);

    let mut rebooted = rec(Some(7), running(7));
    rebooted.origin.hostname = Some("here".into());
    rebooted.origin.boot_id = Some("boot-0".into());
    assert_eq!(verdict(&with_daemon(rebooted)).verdict, Verdict::Dead);

    // Another pid namespace: its pids cannot be seen, even when ours say dead.
    let mut elsewhere = rec(Some(7), facts(Existence::Missing, ProcState::Unknown, None));
    elsewhere.origin.pid_namespace = Some("pid:[2]".into());
    let judged = verdict(&with_daemon(elsewhere));
    assert_eq!(judged.verdict, Verdict::Unknown);
    assert!(
        judged.summary().contains("pid namespace"),
        "{}",
        judged.summary()
    );
    let mut same_ns = rec(Some(7), running(7));
    same_ns.origin.pid_namespace = Some("pid:[1]".into());
    assert_eq!(verdict(&with_daemon(same_ns)).verdict, Verdict::Alive);
}

#[test]
fn recent_progress_blocks_and_old_progress_does_not() {
    let dead = rec(Some(7), facts(Existence::Missing, ProcState::Unknown, None));
    let mut ev = with_daemon(dead);
    ev.progress = vec![("output.log".into(), ago(3))];
    let blocked = verdict(&ev);
    assert_eq!(blocked.verdict, Verdict::Alive);
    assert!(blocked.blocked_by_progress);
    ev.progress = vec![("output.log".into(), ago(120))];
    assert_eq!(verdict(&ev).verdict, Verdict::Dead);
    ev.progress = vec![("stderr.log".into(), now() + Duration::from_secs(60))];
    assert!(
        verdict(&ev).blocked_by_progress,
        "a future mtime counts as recent"
    );
}

#[test]
fn missing_or_malformed_records_are_unknown_never_dead() {
    let mut ev = with_daemon(rec(Some(7), running(7)));
    ev.daemon_pid = RecordEvidence::Absent;
    let none = verdict(&ev);
    assert_eq!(none.verdict, Verdict::Unknown);
    assert!(none.summary().contains("no pid record"));

    ev.daemon_pid = RecordEvidence::Malformed {
        reason: "garbage".into(),
    };
    assert_eq!(verdict(&ev).verdict, Verdict::Unknown);

    // One dead record and one unknown record: unknown.
    ev.daemon_pid = RecordEvidence::Record(rec(Some(7), running(8)));
    ev.locks = vec![lock(
        Some(false),
        ago(500),
        RecordEvidence::Malformed {
            reason: "bad json".into(),
        },
    )];
    assert_eq!(verdict(&ev).verdict, Verdict::Unknown);
}

#[test]
fn every_record_dead_is_dead() {
    let mut ev = with_daemon(rec(Some(7), running(8)));
    let gone = rec(None, facts(Existence::Missing, ProcState::Unknown, None));
    ev.locks = vec![lock(Some(false), ago(500), RecordEvidence::Record(gone))];
    let dead = verdict(&ev);
    assert!(dead.is_dead());
    assert_eq!(dead.reasons.len(), 2);
}

#[test]
fn a_live_command_keeps_a_session_alive_after_its_daemon_died() {
    let mut ev = with_daemon(rec(
        Some(7),
        facts(Existence::Missing, ProcState::Unknown, None),
    ));
    assert_eq!(verdict(&ev).verdict, Verdict::Dead);
    ev.cmd_pid = RecordEvidence::Record(rec(Some(9), running(9)));
    let live = verdict(&ev);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
    assert!(live.summary().contains("cmd.pid"), "{}", live.summary());
    ev.cmd_pid = RecordEvidence::Record(rec(Some(9), running(10)));
    assert_eq!(
        verdict(&ev).verdict,
        Verdict::Dead,
        "a reused cmd pid is dead"
    );
}

#[test]
fn an_empty_unheld_lock_file_is_named_as_such_and_nothing_else_is() {
    let dead = || rec(Some(7), facts(Existence::Missing, ProcState::Unknown, None));
    let empty_line = "locks/codex.lock: empty and not held";
    let reasons = |held, record| {
        let mut ev = with_daemon(dead());
        ev.locks = vec![lock(held, ago(500), record)];
        verdict(&ev).reasons
    };
    let empty = reasons(Some(false), RecordEvidence::Absent);
    assert!(empty.iter().any(|r| r == empty_line), "{empty:?}");
    for (held, record) in [
        (Some(true), RecordEvidence::Absent),
        (None, RecordEvidence::Absent),
        (Some(false), RecordEvidence::Record(dead())),
    ] {
        let other = reasons(held, record);
        assert!(!other.iter().any(|r| r.contains("empty")), "{other:?}");
    }
}
