//! Shared helpers: a temp state home and project, session builders, and a
//! `csa` command wired to them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use csa_session::SessionId;

/// A pid that can never exist on Linux (above PID_MAX_LIMIT).
pub const DEAD_PID: u32 = 4_194_304 + 1000;

/// Every fault point of the reconcile protocol, in order.
pub const RECONCILE_FAULT_POINTS: [&str; 6] = [
    "reconcile:locked",
    "reconcile:publish",
    "reconcile:transition",
    "reconcile:state-write",
    "reconcile:cooldown",
    "reconcile:done",
];

pub const CLAUDE_STATE: &str = include_str!("fixtures/claude-state.toml");
pub const CODEX_STATE: &str = include_str!("fixtures/codex-state.toml");

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub state_home: PathBuf,
    pub project: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        Env::with_project_named("project")
    }

    /// An env whose project folder has this name (which may hold any
    /// character a file name can).
    pub fn with_project_named(name: &str) -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let state_home = tmp.path().join("state");
        let project = tmp.path().join(name);
        fs_err::create_dir_all(&state_home).unwrap();
        fs_err::create_dir_all(&project).unwrap();
        let project = fs_err::canonicalize(&project).unwrap();
        Env {
            tmp,
            state_home,
            project,
        }
    }

    pub fn csa(&self) -> Command {
        Command::from_std(self.csa_std())
    }

    /// `csa` as a std Command (for background runs).
    pub fn csa_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("csa"));
        cmd.env("XDG_STATE_HOME", &self.state_home)
            .env("HOME", self.tmp.path())
            .env_remove("RUST_LOG")
            // Colour and width: a test that needs one sets it.
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("COLUMNS")
            .env_remove("TERM")
            .env_remove("CI")
            .env_remove("CSA_FAULT")
            .env("CSA_FAULT_DIR", self.tmp.path())
            .current_dir(&self.project);
        cmd
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.state_home
            .join("cli-sub-agent")
            .join(self.project.strip_prefix("/").unwrap())
            .join("sessions")
    }

    /// A new session dir with a state.toml (phase given) from the bench template.
    pub fn session(&self, phase: &str) -> Session {
        // ULIDs made in the same millisecond share their 11-character display
        // prefix (the SESSION column); tests that read the table need distinct ones.
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
            "project_path = \"/home/user/project/cli-sub-agent\"",
            &format!("project_path = \"{}\"", self.project.display()),
        );
        session.write("state.toml", &text);
        session
    }

    pub fn wait_for_file(&self, name: &str) {
        let path = self.tmp.path().join(name);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !path.exists() {
            assert!(Instant::now() < deadline, "timed out waiting for {name}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn resume(&self, point: &str) {
        fs_err::write(self.tmp.path().join(format!("{point}.resume")), "").unwrap();
    }
}

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
updated_at = "2026-01-01T00:00:05Z"
unknown_tool_key = 7

[context_status]
is_compacted = false
"#,
        toml::Value::String(project.display().to_string())
    )
}

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
}

pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let bytes = fs_err::read(&path).unwrap_or_default();
                files.insert(path, bytes);
            }
        }
    }
    files
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Names of temp files our writers leave behind if something went wrong.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot_dir(dir)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".csa-tmp-") || n.starts_with(".csa-removing-"))
        })
        .collect()
}

/// Set a file's modification time `secs` seconds into the past.
pub fn backdate(path: &Path, secs: u64) {
    let file = fs_err::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

impl Session {
    /// Write an old log (modified 120 s ago: no longer "recent progress").
    pub fn old_log(&self, name: &str, text: &str) {
        self.write(name, text);
        backdate(&self.path(name), 120);
    }
}
