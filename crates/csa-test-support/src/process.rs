//! Real child processes for tests, always killed and reaped, and what the
//! kernel says about them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A pid that can never exist on Linux (above `PID_MAX_LIMIT`).
pub const DEAD_PID: u32 = 4_194_304 + 1000;

/// A child process killed (with its group, when it leads one) and reaped when
/// dropped.
pub struct Guard {
    pub child: Child,
    pub group: bool,
}

impl Guard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.group {
            kill_group(self.child.id());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `program` with stdout piped.
pub fn spawn(program: &str, args: &[&str]) -> Guard {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    Guard {
        child,
        group: false,
    }
}

/// Make `command` start its own session (and so its own process group:
/// sid = pgid = pid), as a command in its daemon's session is in one led by a
/// process of this pid namespace. The test's own session may not be: where
/// its leader is outside the namespace (a container entered from the host),
/// `getsid` says 0.
#[cfg(unix)]
pub fn in_new_session(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the child only makes the setsid system
    // call; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        })
    }
}

/// Spawn leading a new session and process group (sid = pgid = pid).
#[cfg(unix)]
pub fn spawn_group(program: &str, args: &[&str]) -> Guard {
    let child = in_new_session(Command::new(program).args(args).stdin(Stdio::null()))
        .spawn()
        .expect("spawn");
    Guard { child, group: true }
}

/// Spawn leading a new session and process group with `CSA_SESSION_ID`
/// naming [`crate::ScratchSession::ID`], as a command csa runs for that
/// session.
#[cfg(unix)]
pub fn spawn_session_group(program: &str, args: &[&str]) -> Guard {
    let child = in_new_session(
        Command::new(program)
            .args(args)
            .env(
                csa_session::consts::ENV_SESSION_ID,
                crate::ScratchSession::ID,
            )
            .stdin(Stdio::null()),
    )
    .spawn()
    .expect("spawn");
    wait_for_session_environ(child.id());
    Guard { child, group: true }
}

/// Wait until the environment of `pid` shows `CSA_SESSION_ID` (as
/// `verify_command` reads it), or the process has already ended (a zombie
/// has no environment): `spawn` returns once the child has called `execve`,
/// but the kernel lays out the new environment a moment later, and a read in
/// between finds it empty.
#[cfg(unix)]
fn wait_for_session_environ(pid: u32) {
    wait_until("the command's environment", || {
        let shown = csa_process::facts::environ_has(
            pid,
            csa_session::consts::ENV_SESSION_ID,
            crate::ScratchSession::ID,
        );
        shown == Some(true) || !matches!(proc_state(pid), Some('R' | 'S' | 'D'))
    });
}

/// `sleep 60`.
pub fn sleeper() -> Guard {
    spawn("sleep", &["60"])
}

/// SIGKILL the process group `pgid` (tests only; csa itself signals only
/// through `csa_process::signal`).
#[cfg(unix)]
pub fn kill_group(pgid: u32) {
    let pgid = i32::try_from(pgid).ok().filter(|p| *p > 1);
    if let Some(pgid) = pgid.and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
    }
}

#[cfg(not(unix))]
pub fn kill_group(_pgid: u32) {}

/// Whether process group `pgid` has any member, zombies included.
#[cfg(unix)]
pub fn group_alive(pgid: u32) -> bool {
    let pgid = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    pgid.is_some_and(|pgid| rustix::process::test_kill_process_group(pgid).is_ok())
}

/// Poll `cond` for up to 20 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `/proc/<pid>/stat` state letter of `pid`, if it exists.
pub fn proc_state(pid: u32) -> Option<char> {
    let text = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    csa_process::facts::parse_proc_stat(&text)
        .ok()
        .map(|f| f.state)
}

/// The start time of a live `pid`, in the unit pid records use.
pub fn start_time(pid: u32) -> u64 {
    csa_process::facts::start_time_ticks(pid).expect("a live pid has a start time")
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: u32) -> usize {
    let Ok(pgid) = i32::try_from(pgid) else {
        return 0;
    };
    fs_err::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| fs_err::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| csa_process::facts::parse_proc_stat(&stat).ok())
        .filter(|f| f.pgid == pgid && f.state != 'Z')
        .count()
}
