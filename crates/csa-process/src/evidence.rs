//! Gathering the liveness evidence of one session dir.
//!
//! The reconciler builds one [`ProbeContext`] per command and calls [`gather`]
//! once per session; the pure [`crate::verdict::verdict`] then decides. For a
//! session with a dead `daemon.pid` and no locks this costs one small read, one
//! `kill(pid, 0)`, one readdir and three stats: no process-table scan.

use std::time::SystemTime;

use csa_session::SessionDir;
use csa_session::consts::{CMD_PID_FILE, DAEMON_PID_FILE, RECONCILER_ARTIFACTS};
use serde::Serialize;

use crate::facts::{self, Existence, ProcState, ProcessFacts};
use crate::held::HeldLocks;
use crate::record::{self, DaemonPid, LockRecord};

/// Facts about this machine, gathered once per command and shared by threads.
#[derive(Debug)]
pub struct ProbeContext {
    pub now: SystemTime,
    pub hostname: Option<String>,
    pub boot_id: Option<String>,
    pub pid_namespace: Option<String>,
    /// [`facts::pids_visible`].
    pub pids_visible: bool,
    pub held: HeldLocks,
}

impl ProbeContext {
    pub fn new() -> ProbeContext {
        ProbeContext {
            now: SystemTime::now(),
            hostname: facts::hostname(),
            boot_id: facts::boot_id(),
            pid_namespace: facts::pid_namespace(),
            pids_visible: facts::pids_visible(),
            held: HeldLocks::new(),
        }
    }

    /// The same machine facts, with a fresh clock and a fresh lock table
    /// (for a re-check under the reconcile lock).
    pub fn fresh(&self) -> ProbeContext {
        ProbeContext {
            now: SystemTime::now(),
            hostname: self.hostname.clone(),
            boot_id: self.boot_id.clone(),
            pid_namespace: self.pid_namespace.clone(),
            pids_visible: self.pids_visible,
            held: HeldLocks::new(),
        }
    }
}

impl Default for ProbeContext {
    fn default() -> Self {
        ProbeContext::new()
    }
}

/// Where a pid record was written. A pid means something only on the host,
/// in the boot and in the pid namespace that wrote it; `None` is "not
/// recorded".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub hostname: Option<String>,
    pub boot_id: Option<String>,
    pub pid_namespace: Option<String>,
}

impl Origin {
    /// Recorded elsewhere than `ctx`: another host, boot or pid namespace.
    fn is_foreign(&self, ctx: &ProbeContext) -> bool {
        let differs = |recorded: &Option<String>, here: &Option<String>| {
            recorded.is_some() && here.is_some() && recorded != here
        };
        (self.hostname.is_some() && self.hostname != ctx.hostname)
            || differs(&self.boot_id, &ctx.boot_id)
            || differs(&self.pid_namespace, &ctx.pid_namespace)
    }
}

/// One pid record and what was learned about its pid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PidEvidence {
    pub pid: u32,
    pub start_time_ticks: Option<u64>,
    pub origin: Origin,
    /// `None` when the record was not probed (other host or boot).
    pub facts: Option<ProcessFacts>,
    /// For records without a start time: does the pid's command line mention
    /// the session id or a tool name? `None` if unreadable or not needed.
    pub cmdline_matches: Option<bool>,
    /// For a zombie: does its process group have live members?
    pub group_live: Option<bool>,
}

/// A record file: absent, malformed, or a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordEvidence {
    Absent,
    Malformed { reason: String },
    Record(PidEvidence),
}

/// One `locks/<tool>.lock` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockEvidence {
    /// `locks/<name>.lock`, for messages.
    pub name: String,
    /// Whether its `flock` is held (`None`: cannot be known here).
    pub held: Option<bool>,
    pub modified: Option<SystemTime>,
    pub record: RecordEvidence,
}

/// Everything the verdict looks at, for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub now: SystemTime,
    pub this_host: Option<String>,
    pub this_boot: Option<String>,
    pub this_pid_namespace: Option<String>,
    /// Whether this process can see the process table (see
    /// [`facts::pids_visible`]); if not, no pid is judged gone.
    pub pids_visible: bool,
    pub daemon_pid: RecordEvidence,
    /// `cmd.pid`: the command the daemon runs (alive while it lives, even
    /// if the daemon died).
    pub cmd_pid: RecordEvidence,
    pub locks: Vec<LockEvidence>,
    /// Progress files that exist, with their modification times.
    pub progress: Vec<(String, SystemTime)>,
}

/// Gather the evidence for the session in `session`.
pub fn gather(
    session: &SessionDir,
    session_id: &str,
    tool_names: &[String],
    ctx: &ProbeContext,
) -> Evidence {
    let needles: Vec<String> = std::iter::once(session_id.to_ascii_lowercase())
        .chain(tool_names.iter().map(|t| t.to_ascii_lowercase()))
        .filter(|n| !n.is_empty())
        .collect();
    let probe = |pid: u32, ticks: Option<u64>, origin: Origin| {
        probe_record(pid, ticks, origin, &needles, ctx)
    };
    let locks = gather_locks(session, ctx, &probe);
    // daemon.pid does not say where it was written: it shares the origin of
    // the lock record the same daemon wrote.
    let daemon_pid = match record::read_daemon_pid(session) {
        Ok(None) => RecordEvidence::Absent,
        Ok(Some(DaemonPid {
            pid,
            start_time_ticks,
        })) => probe(pid, start_time_ticks, inherited_origin(&locks, pid)),
        Err(err) => RecordEvidence::Malformed {
            reason: error_chain(&err),
        },
    };
    // The daemon wrote cmd.pid: it shares the daemon's origin.
    let daemon = match &daemon_pid {
        RecordEvidence::Record(rec) => Some(rec.pid),
        _ => None,
    };
    let cmd_pid = match record::read_cmd_pid(session) {
        Ok(None) => RecordEvidence::Absent,
        Ok(Some(cmd)) => {
            let origin = inherited_origin(&locks, daemon.unwrap_or(cmd.pid));
            probe(cmd.pid, Some(cmd.start_time_ticks), origin)
        }
        Err(err) => RecordEvidence::Malformed {
            reason: error_chain(&err),
        },
    };
    let progress = session
        .progress_files()
        .filter_map(|(name, path)| {
            let meta = fs_err::metadata(path).ok()?;
            Some((name.to_owned(), meta.modified().ok()?))
        })
        .collect();
    Evidence {
        now: ctx.now,
        this_host: ctx.hostname.clone(),
        this_boot: ctx.boot_id.clone(),
        this_pid_namespace: ctx.pid_namespace.clone(),
        pids_visible: ctx.pids_visible,
        daemon_pid,
        cmd_pid,
        locks,
        progress,
    }
}

/// The origin of a pid record that does not say where it was written: that
/// of the lock record naming the same pid, else of any lock record that
/// names its pid namespace (csa's daemon writes both), else unknown.
fn inherited_origin(locks: &[LockEvidence], pid: u32) -> Origin {
    let records = || {
        locks.iter().filter_map(|lock| match &lock.record {
            RecordEvidence::Record(rec) => Some(rec),
            _ => None,
        })
    };
    records()
        .find(|rec| rec.pid == pid)
        .or_else(|| records().find(|rec| rec.origin.pid_namespace.is_some()))
        .map(|rec| rec.origin.clone())
        .unwrap_or_default()
}

fn gather_locks(
    session: &SessionDir,
    ctx: &ProbeContext,
    probe: &dyn Fn(u32, Option<u64>, Origin) -> RecordEvidence,
) -> Vec<LockEvidence> {
    let Ok(entries) = fs_err::read_dir(session.locks()) else {
        return Vec::new();
    };
    let mut locks: Vec<LockEvidence> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let file_name = entry.file_name().to_str()?.to_owned();
            if !SessionDir::is_lock_file(&path)
                || RECONCILER_ARTIFACTS.contains(&file_name.as_str())
            {
                return None;
            }
            let meta = fs_err::symlink_metadata(&path).ok()?;
            if meta.is_dir() {
                return None;
            }
            let record = match record::read_lock_record(&path) {
                Ok(None) => RecordEvidence::Absent,
                Ok(Some(LockRecord {
                    pid,
                    pid_start_time_ticks,
                    hostname,
                    boot_id,
                    pid_namespace,
                    ..
                })) => {
                    let origin = Origin {
                        hostname,
                        boot_id,
                        pid_namespace,
                    };
                    probe(pid, pid_start_time_ticks, origin)
                }
                // A lock "file" that is a FIFO, a device or unreadable names no
                // pid we can check: unknown, never dead.
                Err(err) => RecordEvidence::Malformed {
                    reason: error_chain(&err),
                },
            };
            Some(LockEvidence {
                name: SessionDir::lock_label(&path),
                held: ctx.held.is_held(&path),
                modified: meta.modified().ok(),
                record,
            })
        })
        .collect();
    locks.sort_by(|a, b| a.name.cmp(&b.name));
    locks
}

fn probe_record(
    pid: u32,
    start_time_ticks: Option<u64>,
    origin: Origin,
    needles: &[String],
    ctx: &ProbeContext,
) -> RecordEvidence {
    let foreign = origin.is_foreign(ctx);
    let mut evidence = PidEvidence {
        pid,
        start_time_ticks,
        origin,
        facts: None,
        cmdline_matches: None,
        group_live: None,
    };
    if foreign {
        return RecordEvidence::Record(evidence);
    }
    let facts = facts::probe(pid);
    if facts.existence == Existence::Exists {
        if facts.state == ProcState::Zombie {
            evidence.group_live = facts.pgid.and_then(facts::group_has_live_members);
        } else if start_time_ticks.is_none() {
            evidence.cmdline_matches = facts::cmdline(pid).map(|line| {
                let line = line.to_ascii_lowercase();
                needles.iter().any(|n| line.contains(n.as_str()))
            });
        }
    }
    evidence.facts = Some(facts);
    RecordEvidence::Record(evidence)
}

/// An error and its causes as one line.
pub(crate) use csa_session::error::chain as error_chain;

/// Name of the daemon pid record in messages.
pub(crate) const DAEMON_PID_LABEL: &str = DAEMON_PID_FILE;
/// Name of the command's pid record in messages.
pub(crate) const CMD_PID_LABEL: &str = CMD_PID_FILE;
