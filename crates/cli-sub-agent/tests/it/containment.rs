//! No process a session started survives its result (contract §8.1), except
//! another session's daemon; `--timeout` stops a run as `kill` does.

use std::time::{Duration, Instant};

use csa_test_support::*;

/// The pids a script wrote to `file` (one per line), once there are `n`.
fn pids_in(s: &Session, file: &str, n: usize) -> Vec<u32> {
    let mut pids = Vec::new();
    wait_until(&format!("{n} pids in {file}"), || {
        pids = fs_err::read_to_string(s.path(file))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        pids.len() >= n
    });
    pids
}

fn alive(pid: u32) -> bool {
    proc_state(pid).is_some_and(|state| state != 'Z')
}

#[test]
fn background_double_forked_and_setsid_descendants_are_gone_when_wait_returns() {
    let env = Env::new();
    // A background sleep, a double fork, and a setsid'd helper in a new
    // session; the command itself exits at once.
    let script = r#"
        sleep 300 & echo $! >> "$CSA_SESSION_DIR/pids"
        ( sleep 300 & echo $! >> "$CSA_SESSION_DIR/pids" ) &
        setsid sh -c 'echo $$ >> "$CSA_SESSION_DIR/pids"; exec sleep 300' &
        sleep 0.5
        echo spawned
    "#;
    let s = env.run(&["sh", "-c", script]);
    let pids = pids_in(&s, "pids", 3);
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    for pid in &pids {
        assert!(
            !alive(*pid),
            "descendant {pid} survived the session's result"
        );
    }
    assert_eq!(s.result()["summary"].as_str(), Some("spawned"));
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
}

#[test]
fn a_timeout_stops_the_command_with_124_and_says_so() {
    let env = Env::new();
    let started = Instant::now();
    let s = env.run_with(
        &["--timeout", "1s"],
        &["sh", "-c", "echo working; sleep 100"],
    );
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stdout_of(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    let result = s.result();
    assert_eq!(result["status"].as_str(), Some("timeout"));
    assert_eq!(result["exit_code"].as_integer(), Some(124));
    assert!(result["summary"].as_str().unwrap().contains("timed out"));
    assert_eq!(s.state()["termination_reason"].as_str(), Some("timeout"));
    assert_eq!(s.state()["run"]["timeout_secs"].as_integer(), Some(1));
}

#[test]
fn a_nested_sessions_daemon_survives_its_parents_ending() {
    let env = Env::new();
    // The parent starts a child session, then ends; the child keeps running.
    let script = r#"
        "$CSA_TEST_BIN" run --tool child -- sleep 300 > "$CSA_SESSION_DIR/child-id"
    "#;
    let out = env
        .csa()
        .env("CSA_TEST_BIN", assert_cmd::cargo::cargo_bin("csa"))
        .args(["run", "--tool", "parent", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let parent = env.session_of(stdout_of(&out).trim());
    let out = env
        .csa()
        .args(["session", "wait", &parent.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    let child = env.session_of(parent.read("child-id").trim());
    let (daemon, _) = child.daemon_pid();
    let (cmd, _) = child.cmd_pid();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        alive(daemon) && alive(cmd),
        "another session's daemon is left running"
    );
    assert_eq!(child.phase(), "active");
    assert_eq!(
        child.state()["genealogy"]["parent_session_id"].as_str(),
        Some(parent.id.as_str())
    );
    let out = env
        .csa()
        .args(["session", "kill", &child.id, "--grace", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("killed: exit 143"));
}

#[test]
fn a_process_that_only_looks_like_another_sessions_daemon_does_not_survive() {
    let env = Env::new();
    let other = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    // A session dir named by the id, with a daemon.pid the look-alike wrote
    // itself (a pid without its start time).
    let other_dir = env.tmp.path().join("elsewhere").join(other);
    fs_err::create_dir_all(&other_dir).unwrap();
    // `sh daemon --session-id <id>` has a csa daemon's command line shape.
    fs_err::write(
        env.project.join("daemon"),
        "[ \"$1\" = --session-dir ] && echo $$ > \"$2/daemon.pid\"\n\
         echo $$ >> \"$CSA_SESSION_DIR/pids\"\n\
         sleep 300\n",
    )
    .unwrap();
    let script = format!(
        "sh daemon --session-id {other} &\n\
         sh daemon --session-dir {dir} --session-id {other} &\n\
         while [ \"$(wc -l < \"$CSA_SESSION_DIR/pids\" 2>/dev/null)\" != 2 ]; do sleep 0.01; done\n\
         echo spawned\n",
        dir = other_dir.display()
    );
    let s = env.run(&["sh", "-c", &script]);
    let pids = pids_in(&s, "pids", 2);
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    for pid in pids {
        assert!(
            !alive(pid),
            "the look-alike daemon {pid} survived the session's result"
        );
    }
}

#[test]
fn a_look_alike_with_its_own_verified_daemon_pid_is_contained_unless_a_real_child_session() {
    let env = Env::new();
    // Two look-alikes that write a daemon.pid with their true start time,
    // so the record verifies: one in a folder outside any state root, one
    // in a session dir of the state root whose parent is another session.
    let stray = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let stray_dir = env.tmp.path().join("elsewhere").join(stray);
    fs_err::create_dir_all(&stray_dir).unwrap();
    let unrelated = "01ARZ3NDEKTSV4RRFFQ69G5FAX";
    let unrelated_dir = env.sessions_dir().join(unrelated);
    fs_err::create_dir_all(&unrelated_dir).unwrap();
    let state = state_toml(unrelated, &env.project, "active").replace(
        "[genealogy]\ndepth = 0",
        "[genealogy]\nparent_session_id = \"01ARZ3NDEKTSV4RRFFQ69G5FAY\"\ndepth = 1",
    );
    assert!(state.contains("FAY"), "{state}");
    fs_err::write(unrelated_dir.join("state.toml"), state).unwrap();
    fs_err::write(
        env.project.join("daemon"),
        "d=\"$2\"; set -- $(cat /proc/$$/stat); echo \"$1 ${22}\" > \"$d/daemon.pid\"\n\
         echo $1 >> \"$CSA_SESSION_DIR/pids\"\n\
         sleep 300\n",
    )
    .unwrap();
    let script = format!(
        "sh daemon --session-dir {stray_dir} --session-id {stray} &\n\
         sh daemon --session-dir {unrelated_dir} --session-id {unrelated} &\n\
         while [ \"$(wc -l < \"$CSA_SESSION_DIR/pids\" 2>/dev/null)\" != 2 ]; do sleep 0.01; done\n\
         echo spawned\n",
        stray_dir = stray_dir.display(),
        unrelated_dir = unrelated_dir.display(),
    );
    let s = env.run(&["sh", "-c", &script]);
    let pids = pids_in(&s, "pids", 2);
    for (dir, pid) in [&stray_dir, &unrelated_dir].into_iter().zip(&pids) {
        let record = fs_err::read_to_string(dir.join("daemon.pid")).unwrap();
        assert!(
            record.split_whitespace().count() == 2,
            "a record with a start time: {record:?} (pid {pid})"
        );
    }
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    for pid in pids {
        assert!(
            !alive(pid),
            "the look-alike daemon {pid} survived the session's result"
        );
    }
}

/// A descendant whose main thread has exited while another thread runs
/// shows `Z` in /proc, but it is running: it must be stopped like any other.
#[cfg(target_os = "linux")]
#[test]
fn a_descendant_whose_main_thread_exited_does_not_survive() {
    let env = Env::new();
    let script = r#"
import ctypes, os, signal, threading, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(os.environ["CSA_SESSION_DIR"] + "/pids", "a") as f:
        f.write("%d\n" % os.getpid())
    threading.Thread(target=lambda: time.sleep(300)).start()
    ctypes.CDLL(None).pthread_exit(None)
time.sleep(0.5)
print("spawned")
"#;
    let s = env.run(&["python3", "-c", script]);
    let pid = pids_in(&s, "pids", 1)[0];
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    let threads = |pid: u32| {
        fs_err::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| tasks.count())
            .unwrap_or(0)
    };
    assert!(
        threads(pid) <= 1,
        "descendant {pid} still runs {} threads after the session's result",
        threads(pid)
    );
}
