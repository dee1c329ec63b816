//! Spawned processes that are always killed and reaped, and session dirs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use csa_process::{Liveness, ProbeContext};

pub const SESSION_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// A child process killed (and reaped) when dropped.
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
        let pid = self.child.id() as i32;
        unsafe {
            if self.group {
                libc::killpg(pid, libc::SIGKILL);
            }
            libc::kill(pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

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

/// Spawn in a new process group (pgid = pid).
pub fn spawn_group(program: &str, args: &[&str]) -> Guard {
    use std::os::unix::process::CommandExt;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn");
    Guard { child, group: true }
}

pub fn sleeper() -> Guard {
    spawn("sleep", &["60"])
}

/// Poll `cond` for up to 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn proc_state(pid: u32) -> Option<char> {
    let text = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    csa_process::facts::parse_proc_stat(&text)
        .ok()
        .map(|f| f.state)
}

pub struct SessionDir {
    pub tmp: tempfile::TempDir,
}

impl SessionDir {
    pub fn new() -> SessionDir {
        SessionDir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).expect("mkdir");
        }
        fs_err::write(&path, text).expect("write");
        path
    }

    pub fn daemon_pid(&self, pid: u32, ticks: Option<u64>) {
        let record = csa_process::DaemonPid {
            pid,
            start_time_ticks: ticks,
        };
        self.write("daemon.pid", &format!("{record}\n"));
    }

    pub fn liveness(&self, tools: &[&str]) -> Liveness {
        let tools: Vec<String> = tools.iter().map(|t| t.to_string()).collect();
        csa_process::liveness(self.path(), SESSION_ID, &tools, &ProbeContext::new())
    }
}

pub fn backdate(path: &Path, secs: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .expect("set mtime");
}

/// The test harness binary (see `testbin/harness.rs`).
pub const HARNESS: &str = env!("CARGO_BIN_EXE_csa-process-harness");

/// A running harness: its stdout lines arrive on a channel; dropping it
/// closes its stdin and kills it.
pub struct Harness {
    pub guard: Guard,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Harness {
    pub fn start(args: &[&str], cwd: &Path) -> Harness {
        use std::io::BufRead;
        let mut child = Command::new(HARNESS)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn harness");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Harness {
            guard: Guard {
                child,
                group: false,
            },
            lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// The next line, which must start with `word`; its other fields.
    pub fn expect(&self, word: &str) -> Vec<String> {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no `{word}` line from the harness"));
        let fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
        assert_eq!(fields[0], word, "unexpected line {line:?}");
        fields[1..].to_vec()
    }

    pub fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.pid() as i32, signal) };
    }
}

/// The pid exists (a zombie counts) and has this start time.
pub fn same_process_alive(pid: u32, ticks: u64) -> bool {
    csa_process::facts::start_time_ticks(pid) == Some(ticks) && proc_state(pid) != Some('Z')
}

/// `/proc/<pid>` is gone: exited and reaped.
pub fn reaped(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// SIGKILL `pid` if it still has start time `ticks`.
pub fn kill_if_same(pid: u32, ticks: Option<u64>) {
    if ticks.is_some() && csa_process::facts::start_time_ticks(pid) == ticks {
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

/// The numbers in `path`, one or more per line, once it has at least `n`.
pub fn read_pids(path: &Path, n: usize) -> Vec<u32> {
    let mut pids = Vec::new();
    wait_until(&format!("{n} pids in {}", path.display()), || {
        pids = fs_err::read_to_string(path)
            .unwrap_or_default()
            .split_ascii_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        pids.len() >= n
    });
    pids
}
