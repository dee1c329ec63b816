//! Sessions started by the real `csa run`, and what their daemon recorded.

use std::time::{Duration, Instant};

use crate::env::{Env, Session, stderr_of, stdout_of};

impl Env {
    /// `csa run --tool demo [ARGS...] -- CMD...`; the session it printed (its
    /// id must be the only line on stdout).
    pub fn csa_run(&self, args: &[&str], cmd: &[&str]) -> Session {
        let out = self
            .csa()
            .args(["run", "--tool", "demo"])
            .args(args)
            .arg("--")
            .args(cmd)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let text = stdout_of(&out);
        assert_eq!(
            text.lines().count(),
            1,
            "stdout must be the id alone: {text:?}"
        );
        let id = text.trim();
        csa_session::SessionId::parse(id).expect("a ULID");
        self.session_of(id)
    }
}

impl Session {
    /// The daemon's `(pid, start time)` from `daemon.pid`, waiting for it.
    pub fn daemon_record(&self) -> (u32, u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(text) = fs_err::read_to_string(self.path("daemon.pid"))
                && let Ok(record) = csa_process::DaemonPid::parse(&text)
                && let Some(ticks) = record.start_time_ticks
            {
                return (record.pid, ticks);
            }
            assert!(
                Instant::now() < deadline,
                "no daemon.pid in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
