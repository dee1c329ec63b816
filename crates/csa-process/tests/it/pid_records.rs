//! `daemon.pid` records against live, dead, reused and zombie pids.

use csa_process::{Verdict, facts};

use csa_test_support::*;

#[test]
fn a_sleep_recorded_with_its_true_start_time_is_alive_whatever_its_command_line() {
    let child = sleeper();
    let session = ScratchSession::new();
    session.daemon_pid(child.pid(), facts::start_time_ticks(child.pid()));
    let live = session.liveness(&["codex"]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
}

#[test]
fn the_same_pid_with_another_start_time_is_dead_as_reused() {
    let child = sleeper();
    let ticks = facts::start_time_ticks(child.pid()).expect("start time");
    let session = ScratchSession::new();
    session.daemon_pid(child.pid(), Some(ticks + 1));
    let dead = session.liveness(&["sleep"]);
    assert_eq!(dead.verdict, Verdict::Dead, "{}", dead.summary());
    assert!(dead.summary().contains("reused"), "{}", dead.summary());
}

#[test]
fn a_pid_that_does_not_exist_is_dead() {
    let session = ScratchSession::new();
    session.daemon_pid(4_194_304 + 1000, Some(5));
    assert_eq!(session.liveness(&[]).verdict, Verdict::Dead);
}

#[test]
fn real_pid_reuse_is_detected() {
    let ns_last_pid = "/proc/sys/kernel/ns_last_pid";
    let first = sleeper();
    let pid = first.pid();
    let old_ticks = facts::start_time_ticks(pid).expect("start time");
    drop(first);
    // Start times have clock-tick resolution: let at least one tick pass.
    std::thread::sleep(std::time::Duration::from_millis(50));
    if let Err(err) = fs_err::write(ns_last_pid, (pid - 1).to_string()) {
        eprintln!(
            "skipped: cannot write {ns_last_pid} ({err}); needs root in the initial pid namespace"
        );
        return;
    }
    let second = sleeper();
    if second.pid() != pid {
        eprintln!(
            "skipped: pid {pid} was not reused (got {}); another process took it",
            second.pid()
        );
        return;
    }
    let old = ScratchSession::new();
    old.daemon_pid(pid, Some(old_ticks));
    let verdict = old.liveness(&["sleep"]);
    assert_eq!(verdict.verdict, Verdict::Dead, "{}", verdict.summary());
    let new = ScratchSession::new();
    new.daemon_pid(pid, facts::start_time_ticks(pid));
    assert_eq!(new.liveness(&[]).verdict, Verdict::Alive);
}

#[test]
fn a_zombie_is_dead_unless_its_process_group_has_live_members() {
    // Leader exits at once and is not reaped: a zombie alone in its group.
    let lonely = spawn_group("sh", &["-c", "exit 0"]);
    wait_until("zombie", || proc_state(lonely.pid()) == Some('Z'));
    let session = ScratchSession::new();
    session.daemon_pid(lonely.pid(), facts::start_time_ticks(lonely.pid()));
    let dead = session.liveness(&[]);
    assert_eq!(dead.verdict, Verdict::Dead, "{}", dead.summary());
    assert!(dead.summary().contains("zombie"));

    // Leader exits but leaves a live member in its group.
    let leader = spawn_group("sh", &["-c", "sleep 60 & exit 0"]);
    wait_until("zombie leader", || proc_state(leader.pid()) == Some('Z'));
    let session = ScratchSession::new();
    session.daemon_pid(leader.pid(), facts::start_time_ticks(leader.pid()));
    let alive = session.liveness(&[]);
    assert_eq!(alive.verdict, Verdict::Alive, "{}", alive.summary());

    // Kill the member: the group has no live members left.
    kill_group(leader.pid());
    wait_until("group gone", || {
        facts::group_has_live_members(leader.pid() as i32) == Some(false)
    });
    assert_eq!(session.liveness(&[]).verdict, Verdict::Dead);
}

#[test]
fn legacy_record_whose_command_line_names_the_session_is_alive() {
    let child = spawn_group("sh", &["-c", &format!("sleep 60 # {}", ScratchSession::ID)]);
    wait_until("sh running", || {
        facts::cmdline(child.pid()).is_some_and(|c| c.contains(ScratchSession::ID))
    });
    let session = ScratchSession::new();
    session.daemon_pid(child.pid(), None);
    let live = session.liveness(&["codex"]);
    assert_eq!(live.verdict, Verdict::Alive, "{}", live.summary());
}

#[test]
fn legacy_record_of_an_unrelated_live_process_is_dead() {
    let child = sleeper();
    let session = ScratchSession::new();
    session.daemon_pid(child.pid(), None);
    let dead = session.liveness(&["codex"]);
    assert_eq!(dead.verdict, Verdict::Dead, "{}", dead.summary());
}
