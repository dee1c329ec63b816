//! The removal protocol driven in-process: threads racing to remove the same
//! sessions remove each exactly once; a session that comes alive between the
//! unlocked read and the lock, or whose lock another csa holds, is kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use csa_session::remove::{Action, Keep, Policy, Remover};
use csa_session::{SessionLocation, SessionsDir, Trigger, Verdict, list_sessions};
use csa_test_support::*;

fn sessions_dir(env: &Env) -> SessionsDir {
    SessionsDir {
        path: env.sessions_dir(),
        legacy: false,
    }
}

fn locations(env: &Env) -> Vec<SessionLocation> {
    let mut found = list_sessions(&sessions_dir(env)).unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn sweep(older_than: Duration) -> Policy {
    Policy::Sweep {
        older_than,
        keep: 0,
        status: csa_session::StatusSet::default(),
    }
}

#[test]
fn eight_threads_removing_the_same_100_sessions_remove_each_exactly_once() {
    let env = Env::new();
    for i in 0..100 {
        let s = env.session("active");
        if i % 3 != 0 {
            // The others are dead and active: reconciled first, then removed.
            s.retired("success", i % 2, 30);
        }
    }
    let locs = locations(&env);
    let probe = FixedProbe::new(Verdict::Dead);
    let deleted = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let remover =
                    Remover::new(&probe, Trigger::SessionClean, sweep(Duration::ZERO), false);
                remover.empty_trash(&sessions_dir(&env)).unwrap();
                let reports: Vec<_> = locs
                    .iter()
                    .map(|loc| remover.remove(remover.survey(loc)))
                    .collect();
                for report in reports.into_iter().map(|r| remover.finish(r)) {
                    assert!(report.error.is_none(), "{report:?}");
                    match report.action {
                        Action::Deleted => {
                            deleted.fetch_add(1, Ordering::Relaxed);
                        }
                        Action::Kept => assert!(
                            matches!(report.keep, Some(Keep::Gone | Keep::Locked)),
                            "{report:?}"
                        ),
                        Action::WouldDelete => panic!("not a dry run"),
                    }
                }
                remover.flush_cooldown().unwrap();
            });
        }
    });
    assert_eq!(deleted.load(Ordering::Relaxed), 100);
    assert!(locations(&env).is_empty());
    assert_eq!(
        trashed(&env.sessions_dir()),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn a_session_that_comes_alive_before_the_lock_is_kept() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 30);
    let before = s.snapshot();
    let probe = FixedProbe::changing(Verdict::Dead, Verdict::Alive);
    let remover = Remover::new(&probe, Trigger::SessionDelete, Policy::Named, false);
    let loc = &locations(&env)[0];
    let report = remover.remove(remover.survey(loc));
    assert_eq!(report.action, Action::Kept);
    assert_eq!(report.keep, Some(Keep::StillRunning));
    assert!(report.reason.contains("under lock"), "{}", report.reason);
    let mut after = s.snapshot();
    assert!(after.remove(&s.path(".reconcile.lock")).is_some());
    assert_eq!(after, before);
}

#[test]
fn a_session_whose_reconcile_lock_is_held_is_kept_as_locked() {
    let env = Env::new();
    let s = env.session("active").retired("failure", 1, 30);
    let _held = FlockHolder::hold(&s.path(".reconcile.lock"));
    let probe = FixedProbe::new(Verdict::Dead);
    let remover = Remover::new(&probe, Trigger::SessionClean, sweep(Duration::ZERO), false);
    let report = remover.remove(remover.survey(&locations(&env)[0]));
    assert_eq!(report.keep, Some(Keep::Locked));
    assert_eq!(report.reason, "locked by another csa");
    assert!(s.exists("state.toml") && s.exists("result.toml"));
}

#[test]
fn a_kept_settled_session_has_the_temp_files_of_crashed_writers_swept() {
    let env = Env::new();
    let s = env.session("active").retired("success", 0, 0);
    s.write(".csa-tmp-state.toml-1-x", "crashed writer");
    backdate(&s.path(".csa-tmp-state.toml-1-x"), 120);
    s.write(".csa-tmp-result.toml-2-y", "a writer at work");
    let probe = FixedProbe::new(Verdict::Dead);
    let week = Duration::from_secs(7 * 86_400);
    let dry = Remover::new(&probe, Trigger::SessionClean, sweep(week), true);
    let report = dry.remove(dry.survey(&locations(&env)[0]));
    assert_eq!(report.action, Action::Kept);
    assert!(
        s.exists(".csa-tmp-state.toml-1-x"),
        "a dry run sweeps nothing"
    );
    let remover = Remover::new(&probe, Trigger::SessionClean, sweep(week), false);
    let report = remover.remove(remover.survey(&locations(&env)[0]));
    assert!(
        matches!(report.keep, Some(Keep::Recent { .. })),
        "{report:?}"
    );
    assert!(!s.exists(".csa-tmp-state.toml-1-x"));
    assert!(s.exists(".csa-tmp-result.toml-2-y"));
}
