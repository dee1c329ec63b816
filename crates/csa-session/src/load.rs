//! Loading a session's files with an answer that tells missing, unreadable and
//! unparseable apart, and keeps the exact bytes read (for content-aware removes
//! and byte-identity checks).

use std::io::ErrorKind;
use std::path::Path;

use crate::completion::DaemonCompletion;
use crate::error::LoadError;
use crate::layout::SessionDir;
use crate::read::{MAX_FILE_BYTES, read_bounded};
use crate::result::SessionResult;
use crate::state::SessionState;

/// A session dir without `state.toml` that is younger than
/// [`INITIALIZING_AGE`](crate::consts::INITIALIZING_AGE): it is being created
/// (older installs create the dir first), not broken.
pub fn is_initializing(session: &SessionDir, err: &LoadError) -> bool {
    let changed = fs_err::symlink_metadata(session.path())
        .ok()
        .and_then(|meta| meta.modified().ok());
    is_initializing_since(err, changed)
}

/// [`is_initializing`] for a dir last changed at `changed` (as read earlier:
/// removal reads it before taking `.reconcile.lock`, whose creation changes
/// the dir).
pub fn is_initializing_since(err: &LoadError, changed: Option<std::time::SystemTime>) -> bool {
    if !err.is_missing() {
        return false;
    }
    changed.is_some_and(|at| {
        std::time::SystemTime::now()
            .duration_since(at)
            .is_ok_and(|age| age < crate::consts::INITIALIZING_AGE)
            || at > std::time::SystemTime::now()
    })
}

/// A session whose `state.toml` is missing because the session dir itself
/// is gone: it was removed (moved to the trash) after it was listed.
pub fn is_gone(session: &SessionDir, err: &LoadError) -> bool {
    err.is_missing()
        && fs_err::symlink_metadata(session.path()).is_err_and(|e| e.kind() == ErrorKind::NotFound)
}

/// A parsed file and the bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: T,
    pub bytes: Vec<u8>,
}

/// Read a store file (bounded, never blocking): `Missing` when absent,
/// `Unreadable` for any other failure, including a file that is not a regular
/// file or is larger than [`MAX_FILE_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_bounded(path, MAX_FILE_BYTES).map_err(|source| {
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

/// The session's `state.toml`.
pub fn load_state(session: &SessionDir) -> Result<Loaded<SessionState>, LoadError> {
    load_with(&session.state(), SessionState::parse)
}

/// The session's `result.toml`.
pub fn load_result(session: &SessionDir) -> Result<Loaded<SessionResult>, LoadError> {
    load_with(&session.result(), SessionResult::parse)
}

/// The session's `result.toml` when there is one: `Ok(None)` when it is missing.
pub fn load_result_if_any(session: &SessionDir) -> Result<Option<SessionResult>, LoadError> {
    match load_result(session) {
        Ok(loaded) => Ok(Some(loaded.value)),
        Err(err) if err.is_missing() => Ok(None),
        Err(err) => Err(err),
    }
}

/// `state.toml` read again, reusing `previous`'s parse if unchanged.
pub fn reload_state(
    session: &SessionDir,
    previous: Option<Loaded<SessionState>>,
) -> Result<Loaded<SessionState>, LoadError> {
    reload_with(&session.state(), previous, SessionState::parse)
}

/// `result.toml` read again, reusing `previous`'s parse if unchanged.
pub fn reload_result(
    session: &SessionDir,
    previous: Option<Loaded<SessionResult>>,
) -> Result<Loaded<SessionResult>, LoadError> {
    reload_with(&session.result(), previous, SessionResult::parse)
}

/// The session's `daemon-completion.toml`.
pub fn load_daemon_completion(session: &SessionDir) -> Result<Loaded<DaemonCompletion>, LoadError> {
    load_with(&session.completion(), DaemonCompletion::parse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::ResultStatus;

    #[test]
    fn missing_unreadable_and_unparseable_are_distinct() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        assert!(load_state(&session).unwrap_err().is_missing());
        fs_err::create_dir(session.state()).unwrap();
        assert!(matches!(
            load_state(&session).unwrap_err(),
            LoadError::Unreadable { .. }
        ));
        fs_err::write(session.result(), "").unwrap();
        let err = load_result(&session).unwrap_err();
        assert!(matches!(err, LoadError::Unparseable { .. }), "{err}");
        fs_err::write(session.result(), b"status = \"\xff\"").unwrap();
        let err = load_result(&session).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn reload_reuses_the_parse_only_for_identical_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let text = "status = \"success\"\nexit_code = 0\nsummary = \"\"\ntool = \"t\"\n\
                    started_at = \"2026-01-01T00:00:00Z\"\ncompleted_at = \"2026-01-01T00:00:01Z\"\n";
        fs_err::write(session.result(), text).unwrap();
        let mut first = load_result(&session).unwrap();
        // A marker the file does not hold: kept only if the old parse is reused.
        first.value = SessionResult::new(
            &ResultStatus::parse("marker"),
            7,
            "",
            "t",
            first.value.completed_at(),
            first.value.completed_at(),
        );
        let same = reload_result(&session, Some(first.clone())).unwrap();
        assert_eq!(same.value.status_text(), "marker");
        fs_err::write(
            session.result(),
            text.replace("exit_code = 0", "exit_code = 3"),
        )
        .unwrap();
        let changed = reload_result(&session, Some(first)).unwrap();
        assert_eq!(
            (changed.value.status(), changed.value.exit_code()),
            (ResultStatus::Success, 3)
        );
        fs_err::remove_file(session.result()).unwrap();
        assert!(reload_result(&session, None).unwrap_err().is_missing());
    }

    #[test]
    fn loaded_keeps_the_exact_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "exit_code = 0\nstatus = \"success\"   # done\n";
        let session = SessionDir::new(tmp.path());
        fs_err::write(session.completion(), text).unwrap();
        let loaded = load_daemon_completion(&session).unwrap();
        assert_eq!(loaded.bytes, text.as_bytes());
        assert_eq!(loaded.value.status, ResultStatus::Success);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_link_as_state_is_unreadable_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let status = std::process::Command::new("mkfifo")
            .arg(session.state())
            .status()
            .unwrap();
        assert!(status.success());
        let err = load_state(&session).unwrap_err();
        assert!(matches!(err, LoadError::Unreadable { .. }), "{err}");
        std::os::unix::fs::symlink("/dev/zero", session.result()).unwrap();
        assert!(matches!(
            load_result(&session).unwrap_err(),
            LoadError::Unreadable { .. }
        ));
    }
}
