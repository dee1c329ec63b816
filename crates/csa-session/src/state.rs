//! `state.toml`: the session's state (contract §3).
//!
//! The whole file is kept as a TOML table, so keys and tables this version does
//! not know (top-level or inside known tables) are written back unchanged. The
//! known keys are validated at parse time and read through typed accessors.
//!
//! Every serialization also makes the file loadable by the csa installs users
//! already run, which rename a state they cannot load to `state.toml.corrupt`
//! and put an *active* stub in its place: each `[tools.<name>]` table gets the
//! `last_action_summary`, `last_exit_code` and `updated_at` it lacks,
//! `[genealogy]` its `depth`, `[context_status]` its `is_compacted`, and known
//! timestamps are written as RFC 3339 strings ([`SessionState::to_toml_string`]).

use std::path::Path;

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::error::LoadError;
use crate::id::SessionId;
use crate::phase::{Phase, PhaseEvent, TransitionError};
use crate::toml_value::{
    optional_int, optional_str, optional_time, parse_table, parse_time, required_str,
    required_time, time_value,
};
use crate::vocab::TerminationReason;

/// One `[tools.<name>]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolState {
    pub provider_session_id: Option<String>,
    pub last_action_summary: Option<String>,
    pub last_exit_code: Option<i64>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `[genealogy]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Genealogy {
    pub parent_session_id: Option<String>,
    pub depth: Option<i64>,
}

/// The `[run]` table `csa run` writes: what the session runs, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSpec {
    /// CMD and its arguments.
    pub command: Vec<String>,
    /// CMD's working directory.
    pub cwd: String,
    /// `--timeout`, in seconds, when given.
    pub timeout_secs: Option<u64>,
    /// `--max-log-size`, in bytes: a log that reaches it is rotated.
    pub max_log_size: Option<u64>,
}

/// A parsed `state.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    table: Table,
    created_at: DateTime<Utc>,
    last_accessed: DateTime<Utc>,
    phase: Phase,
}

impl SessionState {
    /// A new active session.
    pub fn new(
        id: &SessionId,
        project_path: &str,
        now: DateTime<Utc>,
        description: Option<&str>,
        branch: Option<&str>,
    ) -> SessionState {
        let mut table = Table::new();
        table.insert("meta_session_id".into(), Value::String(id.to_string()));
        if let Some(description) = description {
            table.insert("description".into(), Value::String(description.into()));
        }
        table.insert("project_path".into(), Value::String(project_path.into()));
        if let Some(branch) = branch {
            table.insert("branch".into(), Value::String(branch.into()));
        }
        table.insert("created_at".into(), time_value(now));
        table.insert("last_accessed".into(), time_value(now));
        table.insert("phase".into(), Value::String(Phase::Active.as_str().into()));
        SessionState {
            table,
            created_at: now,
            last_accessed: now,
            phase: Phase::Active,
        }
    }

    /// Parse `text`, read from `path` (used in error messages).
    pub fn parse(text: &str, path: &Path) -> Result<SessionState, LoadError> {
        let unparseable = |reason: String| LoadError::Unparseable {
            path: path.to_path_buf(),
            reason,
        };
        let table = parse_table(text).map_err(unparseable)?;
        required_str(&table, "meta_session_id").map_err(unparseable)?;
        required_str(&table, "project_path").map_err(unparseable)?;
        for key in ["description", "branch", "termination_reason"] {
            optional_str(&table, key).map_err(unparseable)?;
        }
        let created_at = required_time(&table, "created_at").map_err(unparseable)?;
        let last_accessed = required_time(&table, "last_accessed").map_err(unparseable)?;
        let phase = match optional_str(&table, "phase").map_err(unparseable)? {
            None => Phase::Active,
            Some(text) => Phase::from_str_opt(text)
                .ok_or_else(|| unparseable(format!("unknown phase {text:?}")))?,
        };
        if let Some(tools) = table.get("tools")
            && !tools.is_table()
        {
            return Err(unparseable("`tools` must be a table".into()));
        }
        Ok(SessionState {
            table,
            created_at,
            last_accessed,
            phase,
        })
    }

    /// The file's text, with every key it had (known or not), completed so
    /// that existing csa installs can load it (see the module docs).
    pub fn to_toml_string(&self) -> String {
        let mut table = self.table.clone();
        make_loadable_by_other_installs(&mut table, self.last_accessed);
        toml::to_string(&table).expect("a toml::Table always serializes")
    }

    /// The whole table, unknown keys included (read-only).
    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn meta_session_id(&self) -> &str {
        self.str_key("meta_session_id").unwrap_or_default()
    }

    pub fn project_path(&self) -> &str {
        self.str_key("project_path").unwrap_or_default()
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    pub fn last_accessed(&self) -> DateTime<Utc> {
        self.last_accessed
    }

    pub fn description(&self) -> Option<&str> {
        self.str_key("description")
    }

    pub fn branch(&self) -> Option<&str> {
        self.str_key("branch")
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The termination reason, `None` when missing or empty.
    pub fn termination_reason(&self) -> Option<TerminationReason> {
        self.termination_reason_text().map(TerminationReason::parse)
    }

    /// The termination reason exactly as written, `None` when missing or empty.
    pub fn termination_reason_text(&self) -> Option<&str> {
        self.str_key("termination_reason").filter(|r| !r.is_empty())
    }

    /// The `[tools.<name>]` tables in file order. Values of the wrong type read as `None`.
    pub fn tools(&self) -> Vec<(String, ToolState)> {
        let Some(Value::Table(tools)) = self.table.get("tools") else {
            return Vec::new();
        };
        tools
            .iter()
            .map(|(name, value)| {
                let tool = match value {
                    Value::Table(t) => ToolState {
                        provider_session_id: optional_str(t, "provider_session_id")
                            .ok()
                            .flatten()
                            .map(str::to_owned),
                        last_action_summary: optional_str(t, "last_action_summary")
                            .ok()
                            .flatten()
                            .map(str::to_owned),
                        last_exit_code: optional_int(t, "last_exit_code").ok().flatten(),
                        updated_at: optional_time(t, "updated_at").ok().flatten(),
                    },
                    _ => ToolState::default(),
                };
                (name.clone(), tool)
            })
            .collect()
    }

    /// The tool names in file order (cheaper than [`SessionState::tools`]).
    pub fn tool_names(&self) -> Vec<String> {
        match self.table.get("tools") {
            Some(Value::Table(tools)) => tools.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The tool with the newest `updated_at`, if any tool has one.
    pub fn newest_tool(&self) -> Option<String> {
        self.tools()
            .into_iter()
            .filter_map(|(name, tool)| tool.updated_at.map(|t| (t, name)))
            .max_by_key(|(t, _)| *t)
            .map(|(_, name)| name)
    }

    /// The `[run]` table, when `csa run` wrote one.
    pub fn run(&self) -> Option<RunSpec> {
        let Some(Value::Table(run)) = self.table.get("run") else {
            return None;
        };
        let command = match run.get("command") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Some(RunSpec {
            command,
            cwd: optional_str(run, "cwd")
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_owned(),
            timeout_secs: optional_int(run, "timeout_secs")
                .ok()
                .flatten()
                .and_then(|secs| u64::try_from(secs).ok()),
            max_log_size: optional_int(run, "max_log_size")
                .ok()
                .flatten()
                .and_then(|bytes| u64::try_from(bytes).ok())
                .filter(|bytes| *bytes > 0),
        })
    }

    /// Record what the session runs (the `[run]` table).
    pub fn set_run(&mut self, run: &RunSpec) {
        let table = child_table(&mut self.table, "run");
        let command = run.command.iter().cloned().map(Value::String).collect();
        table.insert("command".into(), Value::Array(command));
        table.insert("cwd".into(), Value::String(run.cwd.clone()));
        match run.timeout_secs.and_then(|s| i64::try_from(s).ok()) {
            Some(secs) => table.insert("timeout_secs".into(), Value::Integer(secs)),
            None => table.remove("timeout_secs"),
        };
        match run.max_log_size.and_then(|s| i64::try_from(s).ok()) {
            Some(bytes) => table.insert("max_log_size".into(), Value::Integer(bytes)),
            None => table.remove("max_log_size"),
        };
    }

    /// Record the parent session and the depth in the tree of sessions.
    pub fn set_genealogy(&mut self, parent_session_id: Option<&SessionId>, depth: u32) {
        let table = child_table(&mut self.table, "genealogy");
        match parent_session_id {
            Some(parent) => table.insert(
                "parent_session_id".into(),
                Value::String(parent.to_string()),
            ),
            None => table.remove("parent_session_id"),
        };
        table.insert("depth".into(), Value::Integer(depth.into()));
    }

    pub fn genealogy(&self) -> Genealogy {
        match self.table.get("genealogy") {
            Some(Value::Table(t)) => Genealogy {
                parent_session_id: optional_str(t, "parent_session_id")
                    .ok()
                    .flatten()
                    .map(str::to_owned),
                depth: optional_int(t, "depth").ok().flatten(),
            },
            _ => Genealogy::default(),
        }
    }

    /// Apply a phase event; the file's `phase` changes only if it is legal.
    pub fn apply_event(&mut self, event: PhaseEvent) -> Result<(), TransitionError> {
        let next = self.phase.apply(event)?;
        self.phase = next;
        self.table
            .insert("phase".into(), Value::String(next.as_str().into()));
        Ok(())
    }

    pub fn set_termination_reason(&mut self, reason: &TerminationReason) {
        self.table.insert(
            "termination_reason".into(),
            Value::String(reason.as_str().into()),
        );
    }

    /// Set the reason only when it is missing or empty; returns whether it was set.
    pub fn set_termination_reason_if_empty(&mut self, reason: &TerminationReason) -> bool {
        if self.termination_reason_text().is_some() {
            return false;
        }
        self.set_termination_reason(reason);
        true
    }

    /// Merge `tool` into `[tools.<name>]`, keeping that table's other keys.
    pub fn set_tool(&mut self, name: &str, tool: &ToolState) {
        let entry = child_table(child_table(&mut self.table, "tools"), name);
        let strings = [
            ("provider_session_id", &tool.provider_session_id),
            ("last_action_summary", &tool.last_action_summary),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                entry.insert(key.into(), Value::String(value.clone()));
            }
        }
        if let Some(code) = tool.last_exit_code {
            entry.insert("last_exit_code".into(), Value::Integer(code));
        }
        if let Some(at) = tool.updated_at {
            entry.insert("updated_at".into(), time_value(at));
        }
    }

    /// Record an access now.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.last_accessed = now;
        self.table.insert("last_accessed".into(), time_value(now));
    }

    fn str_key(&self, key: &str) -> Option<&str> {
        self.table.get(key).and_then(Value::as_str)
    }
}

/// Add what the csa installs users already run require of a `state.toml`
/// (keys that are missing only: values already there are never changed, apart
/// from known timestamps written as TOML datetimes, which become strings).
fn make_loadable_by_other_installs(table: &mut Table, last_accessed: DateTime<Utc>) {
    for key in ["created_at", "last_accessed"] {
        timestamp_as_string(table, key);
    }
    if let Some(Value::Table(tools)) = table.get_mut("tools") {
        for (_, tool) in tools.iter_mut() {
            let Value::Table(tool) = tool else { continue };
            tool.entry("last_action_summary")
                .or_insert_with(|| Value::String(String::new()));
            tool.entry("last_exit_code").or_insert(Value::Integer(0));
            timestamp_as_string(tool, "updated_at");
            tool.entry("updated_at")
                .or_insert_with(|| time_value(last_accessed));
        }
    }
    if let Some(Value::Table(genealogy)) = table.get_mut("genealogy") {
        genealogy.entry("depth").or_insert(Value::Integer(0));
    }
    if let Some(Value::Table(context)) = table.get_mut("context_status") {
        context
            .entry("is_compacted")
            .or_insert(Value::Boolean(false));
        timestamp_as_string(context, "last_compacted_at");
    }
}

/// A timestamp stored as a TOML datetime is rewritten as an RFC 3339 string.
fn timestamp_as_string(table: &mut Table, key: &str) {
    if let Some(value @ Value::Datetime(_)) = table.get(key)
        && let Ok(time) = parse_time(value, key)
    {
        table.insert(key.into(), time_value(time));
    }
}

/// The table under `key`, created (or replacing a non-table value) if needed.
fn child_table<'a>(parent: &'a mut Table, key: &str) -> &'a mut Table {
    let slot = parent
        .entry(key)
        .or_insert_with(|| Value::Table(Table::new()));
    if !slot.is_table() {
        *slot = Value::Table(Table::new());
    }
    slot.as_table_mut().expect("the slot was just made a table")
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
