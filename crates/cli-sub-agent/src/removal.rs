//! Wiring the store's removal (`csa_session::remove`) into `csa session
//! delete` and `csa session clean`: the trash emptied first, the cooldown
//! markers and the list cache afterwards, and the reports drawn.

use csa_session::SessionsDir;
use csa_session::list_cache;
use csa_session::remove::{Action, Remover, Report, Survey};
use serde::Serialize;

use crate::pool::{self, Step};
use crate::term::escape;
use crate::ui::{Ui, chain};

/// One element of `--json` output.
#[derive(Serialize)]
struct ReportView<'a> {
    session_id: &'a str,
    action: &'static str,
    reason: String,
}

/// Finish what crashed removals left in the trash of these folders; a
/// failure is a warning, one per entry that stays (the session it concerns
/// is already gone from view; the next command retries).
pub fn empty_trash(ui: &Ui, remover: &Remover<'_>, dirs: &[SessionsDir]) {
    for dir in dirs {
        match remover.empty_trash(dir) {
            Ok(emptied) => {
                for err in &emptied.failed {
                    ui.warning(&chain(err));
                }
            }
            Err(err) => ui.warning(&chain(&err)),
        }
    }
}

/// Remove the surveyed sessions the policy lets go: the lock, re-check and
/// rename run on one thread per core, and each session in the trash is handed
/// to the I/O threads, which share fsyncs and wait on the disk freeing its
/// blocks (with `discard`, one request per file), so both overlap.
pub fn remove(remover: &Remover<'_>, surveys: Vec<Survey>) -> Vec<Report> {
    pool::two_stage(
        surveys,
        |survey| match remover.remove(survey) {
            report if report.is_trashed() => Step::HandOn(report),
            report => Step::Done(report),
        },
        |report| remover.finish(report),
    )
}

/// After removing: the cooldown markers of the reconciles done on the way,
/// the list-cache rows of removed sessions, and a warning for each session
/// that left `sessions/` but could not be removed from the trash.
pub fn finish(ui: &Ui, remover: &Remover<'_>, reports: &[Report]) {
    if let Err(err) = remover.flush_cooldown() {
        ui.warning(&chain(&err));
    }
    let removed: Vec<&str> = reports
        .iter()
        .filter(|r| r.action == Action::Deleted)
        .map(|r| r.session_id.as_str())
        .collect();
    list_cache::forget(&removed);
    for report in reports.iter().filter(|r| r.action == Action::Deleted) {
        if let Some(err) = &report.error {
            ui.warning(&format!(
                "session {} was removed, but {}",
                report.session_id,
                chain(err)
            ));
        }
    }
}

/// The reason a report gives; with `kill_hint`, an active session's says how
/// to stop it.
fn reason(report: &Report, kill_hint: bool) -> String {
    if kill_hint && report.is_kept_active() {
        format!(
            "{}; stop it with `csa session kill {}` first",
            report.reason, report.session_id
        )
    } else {
        report.reason.clone()
    }
}

/// Print one line per report (`<ULID> deleted`, `<ULID> would delete`,
/// `<ULID> kept: <why>`), or one JSON array.
pub fn print(ui: &Ui, reports: &[Report], json: bool, kill_hint: bool) -> anyhow::Result<()> {
    if json {
        let views: Vec<ReportView<'_>> = reports
            .iter()
            .map(|r| ReportView {
                session_id: r.session_id.as_str(),
                action: r.action.as_str(),
                reason: reason(r, kill_hint),
            })
            .collect();
        return ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&views)?));
    }
    let mut text = String::new();
    for r in reports {
        match r.action {
            Action::Kept => text.push_str(&format!(
                "{} kept: {}\n",
                r.session_id,
                escape(&reason(r, kill_hint))
            )),
            action => text.push_str(&format!("{} {}\n", r.session_id, action.as_str())),
        }
    }
    ui.stdout(&text)
}
