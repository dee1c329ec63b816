//! `csa session kill`: verified before any signal, stopped by the daemon with
//! a real `killed` result, and never anything outside the session.

use std::time::{Duration, Instant};

use csa_test_support::*;

fn kill(env: &Env, ids: &[&str], grace: &str) -> std::process::Output {
    env.csa()
        .args(["session", "kill", "--grace", grace])
        .args(ids)
        .output()
        .unwrap()
}

#[test]
fn a_cooperative_command_ends_killed_with_143_recorded_by_its_daemon() {
    let env = Env::new();
    let s = env.run(&["sleep", "100"]);
    let (cmd, _) = s.cmd_pid();
    let started = Instant::now();
    let out = kill(&env, &[&s.id], "5");
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    let again = kill(&env, &[&s.id], "5");
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(
        stdout_of(&again),
        format!("{} already ended: killed exit 143\n", s.id),
        "a second kill stops nothing"
    );
    assert!(
        took < Duration::from_secs(3),
        "a cooperative command stops at once: {took:?}"
    );
    assert!(!group_alive(cmd) || proc_state(cmd) == Some('Z'));
    let result = s.result();
    assert_eq!(result["status"].as_str(), Some("killed"));
    assert_eq!(result["exit_code"].as_integer(), Some(143));
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.state()["termination_reason"].as_str(), Some("killed"));
}

#[test]
fn a_term_ignoring_command_is_killed_with_137_after_the_grace() {
    let env = Env::new();
    let s = env.run(&[
        "sh",
        "-c",
        "trap '' TERM; echo ready; while :; do sleep 0.2; done",
    ]);
    s.cmd_pid();
    wait_until("the trap is set", || {
        s.exists("output.log") && s.read("output.log").contains("ready")
    });
    let started = Instant::now();
    let out = kill(&env, &[&s.id], "1");
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    assert!(
        took >= Duration::from_millis(900),
        "the grace was honoured: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "grace + 1 s at most (plus slack): {took:?}"
    );
    assert_eq!(s.result()["status"].as_str(), Some("killed"));
    assert!(
        s.result()["summary"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        s.read("result.toml")
    );
}

#[test]
fn kill_all_stops_every_active_session_of_the_project() {
    let env = Env::new();
    let a = env.run(&["sleep", "100"]);
    let b = env.run(&["sh", "-c", "trap '' TERM; while :; do sleep 0.2; done"]);
    let done = env.run(&["true"]);
    for s in [&a, &b] {
        s.cmd_pid();
    }
    env.csa()
        .args(["session", "wait", &done.id, "--timeout", "20"])
        .assert()
        .success();
    let started = Instant::now();
    let out = env
        .csa()
        .args(["session", "kill", "--all", "--grace", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("{} killed: exit 143", a.id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} killed: exit 137", b.id)),
        "{text}"
    );
    assert!(
        !text.contains(&done.id),
        "an ended session is not an active one: {text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "sessions are stopped together, not one grace after the other"
    );
}

#[test]
fn kill_after_the_daemon_was_sigkilled_stops_the_command_itself() {
    let env = Env::new();
    let s = env.run(&["sh", "-c", "trap '' TERM; while :; do sleep 0.2; done"]);
    let (daemon, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    kill_group(daemon);
    // Gone, or a zombie where nothing reaps it (pid 1 of a namespace that
    // is not an init): either way no live process is left in its group.
    wait_until("daemon gone", || group_members(daemon) == 0);
    assert!(group_alive(cmd), "the command outlives its daemon");
    let out = kill(&env, &[&s.id], "0.5");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    wait_until("command gone", || {
        proc_state(cmd).is_none_or(|state| state == 'Z')
    });
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.state()["termination_reason"].as_str(), Some("killed"));
    assert_eq!(s.result()["status"].as_str(), Some("killed"));
}

/// `csa run` started by a parent that becomes the daemon's parent (a child
/// subreaper, Linux) and never reaps it: a killed daemon stays a zombie, as
/// it does under an init that does not reap. Prints the id; the guard ends
/// the parent.
fn run_under_a_parent_that_never_reaps(env: &Env, cmd: &str) -> (Guard, String) {
    let script = r#"
import ctypes, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
out = subprocess.run([sys.argv[1], "run", "--tool", "demo", "--", "sh", "-c", sys.argv[2]],
                     capture_output=True, text=True, check=True)
print(out.stdout.strip(), flush=True)
time.sleep(120)
"#;
    let mut parent = std::process::Command::new("python3");
    env.apply(&mut parent);
    parent
        .current_dir(&env.project)
        .args(["-c", script])
        .arg(assert_cmd::cargo::cargo_bin("csa"))
        .arg(cmd)
        .stdout(std::process::Stdio::piped());
    let mut guard = Guard {
        child: parent.spawn().unwrap(),
        group: false,
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(guard.child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (guard, line.trim().to_owned())
}

#[test]
fn kill_stops_the_command_while_the_killed_daemon_is_an_unreaped_zombie() {
    let env = Env::new();
    let (_parent, id) =
        run_under_a_parent_that_never_reaps(&env, "trap '' TERM; while :; do sleep 0.2; done");
    let s = env.session_of(&id);
    let (daemon, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    kill_group(daemon);
    wait_until("the daemon is a zombie", || proc_state(daemon) == Some('Z'));
    let out = kill(&env, &[&s.id], "0.5");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    assert_eq!(
        proc_state(daemon),
        Some('Z'),
        "still unreaped: it was a zombie throughout"
    );
    assert!(proc_state(cmd).is_none_or(|state| state == 'Z'));
    assert_eq!(s.result()["status"].as_str(), Some("killed"));
}

#[test]
fn killing_an_ended_session_says_so_and_exits_zero() {
    let env = Env::new();
    let s = env.run(&["sh", "-c", "exit 4"]);
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .code(4);
    let out = kill(&env, &[&s.id], "1");
    assert!(out.status.success());
    assert_eq!(
        stdout_of(&out),
        format!("{} already ended: failure exit 4\n", s.id)
    );
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
    let mut unrelated = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap()
    };
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
    let s = env.run(&["sleep", "100"]);
    let (pid, _) = s.daemon_pid();
    s.cmd_pid();
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
    let (cmd, _) = s.cmd_pid();
    assert!(group_alive(cmd), "nothing may be signalled");
    kill_group(cmd);
    kill_group(pid);
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
fn the_longest_timeouts_and_grace_csa_accepts_work_without_a_panic() {
    let env = Env::new();
    let s = env.run_with(&["--timeout", "3650d"], &["sleep", "100"]);
    s.cmd_pid();
    assert_eq!(
        s.state()["run"]["timeout_secs"].as_integer(),
        Some(315_360_000)
    );
    let out = kill(&env, &[&s.id], "315360000");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    assert!(
        s.result()["summary"]
            .as_str()
            .unwrap()
            .starts_with("killed by csa session kill"),
        "the daemon lived to record the stop: {}",
        s.read("result.toml")
    );
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "315360000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr_of(&out));
}

#[test]
fn a_command_that_exits_zero_on_sigterm_is_still_killed_with_143() {
    let script = "trap 'exit 0' TERM; echo ready; while :; do sleep 0.2; done";
    let env = Env::new();
    let s = env.run(&["sh", "-c", script]);
    s.cmd_pid();
    wait_until("the trap is set", || {
        s.exists("output.log") && s.read("output.log").contains("ready")
    });
    let out = kill(&env, &[&s.id], "5");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    let result = s.result();
    assert_eq!(result["status"].as_str(), Some("killed"));
    assert_eq!(result["exit_code"].as_integer(), Some(143));
    assert!(
        result["summary"]
            .as_str()
            .unwrap()
            .contains("its own exit 0 after SIGTERM"),
        "{}",
        s.read("result.toml")
    );

    // The same command stopped by --timeout: a timeout, exit 124.
    let s = env.run_with(&["--timeout", "1"], &["sh", "-c", script]);
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stdout_of(&out));
    assert_eq!(s.result()["status"].as_str(), Some("timeout"));
    assert_eq!(s.result()["exit_code"].as_integer(), Some(124));
}

#[test]
fn a_nested_sessions_daemon_is_never_taken_for_the_command_of_its_parent() {
    let env = Env::new();
    // Session A's daemon is gone; its cmd.pid is made to name the daemon of
    // session B, which A's command started (so B was launched with A's id
    // in its environment).
    let parent = env.session("active");
    let out = env
        .csa()
        .env("CSA_SESSION_ID", &parent.id)
        .env("CSA_DEPTH", "1")
        .args(["run", "--tool", "demo", "--", "sleep", "100"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let child = env.session_of(stdout_of(&out).trim());
    let (daemon, ticks) = child.daemon_pid();
    let environ = fs_err::read(format!("/proc/{daemon}/environ")).unwrap();
    assert!(
        !environ
            .split(|b| *b == 0)
            .any(|var| var.starts_with(b"CSA_SESSION_ID=")),
        "a daemon carries no session id of its launcher"
    );
    parent.write("cmd.pid", &format!("{daemon} {ticks}\n"));

    let out = kill(&env, &[&parent.id], "0");
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("is the csa daemon of session {}", child.id)),
        "{err}"
    );
    assert!(group_alive(daemon), "nothing may be signalled");
    assert_eq!(child.phase(), "active");
    let out = kill(&env, &[&child.id], "0");
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn kill_refuses_a_session_with_a_lock_record_from_another_host() {
    let env = Env::new();
    let s = env.run(&["sleep", "100"]);
    let (pid, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    // A record naming another pid still says where the session runs.
    s.write(
        "locks/other.lock",
        r#"{"pid": 12345, "hostname": "elsewhere.example"}"#,
    );
    let out = kill(&env, &[&s.id], "0");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("written on host elsewhere.example"), "{err}");
    assert!(
        group_alive(pid) && group_alive(cmd),
        "nothing may be signalled"
    );
    fs_err::remove_file(s.path("locks/other.lock")).unwrap();
    let out = kill(&env, &[&s.id], "0");
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn kill_stops_the_command_itself_when_the_daemon_dies_while_stopping_it() {
    let env = Env::new();
    let s = env.run(&["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]);
    let (daemon, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let mut kill = env.csa_std();
    kill.args(["session", "kill", &s.id, "--grace", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let running = kill.spawn().unwrap();
    // The stop request is written just before the daemon is signalled.
    wait_until("stop request", || s.exists("stop-request.toml"));
    kill_group(daemon);
    let out = running.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    wait_until("command gone", || {
        proc_state(cmd).is_none_or(|state| state == 'Z')
    });
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.result()["status"].as_str(), Some("killed"));
}
