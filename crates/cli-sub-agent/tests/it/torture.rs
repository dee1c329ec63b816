//! Concurrent reconcilers over many dead sessions converge: exactly one
//! result each, all retired, no temp files.

use csa_test_support::*;

#[test]
fn eight_concurrent_reconcile_all_over_200_dead_sessions() {
    let env = Env::new();
    let sessions: Vec<Session> = (0..200)
        .map(|i| {
            let s = env.session("active").dead_pid();
            if i % 3 == 0 {
                s.write("result.toml", &result_toml("success", 0, "real"));
            }
            s
        })
        .collect();
    let children: Vec<_> = (0..8)
        .map(|_| {
            env.csa_std()
                .args(["session", "reconcile", "--all", "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut changed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for report in reports.as_array().unwrap() {
            let outcome = report["outcome"].as_str().unwrap();
            assert_ne!(outcome, "error", "{report}");
            if ["retired", "synthesized-failure", "late-result-retired"].contains(&outcome) {
                changed += 1;
            }
        }
    }
    assert_eq!(
        changed, 200,
        "each session is changed by exactly one reconciler"
    );
    for (i, s) in sessions.iter().enumerate() {
        assert_eq!(s.phase(), "retired");
        let result = s.result();
        let synthetic = result["summary"]
            .as_str()
            .unwrap()
            .starts_with("synthetic failure");
        assert_eq!(synthetic, i % 3 != 0, "session {i}");
        assert!(temp_files(&s.dir).is_empty());
    }
    assert!(temp_files(&env.sessions_dir()).is_empty());
}

/// A late writer: publish a real result with no clobber, as a daemon does.
/// Returns the bytes when this writer's result is the one on disk.
fn publish_late(s: &Session, n: usize) -> Option<String> {
    let bytes = result_toml("success", 0, &format!("late real result {n}"));
    let tmp = s.path(&format!("late-{n}.tmp"));
    fs_err::write(&tmp, &bytes).unwrap();
    let won = fs_err::hard_link(&tmp, s.path("result.toml")).is_ok();
    fs_err::remove_file(&tmp).unwrap();
    won.then_some(bytes)
}

#[test]
fn lists_and_reconcilers_racing_late_results_keep_every_real_result() {
    const ROUNDS: usize = 3;
    const SESSIONS: usize = 60;
    for round in 0..ROUNDS {
        let env = Env::new();
        let sessions: Vec<Session> = (0..SESSIONS)
            .map(|_| env.session("active").dead_pid())
            .collect();
        let (real, outputs) = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..6)
                .map(|k| {
                    let args: &[&str] = if k % 2 == 0 {
                        &["session", "list", "--json"]
                    } else {
                        &["session", "reconcile", "--all", "--json"]
                    };
                    let child = env
                        .csa_std()
                        .args(args)
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap();
                    scope.spawn(move || child.wait_with_output().unwrap())
                })
                .collect();
            // Meanwhile, daemons publish their real results late.
            let real: Vec<Option<String>> = sessions
                .iter()
                .enumerate()
                .map(|(i, s)| if i % 2 == 0 { publish_late(s, i) } else { None })
                .collect();
            let outputs: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            (real, outputs)
        });
        for out in &outputs {
            assert!(out.status.success(), "round {round}: {}", stderr_of(out));
            let _: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        }
        // One more reconcile converges everything.
        let out = env
            .csa()
            .args(["session", "reconcile", "--all"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout_of(&out));
        for (i, s) in sessions.iter().enumerate() {
            let state: toml::Table = s.read("state.toml").parse().expect("state.toml parses");
            assert_eq!(
                state["phase"].as_str(),
                Some("retired"),
                "round {round} session {i}"
            );
            let result = s.read("result.toml");
            assert!(result.parse::<toml::Table>().is_ok());
            if let Some(bytes) = &real[i] {
                assert_eq!(&result, bytes, "round {round}: a real result was replaced");
            }
            assert_eq!(s.result_files(), 1);
            assert!(temp_files(&s.dir).is_empty());
        }
    }
}
