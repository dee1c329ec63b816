//! `csa session peek <ID> [--json]`: a compact `show` for checking on an
//! agent at a glance (contract §10): its status, how long it has run, how
//! long since its logs last grew, its result, and its last output lines.
//!
//! The JSON object also carries the keys other csa installs print for
//! `peek` (`state`, `idle_secs`, `elapsed_secs`, `created_at`,
//! `last_accessed`, `result_status`, `result_exit_code`, `session_dir`).

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use csa_process::Verdict;
use csa_session::{Phase, SessionLocation, SessionState, SessionStatus, Trigger};
use serde::Serialize;

use crate::cli::PeekArgs;
use crate::context::Context;
use crate::reconcile::Reconciled;
use crate::term::{escape, human_duration};
use crate::ui::{Ui, chain};

/// How many of the output's last lines `peek` prints.
const LAST_LINES: usize = 5;
/// Logs written within this long: an active session is `working`, else `idle`.
const WORKING_WINDOW: Duration = Duration::from_secs(30);

pub fn run(args: &PeekArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project, ui)?;
    let loc = ctx.resolve(args.session.id())?;
    let reconciled = Reconciled::load(ui, &loc, Trigger::SessionShow)?;
    let state = &reconciled.state;
    let verdict = (state.phase() == Phase::Active).then(|| reconciled.liveness(&loc).verdict);
    let peek = Peek::new(&loc, state, verdict, Utc::now());
    if args.json {
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&peek)?))?;
    } else {
        ui.stdout(&peek.text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Working, idle or dead, as other installs' `peek` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Activity {
    /// Active, and a log grew within [`WORKING_WINDOW`].
    Working,
    /// Active (alive or unknown), and no log grew lately.
    Idle,
    /// Ended, or its process is dead.
    Dead,
}

/// What `peek` shows (also its `--json` object).
#[derive(Debug, Serialize)]
struct Peek {
    session_id: String,
    status: SessionStatus,
    phase: Phase,
    /// The liveness verdict, for an active session.
    liveness: Option<&'static str>,
    state: Activity,
    elapsed_secs: u64,
    /// Since either log last grew (or the session was created); active only.
    idle_secs: Option<u64>,
    created_at: String,
    last_accessed: String,
    result_status: Option<String>,
    result_exit_code: Option<i64>,
    /// The result's summary, or why the result cannot be read.
    summary: Option<String>,
    last_lines: Vec<String>,
    session_dir: String,
}

impl Peek {
    fn new(
        loc: &SessionLocation,
        state: &SessionState,
        verdict: Option<Verdict>,
        now: DateTime<Utc>,
    ) -> Peek {
        let loaded = csa_session::load_result_if_any(&loc.dir);
        let (status, summary) = match &loaded {
            Ok(result) => (
                SessionStatus::of(state.phase(), Ok(result.as_ref())),
                result.as_ref().map(|r| r.summary().to_owned()),
            ),
            Err(err) => (SessionStatus::Error, Some(chain(err))),
        };
        let result = loaded.ok().flatten();
        let created = state.created_at();
        let end = match (&result, state.phase()) {
            (_, Phase::Active) => now,
            (Some(result), _) => result.completed_at(),
            (None, _) => state.last_accessed(),
        };
        let since = |then: DateTime<Utc>, until: DateTime<Utc>| {
            u64::try_from((until - then).num_seconds()).unwrap_or(0)
        };
        let last_write = csa_session::log_tail::log_sizes(&loc.dir)
            .last_write
            .map(DateTime::<Utc>::from)
            .unwrap_or(created);
        let idle_secs = verdict.map(|_| since(last_write, now));
        let state_word = match (verdict, idle_secs) {
            (None | Some(Verdict::Dead), _) => Activity::Dead,
            (Some(_), Some(idle)) if idle < WORKING_WINDOW.as_secs() => Activity::Working,
            (Some(_), _) => Activity::Idle,
        };
        let tail = csa_session::log_tail::output_tail(&loc.dir, LAST_LINES);
        Peek {
            session_id: loc.id.to_string(),
            status,
            phase: state.phase(),
            liveness: verdict.map(Verdict::as_str),
            state: state_word,
            elapsed_secs: since(
                result
                    .as_ref()
                    .map_or(created, |r| r.started_at())
                    .min(created),
                end,
            ),
            idle_secs,
            created_at: csa_session::format_time(created),
            last_accessed: csa_session::format_time(state.last_accessed()),
            result_status: result.as_ref().map(|r| r.status_text().to_owned()),
            result_exit_code: result.as_ref().map(|r| r.exit_code()),
            summary,
            last_lines: tail.lines().map(str::to_owned).collect(),
            session_dir: loc.dir.path().display().to_string(),
        }
    }

    /// A few labelled lines, then the last output lines indented; every
    /// value from the session's files escaped.
    fn text(&self) -> String {
        let status = match self.liveness {
            Some(verdict) => format!("{} ({verdict})", self.status.as_str()),
            None => self.status.as_str().to_owned(),
        };
        let mut text = format!("session  {}\nstatus   {status}\n", self.session_id);
        text.push_str(&format!(
            "elapsed  {}\n",
            human_duration(Duration::from_secs(self.elapsed_secs))
        ));
        if let Some(idle) = self.idle_secs {
            text.push_str(&format!(
                "idle     {}\n",
                human_duration(Duration::from_secs(idle))
            ));
        }
        let result = match (&self.result_status, self.result_exit_code) {
            (Some(status), Some(code)) => format!(
                "{} exit {code}: {}",
                escape(status),
                escape(
                    self.summary
                        .as_deref()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("")
                )
            ),
            _ => match &self.summary {
                Some(error) => format!("unreadable: {}", escape(error)),
                None => "none yet".to_owned(),
            },
        };
        text.push_str(&format!("result   {result}\n"));
        if self.last_lines.is_empty() {
            text.push_str("output   (none)\n");
        } else {
            text.push_str("output\n");
            for line in &self.last_lines {
                text.push_str(&format!("  {}\n", escape(line)));
            }
        }
        text
    }
}
