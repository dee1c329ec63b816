//! Lock files: held `flock`s, legacy lock JSON, and a probe that never disturbs the holder.

use csa_process::Verdict;

use csa_test_support::*;

#[test]
fn held_lock_is_alive_even_if_its_json_names_a_dead_pid_and_dies_with_its_holder() {
    let session = ScratchSession::new();
    let lock = session.write("locks/codex.lock", r#"{"pid": 4195304}"#);
    let holder = FlockHolder::hold(&lock);
    let live = session.liveness(&["codex"]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
    assert!(live.summary().contains("flock is held"));
    assert!(!can_lock(&lock), "the holder holds it");

    drop(holder); // releases the flock
    let after = session.liveness(&["codex"]);
    assert_ne!(after.verdict, Verdict::Alive, "{}", after.summary());
    assert_eq!(after.verdict, Verdict::Dead, "{}", after.summary());
}

#[test]
fn probing_never_makes_a_concurrent_non_blocking_acquire_fail() {
    let session = ScratchSession::new();
    let lock = session.write("locks/codex.lock", r#"{"pid": 4195304}"#);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = session.liveness(&["codex"]);
            }
        });
        for attempt in 0..500 {
            assert!(can_lock(&lock), "acquire {attempt} failed while probing");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn lock_json_with_a_pid_inside_a_string_is_read_by_its_pid_key() {
    let child = sleeper();
    let session = ScratchSession::new();
    let json = format!(
        r#"{{"comment":"pid: 123","pid":{},"pid_start_time_ticks":{}}}"#,
        child.pid(),
        csa_process::facts::start_time_ticks(child.pid()).expect("ticks")
    );
    session.write("locks/codex.lock", &json);
    let live = session.liveness(&[]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
    assert!(live.summary().contains(&child.pid().to_string()));
}

#[test]
fn legacy_lock_of_an_unrelated_pid_is_dead_when_old_and_alive_when_fresh() {
    let child = sleeper();
    let session = ScratchSession::new();
    let lock = session.write("locks/codex.lock", &format!(r#"{{"pid":{}}}"#, child.pid()));
    backdate(&lock, 120);
    let dead = session.liveness(&["codex"]);
    assert_eq!(dead.verdict, Verdict::Dead, "{}", dead.summary());
    backdate(&lock, 0);
    let live = session.liveness(&["codex"]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
}

#[test]
fn reconciler_artifacts_are_never_evidence() {
    let session = ScratchSession::new();
    let lock = session.write(".reconcile.lock", "");
    let holder = FlockHolder::hold(&lock);
    session.daemon_pid(4_194_304 + 1000, Some(1));
    assert_eq!(session.liveness(&[]).verdict, Verdict::Dead);
    drop(holder);
}

/// `/proc/locks` is one snapshot: a held lock is never missed because other
/// locks ahead of it in the kernel's list come and go while it is read (read
/// in pieces, each piece starts again by position and can skip a record).
#[test]
fn a_held_lock_is_seen_while_other_locks_come_and_go() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let session = ScratchSession::new();
    let lock = session.write("locks/codex.lock", r#"{"pid": 4195304}"#);
    // Held first: the kernel lists newer locks ahead of it.
    let _holder = FlockHolder::hold(&lock);
    let churn_dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for thread in 0..1 {
            let files: Vec<std::fs::File> = (0..40)
                .map(|n| {
                    let path = churn_dir.path().join(format!("{thread}-{n}"));
                    fs_err::File::create(path).unwrap().into_parts().0
                })
                .collect();
            let stop = &stop;
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for file in &files {
                        file.lock().unwrap();
                    }
                    for file in &files {
                        file.unlock().unwrap();
                    }
                }
            });
        }
        let missed = (0..3000)
            .filter(|_| csa_process::HeldLocks::new().is_held(&lock) != Some(true))
            .count();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(
            missed, 0,
            "the held lock was missed in {missed} of 3000 reads"
        );
    });
}
