//! Signals that can only reach a verified process (contract §8.3).
//!
//! A number read from a file never reaches `kill` directly. [`verify_daemon`]
//! checks a session's `daemon.pid` against the live process (start time, the
//! host and boot of its lock record, and a command line that makes it the csa
//! daemon of that very session) and returns a [`Verified`] handle; only a
//! handle can be signalled. On Linux the handle holds a pidfd opened *before*
//! the start time is compared, so a pid reused after the check can never be
//! hit. Whatever the files say, pid 0, pid 1, negative pids, process groups
//! <= 1 and csa's own process group are never signalled.
//!
//! [`verify_command`] does the same for `cmd.pid` (the command a daemon runs,
//! which must lead its own process group), so that `csa session kill` can stop
//! a command whose daemon died; [`crate::stop`] then stops its group.

use csa_session::SessionDir;

use crate::facts::{self, Existence};
use crate::record::{self, DaemonPid};

mod command;

pub use command::{CommandGroup, Remnant, verify_command};

/// The signals csa sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Term,
    Kill,
    /// Continue a stopped process (a daemon stopped by SIGSTOP would never
    /// act on the SIGTERM that asks it to stop its command).
    Cont,
}

/// SIGCONT's number differs between systems.
#[cfg(unix)]
const SIGCONT: i32 = libc::SIGCONT;
#[cfg(not(unix))]
const SIGCONT: i32 = 18;

impl Sig {
    /// The signal number (15, 9, ...), as exit codes `128 + N` use it.
    pub fn number(self) -> i32 {
        match self {
            Sig::Term => 15,
            Sig::Kill => 9,
            Sig::Cont => SIGCONT,
        }
    }

    /// Its name: `SIGTERM`, `SIGKILL`, `SIGCONT`.
    pub fn name(self) -> &'static str {
        match self {
            Sig::Term => "SIGTERM",
            Sig::Kill => "SIGKILL",
            Sig::Cont => "SIGCONT",
        }
    }
}

/// How a signal number reads in a summary: the name of the signals that end
/// commands (`SIGTERM`, `SIGKILL`, `SIGINT`, `SIGHUP`, ...), else `signal N`.
/// The numbers are the ones every Unix shares.
pub fn signal_name(number: i32) -> String {
    let known = match number {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return format!("signal {number}"),
    };
    known.to_owned()
}

/// Why a process was not signalled. Each message is one line naming the reason.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "pid {pid} is never signalled (pids 0 and 1 and negative pids are not session processes)"
    )]
    ReservedPid { pid: i64 },
    #[error(
        "process group {pgid} is never signalled (groups 0 and 1 and csa's own group are not session groups)"
    )]
    ReservedGroup { pgid: i64 },
    #[error("daemon.pid has no start time, so pid {pid} cannot be verified")]
    NoStartTime { pid: u32 },
    #[error("pid {pid} no longer exists")]
    Gone { pid: u32 },
    #[error("pid {pid} was reused by another process (start time {actual} != recorded {recorded})")]
    Reused {
        pid: u32,
        actual: u64,
        recorded: u64,
    },
    #[error("the start time of pid {pid} cannot be read on this platform")]
    Unverifiable { pid: u32 },
    #[error("the lock record {lock} was written on host {recorded}, not on this host ({here})")]
    OtherHost {
        lock: String,
        recorded: String,
        here: String,
    },
    #[error(
        "the lock record {lock} was written before this machine restarted (boot id {recorded})"
    )]
    OtherBoot { lock: String, recorded: String },
    #[error(
        "the lock record {lock} was written in pid namespace {recorded}, not in this one ({here}); its pids name other processes here"
    )]
    OtherPidNamespace {
        lock: String,
        recorded: String,
        here: String,
    },
    #[error(
        "pid {pid} is not the csa daemon of session {session_id} (its command line is {cmdline:?})"
    )]
    NotTheDaemon {
        pid: u32,
        session_id: String,
        cmdline: String,
    },
    #[error(
        "pid {pid} is not the command of session {session_id} (it runs in session {sid}, not in the one of the daemon, pid {daemon})"
    )]
    NotTheCommand {
        pid: u32,
        session_id: String,
        sid: i64,
        daemon: u32,
    },
    #[error("pid {pid} is `csa run`, still starting the daemon of session {session_id}")]
    Launching { pid: u32, session_id: String },
    #[error(
        "pid {pid} is the csa daemon of session {session_id}, never the command of another session"
    )]
    ADaemon { pid: u32, session_id: String },
    #[error("pid {pid} does not lead its own process group (its group is {pgid})")]
    NotGroupLeader { pid: u32, pgid: i64 },
    #[error("cannot read {what}: {reason}")]
    Unreadable { what: String, reason: String },
    #[error("there is no {record}: no process to verify")]
    NoRecord { record: &'static str },
    /// The cause is part of the message (a refusal is shown as one line).
    #[error("cannot signal pid {pid}: {cause}")]
    Io { pid: u32, cause: std::io::Error },
    #[error("process group {pgid} still has live members after SIGKILL")]
    Survived { pgid: i64 },
    #[error("signalling processes is not supported on this platform")]
    Unsupported,
}

/// True for pids csa may ever signal: positive, not 1, and representable.
pub fn is_signallable_pid(pid: i64) -> bool {
    pid > 1 && pid <= i64::from(i32::MAX)
}

/// True for process groups csa may ever signal: > 1 and not csa's own.
pub fn is_signallable_group(pgid: i64) -> bool {
    is_signallable_pid(pgid) && Some(pgid) != own_process_group()
}

/// A live process whose identity was verified; the only thing csa signals.
#[derive(Debug)]
pub struct Verified {
    pid: u32,
    start_time_ticks: u64,
    /// The process group the process led when it was verified.
    group: Option<i64>,
    /// Its session when it was verified.
    session: Option<i32>,
    #[cfg(target_os = "linux")]
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl Verified {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn start_time_ticks(&self) -> u64 {
        self.start_time_ticks
    }

    /// Signal the verified process itself.
    pub fn signal(&self, sig: Sig) -> Result<(), Refusal> {
        platform::signal_process(self, sig)
    }

    /// Signal the process group this process leads (verified to be > 1 and
    /// not csa's own), after checking that the leader is still the verified
    /// process or its unreaped zombie.
    pub fn signal_group(&self, sig: Sig) -> Result<(), Refusal> {
        let pgid = self.group.ok_or(Refusal::NotGroupLeader {
            pid: self.pid,
            pgid: 0,
        })?;
        if !is_signallable_group(pgid) {
            return Err(Refusal::ReservedGroup { pgid });
        }
        platform::signal_group(self, pgid, sig)
    }

    /// Whether the group this process led still has a live (non-zombie) member.
    pub fn group_has_live_members(&self) -> Option<bool> {
        let pgid = i32::try_from(self.group?).ok()?;
        facts::group_has_live_members(pgid)
    }

    /// The process group this process led when it was verified.
    pub fn group(&self) -> Option<i64> {
        self.group
    }

    /// The session (`getsid`) it was in when it was verified.
    pub fn session(&self) -> Option<i32> {
        self.session
    }

    /// The pidfd opened before the verification, where there is one.
    #[cfg(target_os = "linux")]
    pub(crate) fn pidfd(&self) -> Option<&std::os::fd::OwnedFd> {
        self.pidfd.as_ref()
    }
}

/// Signal a process seen in a process-table snapshot, but only if the pid
/// still names the process with that start time (the pid may have been reused
/// since the snapshot). The same guards as every other signal apply.
pub(crate) fn signal_seen(pid: u32, start_time_ticks: u64, sig: Sig) -> Result<(), Refusal> {
    let record = DaemonPid {
        pid,
        start_time_ticks: Some(start_time_ticks),
    };
    verify(&record, |_| Ok(()))?.signal(sig)
}

/// Verify `record` (a pid and its start time) against the live process.
/// `identity` then checks what the process is (for example its command line).
pub fn verify(
    record: &DaemonPid,
    identity: impl FnOnce(u32) -> Result<(), Refusal>,
) -> Result<Verified, Refusal> {
    let pid = record.pid;
    let recorded = record
        .start_time_ticks
        .ok_or(Refusal::NoStartTime { pid })?;
    if !is_signallable_pid(i64::from(pid)) {
        return Err(Refusal::ReservedPid {
            pid: i64::from(pid),
        });
    }
    // Open the handle first: if the start time still matches afterwards, the
    // handle refers to the recorded process, whatever happens to the pid later.
    #[cfg(target_os = "linux")]
    let pidfd = platform::open_pidfd(pid)?;
    let probed = facts::probe(pid);
    match probed.existence {
        Existence::Missing => return Err(Refusal::Gone { pid }),
        Existence::Unknown => return Err(Refusal::Unverifiable { pid }),
        Existence::Exists => {}
    }
    match probed.start_time_ticks {
        Some(actual) if actual == recorded => {}
        Some(actual) => {
            return Err(Refusal::Reused {
                pid,
                actual,
                recorded,
            });
        }
        None => return Err(Refusal::Unverifiable { pid }),
    }
    identity(pid)?;
    let group = probed
        .pgid
        .map(i64::from)
        .filter(|pgid| *pgid == i64::from(pid));
    Ok(Verified {
        pid,
        start_time_ticks: recorded,
        group,
        session: facts::session_of(pid),
        #[cfg(target_os = "linux")]
        pidfd,
    })
}

/// Verify the daemon of the session in `session_dir`: `daemon.pid` with a
/// matching start time, lock records of this host and boot, and a command line
/// `csa daemon ... --session-id <session_id> ...`.
pub fn verify_daemon(session: &SessionDir, session_id: &str) -> Result<Verified, Refusal> {
    let record = record::read_daemon_pid(session)
        .map_err(|err| Refusal::Unreadable {
            what: "daemon.pid".into(),
            reason: crate::evidence::error_chain(&err),
        })?
        .ok_or(Refusal::NoRecord {
            record: "daemon.pid",
        })?;
    check_lock_records(session)?;
    verify(&record, |pid| {
        // A daemon that was killed and not yet reaped is dead: it has no
        // command line, and signalling it would do nothing.
        if facts::probe(pid).state == facts::ProcState::Zombie {
            return Err(Refusal::Gone { pid });
        }
        check_daemon_cmdline(pid, session_id)
    })
}

/// Every lock record of the session must come from this host, this boot and
/// this pid namespace (whichever pid it names: a session with a record of
/// another machine is not this machine's to signal).
pub(crate) fn check_lock_records(session: &SessionDir) -> Result<(), Refusal> {
    let Ok(entries) = fs_err::read_dir(session.locks()) else {
        return Ok(());
    };
    let here = facts::hostname();
    let boot = facts::boot_id();
    let namespace = facts::pid_namespace();
    for entry in entries.flatten() {
        let path = entry.path();
        if !SessionDir::is_lock_file(&path) {
            continue;
        }
        let Ok(Some(lock)) = record::read_lock_record(&path) else {
            continue;
        };
        let name = SessionDir::lock_label(&path);
        if let Some(recorded) = lock.hostname
            && here.as_ref() != Some(&recorded)
        {
            return Err(Refusal::OtherHost {
                lock: name,
                recorded,
                here: here.unwrap_or_else(|| "unknown".into()),
            });
        }
        if let (Some(recorded), Some(boot)) = (lock.boot_id, &boot)
            && &recorded != boot
        {
            return Err(Refusal::OtherBoot {
                lock: name,
                recorded,
            });
        }
        if let (Some(recorded), Some(here)) = (lock.pid_namespace, &namespace)
            && &recorded != here
        {
            return Err(Refusal::OtherPidNamespace {
                lock: name,
                recorded,
                here: here.clone(),
            });
        }
    }
    Ok(())
}

/// `pid` runs `csa daemon` for `session_id`.
fn check_daemon_cmdline(pid: u32, session_id: &str) -> Result<(), Refusal> {
    let Some(args) = facts::cmdline_args(pid) else {
        return Err(Refusal::Unreadable {
            what: format!("the command line of pid {pid}"),
            reason: "not available".into(),
        });
    };
    if is_daemon_of(&args, session_id) {
        return Ok(());
    }
    // `csa run` names itself in `daemon.pid` until its daemon takes over.
    if args.get(1).map(String::as_str) == Some("run") {
        return Err(Refusal::Launching {
            pid,
            session_id: session_id.to_owned(),
        });
    }
    Err(Refusal::NotTheDaemon {
        pid,
        session_id: session_id.to_owned(),
        cmdline: args.join(" "),
    })
}

/// `args` is `<csa> daemon ... --session-id <session_id> ... [-- CMD...]`;
/// only the arguments before `--` count (CMD's arguments could say anything).
pub fn is_daemon_of(args: &[String], session_id: &str) -> bool {
    let own: Vec<&str> = args
        .iter()
        .skip(1)
        .map(String::as_str)
        .take_while(|a| *a != "--")
        .collect();
    if own.first() != Some(&"daemon") {
        return false;
    }
    let matches = |value: &str| value.eq_ignore_ascii_case(session_id);
    own.windows(2)
        .any(|pair| pair[0] == "--session-id" && matches(pair[1]))
        || own
            .iter()
            .any(|a| a.strip_prefix("--session-id=").is_some_and(matches))
}

/// What a csa daemon's command line says about it: `<csa> daemon ...
/// --session-dir <dir> ... --session-id <id> ...` (either option also as
/// `--option=value`), before any `--`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonArgv<'a> {
    /// `--session-dir`, if given.
    pub session_dir: Option<&'a str>,
    /// `--session-id`.
    pub session_id: &'a str,
}

/// The options a csa daemon's command line names, or `None` for any command
/// line that is not `<csa> daemon ... --session-id <id> ...` (only the
/// arguments before `--` count). A command line proves nothing by itself:
/// the nested-session exception of contract §8.1 also checks the session's
/// `daemon.pid` (see `crate::supervise::spare_other_sessions`).
pub fn daemon_argv(args: &[String]) -> Option<DaemonArgv<'_>> {
    let mut own = args
        .iter()
        .skip(1)
        .map(String::as_str)
        .take_while(|a| *a != "--");
    if own.next() != Some("daemon") {
        return None;
    }
    let (mut session_dir, mut session_id) = (None, None);
    while let Some(arg) = own.next() {
        match arg {
            "--session-id" => session_id = own.next(),
            "--session-dir" => session_dir = own.next(),
            _ => {
                if let Some(id) = arg.strip_prefix("--session-id=") {
                    session_id = Some(id);
                } else if let Some(dir) = arg.strip_prefix("--session-dir=") {
                    session_dir = Some(dir);
                }
            }
        }
    }
    Some(DaemonArgv {
        session_dir,
        session_id: session_id?,
    })
}

fn own_process_group() -> Option<i64> {
    platform::own_process_group()
}

#[cfg(unix)]
mod platform {
    use rustix::process::{Pid, Signal};

    use super::{Refusal, Sig, Verified};

    fn signal_of(sig: Sig) -> Signal {
        match sig {
            Sig::Term => Signal::TERM,
            Sig::Kill => Signal::KILL,
            Sig::Cont => Signal::CONT,
        }
    }

    pub(super) fn rustix_pid(pid: i64) -> Result<Pid, Refusal> {
        i32::try_from(pid)
            .ok()
            .filter(|p| *p > 1)
            .and_then(Pid::from_raw)
            .ok_or(Refusal::ReservedPid { pid })
    }

    pub fn own_process_group() -> Option<i64> {
        Some(i64::from(crate::facts::own_process_group()))
    }

    #[cfg(target_os = "linux")]
    pub fn open_pidfd(pid: u32) -> Result<Option<std::os::fd::OwnedFd>, Refusal> {
        use rustix::process::{PidfdFlags, pidfd_open};
        let raw = rustix_pid(i64::from(pid))?;
        match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(rustix::io::Errno::SRCH) => Err(Refusal::Gone { pid }),
            // Kernels before 5.3 (ENOSYS) or sandboxes that forbid it: fall
            // back to kill(2) right after the verification.
            Err(_) => Ok(None),
        }
    }

    pub fn signal_process(target: &Verified, sig: Sig) -> Result<(), Refusal> {
        let io = |err: rustix::io::Errno| Refusal::Io {
            pid: target.pid,
            cause: err.into(),
        };
        #[cfg(target_os = "linux")]
        if let Some(fd) = &target.pidfd {
            return match rustix::process::pidfd_send_signal(fd, signal_of(sig)) {
                Ok(()) => Ok(()),
                Err(rustix::io::Errno::SRCH) => Err(Refusal::Gone { pid: target.pid }),
                Err(err) => Err(io(err)),
            };
        }
        let pid = rustix_pid(i64::from(target.pid))?;
        match rustix::process::kill_process(pid, signal_of(sig)) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::SRCH) => Err(Refusal::Gone { pid: target.pid }),
            Err(err) => Err(io(err)),
        }
    }

    pub fn signal_group(target: &Verified, pgid: i64, sig: Sig) -> Result<(), Refusal> {
        // The group is named by its leader's pid: as long as the verified
        // leader (or its unreaped zombie) holds that pid, the group id cannot
        // have been given to another group.
        let leader = crate::facts::probe(target.pid);
        let still_ours = leader.start_time_ticks == Some(target.start_time_ticks)
            && leader.pgid.map(i64::from) == Some(pgid);
        if !still_ours {
            return Err(Refusal::Gone { pid: target.pid });
        }
        let group = rustix_pid(pgid).map_err(|_| Refusal::ReservedGroup { pgid })?;
        match rustix::process::kill_process_group(group, signal_of(sig)) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::SRCH) => Err(Refusal::Gone { pid: target.pid }),
            Err(err) => Err(Refusal::Io {
                pid: target.pid,
                cause: err.into(),
            }),
        }
    }
}

#[cfg(not(unix))]
mod platform {
    use super::{Refusal, Sig, Verified};

    pub fn own_process_group() -> Option<i64> {
        None
    }

    pub fn signal_process(_target: &Verified, _sig: Sig) -> Result<(), Refusal> {
        Err(Refusal::Unsupported)
    }

    pub fn signal_group(_target: &Verified, _pgid: i64, _sig: Sig) -> Result<(), Refusal> {
        Err(Refusal::Unsupported)
    }
}

#[cfg(all(test, unix))]
mod guard_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    #[test]
    fn reserved_pids_and_groups_are_never_signallable() {
        for pid in [i64::MIN, -1, 0, 1, i64::from(i32::MAX) + 1] {
            assert!(!is_signallable_pid(pid), "{pid}");
            assert!(!is_signallable_group(pid), "{pid}");
        }
        assert!(is_signallable_pid(2));
        #[cfg(unix)]
        {
            let own = own_process_group().unwrap();
            assert!(!is_signallable_group(own), "csa's own group");
        }
    }

    #[test]
    fn signals_read_as_their_unix_names_and_others_as_their_number() {
        for (sig, number, name) in [
            (Sig::Term, 15, "SIGTERM"),
            (Sig::Kill, 9, "SIGKILL"),
            (Sig::Cont, SIGCONT, "SIGCONT"),
        ] {
            assert_eq!((sig.number(), sig.name()), (number, name));
        }
        for (number, name) in [
            (1, "SIGHUP"),
            (2, "SIGINT"),
            (3, "SIGQUIT"),
            (4, "SIGILL"),
            (6, "SIGABRT"),
            (8, "SIGFPE"),
            (9, "SIGKILL"),
            (11, "SIGSEGV"),
            (13, "SIGPIPE"),
            (14, "SIGALRM"),
            (15, "SIGTERM"),
            (10, "signal 10"),
            (0, "signal 0"),
        ] {
            assert_eq!(signal_name(number), name);
        }
    }

    #[test]
    fn the_daemon_command_line_must_name_this_session_before_the_separator() {
        let yes = [
            format!("/usr/bin/csa daemon --session-dir /x --session-id {ID} --tool t -- sleep 1"),
            format!("csa daemon --session-id={ID} -- x"),
            format!("csa daemon --session-id {} -- x", ID.to_lowercase()),
        ];
        for line in yes {
            assert!(is_daemon_of(&args(&line), ID), "{line}");
        }
        let no = [
            format!("csa run --session-id {ID}"),
            format!("sleep 60 daemon --session-id {ID}"),
            format!("csa daemon --session-id 01BX5ZZKBKACTAV9WEVGEMMVRZ -- --session-id {ID}"),
            format!("csa daemon -- --session-id {ID}"),
            "csa daemon --session-id".to_owned(),
            String::new(),
        ];
        for line in no {
            assert!(!is_daemon_of(&args(&line), ID), "{line}");
        }
    }

    #[test]
    fn the_session_dir_and_id_a_daemon_command_line_names() {
        let argv = |line: &str| {
            daemon_argv(&args(line))
                .map(|d| (d.session_dir.map(str::to_owned), d.session_id.to_owned()))
        };
        let dir = format!("/s/{ID}");
        assert_eq!(
            argv(&format!(
                "csa daemon --session-dir {dir} --session-id {ID} -- x"
            )),
            Some((Some(dir), ID.to_owned()))
        );
        assert_eq!(
            argv(&format!(
                "/bin/csa daemon --tool t --session-id={ID} --session-dir=/d"
            )),
            Some((Some("/d".to_owned()), ID.to_owned()))
        );
        assert_eq!(
            argv(&format!("sh daemon --session-id {ID}")),
            Some((None, ID.to_owned())),
            "the shape alone, which is all a spoof needs"
        );
        for line in [
            format!("csa run --session-id {ID}"),
            format!("csa daemon -- --session-id {ID}"),
            format!("csa daemon --session-dir /d -- --session-id {ID}"),
            format!("sleep 60 daemon --session-id {ID}"),
            "csa daemon --session-id".to_owned(),
            "csa".to_owned(),
        ] {
            assert_eq!(argv(&line), None, "{line}");
        }
    }

    #[test]
    fn a_command_record_is_required_and_must_lead_its_group() {
        let tmp = tempfile::tempdir().unwrap();
        let refused = verify_command(&SessionDir::new(tmp.path()), ID).unwrap_err();
        assert!(refused.to_string().contains("cmd.pid"), "{refused}");
        fs_err::write(tmp.path().join("cmd.pid"), "1 5\n").unwrap();
        let sid = facts::session_of(std::process::id()).map_or(2, |sid| sid.max(2));
        fs_err::write(tmp.path().join("daemon.pid"), format!("{sid}\n")).unwrap();
        assert!(matches!(
            verify_command(&SessionDir::new(tmp.path()), ID),
            Err(Refusal::ReservedPid { pid: 1 })
        ));
        #[cfg(target_os = "linux")]
        {
            // A child left in our process group does not lead a group.
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .env(csa_session::consts::ENV_SESSION_ID, ID)
                .spawn()
                .unwrap();
            let ticks = facts::start_time_ticks(child.id()).unwrap();
            fs_err::write(
                tmp.path().join("cmd.pid"),
                format!("{} {ticks}\n", child.id()),
            )
            .unwrap();
            let refused = verify_command(&SessionDir::new(tmp.path()), ID);
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                matches!(refused, Err(Refusal::NotGroupLeader { .. })),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_record_naming_pid_one_or_without_start_time_is_refused_before_any_probe() {
        let pid_one = DaemonPid {
            pid: 1,
            start_time_ticks: Some(1),
        };
        let refused = verify(&pid_one, |_| Ok(())).unwrap_err();
        assert!(
            matches!(refused, Refusal::ReservedPid { pid: 1 }),
            "{refused}"
        );
        let legacy = DaemonPid {
            pid: std::process::id(),
            start_time_ticks: None,
        };
        assert!(matches!(
            verify(&legacy, |_| Ok(())),
            Err(Refusal::NoStartTime { .. })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_process_with_its_start_time_verifies_only_if_its_identity_does() {
        let me = std::process::id();
        let record = DaemonPid {
            pid: me,
            start_time_ticks: facts::start_time_ticks(me),
        };
        assert!(verify(&record, |_| Ok(())).is_ok());
        let refused = verify(&record, |pid| {
            Err(Refusal::NotTheDaemon {
                pid,
                session_id: ID.into(),
                cmdline: String::new(),
            })
        });
        assert!(matches!(refused, Err(Refusal::NotTheDaemon { .. })));
        let reused = DaemonPid {
            pid: me,
            start_time_ticks: record.start_time_ticks.map(|t| t + 1),
        };
        assert!(matches!(
            verify(&reused, |_| Ok(())),
            Err(Refusal::Reused { .. })
        ));
    }
}
