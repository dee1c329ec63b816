//! Every session of one or more projects at a glance (contract §9.1), kept
//! up to date cheaply for a live view (`csa session top`): a session that
//! has ended is read once and kept (nothing more happens to it); an active
//! one is read again at each refresh, with its logs' sizes and last line;
//! new sessions are found by listing the sessions folders again.
//!
//! The figures of each active session's process tree (CPU, memory) are
//! sampled by `csa-process` and handed in ([`Fleet::set_figures`]); the
//! reconcile of an active session whose process died is handed in too
//! ([`Fleet::reconcile`]), as this crate knows no processes.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::chain;
use crate::layout::SessionsDir;
use crate::log_tail::{LogSizes, log_sizes, output_tail};
use crate::phase::Phase;
use crate::resolve::{SessionLocation, list_sessions_each};
use crate::status::{Outcome, SessionStatus as Status};
use crate::{SessionId, load_result_if_any, load_state};

/// The version of [`FleetJson`] (what `top --json` prints): raised when a
/// key changes meaning or goes away. Adding a key does not raise it.
pub const FLEET_JSON_VERSION: u32 = 1;

/// The last sample of a session's process tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeFigures {
    /// CPU time used since the previous sample, in percent of one core;
    /// `None` on the first sample.
    pub cpu_percent: Option<f64>,
    /// Resident memory of every process of the tree.
    pub memory_bytes: u64,
}

/// One session as the fleet view shows it.
#[derive(Debug, Clone)]
pub struct FleetRow {
    pub loc: SessionLocation,
    pub status: Status,
    pub tool: String,
    pub description: String,
    pub parent: Option<String>,
    pub project: String,
    /// When it started: the result's `started_at`, else `created_at`.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (its result's `completed_at`).
    pub ended_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i64>,
    pub outcome: Option<Outcome>,
    pub logs: LogSizes,
    /// The last non-empty line of `output.log` (raw; views escape it).
    pub last_line: String,
    /// The last sample of its process tree (active sessions only).
    pub sample: Option<TreeFigures>,
    /// Why its files cannot be read, when they cannot.
    pub error: Option<String>,
}

impl FleetRow {
    /// Read the session's files (bounded reads; an unreadable state is an
    /// `Error` row).
    pub fn read(loc: &SessionLocation) -> FleetRow {
        let mut row = FleetRow {
            loc: loc.clone(),
            status: Status::Error,
            tool: String::new(),
            description: String::new(),
            parent: None,
            project: String::new(),
            started_at: None,
            ended_at: None,
            exit_code: None,
            outcome: None,
            logs: log_sizes(&loc.dir),
            last_line: output_tail(&loc.dir, 1),
            sample: None,
            error: None,
        };
        let state = match load_state(&loc.dir) {
            Ok(loaded) => loaded.value,
            Err(err) => {
                row.error = Some(chain(&err));
                return row;
            }
        };
        row.tool = state.newest_tool().unwrap_or_default();
        row.description = state.description().unwrap_or_default().to_owned();
        row.parent = state.genealogy().parent_session_id;
        row.project = state.project_path().to_owned();
        row.started_at = Some(state.created_at());
        match load_result_if_any(&loc.dir) {
            Ok(result) => {
                row.status = Status::of(state.phase(), Ok(result.as_ref()));
                if let Some(result) = result.filter(|_| state.phase() == Phase::Retired) {
                    row.started_at = Some(result.started_at());
                    row.ended_at = Some(result.completed_at());
                    row.exit_code = Some(result.exit_code());
                    row.outcome = Some(Outcome::of(&result));
                }
            }
            Err(err) => row.error = Some(chain(&err)),
        }
        row
    }

    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// Running time, or the total once ended.
    pub fn elapsed(&self, now: DateTime<Utc>) -> Option<Duration> {
        let start = self.started_at?;
        let end = self.ended_at.unwrap_or(now);
        (end - start).to_std().ok()
    }

    /// Since either log last grew (since it started, without logs); active only.
    pub fn idle(&self, now: SystemTime) -> Option<Duration> {
        if !self.is_active() {
            return None;
        }
        let since = self
            .logs
            .last_write
            .or_else(|| self.started_at.map(SystemTime::from))?;
        Some(now.duration_since(since).unwrap_or_default())
    }

    /// OUTCOME: `killed`, `timeout`, else the exit code; blank while active.
    pub fn outcome_text(&self) -> String {
        match (self.outcome, self.exit_code) {
            (Some(Outcome::Killed), _) => "killed".to_owned(),
            (Some(Outcome::Timeout), _) => "timeout".to_owned(),
            (_, Some(code)) => code.to_string(),
            _ => String::new(),
        }
    }

    /// Nothing more happens to it: read once, kept.
    fn is_settled(&self) -> bool {
        self.error.is_none() && matches!(self.status, Status::Retired | Status::Failed)
    }
}

/// Every session of some sessions folders, refreshed incrementally; see the
/// module docs.
#[derive(Debug)]
pub struct Fleet {
    dirs: Vec<SessionsDir>,
    rows: HashMap<SessionId, FleetRow>,
}

impl Fleet {
    pub fn new(dirs: Vec<SessionsDir>) -> Fleet {
        Fleet {
            dirs,
            rows: HashMap::new(),
        }
    }

    pub fn dirs(&self) -> &[SessionsDir] {
        &self.dirs
    }

    /// List the sessions folders again: read new sessions, drop removed
    /// ones, and read every active (or unreadable) session again. A folder
    /// that cannot be listed is skipped (its sessions are not shown).
    pub fn refresh(&mut self) {
        let found = list_sessions_each(&self.dirs, |err| {
            tracing::debug!("skipped: {}", chain(err));
        });
        let mut rows = HashMap::with_capacity(found.len());
        for loc in found {
            let row = match self.rows.remove(&loc.id) {
                Some(row) if row.is_settled() => row,
                Some(old) => FleetRow {
                    sample: old.sample,
                    ..FleetRow::read(&loc)
                },
                None => FleetRow::read(&loc),
            };
            rows.insert(loc.id.clone(), row);
        }
        self.rows = rows;
    }

    /// Reconcile each active session with `reconcile` (true: it changed),
    /// so a crashed daemon's session does not stay Active; what changed is
    /// read again.
    pub fn reconcile(&mut self, mut reconcile: impl FnMut(&SessionLocation) -> bool) {
        let active: Vec<SessionLocation> = self
            .rows
            .values()
            .filter(|row| row.is_active())
            .map(|row| row.loc.clone())
            .collect();
        for loc in active {
            if reconcile(&loc) {
                self.rows.insert(loc.id.clone(), FleetRow::read(&loc));
            }
        }
    }

    /// The active sessions, whose process trees are worth sampling.
    pub fn active(&self) -> impl Iterator<Item = &SessionLocation> {
        self.rows
            .values()
            .filter(|row| row.is_active())
            .map(|row| &row.loc)
    }

    /// The figures of this sample; a session without one has none.
    pub fn set_figures(&mut self, mut figures: HashMap<SessionId, TreeFigures>) {
        for row in self.rows.values_mut() {
            row.sample = figures.remove(&row.loc.id);
        }
    }

    /// The rows in the view's order: active first, then the most recently
    /// ended, then the most recently started.
    pub fn ordered(&self) -> Vec<&FleetRow> {
        let mut rows: Vec<&FleetRow> = self.rows.values().collect();
        rows.sort_by(|a, b| {
            let (a_ended, b_ended) = (!a.is_active(), !b.is_active());
            a_ended
                .cmp(&b_ended)
                .then_with(|| b.ended_at.cmp(&a.ended_at))
                .then_with(|| b.started_at.cmp(&a.started_at))
                .then_with(|| b.loc.id.cmp(&a.loc.id))
        });
        rows
    }

    pub fn get(&self, id: &SessionId) -> Option<&FleetRow> {
        self.rows.get(id)
    }
}

/// Totals for a header.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub active: usize,
    pub ended: usize,
    pub failed: usize,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

impl Totals {
    pub fn of<'r>(rows: impl IntoIterator<Item = &'r FleetRow>) -> Totals {
        let mut totals = Totals::default();
        for row in rows {
            match row.status {
                Status::Active => totals.active += 1,
                Status::Failed => {
                    totals.ended += 1;
                    totals.failed += 1;
                }
                Status::Retired => totals.ended += 1,
                Status::Available | Status::Error => {}
            }
            if let Some(sample) = row.sample {
                totals.cpu_percent += sample.cpu_percent.unwrap_or(0.0);
                totals.memory_bytes += sample.memory_bytes;
            }
        }
        totals
    }
}

/// A row as `top --json` prints it (docs/format.md), and as a view reads it
/// back from another machine's csa.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetJson {
    pub session_id: String,
    pub status: Status,
    pub tool: String,
    pub description: String,
    pub project_path: String,
    pub parent_session_id: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub idle_secs: Option<f64>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub log_bytes: u64,
    pub exit_code: Option<i64>,
    pub outcome: Option<Outcome>,
    pub last_line: String,
    pub error: Option<String>,
}

impl FleetRow {
    /// The row another machine's csa printed as `json` (`top --json`), as of
    /// `now` there and here: its times and figures are put back so that a
    /// view shows what that machine measured. Its session dir is not known
    /// here (an empty path). `None` for an id that is no session id.
    pub fn from_json(json: &FleetJson, now: DateTime<Utc>) -> Option<FleetRow> {
        let ago = |secs: Option<f64>| {
            let secs = Duration::try_from_secs_f64(secs?).ok()?;
            Some(now - chrono::Duration::from_std(secs).ok()?)
        };
        let ended = json.status != Status::Active && json.elapsed_secs.is_some();
        Some(FleetRow {
            loc: SessionLocation {
                id: SessionId::parse(&json.session_id).ok()?,
                dir: crate::layout::SessionDir::new(""),
                legacy: false,
            },
            status: json.status,
            tool: json.tool.clone(),
            description: json.description.clone(),
            parent: json.parent_session_id.clone(),
            project: json.project_path.clone(),
            started_at: ago(json.elapsed_secs),
            ended_at: ended.then_some(now),
            exit_code: json.exit_code,
            outcome: json.outcome,
            logs: LogSizes {
                output_bytes: json.log_bytes,
                stderr_bytes: 0,
                last_write: ago(json.idle_secs).map(SystemTime::from),
            },
            last_line: json.last_line.clone(),
            sample: json.memory_bytes.map(|memory_bytes| TreeFigures {
                cpu_percent: json.cpu_percent,
                memory_bytes,
            }),
            error: json.error.clone(),
        })
    }
}

impl FleetJson {
    pub fn of(row: &FleetRow, now: DateTime<Utc>) -> FleetJson {
        FleetJson {
            session_id: row.loc.id.as_str().to_owned(),
            status: row.status,
            tool: row.tool.clone(),
            description: row.description.clone(),
            project_path: row.project.clone(),
            parent_session_id: row.parent.clone(),
            elapsed_secs: row.elapsed(now).map(|d| d.as_secs_f64()),
            idle_secs: row.idle(SystemTime::from(now)).map(|d| d.as_secs_f64()),
            cpu_percent: row.sample.and_then(|s| s.cpu_percent),
            memory_bytes: row.sample.map(|s| s.memory_bytes),
            log_bytes: row.logs.total(),
            exit_code: row.exit_code,
            outcome: row.outcome,
            last_line: row.last_line.clone(),
            error: row.error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_read_back_from_another_machines_json_prints_the_same_json() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("in range");
        let active = FleetJson {
            session_id: "01KAZ9X3ABCDEFGHJKMNPQRSTV".into(),
            status: Status::Active,
            tool: "codex".into(),
            description: "fix \u{1b} it".into(),
            project_path: "/src/p".into(),
            parent_session_id: Some("01KAZ9X3ABCDEFGHJKMNPQRSTW".into()),
            elapsed_secs: Some(90.5),
            idle_secs: Some(2.25),
            cpu_percent: Some(12.5),
            memory_bytes: Some(1 << 20),
            log_bytes: 4096,
            exit_code: None,
            outcome: None,
            last_line: "working".into(),
            error: None,
        };
        let ended = FleetJson {
            status: Status::Failed,
            idle_secs: None,
            cpu_percent: None,
            memory_bytes: None,
            exit_code: Some(3),
            outcome: Some(Outcome::Failure),
            ..active.clone()
        };
        for json in [active, ended] {
            // Through the JSON text, as it comes from another machine.
            let json: FleetJson =
                serde_json::from_str(&serde_json::to_string(&json).expect("prints"))
                    .expect("reads");
            let row = FleetRow::from_json(&json, now).expect("a session id");
            assert_eq!(FleetJson::of(&row, now), json);
        }
    }

    #[test]
    fn a_row_whose_id_is_no_session_id_is_not_read_back() {
        let json: FleetJson = serde_json::from_str(
            r#"{"session_id": "../x", "status": "Retired", "tool": "t",
                "description": "", "project_path": "/p", "log_bytes": 0, "last_line": ""}"#,
        )
        .expect("a row");
        assert!(FleetRow::from_json(&json, Utc::now()).is_none());
    }
}
