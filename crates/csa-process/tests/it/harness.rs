//! The harness binary these tests drive (`testbin/harness.rs`): it installs
//! signal handlers, becomes a subreaper and supervises, which the shared,
//! multi-threaded test process must not do itself.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use csa_test_support::{Guard, proc_state, wait_until};

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
            // Its own state root: what it spares is judged against it.
            .env("XDG_STATE_HOME", cwd.join("state"))
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
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).expect("a child pid");
        let signal = rustix::process::Signal::from_named_raw(signal).expect("a named signal");
        rustix::process::kill_process(pid, signal).expect("signal the harness");
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
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
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
