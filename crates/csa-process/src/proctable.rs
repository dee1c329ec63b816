//! One snapshot of the process table: who is whose parent, which group each
//! process is in, and what it uses.
//!
//! The supervisor ([`crate::supervise`]) walks it to find every descendant
//! still running; [`crate::stop`] to find the live members of a process group;
//! [`crate::usage`] to add up a process tree. Linux reads `/proc` once per
//! snapshot; elsewhere there is no snapshot (`None`), and callers fall back to
//! what they can do without one. A snapshot is a moment: processes fork and
//! exit while it is read, so callers that must see everything repeat it.

use std::collections::HashMap;

use serde::Serialize;

use crate::facts::ProcState;

/// One process of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcInfo {
    pub pid: u32,
    /// The parent at the time of the snapshot (0 for the kernel's own roots).
    pub ppid: u32,
    pub pgid: i32,
    /// The session (`getsid`).
    pub sid: i32,
    pub start_time_ticks: u64,
    pub state: ProcState,
}

impl ProcInfo {
    /// Not a zombie and not dead: a process that can still run.
    pub fn is_live(&self) -> bool {
        matches!(self.state, ProcState::Running | ProcState::Unknown)
    }
}

/// What a process has used, as far as one snapshot tells.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    /// User + system time, its own and that of children it waited for, in ticks.
    pub cpu_ticks: u64,
    pub rss_pages: u64,
}

/// A snapshot of the process table.
#[derive(Debug, Clone, Default)]
pub struct ProcTable {
    procs: Vec<(ProcInfo, Cost)>,
    by_pid: HashMap<u32, usize>,
    children: HashMap<u32, Vec<usize>>,
}

impl ProcTable {
    /// A table of these processes (for tests and tools).
    pub fn from_infos(infos: impl IntoIterator<Item = ProcInfo>) -> ProcTable {
        ProcTable::build(infos.into_iter().map(|info| (info, Cost::default())))
    }

    pub(crate) fn build(procs: impl IntoIterator<Item = (ProcInfo, Cost)>) -> ProcTable {
        let procs: Vec<(ProcInfo, Cost)> = procs.into_iter().collect();
        let mut by_pid = HashMap::with_capacity(procs.len());
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        for (index, (info, _)) in procs.iter().enumerate() {
            by_pid.insert(info.pid, index);
            if info.ppid != info.pid {
                children.entry(info.ppid).or_default().push(index);
            }
        }
        ProcTable {
            procs,
            by_pid,
            children,
        }
    }

    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.by_pid.get(&pid).map(|index| &self.procs[*index].0)
    }

    pub(crate) fn cost(&self, pid: u32) -> Option<Cost> {
        self.by_pid.get(&pid).map(|index| self.procs[*index].1)
    }

    /// Every process of the table.
    pub fn iter(&self) -> impl Iterator<Item = &ProcInfo> {
        self.procs.iter().map(|(info, _)| info)
    }

    /// The descendants of `root` (not `root` itself), parents before their
    /// children. A descendant for which `prune` is true is left out together
    /// with its whole subtree.
    pub fn descendants_of(
        &self,
        root: u32,
        mut prune: impl FnMut(&ProcInfo) -> bool,
    ) -> Vec<ProcInfo> {
        let mut found = Vec::new();
        let mut queue = std::collections::VecDeque::from([root]);
        let mut seen = std::collections::HashSet::from([root]);
        while let Some(parent) = queue.pop_front() {
            for index in self.children.get(&parent).into_iter().flatten() {
                let info = self.procs[*index].0;
                if !seen.insert(info.pid) || prune(&info) {
                    continue;
                }
                found.push(info);
                queue.push_back(info.pid);
            }
        }
        found
    }

    /// The members of process group `pgid`, zombies included.
    pub fn group_members(&self, pgid: i32) -> impl Iterator<Item = &ProcInfo> {
        self.iter().filter(move |info| info.pgid == pgid)
    }
}

/// A snapshot of the process table; `None` where it cannot be read.
pub fn snapshot() -> Option<ProcTable> {
    platform::snapshot()
}

/// Every descendant of `pid` (children, their children, ...), from one
/// snapshot; `None` where the process table cannot be read.
pub fn descendants_of(pid: u32) -> Option<Vec<ProcInfo>> {
    snapshot().map(|table| table.descendants_of(pid, |_| false))
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{Cost, ProcInfo, ProcTable};
    use crate::facts::parse_proc_stat;

    pub fn snapshot() -> Option<ProcTable> {
        #[allow(
            clippy::disallowed_methods,
            reason = "a process that exits while the table is read is simply not in it"
        )]
        let read = |path: &str| std::fs::read(path);
        let entries = fs_err::read_dir("/proc").ok()?;
        let mut procs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = read(&format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Ok(fields) = parse_proc_stat(&String::from_utf8_lossy(&stat)) else {
                continue;
            };
            let info = ProcInfo {
                pid,
                ppid: fields.ppid,
                pgid: fields.pgid,
                sid: fields.sid,
                start_time_ticks: fields.start_time_ticks,
                state: fields.proc_state(),
            };
            let cost = Cost {
                cpu_ticks: fields.utime + fields.stime + fields.cutime + fields.cstime,
                rss_pages: fields.rss_pages,
            };
            procs.push((info, cost));
        }
        Some(ProcTable::build(procs))
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::ProcTable;

    pub fn snapshot() -> Option<ProcTable> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pid: u32, ppid: u32, state: ProcState) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgid: pid as i32,
            sid: 1,
            start_time_ticks: u64::from(pid),
            state,
        }
    }

    #[test]
    fn descendants_are_found_through_every_generation_and_pruned_subtrees_are_skipped() {
        let table = ProcTable::from_infos([
            info(1, 0, ProcState::Running),
            info(10, 1, ProcState::Running),
            info(11, 10, ProcState::Running),
            info(12, 11, ProcState::Zombie),
            info(20, 10, ProcState::Running),
            info(21, 20, ProcState::Running),
            info(30, 1, ProcState::Running),
        ]);
        let all: Vec<u32> = table
            .descendants_of(10, |_| false)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(all, [11, 20, 12, 21]);
        let pruned: Vec<u32> = table
            .descendants_of(10, |p| p.pid == 20)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(pruned, [11, 12]);
        assert!(table.descendants_of(30, |_| false).is_empty());
        assert!(!table.get(12).unwrap().is_live());
    }

    #[test]
    fn a_parent_cycle_does_not_loop_forever() {
        let table = ProcTable::from_infos([
            info(5, 6, ProcState::Running),
            info(6, 5, ProcState::Running),
        ]);
        let found: Vec<u32> = table
            .descendants_of(5, |_| false)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(found, [6]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_child_is_a_descendant_of_this_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let found = descendants_of(std::process::id()).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.iter().any(|p| p.pid == child.id()), "{found:?}");
    }
}
