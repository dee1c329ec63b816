//! The logs of several sessions (contract §9.2): `logs A B`, `--all`,
//! `--both`, `--timestamps`, `-n`, `--follow` of several (new sessions
//! joining with `--all`) and `attach`, with real daemons.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use csa_test_support::*;

const NO_HANG: Duration = Duration::from_secs(20);

/// A command that waits for each gate file in turn and then runs the shell
/// step beside it (`echo x` or `echo x >&2`), and exits `code`.
fn stepped(env: &Env, steps: &[(&str, &str)], code: u8) -> Session {
    let mut script = String::new();
    for (gate, step) in steps {
        let go = env.tmp.path().join(gate);
        script.push_str(&format!(
            "g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.01; done; {step}; ",
            go.display()
        ));
    }
    script.push_str(&format!("exit {code}"));
    env.run_with(&[], &["sh", "-c", &script])
}

fn open_gate(env: &Env, gate: &str) {
    fs_err::write(env.tmp.path().join(gate), "").unwrap();
}

/// `csa session <args>`, running, and a reader of its stdout.
fn spawn(env: &Env, args: &[&str]) -> (Guard, BufReader<std::process::ChildStdout>) {
    let mut cmd = env.csa_std();
    cmd.args(["session"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: cmd.spawn().unwrap(),
        group: false,
    };
    let out = BufReader::new(child.child.stdout.take().unwrap());
    (child, out)
}

fn next_line(out: &mut BufReader<std::process::ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

/// `line` split at its `<short id> | ` prefix, checked to be a prefix of
/// one of `ids` at least 8 characters long; (the id it names, the rest).
fn split_prefixed<'l>(line: &'l str, ids: &[&str]) -> (String, &'l str) {
    let (short, rest) = line
        .split_once(" | ")
        .unwrap_or_else(|| panic!("no `<short id> | ` prefix: {line:?}"));
    assert!(short.len() >= 8, "{line:?}");
    let named: Vec<&&str> = ids.iter().filter(|id| id.starts_with(short)).collect();
    assert_eq!(named.len(), 1, "{short} names one session: {line:?}");
    ((*named[0]).to_owned(), rest)
}

#[test]
fn following_several_sessions_interleaves_their_lines_as_written() {
    let env = Env::new();
    let a = stepped(&env, &[("a1", "echo alpha"), ("a2", "echo broken >&2")], 3);
    let b = stepped(&env, &[("b1", "echo beta"), ("b2", "echo done")], 0);
    let ids = [a.id.as_str(), b.id.as_str()];
    let (mut child, mut out) = spawn(&env, &["logs", "-f", &a.id, &b.id]);
    // Each line shows as it is written, whichever session writes it.
    for (gate, id, text) in [
        ("b1", &b.id, "beta\n"),
        ("a1", &a.id, "alpha\n"),
        ("a2", &a.id, "! broken\n"),
    ] {
        open_gate(&env, gate);
        let line = next_line(&mut out);
        assert_eq!(split_prefixed(&line, &ids), (id.clone(), text), "{line:?}");
    }
    // One has ended (exit 3); the other still runs: still following.
    let out_a = env.csa().args(["session", "wait", &a.id]).output().unwrap();
    assert_eq!(out_a.status.code(), Some(3));
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "still following b"
    );
    open_gate(&env, "b2");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(split_prefixed(&rest, &ids), (b.id.clone(), "done\n"));
    // Several sessions: 1 since one did not exit 0.
    assert_eq!(child.child.wait().unwrap().code(), Some(1));

    // Not following: every line of both logs of each, prefixed.
    let text = env
        .csa()
        .args(["session", "logs", &a.id, &b.id])
        .timeout(NO_HANG)
        .output()
        .unwrap();
    assert!(text.status.success(), "{}", stderr_of(&text));
    let mut lines: Vec<(String, String)> = stdout_of(&text)
        .lines()
        .map(|l| {
            let (id, rest) = split_prefixed(l, &ids);
            (id, rest.to_owned())
        })
        .collect();
    lines.sort();
    let mut expected = vec![
        (a.id.clone(), "! broken".to_owned()),
        (a.id.clone(), "alpha".to_owned()),
        (b.id.clone(), "beta".to_owned()),
        (b.id.clone(), "done".to_owned()),
    ];
    expected.sort();
    assert_eq!(lines, expected);
}

#[test]
fn all_follow_adds_sessions_started_meanwhile_and_exits_0_when_all_did() {
    let env = Env::new();
    let first = stepped(&env, &[("f1", "echo one"), ("f2", "echo two")], 0);
    let (mut child, mut out) = spawn(&env, &["logs", "--all", "-f"]);
    open_gate(&env, "f1");
    let line = next_line(&mut out);
    assert_eq!(split_prefixed(&line, &[&first.id]).1, "one\n");
    // A session that starts while following joins.
    let late = stepped(&env, &[("l1", "echo late")], 0);
    open_gate(&env, "l1");
    let line = next_line(&mut out);
    let ids = [first.id.as_str(), late.id.as_str()];
    assert_eq!(split_prefixed(&line, &ids), (late.id.clone(), "late\n"));
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "first still runs"
    );
    open_gate(&env, "f2");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(split_prefixed(&rest, &ids), (first.id.clone(), "two\n"));
    assert_eq!(child.child.wait().unwrap().code(), Some(0));
}

#[test]
fn attach_follows_both_streams_of_one_session_and_exits_with_its_code() {
    let env = Env::new();
    let s = stepped(&env, &[("o", "echo out"), ("e", "echo err >&2")], 5);
    let (mut child, mut out) = spawn(&env, &["attach", &s.id]);
    open_gate(&env, "o");
    assert_eq!(next_line(&mut out), "out\n");
    open_gate(&env, "e");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "! err\n", "one session: no id prefix");
    assert_eq!(child.child.wait().unwrap().code(), Some(5));
}

#[test]
fn timestamps_and_tail_apply_to_each_line_and_each_log() {
    let env = Env::new();
    let s = env.run_with(
        &[],
        &["sh", "-c", "printf 'a\\nb\\nc\\n'; printf 'x\\ny\\nz' >&2"],
    );
    let wait = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert!(wait.status.success(), "{}", stderr_of(&wait));
    let out = env
        .csa()
        .args([
            "session",
            "logs",
            &s.id,
            "--both",
            "-n",
            "2",
            "--timestamps",
        ])
        .timeout(NO_HANG)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut got: Vec<String> = stdout_of(&out)
        .lines()
        .map(|line| {
            let (time, rest) = line.split_once(' ').unwrap();
            let parsed = chrono::DateTime::parse_from_rfc3339(time).unwrap();
            assert_eq!(time.len(), 24, "milliseconds, UTC: {time}");
            assert!(time.ends_with('Z'), "{time}");
            assert!(
                (chrono::Utc::now() - parsed.to_utc()).num_seconds().abs() < 600,
                "{time}"
            );
            rest.to_owned()
        })
        .collect();
    got.sort();
    // The last 2 lines of each log; a last line without its newline is one.
    assert_eq!(got, ["! y", "! z", "b", "c"]);
    // One session, one log, no flag: raw bytes as ever.
    let out = env
        .csa()
        .args(["session", "logs", &s.id, "--stderr"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"x\ny\nz");
}
