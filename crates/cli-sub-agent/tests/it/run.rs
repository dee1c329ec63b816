//! `csa run` and `session wait` with real daemons: results, the launch and
//! what a caller sees.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use csa_test_support::*;

fn run(env: &Env, cmd: &[&str]) -> Session {
    env.run(cmd)
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
        "hostname",
        "pid_namespace",
    ] {
        assert!(!lock[key].is_null(), "lock JSON lacks {key}: {lock}");
    }
}

#[test]
fn the_end_of_a_run_is_its_last_access() {
    let env = Env::new();
    let s = run(&env, &["sh", "-c", "sleep 1.2; echo late"]);
    let created = s.state()["created_at"].as_str().unwrap().to_owned();
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .success();
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    let state = s.state();
    let last = at(state["last_accessed"].as_str().unwrap());
    let completed = at(s.result()["completed_at"].as_str().unwrap());
    assert!(
        last >= completed,
        "last_accessed {last} before the end {completed}"
    );
    assert!(
        last - at(&created) >= chrono::TimeDelta::seconds(1),
        "moved on from the creation"
    );
}

#[test]
fn wait_times_out_with_124() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    s.cmd_pid();
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(stderr_of(&out).contains("timed out"));
    env.csa()
        .args(["session", "kill", &s.id, "--grace", "0"])
        .assert()
        .success();
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

#[test]
fn a_command_that_cannot_start_fails_run_with_the_cause_and_a_127_result() {
    let env = Env::new();
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--", "/no/such/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot start") && err.contains("/no/such/program"),
        "{err}"
    );
    assert!(stdout_of(&out).is_empty());
    let id = err.split_whitespace().nth(3).unwrap();
    let s = env.session_of(id);
    assert_eq!(s.result()["exit_code"].as_integer(), Some(127));
    assert_eq!(s.phase(), "retired");
    assert!(s.read("stderr.log").contains("cannot start"));
}

#[test]
fn a_tool_name_that_is_not_a_plain_name_is_refused_and_creates_nothing() {
    let env = Env::new();
    for tool in [
        "x".repeat(300),
        "../up".to_owned(),
        "a b".to_owned(),
        String::new(),
    ] {
        let out = env
            .csa()
            .args(["run", "--tool", &tool, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{tool}");
        assert!(
            stderr_of(&out).contains("invalid tool name"),
            "{}",
            stderr_of(&out)
        );
    }
    assert!(!env.sessions_dir().exists(), "nothing was created");
}

#[test]
fn a_command_too_large_for_a_state_csa_can_read_back_is_refused_and_creates_nothing() {
    let env = Env::new();
    // 11 arguments of 100,000 bytes: over a megabyte, which no reader of
    // state.toml would take back, yet a valid argument list.
    let big = "a".repeat(100_000);
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--", "true"])
        .args(std::iter::repeat_n(&big, 11))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("shorten the command"), "{err}");
    let left = fs_err::read_dir(env.sessions_dir())
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "nothing was created");
}

#[test]
fn a_daemon_killed_alone_leaves_its_command_alive_and_the_session_active() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    let (daemon, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let listed = |env: &Env| {
        let out = env
            .csa()
            .args(["session", "list", "--json"])
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows[0]["status"].as_str().unwrap().to_owned()
    };
    let before = s.snapshot();
    assert_eq!(listed(&env), "Active");
    assert_eq!(
        s.snapshot(),
        before,
        "listing a live session writes nothing"
    );

    // The daemon dies; its command (its own process group) lives on.
    kill_group(daemon);
    // Gone, or a zombie where nothing reaps it (pid 1 of a namespace that
    // is not an init): either way no live process is left in its group.
    wait_until("daemon gone", || group_members(daemon) == 0);
    for log in ["output.log", "stderr.log"] {
        backdate(&s.path(log), 120);
    }
    assert_eq!(listed(&env), "Active", "cmd.pid keeps the session alive");
    assert!(!s.exists("result.toml"));

    // Then the command dies too: the session is reconciled as orphaned.
    kill_group(cmd);
    wait_until("command gone", || group_members(cmd) == 0);
    assert_eq!(listed(&env), "Failed");
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
fn a_callers_pipe_sees_end_of_file_as_soon_as_run_returns_and_its_cwd_is_not_pinned() {
    let env = Env::new();
    // The caller's stdout and stderr are pipes; `csa run` must not let the
    // daemon or the command keep them open.
    let mut child = env
        .csa_std()
        .args(["run", "--tool", "demo", "--", "sleep", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        let mut err = String::new();
        stderr.read_to_string(&mut err).unwrap();
        (text, Instant::now())
    });
    let status = child.wait().unwrap();
    let returned = Instant::now();
    assert!(status.success());
    let (text, eof) = reader.join().unwrap();
    assert!(
        eof.saturating_duration_since(returned) < Duration::from_secs(2),
        "EOF came {:?} after csa run returned",
        eof.saturating_duration_since(returned)
    );
    let s = env.session_of(text.trim());
    // Nor does the daemon keep the caller's working directory.
    if cfg!(target_os = "linux") {
        let (daemon, _) = s.daemon_pid();
        assert_eq!(
            fs_err::read_link(format!("/proc/{daemon}/cwd")).unwrap(),
            std::path::Path::new("/")
        );
    }
    env.csa()
        .args(["session", "kill", &s.id, "--grace", "0"])
        .assert()
        .success();
}

#[test]
fn a_launch_interrupted_before_the_daemon_exists_converges() {
    let env = Env::new();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::RunCreated.spec(FaultMode::Abort))
        .args(["run", "--tool", "demo", "--", "sleep", "100"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the launcher was aborted");
    let s = the_only_session(&env);
    // The launcher's pid is dead and its lock went with it: not unknown
    // forever, but dead, and settled by the next reconcile.
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).contains("synthesized-failure"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.phase(), "retired");
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "wait returns at once");
}

#[test]
fn a_session_dir_never_appears_without_its_state() {
    let env = Env::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(entries) = fs_err::read_dir(env.sessions_dir()) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') || !entry.path().is_dir() {
                        continue;
                    }
                    seen += 1;
                    assert!(
                        entry.path().join("state.toml").exists(),
                        "{name} has no state"
                    );
                }
            }
            seen
        });
        for _ in 0..10 {
            run(&env, &["true"]);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(watcher.join().unwrap() > 0);
    });
}

/// The one session of `env`'s project (a run whose launcher died prints no id).
fn the_only_session(env: &Env) -> Session {
    let ids: Vec<String> = fs_err::read_dir(env.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(ids.len(), 1, "one session: {ids:?}");
    env.session_of(&ids[0])
}

/// `daemon.pid` names the live `csa daemon` of this very session.
#[cfg(target_os = "linux")]
fn assert_daemon_pid_names_the_daemon(s: &Session) {
    let (pid, ticks) = s.daemon_pid();
    assert_eq!(
        csa_process::facts::start_time_ticks(pid),
        Some(ticks),
        "daemon.pid names pid {pid}, which is not running with that start time"
    );
    let args = csa_process::facts::cmdline_args(pid).unwrap_or_default();
    assert!(
        csa_process::signal::is_daemon_of(&args, &s.id),
        "daemon.pid names pid {pid}, whose command line is {args:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn daemon_pid_names_the_daemon_even_when_the_launcher_dies_right_after_starting_it() {
    let env = Env::new();
    let s = run(&env, &["sleep", "100"]);
    assert_daemon_pid_names_the_daemon(&s);
    env.csa()
        .args(["session", "kill", &s.id, "--grace", "0"])
        .assert()
        .success();

    // The launcher dies the moment the daemon exists, before it hears from
    // it: the daemon must have named itself, or kill would find only the
    // dead launcher.
    let env = Env::new();
    let out = env
        .csa()
        .env(FAULT_ENV, FaultPoint::RunSpawned.spec(FaultMode::Abort))
        .args(["run", "--tool", "demo", "--", "sleep", "100"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the launcher was aborted");
    let s = the_only_session(&env);
    s.cmd_pid();
    assert_daemon_pid_names_the_daemon(&s);
    let out = env
        .csa()
        .args(["session", "kill", &s.id, "--grace", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    let summary = s.result()["summary"].as_str().unwrap().to_owned();
    assert!(
        summary.starts_with("killed by csa session kill (ended by SIGTERM"),
        "the daemon stopped its command and wrote the result: {summary}"
    );
}

#[test]
fn a_kill_while_the_daemon_starts_is_a_stop_request_not_its_death() {
    let env = Env::new();
    let point = FaultPoint::DaemonPidWritten;
    let mut run = env.csa_std();
    run.env(FAULT_ENV, point.spec(FaultMode::Pause))
        .args(["run", "--tool", "demo", "--", "sleep", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let run = run.spawn().unwrap();
    // daemon.pid names the daemon; it has not started the command yet.
    env.wait_for_pause(point);
    let s = the_only_session(&env);
    assert_daemon_pid_names_the_daemon(&s);
    let mut kill = env.csa_std();
    kill.args(["session", "kill", &s.id, "--grace", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let kill = kill.spawn().unwrap();
    wait_until("stop request", || s.exists("stop-request.toml"));
    std::thread::sleep(Duration::from_millis(200));
    env.resume(point);
    let out = kill.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(s.result()["status"].as_str(), Some("killed"));
}

/// A project dir this user cannot enter is refused before a session exists
/// (not reported as a command that cannot start).
#[cfg(target_os = "linux")]
#[test]
fn a_project_dir_the_user_cannot_enter_is_refused_and_creates_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let closed = env.tmp.path().join("closed");
    fs_err::create_dir(&closed).unwrap();
    // Permission bits bind only an unprivileged user.
    let Some(mut run) = env.csa_unprivileged() else {
        return;
    };
    let mode = |bits| {
        fs_err::set_permissions(&closed, std::fs::Permissions::from_mode(bits)).unwrap();
    };
    mode(0o000);
    let out = run
        .args(["run", "--tool", "demo", "--cd"])
        .arg(&closed)
        .args(["--", "pwd"])
        .output()
        .unwrap();
    mode(0o755);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("cannot run in {}", closed.display())),
        "{err}"
    );
    assert!(nothing_under(&env.state_home), "nothing was created");
}

/// No file at all below `dir` (or no `dir`).
fn nothing_under(dir: &std::path::Path) -> bool {
    !dir.exists() || snapshot_dir(dir).is_empty()
}

#[cfg(target_os = "linux")]
#[test]
fn a_project_dir_whose_path_is_not_utf8_is_refused_and_creates_nothing() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let odd = env
        .tmp
        .path()
        .join(std::ffi::OsStr::from_bytes(b"proj-\xff"));
    fs_err::create_dir(&odd).unwrap();
    let out = env
        .csa()
        .arg("run")
        .arg("--cd")
        .arg(&odd)
        .args(["--tool", "demo", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("is not valid UTF-8"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(nothing_under(&env.state_home), "nothing was created");
}
