//! `csa session kill` when things go wrong (contract §8.8): a disk that is
//! full or read-only, a stopped daemon, a second kill with a shorter grace,
//! a dead daemon whose command cleared its environment or lost its leader,
//! concurrent kills, records of older installs, available sessions, a
//! launch in progress, and a parent cycle under `--tree`.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use csa_test_support::*;

fn kill(env: &Env, ids: &[&str], grace: &str) -> Output {
    env.csa()
        .args(["session", "kill", "--grace", grace])
        .args(ids)
        .output()
        .unwrap()
}

fn kill_in_background(env: &Env, args: &[&str]) -> Child {
    let mut cmd = env.csa_std();
    cmd.args(["session", "kill"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// The output of `child`, or a failure when it is still running `limit`
/// later (then it is killed, so the test ends).
fn output_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still ran after {limit:?}: {}{}",
                stdout_of(&out),
                stderr_of(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn gone(pid: u32) -> bool {
    proc_state(pid).is_none_or(|state| state == 'Z')
}

const IGNORES_TERM: &str = "trap '' TERM; echo ready; while :; do sleep 0.1; done";

fn run_ready(env: &Env, script: &str) -> Session {
    let s = env.run(&["sh", "-c", script]);
    s.cmd_pid();
    wait_until("the command is ready", || {
        s.exists("output.log") && s.read("output.log").contains("ready")
    });
    s
}

/// `script` by `sh` in a private mount namespace, `$CSA` and the env's
/// variables set; `None` (said on stderr) where mounts are not permitted.
fn in_mount_namespace(env: &Env, script: &str) -> Option<Output> {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=64k tmpfs /mnt")
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        eprintln!("skipped: mounts in a private mount namespace are not permitted here");
        return None;
    }
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script])
        .current_dir(&env.project);
    env.apply(&mut cmd);
    Some(cmd.output().unwrap())
}

#[test]
fn on_a_read_only_disk_kill_still_stops_the_session_and_says_what_it_could_not_record() {
    let env = Env::new();
    let s = run_ready(&env, IGNORES_TERM);
    let (cmd, _) = s.cmd_pid();
    // Only this kill sees the state read-only (its own mount namespace): it
    // cannot write the grace, so the daemon would wait its default 5 s.
    let script = format!(
        "mount --bind -o ro \"$XDG_STATE_HOME\" \"$XDG_STATE_HOME\" || exit 99; \
         exec \"$CSA\" session kill {} --grace 0.5",
        s.id
    );
    let started = Instant::now();
    let Some(out) = in_mount_namespace(&env, &script) else {
        return;
    };
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    let err = stderr_of(&out);
    assert!(
        err.contains("cannot record the stop request") && err.contains("Read-only"),
        "{err}"
    );
    assert!(gone(cmd), "the command was stopped");
    assert!(
        took < Duration::from_secs(4),
        "its own grace, not the daemon's default: {took:?}"
    );
    assert_eq!(s.result()["exit_code"].as_integer(), Some(137));
}

#[test]
fn on_a_full_disk_kill_still_stops_the_session_and_says_what_it_could_not_record() {
    let env = Env::new();
    let tmpfs = env.tmp.path().join("small");
    fs_err::create_dir_all(&tmpfs).unwrap();
    // Everything in one namespace: the state on a 2 MiB tmpfs, a session
    // that fills it, then kill.
    let script = format!(
        r#"mount -t tmpfs -o size=2m tmpfs "{small}" || exit 99
        export XDG_STATE_HOME="{small}"
        id=$("$CSA" run --tool demo -- sh -c 'echo ready; exec sleep 300') || exit 98
        dir=$(ls -d "{small}"/cli-sub-agent/*/*/*/sessions/"$id" 2>/dev/null || find "{small}" -maxdepth 12 -type d -name "$id")
        while [ ! -s "$dir/cmd.pid" ]; do sleep 0.05; done
        cmd=$(cut -d' ' -f1 "$dir/cmd.pid")
        dd if=/dev/zero of="{small}/fill" bs=4k 2>/dev/null
        "$CSA" session kill "$id" --grace 0.5; echo "kill-exit=$?"
        sleep 0.2
        if kill -0 "$cmd" 2>/dev/null && ! grep -q '^State:.*Z' /proc/$cmd/status; then echo cmd-alive; kill -9 "$cmd"; fi
        "#,
        small = tmpfs.display()
    );
    let Some(out) = in_mount_namespace(&env, &script) else {
        return;
    };
    if out.status.code() == Some(99) {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(text.contains("kill-exit=0"), "{text}");
    assert!(!text.contains("cmd-alive"), "{text}");
    assert!(text.contains(" killed"), "{text}");
    assert!(
        text.contains("No space left"),
        "says what it could not record: {text}"
    );
}

#[test]
fn a_stopped_daemon_does_not_make_kill_hang() {
    let env = Env::new();
    let s = run_ready(&env, "echo ready; exec sleep 300");
    let (daemon, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let pid = rustix::process::Pid::from_raw(daemon as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    wait_until("the daemon is stopped", || proc_state(daemon) == Some('T'));
    let running = kill_in_background(&env, &[&s.id, "--grace", "1"]);
    let out = output_within(running, Duration::from_secs(10), "kill of a stopped daemon");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    assert!(gone(cmd));
    assert_eq!(s.phase(), "retired");
}

#[test]
fn a_second_kill_with_grace_zero_escalates_a_slow_stop() {
    let env = Env::new();
    let s = run_ready(&env, IGNORES_TERM);
    let (cmd, _) = s.cmd_pid();
    let slow = kill_in_background(&env, &[&s.id, "--grace", "120"]);
    wait_until("the slow stop began", || s.exists("stop-request.toml"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!gone(cmd), "the command ignores SIGTERM");
    let fast = kill_in_background(&env, &[&s.id, "--grace", "0"]);
    let fast = output_within(fast, Duration::from_secs(10), "the second kill");
    let slow = output_within(slow, Duration::from_secs(10), "the first kill");
    for out in [&fast, &slow] {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert_eq!(stdout_of(out), format!("{} killed: exit 137\n", s.id));
    }
    assert!(gone(cmd));
    assert_eq!(s.result()["exit_code"].as_integer(), Some(137));
}

fn kill_the_daemon(s: &Session) {
    let (daemon, _) = s.daemon_pid();
    kill_group(daemon);
    wait_until("daemon gone", || gone(daemon));
}

#[test]
fn a_dead_daemons_command_that_cleared_its_environment_is_stopped() {
    let env = Env::new();
    let s = env.run(&["env", "-i", "sh", "-c", IGNORES_TERM]);
    let (cmd, _) = s.cmd_pid();
    wait_until("ready", || {
        s.exists("output.log") && s.read("output.log").contains("ready")
    });
    kill_the_daemon(&s);
    let out = kill(&env, &[&s.id], "0.3");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 137\n", s.id));
    assert!(gone(cmd));
    let result = s.result();
    assert_eq!(result["exit_code"].as_integer(), Some(137));
    assert!(
        result["summary"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        s.read("result.toml")
    );
}

/// `csa run -- sh -c <cmd>` started by a parent that becomes the parent of
/// every orphan below it (a child subreaper, Linux) and reaps them at once,
/// so a command whose daemon died is reaped as soon as it exits. Prints the
/// id; the guard ends the parent.
fn run_under_a_reaping_parent(env: &Env, cmd: &str) -> (Guard, String) {
    let script = r#"
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
out = subprocess.run([sys.argv[1], "run", "--tool", "demo", "--", "sh", "-c", sys.argv[2]],
                     capture_output=True, text=True, check=True)
print(out.stdout.strip(), flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.05)
"#;
    let mut parent = std::process::Command::new("python3");
    env.apply(&mut parent);
    parent
        .current_dir(&env.project)
        .args(["-c", script])
        .arg(assert_cmd::cargo::cargo_bin("csa"))
        .arg(cmd)
        .stdout(Stdio::piped());
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
fn what_is_left_of_a_dead_daemons_command_group_is_still_stopped() {
    let env = Env::new();
    let leave = env.tmp.path().join("leave");
    let script = format!(
        "sleep 300 & echo $! > member; echo ready; g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.05; done",
        leave.display()
    );
    let (_parent, id) = run_under_a_reaping_parent(&env, &script);
    let s = env.session_of(&id);
    let (leader, _) = s.cmd_pid();
    wait_until("ready", || {
        s.exists("output.log") && s.read("output.log").contains("ready")
    });
    let member: u32 = fs_err::read_to_string(env.project.join("member"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill_the_daemon(&s);
    fs_err::write(&leave, "").unwrap();
    wait_until("the leader has exited and been reaped", || {
        proc_state(leader).is_none()
    });
    assert!(!gone(member), "its group lives on");
    let out = kill(&env, &[&s.id], "1");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    wait_until("the member is stopped", || gone(member));
}

#[test]
fn concurrent_kills_of_a_dead_daemons_session_all_succeed_with_the_same_line() {
    let env = Env::new();
    let s = run_ready(&env, IGNORES_TERM);
    let (cmd, _) = s.cmd_pid();
    kill_the_daemon(&s);
    let kills: Vec<Child> = (0..6)
        .map(|_| kill_in_background(&env, &[&s.id, "--grace", "0.5"]))
        .collect();
    let outs: Vec<Output> = kills
        .into_iter()
        .map(|k| output_within(k, Duration::from_secs(20), "a concurrent kill"))
        .collect();
    for out in &outs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert_eq!(stdout_of(out), format!("{} killed: exit 137\n", s.id));
    }
    assert!(gone(cmd));
    assert_eq!(s.result()["exit_code"].as_integer(), Some(137));
    assert!(
        s.result()["summary"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        s.read("result.toml")
    );
}

#[test]
fn an_older_installs_record_without_start_time_naming_a_dead_process_is_already_ended() {
    let env = Env::new();
    let s = env.session("active");
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let pid = exited.id();
    exited.wait().unwrap();
    s.write("daemon.pid", &format!("{pid}\n"));
    let out = kill(&env, &[&s.id], "1");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).starts_with(&format!("{} already ended: ", s.id)),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.phase(), "retired");
    let all = env
        .csa()
        .args(["session", "kill", "--all"])
        .output()
        .unwrap();
    assert!(all.status.success(), "{}", stderr_of(&all));
}

#[test]
fn an_available_session_with_a_live_daemon_is_stopped_like_an_active_one() {
    let env = Env::new();
    let s = run_ready(&env, "echo ready; exec sleep 300");
    let (cmd, _) = s.cmd_pid();
    let state = s.read("state.toml");
    assert!(state.contains("phase = \"active\""), "{state}");
    s.write(
        "state.toml",
        &state.replace("phase = \"active\"", "phase = \"available\""),
    );
    let out = env
        .csa()
        .args(["session", "kill", "--all", "--grace", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    assert!(gone(cmd));
    assert_eq!(s.phase(), "retired");
}

#[test]
fn kill_all_during_a_launch_waits_for_the_daemon_to_take_over() {
    let env = Env::new();
    let s = run_ready(&env, "echo ready; exec sleep 300");
    let (cmd, _) = s.cmd_pid();
    let real = s.read("daemon.pid");
    // `daemon.pid` names a `csa run` still starting the daemon: a process
    // whose command line is `<program> run`.
    let script_dir = env.tmp.path().join("launcher");
    fs_err::create_dir_all(&script_dir).unwrap();
    fs_err::write(script_dir.join("run"), "sleep 300\n").unwrap();
    let launcher = {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("run").current_dir(&script_dir).process_group(0);
        Guard {
            child: cmd.spawn().unwrap(),
            group: true,
        }
    };
    let ticks = csa_process::facts::start_time_ticks(launcher.pid()).unwrap();
    replace(
        &s.path("daemon.pid"),
        &format!("{} {ticks}\n", launcher.pid()),
    );
    let running = kill_in_background(&env, &["--all", "--grace", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    // The daemon takes over.
    replace(&s.path("daemon.pid"), &real);
    let out = output_within(running, Duration::from_secs(10), "kill --all");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{} killed: exit 143\n", s.id));
    assert!(gone(cmd));
    assert!(!gone(launcher.pid()), "the launcher is never signalled");
}

/// Replace `path` with `text` in one rename, as csa writes pid records.
fn replace(path: &Path, text: &str) {
    let temp = path.with_extension("test-tmp");
    fs_err::write(&temp, text).unwrap();
    fs_err::rename(&temp, path).unwrap();
}

#[test]
fn kill_tree_stops_both_members_of_a_parent_cycle_once() {
    let env = Env::new();
    let a = run_ready(&env, "echo ready; exec sleep 300");
    let b = run_ready(&env, "echo ready; exec sleep 300");
    for (child, parent) in [(&a, &b), (&b, &a)] {
        let state = child.read("state.toml");
        assert!(!state.contains("[genealogy]"), "{state}");
        child.write(
            "state.toml",
            &format!(
                "{state}\n[genealogy]\nparent_session_id = \"{}\"\ndepth = 1\n",
                parent.id
            ),
        );
    }
    let (cmd_a, _) = a.cmd_pid();
    let (cmd_b, _) = b.cmd_pid();
    let out = env
        .csa()
        .args(["session", "kill", "--tree", &a.id, "--grace", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 2, "each member once: {text}");
    for s in [&a, &b] {
        assert!(
            text.contains(&format!("{} killed: exit 143", s.id)),
            "{text}"
        );
    }
    assert!(gone(cmd_a) && gone(cmd_b));
}
