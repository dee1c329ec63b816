//! What `gather` returns for real session dirs: where each pid record was
//! written (a record that does not say takes the origin of the lock record
//! the same daemon wrote), which records are probed at all, and lock files
//! that cannot be read.

use csa_process::evidence::{Evidence, Origin, PidEvidence, RecordEvidence};
use csa_process::{ProbeContext, Verdict, facts, gather, verdict};
use csa_test_support::*;

fn gathered(session: &ScratchSession, ctx: &ProbeContext) -> Evidence {
    gather(&session.dir(), ScratchSession::ID, &[], ctx)
}

fn record(evidence: &RecordEvidence) -> &PidEvidence {
    match evidence {
        RecordEvidence::Record(rec) => rec,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn record_cmd(session: &ScratchSession, pid: u32) {
    session.write("cmd.pid", &format!("{pid} {}\n", start_time(pid)));
}

#[test]
fn pid_records_take_the_origin_of_the_lock_record_naming_the_daemon() {
    let daemon = sleeper();
    let command = sleeper();
    let session = ScratchSession::new();
    session.daemon_pid(daemon.pid(), Some(start_time(daemon.pid())));
    record_cmd(&session, command.pid());
    session.write(
        "locks/codex.lock",
        &format!(
            r#"{{"pid": {}, "hostname": "elsewhere.invalid"}}"#,
            daemon.pid()
        ),
    );
    let ev = gathered(&session, &ProbeContext::new());
    let elsewhere = Origin {
        hostname: Some("elsewhere.invalid".into()),
        ..Origin::default()
    };
    for (name, rec) in [
        ("daemon.pid", record(&ev.daemon_pid)),
        ("cmd.pid (written by that daemon)", record(&ev.cmd_pid)),
    ] {
        assert_eq!(rec.origin, elsewhere, "{name}");
        assert_eq!(
            rec.facts, None,
            "{name}: a pid of another host is not probed"
        );
    }
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Unknown, "{}", judged.summary());
}

#[test]
fn failing_a_lock_record_naming_its_pid_a_record_takes_the_pid_namespace_of_another() {
    let daemon = sleeper();
    let session = ScratchSession::new();
    session.daemon_pid(daemon.pid(), Some(start_time(daemon.pid())));
    // The daemon's lock names another pid (say, the launcher's) in a pid
    // namespace that is not ours: daemon.pid was written there too.
    session.write(
        "locks/codex.lock",
        &format!(r#"{{"pid": {DEAD_PID}, "pid_namespace": "pid:[1]"}}"#),
    );
    let ev = gathered(&session, &ProbeContext::new());
    let daemon_rec = record(&ev.daemon_pid);
    assert_eq!(daemon_rec.origin.pid_namespace.as_deref(), Some("pid:[1]"));
    assert_eq!(daemon_rec.facts, None);
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Unknown, "{}", judged.summary());

    // A lock record without a pid namespace lends none.
    session.write("locks/codex.lock", &format!(r#"{{"pid": {DEAD_PID}}}"#));
    let ev = gathered(&session, &ProbeContext::new());
    assert_eq!(record(&ev.daemon_pid).origin, Origin::default());
    assert_eq!(verdict(&ev).verdict, Verdict::Alive);
}

#[test]
fn only_a_record_of_another_host_boot_or_namespace_known_here_goes_unprobed() {
    let child = sleeper();
    let session = ScratchSession::new();
    let probed = |lock_json: &str, ctx: ProbeContext| {
        session.daemon_pid(child.pid(), Some(start_time(child.pid())));
        session.write("locks/codex.lock", lock_json);
        record(&gathered(&session, &ctx).daemon_pid).facts.is_some()
    };
    let pid = child.pid();
    let here = || ProbeContext {
        hostname: Some("here.invalid".into()),
        boot_id: Some("boot-here".into()),
        pid_namespace: Some("pid:[2]".into()),
        ..ProbeContext::new()
    };
    let unknown_here = || ProbeContext {
        hostname: None,
        boot_id: None,
        pid_namespace: None,
        ..ProbeContext::new()
    };
    let cases = [
        (format!(r#"{{"pid": {pid}}}"#), here(), true),
        (
            format!(
                r#"{{"pid": {pid}, "hostname": "here.invalid", "boot_id": "boot-here", "pid_namespace": "pid:[2]"}}"#
            ),
            here(),
            true,
        ),
        (
            format!(r#"{{"pid": {pid}, "hostname": "there.invalid"}}"#),
            here(),
            false,
        ),
        (
            format!(r#"{{"pid": {pid}, "boot_id": "boot-before"}}"#),
            here(),
            false,
        ),
        (
            format!(r#"{{"pid": {pid}, "pid_namespace": "pid:[3]"}}"#),
            here(),
            false,
        ),
        // A recorded host, where this host's name is unknown: not ours.
        (
            format!(r#"{{"pid": {pid}, "hostname": "there.invalid"}}"#),
            unknown_here(),
            false,
        ),
        // A boot or namespace this machine cannot name: nothing differs.
        (
            format!(r#"{{"pid": {pid}, "boot_id": "boot-before"}}"#),
            unknown_here(),
            true,
        ),
        (
            format!(r#"{{"pid": {pid}, "pid_namespace": "pid:[3]"}}"#),
            unknown_here(),
            true,
        ),
    ];
    for (json, ctx, expected) in cases {
        assert_eq!(probed(&json, ctx), expected, "{json}");
    }
    assert_eq!(facts::probe(pid).existence, csa_process::Existence::Exists);
}

#[test]
fn a_lock_file_that_is_a_fifo_or_unreadable_is_unknown_never_dead() {
    let session = ScratchSession::new();
    // The daemon's own record is dead: only the lock file holds it back.
    session.daemon_pid(DEAD_PID, Some(1));
    assert_eq!(session.liveness(&[]).verdict, Verdict::Dead);

    let lock = session.path().join("locks/codex.lock");
    fs_err::create_dir_all(session.path().join("locks")).unwrap();
    mkfifo(&lock);
    let ev = gathered(&session, &ProbeContext::new());
    assert!(
        matches!(ev.locks[0].record, RecordEvidence::Malformed { .. }),
        "{:?}",
        ev.locks[0].record
    );
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Unknown, "{}", judged.summary());

    // A link to itself cannot be opened at all.
    fs_err::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink("codex.lock", &lock).unwrap();
    let judged = session.liveness(&[]);
    assert_eq!(judged.verdict, Verdict::Unknown, "{}", judged.summary());
    assert!(
        judged.summary().contains("codex.lock"),
        "{}",
        judged.summary()
    );
}

#[test]
fn only_lock_files_in_locks_are_evidence_and_never_the_reconcilers() {
    let live = sleeper();
    let session = ScratchSession::new();
    session.daemon_pid(DEAD_PID, Some(1));
    let artifact = session.write("locks/.reconcile.lock", "");
    let _holder = FlockHolder::hold(&artifact);
    session.write(
        "locks/codex.json",
        &format!(
            r#"{{"pid": {}, "pid_start_time_ticks": {}}}"#,
            live.pid(),
            start_time(live.pid())
        ),
    );
    let ev = gathered(&session, &ProbeContext::new());
    assert_eq!(ev.locks, Vec::new());
    let judged = verdict(&ev);
    assert_eq!(judged.verdict, Verdict::Dead, "{}", judged.summary());
}
