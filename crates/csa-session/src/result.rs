//! `result.toml` (contract §4) and `daemon-completion.toml` (contract §2).
//!
//! Like `state`, the result keeps its whole table so unknown keys survive; the
//! required keys are validated at parse time.

use std::path::Path;

use chrono::{DateTime, Utc};
use toml::{Table, Value};

use crate::error::LoadError;
use crate::toml_value::{
    optional_int, parse_table, required_int, required_str, required_time, time_value,
};

/// Statuses that mean the run failed, whatever its exit code.
pub const FAILURE_STATUSES: [&str; 3] = ["failure", "timeout", "signal"];

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
    pub fn new(
        status: &str,
        exit_code: i64,
        summary: &str,
        tool: &str,
        started_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
    ) -> SessionResult {
        let mut table = Table::new();
        table.insert("status".into(), Value::String(status.into()));
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
        for key in ["status", "summary", "tool"] {
            required_str(&table, key).map_err(unparseable)?;
        }
        let exit_code = required_int(&table, "exit_code").map_err(unparseable)?;
        let started_at = required_time(&table, "started_at").map_err(unparseable)?;
        let completed_at = required_time(&table, "completed_at").map_err(unparseable)?;
        optional_int(&table, "events_count").map_err(unparseable)?;
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

    pub fn status(&self) -> &str {
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

    /// A failed run: status failure/timeout/signal, or a non-zero exit code.
    pub fn is_failure(&self) -> bool {
        let status = self.status();
        self.exit_code != 0
            || FAILURE_STATUSES
                .iter()
                .any(|s| status.eq_ignore_ascii_case(s))
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

/// A parsed `daemon-completion.toml`: what the daemon saw as it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonCompletion {
    pub exit_code: i64,
    pub status: String,
}

impl DaemonCompletion {
    pub fn parse(text: &str, path: &Path) -> Result<DaemonCompletion, LoadError> {
        let unparseable = |reason: String| LoadError::Unparseable {
            path: path.to_path_buf(),
            reason,
        };
        let table = parse_table(text).map_err(unparseable)?;
        Ok(DaemonCompletion {
            exit_code: required_int(&table, "exit_code").map_err(unparseable)?,
            status: required_str(&table, "status")
                .map_err(unparseable)?
                .to_owned(),
        })
    }

    pub fn to_toml_string(&self) -> String {
        let mut table = Table::new();
        table.insert("exit_code".into(), Value::Integer(self.exit_code));
        table.insert("status".into(), Value::String(self.status.clone()));
        toml::to_string(&table).expect("a toml::Table always serializes")
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
        assert_eq!(result.status(), "success");
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
            let result = SessionResult::new(status, code, "s", "t", now, now);
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
    fn completion_round_trips_and_requires_both_keys() {
        let done = DaemonCompletion {
            exit_code: 3,
            status: "failure".into(),
        };
        let path = Path::new("/s/daemon-completion.toml");
        assert_eq!(
            DaemonCompletion::parse(&done.to_toml_string(), path).unwrap(),
            done
        );
        assert!(DaemonCompletion::parse("exit_code = 1\n", path).is_err());
    }
}
