//! The liveness verdict: a pure function of the gathered [`Evidence`].
//!
//! Declaring a live process dead is the costliest mistake, so only positive
//! evidence of death for every pid record gives `Dead`; anything missing or
//! unreadable gives `Unknown`, which callers treat as alive.

use std::time::{Duration, SystemTime};

pub use csa_session::liveness::{Liveness, Verdict};

use crate::consts::{LEGACY_LOCK_WINDOW, PROGRESS_WINDOW};
use crate::evidence::{CMD_PID_LABEL, DAEMON_PID_LABEL, Evidence, PidEvidence, RecordEvidence};
use crate::facts::{Existence, ProcState};

fn age(now: SystemTime, then: SystemTime) -> Duration {
    // A time in the future counts as age zero (recent).
    now.duration_since(then).unwrap_or(Duration::ZERO)
}

/// Judge one pid record. `lock_mtime` is set for lock files (legacy 60 s rule).
fn judge_record(
    label: &str,
    rec: &PidEvidence,
    ev: &Evidence,
    lock_mtime: Option<SystemTime>,
) -> (Verdict, String) {
    let pid = rec.pid;
    if let Some(host) = &rec.origin.hostname
        && ev.this_host.as_ref() != Some(host)
    {
        let here = ev.this_host.as_deref().unwrap_or("an unknown host");
        return (
            Verdict::Unknown,
            format!("{label}: pid {pid} was recorded on host {host}, this is {here}"),
        );
    }
    if let (Some(boot), Some(this_boot)) = (&rec.origin.boot_id, &ev.this_boot)
        && boot != this_boot
    {
        return (
            Verdict::Dead,
            format!(
                "{label}: pid {pid} was recorded before this machine restarted (boot id {boot})"
            ),
        );
    }
    if let (Some(ns), Some(this_ns)) = (&rec.origin.pid_namespace, &ev.this_pid_namespace)
        && ns != this_ns
    {
        return (
            Verdict::Unknown,
            format!(
                "{label}: pid {pid} was recorded in pid namespace {ns}, this is {this_ns}; its process cannot be seen from here"
            ),
        );
    }
    if !ev.pids_visible {
        return (
            Verdict::Unknown,
            format!(
                "{label}: pid {pid} cannot be judged: /proc of this pid namespace is not readable here, so the process table seen may not be the one it was recorded in"
            ),
        );
    }
    let Some(facts) = &rec.facts else {
        return (
            Verdict::Unknown,
            format!("{label}: pid {pid} was not probed"),
        );
    };
    match facts.existence {
        Existence::Missing => {
            return (Verdict::Dead, format!("{label}: pid {pid} does not exist"));
        }
        Existence::Unknown => {
            return (
                Verdict::Unknown,
                format!("{label}: cannot tell whether pid {pid} exists on this platform"),
            );
        }
        Existence::Exists => {}
    }
    if let (Some(recorded), Some(actual)) = (rec.start_time_ticks, facts.start_time_ticks)
        && recorded != actual
    {
        return (
            Verdict::Dead,
            format!(
                "{label}: pid {pid} was reused by another process (start time {actual} != recorded {recorded})"
            ),
        );
    }
    match facts.state {
        ProcState::Dead => return (Verdict::Dead, format!("{label}: pid {pid} is dead")),
        ProcState::Zombie => {
            return match rec.group_live {
                Some(true) => (
                    Verdict::Alive,
                    format!(
                        "{label}: pid {pid} is a zombie but its process group has live members"
                    ),
                ),
                Some(false) => (
                    Verdict::Dead,
                    format!("{label}: pid {pid} is a zombie with no live process-group members"),
                ),
                None => (
                    Verdict::Unknown,
                    format!("{label}: pid {pid} is a zombie; its process group cannot be read"),
                ),
            };
        }
        ProcState::Running | ProcState::Unknown => {}
    }
    if rec.start_time_ticks.is_some() {
        return match facts.start_time_ticks {
            Some(ticks) => (
                Verdict::Alive,
                format!("{label}: pid {pid} is running with the recorded start time {ticks}"),
            ),
            None => (
                Verdict::Unknown,
                format!("{label}: pid {pid} exists but its start time cannot be read"),
            ),
        };
    }
    // A legacy record: no start time to compare.
    if rec.cmdline_matches == Some(true) {
        return (
            Verdict::Alive,
            format!("{label}: pid {pid} exists and its command line names the session or tool"),
        );
    }
    if let Some(mtime) = lock_mtime
        && age(ev.now, mtime) < LEGACY_LOCK_WINDOW
    {
        return (
            Verdict::Alive,
            format!(
                "{label}: pid {pid} exists and the lock was written {}s ago",
                age(ev.now, mtime).as_secs()
            ),
        );
    }
    match rec.cmdline_matches {
        Some(_) => {
            let lock_note = match lock_mtime {
                Some(mtime) => format!(", and the lock is {}s old", age(ev.now, mtime).as_secs()),
                None => String::new(),
            };
            (
                Verdict::Dead,
                format!(
                    "{label}: pid {pid} exists but its command line mentions neither the session nor the tool{lock_note}"
                ),
            )
        }
        None => (
            Verdict::Unknown,
            format!("{label}: pid {pid} exists but its command line cannot be read"),
        ),
    }
}

/// Running totals over the pid records of one session.
#[derive(Default)]
struct Tally {
    reasons: Vec<String>,
    any_alive: bool,
    any_unknown: bool,
    records: usize,
}

impl Tally {
    fn note(
        &mut self,
        ev: &Evidence,
        label: &str,
        record: &RecordEvidence,
        mtime: Option<SystemTime>,
    ) {
        match record {
            RecordEvidence::Absent => {}
            RecordEvidence::Malformed { reason } => {
                self.records += 1;
                self.any_unknown = true;
                self.reasons.push(format!("{label}: {reason}"));
            }
            RecordEvidence::Record(rec) => {
                self.records += 1;
                let (v, why) = judge_record(label, rec, ev, mtime);
                self.any_alive |= v == Verdict::Alive;
                self.any_unknown |= v == Verdict::Unknown;
                self.reasons.push(why);
            }
        }
    }
}

/// Decide alive / dead / unknown from the evidence.
pub fn verdict(ev: &Evidence) -> Liveness {
    let mut tally = Tally::default();
    tally.note(ev, DAEMON_PID_LABEL, &ev.daemon_pid, None);
    tally.note(ev, CMD_PID_LABEL, &ev.cmd_pid, None);
    let mut any_held = false;
    for lock in &ev.locks {
        if lock.held == Some(true) {
            any_held = true;
            tally.reasons.push(format!("{}: flock is held", lock.name));
        }
        tally.note(ev, &lock.name, &lock.record, lock.modified);
        if lock.held == Some(false) && lock.record == RecordEvidence::Absent {
            // An empty, unheld lock file names no process: it is no record at all.
            tally
                .reasons
                .push(format!("{}: empty and not held", lock.name));
        }
    }
    let Tally {
        mut reasons,
        any_alive,
        any_unknown,
        records,
    } = tally;
    let recent: Vec<String> = ev
        .progress
        .iter()
        .filter(|(_, mtime)| age(ev.now, *mtime) < PROGRESS_WINDOW)
        .map(|(name, mtime)| format!("{name} modified {}s ago", age(ev.now, *mtime).as_secs()))
        .collect();
    let liveness = |verdict, reasons, blocked_by_progress| Liveness {
        verdict,
        reasons,
        blocked_by_progress,
    };
    if any_held || any_alive {
        return liveness(Verdict::Alive, reasons, false);
    }
    if !recent.is_empty() {
        reasons.push(format!("recent progress: {}", recent.join(", ")));
        return liveness(Verdict::Alive, reasons, true);
    }
    if any_unknown {
        return liveness(Verdict::Unknown, reasons, false);
    }
    if records == 0 {
        reasons
            .push("no pid record (no daemon.pid, no cmd.pid and no lock file naming a pid)".into());
        return liveness(Verdict::Unknown, reasons, false);
    }
    liveness(Verdict::Dead, reasons, false)
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
