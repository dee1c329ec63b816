//! The schema with which the csa installs our users already run load
//! `state.toml` and `result.toml` (contract §3). Such an install treats a
//! `state.toml` it cannot load as corrupt, renames it and puts an *active*
//! stub in its place; so everything csa writes must deserialize here.
//!
//! Written from that schema's facts (field names, types, which fields have
//! defaults): unknown keys are ignored, `Option`s may be missing, and a
//! present value of the wrong type is an error, as with serde.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct ExistingState {
    pub meta_session_id: String,
    pub description: Option<String>,
    pub project_path: String,
    #[serde(default)]
    pub branch: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_accessed: DateTime<Utc>,
    #[serde(default)]
    pub genealogy: ExistingGenealogy,
    #[serde(default)]
    pub tools: HashMap<String, ExistingTool>,
    #[serde(default)]
    pub context_status: ExistingContextStatus,
    #[serde(default)]
    pub total_token_usage: Option<ExistingTokenUsage>,
    #[serde(default)]
    pub phase: ExistingPhase,
    #[serde(default)]
    pub task_context: ExistingTaskContext,
    #[serde(default)]
    pub turn_count: u32,
    #[serde(default)]
    pub token_budget: Option<ExistingTokenBudget>,
    #[serde(default)]
    pub sandbox_info: Option<ExistingSandboxInfo>,
    #[serde(default)]
    pub termination_reason: Option<String>,
    #[serde(default)]
    pub is_seed_candidate: bool,
    #[serde(default)]
    pub git_head_at_creation: Option<String>,
    #[serde(default)]
    pub change_id: Option<String>,
    #[serde(default)]
    pub spec_id: Option<String>,
    #[serde(default = "one")]
    pub identity_version: u8,
}

fn one() -> u8 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct ExistingGenealogy {
    pub parent_session_id: Option<String>,
    pub depth: u32,
    #[serde(default)]
    pub fork_of_session_id: Option<String>,
    #[serde(default)]
    pub fork_provider_session_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct ExistingTool {
    pub provider_session_id: Option<String>,
    pub last_action_summary: String,
    pub last_exit_code: i32,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub token_usage: Option<ExistingTokenUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct ExistingTokenUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
    #[serde(default)]
    pub estimated_cost_usd: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct ExistingContextStatus {
    pub is_compacted: bool,
    pub last_compacted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingPhase {
    #[default]
    Active,
    Available,
    Retired,
}

#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct ExistingTaskContext {
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub tier_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct ExistingTokenBudget {
    pub allocated: u64,
    #[serde(default)]
    pub used: u64,
    #[serde(default)]
    pub soft_threshold_pct: Option<u32>,
    #[serde(default)]
    pub hard_threshold_pct: Option<u32>,
    #[serde(default)]
    pub max_turns: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct ExistingSandboxInfo {
    pub mode: String,
    #[serde(default)]
    pub memory_max_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct ExistingResult {
    pub status: String,
    pub exit_code: i32,
    pub summary: String,
    pub tool: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    #[serde(default)]
    pub events_count: u64,
    #[serde(default)]
    pub artifacts: Vec<ExistingArtifact>,
    #[serde(default)]
    pub peak_memory_mb: Option<u64>,
    #[serde(default)]
    pub raw_process_exit_code: Option<i32>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ExistingArtifact {
    Path(String),
    Detailed {
        path: String,
        #[serde(default)]
        line_count: Option<u64>,
        #[serde(default)]
        size_bytes: Option<u64>,
    },
}

/// Load `text` as an existing install loads a `state.toml`; panics with the
/// reason (and the text) when it could not.
pub fn assert_state_loads_in_existing_installs(text: &str) -> ExistingState {
    toml::from_str(text).unwrap_or_else(|err| {
        panic!("an existing install cannot load this state.toml: {err}\n{text}")
    })
}

/// Load `text` as an existing install loads a `result.toml`.
pub fn assert_result_loads_in_existing_installs(text: &str) -> ExistingResult {
    toml::from_str(text).unwrap_or_else(|err| {
        panic!("an existing install cannot load this result.toml: {err}\n{text}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CLAUDE_STATE, CODEX_STATE};

    #[test]
    fn real_fixtures_load_and_a_tool_without_its_summary_does_not() {
        for fixture in [CLAUDE_STATE, CODEX_STATE] {
            let state = assert_state_loads_in_existing_installs(fixture);
            assert_eq!(state.phase, ExistingPhase::Active);
        }
        let broken = CODEX_STATE.replace(
            "last_action_summary = \"<!-- CSA:SECTION:details:END -->\"\n",
            "",
        );
        assert!(toml::from_str::<ExistingState>(&broken).is_err());
        let bad_depth = CODEX_STATE.replace("depth = 0", "depth = -1");
        assert!(toml::from_str::<ExistingState>(&bad_depth).is_err());
    }
}
