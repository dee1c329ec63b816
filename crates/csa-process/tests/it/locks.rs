//! Lock files: held `flock`s, legacy lock JSON, and a probe that never disturbs the holder.

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::Path;

use csa_process::Verdict;

use crate::support::*;

/// A python3 process holding an exclusive flock on `path` until killed.
fn hold_flock(path: &Path) -> Guard {
    let script = "import fcntl,sys,time\n\
                  f=open(sys.argv[1],'a')\n\
                  fcntl.flock(f, fcntl.LOCK_EX)\n\
                  print('locked', flush=True)\n\
                  time.sleep(60)\n";
    let mut guard = spawn("python3", &["-c", script, path.to_str().expect("utf-8")]);
    let stdout = guard.child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "locked");
    guard
}

/// A non-blocking exclusive flock attempt on a fresh open file description.
fn try_flock(path: &Path) -> bool {
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .expect("open lock");
    let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    drop(file);
    got
}

#[test]
fn held_lock_is_alive_even_if_its_json_names_a_dead_pid_and_dies_with_its_holder() {
    let session = SessionDir::new();
    let lock = session.write("locks/codex.lock", r#"{"pid": 4195304}"#);
    let holder = hold_flock(&lock);
    let live = session.liveness(&["codex"]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
    assert!(live.summary().contains("flock is held"));
    assert!(!try_flock(&lock), "the holder holds it");

    drop(holder); // SIGKILL + reap
    let after = session.liveness(&["codex"]);
    assert_ne!(after.verdict, Verdict::Alive, "{}", after.summary());
    assert_eq!(after.verdict, Verdict::Dead, "{}", after.summary());
}

#[test]
fn probing_never_makes_a_concurrent_non_blocking_acquire_fail() {
    let session = SessionDir::new();
    let lock = session.write("locks/codex.lock", r#"{"pid": 4195304}"#);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = session.liveness(&["codex"]);
            }
        });
        for attempt in 0..500 {
            assert!(try_flock(&lock), "acquire {attempt} failed while probing");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn lock_json_with_a_pid_inside_a_string_is_read_by_its_pid_key() {
    let child = sleeper();
    let session = SessionDir::new();
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
    let session = SessionDir::new();
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
    let session = SessionDir::new();
    let lock = session.write(".reconcile.lock", "");
    let holder = hold_flock(&lock);
    session.daemon_pid(4_194_304 + 1000, Some(1));
    assert_eq!(session.liveness(&[]).verdict, Verdict::Dead);
    drop(holder);
}
