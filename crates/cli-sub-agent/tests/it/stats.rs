//! `csa session stats` (contract §10): the project's sessions added up from
//! their files, since a cutoff, per tool, as text and JSON; read only.

use csa_test_support::*;

fn stats_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let out = env
        .csa()
        .args(["session", "stats", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_str(&stdout_of(&out)).unwrap()
}

/// A retired codex session with token usage, a failed claude-code one from
/// ten days ago, and an active one whose process is dead (not reconciled).
fn three_sessions(env: &Env) -> (Session, Session, Session) {
    let done = env.session("retired").retired("success", 0, 0);
    let mut state = done.read("state.toml");
    state.push_str(
        "\n[total_token_usage]\ninput_tokens = 1000\ncache_read_input_tokens = 300\n\
         output_tokens = 250\ntotal_tokens = 1250\nestimated_cost_usd = 0.5\n",
    );
    done.write("state.toml", &state);
    let failed = env.session("retired").retired("failure", 2, 10);
    failed.write(
        "result.toml",
        &result_toml("failure", 2, "broke").replace("\"codex\"", "\"claude-code\""),
    );
    let running = env.session("active").dead_pid();
    (done, failed, running)
}

#[test]
fn stats_add_up_statuses_outcomes_time_and_tokens_without_reconciling() {
    let env = Env::new();
    let (_done, _failed, running) = three_sessions(&env);
    let before = running.snapshot();
    let stats = stats_json(&env, &[]);
    let total = &stats["total"];
    assert_eq!(total["sessions"], 3);
    assert_eq!(total["status"]["retired"], 1);
    assert_eq!(total["status"]["failed"], 1);
    assert_eq!(total["status"]["active"], 1);
    assert_eq!(total["outcome"]["success"], 1);
    assert_eq!(total["outcome"]["failure"], 1);
    // Two results of 5 s each (started 00:00:00, completed 00:00:05), and
    // the active one running since its creation.
    assert_eq!(total["timed_sessions"], 3);
    assert!(total["run_secs_total"].as_f64().unwrap() > 10.0 + 86_400.0);
    assert_eq!(total["idle_sessions"], 1);
    assert_eq!(total["tokens"]["total"], 1250);
    assert_eq!(total["tokens"]["cached_input"], 300);
    assert_eq!(total["tokens"]["sessions"], 1);
    assert_eq!(total["tokens"]["cost_usd"], 0.5);
    assert!(stats.get("by_tool").is_none());
    assert_eq!(stats["since"], serde_json::Value::Null);
    // Read only: the dead active session is still active, untouched.
    assert_eq!(running.snapshot(), before);
    assert_eq!(running.phase(), "active");
}

#[test]
fn since_narrows_to_recent_sessions_and_by_tool_splits_them() {
    let env = Env::new();
    let (_done, _failed, running) = three_sessions(&env);
    running.set_last_accessed(chrono::Utc::now());
    let stats = stats_json(&env, &["--since", "7d", "--by-tool"]);
    assert_eq!(stats["total"]["sessions"], 2);
    assert!(stats["since"].is_string());
    let tools: Vec<(&str, u64)> = stats["by_tool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tool"].as_str().unwrap(), t["sessions"].as_u64().unwrap()))
        .collect();
    assert_eq!(tools, [("codex", 2)]);
    let all = stats_json(&env, &["--by-tool"]);
    let names: Vec<&str> = all["by_tool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tool"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["claude-code", "codex"]);
}

#[test]
fn stats_as_text_and_as_their_format_flag() {
    let env = Env::new();
    three_sessions(&env);
    let out = env
        .csa()
        .args(["session", "stats", "--by-tool"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.starts_with(
            "all sessions\nsessions  3 (1 active, 0 available, 1 retired, 1 failed, 0 error)\n"
        ),
        "{text}"
    );
    assert!(text.contains("tokens    1250 total (1000 input, 300 of them cached; 250 output) in 1 sessions; est. $0.5000 in 1 sessions\n"), "{text}");
    assert!(
        text.contains("\nclaude-code\n  sessions  1 (0 active"),
        "{text}"
    );
    let json = env
        .csa()
        .args(["session", "stats", "--format", "json"])
        .output()
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&stdout_of(&json)).unwrap();
    assert_eq!(parsed["total"]["sessions"], 3);
    // An empty project adds up to nothing.
    let empty = Env::new();
    assert_eq!(stats_json(&empty, &[])["total"]["sessions"], 0);
}
