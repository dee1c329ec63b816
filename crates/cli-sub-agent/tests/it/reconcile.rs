//! `csa session reconcile` on dead sessions: synthetic failures, retirements,
//! completions, late results, dry runs, and what is preserved.

use csa_test_support::*;

#[test]
fn dead_active_session_without_result_gets_a_synthetic_failure_once() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.old_log("output.log", "step one\nlast words\n");
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let line = stdout_of(&out);
    assert!(
        line.starts_with(&format!("{} synthesized-failure", s.id)),
        "{line}"
    );
    assert!(line.contains("does not exist"), "evidence missing: {line}");

    let result = s.result();
    assert_eq!(result["status"].as_str(), Some("failure"));
    assert_eq!(result["exit_code"].as_integer(), Some(1));
    assert_eq!(result["tool"].as_str(), Some("codex"));
    let summary = result["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "synthetic failure by session reconcile: process dead, result.toml missing"
        )
    );
    assert!(summary.contains("last words"), "{summary}");
    let state = s.state();
    assert_eq!(state["phase"].as_str(), Some("retired"));
    assert_eq!(
        state["termination_reason"].as_str(),
        Some("orphaned_process")
    );
    let marker: toml::Table =
        fs_err::read_to_string(env.sessions_dir().join("cooldown-marker.toml"))
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(marker["session_id"].as_str(), Some(s.id.as_str()));

    let before = s.snapshot();
    let again = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(
        stdout_of(&again).contains("no-change"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(s.snapshot(), before, "a second run must change nothing");
}

#[test]
fn dead_active_session_with_a_valid_result_is_retired_with_its_result_untouched() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let real = result_toml("success", 0, "all good");
    s.write("result.toml", &real);
    let out = env
        .csa()
        .args(["session", "reconcile", "--all"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).contains(&format!("{} retired", s.id)),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.read("result.toml"), real);
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
}

#[test]
fn existing_termination_reason_is_kept_when_retiring_with_a_result() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let text = s.read("state.toml").replace(
        "turn_count = 1",
        "turn_count = 1\ntermination_reason = \"user_cancelled\"",
    );
    s.write("state.toml", &text);
    s.write("result.toml", &result_toml("success", 0, "ok"));
    env.csa()
        .args(["session", "reconcile", &s.id])
        .assert()
        .success();
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("user_cancelled")
    );
}

#[test]
fn usable_daemon_completion_is_finalized_into_a_result() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.write(
        "daemon-completion.toml",
        "exit_code = 3\nstatus = \"failure\"\n",
    );
    s.old_log("output.log", "compiling\nerror: boom\n");
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).contains("finalized-from-completion"),
        "{}",
        stdout_of(&out)
    );
    let result = s.result();
    assert_eq!(result["exit_code"].as_integer(), Some(3));
    assert_eq!(result["status"].as_str(), Some("failure"));
    assert_eq!(result["summary"].as_str(), Some("error: boom"));
    assert_eq!(
        s.state()["termination_reason"].as_str(),
        Some("daemon_completion")
    );
}

#[test]
fn unparseable_result_is_left_alone() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.write("result.toml", "status = \"succ");
    let before = s.snapshot();
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout_of(&out).contains("no-change"), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains("cannot be parsed"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.snapshot(), before);
}

#[test]
fn available_and_retired_sessions_are_untouched() {
    let env = Env::new();
    let available = env.session("available").dead_pid();
    let retired = env.session("retired").dead_pid();
    let before = (available.snapshot(), retired.snapshot());
    let out = env
        .csa()
        .args(["session", "reconcile", "--all"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout_of(&out).matches("no-change").count(),
        2,
        "{}",
        stdout_of(&out)
    );
    env.csa().args(["session", "list"]).assert().success();
    assert_eq!((available.snapshot(), retired.snapshot()), before);
}

#[test]
fn dry_run_reports_the_outcome_and_writes_nothing() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let before = s.snapshot();
    let out = env
        .csa()
        .args(["session", "reconcile", "--dry-run", "--json", &s.id])
        .output()
        .unwrap();
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["outcome"], "synthesized-failure");
    assert_eq!(reports[0]["session_id"], s.id.as_str());
    assert!(
        reports[0]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("would ")
    );
    assert_eq!(s.snapshot(), before);
    assert!(!env.sessions_dir().join("cooldown-marker.toml").exists());
}

#[test]
fn real_fixtures_keep_every_unknown_key_through_a_reconcile() {
    for fixture in [CLAUDE_STATE, CODEX_STATE] {
        let env = Env::new();
        let s = env.fixture_session(fixture).dead_pid();
        let before: toml::Table = s.read("state.toml").parse().unwrap();
        env.csa()
            .args(["session", "reconcile", &s.id])
            .assert()
            .success();
        let mut after = s.state();
        assert_eq!(after.remove("phase").unwrap().as_str(), Some("retired"));
        assert_eq!(
            after.remove("termination_reason").unwrap().as_str(),
            Some("orphaned_process")
        );
        let mut expected = before.clone();
        expected.remove("phase");
        assert_eq!(after, expected, "a key was lost or changed");
        assert_eq!(
            s.result()["tool"].as_str(),
            before["tools"]
                .as_table()
                .unwrap()
                .keys()
                .next()
                .map(String::as_str)
        );
    }
}

#[cfg(unix)]
#[test]
fn permission_bits_0640_survive_a_rewrite() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let s = env.session("active").dead_pid();
    fs_err::set_permissions(s.path("state.toml"), std::fs::Permissions::from_mode(0o640)).unwrap();
    env.csa()
        .args(["session", "reconcile", &s.id])
        .assert()
        .success();
    assert_eq!(s.phase(), "retired");
    let mode = fs_err::metadata(s.path("state.toml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    let mode = fs_err::metadata(s.path("result.toml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_toml_is_replaced_never_written_through() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let outside = env.tmp.path().join("outside.toml");
    fs_err::rename(s.path("state.toml"), &outside).unwrap();
    let original = fs_err::read_to_string(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, s.path("state.toml")).unwrap();
    env.csa()
        .args(["session", "reconcile", &s.id])
        .assert()
        .success();
    assert_eq!(fs_err::read_to_string(&outside).unwrap(), original);
    assert!(
        fs_err::symlink_metadata(s.path("state.toml"))
            .unwrap()
            .is_file()
    );
    assert_eq!(s.phase(), "retired");
}

#[test]
fn legacy_root_sessions_are_reconciled_in_place() {
    let env = Env::new();
    let legacy = env
        .state_home
        .join("csa")
        .join(env.project.strip_prefix("/").unwrap())
        .join("sessions");
    let id = csa_session::SessionId::generate();
    let dir = legacy.join(id.as_str());
    fs_err::create_dir_all(&dir).unwrap();
    fs_err::write(
        dir.join("state.toml"),
        state_toml(id.as_str(), &env.project, "active"),
    )
    .unwrap();
    fs_err::write(dir.join("daemon.pid"), format!("{DEAD_PID}\n")).unwrap();
    let out = env
        .csa()
        .args(["session", "list", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["status"], "Failed", "{rows}");
    assert!(dir.join("result.toml").exists());
    assert!(
        !env.sessions_dir().join(id.as_str()).exists(),
        "nothing is created in the new root"
    );
}
