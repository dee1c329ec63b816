//! Storms: processes killed at random moments, and launches racing
//! reconcilers. Whatever happens, every session ends retired with exactly
//! one result and the right termination reason, and no temp file survives a
//! later reconcile.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use csa_test_support::*;

/// A tiny, seedable generator (no dependency, reproducible from the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

fn spawn_quiet(env: &Env, args: &[&str]) -> Child {
    env.csa_std()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_sigkill_storm_leaves_every_session_retired_with_the_right_reason_and_no_temp_files() {
    let env = Env::new();
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let sessions: Vec<Session> = (0..16)
        .map(|i| {
            let cmd = format!("sleep 0.{}; echo done {i}", 2 + i % 7);
            env.run(&["sh", "-c", &cmd])
        })
        .collect();
    // For about three seconds: reconcilers and lists killed mid-flight, and
    // some daemons and commands killed outright.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let args: &[&str] = if rng.next(2) == 0 {
            &["session", "reconcile", "--all"]
        } else {
            &["session", "list"]
        };
        let mut child = spawn_quiet(&env, args);
        std::thread::sleep(Duration::from_millis(rng.next(25)));
        let _ = child.kill();
        let _ = child.wait();
        if rng.next(5) == 0 {
            let victim = &sessions[rng.next(sessions.len() as u64) as usize];
            let (daemon, _) = victim.daemon_pid();
            kill_group(daemon);
        }
    }
    // Let everything that still runs finish, then age the logs past the
    // progress window and reconcile until nothing is active.
    for s in &sessions {
        let (cmd, _) = s.cmd_pid();
        wait_until("the command ends", || {
            proc_state(cmd).is_none_or(|st| st == 'Z')
        });
    }
    for s in &sessions {
        for log in ["output.log", "stderr.log"] {
            if s.exists(log) {
                backdate(&s.path(log), 120);
            }
        }
    }
    wait_until("every session settles", || {
        let out = env
            .csa()
            .args(["session", "reconcile", "--all"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout_of(&out));
        sessions.iter().all(|s| s.phase() == "retired")
    });
    for (i, s) in sessions.iter().enumerate() {
        assert_eq!(s.result_files(), 1, "session {i}");
        let result = s.result();
        let summary = result["summary"].as_str().unwrap();
        let reason = s.state()["termination_reason"].as_str().unwrap().to_owned();
        if summary.starts_with("synthetic failure") {
            assert_eq!(reason, "orphaned_process", "session {i}");
        } else {
            assert_ne!(reason, "orphaned_process", "session {i}: {summary}");
            assert_eq!(summary, format!("done {i}"), "session {i}: a real result");
        }
        assert_state_loads_in_existing_installs(&s.read("state.toml"));
    }
    // Temp files a killed writer left are swept by a later reconcile, once
    // they are older than a minute, whatever the session's phase.
    let leftovers = temp_files(&env.sessions_dir());
    for path in &leftovers {
        backdate(path, 120);
    }
    env.csa()
        .args(["session", "reconcile", "--all"])
        .assert()
        .success();
    let left = temp_files(&env.sessions_dir());
    assert!(left.is_empty(), "not swept: {left:?}");
}

#[test]
fn reconcile_all_racing_forty_launches_never_fails_and_list_never_shows_an_error() {
    let env = Env::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let sessions = std::thread::scope(|scope| {
        let reconciler = scope.spawn(|| {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = env
                    .csa()
                    .args(["session", "reconcile", "--all"])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}{}",
                    stdout_of(&out),
                    stderr_of(&out)
                );
                let list = env
                    .csa()
                    .args(["session", "list", "--json"])
                    .output()
                    .unwrap();
                let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
                for row in rows.as_array().unwrap() {
                    assert_ne!(row["status"], "Error", "{row}");
                }
                rounds += 1;
            }
            rounds
        });
        let launches: Vec<_> = (0..40)
            .map(|i| {
                let env = &env;
                scope.spawn(move || env.run(&["sh", "-c", &format!("echo launched {i}")]))
            })
            .collect();
        let sessions: Vec<Session> = launches.into_iter().map(|h| h.join().unwrap()).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reconciler.join().unwrap() > 0);
        sessions
    });
    for s in &sessions {
        env.csa()
            .args(["session", "wait", &s.id, "--timeout", "30"])
            .assert()
            .success();
    }
}

#[test]
fn forty_sessions_ending_together_leave_the_newest_cooldown_marker() {
    let env = Env::new();
    let sessions: Vec<Session> = std::thread::scope(|scope| {
        let launches: Vec<_> = (0..40)
            .map(|_| {
                let env = &env;
                scope.spawn(move || env.run(&["sleep", "1"]))
            })
            .collect();
        launches.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for s in &sessions {
        env.csa()
            .args(["session", "wait", &s.id, "--timeout", "30"])
            .assert()
            .success();
    }
    let newest = sessions
        .iter()
        .map(|s| s.result()["completed_at"].as_str().unwrap().to_owned())
        .map(|t| chrono::DateTime::parse_from_rfc3339(&t).unwrap())
        .max()
        .unwrap();
    let marker: toml::Table =
        fs_err::read_to_string(env.sessions_dir().join("cooldown-marker.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let marked =
        chrono::DateTime::parse_from_rfc3339(marker["completed_at"].as_str().unwrap()).unwrap();
    assert_eq!(marked, newest, "the marker only moves forward");
}

#[test]
fn reconcile_all_short_of_file_descriptors_leaves_each_session_whole_or_untouched() {
    let env = Env::new();
    let sessions: Vec<Session> = (0..120).map(|_| env.session("active").dead_pid()).collect();
    let csa = assert_cmd::cargo::cargo_bin("csa");
    let mut cmd = std::process::Command::new("sh");
    env.apply(&mut cmd);
    let out = cmd
        .current_dir(&env.project)
        .arg("-c")
        .arg("ulimit -n 16; exec \"$0\" session reconcile --all")
        .arg(&csa)
        .output()
        .unwrap();
    let _ = out; // may fail: too few descriptors for every worker
    for (i, s) in sessions.iter().enumerate() {
        let state: toml::Table = s.read("state.toml").parse().unwrap();
        match state["phase"].as_str() {
            Some("retired") => {
                assert_eq!(
                    s.result_files(),
                    1,
                    "session {i}: retired with exactly one result"
                );
                assert_eq!(
                    state["termination_reason"].as_str(),
                    Some("orphaned_process")
                );
            }
            Some("active") => assert!(!s.exists("result.toml"), "session {i}: untouched"),
            other => panic!("session {i}: phase {other:?}"),
        }
    }
    // With descriptors to spare, everything converges.
    env.csa()
        .args(["session", "reconcile", "--all"])
        .assert()
        .success();
    assert!(
        sessions
            .iter()
            .all(|s| s.phase() == "retired" && s.result_files() == 1)
    );
}
