//! `csa session stats`: what a project's sessions add up to. Each session's
//! facts are read from its files ([`SessionFacts::read`]: `state.toml`,
//! `result.toml`, the logs' modification times), then rolled up by a pure
//! function ([`roll_up`]) over the sessions last accessed since a cutoff, in
//! total and per tool. The JSON form is documented in docs/cli.md.
//!
//! Reading only: nothing is reconciled and no process is probed, so a dead
//! session that no command has reconciled yet still counts as active.

use chrono::{DateTime, Utc};
use serde::Serialize;
use toml::{Table, Value};

use crate::load::{load_result_if_any, load_state};
use crate::log_tail::log_sizes;
use crate::phase::Phase;
use crate::resolve::SessionLocation;
use crate::row::elapsed_between;
use crate::state::SessionState;
use crate::status::{Outcome, SessionStatus};
use crate::toml_value::format_time;

/// The tool a session is counted under when nothing names one.
pub const UNKNOWN_TOOL: &str = "unknown";

/// The table of `state.toml` that holds a session's token usage, as
/// existing installs write it (`[total_token_usage]`); each tool may have
/// its own (`[tools.<name>.token_usage]`), used when the total is absent.
const TOTAL_TOKEN_USAGE: &str = "total_token_usage";
const TOOL_TOKEN_USAGE: &str = "token_usage";

/// A session's token usage, as its `state.toml` records it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenUsage {
    pub input: u64,
    /// Input tokens served from a cache (`cache_read_input_tokens`, or
    /// `cached_input_tokens`), part of `input`.
    pub cached_input: u64,
    pub output: u64,
    /// `total_tokens`, else input + output.
    pub total: u64,
    /// `estimated_cost_usd`, when recorded.
    pub cost_usd: Option<f64>,
}

impl TokenUsage {
    /// The usage `state` records: `[total_token_usage]`, else the sum of
    /// every `[tools.<name>.token_usage]`; `None` when there is neither.
    pub fn of(state: &SessionState) -> Option<TokenUsage> {
        let table = state.table();
        if let Some(Value::Table(total)) = table.get(TOTAL_TOKEN_USAGE) {
            return Some(TokenUsage::from_table(total));
        }
        let Some(Value::Table(tools)) = table.get("tools") else {
            return None;
        };
        tools
            .values()
            .filter_map(|tool| match tool.get(TOOL_TOKEN_USAGE) {
                Some(Value::Table(usage)) => Some(TokenUsage::from_table(usage)),
                _ => None,
            })
            .reduce(|sum, one| sum.plus(&one))
    }

    fn from_table(usage: &Table) -> TokenUsage {
        let count = |key: &str| {
            usage
                .get(key)
                .and_then(Value::as_integer)
                .and_then(|n| u64::try_from(n).ok())
        };
        let input = count("input_tokens").unwrap_or(0);
        let output = count("output_tokens").unwrap_or(0);
        let cached = count("cache_read_input_tokens").or_else(|| count("cached_input_tokens"));
        TokenUsage {
            input,
            cached_input: cached.unwrap_or(0).min(input),
            output,
            total: count("total_tokens").unwrap_or(input.saturating_add(output)),
            cost_usd: usage
                .get("estimated_cost_usd")
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|n| n as f64)))
                .filter(|cost| cost.is_finite() && *cost >= 0.0),
        }
    }

    fn plus(&self, other: &TokenUsage) -> TokenUsage {
        TokenUsage {
            input: self.input.saturating_add(other.input),
            cached_input: self.cached_input.saturating_add(other.cached_input),
            output: self.output.saturating_add(other.output),
            total: self.total.saturating_add(other.total),
            cost_usd: match (self.cost_usd, other.cost_usd) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            },
        }
    }
}

/// What one session contributes to the stats.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFacts {
    /// The result's `tool`, else the tool with the newest `updated_at`, else
    /// the first tool named, else [`UNKNOWN_TOOL`].
    pub tool: String,
    pub status: SessionStatus,
    /// How its run ended, when it has a result.
    pub outcome: Option<Outcome>,
    /// `last_accessed` (`None` when `state.toml` cannot be read: such a
    /// session is counted whatever the cutoff).
    pub last_accessed: Option<DateTime<Utc>>,
    /// Running time: created to the result's `completed_at`, or to now while
    /// active; `None` for a session that is neither.
    pub run_secs: Option<f64>,
    /// Active only: since either log last grew (since it was created,
    /// without logs).
    pub idle_secs: Option<f64>,
    pub tokens: Option<TokenUsage>,
}

impl SessionFacts {
    /// The facts of the session at `loc`, from its files, as of `now`.
    pub fn read(loc: &SessionLocation, now: DateTime<Utc>) -> SessionFacts {
        let Ok(state) = load_state(&loc.dir).map(|loaded| loaded.value) else {
            return SessionFacts {
                tool: UNKNOWN_TOOL.to_owned(),
                status: SessionStatus::Error,
                outcome: None,
                last_accessed: None,
                run_secs: None,
                idle_secs: None,
                tokens: None,
            };
        };
        let result = load_result_if_any(&loc.dir);
        let status = SessionStatus::of(
            state.phase(),
            result.as_ref().map(Option::as_ref).map_err(|_| ()),
        );
        let result = result.ok().flatten();
        let active = state.phase() == Phase::Active;
        let ended = result.as_ref().map(|r| r.completed_at());
        let idle_secs = (status == SessionStatus::Active).then(|| {
            let since = log_sizes(&loc.dir)
                .last_write
                .map_or(state.created_at(), DateTime::<Utc>::from);
            elapsed_between(Some(since), None, Some(now)).unwrap_or(0.0)
        });
        SessionFacts {
            tool: result
                .as_ref()
                .map(|r| r.tool().trim().to_owned())
                .filter(|tool| !tool.is_empty())
                .or_else(|| state.newest_tool())
                .or_else(|| state.tool_names().into_iter().next())
                .unwrap_or_else(|| UNKNOWN_TOOL.to_owned()),
            status,
            outcome: result.as_ref().map(Outcome::of),
            last_accessed: Some(state.last_accessed()),
            run_secs: elapsed_between(
                Some(state.created_at()),
                ended,
                (active && ended.is_none()).then_some(now),
            ),
            idle_secs,
            tokens: TokenUsage::of(&state),
        }
    }
}

/// Sessions counted by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub active: usize,
    pub available: usize,
    pub retired: usize,
    pub failed: usize,
    pub error: usize,
}

/// Sessions with a result counted by how their run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub success: usize,
    pub failure: usize,
    pub killed: usize,
    pub timeout: usize,
}

/// Token usage added up over the sessions that record one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenTotals {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
    pub total: u64,
    /// How many sessions record token usage.
    pub sessions: usize,
    /// The recorded `estimated_cost_usd` added up; `None` when no session
    /// records one.
    pub cost_usd: Option<f64>,
    pub cost_sessions: usize,
}

/// What a set of sessions adds up to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rollup {
    pub sessions: usize,
    pub status: StatusCounts,
    pub outcome: OutcomeCounts,
    /// Running time added up over the sessions that have one.
    pub run_secs_total: f64,
    /// `run_secs_total / timed_sessions`; `None` when none has one.
    pub run_secs_mean: Option<f64>,
    pub timed_sessions: usize,
    /// Idle time of the active sessions added up.
    pub idle_secs_total: f64,
    /// The longest idle time of an active session.
    pub idle_secs_max: Option<f64>,
    pub idle_sessions: usize,
    pub tokens: TokenTotals,
}

impl Rollup {
    fn add(&mut self, facts: &SessionFacts) {
        self.sessions += 1;
        let counter = match facts.status {
            SessionStatus::Active => &mut self.status.active,
            SessionStatus::Available => &mut self.status.available,
            SessionStatus::Retired => &mut self.status.retired,
            SessionStatus::Failed => &mut self.status.failed,
            SessionStatus::Error => &mut self.status.error,
        };
        *counter += 1;
        if let Some(outcome) = facts.outcome {
            let counter = match outcome {
                Outcome::Success => &mut self.outcome.success,
                Outcome::Failure => &mut self.outcome.failure,
                Outcome::Killed => &mut self.outcome.killed,
                Outcome::Timeout => &mut self.outcome.timeout,
            };
            *counter += 1;
        }
        if let Some(secs) = facts.run_secs {
            self.run_secs_total += secs;
            self.timed_sessions += 1;
            self.run_secs_mean = Some(self.run_secs_total / self.timed_sessions as f64);
        }
        if let Some(idle) = facts.idle_secs {
            self.idle_secs_total += idle;
            self.idle_sessions += 1;
            self.idle_secs_max = Some(self.idle_secs_max.map_or(idle, |max| max.max(idle)));
        }
        if let Some(tokens) = &facts.tokens {
            let sum = &mut self.tokens;
            sum.input = sum.input.saturating_add(tokens.input);
            sum.cached_input = sum.cached_input.saturating_add(tokens.cached_input);
            sum.output = sum.output.saturating_add(tokens.output);
            sum.total = sum.total.saturating_add(tokens.total);
            sum.sessions += 1;
            if let Some(cost) = tokens.cost_usd {
                sum.cost_usd = Some(sum.cost_usd.unwrap_or(0.0) + cost);
                sum.cost_sessions += 1;
            }
        }
    }
}

/// One tool's rollup (`--by-tool`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolRollup {
    pub tool: String,
    #[serde(flatten)]
    pub rollup: Rollup,
}

/// `csa session stats`, as JSON prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// When the stats were taken (RFC 3339).
    pub generated_at: String,
    /// Sessions last accessed at or after this count (RFC 3339); `None`: all.
    pub since: Option<String>,
    /// The whole set.
    pub total: Rollup,
    /// Per tool, by name (only with `--by-tool`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_tool: Option<Vec<ToolRollup>>,
}

/// Add up `facts` of the sessions last accessed at or after `since` (all
/// when `None`; a session whose state cannot be read always counts), in
/// total and, with `by_tool`, per tool sorted by name.
pub fn roll_up(
    facts: &[SessionFacts],
    since: Option<DateTime<Utc>>,
    by_tool: bool,
    now: DateTime<Utc>,
) -> Stats {
    let counted = facts.iter().filter(|f| match (since, f.last_accessed) {
        (Some(cutoff), Some(at)) => at >= cutoff,
        _ => true,
    });
    let mut total = Rollup::default();
    let mut tools: Vec<ToolRollup> = Vec::new();
    for f in counted {
        total.add(f);
        if by_tool {
            let at = match tools.binary_search_by(|t| t.tool.as_str().cmp(&f.tool)) {
                Ok(at) => at,
                Err(at) => {
                    let tool = ToolRollup {
                        tool: f.tool.clone(),
                        rollup: Rollup::default(),
                    };
                    tools.insert(at, tool);
                    at
                }
            };
            tools[at].rollup.add(f);
        }
    }
    Stats {
        generated_at: format_time(now),
        since: since.map(format_time),
        total,
        by_tool: by_tool.then_some(tools),
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
