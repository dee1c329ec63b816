//! `csa run`, `session wait`, `session kill` with real daemons.

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use csa_test_support::*;

fn run(env: &Env, cmd: &[&str]) -> Session {
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--"])
        .args(cmd)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(
        text.lines().count(),
        1,
        "stdout must be the id alone: {text:?}"
    );
    let id = text.trim().to_owned();
    csa_session::SessionId::parse(&id).expect("a ULID");
    Session {
        dir: env.sessions_dir().join(&id),
        id,
    }
}

fn daemon_pid(s: &Session) -> (u32, u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = fs_err::read_to_string(s.path("daemon.pid")) {
            let mut parts = text.split_whitespace();
            let pid = parts.next().unwrap().parse().unwrap();
            let ticks = parts.next().expect("start time recorded").parse().unwrap();
            return (pid, ticks);
        }
        assert!(Instant::now() < deadline, "no daemon.pid");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_failing_command_ends_failed_with_its_exit_code_and_last_line() {
    let env = Env::new();
    let s = run(&env, &["sh", "-c", "echo hi; exit 3"]);
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("failure exit 3: hi"),
        "{}",
        stdout_of(&out)
    );
    let list = stdout_of(&env.csa().args(["session", "list"]).output().unwrap());
    assert!(
        list_line(&list, &s.id).is_some_and(|l| l.contains("Failed")),
        "{list}"
    );
    let result = s.result();
    assert_eq!(result["exit_code"].as_integer(), Some(3));
    assert_eq!(result["summary"].as_str(), Some("hi"));
    assert_eq!(result["tool"].as_str(), Some("demo"));
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
    assert!(s.exists("daemon-completion.toml"));
    let lock: serde_json::Value = serde_json::from_str(&s.read("locks/demo.lock")).unwrap();
    for key in [
        "pid",
        "tool_name",
        "acquired_at",
        "reason",
        "pid_start_time_ticks",
        "boot_id",
    ] {
        assert!(!lock[key].is_null(), "lock JSON lacks {key}: {lock}");
    }
}

#[test]
fn a_killed_daemon_is_listed_active_until_dead_then_failed_as_orphaned() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    let (pid, _) = daemon_pid(&s);
    // The daemon takes its lock, then creates the logs as it starts the command.
    wait_until("daemon running", || {
        s.exists("locks/demo.lock")
            && !s.read("locks/demo.lock").is_empty()
            && s.exists("output.log")
            && s.exists("stderr.log")
    });
    let before = s.snapshot();
    let list = stdout_of(&env.csa().args(["session", "list"]).output().unwrap());
    assert!(
        list_line(&list, &s.id).is_some_and(|l| l.contains("Active")),
        "{list}"
    );
    assert_eq!(
        s.snapshot(),
        before,
        "listing a live session writes nothing"
    );

    kill_group(pid);
    wait_until("group gone", || !group_alive(pid));
    // The logs were just created: age them past the progress window.
    for log in ["output.log", "stderr.log"] {
        backdate(&s.path(log), 120);
    }
    let list = stdout_of(&env.csa().args(["session", "list"]).output().unwrap());
    assert!(
        list_line(&list, &s.id).is_some_and(|l| l.contains("Failed")),
        "{list}"
    );
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
    assert!(
        s.result()["summary"]
            .as_str()
            .unwrap()
            .starts_with("synthetic failure by session list")
    );
}

#[test]
fn session_kill_terminates_and_the_daemon_records_the_result() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    let (pid, _) = daemon_pid(&s);
    // SIGTERM must reach the command, so wait until the daemon has started it:
    // the group then has a member besides the daemon.
    wait_until("command started", || group_members(pid) >= 2);
    let out = env
        .csa()
        .args(["session", "kill", &s.id, "--grace", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("terminated"),
        "{}",
        stdout_of(&out)
    );
    // The daemon has exited; reaping its zombie is its parent's (init's) business.
    wait_until("group reaped", || !group_alive(pid));
    let result = s.result();
    assert_eq!(result["exit_code"].as_integer(), Some(143));
    assert_eq!(result["status"].as_str(), Some("signal"));
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
}

#[test]
fn kill_refuses_a_pid_reused_by_an_unrelated_process() {
    let env = Env::new();
    let s = env.session("active");
    let mut unrelated = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let real = csa_process::facts::start_time_ticks(unrelated.id()).unwrap();
    s.write("daemon.pid", &format!("{} {}\n", unrelated.id(), real + 7));
    let out = env.csa().args(["session", "kill", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("refusing to signal") && err.contains("reused"),
        "{err}"
    );
    assert!(
        unrelated.try_wait().unwrap().is_none(),
        "the unrelated process must live"
    );
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
}

#[test]
fn kill_refuses_a_record_without_start_time() {
    let env = Env::new();
    let s = env.session("active");
    s.write("daemon.pid", "1\n");
    let out = env.csa().args(["session", "kill", &s.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("cannot be verified"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn wait_times_out_with_124() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    let (pid, _) = daemon_pid(&s);
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(stderr_of(&out).contains("timed out"));
    kill_group(pid);
}

#[test]
fn a_command_that_cannot_start_fails_with_127() {
    let env = Env::new();
    let s = run(&env, &["/no/such/program"]);
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stdout_of(&out));
    assert!(s.read("stderr.log").contains("cannot start"));
}

#[test]
fn twenty_concurrent_runs_each_end_with_exactly_one_real_result_while_list_loops() {
    let env = Env::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let sessions = std::thread::scope(|scope| {
        let lister = scope.spawn(|| {
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = env.csa().args(["session", "list"]).output().unwrap();
                assert!(out.status.success(), "{}", stderr_of(&out));
                runs += 1;
            }
            runs
        });
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let env = &env;
                scope.spawn(move || {
                    run(
                        env,
                        &["sh", "-c", &format!("sleep 0.{}; echo done {i}", i % 7)],
                    )
                })
            })
            .collect();
        let sessions: Vec<Session> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for s in &sessions {
            let out = env
                .csa()
                .args(["session", "wait", &s.id, "--timeout", "30"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(lister.join().unwrap() > 0);
        sessions
    });
    for (i, s) in sessions.iter().enumerate() {
        let result = s.result();
        assert_eq!(
            result["summary"].as_str(),
            Some(format!("done {i}").as_str()),
            "no synthetic result"
        );
        assert_eq!(s.phase(), "retired");
        assert_eq!(s.result_files(), 1);
    }
}

/// The text of `csa session kill <id>` run inside a private pid namespace in
/// which `daemon.pid` names that namespace's pid 1 with its real start time.
/// Returns `None` where pid namespaces cannot be created.
fn kill_pid_one_in_private_namespace(env: &Env, s: &Session) -> Option<String> {
    // pid 1 is this shell; a sleeper beside it would die if anything
    // signalled the whole namespace (kill(-1) or killpg(1)).
    let script = r#"
        sleep 300 & sleeper=$!
        ticks=$(cut -d' ' -f22 /proc/1/stat)
        printf '1 %s\n' "$ticks" > "$DIR/daemon.pid"
        "$CSA" session kill "$ID" --grace 0.2; echo "kill-exit=$?"
        if kill -0 "$sleeper" 2>/dev/null; then echo sleeper-alive; fi
        kill -9 "$sleeper"
    "#;
    let out = env
        .in_private_pid_namespace()?
        .args(["sh", "-c", script])
        .env("DIR", &s.dir)
        .env("ID", &s.id)
        .output()
        .unwrap();
    Some(format!("{}{}", stdout_of(&out), stderr_of(&out)))
}

#[test]
fn kill_never_signals_pid_one_whatever_daemon_pid_says() {
    let env = Env::new();
    let s = env.session("active");
    let Some(text) = kill_pid_one_in_private_namespace(&env, &s) else {
        return;
    };
    assert!(text.contains("kill-exit=1"), "{text}");
    assert!(
        text.contains("sleeper-alive"),
        "nothing may be signalled: {text}"
    );
    assert!(
        text.contains("refusing to signal") && text.contains("pid 1 is never signalled"),
        "{text}"
    );
}

#[test]
fn kill_never_signals_a_live_process_that_is_not_the_sessions_daemon() {
    let env = Env::new();
    let s = env.session("active");
    // A live process with exactly the recorded start time: only its command
    // line says it is not a csa daemon of this session.
    let mut unrelated = std::process::Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    let ticks = csa_process::facts::start_time_ticks(unrelated.id()).unwrap();
    s.write("daemon.pid", &format!("{} {ticks}\n", unrelated.id()));
    let out = env
        .csa()
        .args(["session", "kill", &s.id, "--grace", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("refusing to signal") && err.contains("is not the csa daemon of session"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        unrelated.try_wait().unwrap().is_none(),
        "the unrelated process must live"
    );
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
}

#[test]
fn kill_refuses_a_daemon_whose_lock_record_is_from_another_boot() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    let (pid, _) = daemon_pid(&s);
    wait_until("command started", || group_members(pid) >= 2);
    let lock: serde_json::Value = serde_json::from_str(&s.read("locks/demo.lock")).unwrap();
    let mut lock = lock.as_object().unwrap().clone();
    lock.insert(
        "boot_id".into(),
        "00000000-0000-0000-0000-000000000000".into(),
    );
    // Rewrite in place: the daemon keeps its flock on the same inode.
    let file = fs_err::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(s.path("locks/demo.lock"))
        .unwrap();
    serde_json::to_writer(file, &lock).unwrap();
    let out = env
        .csa()
        .args(["session", "kill", &s.id, "--grace", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("before this machine restarted"), "{err}");
    assert!(group_alive(pid), "nothing may be signalled");
    kill_group(pid);
}
