//! `csa session delete` and `csa session clean` meeting odd or hostile
//! files: a `.trash` or session dir that is a symlink, a FIFO
//! `.reconcile.lock`, a tool lock held where `/proc/locks` cannot show it, an
//! unreadable `locks/`, and a dir whose age our own lock file must not reset.
//! Nothing outside the sessions folder is ever touched, nothing blocks, and
//! a session that may still run is kept with one line saying why.

use std::process::Output;

use csa_test_support::*;

use crate::cleanup::{actions, csa};

/// `args` run to the end, or killed (and the test failed) after 20 s: a
/// command that blocks is a bug here, not a slow machine.
fn csa_within(env: &Env, args: &[&str]) -> Output {
    let mut child = env
        .csa_std()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`csa {}` blocked", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_trash_that_is_a_symlink_is_never_followed_and_the_sessions_stay() {
    let env = Env::new();
    let outside = env.tmp.path().join("precious");
    fs_err::create_dir_all(outside.join("V/01ARZ3NDEKTSV4RRFFQ69G5FAV-1-x/deep")).unwrap();
    fs_err::write(outside.join("keep.txt"), "keep me").unwrap();
    fs_err::write(
        outside.join("V/01ARZ3NDEKTSV4RRFFQ69G5FAV-1-x/deep/b.txt"),
        "keep me too",
    )
    .unwrap();
    let before = snapshot_dir(&outside);
    let trash = env.sessions_dir().join(".trash");
    let s = env.session("active").retired("success", 0, 30);
    std::os::unix::fs::symlink(&outside, &trash).unwrap();
    let said = format!("{} is not a directory", trash.display());
    for args in [
        &["session", "clean", "--json"][..],
        &["session", "delete", "--json", &s.id][..],
    ] {
        let out = csa(&env, args);
        let (action, reason) = &actions(&out)[&s.id];
        assert_eq!(action, "kept", "{args:?}: {reason}");
        assert!(reason.contains(&said), "{args:?}: {reason}");
        assert!(stderr_of(&out).contains(&said), "{}", stderr_of(&out));
        assert!(s.exists("state.toml"));
        assert_eq!(snapshot_dir(&outside), before, "{args:?}");
    }
    // Moved away, the next clean removes the session as usual.
    fs_err::remove_file(&trash).unwrap();
    let out = csa(&env, &["session", "clean", "--json"]);
    assert_eq!(actions(&out)[&s.id].0, "deleted");
    assert_eq!(snapshot_dir(&outside), before);
}

#[cfg(unix)]
#[test]
fn a_session_dir_swapped_for_a_symlink_after_the_survey_is_kept_and_its_target_untouched() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    let outside = env.tmp.path().join("precious");
    fs_err::create_dir_all(outside.join("deep")).unwrap();
    fs_err::write(outside.join("deep/b.txt"), "keep me").unwrap();
    let before = snapshot_dir(&outside);
    let child = env
        .csa_std()
        .env(FAULT_ENV, FaultPoint::RemoveLocked.spec(FaultMode::Pause))
        .args(["session", "delete", "--json", &s.id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    env.wait_for_pause(FaultPoint::RemoveLocked);
    fs_err::rename(&s.dir, env.tmp.path().join("moved-away")).unwrap();
    std::os::unix::fs::symlink(&outside, &s.dir).unwrap();
    env.resume(FaultPoint::RemoveLocked);
    let out = child.wait_with_output().unwrap();
    let (action, reason) = &actions(&out)[&s.id];
    assert_eq!(action, "kept", "{reason}");
    assert!(reason.contains("not a directory"), "{reason}");
    assert_eq!(snapshot_dir(&outside), before);
    assert!(fs_err::symlink_metadata(&s.dir).unwrap().is_symlink());
    assert!(trashed(&env.sessions_dir()).is_empty());
}

#[test]
fn a_tool_lock_held_outside_our_pid_namespace_keeps_the_session() {
    let env = Env::new();
    let s = env.session("active").dead_pid().retired("success", 0, 30);
    s.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
    let _held = FlockHolder::hold(&s.path("locks/codex.lock"));
    for args in [
        &["session", "delete", "--json", &s.id][..],
        &["session", "clean", "--json"][..],
    ] {
        let Some(mut inside) = env.in_private_pid_namespace() else {
            return;
        };
        let out = inside
            .arg(assert_cmd::cargo::cargo_bin("csa"))
            .args(args)
            .output()
            .unwrap();
        let (action, reason) = &actions(&out)[&s.id];
        assert_eq!(action, "kept", "{args:?}: {reason}");
        assert!(
            reason.contains("its tool lock is held (locks/codex.lock)"),
            "{reason}"
        );
        assert!(s.exists("state.toml"));
        assert!(
            !can_lock(&s.path("locks/codex.lock")),
            "still held by the test"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_locks_dir_that_cannot_be_read_keeps_the_session() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    fs_err::create_dir_all(s.path("locks")).unwrap();
    // Permission bits bind only an unprivileged user.
    let Some(mut delete) = env.csa_unprivileged() else {
        return;
    };
    let mode = |bits| {
        fs_err::set_permissions(s.path("locks"), std::fs::Permissions::from_mode(bits)).unwrap()
    };
    mode(0o000);
    let out = delete
        .args(["session", "delete", "--json", &s.id])
        .output()
        .unwrap();
    mode(0o700);
    let (action, reason) = &actions(&out)[&s.id];
    assert_eq!(action, "kept", "{reason}");
    assert!(reason.contains("locks/ folder cannot be read"), "{reason}");
    assert!(s.exists("state.toml"));
}

#[cfg(unix)]
#[test]
fn a_reconcile_lock_that_is_a_fifo_is_refused_in_one_line_and_never_waited_on() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    let made = std::process::Command::new("mkfifo")
        .arg(s.path(".reconcile.lock"))
        .status()
        .unwrap();
    assert!(made.success());
    for args in [
        &["session", "clean", "--dry-run", "--json"][..],
        &["session", "delete", "--dry-run", "--json", &s.id][..],
        &["session", "delete", "--json", &s.id][..],
        &["session", "clean", "--json"][..],
    ] {
        let out = csa_within(&env, args);
        let (action, reason) = &actions(&out)[&s.id];
        assert_eq!(action, "kept", "{args:?}: {reason}");
        assert!(
            reason.contains("is not a regular file"),
            "{args:?}: {reason}"
        );
        assert!(!reason.contains('\n'));
        assert!(s.exists("state.toml"));
    }
}

#[test]
fn the_age_of_a_dir_without_a_readable_state_is_not_reset_by_our_own_lock_file() {
    let env = Env::new();
    // No state.toml, last changed two hours ago: not being created.
    let id = "01M8CJGFDBGB2J29QQCVXKA300";
    let bare = env.sessions_dir().join(id);
    fs_err::create_dir_all(bare.join("locks")).unwrap();
    backdate(&bare, 2 * 3600);
    let dry = csa(&env, &["session", "delete", "--dry-run", "--json", id]);
    assert_eq!(
        actions(&dry)[id].0,
        "would delete",
        "{:?}",
        actions(&dry)[id]
    );
    let out = csa(&env, &["session", "delete", "--json", id]);
    assert_eq!(actions(&out)[id].0, "deleted", "{:?}", actions(&out)[id]);
    assert!(!bare.exists());
    // A state that cannot be read, its dir two hours old: old enough for
    // `clean --status error --older-than 1h`, under the lock too.
    let broken = env.session("active");
    broken.write("state.toml", "phase = [unterminated");
    backdate(&broken.path("state.toml"), 2 * 3600);
    backdate(&broken.dir, 2 * 3600);
    let args = [
        "session",
        "clean",
        "--status",
        "error",
        "--older-than",
        "1h",
        "--json",
    ];
    let out = csa(&env, &args);
    let (action, reason) = &actions(&out)[&broken.id];
    assert_eq!(action, "deleted", "{reason}");
    assert!(!broken.dir.exists());
}

/// A session folder its own user may not write (a tool left a `chmod 555`
/// folder) is opened up inside the trash and removed whole, and a later
/// session is removed with it.
#[cfg(target_os = "linux")]
#[test]
fn a_folder_the_user_may_not_write_is_opened_up_in_the_trash_and_removed() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let sealed = env.session("active").retired("success", 0, 30);
    let plain = env.session("active").retired("success", 0, 30);
    fs_err::create_dir_all(sealed.path("output/sealed")).unwrap();
    fs_err::write(sealed.path("output/sealed/file"), "x").unwrap();
    // Permission bits bind only an unprivileged user.
    let Some(mut delete) = env.csa_unprivileged() else {
        return;
    };
    fs_err::set_permissions(
        sealed.path("output/sealed"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    let out = delete
        .args(["session", "delete", "--json", &sealed.id, &plain.id])
        .output()
        .unwrap();
    let actions = actions(&out);
    assert_eq!(actions[&sealed.id].0, "deleted", "{}", stderr_of(&out));
    assert_eq!(actions[&plain.id].0, "deleted", "{}", stderr_of(&out));
    assert!(
        trashed(&env.sessions_dir()).is_empty(),
        "nothing is left in the trash: {:?}",
        trashed(&env.sessions_dir())
    );
}
