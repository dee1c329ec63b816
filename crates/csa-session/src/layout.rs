//! The layout of a project's sessions folder and of one session dir: the only
//! place that joins the file names of [`crate::consts`] onto paths. Every
//! crate asks a [`SessionDir`] or [`SessionsDir`] for a path.

use std::path::{Path, PathBuf};

use crate::consts::{
    ACP_EVENTS_LOG, CMD_PID_FILE, COOLDOWN_LOCK_FILE, COOLDOWN_MARKER_FILE, CREATING_PREFIX,
    DAEMON_COMPLETION_FILE, DAEMON_PID_FILE, LOCK_EXT, LOCKS_DIR, OUTPUT_LOG, OUTPUT_LOG_ROTATED,
    PROGRESS_FILES, RECONCILE_LOCK_FILE, RESULT_FILE, STATE_FILE, STDERR_LOG, STDERR_LOG_ROTATED,
    STOP_REQUEST_FILE, TRASH_DIR,
};
use crate::id::SessionId;
use crate::tool::ToolName;

/// A folder holding session folders (`<root>/<project key>/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionsDir {
    pub path: PathBuf,
    /// True under the legacy `csa` root.
    pub legacy: bool,
}

impl SessionsDir {
    /// The folder of session `id` in this sessions folder.
    pub fn session(&self, id: &SessionId) -> SessionDir {
        SessionDir::new(self.path.join(id.as_str()))
    }

    /// `cooldown-marker.toml`.
    pub fn cooldown_marker(&self) -> PathBuf {
        self.path.join(COOLDOWN_MARKER_FILE)
    }

    /// `.cooldown-marker.lock`, taken by every writer of the marker.
    pub fn cooldown_lock(&self) -> PathBuf {
        self.path.join(COOLDOWN_LOCK_FILE)
    }

    /// `.trash`, where removed sessions wait to be deleted.
    pub fn trash(&self) -> PathBuf {
        self.path.join(TRASH_DIR)
    }

    /// `.trash/<c>`, `c` the last character of `id`: one of the 32 folders
    /// of the trash, so that removals of many sessions at once do not all
    /// wait on one folder (freeing a removed folder's blocks happens while
    /// its parent is locked).
    pub fn trash_shard(&self, id: &SessionId) -> PathBuf {
        let last = id.as_str().get(id.as_str().len() - 1..).unwrap_or("0");
        self.trash().join(last)
    }

    /// `.trash/<c>/<id>-<unique>`: where the removal of session `id` moves it.
    pub fn trash_entry(&self, id: &SessionId, unique: &str) -> PathBuf {
        self.trash_shard(id).join(format!("{id}-{unique}"))
    }

    /// `.creating-<id>`: where session `id` is staged before it appears.
    pub fn staging(&self, id: &SessionId) -> SessionDir {
        SessionDir::new(self.path.join(format!("{CREATING_PREFIX}{id}")))
    }

    /// The session id of a staging folder's name (`.creating-<id>`).
    pub fn staged_id(name: &str) -> Option<SessionId> {
        SessionId::parse(name.strip_prefix(CREATING_PREFIX)?).ok()
    }
}

/// One session's folder and the paths of its files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDir(PathBuf);

impl SessionDir {
    pub fn new(path: impl Into<PathBuf>) -> SessionDir {
        SessionDir(path.into())
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The sessions folder this session is in.
    pub fn parent(&self) -> Option<&Path> {
        self.0.parent()
    }

    /// `state.toml`.
    pub fn state(&self) -> PathBuf {
        self.0.join(STATE_FILE)
    }

    /// `result.toml`.
    pub fn result(&self) -> PathBuf {
        self.0.join(RESULT_FILE)
    }

    /// `daemon-completion.toml`.
    pub fn completion(&self) -> PathBuf {
        self.0.join(DAEMON_COMPLETION_FILE)
    }

    /// `daemon.pid`.
    pub fn daemon_pid(&self) -> PathBuf {
        self.0.join(DAEMON_PID_FILE)
    }

    /// `cmd.pid`.
    pub fn cmd_pid(&self) -> PathBuf {
        self.0.join(CMD_PID_FILE)
    }

    /// `stop-request.toml`.
    pub fn stop_request(&self) -> PathBuf {
        self.0.join(STOP_REQUEST_FILE)
    }

    /// `locks/`.
    pub fn locks(&self) -> PathBuf {
        self.0.join(LOCKS_DIR)
    }

    /// `locks/<tool>.lock`.
    pub fn lock(&self, tool: &ToolName) -> PathBuf {
        self.locks().join(format!("{tool}.{LOCK_EXT}"))
    }

    /// `output.log`.
    pub fn output_log(&self) -> PathBuf {
        self.0.join(OUTPUT_LOG)
    }

    /// `stderr.log`.
    pub fn stderr_log(&self) -> PathBuf {
        self.0.join(STDERR_LOG)
    }

    /// `output.log.1`: `output.log` as it was when it was last rotated.
    pub fn output_log_rotated(&self) -> PathBuf {
        self.0.join(OUTPUT_LOG_ROTATED)
    }

    /// `stderr.log.1`: `stderr.log` as it was when it was last rotated.
    pub fn stderr_log_rotated(&self) -> PathBuf {
        self.0.join(STDERR_LOG_ROTATED)
    }

    /// `output/acp-events.jsonl`.
    pub fn acp_events(&self) -> PathBuf {
        self.0.join(ACP_EVENTS_LOG)
    }

    /// `.reconcile.lock`.
    pub fn reconcile_lock(&self) -> PathBuf {
        self.0.join(RECONCILE_LOCK_FILE)
    }

    /// The files whose recent modification is progress, with their names.
    pub fn progress_files(&self) -> impl Iterator<Item = (&'static str, PathBuf)> + '_ {
        PROGRESS_FILES
            .into_iter()
            .map(|name| (name, self.0.join(name)))
    }

    /// A lock file's name in messages (`locks/<file name>`), from its path.
    pub fn lock_label(lock_file: &Path) -> String {
        let name = lock_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{LOCKS_DIR}/{name}")
    }

    /// Whether `path` (inside `locks/`) names a lock file.
    pub fn is_lock_file(path: &Path) -> bool {
        path.extension().is_some_and(|ext| ext == LOCK_EXT)
    }
}

impl AsRef<Path> for SessionDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_a_session_dir() {
        let dir = SessionDir::new("/s/01ARZ3NDEKTSV4RRFFQ69G5FAV");
        let tool = ToolName::parse("codex").unwrap();
        assert_eq!(
            dir.state(),
            Path::new("/s/01ARZ3NDEKTSV4RRFFQ69G5FAV/state.toml")
        );
        assert_eq!(
            dir.lock(&tool),
            Path::new("/s/01ARZ3NDEKTSV4RRFFQ69G5FAV/locks/codex.lock")
        );
        assert_eq!(SessionDir::lock_label(&dir.lock(&tool)), "locks/codex.lock");
        assert!(SessionDir::is_lock_file(&dir.lock(&tool)));
        assert_eq!(dir.parent(), Some(Path::new("/s")));
        let sessions = SessionsDir {
            path: PathBuf::from("/s"),
            legacy: false,
        };
        let id = SessionId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
        assert_eq!(
            sessions.trash_entry(&id, "7-x"),
            Path::new("/s/.trash/V/01ARZ3NDEKTSV4RRFFQ69G5FAV-7-x")
        );
        let staging = sessions.staging(&id);
        assert_eq!(
            staging.path(),
            Path::new("/s/.creating-01ARZ3NDEKTSV4RRFFQ69G5FAV")
        );
        assert_eq!(
            SessionsDir::staged_id(".creating-01arz3ndektsv4rrffq69g5fav"),
            Some(id)
        );
        assert_eq!(SessionsDir::staged_id(".creating-../x"), None);
        let names: Vec<_> = dir.progress_files().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["output.log", "stderr.log", "output/acp-events.jsonl"]
        );
    }
}
