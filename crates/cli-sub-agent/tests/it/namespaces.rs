//! A csa running inside a child pid namespace (bwrap, firejail, `unshare -p`)
//! that shares the state dir and host name cannot see the daemons started
//! outside it: their sessions are unknown there, never dead, and the real
//! result is kept.

use std::time::Duration;

use csa_test_support::*;

#[test]
fn a_list_in_a_child_pid_namespace_never_declares_a_live_session_dead() {
    let env = Env::new();
    // The command ends only when the test says so: a timed end could come
    // (and write output, which is progress) while the checks still run.
    let gate = env.tmp.path().join("go");
    let script = format!(
        "g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.05; done; echo really done",
        gate.display()
    );
    let out = env
        .csa()
        .args(["run", "--tool", "demo", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s = env.session_of(stdout_of(&out).trim());
    wait_until("the daemon took its lock", || {
        s.exists("locks/demo.lock") && s.read("locks/demo.lock").contains("pid_namespace")
    });
    // Its logs are old enough not to count as progress: only pids speak. The
    // daemon creates them as it starts the command, after taking its lock.
    for log in ["output.log", "stderr.log"] {
        wait_until(log, || s.exists(log));
        backdate(&s.path(log), 120);
    }
    let inside = |script: &str| {
        let out = env
            .in_private_pid_namespace()?
            .args(["sh", "-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        Some(stdout_of(&out))
    };
    let Some(listed) = inside("\"$CSA\" session list --json") else {
        return;
    };
    let rows: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(rows[0]["status"], "Active", "{listed}");
    assert_eq!(rows[0]["liveness"]["verdict"], "unknown", "{listed}");
    assert!(listed.contains("pid namespace"), "{listed}");
    let reconciled = inside("\"$CSA\" session reconcile --all").unwrap();
    assert!(reconciled.contains("no-change"), "{reconciled}");
    assert!(!s.exists("result.toml"), "nothing was synthesized");

    fs_err::write(&gate, "").unwrap();
    let waited = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .output()
        .unwrap();
    assert_eq!(waited.status.code(), Some(0), "{}", stdout_of(&waited));
    assert_eq!(s.result()["summary"].as_str(), Some("really done"));
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
    std::thread::sleep(Duration::from_millis(10));
}

/// Run `script` (with `$CSA` and the env's state dirs) under `unshare
/// <flags>` after a tmpfs is mounted over `/proc`, as a sandbox without its
/// own `/proc` does. `None` where that cannot be set up here.
fn with_proc_masked(env: &Env, flags: &[&str], script: &str) -> Option<std::process::Output> {
    let masked = format!("mount -t tmpfs none /proc || exit 99; {script}");
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(flags).args(["sh", "-c", &masked]);
    env.apply(&mut cmd);
    let out = cmd.current_dir(&env.project).output().ok()?;
    if out.status.code() == Some(99) || stderr_of(&out).contains("unshare failed") {
        eprintln!("skipped: cannot mask /proc here: {}", stderr_of(&out));
        return None;
    }
    Some(out)
}

#[test]
fn where_proc_cannot_be_read_a_live_session_is_unknown_and_keeps_its_real_result() {
    let env = Env::new();
    let gate = env.tmp.path().join("go");
    let script = format!(
        "g='{}'; while [ ! -e \"$g\" ] && [ -d \"${{g%/*}}\" ]; do sleep 0.05; done; echo real end",
        gate.display()
    );
    let s = env.run(&["sh", "-c", &script]);
    s.cmd_pid();
    for log in ["output.log", "stderr.log"] {
        wait_until(log, || s.exists(log));
        backdate(&s.path(log), 120);
    }
    // A new pid namespace without its own /proc, and the same namespace
    // with /proc masked: neither can see the daemon.
    for flags in [&["--pid", "--fork", "--mount"][..], &["--mount"][..]] {
        let Some(out) = with_proc_masked(
            &env,
            flags,
            &format!(
                "\"$CSA\" session is-alive {id}; \"$CSA\" session reconcile --all",
                id = s.id
            ),
        ) else {
            return;
        };
        let text = stdout_of(&out);
        assert!(
            text.starts_with("unknown"),
            "{flags:?}: {text}{}",
            stderr_of(&out)
        );
        assert!(text.contains("no-change"), "{flags:?}: {text}");
        assert!(!s.exists("result.toml"), "{flags:?}: nothing synthesized");
    }
    fs_err::write(&gate, "").unwrap();
    env.csa()
        .args(["session", "wait", &s.id, "--timeout", "20"])
        .assert()
        .success();
    assert_eq!(s.result()["summary"].as_str(), Some("real end"));
}
