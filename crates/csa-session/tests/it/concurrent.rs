//! Threads of one process racing each other and late writers through the
//! library reconciler: each session is changed exactly once, ends retired
//! with exactly one parseable result, and a real result is never replaced.

use std::sync::atomic::{AtomicUsize, Ordering};

use csa_session::reconcile::{CooldownMode, Outcome, Reconciler};
use csa_session::{
    Check, Liveness, LivenessProbe, SessionDir, SessionId, SessionLocation, SessionsDir, Trigger,
    Verdict, list_sessions, read_cooldown_marker,
};
use csa_test_support::*;

/// A probe that judges every session dead and counts how often it was asked.
#[derive(Default)]
struct AllDead {
    asked: AtomicUsize,
}

impl LivenessProbe for AllDead {
    fn judge(&self, _: &SessionDir, _: &SessionId, _: &[String], _: Check) -> Liveness {
        self.asked.fetch_add(1, Ordering::Relaxed);
        Liveness {
            verdict: Verdict::Dead,
            reasons: vec!["the test says so".into()],
            blocked_by_progress: false,
        }
    }
}

/// A probe that judges every session alive.
struct AllAlive;

impl LivenessProbe for AllAlive {
    fn judge(&self, _: &SessionDir, _: &SessionId, _: &[String], _: Check) -> Liveness {
        Liveness {
            verdict: Verdict::Alive,
            reasons: vec!["the test says so".into()],
            blocked_by_progress: false,
        }
    }
}

fn locations(env: &Env) -> Vec<SessionLocation> {
    let dir = SessionsDir {
        path: env.sessions_dir(),
        legacy: false,
    };
    let mut found = list_sessions(&dir).unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

#[test]
fn eight_threads_reconciling_the_same_100_sessions_change_each_exactly_once() {
    let env = Env::new();
    let sessions: Vec<Session> = (0..100)
        .map(|i| {
            let s = env.session("active");
            if i % 4 == 0 {
                s.write("result.toml", &result_toml("success", 0, "real"));
            }
            s
        })
        .collect();
    let locs = locations(&env);
    let probe = AllDead::default();
    let changed = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let reconciler = Reconciler::new(
                    &probe,
                    Trigger::SessionReconcile,
                    false,
                    CooldownMode::Batched,
                );
                for loc in &locs {
                    let report = reconciler.reconcile(loc);
                    assert!(report.error.is_none(), "{:?}", report.error);
                    if report.outcome.changed() {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                reconciler.flush_cooldown().unwrap();
            });
        }
    });
    assert_eq!(changed.load(Ordering::Relaxed), 100);
    for (i, s) in sessions.iter().enumerate() {
        assert_eq!(s.phase(), "retired");
        assert_eq!(s.result_files(), 1);
        let summary = s.result()["summary"].as_str().unwrap().to_owned();
        assert_eq!(
            summary.starts_with("synthetic failure"),
            i % 4 != 0,
            "{summary}"
        );
        let reason = s.state()["termination_reason"].as_str().unwrap().to_owned();
        let expected = if i % 4 == 0 {
            "completed"
        } else {
            "orphaned_process"
        };
        assert_eq!(reason, expected);
        assert!(temp_files(&s.dir).is_empty());
    }
    let marker = read_cooldown_marker(&SessionsDir {
        path: env.sessions_dir(),
        legacy: false,
    })
    .unwrap();
    assert!(
        marker.is_some(),
        "a batch writes the cooldown marker once at the end"
    );
}

#[test]
fn threads_racing_late_real_results_never_replace_one() {
    for round in 0..3 {
        let env = Env::new();
        let sessions: Vec<Session> = (0..60).map(|_| env.session("active")).collect();
        let locs = locations(&env);
        let probe = AllDead::default();
        let real: Vec<Option<String>> = std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let reconciler = Reconciler::new(
                        &probe,
                        Trigger::SessionList,
                        false,
                        CooldownMode::Immediate,
                    );
                    for loc in locs.iter().rev() {
                        let report = reconciler.reconcile(loc);
                        assert_ne!(report.outcome, Outcome::Error, "{:?}", report.error);
                    }
                });
            }
            // Meanwhile, writers publish real results with no clobber.
            sessions
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let bytes = result_toml("success", 0, &format!("late real result {i}"));
                    let tmp = s.path(&format!("late-{i}.tmp"));
                    fs_err::write(&tmp, &bytes).unwrap();
                    let won = fs_err::hard_link(&tmp, s.path("result.toml")).is_ok();
                    fs_err::remove_file(&tmp).unwrap();
                    won.then_some(bytes)
                })
                .collect()
        });
        let reconciler =
            Reconciler::new(&probe, Trigger::SessionList, false, CooldownMode::Immediate);
        for loc in &locs {
            assert!(reconciler.reconcile(loc).error.is_none());
        }
        for (i, s) in sessions.iter().enumerate() {
            assert_eq!(s.phase(), "retired", "round {round} session {i}");
            assert_eq!(s.result_files(), 1);
            if let Some(bytes) = &real[i] {
                assert_eq!(&s.read("result.toml"), bytes, "a real result was replaced");
            }
        }
    }
}

#[test]
fn a_live_verdict_changes_nothing_and_creates_no_file_however_many_threads_ask() {
    let env = Env::new();
    let sessions: Vec<Session> = (0..20).map(|_| env.session("active")).collect();
    let before: Vec<_> = sessions.iter().map(Session::snapshot).collect();
    let locs = locations(&env);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let reconciler = Reconciler::new(
                    &AllAlive,
                    Trigger::SessionList,
                    false,
                    CooldownMode::Batched,
                );
                for loc in &locs {
                    assert_eq!(reconciler.reconcile(loc).outcome, Outcome::NoChange);
                }
                reconciler.flush_cooldown().unwrap();
            });
        }
    });
    let after: Vec<_> = sessions.iter().map(Session::snapshot).collect();
    assert_eq!(before, after);
    assert!(!env.sessions_dir().join("cooldown-marker.toml").exists());
}

#[test]
fn a_dry_run_reports_the_plan_and_writes_nothing() {
    let env = Env::new();
    let s = env.session("active");
    let before = s.snapshot();
    let probe = AllDead::default();
    let reconciler = Reconciler::new(
        &probe,
        Trigger::SessionReconcile,
        true,
        CooldownMode::Immediate,
    );
    let report = reconciler.reconcile(&locations(&env)[0]);
    assert_eq!(report.outcome, Outcome::SynthesizedFailure);
    assert!(
        report
            .evidence
            .starts_with("would publish a synthetic failure")
    );
    assert_eq!(s.snapshot(), before);
    assert_eq!(
        probe.asked.load(Ordering::Relaxed),
        1,
        "a dry run probes once"
    );
}
