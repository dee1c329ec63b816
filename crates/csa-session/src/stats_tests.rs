use super::*;

use crate::id::SessionId;
use crate::layout::SessionDir;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a time")
}

fn facts(tool: &str, status: SessionStatus, last: i64) -> SessionFacts {
    SessionFacts {
        tool: tool.to_owned(),
        status,
        outcome: None,
        last_accessed: Some(at(last)),
        run_secs: None,
        idle_secs: None,
        tokens: None,
    }
}

fn state_with(extra: &str) -> SessionState {
    let text = format!(
        "meta_session_id = \"01ARZ3NDEKTSV4RRFFQ69G5FAV\"\nproject_path = \"/p\"\n\
         created_at = \"2026-01-01T00:00:00Z\"\nlast_accessed = \"2026-01-01T00:00:00Z\"\n{extra}"
    );
    SessionState::parse(&text, std::path::Path::new("state.toml")).expect("state")
}

#[test]
fn tokens_come_from_the_total_else_from_each_tool() {
    let total = state_with(
        "[total_token_usage]\ninput_tokens = 1000\ncache_read_input_tokens = 400\n\
         output_tokens = 200\nestimated_cost_usd = 0.25\n\
         [tools.codex.token_usage]\ninput_tokens = 1\n",
    );
    assert_eq!(
        TokenUsage::of(&total),
        Some(TokenUsage {
            input: 1000,
            cached_input: 400,
            output: 200,
            total: 1200,
            cost_usd: Some(0.25),
        })
    );
    let per_tool = state_with(
        "[tools.codex]\nlast_action_summary = \"\"\nlast_exit_code = 0\n\
         updated_at = \"2026-01-01T00:00:00Z\"\n\
         [tools.codex.token_usage]\ninput_tokens = 10\noutput_tokens = 5\ntotal_tokens = 16\n\
         [tools.claude-code]\nlast_action_summary = \"\"\nlast_exit_code = 0\n\
         updated_at = \"2026-01-01T00:00:00Z\"\n\
         [tools.claude-code.token_usage]\ninput_tokens = 3\ncached_input_tokens = 9\n",
    );
    assert_eq!(
        TokenUsage::of(&per_tool),
        Some(TokenUsage {
            input: 13,
            cached_input: 3,
            output: 5,
            total: 19,
            cost_usd: None,
        })
    );
    assert_eq!(TokenUsage::of(&state_with("")), None);
    // A negative or non-numeric count is not a count.
    let odd = state_with("[total_token_usage]\ninput_tokens = -5\noutput_tokens = \"7\"\n");
    assert_eq!(TokenUsage::of(&odd), Some(TokenUsage::default()));
}

#[test]
fn a_rollup_counts_statuses_outcomes_time_idle_and_tokens() {
    let mut done = facts("codex", SessionStatus::Retired, 10);
    done.outcome = Some(Outcome::Success);
    done.run_secs = Some(60.0);
    done.tokens = Some(TokenUsage {
        input: 100,
        cached_input: 40,
        output: 10,
        total: 110,
        cost_usd: Some(0.5),
    });
    let mut failed = facts("claude-code", SessionStatus::Failed, 20);
    failed.outcome = Some(Outcome::Killed);
    failed.run_secs = Some(120.0);
    failed.tokens = Some(TokenUsage {
        input: 1,
        cached_input: 0,
        output: 1,
        total: 2,
        cost_usd: None,
    });
    let mut running = facts("codex", SessionStatus::Active, 30);
    running.run_secs = Some(30.0);
    running.idle_secs = Some(12.0);
    let mut stuck = facts("codex", SessionStatus::Active, 0);
    stuck.run_secs = Some(900.0);
    stuck.idle_secs = Some(800.0);
    let broken = SessionFacts {
        last_accessed: None,
        ..facts(UNKNOWN_TOOL, SessionStatus::Error, 0)
    };
    let all = [done, failed, running, stuck, broken];

    let stats = roll_up(&all, None, false, at(100));
    let total = &stats.total;
    assert_eq!(total.sessions, 5);
    assert_eq!(
        total.status,
        StatusCounts {
            active: 2,
            available: 0,
            retired: 1,
            failed: 1,
            error: 1,
        }
    );
    assert_eq!(
        total.outcome,
        OutcomeCounts {
            success: 1,
            failure: 0,
            killed: 1,
            timeout: 0,
        }
    );
    assert_eq!(total.run_secs_total, 1110.0);
    assert_eq!(total.timed_sessions, 4);
    assert_eq!(total.run_secs_mean, Some(277.5));
    assert_eq!(total.idle_secs_total, 812.0);
    assert_eq!(total.idle_secs_max, Some(800.0));
    assert_eq!(total.idle_sessions, 2);
    assert_eq!(total.tokens.total, 112);
    assert_eq!(total.tokens.cached_input, 40);
    assert_eq!(total.tokens.sessions, 2);
    assert_eq!(total.tokens.cost_usd, Some(0.5));
    assert_eq!(total.tokens.cost_sessions, 1);
    assert_eq!(stats.by_tool, None);
    assert_eq!(stats.since, None);

    // Since a cutoff: the older sessions drop out; an unreadable one stays.
    let recent = roll_up(&all, Some(at(15)), true, at(100));
    assert_eq!(recent.total.sessions, 3);
    assert_eq!(recent.since.as_deref(), Some(format_time(at(15)).as_str()));
    let by_tool = recent.by_tool.expect("by tool");
    let names: Vec<&str> = by_tool.iter().map(|t| t.tool.as_str()).collect();
    assert_eq!(names, ["claude-code", "codex", UNKNOWN_TOOL]);
    assert_eq!(by_tool[1].rollup.sessions, 1);
    assert_eq!(by_tool[1].rollup.idle_secs_total, 12.0);
    assert_eq!(by_tool[0].rollup.outcome.killed, 1);
}

#[test]
fn nothing_to_count_is_zero_with_no_mean() {
    let stats = roll_up(&[], None, true, at(0));
    assert_eq!(stats.total, Rollup::default());
    assert_eq!(stats.total.run_secs_mean, None);
    assert_eq!(stats.by_tool, Some(Vec::new()));
}

#[test]
fn facts_are_read_from_the_files_without_changing_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let id = SessionId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").expect("id");
    let dir = tmp.path().join(id.as_str());
    fs_err::create_dir_all(&dir).expect("dir");
    let state = csa_test_support::state_toml(id.as_str(), tmp.path(), "retired");
    fs_err::write(dir.join("state.toml"), &state).expect("state");
    let result = csa_test_support::result_toml("failure", 3, "broke");
    fs_err::write(dir.join("result.toml"), &result).expect("result");
    let loc = SessionLocation {
        id,
        dir: SessionDir::new(dir.clone()),
        legacy: false,
    };
    let now = at(0);
    let read = SessionFacts::read(&loc, now);
    assert_eq!(read.status, SessionStatus::Failed);
    assert_eq!(read.outcome, Some(Outcome::Failure));
    assert_eq!(read.tool, "codex");
    assert_eq!(read.run_secs, Some(5.0));
    assert_eq!(read.idle_secs, None);
    assert_eq!(read.tokens, None);
    assert_eq!(
        fs_err::read_to_string(dir.join("state.toml")).expect("state"),
        state
    );

    // Active: runs to now, idle since the log last grew (here: created).
    let active = csa_test_support::state_toml(loc.id.as_str(), tmp.path(), "active");
    fs_err::write(dir.join("state.toml"), active).expect("state");
    fs_err::remove_file(dir.join("result.toml")).expect("rm");
    let created = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let now = created + chrono::TimeDelta::seconds(90);
    let read = SessionFacts::read(&loc, now);
    assert_eq!(read.status, SessionStatus::Active);
    assert_eq!(read.run_secs, Some(90.0));
    assert_eq!(read.idle_secs, Some(90.0));

    fs_err::write(dir.join("state.toml"), "not toml [").expect("state");
    let read = SessionFacts::read(&loc, now);
    assert_eq!(read.status, SessionStatus::Error);
    assert_eq!(read.last_accessed, None);
}
