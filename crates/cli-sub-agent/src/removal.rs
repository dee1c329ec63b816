//! Wiring the store's removal (`csa_session::remove`) into `csa session
//! delete` and `csa session clean`: the trash emptied first, the cooldown
//! markers and the list cache afterwards, and the reports drawn.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use csa_session::list_cache;
use csa_session::remove::{Action, Keep, Remover, Report, Survey};
use csa_session::{SessionId, SessionsDir};
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

/// How the reports are drawn.
#[derive(Debug, Clone, Copy)]
pub struct Printing {
    /// One JSON array (every report, kept ones included).
    pub json: bool,
    /// An active session's reason says how to stop it (`delete`).
    pub kill_hint: bool,
    /// Text lists each kept session (`delete` always, `clean` with `-v`).
    pub list_kept: bool,
    /// Nothing was removed: the summary says what would be.
    pub dry_run: bool,
}

/// Print one line per removed (or would-remove) session (`<ULID> deleted`,
/// `<ULID> would delete`) and each kept one (`<ULID> kept: <why>`) when
/// asked for, then the summary line on stderr; or one JSON array of every
/// report.
pub fn print(
    ui: &Ui,
    reports: &[Report],
    sizes: &HashMap<SessionId, u64>,
    how: Printing,
) -> anyhow::Result<()> {
    if how.json {
        let views: Vec<ReportView<'_>> = reports
            .iter()
            .map(|r| ReportView {
                session_id: r.session_id.as_str(),
                action: r.action.as_str(),
                reason: reason(r, how.kill_hint),
            })
            .collect();
        return ui.stdout(&format!("{}\n", serde_json::to_string_pretty(&views)?));
    }
    let mut text = String::new();
    for r in reports {
        match r.action {
            Action::Kept if how.list_kept => text.push_str(&format!(
                "{} kept: {}\n",
                r.session_id,
                escape(&reason(r, how.kill_hint))
            )),
            Action::Kept => {}
            action => text.push_str(&format!("{} {}\n", r.session_id, action.as_str())),
        }
    }
    ui.stdout(&text)?;
    // On stderr: stdout keeps one line per session (contract 8.6) for scripts.
    ui.stderr(&format!("{}\n", summary(reports, sizes, how.dry_run)));
    Ok(())
}

/// The bytes each surveyed session dir holds, read before anything is
/// removed (for the summary line), on every core: a sequential walk on the
/// main thread made `clean` of 10,000 sessions 19% slower. Symlinks are
/// counted, never followed.
pub fn sizes(surveys: &[Survey]) -> HashMap<SessionId, u64> {
    crate::pool::map(crate::pool::Work::Cpu, surveys.iter().collect(), |survey| {
        (survey.loc.id.clone(), dir_bytes(survey.loc.dir.path()))
    })
    .into_iter()
    .collect()
}

/// The size of the files under `dir` (what `du --apparent-size` counts),
/// without following a symlink or crossing into what cannot be read. Kinds
/// come from the listing and sizes from a stat relative to the open folder,
/// so a session costs one stat per file, not a path walk per entry.
fn dir_bytes(dir: &Path) -> u64 {
    match fs_err::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(meta) => return meta.len(),
        Err(_) => return 0,
    }
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(entry.path()),
                Ok(_) => {
                    let len = entry.metadata().map_or(0, |meta| meta.len());
                    total = total.saturating_add(len);
                }
                Err(_) => {}
            }
        }
    }
    total
}

/// `removed 12 sessions (34 MiB); kept 3: 2 active, 1 lock held` (with
/// `--dry-run`, `would remove ...`): what left and, counted by reason, what
/// stayed.
pub fn summary(reports: &[Report], sizes: &HashMap<SessionId, u64>, dry_run: bool) -> String {
    let removed: Vec<&Report> = reports
        .iter()
        .filter(|r| r.action != Action::Kept)
        .collect();
    let bytes: u64 = removed
        .iter()
        .filter_map(|r| sizes.get(&r.session_id))
        .sum();
    let mut kept: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in reports.iter().filter(|r| r.action == Action::Kept) {
        *kept.entry(kept_label(r)).or_default() += 1;
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    let count = removed.len();
    let sessions = if count == 1 { "session" } else { "sessions" };
    let mut line = format!("{verb} {count} {sessions} ({})", human_bytes(bytes));
    let total_kept: usize = kept.values().sum();
    if total_kept == 0 {
        line.push_str("; kept none");
        return line;
    }
    let mut reasons: Vec<(&str, usize)> = kept.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(label, n)| format!("{n} {label}"))
        .collect();
    line.push_str(&format!("; kept {total_kept}: {}", reasons.join(", ")));
    line
}

/// Why a session was kept, in a few words the summary counts by.
fn kept_label(report: &Report) -> &'static str {
    if report.error.is_some() {
        return "error";
    }
    match &report.keep {
        Some(Keep::Active(_)) => "active",
        Some(Keep::StillRunning) => "still running",
        Some(Keep::Unconfirmed) => "unconfirmed",
        Some(Keep::Available) => "available",
        Some(Keep::Initializing) => "being created",
        Some(Keep::Gone) => "gone",
        Some(Keep::Locked) => "busy",
        Some(Keep::ToolLockHeld(_)) => "lock held",
        Some(Keep::LocksUnreadable(_)) => "locks unreadable",
        Some(Keep::NotADirectory) => "not a folder",
        Some(Keep::MountInside(_)) => "mount inside",
        Some(Keep::NotSelected(_)) => "not selected",
        Some(Keep::Recent { .. }) => "recent",
        Some(Keep::InTheFuture) => "in the future",
        Some(Keep::AgeUnknown) => "age unknown",
        Some(Keep::Newest { .. }) => "newest",
        None => "kept",
    }
}

/// A size with a binary unit: `0 B`, `512 B`, `1.5 KiB`, `34 MiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_a_binary_unit() {
        let cases = [
            (0, "0 B"),
            (512, "512 B"),
            (1536, "1.5 KiB"),
            (34 * 1024 * 1024, "34 MiB"),
            (5 * 1024 * 1024 * 1024, "5.0 GiB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(human_bytes(bytes), text, "{bytes}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_session_dirs_size_counts_nested_files_and_never_follows_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs_err::write(&outside, vec![b'x'; 10_000]).unwrap();
        let dir = tmp.path().join("01J0000000000000000000000A");
        fs_err::create_dir_all(dir.join("locks/deeper")).unwrap();
        fs_err::write(dir.join("state.toml"), vec![b's'; 100]).unwrap();
        fs_err::write(dir.join("locks/codex.lock"), vec![b'l'; 20]).unwrap();
        fs_err::write(dir.join("locks/deeper/f"), vec![b'f'; 3]).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let link_len = fs_err::symlink_metadata(&link).unwrap().len();
        assert_eq!(dir_bytes(&dir), 123 + link_len);
        // A session "dir" that is a link is the link, not what it names.
        let dir_link = tmp.path().join("01J0000000000000000000000B");
        std::os::unix::fs::symlink(&dir, &dir_link).unwrap();
        let own_len = fs_err::symlink_metadata(&dir_link).unwrap().len();
        assert_eq!(dir_bytes(&dir_link), own_len);
        assert_eq!(dir_bytes(&tmp.path().join("missing")), 0);
    }
}
