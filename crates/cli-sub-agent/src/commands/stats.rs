//! `csa session stats [--since DURATION] [--by-tool] [--json]`: what the
//! project's sessions add up to (contract §10: the `stats` of other csa
//! installs, from the data in the session files). The facts and the rollup
//! are `csa_session::stats`; this module parses, reads the sessions (one
//! thread per core) and draws.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use csa_session::stats::{Rollup, SessionFacts, Stats, roll_up};

pub use crate::args::StatsArgs;
use crate::context::Context;
use crate::pool::{self, Work};
use crate::term::{escape, human_duration};
use crate::ui::Ui;

pub fn run(args: &StatsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let sessions = ctx.sessions(args.all_projects)?;
    let now = Utc::now();
    let facts = pool::map(Work::Io, sessions, |loc| SessionFacts::read(&loc, now));
    let since = match args.since {
        Some(window) => Some(now - chrono::TimeDelta::from_std(window)?),
        None => None,
    };
    let stats = roll_up(&facts, since, args.by_tool, now);
    if args.json {
        ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&stats)?))?;
    } else {
        ui.stdout(&text(&stats))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The text of `stats`: the total, then each tool's (with `--by-tool`).
fn text(stats: &Stats) -> String {
    let mut out = String::new();
    match &stats.since {
        Some(since) => {
            let _ = writeln!(out, "sessions last accessed since {since}");
        }
        None => out.push_str("all sessions\n"),
    }
    rollup_lines(&mut out, &stats.total, "");
    for tool in stats.by_tool.iter().flatten() {
        let _ = writeln!(out, "\n{}", escape(&tool.tool));
        rollup_lines(&mut out, &tool.rollup, "  ");
    }
    out
}

/// One rollup as labelled lines, each starting with `indent`.
fn rollup_lines(out: &mut String, r: &Rollup, indent: &str) {
    let secs = |s: f64| human_duration(Duration::from_secs_f64(s.max(0.0)));
    let s = &r.status;
    let _ = writeln!(
        out,
        "{indent}sessions  {} ({} active, {} available, {} retired, {} failed, {} error)",
        r.sessions, s.active, s.available, s.retired, s.failed, s.error
    );
    let o = &r.outcome;
    let _ = writeln!(
        out,
        "{indent}outcome   {} success, {} failure, {} killed, {} timeout",
        o.success, o.failure, o.killed, o.timeout
    );
    match r.run_secs_mean {
        Some(mean) => {
            let _ = writeln!(
                out,
                "{indent}run time  {} total, {} mean over {} sessions",
                secs(r.run_secs_total),
                secs(mean),
                r.timed_sessions
            );
        }
        None => {
            let _ = writeln!(out, "{indent}run time  -");
        }
    }
    match r.idle_secs_max {
        Some(max) => {
            let _ = writeln!(
                out,
                "{indent}idle      {} total, {} longest, over {} active sessions",
                secs(r.idle_secs_total),
                secs(max),
                r.idle_sessions
            );
        }
        None => {
            let _ = writeln!(out, "{indent}idle      -");
        }
    }
    let t = &r.tokens;
    if t.sessions == 0 {
        let _ = writeln!(out, "{indent}tokens    - (no session records token usage)");
        return;
    }
    let _ = write!(
        out,
        "{indent}tokens    {} total ({} input, {} of them cached; {} output) in {} sessions",
        t.total, t.input, t.cached_input, t.output, t.sessions
    );
    if let Some(cost) = t.cost_usd {
        let _ = write!(out, "; est. ${cost:.4} in {} sessions", t.cost_sessions);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use csa_session::SessionStatus;
    use csa_session::stats::TokenUsage;

    #[test]
    fn the_text_has_one_labelled_line_per_fact_and_a_block_per_tool() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let facts = [
            SessionFacts {
                tool: "codex".into(),
                status: SessionStatus::Retired,
                outcome: Some(csa_session::Outcome::Success),
                last_accessed: Some(now),
                run_secs: Some(185.0),
                idle_secs: None,
                tokens: Some(TokenUsage {
                    input: 1000,
                    cached_input: 250,
                    output: 50,
                    total: 1050,
                    cost_usd: Some(0.125),
                }),
            },
            SessionFacts {
                tool: "gemini\u{1b}[2J".into(),
                status: SessionStatus::Active,
                outcome: None,
                last_accessed: Some(now),
                run_secs: Some(65.0),
                idle_secs: Some(40.0),
                tokens: None,
            },
        ];
        let stats = roll_up(&facts, None, true, now);
        // A tool name from a file is escaped (snapbox shows `\` as `/`).
        assert!(text(&stats).contains("\ngemini\\x1b[2J\n"));
        snapbox::assert_data_eq!(
            text(&stats),
            snapbox::str![[r#"
all sessions
sessions  2 (1 active, 0 available, 1 retired, 0 failed, 0 error)
outcome   1 success, 0 failure, 0 killed, 0 timeout
run time  4 min 10 s total, 2 min 05 s mean over 2 sessions
idle      40 s total, 40 s longest, over 1 active sessions
tokens    1050 total (1000 input, 250 of them cached; 50 output) in 1 sessions; est. $0.1250 in 1 sessions

codex
  sessions  1 (0 active, 0 available, 1 retired, 0 failed, 0 error)
  outcome   1 success, 0 failure, 0 killed, 0 timeout
  run time  3 min 05 s total, 3 min 05 s mean over 1 sessions
  idle      -
  tokens    1050 total (1000 input, 250 of them cached; 50 output) in 1 sessions; est. $0.1250 in 1 sessions

gemini/x1b[2J
  sessions  1 (1 active, 0 available, 0 retired, 0 failed, 0 error)
  outcome   0 success, 0 failure, 0 killed, 0 timeout
  run time  1 min 05 s total, 1 min 05 s mean over 1 sessions
  idle      40 s total, 40 s longest, over 1 active sessions
  tokens    - (no session records token usage)

"#]]
        );
    }
}
