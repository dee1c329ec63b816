//! Process facts: existence, state, start time, process group, command line,
//! boot id and host name.
//!
//! Linux reads `/proc`; macOS uses `kill(pid, 0)` and `proc_pidinfo`; other
//! platforms answer "unknown". A fact that cannot be read is `Unknown` or
//! `None`, never "missing": only positive evidence makes a process dead.

use serde::Serialize;

/// The session (`getsid`) of process `pid`, if it can be read. 0 means its
/// session leader is outside this pid namespace (a container entered from
/// the host), so no pid here names it.
///
/// libc rather than rustix: rustix's `getsid` returns a non-zero `Pid` and
/// asserts that the kernel's answer is not 0, which it is in that case.
#[cfg(unix)]
pub fn session_of(pid: u32) -> Option<i32> {
    let pid = libc::pid_t::try_from(pid).ok().filter(|pid| *pid > 0)?;
    // SAFETY: getsid takes a number and touches no memory of ours.
    let sid = unsafe { libc::getsid(pid) };
    (sid >= 0).then_some(sid)
}

/// This process's process group; 0 where its leader is outside this pid
/// namespace (see [`session_of`] for why not rustix).
#[cfg(unix)]
pub fn own_process_group() -> i32 {
    // SAFETY: getpgrp takes no arguments and cannot fail.
    unsafe { libc::getpgrp() }
}

/// No sessions here.
#[cfg(not(unix))]
pub fn session_of(_pid: u32) -> Option<i32> {
    None
}

/// Does a process with this pid exist?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Existence {
    Exists,
    Missing,
    Unknown,
}

/// The scheduler state of an existing process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcState {
    Running,
    Zombie,
    Dead,
    Unknown,
}

/// What was learned about one pid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessFacts {
    pub pid: u32,
    pub existence: Existence,
    pub state: ProcState,
    /// Start time in clock ticks since boot (Linux field 22 of `/proc/<pid>/stat`).
    pub start_time_ticks: Option<u64>,
    pub pgid: Option<i32>,
}

impl ProcessFacts {
    fn unknown(pid: u32) -> ProcessFacts {
        ProcessFacts {
            pid,
            existence: Existence::Unknown,
            state: ProcState::Unknown,
            start_time_ticks: None,
            pgid: None,
        }
    }

    fn missing(pid: u32) -> ProcessFacts {
        ProcessFacts {
            existence: Existence::Missing,
            ..ProcessFacts::unknown(pid)
        }
    }
}

/// The fields of `/proc/<pid>/stat` that liveness, the process tree and
/// resource usage need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFields {
    pub state: char,
    /// Field 4: the parent's pid (0 for the kernel's own roots).
    pub ppid: u32,
    pub pgid: i32,
    /// Field 6: the session id.
    pub sid: i32,
    /// Fields 14 to 17: user and system time of the process, and of its
    /// children it has waited for, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
    pub start_time_ticks: u64,
    /// Field 20: the threads of the process.
    pub threads: u64,
    /// Field 24: resident set size in pages.
    pub rss_pages: u64,
}

impl StatFields {
    /// The process's state. A thread-group leader whose main thread has
    /// exited while other threads run shows `Z` with more than one thread:
    /// the process is running, not a zombie (it can still be signalled, and
    /// it would outlive a session that took it for dead).
    pub fn proc_state(&self) -> ProcState {
        match state_from_char(self.state) {
            ProcState::Zombie if self.threads > 1 => ProcState::Running,
            state => state,
        }
    }
}

/// Parse `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_proc_stat(text: &str) -> Result<StatFields, String> {
    let close = text
        .rfind(')')
        .ok_or_else(|| "no `)` closing the command name".to_owned())?;
    // Fields after the name start at field 3 (state).
    let rest: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| {
        rest.get(n - 3)
            .copied()
            .ok_or_else(|| format!("field {n} is missing"))
    };
    let mut state_chars = field(3)?.chars();
    let state = match (state_chars.next(), state_chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => c,
        _ => return Err("field 3 (state) is not one letter".into()),
    };
    let number = |n: usize, name: &str| {
        field(n)?
            .parse::<u64>()
            .map_err(|_| format!("field {n} ({name}) is not a non-negative integer"))
    };
    let signed = |n: usize, name: &str| {
        field(n)?
            .parse::<i32>()
            .map_err(|_| format!("field {n} ({name}) is not an integer"))
    };
    let ppid = u32::try_from(number(4, "ppid")?)
        .map_err(|_| "field 4 (ppid) is out of range".to_owned())?;
    // The kernel prints rss as a signed number; a negative one means none.
    let rss_pages = field(24)?
        .parse::<i64>()
        .map_err(|_| "field 24 (rss) is not an integer".to_owned())?;
    Ok(StatFields {
        state,
        ppid,
        pgid: signed(5, "pgrp")?,
        sid: signed(6, "session")?,
        utime: number(14, "utime")?,
        stime: number(15, "stime")?,
        // Children's times are signed in the kernel's format; never negative in practice.
        cutime: u64::try_from(signed_long(field(16)?, 16)?).unwrap_or(0),
        cstime: u64::try_from(signed_long(field(17)?, 17)?).unwrap_or(0),
        start_time_ticks: number(22, "starttime")?,
        threads: number(20, "num_threads")?,
        rss_pages: u64::try_from(rss_pages).unwrap_or(0),
    })
}

fn signed_long(text: &str, n: usize) -> Result<i64, String> {
    text.parse::<i64>()
        .map_err(|_| format!("field {n} is not an integer"))
}

/// The [`ProcState`] of a `/proc/<pid>/stat` state letter.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn state_from_char(c: char) -> ProcState {
    match c {
        'Z' => ProcState::Zombie,
        'X' | 'x' => ProcState::Dead,
        _ => ProcState::Running,
    }
}

/// `kill(pid, 0)`: 0 or EPERM means the pid exists, ESRCH that it does not.
#[cfg(unix)]
pub fn existence(pid: u32) -> Existence {
    use rustix::io::Errno;
    let Ok(raw) = i32::try_from(pid) else {
        return Existence::Missing;
    };
    let Some(pid) = rustix::process::Pid::from_raw(raw) else {
        return Existence::Unknown;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) | Err(Errno::PERM) => Existence::Exists,
        Err(Errno::SRCH) => Existence::Missing,
        Err(_) => Existence::Unknown,
    }
}

#[cfg(not(unix))]
pub fn existence(_pid: u32) -> Existence {
    Existence::Unknown
}

/// Everything knowable about `pid` without reading its command line.
pub fn probe(pid: u32) -> ProcessFacts {
    match existence(pid) {
        Existence::Missing => ProcessFacts::missing(pid),
        Existence::Unknown => ProcessFacts::unknown(pid),
        Existence::Exists => platform::probe_existing(pid),
    }
}

/// The start time of `pid`, in the unit pid records use on this platform.
pub fn start_time_ticks(pid: u32) -> Option<u64> {
    platform::probe_existing(pid).start_time_ticks
}

/// The start time of this process.
pub fn own_start_time_ticks() -> Option<u64> {
    start_time_ticks(std::process::id())
}

/// The command line of `pid`, arguments joined by spaces.
pub fn cmdline(pid: u32) -> Option<String> {
    cmdline_args(pid).map(|args| args.join(" "))
}

/// The arguments of `pid`'s command line (`argv`), as far as they can be read.
pub fn cmdline_args(pid: u32) -> Option<Vec<String>> {
    platform::cmdline_args(pid)
}

/// Whether some live (non-zombie) process is in process group `pgid`.
pub fn group_has_live_members(pgid: i32) -> Option<bool> {
    platform::live_group_members(pgid, 1).map(|found| !found.is_empty())
}

/// The live (non-zombie) members of process group `pgid`, at most `most`.
pub fn live_group_members(pgid: i32, most: usize) -> Option<Vec<u32>> {
    platform::live_group_members(pgid, most)
}

/// Whether the environment `pid` started with holds `name=value` (the value
/// compared case-insensitively); `None` where it cannot be read (another
/// platform, another user's process).
pub fn environ_has(pid: u32, name: &str, value: &str) -> Option<bool> {
    platform::environ_has(pid, name, value)
}

/// This machine's boot id (Linux); `None` where there is none.
pub fn boot_id() -> Option<String> {
    platform::boot_id()
}

/// This process's pid namespace (`pid:[4026531836]`), where pid namespaces
/// exist. Pids mean something only in the namespace that wrote them.
pub fn pid_namespace() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let link = fs_err::read_link("/proc/self/ns/pid").ok()?;
        Some(link.to_string_lossy().into_owned())
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Whether this process can see the process table its pids belong to. On
/// Linux that takes a readable `/proc` of this pid namespace: without one
/// (a sandbox that masks `/proc`, a new pid namespace without its own),
/// `kill(pid, 0)` answers for a namespace whose pids may not be the ones
/// recorded, so a pid it does not find is not known to be gone. Elsewhere
/// the kernel's answer stands.
pub fn pids_visible() -> bool {
    #[cfg(target_os = "linux")]
    {
        pid_namespace().is_some() && fs_err::metadata("/proc/self/stat").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    true
}

/// This machine's host name.
#[cfg(unix)]
pub fn hostname() -> Option<String> {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(not(unix))]
pub fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok().filter(|n| !n.is_empty())
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{Existence, ProcState, ProcessFacts, parse_proc_stat};

    fn read(path: &str) -> std::io::Result<Vec<u8>> {
        #[allow(
            clippy::disallowed_methods,
            reason = "callers turn a failure into an unknown fact"
        )]
        std::fs::read(path)
    }

    pub fn probe_existing(pid: u32) -> ProcessFacts {
        let stat = match read(&format!("/proc/{pid}/stat")) {
            Ok(bytes) => bytes,
            // Gone between kill() and the read, or there but hidden from
            // this reader (`hidepid`, a /proc that is not this namespace's):
            // ask the kernel again, and never call a hidden process gone.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return match super::existence(pid) {
                    Existence::Missing => ProcessFacts::missing(pid),
                    _ => ProcessFacts::unknown_existing(pid),
                };
            }
            Err(_) => return ProcessFacts::unknown_existing(pid),
        };
        match parse_proc_stat(&String::from_utf8_lossy(&stat)) {
            Ok(fields) => ProcessFacts {
                pid,
                existence: Existence::Exists,
                state: fields.proc_state(),
                start_time_ticks: Some(fields.start_time_ticks),
                pgid: Some(fields.pgid),
            },
            Err(_) => ProcessFacts::unknown_existing(pid),
        }
    }

    pub fn cmdline_args(pid: u32) -> Option<Vec<String>> {
        let bytes = read(&format!("/proc/{pid}/cmdline")).ok()?;
        let args = bytes
            .strip_suffix(b"\0")
            .unwrap_or(&bytes)
            .split(|b| *b == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        Some(args)
    }

    pub fn live_group_members(pgid: i32, most: usize) -> Option<Vec<u32>> {
        let entries = fs_err::read_dir("/proc").ok()?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            if found.len() >= most {
                break;
            }
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = read(&format!("/proc/{pid}/stat")) else {
                continue;
            };
            if let Ok(fields) = parse_proc_stat(&String::from_utf8_lossy(&stat))
                && fields.pgid == pgid
                && fields.proc_state() == ProcState::Running
            {
                found.push(pid);
            }
        }
        Some(found)
    }

    pub fn environ_has(pid: u32, name: &str, value: &str) -> Option<bool> {
        let bytes = read(&format!("/proc/{pid}/environ")).ok()?;
        let prefix = format!("{name}=");
        Some(bytes.split(|b| *b == 0).any(|entry| {
            entry
                .strip_prefix(prefix.as_bytes())
                .is_some_and(|v| v.eq_ignore_ascii_case(value.as_bytes()))
        }))
    }

    pub fn boot_id() -> Option<String> {
        let bytes = read("/proc/sys/kernel/random/boot_id").ok()?;
        let id = String::from_utf8_lossy(&bytes).trim().to_owned();
        (!id.is_empty()).then_some(id)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::{Existence, ProcState, ProcessFacts};

    fn bsd_info(pid: u32) -> Option<libc::proc_bsdinfo> {
        // SAFETY: proc_bsdinfo is a plain C struct of integers and byte
        // arrays, for which all-zero bytes are a valid value.
        let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
        // SAFETY: `info` is a valid, writable proc_bsdinfo of `size` bytes.
        let written = unsafe {
            libc::proc_pidinfo(
                pid as libc::c_int,
                libc::PROC_PIDTBSDINFO,
                0,
                (&mut info as *mut libc::proc_bsdinfo).cast(),
                size,
            )
        };
        (written == size).then_some(info)
    }

    pub fn probe_existing(pid: u32) -> ProcessFacts {
        let Some(info) = bsd_info(pid) else {
            return ProcessFacts::unknown_existing(pid);
        };
        // SZOMB is 5 in <sys/proc.h>.
        let state = if info.pbi_status == 5 {
            ProcState::Zombie
        } else {
            ProcState::Running
        };
        ProcessFacts {
            pid,
            existence: Existence::Exists,
            state,
            // Microseconds since the epoch: stable for the life of the process.
            start_time_ticks: Some(info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec),
            pgid: i32::try_from(info.pbi_pgid).ok(),
        }
    }

    pub fn cmdline_args(_pid: u32) -> Option<Vec<String>> {
        None
    }

    pub fn live_group_members(_pgid: i32, _most: usize) -> Option<Vec<u32>> {
        None
    }

    pub fn environ_has(_pid: u32, _name: &str, _value: &str) -> Option<bool> {
        None
    }

    pub fn boot_id() -> Option<String> {
        None
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod platform {
    use super::ProcessFacts;

    pub fn probe_existing(pid: u32) -> ProcessFacts {
        ProcessFacts::unknown_existing(pid)
    }

    pub fn cmdline_args(_pid: u32) -> Option<Vec<String>> {
        None
    }

    pub fn live_group_members(_pgid: i32, _most: usize) -> Option<Vec<u32>> {
        None
    }

    pub fn environ_has(_pid: u32, _name: &str, _value: &str) -> Option<bool> {
        None
    }

    pub fn boot_id() -> Option<String> {
        None
    }
}

impl ProcessFacts {
    /// The pid exists but nothing more could be learned.
    fn unknown_existing(pid: u32) -> ProcessFacts {
        ProcessFacts {
            existence: Existence::Exists,
            ..ProcessFacts::unknown(pid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_parsed_past_the_last_parenthesis() {
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        fields[0] = "S".into();
        let text = format!("1234 (we (ird) name) {}\n", fields.join(" "));
        let parsed = parse_proc_stat(&text).unwrap();
        assert_eq!(parsed.state, 'S');
        assert_eq!(parsed.ppid, 4);
        assert_eq!(parsed.pgid, 5);
        assert_eq!(parsed.sid, 6);
        assert_eq!(
            (parsed.utime, parsed.stime, parsed.cutime, parsed.cstime),
            (14, 15, 16, 17)
        );
        assert_eq!(parsed.start_time_ticks, 22);
        assert_eq!(parsed.rss_pages, 24);
    }

    #[test]
    fn malformed_stat_is_an_error() {
        for text in [
            "",
            "1 (x",
            "1 (x) S 1",
            "1 (x) SS 1 2 3",
            "1 (x) S 1 notanumber",
        ] {
            assert!(parse_proc_stat(text).is_err(), "{text:?}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn own_process_is_running_with_a_start_time() {
        let facts = probe(std::process::id());
        assert_eq!(facts.existence, Existence::Exists);
        assert_eq!(facts.state, ProcState::Running);
        assert!(facts.start_time_ticks.is_some());
        assert!(cmdline(std::process::id()).is_some());
        assert!(boot_id().is_some());
        assert!(pid_namespace().is_some_and(|ns| ns.starts_with("pid:[")));
        assert!(hostname().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn pid_above_pid_max_is_missing() {
        assert_eq!(probe(4_194_304 + 1000).existence, Existence::Missing);
    }
}
