//! The guards of [`super`] that no file can talk past: csa's own process
//! group, pid 1 at the last step before `kill`, and the check that a group
//! is still led by the verified process. Each test fails if its guard is
//! weakened (they pin what `just mutants` checks).

use super::*;

/// csa's own process group, asked of the kernel here rather than of
/// `own_process_group`, the function under test.
fn this_process_group() -> i64 {
    // SAFETY: getpgid takes a number and touches no memory of ours.
    i64::from(unsafe { libc::getpgid(0) })
}

#[test]
fn csas_own_process_group_is_never_signallable() {
    let own = this_process_group();
    assert!(own > 1, "tests run in an ordinary group, not {own}");
    assert!(!is_signallable_group(own), "csa's own group {own}");
    // Another ordinary group is.
    let other = csa_test_support::spawn_group("sleep", &["300"]);
    let other_group = i64::from(other.pid());
    assert_ne!(other_group, own);
    assert!(is_signallable_group(other_group), "group {other_group}");
}

#[test]
fn the_last_step_before_kill_refuses_pid_one_and_below() {
    for pid in [i64::MIN, -1, 0, 1, i64::from(i32::MAX) + 1] {
        assert!(
            matches!(platform::rustix_pid(pid), Err(Refusal::ReservedPid { pid: p }) if p == pid),
            "{pid}"
        );
    }
    for pid in [2, i64::from(i32::MAX)] {
        let raw = platform::rustix_pid(pid).expect("an ordinary pid");
        assert_eq!(i64::from(raw.as_raw_nonzero().get()), pid);
    }
}

/// A `Verified` as `verify` would build it, with the fields a test chooses.
#[cfg(target_os = "linux")]
fn verified(pid: u32, start_time_ticks: u64, group: Option<i64>) -> Verified {
    Verified {
        pid,
        start_time_ticks,
        group,
        session: None,
        pidfd: None,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_group_is_signalled_only_while_the_verified_process_still_leads_it() {
    use csa_test_support::{proc_state, spawn_group, start_time};
    let leader = spawn_group("sleep", &["300"]);
    let bystander = spawn_group("sleep", &["300"]);
    let ticks = start_time(leader.pid());
    let running = |pid| matches!(proc_state(pid), Some('S' | 'R'));

    // The right start time, but the group is no longer the one it leads.
    let moved = verified(leader.pid(), ticks, Some(i64::from(bystander.pid())));
    let refused = moved.signal_group(Sig::Term);
    assert!(matches!(refused, Err(Refusal::Gone { .. })), "{refused:?}");
    // The right group, but the pid names a process with another start time.
    let reused = verified(leader.pid(), ticks + 1, Some(i64::from(leader.pid())));
    let refused = reused.signal_group(Sig::Term);
    assert!(matches!(refused, Err(Refusal::Gone { .. })), "{refused:?}");
    assert!(
        running(leader.pid()) && running(bystander.pid()),
        "nothing signalled"
    );

    // Both still hold: the group is signalled.
    let ours = verified(leader.pid(), ticks, Some(i64::from(leader.pid())));
    ours.signal_group(Sig::Kill).expect("signalled");
    csa_test_support::wait_until("the leader to die", || !running(leader.pid()));
    assert!(running(bystander.pid()), "only the verified group");
}

#[cfg(target_os = "linux")]
#[test]
fn a_verified_group_has_live_members_until_they_are_gone() {
    use csa_test_support::{spawn_group, start_time};
    let mut leader = spawn_group("sleep", &["300"]);
    let pid = leader.pid();
    let handle = verified(pid, start_time(pid), Some(i64::from(pid)));
    assert_eq!(handle.group_has_live_members(), Some(true));
    assert_eq!(
        verified(pid, start_time(pid), None).group_has_live_members(),
        None
    );
    leader.child.kill().expect("kill");
    leader.child.wait().expect("reap");
    assert_eq!(handle.group_has_live_members(), Some(false));
}

#[cfg(target_os = "linux")]
#[test]
fn on_linux_the_verified_handle_holds_a_pidfd_opened_for_the_process() {
    use csa_test_support::{sleeper, start_time};
    let child = sleeper();
    let pid = child.pid();
    let raw = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    if rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()).is_err() {
        eprintln!("skipped: pidfd_open is not available here");
        return;
    }
    let record = DaemonPid {
        pid,
        start_time_ticks: Some(start_time(pid)),
    };
    let verified = verify(&record, |_| Ok(())).expect("verified");
    assert!(verified.pidfd().is_some(), "a handle without its pidfd");
}
