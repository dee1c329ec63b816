//! `csa session show <ID>... | --all [--json]`: everything about sessions, each after
//! reconciling it (trigger `session show`): its state, `[run]` table, family
//! (parent and children), pid records, liveness, the memory and CPU time of
//! its live process tree, its result, and at the end the size and the last
//! lines of each log.
//!
//! Text output escapes every value read from session files; `--json` prints
//! one object with exact values (docs/cli.md lists its keys).

use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use csa_session::detail::LogView;
use csa_session::{Phase, SessionDetail, SessionId, SessionLocation, Trigger};

use crate::cli::ShowArgs;
use crate::context::{Context, Relatives};
use crate::reconcile::Reconciled;
use crate::term::{Palette, escape, human_duration, relative_age, status_style};
use crate::ui::Ui;

/// Width of the label column of the text output.
const LABEL_WIDTH: usize = 14;

pub fn run(args: &ShowArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.sessions.project, ui)?;
    let sessions = ctx.select(&args.sessions, |_| true)?;
    let now = Utc::now();
    if !args.sessions.several() {
        let detail = detail_of(&ctx, &sessions[0], now)?;
        print(ui, &detail, args.json, now)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Several: every session that can be shown, an error line for each that
    // cannot, and exit 1 if there was one.
    let mut details = Vec::with_capacity(sessions.len());
    let mut failed = false;
    for loc in &sessions {
        match detail_of(&ctx, loc, now) {
            Ok(detail) => details.push(detail),
            Err(err) => {
                ui.error_line(&err.context(format!("session {}", loc.id)));
                failed = true;
            }
        }
    }
    if args.json {
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&details)?))?;
    } else {
        let texts: Vec<String> = details
            .iter()
            .map(|detail| text(detail, now, ui.stdout_palette()))
            .collect();
        ui.stdout(&texts.join("\n"))?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One session's detail, after reconciling it.
fn detail_of(
    ctx: &Context<'_>,
    loc: &SessionLocation,
    now: DateTime<Utc>,
) -> anyhow::Result<SessionDetail> {
    let reconciled = Reconciled::load(ctx.ui, loc, Trigger::SessionShow)?;
    let state = &reconciled.state;
    let active = state.phase() == Phase::Active;
    let liveness = active.then(|| reconciled.liveness(loc));
    let children = children_of(ctx, &loc.id)?;
    let processes = csa_process::session_processes(&loc.dir, active);
    Ok(SessionDetail::build(
        loc,
        state,
        liveness.as_ref(),
        children,
        processes,
        now,
    ))
}

/// Draw `detail` on `ui`'s stdout: one JSON object, or the text with ages at `now`.
fn print(ui: &Ui, detail: &SessionDetail, json: bool, now: DateTime<Utc>) -> anyhow::Result<()> {
    if json {
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(detail)?))
    } else {
        ui.stdout(&text(detail, now, ui.stdout_palette()))
    }
}

/// The text output: one `label value` line per fact; facts that do not
/// apply (no `[run]` table, no result, not active) are left out.
pub(crate) fn text(detail: &SessionDetail, now: DateTime<Utc>, palette: Palette) -> String {
    let mut out = Lines::default();
    out.line("session", &detail.session_id);
    out.raw(
        "status",
        &palette.paint(status_style(detail.status), detail.status.as_str()),
    );
    out.line("phase", detail.phase.as_str());
    out.line("description", detail.description.as_deref().unwrap_or("-"));
    out.line("tools", &detail.tools.join(", "));
    out.line("branch", detail.branch.as_deref().unwrap_or("-"));
    out.line("project", &detail.project_path);
    if let Some(command) = &detail.command {
        out.line("command", &shell_words(command));
    }
    if let Some(cwd) = &detail.cwd {
        out.line("cwd", cwd);
    }
    if let Some(secs) = detail.timeout_secs {
        out.line("timeout", &format!("{secs} s"));
    }
    out.line("created", &with_age(detail.created_at, now));
    out.line("last accessed", &with_age(detail.last_accessed, now));
    if let Some(secs) = detail.duration_seconds {
        out.line(
            "duration",
            &human_duration(std::time::Duration::from_secs_f64(secs)),
        );
    }
    if let Some(reason) = &detail.termination_reason {
        out.line("termination", reason);
    }
    out.line(
        "parent",
        detail.parent_session_id.as_deref().unwrap_or("none"),
    );
    let children = if detail.children.is_empty() {
        "none".to_owned()
    } else {
        detail.children.join(", ")
    };
    out.line("children", &children);
    out.line("daemon pid", &or_dash(detail.processes.pid));
    if let Some(pid) = detail.processes.cmd_pid {
        out.line("cmd pid", &pid.to_string());
    }
    if let Some(liveness) = &detail.liveness {
        out.line("liveness", liveness.verdict.as_str());
        for reason in &liveness.reasons {
            out.line("", reason);
        }
    }
    if let Some(bytes) = detail.processes.memory_bytes {
        out.line("memory", &human_bytes(bytes));
    }
    if let Some(secs) = detail.processes.cpu_seconds {
        out.line(
            "cpu time",
            &human_duration(std::time::Duration::from_secs_f64(secs.max(0.0))),
        );
    }
    match (&detail.result, &detail.error) {
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
    out.line("dir", &detail.session_dir);
    log_text(&detail.output_log, "output.log", &mut out);
    log_text(&detail.stderr_log, "stderr.log", &mut out);
    out.text
}

/// `<name>  <size>` and the log's last lines below, escaped.
fn log_text(log: &LogView, name: &str, out: &mut Lines) {
    let size = log.bytes.map_or_else(|| "none".to_owned(), human_bytes);
    match &log.rotated {
        Some(rotated) => out.line(
            name,
            &format!(
                "{size} (rotated at {}; {name}.1 {})",
                rotated.at.as_deref().unwrap_or("an unknown time"),
                human_bytes(rotated.bytes)
            ),
        ),
        None => out.line(name, &size),
    }
    for line in &log.last_lines {
        out.line("", line);
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
    use csa_session::detail::{LogView, Processes, Rotated};
    use csa_session::{LivenessView, Outcome, ResultStatus, SessionResult, SessionStatus, Verdict};
    use snapbox::{IntoData as _, assert_data_eq, str};

    use super::*;
    use crate::ui::Facts;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    /// A session that ran `sh -c 'echo hi; exit 3'` as a child of another.
    fn ended() -> SessionDetail {
        let started = at("2026-11-26T11:00:00Z");
        let ended = at("2026-11-26T11:02:05Z");
        let result = SessionResult::new(
            &ResultStatus::Failure,
            3,
            "fatal: worker 4 crashed\nsecond line \x1b[2J",
            "demo",
            started,
            ended,
        );
        SessionDetail {
            session_id: "01KAZ9X3M2QAAAAAAAAAAAAAAA".into(),
            status: SessionStatus::Failed,
            phase: Phase::Retired,
            description: Some("fix the \u{202e}build".into()),
            tools: vec!["demo".into(), "codex".into()],
            branch: None,
            project_path: "/work/p".into(),
            command: Some(vec!["sh".into(), "-c".into(), "echo hi; exit 3".into()]),
            cwd: Some("/work/p".into()),
            timeout_secs: Some(900),
            created_at: started,
            last_accessed: ended,
            termination_reason: Some("completed".into()),
            duration_seconds: Some(125.0),
            started_at: started,
            ended_at: Some(ended),
            elapsed_secs: Some(125.0),
            exit_code: Some(3),
            outcome: Some(Outcome::Failure),
            parent_session_id: Some("01KAZ9W1AAAAAAAAAAAAAAAAAA".into()),
            children: vec![],
            processes: Processes {
                pid: Some(4242),
                ..Processes::default()
            },
            liveness: None,
            result: Some(result),
            error: None,
            session_dir: "/state/work/p/sessions/01KAZ9X3M2QAAAAAAAAAAAAAAA".into(),
            output_log: LogView {
                bytes: Some(1536),
                last_lines: vec!["hi".into()],
                rotated: Some(Rotated {
                    at: Some("2026-11-26T11:01:00Z".into()),
                    bytes: 1 << 20,
                }),
            },
            stderr_log: LogView {
                bytes: None,
                last_lines: vec![],
                rotated: None,
            },
        }
    }

    #[test]
    fn the_text_of_an_ended_session_is_pinned() {
        let (ui, captured) = Ui::capture(Facts::PLAIN);
        print(&ui, &ended(), false, at("2026-11-26T12:00:00Z")).expect("a buffer takes it");
        assert_data_eq!(
            captured.stdout().raw(),
            str![[r#"
session       01KAZ9X3M2QAAAAAAAAAAAAAAA
status        Failed
phase         retired
description   fix the \u{202e}build
tools         demo, codex
branch        -
project       /work/p
command       sh -c 'echo hi; exit 3'
cwd           /work/p
timeout       900 s
created       2026-11-26T11:00:00Z (1 h ago)
last accessed 2026-11-26T11:02:05Z (57 min ago)
duration      2 min 05 s
termination   completed
parent        01KAZ9W1AAAAAAAAAAAAAAAAAA
children      none
daemon pid    4242
result        failure exit 3
summary       fatal: worker 4 crashed
              second line \x1b[2J
dir           /state/work/p/sessions/01KAZ9X3M2QAAAAAAAAAAAAAAA
output.log    1.5 KiB (rotated at 2026-11-26T11:01:00Z; output.log.1 1.0 MiB)
              hi
stderr.log    none

"#]]
            .raw()
        );
        assert_eq!(captured.stderr(), "");
    }

    #[test]
    fn the_text_of_an_active_session_is_pinned() {
        let mut detail = ended();
        detail.status = SessionStatus::Active;
        detail.phase = Phase::Active;
        (
            detail.result,
            detail.termination_reason,
            detail.duration_seconds,
        ) = (None, None, None);
        detail.processes = Processes {
            pid: Some(4242),
            cmd_pid: Some(4243),
            memory_bytes: Some(12_900_000),
            cpu_seconds: Some(65.5),
        };
        detail.liveness = Some(LivenessView {
            verdict: Verdict::Alive,
            reasons: vec!["daemon.pid 4242 is alive".into(), "lock held".into()],
        });
        let (ui, captured) = Ui::capture(Facts::PLAIN);
        print(&ui, &detail, false, at("2026-11-26T12:00:00Z")).expect("a buffer takes it");
        assert_data_eq!(
            captured.stdout().raw(),
            str![[r#"
session       01KAZ9X3M2QAAAAAAAAAAAAAAA
status        Active
phase         active
description   fix the \u{202e}build
tools         demo, codex
branch        -
project       /work/p
command       sh -c 'echo hi; exit 3'
cwd           /work/p
timeout       900 s
created       2026-11-26T11:00:00Z (1 h ago)
last accessed 2026-11-26T11:02:05Z (57 min ago)
parent        01KAZ9W1AAAAAAAAAAAAAAAAAA
children      none
daemon pid    4242
cmd pid       4243
liveness      alive
              daemon.pid 4242 is alive
              lock held
memory        12.3 MiB
cpu time      1 min 05 s
result        none yet
dir           /state/work/p/sessions/01KAZ9X3M2QAAAAAAAAAAAAAAA
output.log    1.5 KiB (rotated at 2026-11-26T11:01:00Z; output.log.1 1.0 MiB)
              hi
stderr.log    none

"#]]
            .raw()
        );
    }

    #[test]
    fn the_json_of_a_detail_names_every_documented_key() {
        let (ui, captured) = Ui::capture(Facts::PLAIN);
        print(&ui, &ended(), true, at("2026-11-26T12:00:00Z")).expect("a buffer takes it");
        let json: serde_json::Value =
            serde_json::from_str(&captured.stdout()).expect("one JSON object");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_data_eq!(
            keys.join(" ").raw(),
            str![
                "branch children cmd_pid command cpu_seconds created_at cwd description duration_seconds elapsed_secs ended_at error exit_code last_accessed liveness memory_bytes outcome output_log parent_session_id phase pid project_path result session_dir session_id started_at status stderr_log termination_reason timeout_secs tools"
            ]
        );
        assert_eq!(json["result"]["exit_code"], 3);
        assert_eq!(json["outcome"], "failure");
        assert_eq!(json["started_at"], "2026-11-26T11:00:00Z");
    }

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
