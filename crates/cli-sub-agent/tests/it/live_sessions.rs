//! Sessions whose process is alive (by every kind of evidence) are never
//! reconciled, and the pre-check creates no file.

use csa_test_support::*;

fn assert_untouched(env: &Env, s: &Session) {
    let before = s.snapshot();
    let out = env
        .csa()
        .args(["session", "reconcile", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("no-change"), "{}", stdout_of(&out));
    env.csa().args(["session", "list"]).assert().success();
    assert_eq!(s.snapshot(), before, "a live session must not change");
    assert!(!s.exists(".reconcile.lock"));
    assert_eq!(s.phase(), "active");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    use super::*;

    struct Killed(Child);

    impl Drop for Killed {
        fn drop(&mut self) {
            // A shell's own children go with it when it leads its group.
            kill_group(self.0.id());
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn daemon_pid_of_a_live_child_with_its_start_time() {
        let env = Env::new();
        let child = Killed(Command::new("sleep").arg("60").spawn().unwrap());
        let s = env.session("active");
        s.write(
            "daemon.pid",
            &format!("{} {}\n", child.0.id(), start_time(child.0.id())),
        );
        assert_untouched(&env, &s);
    }

    #[test]
    fn held_flock_on_a_lock_file_naming_a_dead_pid() {
        let env = Env::new();
        let s = env.session("active").dead_pid();
        s.write("locks/codex.lock", &format!("{{\"pid\": {DEAD_PID}}}"));
        // The kernel lists this process's flock like any other holder's.
        let _held = FlockHolder::hold(&s.path("locks/codex.lock"));
        assert_untouched(&env, &s);
    }

    #[test]
    fn legacy_pid_whose_command_line_names_the_session() {
        let env = Env::new();
        let s = env.session("active");
        let child = Killed(
            Command::new("sh")
                .args(["-c", &format!("sleep 60 # {}", s.id)])
                .process_group(0)
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        s.write("daemon.pid", &format!("{}\n", child.0.id()));
        assert_untouched(&env, &s);
    }

    #[test]
    fn is_alive_reports_alive_with_evidence_and_exit_zero() {
        let env = Env::new();
        let child = Killed(Command::new("sleep").arg("60").spawn().unwrap());
        let s = env.session("active");
        s.write(
            "daemon.pid",
            &format!("{} {}\n", child.0.id(), start_time(child.0.id())),
        );
        let out = env
            .csa()
            .args(["session", "is-alive", &s.id])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = stdout_of(&out);
        assert!(
            text.starts_with("alive\n") && text.contains("recorded start time"),
            "{text}"
        );
    }
}

#[test]
fn recent_output_blocks_reconciliation() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    s.write("output.log", "still going\n");
    assert_untouched(&env, &s);
}

#[test]
fn a_session_without_any_pid_record_is_unknown_and_kept() {
    let env = Env::new();
    let s = env.session("active");
    let out = env
        .csa()
        .args(["session", "is-alive", &s.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "unknown exits 0");
    assert!(
        stdout_of(&out).starts_with("unknown\n"),
        "{}",
        stdout_of(&out)
    );
    assert_untouched(&env, &s);
}

#[cfg(unix)]
#[test]
fn read_only_session_dir_with_nothing_to_do_is_not_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let s = env.session("retired");
    s.write("result.toml", &result_toml("success", 0, "ok"));
    fs_err::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let before = s.snapshot();
    let out = env
        .csa()
        .args(["session", "reconcile", "--all"])
        .output()
        .unwrap();
    let list = env.csa().args(["session", "list"]).output().unwrap();
    fs_err::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(list.status.success(), "{}", stderr_of(&list));
    assert_eq!(s.snapshot(), before);
}

#[test]
fn is_alive_on_a_dead_session_reconciles_it_and_exits_one() {
    let env = Env::new();
    let s = env.session("active").dead_pid();
    let out = env
        .csa()
        .args(["session", "is-alive", &s.id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("dead\n") && text.contains("orphaned_process"),
        "{text}"
    );
    assert_eq!(s.phase(), "retired");
}
