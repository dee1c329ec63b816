//! A hermetic environment for running `csa`: a temp state home, cache home
//! and project, session builders, and a `csa` command with every variable csa
//! reads set or cleared, so the caller's shell cannot change an outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use csa_process::{Liveness, ProbeContext};
use csa_session::SessionId;

use crate::fixtures::FIXTURE_PROJECT;
use crate::fs::{backdate, snapshot_dir};
use crate::process::DEAD_PID;

/// Variables csa reads that a test must never inherit from the caller (a
/// test that needs one, colour or width, sets it).
const CLEARED: [&str; 11] = [
    "RUST_LOG",
    // Asks csa for shell completions instead of running the command.
    "COMPLETE",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "TERM",
    "CI",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
    "LOCALAPPDATA",
];

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub state_home: PathBuf,
    pub cache_home: PathBuf,
    pub project: PathBuf,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

/// A test that ends (or fails) with sessions running would leave their
/// commands behind, some waiting for ever for a file in the temp dir removed
/// now: every active session of the env's projects is stopped first, with
/// `csa session kill --all` itself (which verifies before it signals).
impl Drop for Env {
    fn drop(&mut self) {
        let csa = assert_cmd::cargo::cargo_bin("csa");
        if !csa.is_file() {
            return;
        }
        for project in self.projects_with_active_sessions() {
            let mut kill = std::process::Command::new(&csa);
            self.apply(&mut kill);
            kill.args(["session", "kill", "--all", "--grace", "0.2", "--cd"])
                .arg(&project)
                .current_dir(self.tmp.path())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let Ok(mut child) = kill.spawn() else {
                continue;
            };
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Env {
    /// The project folders (under this env's temp dir) whose sessions
    /// folder holds a session whose state says it is active.
    fn projects_with_active_sessions(&self) -> Vec<PathBuf> {
        let root = self.state_home.join("cli-sub-agent");
        let mut found = Vec::new();
        let mut folders = vec![(root.clone(), 0)];
        while let Some((dir, depth)) = folders.pop() {
            let Ok(entries) = fs_err::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if entry.file_name() != "sessions" {
                    if depth < 32 {
                        folders.push((path, depth + 1));
                    }
                    continue;
                }
                let active = fs_err::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|s| {
                        // Only small regular files are read: tests plant
                        // FIFOs and huge files where states should be.
                        let state = s.path().join("state.toml");
                        fs_err::symlink_metadata(&state)
                            .is_ok_and(|meta| meta.is_file() && meta.len() < 1 << 20)
                            && fs_err::read_to_string(&state)
                                .is_ok_and(|state| state.contains("phase = \"active\""))
                    });
                let project = dir.strip_prefix(&root).ok().map(|p| Path::new("/").join(p));
                if let Some(project) = project.filter(|p| active && p.starts_with(self.tmp.path()))
                {
                    found.push(project);
                }
            }
        }
        found
    }

    pub fn new() -> Env {
        Env::with_project_named("project")
    }

    /// An env whose project folder has this name (which may hold any
    /// character a file name can).
    pub fn with_project_named(name: &str) -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state_home = tmp.path().join("state");
        let cache_home = tmp.path().join("cache");
        let project = tmp.path().join(name);
        for dir in [&state_home, &cache_home, &project] {
            fs_err::create_dir_all(dir).unwrap();
        }
        let project = fs_err::canonicalize(&project).unwrap();
        Env {
            tmp,
            state_home,
            cache_home,
            project,
        }
    }

    pub fn csa(&self) -> Command {
        Command::from_std(self.csa_std())
    }

    /// `csa` as a std Command (for background runs).
    pub fn csa_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("csa"));
        self.apply(&mut cmd);
        cmd.current_dir(&self.project);
        cmd
    }

    /// `unshare --pid --fork --mount-proc`, wired like [`Env::csa_std`];
    /// append the command to run inside a
    /// private pid namespace. `None` (with a note on stderr) where pid
    /// namespaces cannot be created.
    pub fn in_private_pid_namespace(&self) -> Option<std::process::Command> {
        let unshare = ["--pid", "--fork", "--mount-proc"];
        let works = std::process::Command::new("unshare")
            .args(unshare)
            .arg("true")
            .output()
            .is_ok_and(|out| out.status.success());
        if !works {
            eprintln!("skipped: `unshare --pid --fork --mount-proc` is not available here");
            return None;
        }
        let mut cmd = std::process::Command::new("unshare");
        cmd.args(unshare);
        self.apply(&mut cmd);
        cmd.current_dir(&self.project);
        Some(cmd)
    }

    /// `csa` run as an unprivileged user, wired like [`Env::csa_std`], for
    /// tests of what permission bits refuse (root ignores them). Not root:
    /// `csa` itself. Root: `setpriv` to `nobody` (65534), after this env's
    /// folder is handed to that user and the binary copied into it (so
    /// `nobody` can reach both). `None` (with a note on stderr) for root
    /// without `setpriv`.
    #[cfg(target_os = "linux")]
    pub fn csa_unprivileged(&self) -> Option<std::process::Command> {
        if !rustix::process::geteuid().is_root() {
            return Some(self.csa_std());
        }
        let works = std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !works {
            eprintln!("skipped: running as root without setpriv to drop privileges");
            return None;
        }
        let bin = self.tmp.path().join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        let csa = bin.join("csa");
        fs_err::copy(assert_cmd::cargo::cargo_bin("csa"), &csa).unwrap();
        give_to_nobody(self.tmp.path());
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&csa);
        self.apply(&mut cmd);
        cmd.env("CSA", &csa).current_dir(&self.project);
        Some(cmd)
    }

    /// Set or clear, on `cmd`, every variable csa reads; `$CSA` names the
    /// csa binary, for commands that start nested runs.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        cmd.env("CSA", assert_cmd::cargo::cargo_bin("csa"))
            .env("XDG_STATE_HOME", &self.state_home)
            .env("XDG_CACHE_HOME", &self.cache_home)
            .env("HOME", self.tmp.path())
            .env(csa_session::fault::FAULT_DIR_ENV, self.tmp.path());
        for key in CLEARED {
            cmd.env_remove(key);
        }
        for (key, _) in std::env::vars_os() {
            let is_csa = key.to_str().is_some_and(|k| k.starts_with("CSA_"));
            if is_csa && key != csa_session::fault::FAULT_DIR_ENV {
                cmd.env_remove(key);
            }
        }
        cmd.env_remove(csa_session::fault::FAULT_ENV);
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.state_home
            .join("cli-sub-agent")
            .join(self.project.strip_prefix("/").unwrap())
            .join("sessions")
    }

    /// `csa run --tool demo -- <cmd>`, which must succeed and print the id alone.
    pub fn run(&self, cmd: &[&str]) -> Session {
        self.run_with(&[], cmd)
    }

    /// `csa run --tool demo <options> -- <cmd>`, which must succeed and print
    /// the id alone.
    pub fn run_with(&self, options: &[&str], cmd: &[&str]) -> Session {
        let out = self
            .csa()
            .args(["run", "--tool", "demo"])
            .args(options)
            .arg("--")
            .args(cmd)
            .output()
            .unwrap();
        assert!(out.status.success(), "csa run failed: {}", stderr_of(&out));
        let text = stdout_of(&out);
        assert_eq!(
            text.lines().count(),
            1,
            "stdout must be the id alone: {text:?}"
        );
        let id = text.trim();
        SessionId::parse(id).expect("a ULID");
        self.session_of(id)
    }

    /// A session handle for an id that `csa run` printed.
    pub fn session_of(&self, id: &str) -> Session {
        Session {
            id: id.to_owned(),
            dir: self.sessions_dir().join(id),
        }
    }

    /// A new session dir with a state.toml (phase given) from the bench template.
    pub fn session(&self, phase: &str) -> Session {
        // ULIDs made in the same millisecond share a long prefix; tests that
        // read the table need distinct display prefixes.
        std::thread::sleep(Duration::from_millis(2));
        let id = SessionId::generate();
        let dir = self.sessions_dir().join(id.as_str());
        fs_err::create_dir_all(&dir).unwrap();
        let session = Session {
            id: id.to_string(),
            dir,
        };
        session.write("state.toml", &state_toml(id.as_str(), &self.project, phase));
        session
    }

    /// A session from a real fixture's state.toml, pointed at this project.
    pub fn fixture_session(&self, fixture: &str) -> Session {
        let session = self.session("active");
        let text = fixture.replace(
            &format!("project_path = \"{FIXTURE_PROJECT}\""),
            &format!(
                "project_path = {}",
                toml::Value::String(self.project.display().to_string())
            ),
        );
        session.write("state.toml", &text);
        session
    }

    /// Wait (polling, up to 30 s) for a fault point's handshake file.
    pub fn wait_for_file(&self, name: &str) {
        let path = self.tmp.path().join(name);
        crate::process::wait_until(name, || path.exists());
    }

    /// Wait until `csa` paused at `point`.
    pub fn wait_for_pause(&self, point: csa_session::fault::FaultPoint) {
        self.wait_for_file(&format!("{}.paused", point.name()));
    }

    /// Let `csa` go on from `point`.
    pub fn resume(&self, point: csa_session::fault::FaultPoint) {
        fs_err::write(self.tmp.path().join(format!("{}.resume", point.name())), "").unwrap();
    }
}

/// A `state.toml` with every kind of key: known, unknown, nested.
pub fn state_toml(id: &str, project: &Path, phase: &str) -> String {
    format!(
        r#"meta_session_id = "{id}"
description = "test session"
project_path = {}
branch = "main"
created_at = "2026-01-01T00:00:00Z"
last_accessed = "2026-01-01T00:00:05Z"
phase = "{phase}"
turn_count = 1
future_key = "kept"

[genealogy]
depth = 0

[tools.codex]
provider_session_id = "p-1"
last_action_summary = ""
last_exit_code = 0
updated_at = "2026-01-01T00:00:05Z"
unknown_tool_key = 7

[context_status]
is_compacted = false
"#,
        toml::Value::String(project.display().to_string())
    )
}

/// A valid `result.toml`.
pub fn result_toml(status: &str, exit_code: i64, summary: &str) -> String {
    format!(
        r#"status = "{status}"
exit_code = {exit_code}
summary = "{summary}"
tool = "codex"
started_at = "2026-01-01T00:00:00Z"
completed_at = "2026-01-01T00:00:05Z"
"#
    )
}

/// A session folder under an [`Env`]'s state home.
pub struct Session {
    pub id: String,
    pub dir: PathBuf,
}

impl Session {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        fs_err::write(path, text).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        fs_err::read_to_string(self.path(name)).unwrap()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// A `daemon.pid` naming a pid that cannot exist.
    pub fn dead_pid(self) -> Session {
        self.write("daemon.pid", &format!("{DEAD_PID} 12345\n"));
        self
    }

    pub fn state(&self) -> toml::Table {
        self.read("state.toml").parse().unwrap()
    }

    pub fn result(&self) -> toml::Table {
        self.read("result.toml").parse().unwrap()
    }

    pub fn phase(&self) -> String {
        self.state()["phase"].as_str().unwrap().to_owned()
    }

    /// Every file below the session dir with its bytes.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot_dir(&self.dir)
    }

    /// How many files in the session dir have `result` in their name.
    pub fn result_files(&self) -> usize {
        fs_err::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("result")
            })
            .count()
    }

    /// `(pid, start ticks)` of a pid record file (`daemon.pid`, `cmd.pid`),
    /// waiting up to 20 s for it to appear.
    pub fn pid_record(&self, name: &str) -> (u32, u64) {
        let mut found = None;
        crate::process::wait_until(name, || {
            let text = fs_err::read_to_string(self.path(name)).unwrap_or_default();
            let mut parts = text.split_whitespace();
            found = parts
                .next()
                .and_then(|p| p.parse().ok())
                .zip(parts.next().and_then(|t| t.parse().ok()));
            found.is_some()
        });
        found.unwrap()
    }

    /// The daemon's `(pid, start ticks)` once `csa run` recorded it.
    pub fn daemon_pid(&self) -> (u32, u64) {
        self.pid_record("daemon.pid")
    }

    /// The command's `(pid, start ticks)` once the daemon started it.
    pub fn cmd_pid(&self) -> (u32, u64) {
        self.pid_record("cmd.pid")
    }

    /// Set `last_accessed` in `state.toml` (every other key is kept).
    pub fn set_last_accessed(&self, at: chrono::DateTime<chrono::Utc>) {
        let mut state = self.state();
        state.insert(
            "last_accessed".into(),
            toml::Value::String(csa_session::format_time(at)),
        );
        self.write("state.toml", &toml::to_string(&state).unwrap());
    }

    /// Retire the session with a result (`status`, `exit_code`), last
    /// accessed `days` days ago.
    pub fn retired(self, status: &str, exit_code: i64, days: i64) -> Session {
        let mut state = self.state();
        state.insert("phase".into(), toml::Value::String("retired".into()));
        self.write("state.toml", &toml::to_string(&state).unwrap());
        self.write("result.toml", &result_toml(status, exit_code, "done"));
        self.set_last_accessed(chrono::Utc::now() - chrono::TimeDelta::days(days));
        self
    }

    /// Write an old log (modified 120 s ago: no longer "recent progress").
    pub fn old_log(&self, name: &str, text: &str) {
        self.write(name, text);
        backdate(&self.path(name), 120);
    }
}

/// A bare session dir in a temp folder (for liveness tests without a store).
pub struct ScratchSession {
    pub tmp: tempfile::TempDir,
}

impl Default for ScratchSession {
    fn default() -> Self {
        ScratchSession::new()
    }
}

impl ScratchSession {
    /// The id liveness is probed with.
    pub const ID: &'static str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    pub fn new() -> ScratchSession {
        ScratchSession {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn dir(&self) -> csa_session::SessionDir {
        csa_session::SessionDir::new(self.tmp.path())
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
        csa_process::liveness(&self.dir(), Self::ID, &tools, &ProbeContext::new())
    }
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Hand `dir` and everything in it (links themselves, never their targets)
/// to `nobody`.
#[cfg(target_os = "linux")]
fn give_to_nobody(dir: &Path) {
    let nobody = Some(rustix::fs::Uid::from_raw(65534));
    let group = Some(rustix::fs::Gid::from_raw(65534));
    let own = |path: &Path| {
        rustix::fs::chownat(
            rustix::fs::CWD,
            path,
            nobody,
            group,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
    };
    own(dir);
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs_err::symlink_metadata(&path).unwrap().is_dir() {
            give_to_nobody(&path);
        } else {
            own(&path);
        }
    }
}
