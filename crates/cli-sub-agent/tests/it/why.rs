//! Results that say why (contract §9.3): a failed command's summary is the
//! last non-empty line of its stderr, long lines are cut with an ellipsis,
//! and `show` ends with the last lines and sizes of both logs.

use csa_test_support::*;

fn ended(env: &Env, script: &str) -> Session {
    let s = env.run_with(&[], &["sh", "-c", script]);
    let out = env.csa().args(["session", "wait", &s.id]).output().unwrap();
    assert!(out.status.code().is_some(), "{}", stderr_of(&out));
    s
}

#[test]
fn a_failed_run_is_summed_up_by_the_last_line_of_its_stderr() {
    let env = Env::new();
    let failed = ended(
        &env,
        "echo step 1; echo 'fatal: worker 4 crashed' >&2; echo >&2; echo working; exit 3",
    );
    assert_eq!(
        failed.result()["summary"].as_str(),
        Some("fatal: worker 4 crashed")
    );
    // Without stderr, the last output line.
    let quiet = ended(&env, "echo 'nothing on stderr'; exit 2");
    assert_eq!(
        quiet.result()["summary"].as_str(),
        Some("nothing on stderr")
    );
    // A success is summed up by its output, whatever stderr says.
    let ok = ended(&env, "echo warning >&2; echo all done");
    assert_eq!(ok.result()["summary"].as_str(), Some("all done"));
    let wait = env
        .csa()
        .args(["session", "wait", &failed.id])
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&wait),
        format!("{} failure exit 3: fatal: worker 4 crashed\n", failed.id)
    );
}

#[test]
fn a_long_last_line_is_a_summary_cut_at_200_characters() {
    let env = Env::new();
    let s = ended(&env, "printf 'a%.0s' $(seq 1 5000); echo; exit 0");
    let summary = s.result()["summary"].as_str().unwrap().to_owned();
    assert_eq!(summary, format!("{}…", "a".repeat(200)));
    let failed = ended(&env, "printf 'é%.0s' $(seq 1 300) >&2; exit 1");
    let summary = failed.result()["summary"].as_str().unwrap().to_owned();
    assert_eq!(summary, format!("{}…", "é".repeat(200)));
}

#[test]
fn show_ends_with_the_last_lines_and_sizes_of_both_logs() {
    let env = Env::new();
    let s = ended(
        &env,
        "for i in 1 2 3 4 5 6 7; do echo out-$i; done; printf 'bad \\033[31mred\\n' >&2; exit 1",
    );
    let out = env.csa().args(["session", "show", &s.id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let tail: Vec<&str> = text
        .lines()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(
        tail,
        [
            "output.log    42 B",
            "              out-3",
            "              out-4",
            "              out-5",
            "              out-6",
            "              out-7",
            "stderr.log    13 B",
            "              bad \\x1b[31mred",
        ],
        "{text}"
    );
    let out = env
        .csa()
        .args(["session", "show", &s.id, "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["output_log"]["bytes"], 42);
    assert_eq!(json["output_log"]["last_lines"][4], "out-7");
    assert_eq!(json["stderr_log"]["bytes"], 13);
    assert_eq!(json["stderr_log"]["last_lines"][0], "bad \u{1b}[31mred");
}
