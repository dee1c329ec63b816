//! Stopping a command whose daemon is dead, and waiting for a verified
//! process to exit (`csa session kill`).

use std::time::{Duration, Instant};

use csa_process::signal::{self, CommandGroup, Refusal, Sig};
use csa_process::{CmdPid, DaemonPid, facts, stop_group};

use csa_test_support::*;

/// Record `pid` as the session's command, and as its daemon the leader of
/// its session (the spawned groups lead their own, as a command is in the
/// session its daemon leads).
fn record_cmd(session: &ScratchSession, pid: u32) {
    let record = CmdPid {
        pid,
        start_time_ticks: facts::start_time_ticks(pid).expect("ticks"),
    };
    session.write("cmd.pid", &format!("{record}\n"));
    // A process that is not a session leader's group (a plain child of this
    // test) may be in a session led outside this pid namespace (sid 0): any
    // live pid does for the daemon then, as such a record is refused first.
    let daemon = facts::session_of(pid)
        .and_then(|sid| u32::try_from(sid).ok())
        .filter(|sid| *sid > 1)
        .unwrap_or_else(std::process::id);
    session.write("daemon.pid", &format!("{daemon}\n"));
}

fn as_leader(verified: CommandGroup) -> CommandGroup {
    assert!(matches!(verified, CommandGroup::Leader(_)), "{verified:?}");
    verified
}

fn group_members(pgid: u32) -> usize {
    csa_process::proctable::snapshot()
        .expect("snapshot")
        .group_members(pgid as i32)
        .filter(|p| p.is_live())
        .count()
}

/// Live members of the group that ignore SIGTERM (bit 15 of `SigIgn`).
fn members_ignoring_term(pgid: u32) -> usize {
    let ignores_term = |pid: u32| {
        let status = fs_err::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("SigIgn:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
    };
    csa_process::proctable::snapshot()
        .expect("snapshot")
        .group_members(pgid as i32)
        .filter(|p| p.is_live() && ignores_term(p.pid))
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
    let ended_by = stop_group(&as_leader(verified), Duration::from_secs(5)).expect("stopped");
    assert_eq!(ended_by, Sig::Term);
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
    let ended_by = stop_group(&as_leader(verified), Duration::from_millis(300)).expect("stopped");
    assert_eq!(ended_by, Sig::Kill, "the signal that ended it");
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
fn a_group_leader_outside_the_daemons_session_is_refused_whatever_its_environment() {
    // The right pid and start time, and even the session's id in its
    // environment, but not in the session of the daemon `daemon.pid` names.
    let stranger = spawn_session_group("sleep", &["300"]);
    let other_daemon = sleeper();
    let session = ScratchSession::new();
    record_cmd(&session, stranger.pid());
    session.write("daemon.pid", &format!("{}\n", other_daemon.pid()));
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(
        matches!(refused, Refusal::NotTheCommand { .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("not in the one of the daemon"),
        "{refused}"
    );
    assert!(
        matches!(proc_state(stranger.pid()), Some('S' | 'R')),
        "not signalled"
    );
}

#[test]
fn a_command_that_cleared_its_environment_is_still_verified_by_its_session() {
    let cleared = spawn_group("env", &["-i", "sleep", "300"]);
    let session = ScratchSession::new();
    wait_until("exec'd", || {
        facts::cmdline_args(cleared.pid())
            .is_some_and(|args| args.first().is_some_and(|a| a == "sleep"))
    });
    record_cmd(&session, cleared.pid());
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    let ended_by = stop_group(&as_leader(verified), Duration::from_secs(5)).expect("stopped");
    assert_eq!(ended_by, Sig::Term);
}

#[test]
fn what_is_left_of_a_group_whose_leader_has_gone_is_still_stopped() {
    // The leader exits and is reaped here: its children live on in its group.
    let mut leader = {
        csa_test_support::in_new_session(
            std::process::Command::new("sh")
                .args(["-c", "(trap '' TERM; exec sleep 300) & sleep 300 & exit 0"]),
        )
        .spawn()
        .expect("spawn")
    };
    let pgid = leader.id();
    let session = ScratchSession::new();
    // The subshell ignores SIGTERM only once it has run its trap.
    wait_until("two members, one ignoring SIGTERM", || {
        group_members(pgid) == 2 && members_ignoring_term(pgid) == 1
    });
    record_cmd(&session, pgid);
    leader.wait().expect("reaped");
    let remnant = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    assert!(matches!(remnant, CommandGroup::Remnant(_)), "{remnant:?}");
    let ended_by = stop_group(&remnant, Duration::from_millis(300)).expect("stopped");
    let left = group_members(pgid);
    kill_group(pgid);
    assert_eq!(ended_by, Sig::Kill, "one member ignores SIGTERM");
    assert_eq!(left, 0);
}

#[test]
fn a_grace_or_timeout_too_long_to_represent_is_no_limit_not_a_panic() {
    let leader = spawn_session_group("sleep", &["300"]);
    let session = ScratchSession::new();
    record_cmd(&session, leader.pid());
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    let ended_by = stop_group(&verified, Duration::MAX).expect("stopped");
    assert_eq!(ended_by, Sig::Term);
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

#[test]
fn once_the_leader_is_reaped_its_group_members_are_stopped_one_by_one() {
    let mut leader = spawn_session_group("sh", &["-c", "sleep 300 & wait"]);
    let pgid = leader.pid();
    wait_until("the sleep started", || group_members(pgid) == 2);
    let session = ScratchSession::new();
    record_cmd(&session, pgid);
    let verified = signal::verify_command(&session.dir(), ScratchSession::ID).expect("verified");
    // The leader exits and is reaped; the group lives on in its member.
    leader.child.kill().expect("kill the leader");
    leader.child.wait().expect("reap the leader");
    assert_eq!(group_members(pgid), 1, "the sleep outlived its leader");
    stop_group(&verified, Duration::from_secs(1)).expect("stopped");
    assert_eq!(group_members(pgid), 0);
}

#[test]
fn the_command_group_is_the_one_cmd_pid_names_while_led_and_once_its_leader_is_gone() {
    let mut leader = spawn_session_group("sh", &["-c", "sleep 300 & wait"]);
    let pgid = leader.pid();
    wait_until("the sleep started", || group_members(pgid) == 2);
    let session = ScratchSession::new();
    record_cmd(&session, pgid);
    let led = as_leader(signal::verify_command(&session.dir(), ScratchSession::ID).expect("led"));
    assert_eq!((led.pid(), led.pgid()), (pgid, i64::from(pgid)));

    leader.child.kill().expect("kill the leader");
    leader.child.wait().expect("reap the leader");
    let left = signal::verify_command(&session.dir(), ScratchSession::ID).expect("left");
    assert!(matches!(left, CommandGroup::Remnant(_)), "{left:?}");
    assert_eq!((left.pid(), left.pgid()), (pgid, i64::from(pgid)));
}

#[test]
fn a_command_reaped_with_nothing_left_of_its_group_is_gone() {
    let mut leader = spawn_session_group("sleep", &["300"]);
    let pid = leader.pid();
    let session = ScratchSession::new();
    record_cmd(&session, pid);
    leader.child.kill().expect("kill the command");
    leader.child.wait().expect("reap the command");
    // Nothing holds the group's id now: it may become another process's.
    leader.group = false;
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::Gone { .. }), "{refused}");
}

#[test]
fn zombies_left_in_a_reaped_commands_group_are_no_remnant_to_stop() {
    // The leader's child forks `sleep 0`, leaves for a session of its own
    // (`setsid`) and never reaps it: once the leader is reaped, its group
    // holds one zombie, in the daemon's session. Closing stdin ends the `cat`.
    let script = "exec 3<&0; (sleep 0 & exec setsid cat <&3) & exit 0";
    let mut leader = Guard {
        child: in_new_session(
            std::process::Command::new("sh")
                .args(["-c", script])
                .stdin(std::process::Stdio::piped()),
        )
        .spawn()
        .expect("spawn"),
        group: true,
    };
    let pgid = leader.pid();
    let only_zombies_left = || {
        let table = csa_process::proctable::snapshot().expect("snapshot");
        let members: Vec<_> = table.group_members(pgid as i32).copied().collect();
        members.iter().all(|p| !p.is_live()) && members.iter().any(|p| p.pid != pgid)
    };
    wait_until("a zombie member and no live one", only_zombies_left);
    let session = ScratchSession::new();
    record_cmd(&session, pgid);
    // `wait` closes the child's stdin first, which would end the `cat` and
    // let init reap the zombie: keep it open until the checks are done.
    let _stdin = leader.child.stdin.take();
    leader.child.wait().expect("reap the leader");
    assert!(group_alive(pgid), "the zombie is still in the group");
    let refused = signal::verify_command(&session.dir(), ScratchSession::ID).unwrap_err();
    assert!(matches!(refused, Refusal::Gone { .. }), "{refused}");
}
