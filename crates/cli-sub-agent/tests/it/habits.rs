//! Habits of people coming from other csa installs (contract §10): every
//! duration flag takes `90`, `1.5`, `90s`, `2m`, `1h`, `7d`.

use csa_test_support::*;

#[cfg(target_os = "linux")]
#[test]
fn every_duration_flag_takes_fractions_and_units() {
    let env = Env::new();
    // A fractional run timeout is accepted, recorded rounded up, and obeyed.
    let s = env.run_with(&["--timeout", "1.5"], &["sleep", "100"]);
    assert_eq!(s.state()["run"]["timeout_secs"].as_integer(), Some(2));
    let out = env
        .csa()
        .args(["session", "wait", &s.id, "--timeout", "2m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stderr_of(&out));
    assert_eq!(s.result()["status"].as_str(), Some("timeout"));

    let live = env.run(&["sleep", "100"]);
    let out = env
        .csa()
        .args(["session", "wait", &live.id, "--timeout", "0.2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", stderr_of(&out));
    let out = env
        .csa()
        .args(["session", "kill", &live.id, "--grace", "1.5s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(live.result()["status"].as_str(), Some("killed"));
}

#[test]
fn clean_takes_any_duration_form() {
    let env = Env::new();
    let old = env.session("retired").retired("success", 0, 3);
    let young = env.session("retired").retired("success", 0, 1);
    for older_than in ["2d", "48h", "2880m", "1.5d", "172800", "172800s"] {
        let out = env
            .csa()
            .args(["session", "clean", "--dry-run", "--older-than", older_than])
            .output()
            .unwrap();
        assert!(out.status.success(), "{older_than}: {}", stderr_of(&out));
        let text = stdout_of(&out);
        assert!(
            text.contains(&format!("{} would delete", old.id)),
            "{older_than}: {text}"
        );
        assert!(
            !text.contains(&format!("{} would delete", young.id)),
            "{older_than}: {text}"
        );
    }
}

#[test]
fn a_command_without_double_dash_is_told_to_add_it_and_creates_nothing() {
    let env = Env::new();
    let out = env
        .csa()
        .args(["run", "--tool", "codex", "make", "test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("tip: put the command after `--`: csa run --tool codex -- make test"),
        "{err}"
    );
    assert!(stdout_of(&out).is_empty());
    assert!(!env.sessions_dir().exists(), "nothing was created");
}
