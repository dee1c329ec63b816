//! Loading a session's files with an answer that tells missing, unreadable and
//! unparseable apart, and keeps the exact bytes read (for content-aware removes
//! and byte-identity checks).

use std::io::{ErrorKind, Read as _};
use std::path::Path;

use crate::consts::{DAEMON_COMPLETION_FILE, RESULT_FILE, STATE_FILE};
use crate::error::LoadError;
use crate::result::{DaemonCompletion, SessionResult};
use crate::state::SessionState;

/// Starting buffer size for a session file (state files are well under 1 KiB).
const READ_CAPACITY: usize = 2048;

/// A parsed file and the bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: T,
    pub bytes: Vec<u8>,
}

/// Read a file: `Missing` when absent, `Unreadable` for any other I/O failure.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    #[allow(
        clippy::disallowed_methods,
        reason = "the error is mapped to a LoadError that names the path"
    )]
    let read = || -> std::io::Result<Vec<u8>> {
        // Session files are small: read without asking for the size first
        // (`fs::read` spends a stat on it), into a buffer that usually fits.
        let file = std::fs::File::open(path)?;
        let mut bytes = Vec::with_capacity(READ_CAPACITY);
        file.take(u64::MAX).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    read().map_err(|source| {
        if source.kind() == ErrorKind::NotFound {
            LoadError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            LoadError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn load_with<T>(
    path: &Path,
    parse: impl FnOnce(&str, &Path) -> Result<T, LoadError>,
) -> Result<Loaded<T>, LoadError> {
    reload_with(path, None, parse)
}

/// Read `path`; when its bytes are exactly those of `previous`, keep that
/// value instead of parsing the same text again.
fn reload_with<T>(
    path: &Path,
    previous: Option<Loaded<T>>,
    parse: impl FnOnce(&str, &Path) -> Result<T, LoadError>,
) -> Result<Loaded<T>, LoadError> {
    let bytes = read_bytes(path)?;
    if let Some(previous) = previous.filter(|p| p.bytes == bytes) {
        return Ok(previous);
    }
    let text = std::str::from_utf8(&bytes).map_err(|err| LoadError::Unparseable {
        path: path.to_path_buf(),
        reason: format!("not valid UTF-8 ({err})"),
    })?;
    let value = parse(text, path)?;
    Ok(Loaded { value, bytes })
}

/// `<session_dir>/state.toml`.
pub fn load_state(session_dir: &Path) -> Result<Loaded<SessionState>, LoadError> {
    load_with(&session_dir.join(STATE_FILE), SessionState::parse)
}

/// `<session_dir>/result.toml`.
pub fn load_result(session_dir: &Path) -> Result<Loaded<SessionResult>, LoadError> {
    load_with(&session_dir.join(RESULT_FILE), SessionResult::parse)
}

/// `<session_dir>/state.toml` read again, reusing `previous`'s parse if unchanged.
pub fn reload_state(
    session_dir: &Path,
    previous: Option<Loaded<SessionState>>,
) -> Result<Loaded<SessionState>, LoadError> {
    reload_with(&session_dir.join(STATE_FILE), previous, SessionState::parse)
}

/// `<session_dir>/result.toml` read again, reusing `previous`'s parse if unchanged.
pub fn reload_result(
    session_dir: &Path,
    previous: Option<Loaded<SessionResult>>,
) -> Result<Loaded<SessionResult>, LoadError> {
    reload_with(
        &session_dir.join(RESULT_FILE),
        previous,
        SessionResult::parse,
    )
}

/// `<session_dir>/daemon-completion.toml`.
pub fn load_daemon_completion(session_dir: &Path) -> Result<Loaded<DaemonCompletion>, LoadError> {
    load_with(
        &session_dir.join(DAEMON_COMPLETION_FILE),
        DaemonCompletion::parse,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_unreadable_and_unparseable_are_distinct() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load_state(tmp.path()).unwrap_err().is_missing());
        fs_err::create_dir(tmp.path().join(STATE_FILE)).unwrap();
        assert!(matches!(
            load_state(tmp.path()).unwrap_err(),
            LoadError::Unreadable { .. }
        ));
        fs_err::write(tmp.path().join(RESULT_FILE), "").unwrap();
        let err = load_result(tmp.path()).unwrap_err();
        assert!(matches!(err, LoadError::Unparseable { .. }), "{err}");
        fs_err::write(tmp.path().join(RESULT_FILE), b"status = \"\xff\"").unwrap();
        let err = load_result(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn reload_reuses_the_parse_only_for_identical_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "status = \"success\"\nexit_code = 0\nsummary = \"\"\ntool = \"t\"\n\
                    started_at = \"2026-01-01T00:00:00Z\"\ncompleted_at = \"2026-01-01T00:00:01Z\"\n";
        fs_err::write(tmp.path().join(RESULT_FILE), text).unwrap();
        let mut first = load_result(tmp.path()).unwrap();
        // A marker the file does not hold: kept only if the old parse is reused.
        first.value = SessionResult::new(
            "marker",
            7,
            "",
            "t",
            first.value.completed_at(),
            first.value.completed_at(),
        );
        let same = reload_result(tmp.path(), Some(first.clone())).unwrap();
        assert_eq!(same.value.status(), "marker");
        fs_err::write(
            tmp.path().join(RESULT_FILE),
            text.replace("exit_code = 0", "exit_code = 3"),
        )
        .unwrap();
        let changed = reload_result(tmp.path(), Some(first)).unwrap();
        assert_eq!(
            (changed.value.status(), changed.value.exit_code()),
            ("success", 3)
        );
        fs_err::remove_file(tmp.path().join(RESULT_FILE)).unwrap();
        assert!(reload_result(tmp.path(), None).unwrap_err().is_missing());
    }

    #[test]
    fn loaded_keeps_the_exact_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "exit_code = 0\nstatus = \"success\"   # done\n";
        fs_err::write(tmp.path().join(DAEMON_COMPLETION_FILE), text).unwrap();
        let loaded = load_daemon_completion(tmp.path()).unwrap();
        assert_eq!(loaded.bytes, text.as_bytes());
        assert_eq!(loaded.value.status, "success");
    }
}
