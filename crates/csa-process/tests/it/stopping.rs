//! Stopping a command whose daemon is dead, and waiting for a verified
//! process to exit (`csa session kill`).

use std::time::{Duration, Instant};

use csa_process::signal::{self, Refusal};
use csa_process::{CmdPid, DaemonPid, facts, stop_group};

use csa_test_support::*;

fn record_cmd(session: &ScratchSession, pid: u32) {
    let record = CmdPid {
        pid,
        start_time_ticks: facts::start_time_ticks(pid).expect("ticks"),
    };
    session.write("cmd.pid", &format!("{record}\n"));
}

fn group_members(pgid: u32) -> usize {
    csa_process::proctable::snapshot()
        .expect("snapshot")
        .group_members(pgid as i32)
        .filter(|p| p.is_live())
        .count()
}

#[test]
fn a_zombie_leader_is_not_waited_for_once_its_live_members_are_gone() {
    let leader = spawn_session_group("sh", &["-c", "sleep 300 & exit 0"]);
    wait_until("zombie leader", || proc_state(leader.pid()) == Some('Z'));
    assert_eq!(group_members(leader.pid()), 1, "the sleep is still alive");
    let session = ScratchSession::new();
    record_cmd(&session, leader.pid());
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    let start = Instant::now();
    stop_group(&verified, Duration::from_secs(5)).expect("stopped");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "waited for a zombie: {took:?}"
    );
    assert_eq!(group_members(leader.pid()), 0);
}

#[test]
fn a_group_whose_leader_ignores_term_is_killed_after_the_grace_period() {
    let leader = spawn_session_group("sh", &["-c", "trap '' TERM; sleep 300; exit 0"]);
    wait_until("sleep started", || group_members(leader.pid()) == 2);
    let session = ScratchSession::new();
    record_cmd(&session, leader.pid());
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    let start = Instant::now();
    stop_group(&verified, Duration::from_millis(300)).expect("stopped");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "not given its grace: {took:?}"
    );
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert_eq!(group_members(leader.pid()), 0);
    assert_eq!(proc_state(leader.pid()), Some('Z'), "ended by SIGKILL");
}

#[test]
fn a_command_record_from_another_host_or_not_leading_a_group_is_refused() {
    let leader = spawn_session_group("sleep", &["300"]);
    let session = ScratchSession::new();
    record_cmd(&session, leader.pid());
    session.write(
        "locks/codex.lock",
        r#"{"pid": 4195304, "hostname": "elsewhere.invalid"}"#,
    );
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::OtherHost { .. }), "{refused}");

    let member = sleeper();
    let session = ScratchSession::new();
    record_cmd(&session, member.pid());
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(
        matches!(refused, Refusal::NotGroupLeader { .. }),
        "{refused}"
    );
}

#[test]
fn waiting_for_a_verified_process_ends_when_it_exits_or_at_the_timeout() {
    let child = sleeper();
    let pid = child.pid();
    let record = DaemonPid {
        pid,
        start_time_ticks: facts::start_time_ticks(pid),
    };
    let verified = signal::verify(&record, |_| Ok(())).expect("verified");
    let start = Instant::now();
    assert!(!verified.wait_for_exit(Duration::from_millis(100)));
    assert!(start.elapsed() >= Duration::from_millis(100));

    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    });
    let start = Instant::now();
    assert!(verified.wait_for_exit(Duration::from_secs(10)));
    let took = start.elapsed();
    killer.join().expect("join");
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(child);
}

#[test]
fn a_group_leader_that_csa_did_not_start_for_the_session_is_refused() {
    // The right pid and start time, but not a command of this session: no
    // CSA_SESSION_ID naming it in its environment.
    let stranger = spawn_group("sleep", &["300"]);
    let session = ScratchSession::new();
    record_cmd(&session, stranger.pid());
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(
        matches!(refused, Refusal::NotTheCommand { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("CSA_SESSION_ID"), "{refused}");
    assert!(
        matches!(proc_state(stranger.pid()), Some('S' | 'R')),
        "not signalled"
    );

    // Another session's command is not this one's either.
    let other = spawn_session_group("sleep", &["300"]);
    let session = ScratchSession::new();
    record_cmd(&session, other.pid());
    let refused = signal::verify_command(&session.dir(), "01BX5ZZKBKACTAV9WEVGEMMVRZ").unwrap_err();
    assert!(
        matches!(refused, Refusal::NotTheCommand { .. }),
        "{refused}"
    );
}

#[test]
fn a_grace_or_timeout_too_long_to_represent_is_no_limit_not_a_panic() {
    let leader = spawn_session_group("sleep", &["300"]);
    let session = ScratchSession::new();
    record_cmd(&session, leader.pid());
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    stop_group(&verified, Duration::MAX).expect("stopped by SIGTERM");
    assert_eq!(group_members(leader.pid()), 0);

    let child = sleeper();
    let record = DaemonPid {
        pid: child.pid(),
        start_time_ticks: facts::start_time_ticks(child.pid()),
    };
    let verified = signal::verify(&record, |_| Ok(())).expect("verified");
    verified.signal(signal::Sig::Kill).expect("signalled");
    assert!(verified.wait_for_exit(Duration::MAX));
    drop(child);
}
