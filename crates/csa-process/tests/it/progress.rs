//! Recent output blocks reconciliation; old output does not.

use csa_process::Verdict;

use csa_test_support::*;

#[test]
fn fresh_output_log_blocks_and_a_backdated_one_does_not() {
    let session = ScratchSession::new();
    session.daemon_pid(4_194_304 + 1000, Some(1));
    let log = session.write("output.log", "working\n");
    let blocked = session.liveness(&[]);
    assert_eq!(blocked.verdict, Verdict::Alive);
    assert!(blocked.blocked_by_progress, "{}", blocked.summary());
    backdate(&log, 120);
    let dead = session.liveness(&[]);
    assert_eq!(dead.verdict, Verdict::Dead, "{}", dead.summary());
    assert!(!dead.blocked_by_progress);
}

#[test]
fn acp_events_count_as_progress() {
    let session = ScratchSession::new();
    session.daemon_pid(4_194_304 + 1000, Some(1));
    session.write("output/acp-events.jsonl", "{}\n");
    assert!(session.liveness(&[]).blocked_by_progress);
}
