//! `csa session wait` for several sessions and `--all`, with real daemons:
//! one line per session as it ends, combined exit codes, a daemon killed
//! without a result, and a dead session whose result cannot be used.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use csa_test_support::*;

/// A command that prints `line` and exits `code` once `go` exists. Every
/// gate of these tests also opens when the test's temp dir is gone, so that
/// a test that ends or fails with its gate shut leaves no command looping.
fn gated(env: &Env, gate: &str, line: &str, code: u8) -> Session {
    let go = env.tmp.path().join(gate);
    let script = format!(
        "g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; echo {line}; exit {code}",
        go.display()
    );
    env.run_with(&[], &["sh", "-c", &script])
}

fn open_gate(env: &Env, gate: &str) {
    fs_err::write(env.tmp.path().join(gate), "").unwrap();
}

#[test]
fn several_sessions_print_a_line_each_as_they_end_and_exit_0_only_if_all_did() {
    let env = Env::new();
    let a = gated(&env, "a", "alpha", 0);
    let b = gated(&env, "b", "beta", 0);
    let c = gated(&env, "c", "gamma", 0);
    let mut wait = env.csa_std();
    wait.args(["session", "wait", &a.id, &b.id, &c.id[..12]])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    // Each line comes as its session ends, while the others still run.
    for (gate, session, line) in [("b", &b, "beta"), ("a", &a, "alpha")] {
        open_gate(&env, gate);
        let mut text = String::new();
        out.read_line(&mut text).unwrap();
        assert_eq!(text, format!("{} success exit 0: {line}\n", session.id));
        assert_eq!(c.phase(), "active");
    }
    open_gate(&env, "c");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, format!("{} success exit 0: gamma\n", c.id));
    assert_eq!(child.child.wait().unwrap().code(), Some(0));

    // One failure among several: exit 1, not its code.
    let ok = env.run_with(&[], &["true"]);
    let failed = env.run_with(&[], &["sh", "-c", "echo broke; exit 3"]);
    let out = env
        .csa()
        .args(["session", "wait", &ok.id, &failed.id, &ok.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 2, "each session once: {text}");
    assert!(
        text.contains(&format!("{} failure exit 3: broke\n", failed.id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} success exit 0: ", ok.id)),
        "{text}"
    );

    // One session: its own exit code.
    let out = env
        .csa()
        .args(["session", "wait", &failed.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn wait_all_waits_for_every_active_session_of_the_project() {
    let env = Env::new();
    let out = env
        .csa()
        .args(["session", "wait", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).is_empty());
    assert!(
        stderr_of(&out).contains("no active sessions"),
        "{}",
        stderr_of(&out)
    );

    let settled = env.session("retired");
    settled.write("result.toml", &result_toml("failure", 9, "old"));
    let a = gated(&env, "a", "alpha", 0);
    let b = gated(&env, "b", "beta", 0);
    let mut wait = env.csa_std();
    // -v: it says which sessions it waits for once it has chosen them; a
    // gate opened before that could end `a` before `--all` sees it active.
    wait.args(["-v", "session", "wait", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    let mut log = BufReader::new(child.child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for 2 session(s)") {
        said.clear();
        assert_ne!(log.read_line(&mut said).unwrap(), 0, "wait ended early");
    }
    assert!(said.contains(&a.id) && said.contains(&b.id), "{said}");
    open_gate(&env, "a");
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, format!("{} success exit 0: alpha\n", a.id));
    open_gate(&env, "b");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, format!("{} success exit 0: beta\n", b.id));
    assert_eq!(child.child.wait().unwrap().code(), Some(0));

    let c = gated(&env, "c", "gamma", 0);
    let d = gated(&env, "d", "delta", 5);
    let mut wait = env.csa_std();
    wait.args(["-v", "session", "wait", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    let mut log = BufReader::new(child.child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for 2 session(s)") {
        said.clear();
        assert_ne!(log.read_line(&mut said).unwrap(), 0, "wait ended early");
    }
    open_gate(&env, "c");
    open_gate(&env, "d");
    let mut text = String::new();
    child
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(child.child.wait().unwrap().code(), Some(1), "{text}");
    assert!(
        !text.contains(&settled.id),
        "a retired session is not waited for: {text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains(&format!("{} failure exit 5: delta", d.id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} success exit 0: gamma", c.id)),
        "{text}"
    );
}

#[test]
fn a_timeout_names_the_sessions_still_running_and_exits_124() {
    let env = Env::new();
    let done = env.run_with(&[], &["true"]);
    let slow = gated(&env, "slow", "late", 0);
    let out = env
        .csa()
        .args(["session", "wait", &done.id, &slow.id, "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(stdout_of(&out).contains(&format!("{} success exit 0", done.id)));
    let err = stderr_of(&out);
    assert!(
        err.contains("timed out") && err.contains(&slow.id) && !err.contains(&done.id),
        "{err}"
    );
    // Let it end before its gate's folder goes away with the env.
    open_gate(&env, "slow");
    let out = env
        .csa()
        .args(["session", "wait", &slow.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn a_waited_session_whose_daemon_is_killed_ends_with_the_synthetic_result() {
    let env = Env::new();
    let s = env.run_with(&[], &["sleep", "100"]);
    let (pid, _) = s.daemon_pid();
    let (cmd, _) = s.cmd_pid();
    let mut wait = env.csa_std();
    wait.args(["session", "wait", &s.id, "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    // The logs are old: nothing holds the reconcile back once the daemon is gone.
    for log in ["output.log", "stderr.log"] {
        wait_until(log, || s.exists(log));
        backdate(&s.path(log), 120);
    }
    // The daemon and its command both die (a crash of everything).
    kill_group(pid);
    kill_group(cmd);
    let mut line = String::new();
    child
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut line)
        .unwrap();
    let status = child.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{line}");
    assert!(
        line.starts_with(&format!(
            "{} failure exit 1: synthetic failure by session wait: process dead",
            s.id
        )),
        "{line}"
    );
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("orphaned_process")
    );
}

#[test]
fn a_dead_session_whose_result_cannot_be_used_is_an_error_not_a_hang() {
    let env = Env::new();
    let unparseable = |s: &Session| s.write("result.toml", "status = ");
    let directory = |s: &Session| fs_err::create_dir(s.path("result.toml")).unwrap();
    let fifo = |s: &Session| mkfifo(&s.path("result.toml"));
    type Make<'a> = &'a dyn Fn(&Session);
    let cases: [(&str, Make<'_>); 3] = [
        ("unparseable", &unparseable),
        ("a directory", &directory),
        ("a FIFO", &fifo),
    ];
    let sessions: Vec<(&str, Session)> = cases
        .iter()
        .map(|(what, make)| {
            let s = env.session("active");
            s.write("daemon.pid", "999999 1\n");
            make(&s);
            (*what, s)
        })
        .collect();
    // The reconciler leaves such a result alone (contract 6.6): both
    // commands give up after a short grace, with one line naming the file.
    std::thread::scope(|scope| {
        let mut runs = Vec::new();
        for (what, s) in &sessions {
            let id = s.id.as_str();
            for args in [
                vec!["session", "wait", id],
                vec!["session", "logs", "-f", id],
            ] {
                let env = &env;
                runs.push(scope.spawn(move || {
                    let out = env
                        .csa()
                        .args(&args)
                        .timeout(std::time::Duration::from_secs(20))
                        .output()
                        .unwrap_or_else(|err| panic!("{what}: {args:?} hung: {err}"));
                    (what, args, out)
                }));
            }
        }
        for run in runs {
            let (what, args, out) = run.join().unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(1), "{what}: {args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: {args:?}: {err}");
            assert!(
                err.contains("is dead but its result.toml cannot be used")
                    && err.contains(&format!("{}/result.toml", args[args.len() - 1])),
                "{what}: {args:?}: {err}"
            );
            assert!(out.stdout.is_empty(), "{what}: {args:?}");
        }
    });
    for (what, s) in &sessions {
        assert_eq!(s.phase(), "active", "{what}: left alone");
    }
    assert_eq!(sessions[0].1.read("result.toml"), "status = ");
}

#[test]
fn wait_any_returns_with_the_first_session_to_end_and_leaves_the_others() {
    let env = Env::new();
    let a = gated(&env, "a", "alpha", 0);
    let b = gated(&env, "b", "beta", 7);
    let mut wait = env.csa_std();
    wait.args(["session", "wait", "--any", &a.id, &b.id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    open_gate(&env, "b");
    let mut out = String::new();
    child
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, format!("{} failure exit 7: beta\n", b.id));
    assert_eq!(child.child.wait().unwrap().code(), Some(7));
    assert_eq!(a.phase(), "active", "the other one still runs");

    // `--any --all`: the first active session of the project, already ended
    // ones aside; a session that ended before the wait is the answer at once.
    let c = gated(&env, "c", "gamma", 0);
    let mut wait = env.csa_std();
    wait.args(["session", "wait", "--any", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    open_gate(&env, "c");
    let mut out = String::new();
    child
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, format!("{} success exit 0: gamma\n", c.id));
    assert_eq!(child.child.wait().unwrap().code(), Some(0));
    assert_eq!(a.phase(), "active");

    let out = env
        .csa()
        .args(["session", "wait", "--any", &a.id, &b.id, "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), format!("{} failure exit 7: beta\n", b.id));
    assert_eq!(out.status.code(), Some(7));

    open_gate(&env, "a");
    let out = env.csa().args(["session", "wait", &a.id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn wait_any_times_out_with_124_when_none_ends() {
    let env = Env::new();
    let a = gated(&env, "a", "alpha", 0);
    let b = gated(&env, "b", "beta", 0);
    let out = env
        .csa()
        .args(["session", "wait", "--any", &a.id, &b.id, "--timeout", "0.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(stdout_of(&out).is_empty());
    assert!(
        stderr_of(&out).contains("waiting for any of 2 sessions"),
        "{}",
        stderr_of(&out)
    );
    open_gate(&env, "a");
    open_gate(&env, "b");
    let out = env
        .csa()
        .args(["session", "wait", &a.id, &b.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn a_session_dir_moved_away_or_deleted_ends_the_wait_with_removed_and_the_others_are_still_waited_for()
 {
    let env = Env::new();
    let moved = gated(&env, "moved", "never", 0);
    let deleted = gated(&env, "deleted", "never", 0);
    let first = gated(&env, "first", "one", 0);
    let last = gated(&env, "last", "two", 0);
    let mut wait = env.csa_std();
    wait.args(["session", "wait", "--all", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: wait.spawn().unwrap(),
        group: false,
    };
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    // Once one line is out, the wait watches every session.
    open_gate(&env, "first");
    let mut text = String::new();
    out.read_line(&mut text).unwrap();
    assert_eq!(text, format!("{} success exit 0: one\n", first.id));
    // Their daemons and commands run on; the wait ends for them at once.
    let away = env.tmp.path().join("moved-away");
    fs_err::rename(&moved.dir, &away).unwrap();
    text.clear();
    out.read_line(&mut text).unwrap();
    assert_eq!(text, format!("{} removed\n", moved.id));
    fs_err::remove_dir_all(&deleted.dir).unwrap();
    text.clear();
    out.read_line(&mut text).unwrap();
    assert_eq!(text, format!("{} removed\n", deleted.id));
    open_gate(&env, "last");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, format!("{} success exit 0: two\n", last.id));
    let status = child.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    open_gate(&env, "moved");
    open_gate(&env, "deleted");
}

#[test]
fn logs_follow_of_a_session_dir_moved_away_ends_with_removed_on_stderr() {
    let env = Env::new();
    let go = env.tmp.path().join("go");
    let script = format!(
        "echo started; g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.02; done; echo done",
        go.display()
    );
    let s = env.run_with(&[], &["sh", "-c", &script]);
    let mut logs = env.csa_std();
    logs.args(["session", "logs", "--follow", &s.id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard {
        child: logs.spawn().unwrap(),
        group: false,
    };
    let mut out = BufReader::new(child.child.stdout.take().unwrap());
    let mut text = String::new();
    out.read_line(&mut text).unwrap();
    assert_eq!(text, "started\n");
    fs_err::rename(&s.dir, env.tmp.path().join("moved-away")).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.child.wait().unwrap();
    let mut err = String::new();
    child
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    fs_err::write(&go, "").unwrap();
    assert_eq!(rest, "", "nothing more was written");
    assert_eq!(err, format!("{} removed\n", s.id));
    assert_eq!(status.code(), Some(1));
}

/// `session`'s state.toml, now naming `parent` as its parent.
fn set_parent(env: &Env, session: &Session, parent: &Session) {
    let state = state_toml(&session.id, &env.project, "active").replace(
        "[genealogy]\ndepth = 0",
        &format!(
            "[genealogy]\nparent_session_id = \"{}\"\ndepth = 1",
            parent.id
        ),
    );
    session.write("state.toml", &state);
}

#[test]
fn wait_inside_a_session_never_waits_for_itself_or_an_ancestor() {
    let env = Env::new();
    // grandparent <- parent <- own <- child; other is unrelated. Each one's
    // daemon is dead: a wait reconciles each it waits for and ends at once.
    let grandparent = env.session("active").dead_pid();
    let parent = env.session("active").dead_pid();
    let own = env.session("active").dead_pid();
    let child = env.session("active").dead_pid();
    let other = env.session("active").dead_pid();
    set_parent(&env, &parent, &grandparent);
    set_parent(&env, &own, &parent);
    set_parent(&env, &child, &own);
    let inside = |args: &[&str]| {
        env.csa()
            .env("CSA_SESSION_ID", own.id.to_ascii_lowercase())
            .args(["session", "wait", "--timeout", "20"])
            .args(args)
            .output()
            .unwrap()
    };

    // Naming itself or an ancestor: a usage error, nothing waited for.
    for (named, what) in [(&own, "the session"), (&grandparent, "an ancestor")] {
        for args in [
            vec![named.id.as_str()],
            vec!["--tree", &named.id[..12]],
            vec![other.id.as_str(), named.id.as_str()],
        ] {
            let out = inside(&args);
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("would wait for itself"), "{args:?}: {err}");
            assert!(
                err.contains(what) && err.contains(&named.id),
                "{args:?}: {err}"
            );
            assert!(stdout_of(&out).is_empty(), "{args:?}");
        }
    }
    for s in [&grandparent, &parent, &own, &child, &other] {
        assert_eq!(s.phase(), "active", "nothing was reconciled");
    }

    // `--all` leaves the lineage out and waits for the others (a child too).
    let out = inside(&["--all"]);
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr_of(&out));
    let ended: Vec<&str> = text.lines().map(|l| &l[..26]).collect();
    assert_eq!(ended.len(), 2, "{text}");
    assert!(
        ended.contains(&child.id.as_str()) && ended.contains(&other.id.as_str()),
        "{text}"
    );
    for s in [&grandparent, &parent, &own] {
        assert_eq!(s.phase(), "active", "{}: left alone", s.id);
    }

    // Outside a session, the same wait takes them all.
    let out = env
        .csa()
        .args(["session", "wait", "--all", "--timeout", "20"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out).lines().count(), 3, "{}", stdout_of(&out));
}
