//! Removal at the edges of the file system (contract §8.8): a mount left
//! inside a session dir is never descended into nor emptied, whether the
//! session is still in `sessions/` or already in the trash, and a tree of
//! any depth is removed with a bounded number of file descriptors.
//!
//! Mounts are made inside a private mount namespace (`unshare -m`) that
//! lives as long as the one command run in it; where that is not permitted
//! the test says so on stderr and checks nothing.

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Output;

use csa_test_support::*;

use crate::cleanup::actions;

/// `script` run by `sh` in a private mount namespace, with `$1`... set to
/// `args` and the env's variables; `None` where mounts cannot be made.
fn in_mount_namespace(env: &Env, script: &str, args: &[&Path]) -> Option<Output> {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=64k tmpfs /mnt")
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        eprintln!("skipped: mounts in a private mount namespace are not permitted here");
        return None;
    }
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .args(args)
        .current_dir(&env.project);
    env.apply(&mut cmd);
    Some(cmd.output().unwrap())
}

fn precious(env: &Env) -> std::path::PathBuf {
    let outside = env.tmp.path().join("precious");
    fs_err::create_dir_all(outside.join("deep")).unwrap();
    fs_err::write(outside.join("keep.txt"), "keep me").unwrap();
    fs_err::write(outside.join("deep/b.txt"), "keep me too").unwrap();
    outside
}

#[test]
fn a_bind_mount_inside_a_session_is_never_emptied_and_the_session_is_kept() {
    let env = Env::new();
    let outside = precious(&env);
    let before = snapshot_dir(&outside);
    let s = env.session("active").retired("success", 0, 30);
    let point = s.path("output/shared");
    fs_err::create_dir_all(&point).unwrap();
    let csa = assert_cmd::cargo::cargo_bin("csa");
    // A bind mount of a folder of the same file system: same device, only
    // the mount tells them apart.
    for command in ["delete --json", "clean --json"] {
        let script = format!(
            "mount --bind \"$1\" \"$2\" || exit 99; exec \"$3\" session {command} {}",
            if command.starts_with("delete") {
                s.id.as_str()
            } else {
                ""
            }
        );
        let Some(out) = in_mount_namespace(&env, &script, &[&outside, &point, &csa]) else {
            return;
        };
        assert_ne!(out.status.code(), Some(99), "{}", stderr_of(&out));
        let (action, reason) = &actions(&out)[&s.id];
        assert_eq!(action, "kept", "{command}: {reason}");
        assert!(
            reason.contains("a mount point is inside"),
            "{command}: {reason}"
        );
        assert!(s.exists("state.toml"), "{command}");
        assert_eq!(snapshot_dir(&outside), before, "{command}");
    }
    assert_eq!(
        env.csa()
            .args(["session", "delete", "--json", &s.id])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0),
        "without the mount, the session goes as usual"
    );
    assert!(!s.path("").exists());
    assert_eq!(snapshot_dir(&outside), before);
}

#[test]
fn a_mount_in_a_session_already_in_the_trash_is_left_there_untouched() {
    let env = Env::new();
    let outside = precious(&env);
    let before = snapshot_dir(&outside);
    let entry = env
        .sessions_dir()
        .join(".trash/V/01ARZ3NDEKTSV4RRFFQ69G5FAV-1-x");
    let bind_point = entry.join("output/bind");
    let tmpfs_point = entry.join("output/tmpfs");
    fs_err::create_dir_all(&bind_point).unwrap();
    fs_err::create_dir_all(&tmpfs_point).unwrap();
    fs_err::write(entry.join("state.toml"), "x").unwrap();
    let csa = assert_cmd::cargo::cargo_bin("csa");
    // Both mounts are made after any look csa could take beforehand: the
    // removal itself must stop at them. The tmpfs (another device) holds a
    // file that must still be there once csa is done.
    let script = "mount --bind \"$1\" \"$2\" || exit 99; \
        mount -t tmpfs -o size=64k tmpfs \"$3\" || exit 99; \
        echo kept > \"$3/inside\"; \
        \"$4\" session clean; code=$?; \
        test \"$(cat \"$3/inside\")\" = kept || exit 98; exit $code";
    let Some(out) = in_mount_namespace(&env, script, &[&outside, &bind_point, &tmpfs_point, &csa])
    else {
        return;
    };
    let stderr = stderr_of(&out);
    assert_ne!(out.status.code(), Some(99), "{stderr}");
    assert_ne!(
        out.status.code(),
        Some(98),
        "the tmpfs was emptied: {stderr}"
    );
    assert!(stderr.contains("a mount point is inside"), "{stderr}");
    assert!(stderr.contains(&entry.display().to_string()), "{stderr}");
    assert!(
        bind_point.exists() && tmpfs_point.exists(),
        "left in the trash"
    );
    assert_eq!(snapshot_dir(&outside), before);
}

/// `depth` nested folders `d` under `top`, made one level at a time through
/// open folders (the whole path is longer than `PATH_MAX`).
fn nest(top: &Path, depth: usize) {
    use rustix::fs::{Mode, OFlags};
    fs_err::create_dir_all(top).unwrap();
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(top, flags, Mode::empty()).unwrap();
    for _ in 0..depth {
        rustix::fs::mkdirat(dir.as_fd(), "d", Mode::RWXU).unwrap();
        dir = rustix::fs::openat(dir.as_fd(), "d", flags, Mode::empty()).unwrap();
    }
    rustix::fs::openat(
        dir.as_fd(),
        "leaf",
        OFlags::CREATE | OFlags::WRONLY,
        Mode::RUSR,
    )
    .unwrap();
}

#[test]
fn a_5000_level_tree_is_removed_with_256_file_descriptors() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    nest(&s.path("output"), 5000);
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -n 256 && exec \"$@\"", "sh"])
        .arg(assert_cmd::cargo::cargo_bin("csa"))
        .args(["session", "delete", "--json", &s.id])
        .current_dir(&env.project);
    env.apply(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(actions(&out)[&s.id].0, "deleted");
    assert!(!s.path("").exists());
    // Every trash folder is empty: nothing was left half-removed there.
    let trash = env.sessions_dir().join(".trash");
    for shard in fs_err::read_dir(&trash).unwrap() {
        let shard = shard.unwrap().path();
        let left: Vec<_> = fs_err::read_dir(&shard).unwrap().collect();
        assert!(left.is_empty(), "left in {}: {left:?}", shard.display());
    }
}
