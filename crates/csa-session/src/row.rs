//! One session as a list shows it: a [`SessionRow`], built here from the
//! session's files (or from the list cache, [`crate::list_cache`], which
//! stores rows), drawn by the views (`list`, `top`) wherever it came from,
//! and printed as JSON by `--json`. The JSON form is stable and documented
//! (docs/format.md, "Session rows"); [`ROW_VERSION`] changes with it.
//!
//! Text fields borrow where they can: from the session's location, or from
//! the list cache's buffer when the row comes from there.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{LoadError, chain};
use crate::genealogy::{self, Member};
use crate::liveness::{Liveness, Verdict};
use crate::phase::Phase;
use crate::resolve::SessionLocation;
use crate::result::SessionResult;
use crate::state::SessionState;
use crate::status::{Outcome, SessionStatus};
use crate::toml_value::format_time;

/// The version of the row's JSON form (and of the list cache's lines,
/// which hold rows): raised when a key changes meaning or goes away.
/// Adding a key does not raise it.
pub const ROW_VERSION: u32 = 2;

/// The liveness as JSON shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessView {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

impl From<&Liveness> for LivenessView {
    fn from(l: &Liveness) -> Self {
        LivenessView {
            verdict: l.verdict,
            reasons: l.reasons.clone(),
        }
    }
}

/// The `[run]` table as a row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView<'a> {
    pub command: Vec<Cow<'a, str>>,
    pub cwd: Cow<'a, str>,
    pub timeout_secs: Option<u64>,
}

/// The session's logs, for the views that show them (`top`): gathered only
/// when asked for ([`SessionRow::with_logs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFacts {
    /// The sizes of `output.log` and `stderr.log` together.
    pub log_bytes: u64,
    /// The last non-empty line of `output.log`, as written (unescaped).
    pub last_line: Option<String>,
}

/// One row of `csa session list` (also its `--json` object; see docs/format.md).
/// Read back (`Deserialize`, or [`SessionRow::list_from_json`]) from the
/// JSON another csa printed (the id borrows from that JSON, the other text
/// is owned); keys this csa does not know are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRow<'a> {
    pub session_id: &'a str,
    pub status: SessionStatus,
    pub phase: Option<Phase>,
    pub last_accessed: Option<Cow<'a, str>>,
    pub description: Option<Cow<'a, str>>,
    pub tools: Vec<Cow<'a, str>>,
    pub branch: Option<Cow<'a, str>>,
    pub project_path: Option<Cow<'a, str>>,
    /// `[genealogy] parent_session_id`, uppercase when it is a ULID.
    pub parent_session_id: Option<Cow<'a, str>>,
    /// `[genealogy] depth`.
    pub depth: Option<i64>,
    pub termination_reason: Option<Cow<'a, str>>,
    /// `[run]`: what `csa run` started, and where.
    pub run: Option<RunView<'a>>,
    /// Boxed: only active rows have one, and every row of a list is in memory at once.
    pub liveness: Option<Box<LivenessView>>,
    pub error: Option<String>,
    /// When the session was created (`created_at`).
    #[serde(serialize_with = "optional_time", default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When its run ended: the result's `completed_at`.
    #[serde(serialize_with = "optional_time", default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Running time: to the end when ended, else to when the row was built
    /// (active sessions only; a session that is neither has none).
    pub elapsed_secs: Option<f64>,
    /// The running time as existing installs print it: compact text
    /// ([`compact_duration`]: `45s`, `3m`, `1h5m`, `2d3h`).
    pub elapsed: Option<String>,
    /// The result's exit code.
    pub exit_code: Option<i64>,
    /// How the run ended, when it has a result.
    pub outcome: Option<Outcome>,
    /// Only when gathered ([`SessionRow::with_logs`]).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogFacts>,
    #[serde(skip)]
    pub sort_key: Option<DateTime<Utc>>,
}

fn optional_time<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.serialize_str(&format_time(*time)),
        None => s.serialize_none(),
    }
}

/// A duration as existing installs print a session's `elapsed`: its two
/// largest units, the smaller left out when zero (`45s`, `3m`, `1h`,
/// `1h5m`, `2d`, `2d3h`); seconds only below a minute.
pub fn compact_duration(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// The running time from `started` to `ended` (or to `now` while active).
pub fn elapsed_between(
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    now: Option<DateTime<Utc>>,
) -> Option<f64> {
    let took = ended.or(now)? - started?;
    let secs = took
        .num_microseconds()
        .map_or(took.num_seconds() as f64, |us| us as f64 / 1e6);
    Some(secs.max(0.0))
}

impl<'a> SessionRow<'a> {
    /// How the tree of sessions sees this row.
    pub fn member(&self) -> Member<'_> {
        Member {
            id: self.session_id,
            parent: self.parent_session_id.as_deref(),
            last_accessed: self.sort_key,
        }
    }

    /// A row for a session whose state cannot be read.
    pub fn broken(loc: &'a SessionLocation, err: &LoadError) -> SessionRow<'a> {
        SessionRow {
            session_id: loc.id.as_str(),
            status: SessionStatus::Error,
            phase: None,
            last_accessed: None,
            description: None,
            tools: Vec::new(),
            branch: None,
            project_path: None,
            parent_session_id: None,
            depth: None,
            termination_reason: None,
            run: None,
            liveness: None,
            error: Some(chain(err)),
            started_at: None,
            ended_at: None,
            elapsed_secs: None,
            elapsed: None,
            exit_code: None,
            outcome: None,
            logs: None,
            sort_key: None,
        }
    }

    /// A row from the session's state and result (`Err` = result.toml is
    /// broken); `now` is when an active session's running time is measured to.
    pub fn from_files(
        loc: &'a SessionLocation,
        state: &SessionState,
        result: Result<Option<&SessionResult>, &LoadError>,
        liveness: Option<&Liveness>,
        now: DateTime<Utc>,
    ) -> SessionRow<'a> {
        let status = SessionStatus::of(state.phase(), result.map_err(|_| ()));
        let error = result.err().map(|err| chain(err));
        let result = result.ok().flatten();
        let owned = |text: &str| Cow::Owned(text.to_owned());
        let genealogy = state.genealogy();
        let started_at = Some(state.created_at());
        let ended_at = result.map(SessionResult::completed_at);
        let active = state.phase() == Phase::Active;
        let mut row = SessionRow {
            session_id: loc.id.as_str(),
            status,
            phase: Some(state.phase()),
            last_accessed: Some(Cow::Owned(format_time(state.last_accessed()))),
            description: state.description().map(owned),
            tools: state.tool_names().into_iter().map(Cow::Owned).collect(),
            branch: state.branch().map(owned),
            project_path: Some(owned(state.project_path())),
            parent_session_id: genealogy
                .parent_session_id
                .as_deref()
                .map(|parent| Cow::Owned(genealogy::parent_id(parent))),
            depth: genealogy.depth,
            termination_reason: state.termination_reason_text().map(owned),
            run: state.run().map(|run| RunView {
                command: run.command.into_iter().map(Cow::Owned).collect(),
                cwd: Cow::Owned(run.cwd),
                timeout_secs: run.timeout_secs,
            }),
            liveness: liveness.map(|l| Box::new(LivenessView::from(l))),
            error,
            started_at,
            ended_at,
            elapsed_secs: None,
            elapsed: None,
            exit_code: result.map(SessionResult::exit_code),
            outcome: result.map(Outcome::of),
            logs: None,
            sort_key: Some(state.last_accessed()),
        };
        row.set_elapsed((active && ended_at.is_none()).then_some(now));
        row
    }

    /// The rows of a `csa session list --json` array (another csa's, of
    /// [`ROW_VERSION`]), borrowing from `json`, each with its sort key.
    pub fn list_from_json(json: &'a str) -> Result<Vec<SessionRow<'a>>, serde_json::Error> {
        let mut rows: Vec<SessionRow<'a>> = serde_json::from_str(json)?;
        for row in &mut rows {
            row.sort_key = row
                .last_accessed
                .as_deref()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&Utc));
        }
        Ok(rows)
    }

    /// Fill `elapsed_secs` and `elapsed` from the start and end times
    /// (to `now` while the session runs). `elapsed` means what existing
    /// installs print: the same time, and for an ended session without a
    /// result (no end of its run), the time to its `last_accessed`.
    pub fn set_elapsed(&mut self, now: Option<DateTime<Utc>>) {
        self.elapsed_secs = elapsed_between(self.started_at, self.ended_at, now);
        self.elapsed = self
            .elapsed_secs
            .or_else(|| elapsed_between(self.started_at, self.sort_key, None))
            .map(|secs| compact_duration(secs as u64));
    }

    /// OUTCOME as `list` shows it: `killed`, `timeout`, else the exit code;
    /// `None` while the session is active or has no result.
    pub fn outcome_text(&self) -> Option<Cow<'static, str>> {
        if self.status == SessionStatus::Active {
            return None;
        }
        match (self.outcome?, self.exit_code) {
            (Outcome::Killed, _) => Some(Cow::Borrowed("killed")),
            (Outcome::Timeout, _) => Some(Cow::Borrowed("timeout")),
            (_, Some(0)) => Some(Cow::Borrowed("0")),
            (_, Some(code)) => Some(Cow::Owned(code.to_string())),
            (_, None) => None,
        }
    }

    /// The row with its log facts, read from the session's logs now.
    pub fn with_logs(mut self, loc: &SessionLocation) -> SessionRow<'a> {
        self.logs = Some(LogFacts::read(loc));
        self
    }
}

impl LogFacts {
    /// The logs of the session at `loc` as they are now (missing logs count 0).
    pub fn read(loc: &SessionLocation) -> LogFacts {
        let size = |path: &std::path::Path| fs_err::metadata(path).map_or(0, |m| m.len());
        let output = loc.dir.output_log();
        LogFacts {
            log_bytes: size(&output) + size(&loc.dir.stderr_log()),
            last_line: Some(crate::log_tail::log_tail(&output, 1)).filter(|l| !l.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_compact_text_as_existing_installs_print_it() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (179, "2m"),
            (3_600, "1h"),
            (3_900, "1h5m"),
            (86_400, "1d"),
            (86_400 + 59 * 60, "1d"),
            (2 * 86_400 + 3 * 3_600 + 5, "2d3h"),
        ];
        for (secs, text) in cases {
            assert_eq!(compact_duration(secs), text, "{secs}");
        }
    }

    #[test]
    fn a_row_read_back_from_its_json_prints_the_same_json() {
        let json = serde_json::json!({
            "session_id": "01KAZ9X3ABCDEFGHJKMNPQRSTV",
            "status": "Failed",
            "phase": "retired",
            "last_accessed": "2026-12-07T01:00:00.5Z",
            "description": "fix \"$(x)\"\n\u{1b}",
            "tools": ["codex", "claude"],
            "branch": "main",
            "project_path": "/src/p",
            "parent_session_id": "01KAZ9X3ABCDEFGHJKMNPQRSTW",
            "depth": 1,
            "termination_reason": "completed",
            "run": {"command": ["sh", "-c", "exit 3"], "cwd": "/src/p", "timeout_secs": 90},
            "liveness": {"verdict": "alive", "reasons": ["lock held"]},
            "error": null,
            "started_at": "2026-12-07T00:59:00Z",
            "ended_at": "2026-12-07T01:00:00Z",
            "elapsed_secs": 60.0,
            "elapsed": "1m",
            "exit_code": 3,
            "outcome": "failure",
            "log_bytes": 12,
            "last_line": "done"
        });
        let newer = {
            let mut newer = json.clone();
            newer["a_key_from_a_newer_csa"] = true.into();
            newer
        };
        let text = serde_json::to_string(&[&newer]).unwrap();
        let rows = SessionRow::list_from_json(&text).unwrap();
        let [row] = rows.as_slice() else {
            panic!("{rows:?}")
        };
        assert_eq!(row.sort_key, "2026-12-07T01:00:00.5Z".parse().ok());
        assert_eq!(serde_json::to_value(row).unwrap(), json);

        // A row without the optional keys (no logs gathered) stays without.
        let bare = r#"[{"session_id": "X", "status": "Active", "tools": []}]"#;
        let rows = SessionRow::list_from_json(bare).unwrap();
        assert_eq!(
            (rows[0].status, rows[0].logs.is_none()),
            (SessionStatus::Active, true)
        );
        assert!(
            SessionRow::list_from_json(
                r#"[{"session_id": "X", "status": "Dreaming", "tools": []}]"#
            )
            .is_err()
        );
    }

    #[test]
    fn elapsed_runs_to_the_end_or_to_now() {
        let at = |secs| DateTime::from_timestamp(secs, 0);
        assert_eq!(elapsed_between(at(100), at(160), at(500)), Some(60.0));
        assert_eq!(elapsed_between(at(100), None, at(130)), Some(30.0));
        assert_eq!(elapsed_between(at(100), None, None), None);
        assert_eq!(elapsed_between(None, at(160), at(500)), None);
        // A clock that went back reads zero, never negative.
        assert_eq!(elapsed_between(at(100), at(90), None), Some(0.0));
    }

    #[test]
    fn outcome_is_a_stop_or_the_exit_code_and_blank_while_active() {
        let loc = SessionLocation {
            id: crate::SessionId::parse("01KAZ9X3M2QAAAAAAAAAAAAAAA").expect("an id"),
            dir: crate::SessionDir::new("/s/01KAZ9X3M2QAAAAAAAAAAAAAAA"),
            legacy: false,
        };
        let missing = LoadError::Missing {
            path: "/s/x".into(),
        };
        let mut row = SessionRow::broken(&loc, &missing);
        let table = [
            (
                SessionStatus::Failed,
                Some(Outcome::Killed),
                Some(143),
                Some("killed"),
            ),
            (
                SessionStatus::Failed,
                Some(Outcome::Timeout),
                Some(124),
                Some("timeout"),
            ),
            (
                SessionStatus::Failed,
                Some(Outcome::Failure),
                Some(3),
                Some("3"),
            ),
            (
                SessionStatus::Retired,
                Some(Outcome::Success),
                Some(0),
                Some("0"),
            ),
            (SessionStatus::Retired, None, None, None),
            (SessionStatus::Active, Some(Outcome::Failure), Some(1), None),
        ];
        for (status, outcome, code, text) in table {
            row.status = status;
            row.outcome = outcome;
            row.exit_code = code;
            assert_eq!(
                row.outcome_text().as_deref(),
                text,
                "{status:?} {outcome:?}"
            );
        }
    }
}
