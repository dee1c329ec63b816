//! `csa session logs`: raw bytes, `--tail`, `--stderr`, `--follow` with real
//! daemons, and hostile log files that must never hang it.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use csa_test_support::*;

/// Longest any `logs` run below may take before the test fails.
const NO_HANG: Duration = Duration::from_secs(20);

fn logs(env: &Env, args: &[&str]) -> std::process::Output {
    env.csa()
        .args(["session", "logs"])
        .args(args)
        .timeout(NO_HANG)
        .output()
        .unwrap()
}

/// `csa session logs -f ID`, running, and a reader of its stdout.
fn follow(env: &Env, id: &str) -> (Guard, BufReader<std::process::ChildStdout>) {
    let mut follow = env.csa_std();
    follow
        .args(["session", "logs", "-f", id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: follow.spawn().unwrap(),
        group: false,
    };
    let out = BufReader::new(child.child.stdout.take().unwrap());
    (child, out)
}

#[test]
fn logs_print_raw_bytes_the_last_lines_and_stderr() {
    let env = Env::new();
    let s = env.run_with(
        &[],
        &[
            "sh",
            "-c",
            r"printf 'one\ntwo \033[31mred\r\nthree\n'; echo oops >&2",
        ],
    );
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    let out = logs(&env, &[&s.id]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(out.stdout, b"one\ntwo \x1b[31mred\r\nthree\n");
    let out = logs(&env, &[&s.id, "--tail", "2"]);
    assert_eq!(out.stdout, b"two \x1b[31mred\r\nthree\n");
    let out = logs(&env, &[&s.id, "--tail", "0"]);
    assert_eq!(out.stdout, b"");
    let out = logs(&env, &[&s.id, "--tail", "99"]);
    assert_eq!(out.stdout, b"one\ntwo \x1b[31mred\r\nthree\n");
    let out = logs(&env, &[&s.id, "--stderr"]);
    assert_eq!(out.stdout, b"oops\n");
    let out = logs(&env, &[&s.id, "--stderr", "--tail", "1", "--follow"]);
    assert_eq!(out.stdout, b"oops\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "--follow of an ended session exits with its code"
    );

    // No log yet: nothing, and success.
    let quiet = env.session("retired");
    let out = logs(&env, &[&quiet.id]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn follow_prints_lines_while_the_command_runs_and_exits_with_its_code() {
    let env = Env::new();
    let go = env.tmp.path().join("go");
    let script = format!(
        "echo first; g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; echo second; exit 3",
        go.display()
    );
    let s = env.run_with(&[], &["sh", "-c", &script]);
    let (mut child, mut out) = follow(&env, &s.id);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    // The command is still running: it waits for `go`.
    assert_eq!(s.phase(), "active");
    assert!(!s.exists("result.toml"));
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "logs -f must keep following"
    );

    fs_err::write(&go, "").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "second\n");
    let status = child.child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "the session's exit code");
    assert_eq!(s.result()["exit_code"].as_integer(), Some(3));
}

#[test]
fn follow_waits_for_a_log_to_appear_and_stops_when_the_session_ends() {
    let env = Env::new();
    let s = env.session("active");
    let mut sleeper = sleeper();
    let pid = sleeper.pid();
    s.write("daemon.pid", &format!("{pid} {}\n", start_time(pid)));
    let mut follow = env.csa_std();
    follow
        .args(["session", "logs", "--follow", &s.id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: follow.spawn().unwrap(),
        group: false,
    };
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    s.write("output.log", "hello\n");
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "hello\n");

    // The run ends as a daemon ends it: the result, then the retired state.
    s.write("result.toml", &result_toml("failure", 4, "done"));
    let retired = s
        .read("state.toml")
        .replace("phase = \"active\"", "phase = \"retired\"");
    s.write("state.toml", &retired);
    let status = child.child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(4),
        "{:?}",
        child.child.stderr.take().map(|mut e| {
            let mut text = String::new();
            e.read_to_string(&mut text).unwrap();
            text
        })
    );
    let _ = sleeper.child.kill();
}

#[test]
fn follow_across_the_daemons_death_prints_the_output_and_exits_with_the_synthetic_failure() {
    let env = Env::new();
    let s = env.run_with(&[], &["sh", "-c", "echo before the crash; exec sleep 100"]);
    let (pid, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let (mut child, mut out) = follow(&env, &s.id);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "before the crash\n");
    // The logs are old: nothing holds the reconcile back once all is dead.
    for log in ["output.log", "stderr.log"] {
        wait_until(log, || s.exists(log));
        backdate(&s.path(log), 120);
    }
    // The daemon and its command both die (a crash of everything).
    kill_group(pid);
    kill_group(cmd);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing more was written");
    let status = child.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "the synthetic failure's exit code");
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
    let summary = s.result()["summary"].as_str().unwrap().to_owned();
    assert!(
        summary.starts_with("synthetic failure by session logs: process dead")
            && summary.contains("before the crash"),
        "{summary}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_link_to_dev_zero_as_the_log_is_refused_at_once() {
    let env = Env::new();
    let s = env.session("retired");
    let status = std::process::Command::new("mkfifo")
        .arg(s.path("output.log"))
        .status()
        .unwrap();
    assert!(status.success());
    for args in [&[][..], &["--tail", "3"], &["--follow"]] {
        let mut all = vec![s.id.as_str()];
        all.extend_from_slice(args);
        let out = logs(&env, &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr_of(&out);
        assert!(
            err.contains("output.log") && err.contains("a FIFO"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    std::os::unix::fs::symlink("/dev/zero", s.path("stderr.log")).unwrap();
    for args in [
        &["--stderr"][..],
        &["--stderr", "--tail", "3"],
        &["--stderr", "-f"],
    ] {
        let mut all = vec![s.id.as_str()];
        all.extend_from_slice(args);
        let out = logs(&env, &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr_of(&out).contains("a device"), "{}", stderr_of(&out));
        assert!(out.stdout.is_empty());
    }
}
