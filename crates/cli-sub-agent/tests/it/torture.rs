//! Concurrent reconcilers over many dead sessions converge: exactly one
//! result each, all retired, no temp files.

use crate::support::*;

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
