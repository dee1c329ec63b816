//! Log rotation (contract §9.3): `csa run --max-log-size` caps each stream
//! at twice the size, `logs --tail` and `--follow` read across a rotation,
//! and `show` says when one happened.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use csa_test_support::*;

/// Line `i` of the test output: 63 characters and a newline, so 16 lines
/// fill 1 KiB exactly.
fn line(i: usize) -> String {
    format!("{i:063}\n")
}

/// A shell loop printing lines `from..to` as [`line`] does.
fn print_lines(from: usize, to: usize) -> String {
    format!("i={from}; while [ $i -lt {to} ]; do printf '%063d\\n' $i; i=$((i+1)); done")
}

#[test]
fn a_full_log_is_rotated_once_and_tail_reads_across_it() {
    let env = Env::new();
    let s = env.run_with(
        &["--max-log-size", "1K"],
        &["sh", "-c", &print_lines(0, 40)],
    );
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(s.state()["run"]["max_log_size"].as_integer(), Some(1024));
    // 2,560 bytes through a 1 KiB log: rotated at 1,024 and 2,048; the
    // newest full KiB is kept beside the log.
    let all: String = (0..40).map(line).collect();
    assert_eq!(s.read("output.log.1"), all[1024..2048]);
    assert_eq!(s.read("output.log"), all[2048..]);
    assert!(!s.exists("stderr.log.1"));
    // The last 12 lines: 4 from the rotated log, 8 from the log.
    let out = env
        .csa()
        .args(["session", "logs", &s.id, "--tail", "12"])
        .output()
        .unwrap();
    let expected: String = (28..40).map(line).collect();
    assert_eq!(stdout_of(&out), expected);
    // The summary still sees the last line.
    assert_eq!(s.result()["summary"].as_str(), Some(line(39).trim_end()));
    let out = env.csa().args(["session", "show", &s.id]).output().unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("output.log    512 B (rotated at ")
            && text.contains("; output.log.1 1.0 KiB)"),
        "{text}"
    );
    // Without --max-log-size the default is recorded.
    let plain = env.run_with(&[], &["true"]);
    assert_eq!(
        plain.state()["run"]["max_log_size"].as_integer(),
        Some(512 << 20)
    );
}

/// A follower of `s`'s logs (`args` after the id): its stdout, read by line.
fn follower(env: &Env, args: &[&str]) -> (Guard, BufReader<std::process::ChildStdout>) {
    let mut cmd = env.csa_std();
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Guard {
        child: cmd.spawn().unwrap(),
        group: false,
    };
    let out = BufReader::new(child.child.stdout.take().unwrap());
    (child, out)
}

#[test]
fn follow_goes_on_in_the_new_log_after_a_rotation() {
    let env = Env::new();
    let go = env.tmp.path().join("go");
    let script = format!(
        "{}; g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; {}",
        print_lines(0, 16),
        go.display(),
        print_lines(16, 40)
    );
    let s = env.run_with(&["--max-log-size", "1K"], &["sh", "-c", &script]);
    // One log as raw bytes, and both streams as lines (`attach`).
    let (mut raw, mut raw_out) = follower(&env, &["session", "logs", "-f", &s.id]);
    let (mut lines, mut lines_out) = follower(&env, &["session", "attach", &s.id]);
    for i in 0..16 {
        let mut got = String::new();
        raw_out.read_line(&mut got).unwrap();
        assert_eq!(got, line(i));
        let mut got = String::new();
        lines_out.read_line(&mut got).unwrap();
        assert_eq!(got, line(i));
    }
    // The log is full: the next line rotates it, and 24 lines rotate it
    // once more at line 32.
    fs_err::write(&go, "").unwrap();
    let mut rest = String::new();
    raw_out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, (16..40).map(line).collect::<String>());
    assert_eq!(raw.child.wait().unwrap().code(), Some(0));
    let mut rest = String::new();
    lines_out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, (16..40).map(line).collect::<String>());
    assert_eq!(lines.child.wait().unwrap().code(), Some(0));
    assert_eq!(
        s.read("output.log.1"),
        (16..32).map(line).collect::<String>()
    );
    assert_eq!(s.read("output.log"), (32..40).map(line).collect::<String>());
}

#[test]
fn a_size_that_is_not_one_is_a_usage_error() {
    let env = Env::new();
    for bad in ["12X", "lots", "10", "0K"] {
        let out = env
            .csa()
            .args(["run", "--tool", "t", "--max-log-size", bad, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr_of(&out));
    }
}
