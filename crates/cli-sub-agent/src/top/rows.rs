//! The rows `csa session top` shows (contract §9.1), kept up to date
//! cheaply: a session that has ended is read once and kept (nothing more
//! happens to it); an active one is read again at each refresh, with its
//! logs' sizes and last line; new sessions are found by listing the
//! sessions folders. CPU and memory come from `csa_process::Sampler`, one
//! process-table snapshot for every session per interval.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use csa_process::{ProbeContext, Sampler, TreeSample};
use csa_session::log_tail::{LogSizes, log_sizes, output_tail};
use csa_session::{
    Outcome, Phase, SessionId, SessionLocation, SessionStatus as Status, SessionsDir, Trigger,
};
use serde::Serialize;

use crate::context::{Noise, sessions_in_each};

/// One session as `top` shows it.
#[derive(Debug, Clone)]
pub struct TopRow {
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
    pub sample: Option<TreeSample>,
    /// Why its files cannot be read, when they cannot.
    pub error: Option<String>,
}

impl TopRow {
    /// Read the session's files (bounded reads; an unreadable state is an
    /// `Error` row).
    pub fn read(loc: &SessionLocation) -> TopRow {
        let mut row = TopRow {
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
        let state = match csa_session::load_state(&loc.dir) {
            Ok(loaded) => loaded.value,
            Err(err) => {
                row.error = Some(csa_session::error::chain(&err));
                return row;
            }
        };
        let result = csa_session::load_result_if_any(&loc.dir);
        row.tool = state.newest_tool().unwrap_or_default();
        row.description = state.description().unwrap_or_default().to_owned();
        row.parent = state.genealogy().parent_session_id;
        row.project = state.project_path().to_owned();
        row.started_at = Some(state.created_at());
        match result {
            Ok(result) => {
                row.status = Status::of(state.phase(), Ok(result.as_ref()));
                if let Some(result) = result.filter(|_| state.phase() == Phase::Retired) {
                    row.started_at = Some(result.started_at());
                    row.ended_at = Some(result.completed_at());
                    row.exit_code = Some(result.exit_code());
                    row.outcome = Some(Outcome::of(&result));
                }
            }
            Err(err) => row.error = Some(crate::ui::chain(&err)),
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
}

/// Every session `top` shows, refreshed incrementally; see the module docs.
#[derive(Debug)]
pub struct Fleet {
    dirs: Vec<SessionsDir>,
    rows: HashMap<SessionId, TopRow>,
    sampler: Sampler<SessionId>,
}

impl Fleet {
    pub fn new(dirs: Vec<SessionsDir>) -> Fleet {
        Fleet {
            dirs,
            rows: HashMap::new(),
            sampler: Sampler::new(),
        }
    }

    pub fn dirs(&self) -> &[SessionsDir] {
        &self.dirs
    }

    /// List the sessions folders again: read new sessions, drop removed
    /// ones, and read every active (or unreadable) session again.
    pub fn refresh(&mut self) {
        let found = sessions_in_each(&self.dirs, Noise::Quiet);
        let mut rows = HashMap::with_capacity(found.len());
        for loc in found {
            let row = match self.rows.remove(&loc.id) {
                Some(row) if is_settled(&row) => row,
                Some(old) => {
                    let mut row = TopRow::read(&loc);
                    row.sample = old.sample;
                    row
                }
                None => TopRow::read(&loc),
            };
            rows.insert(loc.id.clone(), row);
        }
        self.rows = rows;
    }

    /// Reconcile each active session whose process is dead (as `list`
    /// does), so a crashed daemon's session does not stay Active; what
    /// changed is read again.
    pub fn reconcile(&mut self) {
        let probe = ProbeContext::new();
        let active: Vec<SessionLocation> = self
            .rows
            .values()
            .filter(|row| row.is_active())
            .map(|row| row.loc.clone())
            .collect();
        for loc in active {
            let report = crate::reconcile::reconcile_quietly(&loc, &probe, Trigger::SessionTop);
            if report.outcome.changed() {
                self.rows.insert(loc.id.clone(), TopRow::read(&loc));
            }
        }
    }

    /// Sample the process trees of the active sessions (daemon and command,
    /// verified by their start times).
    pub fn sample(&mut self) {
        let trees: Vec<(SessionId, Vec<u32>)> = self
            .rows
            .values()
            .filter(|row| row.is_active())
            .map(|row| (row.loc.id.clone(), verified_roots(&row.loc)))
            .collect();
        let mut samples = self.sampler.sample(&trees);
        for row in self.rows.values_mut() {
            row.sample = samples.remove(&row.loc.id);
        }
    }

    /// The rows in `top`'s order.
    pub fn ordered(&self) -> Vec<&TopRow> {
        let mut rows: Vec<&TopRow> = self.rows.values().collect();
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

    pub fn get(&self, id: &SessionId) -> Option<&TopRow> {
        self.rows.get(id)
    }
}

/// Nothing more happens to it: read once, kept.
fn is_settled(row: &TopRow) -> bool {
    row.error.is_none() && matches!(row.status, Status::Retired | Status::Failed)
}

/// The session's daemon and command, each only when its start time matches
/// its record (a reused pid is another program's).
fn verified_roots(loc: &SessionLocation) -> Vec<u32> {
    let daemon = csa_process::read_daemon_pid(&loc.dir).ok().flatten();
    let command = csa_process::read_cmd_pid(&loc.dir).ok().flatten();
    daemon
        .into_iter()
        .chain(command.map(|c| c.as_pid_record()))
        .filter(|record| {
            let facts = csa_process::facts::probe(record.pid);
            facts.existence == csa_process::Existence::Exists
                && record.start_time_ticks.is_some()
                && facts.start_time_ticks == record.start_time_ticks
        })
        .map(|record| record.pid)
        .collect()
}

/// Totals for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub active: usize,
    pub ended: usize,
    pub failed: usize,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

impl Totals {
    pub fn of<'r>(rows: impl IntoIterator<Item = &'r TopRow>) -> Totals {
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
                totals.memory_bytes += sample.usage.rss_bytes;
            }
        }
        totals
    }
}

/// A row as `top --json` prints it.
#[derive(Debug, Serialize)]
pub struct TopJson<'r> {
    pub session_id: &'r str,
    pub status: Status,
    pub tool: &'r str,
    pub description: &'r str,
    pub project_path: &'r str,
    pub parent_session_id: Option<&'r str>,
    pub elapsed_secs: Option<f64>,
    pub idle_secs: Option<f64>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub log_bytes: u64,
    pub exit_code: Option<i64>,
    pub outcome: Option<Outcome>,
    pub last_line: &'r str,
    pub error: Option<&'r str>,
}

impl<'r> TopJson<'r> {
    pub fn of(row: &'r TopRow, now: DateTime<Utc>) -> TopJson<'r> {
        TopJson {
            session_id: row.loc.id.as_str(),
            status: row.status,
            tool: &row.tool,
            description: &row.description,
            project_path: &row.project,
            parent_session_id: row.parent.as_deref(),
            elapsed_secs: row.elapsed(now).map(|d| d.as_secs_f64()),
            idle_secs: row.idle(SystemTime::from(now)).map(|d| d.as_secs_f64()),
            cpu_percent: row.sample.and_then(|s| s.cpu_percent),
            memory_bytes: row.sample.map(|s| s.usage.rss_bytes),
            log_bytes: row.logs.total(),
            exit_code: row.exit_code,
            outcome: row.outcome,
            last_line: &row.last_line,
            error: row.error.as_deref(),
        }
    }
}
