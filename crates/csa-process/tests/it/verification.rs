//! Verification before any signal, against real processes: a process whose
//! command line is that of the session's daemon verifies; a live process
//! that is not it, a zombie, or a session with a lock record of another
//! boot, host or pid namespace does not.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use csa_process::facts;
use csa_process::signal::{self, Refusal};
use csa_test_support::*;

/// A live process whose command line reads `sh daemon --session-id <id>`:
/// `sh` running a script named `daemon` (which waits on a `sleep`), with
/// the script's folder as its working directory. Killed with its group.
struct FakeDaemon {
    process: Guard,
    _script_dir: tempfile::TempDir,
}

impl FakeDaemon {
    fn start(session_id: &str) -> FakeDaemon {
        let script_dir = tempfile::tempdir().unwrap();
        fs_err::write(script_dir.path().join("daemon"), "sleep 300\nexit 0\n").unwrap();
        let child = Command::new("sh")
            .args(["daemon", "--session-id", session_id])
            .current_dir(script_dir.path())
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let process = Guard { child, group: true };
        // The kernel lays out the new command line just after `spawn` returns.
        wait_until("the daemon's command line", || {
            facts::cmdline_args(process.pid())
                .is_some_and(|args| signal::is_daemon_of(&args, session_id))
        });
        FakeDaemon {
            process,
            _script_dir: script_dir,
        }
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// `daemon.pid` naming `pid` with its true start time.
fn record_daemon(session: &ScratchSession, pid: u32) -> u64 {
    let ticks = start_time(pid);
    session.daemon_pid(pid, Some(ticks));
    ticks
}

/// A lock record naming `pid`, written on this host, in this boot and this
/// pid namespace unless `change` says otherwise.
fn record_lock(
    session: &ScratchSession,
    pid: u32,
    change: impl FnOnce(&mut csa_process::LockRecord),
) {
    let mut lock = csa_process::LockRecord {
        pid,
        tool_name: Some("codex".into()),
        acquired_at: None,
        reason: None,
        pid_start_time_ticks: Some(start_time(pid)),
        boot_id: facts::boot_id(),
        hostname: facts::hostname(),
        pid_namespace: facts::pid_namespace(),
    };
    change(&mut lock);
    session.write("locks/codex.lock", &lock.to_json());
}

/// Alive and not a zombie (a process paging in under load reads `D`).
fn running(pid: u32) -> bool {
    matches!(proc_state(pid), Some(state) if !matches!(state, 'Z' | 'X' | 'x'))
}

#[test]
fn the_daemon_of_this_session_on_this_machine_verifies() {
    let daemon = FakeDaemon::start(ScratchSession::ID);
    let session = ScratchSession::new();
    let ticks = record_daemon(&session, daemon.pid());
    record_lock(&session, daemon.pid(), |_| {});
    let verified = signal::verify_daemon(&session.dir(), ScratchSession::ID).expect("verified");
    assert_eq!(verified.pid(), daemon.pid());
    assert_eq!(verified.start_time_ticks(), ticks);
    assert_eq!(
        verified.group(),
        Some(i64::from(daemon.pid())),
        "it leads its group"
    );
}

#[test]
fn a_live_process_that_is_not_this_sessions_daemon_is_refused() {
    let session = ScratchSession::new();
    let stranger = sleeper();
    record_daemon(&session, stranger.pid());
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::NotTheDaemon { .. }), "{refused}");

    let other = FakeDaemon::start("01BX5ZZKBKACTAV9WEVGEMMVRZ");
    record_daemon(&session, other.pid());
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::NotTheDaemon { .. }), "{refused}");
    assert!(running(stranger.pid()) && running(other.pid()));
}

#[test]
fn a_lock_record_of_another_boot_host_or_pid_namespace_refuses_the_daemon() {
    let daemon = FakeDaemon::start(ScratchSession::ID);
    let session = ScratchSession::new();
    record_daemon(&session, daemon.pid());
    record_lock(&session, daemon.pid(), |lock| {
        lock.boot_id = Some("00000000-0000-0000-0000-000000000000".into());
    });
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::OtherBoot { .. }), "{refused}");

    record_lock(&session, daemon.pid(), |lock| {
        lock.hostname = Some("elsewhere.invalid".into());
    });
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::OtherHost { .. }), "{refused}");

    record_lock(&session, daemon.pid(), |lock| {
        lock.pid_namespace = Some("pid:[1]".into());
    });
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(
        matches!(refused, Refusal::OtherPidNamespace { .. }),
        "{refused}"
    );
    assert!(running(daemon.pid()));
}

#[test]
fn a_daemon_killed_and_not_yet_reaped_is_gone() {
    let mut daemon = FakeDaemon::start(ScratchSession::ID);
    let session = ScratchSession::new();
    record_daemon(&session, daemon.pid());
    daemon.process.child.kill().unwrap();
    wait_until("a zombie", || proc_state(daemon.pid()) == Some('Z'));
    let refused = signal::verify_daemon(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::Gone { .. }), "{refused}");
}

#[test]
fn the_signal_a_verified_process_receives_is_the_one_named() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;
    for sig in [signal::Sig::Term, signal::Sig::Kill] {
        let mut child = sleeper();
        let record = csa_process::DaemonPid {
            pid: child.pid(),
            start_time_ticks: Some(start_time(child.pid())),
        };
        let verified = signal::verify(&record, |_| Ok(())).expect("verified");
        verified.signal(sig).expect("signalled");
        assert!(
            verified.wait_for_exit(Duration::from_secs(10)),
            "{sig:?} ended it"
        );
        let status = child.child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig.number()), "{sig:?}");
    }
}

/// A csa in a container entered from the host (`docker exec`, `unshare -p`
/// without job control) is in a session whose leader is outside its pid
/// namespace, and so are the processes it starts: `getsid` says 0. Such a
/// process verifies, and its session is 0, never a panic. The test runs
/// itself again inside a new pid namespace to get there.
#[test]
fn a_process_whose_session_leader_is_outside_the_pid_namespace_verifies() {
    const INSIDE: &str = "CSA_TEST_INSIDE_A_PID_NAMESPACE";
    const NAME: &str =
        "verification::a_process_whose_session_leader_is_outside_the_pid_namespace_verifies";
    if std::env::var_os(INSIDE).is_some() {
        let child = sleeper();
        assert_eq!(facts::session_of(child.pid()), Some(0), "the condition");
        assert_eq!(facts::own_process_group(), 0, "the condition");
        let record = csa_process::DaemonPid {
            pid: child.pid(),
            start_time_ticks: facts::start_time_ticks(child.pid()),
        };
        let verified = signal::verify(&record, |_| Ok(())).expect("verified");
        assert_eq!(verified.session(), Some(0));
        assert!(!signal::is_signallable_group(0));
        return;
    }
    let works = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !works {
        eprintln!("skipped: `unshare --pid --fork --mount-proc` is not available here");
        return;
    }
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c"])
        .arg(r#"exec "$0" --exact "$1" --nocapture --test-threads 1"#)
        .arg(std::env::current_exe().unwrap())
        .arg(NAME)
        .env(INSIDE, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the test ran inside: {text}");
}
