//! `result.toml` (contract §4).
//!
//! Like `state`, the result keeps its whole table so unknown keys survive; the
//! required keys are validated at parse time. Results csa writes also carry a
//! `termination_reason` key (ignored by other installs): it says which ending
//! wrote them, so a crash between publishing a result and retiring the state
//! is recovered with the right reason (`orphaned_process`, `killed`, ...).

use std::path::Path;

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::error::LoadError;
use crate::toml_value::{
    optional_int, optional_str, parse_table, required_int, required_str, required_time, time_value,
};
use crate::vocab::{ResultStatus, TerminationReason};

/// The key that records which ending wrote a result.
const TERMINATION_REASON_KEY: &str = "termination_reason";

/// One entry of `artifacts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
}

/// A parsed `result.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResult {
    table: Table,
    exit_code: i64,
    started_at: DateTime<Utc>,
    completed_at: DateTime<Utc>,
}

impl SessionResult {
    /// A new result. `exit_code` is an `i32`, as other installs read it.
    pub fn new(
        status: &ResultStatus,
        exit_code: i32,
        summary: &str,
        tool: &str,
        started_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
    ) -> SessionResult {
        let exit_code = i64::from(exit_code);
        let mut table = Table::new();
        table.insert("status".into(), Value::String(status.as_str().into()));
        table.insert("exit_code".into(), Value::Integer(exit_code));
        table.insert("summary".into(), Value::String(summary.into()));
        table.insert("tool".into(), Value::String(tool.into()));
        table.insert("started_at".into(), time_value(started_at));
        table.insert("completed_at".into(), time_value(completed_at));
        SessionResult {
            table,
            exit_code,
            started_at,
            completed_at,
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<SessionResult, LoadError> {
        let unparseable = |reason: String| LoadError::Unparseable {
            path: path.to_path_buf(),
            reason,
        };
        let table = parse_table(text).map_err(unparseable)?;
        SessionResult::from_table(table).map_err(unparseable)
    }

    /// A result from its table (as read from `result.toml`, or from
    /// another csa's JSON): the reason when a required key is missing or
    /// of the wrong type.
    pub fn from_table(table: Table) -> Result<SessionResult, String> {
        for key in ["status", "summary", "tool"] {
            required_str(&table, key)?;
        }
        let exit_code = required_int(&table, "exit_code")?;
        let started_at = required_time(&table, "started_at")?;
        let completed_at = required_time(&table, "completed_at")?;
        optional_int(&table, "events_count")?;
        optional_str(&table, TERMINATION_REASON_KEY)?;
        Ok(SessionResult {
            table,
            exit_code,
            started_at,
            completed_at,
        })
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(&self.table).expect("a toml::Table always serializes")
    }

    /// The whole table, unknown keys included.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The status, as a known word where it is one.
    pub fn status(&self) -> ResultStatus {
        ResultStatus::parse(self.status_text())
    }

    /// The status exactly as the file spells it.
    pub fn status_text(&self) -> &str {
        self.str_key("status")
    }

    pub fn exit_code(&self) -> i64 {
        self.exit_code
    }

    pub fn summary(&self) -> &str {
        self.str_key("summary")
    }

    pub fn tool(&self) -> &str {
        self.str_key("tool")
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn completed_at(&self) -> DateTime<Utc> {
        self.completed_at
    }

    pub fn events_count(&self) -> Option<i64> {
        optional_int(&self.table, "events_count").ok().flatten()
    }

    pub fn peak_memory_mb(&self) -> Option<f64> {
        match self.table.get("peak_memory_mb") {
            Some(Value::Integer(n)) => Some(*n as f64),
            Some(Value::Float(f)) => Some(*f),
            _ => None,
        }
    }

    /// `[[artifacts]] path = ".."` tables and legacy bare strings.
    pub fn artifacts(&self) -> Vec<Artifact> {
        let Some(Value::Array(items)) = self.table.get("artifacts") else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match item {
                Value::String(path) => Some(path.clone()),
                Value::Table(t) => t.get("path").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .map(|path| Artifact { path })
            .collect()
    }

    /// A failed run: a failure status (failure, timeout, signal, killed) or a
    /// non-zero exit code.
    pub fn is_failure(&self) -> bool {
        self.exit_code != 0 || self.status().is_failure()
    }

    /// Which ending wrote this result, when csa wrote it.
    pub fn termination_reason(&self) -> Option<TerminationReason> {
        optional_str(&self.table, TERMINATION_REASON_KEY)
            .ok()
            .flatten()
            .filter(|r| !r.is_empty())
            .map(TerminationReason::parse)
    }

    /// Record which ending writes this result.
    pub fn with_termination_reason(mut self, reason: &TerminationReason) -> SessionResult {
        self.table.insert(
            TERMINATION_REASON_KEY.into(),
            Value::String(reason.as_str().into()),
        );
        self
    }

    /// Set an optional key (for writers that add `events_count` and the like).
    pub fn set(&mut self, key: &str, value: Value) {
        self.table.insert(key.into(), value);
    }

    fn str_key(&self, key: &str) -> &str {
        self.table
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = r#"status = "success"
exit_code = 0
summary = "bench ok"
tool = "codex"
started_at = "2026-02-24T16:53:57.470011439Z"
completed_at = "2026-02-24T16:57:31.434774040Z"
events_count = 12
peak_memory_mb = 310.5
artifacts = ["output/legacy.txt"]
reviewer_note = "unknown but kept"

[extra]
a = 1
"#;

    fn parse(text: &str) -> Result<SessionResult, LoadError> {
        SessionResult::parse(text, Path::new("/s/result.toml"))
    }

    #[test]
    fn parses_every_field_and_keeps_unknown_keys() {
        let result = parse(REAL).unwrap();
        assert_eq!(result.status(), ResultStatus::Success);
        assert_eq!(result.events_count(), Some(12));
        assert_eq!(result.peak_memory_mb(), Some(310.5));
        assert_eq!(result.artifacts()[0].path, "output/legacy.txt");
        assert!(!result.is_failure());
        let back: Table = result.to_toml_string().parse().unwrap();
        let original: Table = REAL.parse().unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn artifact_tables_are_read() {
        let text = REAL.replace(
            "artifacts = [\"output/legacy.txt\"]\n",
            "[[artifacts]]\npath = \"output/a.md\"\n",
        );
        // `[[artifacts]]` after a table header: put it at the end instead.
        let text = format!(
            "{}\n[[artifacts]]\npath = \"output/a.md\"\n",
            text.replace("[[artifacts]]\npath = \"output/a.md\"\n", "")
        );
        assert_eq!(parse(&text).unwrap().artifacts()[0].path, "output/a.md");
    }

    #[test]
    fn failure_is_status_or_exit_code() {
        let now = Utc::now();
        for (status, code, failed) in [
            ("success", 0, false),
            ("success", 3, true),
            ("failure", 0, true),
            ("Timeout", 0, true),
            ("signal", 143, true),
        ] {
            let result = SessionResult::new(&ResultStatus::parse(status), code, "s", "t", now, now);
            assert_eq!(result.is_failure(), failed, "{status} {code}");
        }
    }

    #[test]
    fn missing_required_keys_and_truncation_are_unparseable() {
        for text in ["", &REAL[..40], &REAL.replace("exit_code = 0\n", "")] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, LoadError::Unparseable { .. }), "{err}");
            assert!(err.to_string().contains("/s/result.toml"));
        }
        let err = parse(&REAL.replace("exit_code = 0", "exit_code = \"0\"")).unwrap_err();
        assert!(err.to_string().contains("exit_code"), "{err}");
    }

    #[test]
    fn the_ending_that_wrote_a_result_round_trips() {
        let now = Utc::now();
        let result = SessionResult::new(&ResultStatus::Killed, 137, "s", "t", now, now)
            .with_termination_reason(&TerminationReason::Killed);
        let back = parse(&result.to_toml_string()).unwrap();
        assert_eq!(back.termination_reason(), Some(TerminationReason::Killed));
        assert_eq!(parse(REAL).unwrap().termination_reason(), None);
        let bad = REAL.replace("events_count = 12", "termination_reason = 3");
        assert!(parse(&bad).is_err());
    }
}
