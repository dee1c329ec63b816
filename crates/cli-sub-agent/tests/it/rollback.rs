//! Failures and races inside the protocol, driven by the debug-only fault
//! points: rollback, late results, and the reconcile lock.

use std::process::Stdio;

use csa_test_support::*;

fn reconcile_with_fault(env: &Env, s: &Session, fault: &str) -> std::process::Output {
    env.csa()
        .env(FAULT_ENV, fault)
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap()
}

#[test]
fn transition_or_state_write_failure_rolls_back_the_synthetic_result() {
    for point in [
        FaultPoint::ReconcileTransition,
        FaultPoint::ReconcileStateWrite,
    ] {
        let env = Env::new();
        let s = env.session("active").dead_pid();
        let state_before = s.read("state.toml");
        let out = reconcile_with_fault(&env, &s, &point.spec(FaultMode::Error));
        assert_eq!(out.status.code(), Some(1), "{point}");
        let text = stdout_of(&out);
        assert!(
            text.contains(" error ") && text.contains(&format!("injected fault at {point}")),
            "{text}"
        );
        assert!(text.contains("rolled back"), "{text}");
        assert!(
            !s.exists("result.toml"),
            "{point}: synthetic result must be removed"
        );
        assert_eq!(
            s.read("state.toml"),
            state_before,
            "{point}: state must be byte-identical"
        );
        assert!(!env.sessions_dir().join("cooldown-marker.toml").exists());
        assert!(temp_files(&s.dir).is_empty(), "{:?}", temp_files(&s.dir));
        // And the next run converges.
        env.csa()
            .args(["session", "reconcile", &s.id])
            .assert()
            .success();
        assert_eq!(s.phase(), "retired");
    }
}

#[test]
fn a_result_appearing_before_the_publish_is_kept_and_retired() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let child = env
        .csa_std()
        .env(
            FAULT_ENV,
            FaultPoint::ReconcilePublish.spec(FaultMode::Pause),
        )
        .args(["session", "reconcile", &s.id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_for_pause(FaultPoint::ReconcilePublish);
    let real = result_toml("success", 0, "the real one");
    s.write("result.toml", &real);
    env.resume(FaultPoint::ReconcilePublish);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        stdout_of(&out).contains("late-result-retired"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.read("result.toml"), real);
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.state()["termination_reason"].as_str(), Some("completed"));
}

#[test]
fn a_real_result_written_after_the_publish_survives_a_later_failure() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let state_before = s.read("state.toml");
    let child = env
        .csa_std()
        .env(
            FAULT_ENV,
            fault_spec(&[
                (FaultPoint::ReconcileTransition, FaultMode::Pause),
                (FaultPoint::ReconcileStateWrite, FaultMode::Error),
            ]),
        )
        .args(["session", "reconcile", &s.id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_for_pause(FaultPoint::ReconcileTransition);
    assert!(s.read("result.toml").contains("synthetic failure"));
    let real = result_toml("success", 0, "late but real");
    let tmp = s.path("late.tmp");
    fs_err::write(&tmp, &real).unwrap();
    fs_err::rename(&tmp, s.path("result.toml")).unwrap();
    env.resume(FaultPoint::ReconcileTransition);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout_of(&out).contains("newer result.toml"),
        "{}",
        stdout_of(&out)
    );
    assert_eq!(s.read("result.toml"), real, "the real result must stay");
    assert_eq!(s.read("state.toml"), state_before);
    env.csa()
        .args(["session", "reconcile", &s.id])
        .assert()
        .success();
    assert_eq!(s.phase(), "retired");
    assert_eq!(s.read("result.toml"), real);
}

#[test]
fn a_held_reconcile_lock_skips_the_session() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let child = env
        .csa_std()
        .env(
            FAULT_ENV,
            FaultPoint::ReconcileLocked.spec(FaultMode::Pause),
        )
        .args(["session", "reconcile", &s.id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_for_pause(FaultPoint::ReconcileLocked);
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).contains("skipped-locked"),
        "{}",
        stdout_of(&out)
    );
    assert!(out.status.success());
    env.resume(FaultPoint::ReconcileLocked);
    let first = child.wait_with_output().unwrap();
    assert!(stdout_of(&first).contains("synthesized-failure"));
}

#[test]
fn an_error_after_the_state_write_keeps_the_session_consistent() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let out = reconcile_with_fault(
        &env,
        &s,
        &FaultPoint::ReconcileCooldown.spec(FaultMode::Error),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(s.phase(), "retired");
    assert!(
        s.result()["summary"]
            .as_str()
            .unwrap()
            .starts_with("synthetic failure")
    );
}

#[test]
fn reconcile_all_skips_a_session_deleted_while_it_runs() {
    let env = Env::new();
    let gone = env.session("active").dead_pid();
    let other = env.session("active").dead_pid();
    let child = env
        .csa_std()
        .env(
            FAULT_ENV,
            FaultPoint::ReconcileChecked.spec(FaultMode::Pause),
        )
        .args(["session", "reconcile", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both dead sessions were checked; neither is locked yet.
    env.wait_for_pause(FaultPoint::ReconcileChecked);
    env.csa()
        .args(["session", "delete", &gone.id])
        .assert()
        .success();
    assert!(!gone.dir.exists());
    env.resume(FaultPoint::ReconcileChecked);
    let out = child.wait_with_output().unwrap();
    let text = stdout_of(&out);
    assert!(out.status.success(), "{text}{}", stderr_of(&out));
    assert!(!text.contains("error"), "{text}");
    assert!(
        !text.contains(&gone.id),
        "the removed session is skipped: {text}"
    );
    assert!(
        text.contains(&format!("{} synthesized-failure", other.id)),
        "{text}"
    );
    assert_eq!(other.phase(), "retired");
}
