//! Session files recorded from real csa runs (see `fixtures/README.md`).

/// A claude-code session's `state.toml`, as a real install writes it.
pub const CLAUDE_STATE: &str = include_str!("../fixtures/claude-state.toml");
/// A codex session's `state.toml`, as a real install writes it.
pub const CODEX_STATE: &str = include_str!("../fixtures/codex-state.toml");
/// A codex session's `output.log`.
pub const CODEX_OUTPUT: &str = include_str!("../fixtures/codex-output.log");
/// The `project_path` the fixtures name.
pub const FIXTURE_PROJECT: &str = "/home/user/project/cli-sub-agent";
