use super::*;
use crate::phase::PhaseEvent;
use crate::vocab::TerminationReason;
use proptest::prelude::*;

const CLAUDE: &str = include_str!("../../csa-test-support/fixtures/claude-state.toml");
const CODEX: &str = include_str!("../../csa-test-support/fixtures/codex-state.toml");

const WITH_UNKNOWN: &str = r#"
meta_session_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
project_path = "/p"
created_at = "2026-02-24T17:29:23.358305454Z"
last_accessed = "2026-02-24T17:35:41.495705480Z"
future_flag = true
weights = [1.5, 2.5]

[genealogy]
depth = 2
parent_session_id = "01ARZ3NDEKTSV4RRFFQ69G5FAW"
lineage_note = "kept"

[tools.codex]
provider_session_id = "p-1"
updated_at = "2026-02-24T17:35:41Z"
secret_knob = 42

[tools.codex.nested]
deep = "yes"

[[history]]
step = 1

[[history]]
step = 2
"#;

fn parse(text: &str) -> SessionState {
    SessionState::parse(text, Path::new("/x/state.toml")).unwrap()
}

#[test]
fn real_fixtures_parse_with_their_fields() {
    let claude = parse(CLAUDE);
    assert_eq!(claude.phase(), Phase::Active);
    assert_eq!(claude.branch(), Some("feature/sanitized-branch"));
    assert_eq!(claude.tool_names(), vec!["claude-code".to_owned()]);
    assert_eq!(claude.genealogy().depth, Some(0));
    let codex = parse(CODEX);
    assert_eq!(codex.newest_tool().as_deref(), Some("codex"));
    assert_eq!(codex.tools()[0].1.last_exit_code, Some(0));
    assert_eq!(
        codex.last_accessed().to_rfc3339(),
        "2026-02-24T16:57:31.434774456+00:00"
    );
}

#[test]
fn unknown_keys_and_tables_survive_a_mutation_and_rewrite() {
    let mut state = parse(WITH_UNKNOWN);
    state.apply_event(PhaseEvent::Retired).unwrap();
    state.set_termination_reason(&TerminationReason::OrphanedProcess);
    state.set_tool(
        "codex",
        &ToolState {
            last_exit_code: Some(1),
            ..ToolState::default()
        },
    );
    let text = state.to_toml_string();
    let before: Table = WITH_UNKNOWN.parse().unwrap();
    let after: Table = text.parse().unwrap();
    assert_eq!(after["future_flag"], before["future_flag"]);
    assert_eq!(after["weights"], before["weights"]);
    assert_eq!(after["history"], before["history"]);
    assert_eq!(after["genealogy"], before["genealogy"]);
    let codex = after["tools"]["codex"].as_table().unwrap();
    assert_eq!(codex["secret_knob"].as_integer(), Some(42));
    assert_eq!(codex["nested"]["deep"].as_str(), Some("yes"));
    assert_eq!(codex["last_exit_code"].as_integer(), Some(1));
    assert_eq!(after["phase"].as_str(), Some("retired"));
    assert_eq!(
        after["termination_reason"].as_str(),
        Some("orphaned_process")
    );
}

#[test]
fn real_fixture_rewrite_keeps_every_key() {
    for text in [CLAUDE, CODEX] {
        let mut state = parse(text);
        state.apply_event(PhaseEvent::Retired).unwrap();
        let mut expected: Table = text.parse().unwrap();
        expected.insert("phase".into(), Value::String("retired".into()));
        let after: Table = state.to_toml_string().parse().unwrap();
        assert_eq!(after, expected);
    }
}

#[test]
fn empty_truncated_and_invalid_files_are_unparseable_with_the_reason() {
    let cut_mid_string = &CODEX[..CODEX.len() / 3];
    let cut_at_line: String = CODEX.lines().take(4).map(|l| format!("{l}\n")).collect();
    for (text, needle) in [
        ("", "empty"),
        ("   \n", "empty"),
        (cut_mid_string, "TOML parse error"),
        (&cut_at_line, "created_at"),
        ("meta_session_id = \"x", "TOML"),
        (
            &CODEX.replace("phase = \"active\"", "phase = \"paused\""),
            "paused",
        ),
        (
            &CODEX.replace("created_at = \"2026", "created_at = \"yesterday"),
            "created_at",
        ),
    ] {
        let err = SessionState::parse(text, Path::new("/x/state.toml")).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LoadError::Unparseable { .. }), "{message}");
        assert!(message.contains("/x/state.toml"), "{message}");
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
}

#[test]
fn missing_phase_defaults_to_active_and_new_state_parses_back() {
    let text = CODEX.replace("phase = \"active\"\n", "");
    assert_eq!(parse(&text).phase(), Phase::Active);
    let id = SessionId::generate();
    let now = Utc::now();
    let state = SessionState::new(&id, "/p", now, Some("d"), Some("main"));
    let back = parse(&state.to_toml_string());
    assert_eq!(back.meta_session_id(), id.as_str());
    assert_eq!(back.created_at(), now);
    assert_eq!(back.description(), Some("d"));
    assert_eq!(back.phase(), Phase::Active);
}

#[test]
fn termination_reason_if_empty_does_not_overwrite() {
    let mut state = parse(CODEX);
    assert!(state.set_termination_reason_if_empty(&TerminationReason::Completed));
    assert!(!state.set_termination_reason_if_empty(&TerminationReason::DaemonCompletion));
    assert_eq!(
        state.termination_reason(),
        Some(TerminationReason::Completed)
    );
    let mut empty = parse(&format!("{CODEX}\ntermination_reason = \"\"\n"));
    assert!(empty.set_termination_reason_if_empty(&TerminationReason::Completed));
}

#[test]
fn illegal_event_leaves_the_phase_unchanged() {
    let mut state = parse(CODEX);
    assert!(state.apply_event(PhaseEvent::Resumed).is_err());
    assert_eq!(state.phase(), Phase::Active);
    assert_eq!(
        state.to_toml_string().parse::<Table>().unwrap()["phase"].as_str(),
        Some("active")
    );
}

fn event_strategy() -> impl Strategy<Value = PhaseEvent> {
    prop_oneof![
        Just(PhaseEvent::Compressed),
        Just(PhaseEvent::Resumed),
        Just(PhaseEvent::Retired)
    ]
}

proptest! {
    #[test]
    fn any_mutation_sequence_round_trips_with_unknown_keys(
        events in proptest::collection::vec(event_strategy(), 0..6),
        reason in "[a-z_]{0,12}",
        exit in proptest::option::of(-300i64..300),
    ) {
        let mut state = parse(WITH_UNKNOWN);
        for event in events {
            let _ = state.apply_event(event);
        }
        state.set_termination_reason_if_empty(&TerminationReason::parse(&reason));
        state.set_tool("gemini-cli", &ToolState { last_exit_code: exit, ..ToolState::default() });
        let text = state.to_toml_string();
        let back = parse(&text);
        prop_assert_eq!(back.phase(), state.phase());
        prop_assert_eq!(back.to_toml_string(), text);
        let table: Table = back.to_toml_string().parse().unwrap();
        prop_assert_eq!(table["tools"]["codex"]["secret_knob"].as_integer(), Some(42));
        prop_assert_eq!(table["future_flag"].as_bool(), Some(true));
    }
}

/// What the csa installs users already run require of every `state.toml`.
fn assert_loadable_by_other_installs(text: &str) {
    let table: Table = text.parse().unwrap();
    for key in [
        "meta_session_id",
        "project_path",
        "created_at",
        "last_accessed",
    ] {
        assert!(table[key].is_str(), "{key} must be a string: {text}");
    }
    if let Some(tools) = table.get("tools") {
        for (name, tool) in tools.as_table().unwrap() {
            assert!(tool["last_action_summary"].is_str(), "{name}: {text}");
            let code = tool["last_exit_code"].as_integer().unwrap();
            assert!(i32::try_from(code).is_ok(), "{name}: {text}");
            assert!(tool["updated_at"].is_str(), "{name}: {text}");
        }
    }
    if let Some(genealogy) = table.get("genealogy") {
        assert!(genealogy["depth"].as_integer().unwrap() >= 0, "{text}");
    }
    if let Some(context) = table.get("context_status") {
        assert!(context["is_compacted"].is_bool(), "{text}");
    }
}

#[test]
fn every_written_state_has_what_other_installs_require() {
    let bare = "meta_session_id = \"01ARZ3NDEKTSV4RRFFQ69G5FAV\"\nproject_path = \"/p\"\n\
                created_at = 2026-02-24T17:29:23Z\nlast_accessed = \"2026-02-24T17:35:41Z\"\n\
                [tools.codex]\nprovider_session_id = \"p\"\n\
                [genealogy]\nparent_session_id = \"01ARZ3NDEKTSV4RRFFQ69G5FAW\"\n\
                [context_status]\nlast_compacted_at = 2026-02-24T17:00:00Z\n";
    let state = parse(bare);
    let text = state.to_toml_string();
    assert_loadable_by_other_installs(&text);
    let table: Table = text.parse().unwrap();
    assert_eq!(
        table["tools"]["codex"]["provider_session_id"].as_str(),
        Some("p")
    );
    assert_eq!(
        table["tools"]["codex"]["last_action_summary"].as_str(),
        Some("")
    );
    assert_eq!(table["genealogy"]["depth"].as_integer(), Some(0));
    assert_eq!(table["created_at"].as_str(), Some("2026-02-24T17:29:23Z"));

    let mut new = SessionState::new(&SessionId::generate(), "/p", chrono::Utc::now(), None, None);
    new.set_tool("demo", &ToolState::default());
    new.set_genealogy(Some(&SessionId::generate()), 2);
    new.set_run(&RunSpec {
        command: vec!["sh".into(), "-c".into(), "echo hi".into()],
        cwd: "/p".into(),
        timeout_secs: Some(90),
        max_log_size: Some(1 << 20),
    });
    assert_loadable_by_other_installs(&new.to_toml_string());
    let back = parse(&new.to_toml_string());
    assert_eq!(back.run().unwrap().command, ["sh", "-c", "echo hi"]);
    assert_eq!(back.run().unwrap().timeout_secs, Some(90));
    assert_eq!(back.run().unwrap().max_log_size, Some(1 << 20));
    assert_eq!(back.genealogy().depth, Some(2));
    for fixture in [CLAUDE, CODEX, WITH_UNKNOWN] {
        assert_loadable_by_other_installs(&parse(fixture).to_toml_string());
    }
}
