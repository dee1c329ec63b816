//! `csa session is-alive <ID>... | --all [--json]`: each session's liveness
//! verdict and its evidence, after reconciling the session if its process is
//! dead. Exit 0 when every one is alive or unknown, 1 when one is dead.

use std::process::ExitCode;

use csa_process::Verdict;
use csa_session::{Phase, SessionLocation, Trigger};
use serde::Serialize;

use crate::cli::IsAliveArgs;
use crate::context::{Context, is_active};
use crate::reconcile::Reconciled;
use crate::term::escape;
use crate::ui::Ui;

/// What unknown means, said after an unknown verdict's evidence.
const UNKNOWN_NOTE: &str = "unknown is treated as alive: the session is not reconciled";

pub fn run(args: &IsAliveArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.sessions.project, ui)?;
    let sessions = ctx.select(&args.sessions, is_active)?;
    let several = args.sessions.several();
    let mut judged = Vec::with_capacity(sessions.len());
    let mut failed = false;
    for loc in &sessions {
        match judge(ui, loc) {
            Ok(one) => judged.push(one),
            Err(err) if several => {
                ui.error_line(&err);
                failed = true;
            }
            Err(err) => return Err(err),
        }
    }
    failed |= judged.iter().any(|j| j.verdict == Verdict::Dead);
    let out = match (args.json, several) {
        (true, false) => format!("{}\n", serde_json::to_string_pretty(&judged[0])?),
        (true, true) => format!("{}\n", serde_json::to_string_pretty(&judged)?),
        (false, false) => judged[0].text(false),
        (false, true) => judged.iter().map(|j| j.text(true)).collect(),
    };
    ui.stdout(&out)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One session's verdict and its evidence (also its `--json` object).
#[derive(Debug, Serialize)]
struct Judged {
    session_id: String,
    #[serde(serialize_with = "verdict_name")]
    verdict: Verdict,
    reasons: Vec<String>,
}

fn verdict_name<S: serde::Serializer>(verdict: &Verdict, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(verdict.as_str())
}

impl Judged {
    /// One session alone: the verdict on the first line, then its evidence.
    /// Among several: `<ULID> <verdict>`, the evidence indented.
    fn text(&self, with_id: bool) -> String {
        let (mut text, indent) = if with_id {
            (
                format!("{} {}\n", self.session_id, self.verdict.as_str()),
                "  ",
            )
        } else {
            (format!("{}\n", self.verdict.as_str()), "")
        };
        for reason in &self.reasons {
            text.push_str(&format!("{indent}{}\n", escape(reason)));
        }
        if self.verdict == Verdict::Unknown {
            text.push_str(&format!("{indent}{UNKNOWN_NOTE}\n"));
        }
        text
    }
}

/// The verdict of one session, after reconciling it: a retired session is
/// dead, with its termination reason first among the evidence.
fn judge(ui: &Ui, loc: &SessionLocation) -> anyhow::Result<Judged> {
    let reconciled = Reconciled::load(ui, loc, Trigger::SessionIsAlive)?;
    let state = &reconciled.state;
    let session_id = loc.id.to_string();
    if state.phase() == Phase::Retired {
        let reason = state
            .termination_reason_text()
            .unwrap_or("no termination reason");
        let mut reasons = vec![format!("session is retired ({reason})")];
        if let Some(liveness) = &reconciled.report.liveness {
            reasons.extend(liveness.reasons.iter().cloned());
        }
        return Ok(Judged {
            session_id,
            verdict: Verdict::Dead,
            reasons,
        });
    }
    let liveness = reconciled.liveness(loc);
    Ok(Judged {
        session_id,
        verdict: liveness.verdict,
        reasons: liveness.reasons,
    })
}
