//! One session in full, as `csa session show` prints it: a [`SessionDetail`]
//! built here from the session's files, with the facts of its processes
//! ([`Processes`]) handed in by whoever can read them (`csa-process`), and
//! its children by whoever listed the project. The `--json` form is stable
//! and documented (docs/cli.md, `show`); [`DETAIL_VERSION`] changes with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::chain;
use crate::json::{JsonTable, TomlJson};
use crate::liveness::Liveness;
use crate::load::load_result_if_any;
use crate::phase::Phase;
use crate::resolve::SessionLocation;
use crate::result::SessionResult;
use crate::row::{LivenessView, elapsed_between};
use crate::state::SessionState;
use crate::status::{Outcome, SessionStatus};
use crate::toml_value::format_time;

/// The version of the detail's JSON form: raised when a key changes
/// meaning or goes away. Adding a key does not raise it.
pub const DETAIL_VERSION: u32 = 1;

/// What is known of a session's processes (all `None` when not running or
/// not verified).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Processes {
    /// The daemon's pid (`daemon.pid`).
    pub pid: Option<u32>,
    /// The command's pid (`cmd.pid`).
    pub cmd_pid: Option<u32>,
    /// Resident memory of the live process tree.
    pub memory_bytes: Option<u64>,
    /// CPU time (user + system) of the live process tree.
    pub cpu_seconds: Option<f64>,
}

/// One session in full: the `--json` object of `show`, and what its text
/// shows. Read back (`Deserialize`) from another csa's `show --json`; keys
/// this csa does not know are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDetail {
    pub session_id: String,
    pub status: SessionStatus,
    pub phase: Phase,
    pub description: Option<String>,
    pub tools: Vec<String>,
    pub branch: Option<String>,
    pub project_path: String,
    /// `[run] command`: CMD and its arguments.
    pub command: Option<Vec<String>>,
    /// `[run] cwd`.
    pub cwd: Option<String>,
    /// `[run] timeout_secs`.
    pub timeout_secs: Option<u64>,
    #[serde(serialize_with = "time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    pub last_accessed: DateTime<Utc>,
    pub termination_reason: Option<String>,
    /// `completed_at - started_at` of the result, when the session has one.
    pub duration_seconds: Option<f64>,
    /// As in a row: `created_at`.
    #[serde(serialize_with = "time")]
    pub started_at: DateTime<Utc>,
    /// As in a row: the result's `completed_at`.
    #[serde(serialize_with = "optional_time", default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// As in a row: from `started_at` to the end, or to now while active.
    pub elapsed_secs: Option<f64>,
    pub exit_code: Option<i64>,
    pub outcome: Option<Outcome>,
    pub parent_session_id: Option<String>,
    pub children: Vec<String>,
    #[serde(flatten)]
    pub processes: Processes,
    pub liveness: Option<LivenessView>,
    /// `result.toml`, every key, as `csa session result --json` prints it.
    #[serde(
        serialize_with = "result_table",
        deserialize_with = "result_from_json",
        default
    )]
    pub result: Option<SessionResult>,
    /// Why the result cannot be read, when it cannot.
    pub error: Option<String>,
    pub session_dir: String,
    /// `output.log`: its size and last lines.
    pub output_log: LogView,
    /// `stderr.log`: its size and last lines.
    pub stderr_log: LogView,
}

/// How many of each log's last lines a detail holds.
pub const LOG_LINES: usize = 5;

/// One log of the session: how big it is and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogView {
    /// Its size; `None` when there is no log.
    pub bytes: Option<u64>,
    /// Its last non-empty lines (at most [`LOG_LINES`]), oldest first, as written.
    pub last_lines: Vec<String>,
    /// The log was rotated (`csa run --max-log-size`): when, and the size
    /// of what was kept of it (`output.log.1`).
    pub rotated: Option<Rotated>,
}

/// The last rotation of a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    /// When it happened (the rotated file's last write), RFC 3339.
    pub at: Option<String>,
    pub bytes: u64,
}

impl LogView {
    /// The log at `path` as it is now (`rotated`: where it is moved when full).
    pub fn read(path: &std::path::Path, rotated: &std::path::Path) -> LogView {
        let bytes = fs_err::metadata(path)
            .ok()
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len());
        let tail = crate::log_tail::log_tail(path, LOG_LINES);
        let rotated = fs_err::metadata(rotated)
            .ok()
            .filter(|meta| meta.is_file())
            .map(|meta| Rotated {
                at: meta
                    .modified()
                    .ok()
                    .map(|at| format_time(DateTime::<Utc>::from(at))),
                bytes: meta.len(),
            });
        LogView {
            bytes,
            last_lines: tail.lines().map(str::to_owned).collect(),
            rotated,
        }
    }
}

impl SessionDetail {
    /// The detail of the session at `loc` whose state is `state`: its result
    /// is read now; `liveness` (active sessions), `children` (their ids) and
    /// `processes` come from the caller; `now` ends an active session's
    /// running time.
    pub fn build(
        loc: &SessionLocation,
        state: &SessionState,
        liveness: Option<&Liveness>,
        children: Vec<String>,
        processes: Processes,
        now: DateTime<Utc>,
    ) -> SessionDetail {
        let result = load_result_if_any(&loc.dir);
        let status = SessionStatus::of(
            state.phase(),
            result.as_ref().map(Option::as_ref).map_err(|_| ()),
        );
        let error = result.as_ref().err().map(|err| chain(err));
        let result = result.ok().flatten();
        let run = state.run();
        let ended_at = result.as_ref().map(SessionResult::completed_at);
        let active = state.phase() == Phase::Active;
        SessionDetail {
            session_id: loc.id.to_string(),
            status,
            phase: state.phase(),
            description: state.description().map(str::to_owned),
            tools: state.tool_names(),
            branch: state.branch().map(str::to_owned),
            project_path: state.project_path().to_owned(),
            command: run.as_ref().map(|run| run.command.clone()),
            cwd: run.as_ref().map(|run| run.cwd.clone()),
            timeout_secs: run.as_ref().and_then(|run| run.timeout_secs),
            created_at: state.created_at(),
            last_accessed: state.last_accessed(),
            termination_reason: state.termination_reason_text().map(str::to_owned),
            duration_seconds: result
                .as_ref()
                .and_then(|r| elapsed_between(Some(r.started_at()), Some(r.completed_at()), None)),
            started_at: state.created_at(),
            ended_at,
            elapsed_secs: elapsed_between(
                Some(state.created_at()),
                ended_at,
                (active && ended_at.is_none()).then_some(now),
            ),
            exit_code: result.as_ref().map(SessionResult::exit_code),
            outcome: result.as_ref().map(Outcome::of),
            parent_session_id: state.genealogy().parent_session_id,
            children,
            processes,
            liveness: liveness.map(LivenessView::from),
            result,
            error,
            session_dir: loc.dir.path().display().to_string(),
            output_log: LogView::read(&loc.dir.output_log(), &loc.dir.output_log_rotated()),
            stderr_log: LogView::read(&loc.dir.stderr_log(), &loc.dir.stderr_log_rotated()),
        }
    }
}

fn time<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*time))
}

fn optional_time<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&format_time(*time)),
        None => s.serialize_none(),
    }
}

/// `result`'s JSON object back into a result (`null`: none).
fn result_from_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SessionResult>, D::Error> {
    match Option::<JsonTable>::deserialize(d)? {
        Some(JsonTable(table)) => SessionResult::from_table(table)
            .map(Some)
            .map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

fn result_table<S: Serializer>(result: &Option<SessionResult>, s: S) -> Result<S::Ok, S::Error> {
    match result {
        Some(result) => TomlJson::Table(result.table()).serialize(s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{ResultStatus, TerminationReason};

    fn detail() -> SessionDetail {
        let at = |secs| DateTime::from_timestamp(secs, 500_000_000).expect("in range");
        let mut result = SessionResult::new(
            &ResultStatus::parse("failure"),
            3,
            "line one\nline \u{1b}two",
            "codex",
            at(1_800_000_000),
            at(1_800_000_060),
        )
        .with_termination_reason(&TerminationReason::Completed);
        result.set("peak_memory_mb", toml::Value::Float(12.5));
        result.set("events_count", toml::Value::Integer(7));
        SessionDetail {
            session_id: "01KAZ9X3ABCDEFGHJKMNPQRSTV".into(),
            status: SessionStatus::Failed,
            phase: Phase::Retired,
            description: Some("fix '$(x)'".into()),
            tools: vec!["codex".into()],
            branch: None,
            project_path: "/src/p".into(),
            command: Some(vec!["sh".into(), "-c".into(), "exit 3".into()]),
            cwd: Some("/src/p".into()),
            timeout_secs: Some(90),
            created_at: at(1_799_999_990),
            last_accessed: at(1_800_000_060),
            termination_reason: Some("completed".into()),
            duration_seconds: Some(60.0),
            started_at: at(1_799_999_990),
            ended_at: Some(at(1_800_000_060)),
            elapsed_secs: Some(70.0),
            exit_code: Some(3),
            outcome: Some(Outcome::Failure),
            parent_session_id: None,
            children: vec!["01KAZ9X3ABCDEFGHJKMNPQRSTW".into()],
            processes: Processes {
                pid: Some(41),
                cmd_pid: None,
                memory_bytes: Some(1 << 20),
                cpu_seconds: Some(1.25),
            },
            liveness: Some(LivenessView {
                verdict: crate::Verdict::Dead,
                reasons: vec!["no lock held".into()],
            }),
            result: Some(result),
            error: None,
            session_dir: "/state/sessions/01KAZ9X3ABCDEFGHJKMNPQRSTV".into(),
            output_log: LogView {
                bytes: Some(12),
                last_lines: vec!["a".into(), "b".into()],
                rotated: Some(Rotated {
                    at: Some("2027-01-15T08:00:30Z".into()),
                    bytes: 1 << 20,
                }),
            },
            stderr_log: LogView {
                bytes: None,
                last_lines: Vec::new(),
                rotated: None,
            },
        }
    }

    #[test]
    fn a_detail_read_back_from_its_json_prints_the_same_json() {
        let json = serde_json::to_value(detail()).expect("serializes");
        let mut newer = json.clone();
        newer["a_key_from_a_newer_csa"] = true.into();
        let back: SessionDetail = serde_json::from_value(newer).expect("reads back");
        assert_eq!(serde_json::to_value(&back).expect("serializes"), json);
        let result = back.result.expect("has its result");
        assert_eq!(
            (result.exit_code(), result.summary()),
            (3, "line one\nline \u{1b}two")
        );
        assert_eq!(result.events_count(), Some(7));

        // No result, and one a newer csa wrote without a required key.
        let mut none = json.clone();
        none["result"] = serde_json::Value::Null;
        let back: SessionDetail = serde_json::from_value(none).expect("reads back");
        assert!(back.result.is_none());
        let mut broken = json;
        broken["result"]["exit_code"] = "three".into();
        let err = serde_json::from_value::<SessionDetail>(broken).expect_err("refused");
        assert!(err.to_string().contains("exit_code"), "{err}");
    }
}
