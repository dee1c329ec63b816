//! `csa session show <ID> [--json]`: everything about one session, after
//! reconciling it (trigger `session show`): its state, `[run]` table, family
//! (parent and children), pid records, liveness, the memory and CPU time of
//! its live process tree, its result, and at the end the size and the last
//! lines of each log.
//!
//! Text output escapes every value read from session files; `--json` prints
//! one object with exact values (docs/cli.md lists its keys).

use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use csa_process::{Existence, ProbeContext, Usage};
use csa_session::{Phase, SessionId, SessionLocation, SessionResult, SessionState, Trigger};
use serde::Serialize;

use crate::cli::ShowArgs;
use crate::context::{Context, Relatives};
use crate::json;
use crate::reconcile;
use crate::status::{LivenessView, Status};
use crate::term::{Palette, escape, human_duration, relative_age, status_style};
use crate::ui::{Ui, chain};

/// Width of the label column of the text output.
const LABEL_WIDTH: usize = 14;
/// How many of each log's last lines `show` prints.
const LOG_LINES: usize = 5;

pub fn run(args: &ShowArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project, ui)?;
    let loc = ctx.resolve(&args.session.id)?;
    // An unreadable state is the one error to report: nothing can be
    // reconciled or shown, and a warning from the reconcile would repeat it.
    csa_session::load_state(&loc.dir)?;
    let probe = ProbeContext::new();
    let report = reconcile::reconcile_one(ui, &loc, &probe, Trigger::SessionShow);
    let state = csa_session::load_state(&loc.dir)?.value;
    let active = state.phase() == Phase::Active;
    let liveness = match report.liveness {
        Some(liveness) if active => Some(liveness),
        _ if active => Some(csa_process::liveness(
            &loc.dir,
            loc.id.as_str(),
            &state.tool_names(),
            &probe,
        )),
        _ => None,
    };
    let children = children_of(&ctx, &loc.id)?;
    let view = SessionView::new(&loc, &state, liveness.as_ref(), children);
    if args.json {
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&view)?))?;
    } else {
        ui.stdout(&view.text(Utc::now(), ui.stdout_palette()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One session in full: the `--json` object, and what the text shows.
#[derive(Debug, Serialize)]
struct SessionView {
    session_id: String,
    status: Status,
    phase: Phase,
    description: Option<String>,
    tools: Vec<String>,
    branch: Option<String>,
    project_path: String,
    /// `[run] command`: CMD and its arguments.
    command: Option<Vec<String>>,
    /// `[run] cwd`.
    cwd: Option<String>,
    /// `[run] timeout_secs`.
    timeout_secs: Option<u64>,
    created_at: String,
    last_accessed: String,
    termination_reason: Option<String>,
    /// `completed_at - started_at` of the result, when the session has one.
    duration_seconds: Option<f64>,
    parent_session_id: Option<String>,
    children: Vec<String>,
    /// The daemon's pid (`daemon.pid`).
    pid: Option<u32>,
    /// The command's pid (`cmd.pid`).
    cmd_pid: Option<u32>,
    liveness: Option<LivenessView>,
    /// Resident memory of the live process tree.
    memory_bytes: Option<u64>,
    /// CPU time (user + system) of the live process tree.
    cpu_seconds: Option<f64>,
    /// `result.toml`, every key, as `csa session result --json` prints it.
    result: Option<serde_json::Value>,
    /// Why the result cannot be read, when it cannot.
    error: Option<String>,
    session_dir: String,
    /// `output.log`: its size and last lines.
    output_log: LogView,
    /// `stderr.log`: its size and last lines.
    stderr_log: LogView,
    #[serde(skip)]
    times: Times,
    #[serde(skip)]
    ended: Option<SessionResult>,
}

/// One log of the session: how big it is and how it ends.
#[derive(Debug, Serialize)]
struct LogView {
    /// Its size; `None` when there is no log.
    bytes: Option<u64>,
    /// Its last non-empty lines (at most [`LOG_LINES`]), oldest first.
    last_lines: Vec<String>,
}

impl LogView {
    fn of(path: &std::path::Path) -> LogView {
        let bytes = fs_err::metadata(path)
            .ok()
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len());
        let tail = csa_session::log_tail::log_tail(path, LOG_LINES);
        LogView {
            bytes,
            last_lines: tail.lines().map(str::to_owned).collect(),
        }
    }

    /// `<name>  <size>` and its last lines below, escaped.
    fn text(&self, name: &str, out: &mut Lines) {
        match self.bytes {
            Some(bytes) => out.line(name, &human_bytes(bytes)),
            None => out.line(name, "none"),
        }
        for line in &self.last_lines {
            out.line("", line);
        }
    }
}

/// The times the text shows with their ages.
#[derive(Debug, Clone, Copy)]
struct Times {
    created_at: DateTime<Utc>,
    last_accessed: DateTime<Utc>,
}

impl SessionView {
    fn new(
        loc: &SessionLocation,
        state: &SessionState,
        liveness: Option<&csa_process::Liveness>,
        children: Vec<String>,
    ) -> SessionView {
        let result = csa_session::load_result_if_any(&loc.dir);
        let (status, error) = match &result {
            Ok(result) => (Status::of(state.phase(), result.as_ref()), None),
            Err(err) => (Status::Error, Some(chain(err))),
        };
        let result = result.ok().flatten();
        let run = state.run();
        let daemon = csa_process::read_daemon_pid(&loc.dir).ok().flatten();
        let command = csa_process::read_cmd_pid(&loc.dir).ok().flatten();
        let usage = (state.phase() == Phase::Active)
            .then(|| live_tree_usage(daemon, command))
            .flatten();
        SessionView {
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
            created_at: csa_session::format_time(state.created_at()),
            last_accessed: csa_session::format_time(state.last_accessed()),
            termination_reason: state.termination_reason_text().map(str::to_owned),
            duration_seconds: result.as_ref().map(duration_seconds),
            parent_session_id: state.genealogy().parent_session_id,
            children,
            pid: daemon.map(|d| d.pid),
            cmd_pid: command.map(|c| c.pid),
            liveness: liveness.map(LivenessView::from),
            memory_bytes: usage.map(|u| u.rss_bytes),
            cpu_seconds: usage.map(|u| u.cpu_seconds),
            result: result.as_ref().map(|r| json::from_table(r.table())),
            error,
            session_dir: loc.dir.path().display().to_string(),
            output_log: LogView::of(&loc.dir.output_log()),
            stderr_log: LogView::of(&loc.dir.stderr_log()),
            times: Times {
                created_at: state.created_at(),
                last_accessed: state.last_accessed(),
            },
            ended: result,
        }
    }

    /// The text output: one `label value` line per fact; facts that do not
    /// apply (no `[run]` table, no result, not active) are left out.
    fn text(&self, now: DateTime<Utc>, palette: Palette) -> String {
        let mut out = Lines::default();
        out.line("session", &self.session_id);
        out.raw(
            "status",
            &palette.paint(status_style(self.status), self.status.as_str()),
        );
        out.line("phase", self.phase.as_str());
        out.line("description", self.description.as_deref().unwrap_or("-"));
        out.line("tools", &self.tools.join(", "));
        out.line("branch", self.branch.as_deref().unwrap_or("-"));
        out.line("project", &self.project_path);
        if let Some(command) = &self.command {
            out.line("command", &shell_words(command));
        }
        if let Some(cwd) = &self.cwd {
            out.line("cwd", cwd);
        }
        if let Some(secs) = self.timeout_secs {
            out.line("timeout", &format!("{secs} s"));
        }
        out.line("created", &with_age(self.times.created_at, now));
        out.line("last accessed", &with_age(self.times.last_accessed, now));
        if let Some(secs) = self.duration_seconds {
            out.line(
                "duration",
                &human_duration(std::time::Duration::from_secs_f64(secs)),
            );
        }
        if let Some(reason) = &self.termination_reason {
            out.line("termination", reason);
        }
        out.line(
            "parent",
            self.parent_session_id.as_deref().unwrap_or("none"),
        );
        let children = if self.children.is_empty() {
            "none".to_owned()
        } else {
            self.children.join(", ")
        };
        out.line("children", &children);
        out.line("daemon pid", &or_dash(self.pid));
        if let Some(pid) = self.cmd_pid {
            out.line("cmd pid", &pid.to_string());
        }
        if let Some(liveness) = &self.liveness {
            out.line("liveness", &liveness.verdict);
            for reason in &liveness.reasons {
                out.line("", reason);
            }
        }
        if let Some(bytes) = self.memory_bytes {
            out.line("memory", &human_bytes(bytes));
        }
        if let Some(secs) = self.cpu_seconds {
            out.line(
                "cpu time",
                &human_duration(std::time::Duration::from_secs_f64(secs.max(0.0))),
            );
        }
        match (&self.ended, &self.error) {
            (Some(result), _) => {
                out.line(
                    "result",
                    &format!("{} exit {}", result.status_text(), result.exit_code()),
                );
                let mut lines = result.summary().lines();
                out.line("summary", lines.next().unwrap_or(""));
                for line in lines {
                    out.line("", line);
                }
            }
            (None, Some(error)) => out.line("result", &format!("error: {error}")),
            (None, None) => out.line("result", "none yet"),
        }
        out.line("dir", &self.session_dir);
        self.output_log.text("output.log", &mut out);
        self.stderr_log.text("stderr.log", &mut out);
        out.text
    }
}

/// Text lines `label  value`, values escaped.
#[derive(Debug, Default)]
struct Lines {
    text: String,
}

impl Lines {
    /// A line whose value comes from session files: escaped.
    fn line(&mut self, label: &str, value: &str) {
        self.raw(label, &escape(value));
    }

    /// A line whose value is already safe (escaped, styled by csa).
    fn raw(&mut self, label: &str, value: &str) {
        self.text
            .push_str(&format!("{label:<LABEL_WIDTH$}{value}\n"));
    }
}

/// The ids of the project's sessions whose `[genealogy] parent_session_id`
/// names `parent`, newest first (`csa_session::genealogy::Family`).
fn children_of(ctx: &Context<'_>, parent: &SessionId) -> anyhow::Result<Vec<String>> {
    Ok(Relatives::read(ctx)?
        .children(parent)
        .into_iter()
        .map(|loc| loc.id.to_string())
        .collect())
}

/// Memory and CPU time of the trees of the daemon and the command, counting
/// only pids whose start time matches their record (a reused pid is another
/// program's). `None` when neither is verified or the platform cannot tell.
fn live_tree_usage(
    daemon: Option<csa_process::DaemonPid>,
    command: Option<csa_process::CmdPid>,
) -> Option<Usage> {
    let records = daemon.into_iter().chain(command.map(|c| c.as_pid_record()));
    let verified: Vec<u32> = records
        .filter(|record| {
            let facts = csa_process::facts::probe(record.pid);
            facts.existence == Existence::Exists
                && record.start_time_ticks.is_some()
                && facts.start_time_ticks == record.start_time_ticks
        })
        .map(|record| record.pid)
        .collect();
    if verified.is_empty() {
        return None;
    }
    csa_process::tree_usage(&verified)
}

fn duration_seconds(result: &SessionResult) -> f64 {
    let took = result.completed_at() - result.started_at();
    took.num_microseconds()
        .map_or(took.num_seconds() as f64, |us| us as f64 / 1e6)
        .max(0.0)
}

fn with_age(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        time.to_rfc3339_opts(SecondsFormat::Secs, true),
        relative_age(time, now)
    )
}

fn or_dash(value: Option<u32>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A command line as a shell would take it back: plain words as they are,
/// others in single quotes.
fn shell_words(words: &[String]) -> String {
    let plain = |word: &str| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    };
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            if plain(word) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

/// Bytes as `512 B`, `1.5 KiB`, `12.3 MiB`, `2.0 GiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_only_what_needs_it() {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(shell_words(&words(&["sleep", "10"])), "sleep 10");
        assert_eq!(
            shell_words(&words(&["sh", "-c", "echo hi; exit 3"])),
            "sh -c 'echo hi; exit 3'"
        );
        assert_eq!(shell_words(&words(&["it's", ""])), r"'it'\''s' ''");
    }

    #[test]
    fn byte_counts_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12_900_000), "12.3 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
