//! Resource usage of a live session's process tree (contract §8.5).
//!
//! `csa session show` calls [`session_processes`], which reads the pid
//! records and calls [`tree_usage`] with the daemon's and the command's
//! verified pids. Linux adds up one `/proc` snapshot; elsewhere the answer is
//! `None` (not known), never zero.

use serde::Serialize;

use csa_session::{Processes, SessionDir};

use crate::facts::Existence;
use crate::proctable::{self, ProcTable};
use crate::record::{CmdPid, DaemonPid};

/// Resident memory and CPU time of a process tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    /// Resident set size, summed over the live processes of the tree.
    pub rss_bytes: u64,
    /// User + system CPU time of the processes of the tree, including the
    /// children they have already waited for.
    pub cpu_seconds: f64,
}

/// The usage of `roots` and all their descendants, each process counted once.
/// `None` where the process table cannot be read, or when none of the roots
/// exists.
pub fn tree_usage(roots: &[u32]) -> Option<Usage> {
    let table = proctable::snapshot()?;
    let units = platform::units()?;
    usage_in(&table, roots, units)
}

/// What `show` knows of a session's processes: its pid records, and when
/// `running` (phase active) the usage of the trees of the daemon and the
/// command, counting only pids whose start time matches their record (a
/// reused pid is another program's).
pub fn session_processes(session: &SessionDir, running: bool) -> Processes {
    let daemon = crate::record::read_daemon_pid(session).ok().flatten();
    let command = crate::record::read_cmd_pid(session).ok().flatten();
    let usage = running.then(|| live_tree_usage(daemon, command)).flatten();
    Processes {
        pid: daemon.map(|d| d.pid),
        cmd_pid: command.map(|c| c.pid),
        memory_bytes: usage.map(|u| u.rss_bytes),
        cpu_seconds: usage.map(|u| u.cpu_seconds),
    }
}

/// The pids of the daemon and the command whose start time matches their
/// record (a reused pid is another program's, and is not counted).
pub(crate) fn verified_roots(daemon: Option<DaemonPid>, command: Option<CmdPid>) -> Vec<u32> {
    daemon
        .into_iter()
        .chain(command.map(|c| c.as_pid_record()))
        .filter(|record| {
            let facts = crate::facts::probe(record.pid);
            facts.existence == Existence::Exists
                && record.start_time_ticks.is_some()
                && facts.start_time_ticks == record.start_time_ticks
        })
        .map(|record| record.pid)
        .collect()
}

/// The usage of the verified trees of the daemon and the command; `None`
/// when neither is verified or the platform cannot tell.
fn live_tree_usage(daemon: Option<DaemonPid>, command: Option<CmdPid>) -> Option<Usage> {
    let verified = verified_roots(daemon, command);
    if verified.is_empty() {
        return None;
    }
    tree_usage(&verified)
}

/// The usage of each tree (its roots and all their descendants) from one
/// snapshot of the process table, in the order given: `None` for a tree
/// none of whose roots exists; all `None` where the table cannot be read.
pub fn trees_usage<'r>(trees: impl ExactSizeIterator<Item = &'r [u32]>) -> Vec<Option<Usage>> {
    let count = trees.len();
    let (Some(table), Some(units)) = (proctable::snapshot(), platform::units()) else {
        return vec![None; count];
    };
    trees.map(|roots| usage_in(&table, roots, units)).collect()
}

/// Bytes per page and clock ticks per second.
#[derive(Debug, Clone, Copy)]
struct Units {
    page_bytes: u64,
    ticks_per_second: u64,
}

fn usage_in(table: &ProcTable, roots: &[u32], units: Units) -> Option<Usage> {
    let mut members: Vec<u32> = roots
        .iter()
        .copied()
        .filter(|pid| table.get(*pid).is_some())
        .collect();
    if members.is_empty() {
        return None;
    }
    for root in members.clone() {
        members.extend(table.descendants_of(root, |_| false).iter().map(|p| p.pid));
    }
    members.sort_unstable();
    members.dedup();
    let (mut pages, mut ticks) = (0u64, 0u64);
    for pid in members {
        if let Some(cost) = table.cost(pid) {
            pages = pages.saturating_add(cost.rss_pages);
            ticks = ticks.saturating_add(cost.cpu_ticks);
        }
    }
    Some(Usage {
        rss_bytes: pages.saturating_mul(units.page_bytes),
        cpu_seconds: ticks as f64 / units.ticks_per_second.max(1) as f64,
    })
}

#[cfg(target_os = "linux")]
mod platform {
    use super::Units;

    pub fn units() -> Option<Units> {
        Some(Units {
            page_bytes: u64::try_from(rustix::param::page_size()).ok()?,
            ticks_per_second: rustix::param::clock_ticks_per_second(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::Units;

    pub fn units() -> Option<Units> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ProcState;
    use crate::proctable::{Cost, ProcInfo};

    fn entry(pid: u32, ppid: u32, cpu_ticks: u64, rss_pages: u64) -> (ProcInfo, Cost) {
        let info = ProcInfo {
            pid,
            ppid,
            pgid: pid as i32,
            sid: 1,
            start_time_ticks: 1,
            state: ProcState::Running,
        };
        (
            info,
            Cost {
                cpu_ticks,
                rss_pages,
            },
        )
    }

    #[test]
    fn descendants_are_added_once_and_strangers_not_at_all() {
        let table = ProcTable::build([
            entry(10, 1, 100, 2),
            entry(11, 10, 50, 3),
            entry(12, 11, 25, 5),
            entry(99, 1, 1000, 1000),
        ]);
        let units = Units {
            page_bytes: 4096,
            ticks_per_second: 100,
        };
        // 11 is both a root and a descendant of 10: counted once.
        let usage = usage_in(&table, &[10, 11], units).unwrap();
        assert_eq!(usage.rss_bytes, 10 * 4096);
        assert!((usage.cpu_seconds - 1.75).abs() < 1e-9, "{usage:?}");
        assert_eq!(usage_in(&table, &[4242], units), None);
    }
}
