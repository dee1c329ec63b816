//! `--host` answers drawn here (contract §11): `list`, `show`, `result` and
//! `wait` ask the remote csa for `--json` and draw its rows with this
//! csa's views and terminal; `list` and `wait --all` ask several hosts at
//! once, against real OpenSSH servers on 127.0.0.1 ([`SshLab`]).

use std::io::{BufRead, BufReader};

use csa_test_support::sshd::SshLab;
use csa_test_support::*;

use super::remote::{NO_HANG, csa, csa_std, lab, run_on};

/// `csa` with colours forced here (the remote csa, started by sshd with
/// its own environment, would print none).
fn coloured(env: &Env, lab: &SshLab, args: &[&str]) -> std::process::Output {
    let mut cmd = csa_std(env, lab);
    cmd.env("CLICOLOR_FORCE", "1");
    assert_cmd::Command::from_std(cmd)
        .args(args)
        .timeout(NO_HANG)
        .output()
        .unwrap()
}

#[test]
fn list_show_result_and_wait_are_drawn_here_from_the_hosts_json() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    let id = run_on(
        &env,
        &lab,
        "alpha",
        &["--description", "fix \x1b]0;x\x07 it"],
        &["sh", "-c", "echo out; echo oops >&2; exit 3"],
    );
    let wait = csa(&env, &lab, &["--host", "alpha", "session", "wait", &id]);
    assert_eq!(wait.status.code(), Some(3), "{}", stderr_of(&wait));
    assert_eq!(stdout_of(&wait), format!("{id} failure exit 3: oops\n"));

    let list = coloured(&env, &lab, &["--host", "alpha", "session", "list"]);
    assert!(list.status.success(), "{}", stderr_of(&list));
    let text = stdout_of(&list);
    assert!(text.starts_with("SESSION"), "{text}");
    assert!(text.contains(&id[..8]) && text.contains("Failed"), "{text}");
    assert!(
        text.contains("\x1b[31m"),
        "drawn in this csa's colours: {text:?}"
    );
    assert!(
        text.contains("fix \\x1b]0;x\\x07 it"),
        "escaped here: {text:?}"
    );

    let show = coloured(&env, &lab, &["--host", "alpha", "session", "show", &id]);
    assert!(show.status.success(), "{}", stderr_of(&show));
    let text = stdout_of(&show);
    assert!(text.starts_with(&format!("session       {id}\n")), "{text}");
    assert!(text.contains("\x1b[31mFailed"), "{text:?}");
    assert!(text.contains("result        failure exit 3\n"), "{text}");
    assert!(
        text.contains(" ago)\n") || text.contains("(just now)\n"),
        "ages relative to now: {text}"
    );

    let result = csa(&env, &lab, &["--host", "alpha", "session", "result", &id]);
    assert!(result.status.success(), "{}", stderr_of(&result));
    let text = stdout_of(&result);
    assert!(
        text.starts_with("status: failure\nexit_code: 3\nsummary: oops\n"),
        "{text}"
    );
    let missing = csa(
        &env,
        &lab,
        &[
            "--host",
            "alpha",
            "session",
            "show",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr_of(&missing).contains("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

#[test]
fn rows_of_a_version_this_csa_cannot_read_are_an_error_naming_the_host() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    // A csa that prints rows of version 99 (it answers every caller so).
    let newer = env.tmp.path().join("newer-csa");
    fs_err::write(
        &newer,
        "#!/bin/sh\necho 'csa-protocol-mismatch: 1.99.1.1' >&2\nexit 1\n",
    )
    .unwrap();
    fs_err::set_permissions(&newer, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = csa_std(&env, &lab);
    cmd.env("CSA_REMOTE_CSA", &newer);
    let out = assert_cmd::Command::from_std(cmd)
        .args(["--host", "alpha", "session", "list"])
        .timeout(NO_HANG)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the csa on alpha prints session rows of version 99")
            && err.contains(&format!(
                "this csa reads version {}",
                csa_session::ROW_VERSION
            )),
        "{err}"
    );
}

#[test]
fn two_hosts_are_listed_and_topped_at_once_and_an_unreachable_one_is_one_warning() {
    let Some((env, mut lab)) = lab(&["alpha", "beta"]) else {
        return;
    };
    lab.unreachable("gone");
    let on_alpha = run_on(&env, &lab, "alpha", &[], &["true"]);
    let on_beta = run_on(&env, &lab, "beta", &[], &["sh", "-c", "exit 2"]);
    for id in [&on_alpha, &on_beta] {
        for host in ["alpha", "beta"] {
            csa(&env, &lab, &["--host", host, "session", "wait", id]);
        }
    }
    let both = ["--host", "alpha", "--host", "beta", "session", "list"];
    let out = csa(&env, &lab, &both);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("HOST   SESSION"), "{text}");
    // The SESSION column holds each id's short form: two ids of a test
    // share their first 8 characters, so a line is found by that column.
    let line_of = |id: &str| {
        lines
            .iter()
            .find(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|short| short.len() >= 8 && id.starts_with(short))
            })
            .copied()
    };
    let alpha = line_of(&on_alpha).unwrap_or_default();
    let beta = line_of(&on_beta).unwrap_or_default();
    assert!(
        alpha.starts_with("alpha  ") && alpha.contains("Retired"),
        "{text}"
    );
    assert!(
        beta.starts_with("beta   ") && beta.contains("Failed"),
        "{text}"
    );

    // `-q`: the full ids of both hosts' rows, one a line.
    let out = csa(&env, &lab, &[&both[..], &["-q"]].concat());
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut ids: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    ids.sort();
    let mut expected = vec![on_alpha.clone(), on_beta.clone()];
    expected.sort();
    assert_eq!(ids, expected);

    let mut all = both.to_vec();
    all.splice(4..4, ["--host", "gone"]);
    let out = csa(&env, &lab, &all);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach gone over ssh"), "{err}");
    // The hosts that answered are shown (their ages may have moved on).
    let hosts_and_ids = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(hosts_and_ids(&stdout_of(&out)), hosts_and_ids(&text));

    // top: one snapshot of both hosts, drawn here with a HOST column.
    let top = csa(
        &env,
        &lab,
        &[
            "--host", "alpha", "--host", "beta", "session", "top", "--once",
        ],
    );
    assert!(top.status.success(), "{}", stderr_of(&top));
    let text = stdout_of(&top);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("alpha, beta"), "{text}");
    assert!(lines[1].starts_with("HOST   SESSION"), "{text}");
    // The SESSION column holds each id's short form: two ids of a test
    // share their first 8 characters, so a line is found by that column.
    let line_of = |id: &str| {
        lines
            .iter()
            .find(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|short| short.len() >= 8 && id.starts_with(short))
            })
            .copied()
    };
    assert!(
        line_of(&on_alpha)
            .unwrap_or_default()
            .starts_with("alpha  "),
        "{text}"
    );
    let beta = line_of(&on_beta).unwrap_or_default();
    assert!(
        beta.starts_with("beta   ") && beta.contains("Failed"),
        "{text}"
    );
    let top = csa(
        &env,
        &lab,
        &[
            "--host", "alpha", "--host", "beta", "session", "top", "--json",
        ],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&top.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["host"] == "beta" && r["session_id"] == on_beta.as_str())
    );

    all.push("--json");
    let out = csa(&env, &lab, &all);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap(),
                r["session_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(hosts.len(), 2, "{rows:?}");
    assert!(hosts.contains(&("alpha", on_alpha.as_str())), "{hosts:?}");
    assert!(hosts.contains(&("beta", on_beta.as_str())), "{hosts:?}");
}

#[test]
fn wait_all_waits_on_every_host_at_once() {
    let Some((env, lab)) = lab(&["alpha", "beta"]) else {
        return;
    };
    // Both sessions run until the wait has started on both hosts.
    let go = env.tmp.path().join("go");
    let until_go = |code: u8| {
        format!(
            "until [ -e '{}' ]; do sleep 0.05; done; exit {code}",
            go.display()
        )
    };
    let on_alpha = run_on(&env, &lab, "alpha", &[], &["sh", "-c", &until_go(0)]);
    let on_beta = run_on(&env, &lab, "beta", &[], &["sh", "-c", &until_go(4)]);
    let mut cmd = csa_std(&env, &lab);
    cmd.args([
        "-v", "--host", "alpha", "--host", "beta", "session", "wait", "--all",
    ])
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut wait = cmd.spawn().unwrap();
    // The gate opens once each host's wait has said (at -v, passed on as it
    // comes) which sessions it waits for: its watches are then in place, so
    // an end after that is seen. A process named `wait` may not have listed
    // its sessions yet.
    let stderr = wait.stderr.take().unwrap();
    let (lines, said) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line.clone()).is_err() {
                break;
            }
        }
    });
    let mut heard = Vec::new();
    let mut waiting_for = Vec::new();
    while waiting_for.len() < 2 {
        let line = said
            .recv_timeout(NO_HANG)
            .unwrap_or_else(|_| panic!("both hosts' waits listed their sessions: {heard:?}"));
        if let Some((_, ids)) = line.split_once("waiting for 1 session(s): ") {
            waiting_for.push(ids.trim().to_owned());
        }
        heard.push(line);
    }
    waiting_for.sort();
    let mut expected = vec![on_alpha.clone(), on_beta.clone()];
    expected.sort();
    assert_eq!(waiting_for, expected, "{heard:?}");
    fs_err::write(&go, "").unwrap();
    let out = wait.wait_with_output().unwrap();
    reader.join().unwrap();
    heard.extend(said.try_iter());
    assert_eq!(out.status.code(), Some(1), "{heard:?}");
    let text = stdout_of(&out);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        format!("alpha  {on_alpha} success exit 0: exited with code 0")
    );
    assert!(
        lines[1] == format!("beta  {on_beta} failure exit 4: exited with code 4"),
        "{text}"
    );
}

#[test]
fn a_list_answer_to_another_csa_is_compact_one_row_a_line() {
    let Some((env, lab)) = lab(&["alpha"]) else {
        return;
    };
    for _ in 0..2 {
        run_on(&env, &lab, "alpha", &[], &["true"]);
    }
    // The remote csa, with what it answers kept in a file.
    let answer = env.tmp.path().join("answer.json");
    let recorder = env.tmp.path().join("recording-csa");
    fs_err::write(
        &recorder,
        format!(
            "#!/bin/sh\n'{csa}' \"$@\" >'{answer}'\ncode=$?\ncat '{answer}'\nexit $code\n",
            csa = assert_cmd::cargo::cargo_bin("csa").display(),
            answer = answer.display(),
        ),
    )
    .unwrap();
    fs_err::set_permissions(
        &recorder,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut cmd = csa_std(&env, &lab);
    cmd.env("CSA_REMOTE_CSA", &recorder);
    let out = assert_cmd::Command::from_std(cmd)
        .args(["--host", "alpha", "session", "list"])
        .timeout(NO_HANG)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 3, "{}", stdout_of(&out));
    let text = fs_err::read_to_string(&answer).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!((lines[0], lines[3]), ("[", "]"), "{text}");
    for row in &lines[1..3] {
        assert!(row.starts_with("{\"session_id\":\""), "{text}");
        assert!(row.ends_with('}') || row.ends_with("},"), "{text}");
    }
    // A person asking for --json still gets it pretty.
    let json = csa(
        &env,
        &lab,
        &["--host", "alpha", "session", "list", "--json"],
    );
    assert!(
        stdout_of(&json).contains("\n    \"session_id\": "),
        "{}",
        stdout_of(&json)
    );
}
