//! Finding sessions: every session folder of a sessions folder, and one
//! session by full id or unique, case-insensitive prefix, and a full id in
//! any project.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::error::IdError;
use crate::id::{IdPrefix, SessionId};
use crate::layout::{SessionDir, SessionsDir};
use crate::roots::StateRoots;

/// Where one session lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLocation {
    pub id: SessionId,
    pub dir: SessionDir,
    /// True when the session is under the legacy `csa` root.
    pub legacy: bool,
}

impl SessionLocation {
    /// The sessions folder this session is in.
    pub fn sessions_dir(&self) -> Option<SessionsDir> {
        Some(SessionsDir {
            path: self.dir.parent()?.to_path_buf(),
            legacy: self.legacy,
        })
    }
}

/// Every session in these folders; a folder that cannot be listed is handed
/// to `skipped` and the others are still listed.
pub fn list_sessions_each(
    dirs: &[SessionsDir],
    mut skipped: impl FnMut(&IdError),
) -> Vec<SessionLocation> {
    let mut found = Vec::new();
    for dir in dirs {
        match list_sessions(dir) {
            Ok(sessions) => found.extend(sessions),
            Err(err) => skipped(&err),
        }
    }
    found
}

/// Every session folder in `sessions_dir`: real folders whose name is a ULID
/// (in either case). Names starting with `.` (temp folders, the trash) and
/// symlinks are skipped. A sessions folder that does not exist holds none.
pub fn list_sessions(sessions_dir: &SessionsDir) -> Result<Vec<SessionLocation>, IdError> {
    let mut found = Vec::new();
    let listed = each_session_folder(&sessions_dir.path, |id, name| {
        // One allocation of the right size (`Path::join` grows a copy).
        let base = sessions_dir.path.as_os_str();
        let mut path = PathBuf::with_capacity(base.len() + 1 + name.len());
        path.push(base);
        path.push(name);
        found.push(SessionLocation {
            id,
            dir: SessionDir::new(path),
            legacy: sessions_dir.legacy,
        });
    });
    match listed {
        Ok(()) => Ok(found),
        Err(source) => Err(IdError::Io {
            path: sessions_dir.path.clone(),
            source,
        }),
    }
}

/// Call `each` with the id and the name of every real folder in `dir` named
/// like a session. A `dir` that does not exist has none; an error while it
/// is read is an error.
#[cfg(unix)]
pub(crate) fn each_session_folder(
    dir: &Path,
    mut each: impl FnMut(SessionId, &std::ffi::OsStr),
) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStrExt;

    use rustix::fs::{Mode, OFlags};

    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    crate::entries::each_entry(fd.as_fd(), |name, kind| {
        let Some(Ok(id)) = name.to_str().ok().map(SessionId::parse) else {
            return Ok(());
        };
        // Only real directories: a symlink named like a session is not
        // followed. One that cannot be looked at is skipped too.
        if crate::entries::listed_as_dir(fd.as_fd(), name, kind).unwrap_or(false) {
            each(id, std::ffi::OsStr::from_bytes(name.to_bytes()));
        }
        Ok(())
    })
}

#[cfg(not(unix))]
pub(crate) fn each_session_folder(
    dir: &Path,
    mut each: impl FnMut(SessionId, &std::ffi::OsStr),
) -> std::io::Result<()> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(Ok(id)) = name.to_str().map(SessionId::parse) else {
            continue;
        };
        // Only real directories: a symlink named like a session is not followed.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            each(id, &name);
        }
    }
    Ok(())
}

/// Resolve `prefix` to exactly one session across `dirs` (primary first).
pub fn resolve_prefix(dirs: &[SessionsDir], prefix: &IdPrefix) -> Result<SessionLocation, IdError> {
    if let Some(id) = prefix.as_full_id() {
        return find_full_id(dirs, &id)?.ok_or_else(|| IdError::NotFound {
            prefix: prefix.as_str().to_owned(),
        });
    }
    let mut matches = Vec::new();
    for dir in dirs {
        matches.extend(
            list_sessions(dir)?
                .into_iter()
                .filter(|loc| loc.id.as_str().starts_with(prefix.as_str())),
        );
    }
    matches.sort_by(|a, b| a.id.cmp(&b.id));
    matches.dedup_by(|a, b| a.id == b.id);
    match matches.len() {
        0 => Err(IdError::NotFound {
            prefix: prefix.as_str().to_owned(),
        }),
        1 => Ok(matches.remove(0)),
        _ => Err(IdError::Ambiguous {
            prefix: prefix.as_str().to_owned(),
            candidates: matches.into_iter().map(|m| m.id.to_string()).collect(),
        }),
    }
}

/// The session with this full id in `dirs`, if there is one. The folder is
/// looked up by its canonical (uppercase) name first; a folder written in
/// another case (ids are case-insensitive) is found by listing.
pub fn find_full_id(
    dirs: &[SessionsDir],
    id: &SessionId,
) -> Result<Option<SessionLocation>, IdError> {
    for dir in dirs {
        let candidate = dir.path.join(id.as_str());
        if is_real_dir(&candidate) {
            return Ok(Some(SessionLocation {
                id: id.clone(),
                dir: SessionDir::new(candidate),
                legacy: dir.legacy,
            }));
        }
    }
    for dir in dirs {
        if let Some(found) = list_sessions(dir)?.into_iter().find(|loc| &loc.id == id) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The session with this full id in any project under the state roots
/// (primary root first, then legacy), with its project's dir: for a full id
/// that is not in the current project (prefixes stay project-scoped). The
/// walk stops at the first sessions folder that holds it, and looks into
/// each folder with a `stat` of the id's name (uppercase, then lowercase), not
/// a listing. Folders that cannot be read are passed by.
pub fn find_in_any_project(
    roots: &StateRoots,
    id: &SessionId,
) -> Option<(SessionLocation, PathBuf)> {
    let lower = id.as_str().to_ascii_lowercase();
    let mut found = None;
    roots.walk_sessions_dirs(|dir| {
        let Some(path) = [id.as_str(), lower.as_str()]
            .into_iter()
            .map(|name| dir.path.join(name))
            .find(|path| is_real_dir(path))
        else {
            return ControlFlow::Continue(());
        };
        let project = roots.project_of(&dir).unwrap_or_else(|| dir.path.clone());
        let loc = SessionLocation {
            id: id.clone(),
            dir: SessionDir::new(path),
            legacy: dir.legacy,
        };
        found = Some((loc, project));
        ControlFlow::Break(())
    });
    found
}

fn is_real_dir(path: &Path) -> bool {
    fs_err::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_A: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const ID_B: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAW";
    const ID_C: &str = "01BX5ZZKBKACTAV9WEVGEMMVRZ";

    fn sessions_with(ids: &[&str]) -> (tempfile::TempDir, SessionsDir) {
        let tmp = tempfile::tempdir().unwrap();
        for id in ids {
            fs_err::create_dir(tmp.path().join(id)).unwrap();
        }
        let dir = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        (tmp, dir)
    }

    #[test]
    fn prefix_resolution_is_case_insensitive() {
        let (_tmp, dir) = sessions_with(&[ID_A, ID_C]);
        let found = resolve_prefix(&[dir], &IdPrefix::parse("01bx5").unwrap()).unwrap();
        assert_eq!(found.id.as_str(), ID_C);
    }

    #[test]
    fn ambiguous_prefix_names_every_candidate_and_differs_from_no_match() {
        let (_tmp, dir) = sessions_with(&[ID_A, ID_B, ID_C]);
        let dirs = [dir];
        let err = resolve_prefix(&dirs, &IdPrefix::parse("01ARZ").unwrap()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, IdError::Ambiguous { .. }));
        assert!(
            text.contains("ambiguous") && text.contains(ID_A) && text.contains(ID_B),
            "{text}"
        );
        let err = resolve_prefix(&dirs, &IdPrefix::parse("7").unwrap()).unwrap_err();
        assert!(matches!(err, IdError::NotFound { .. }), "{err}");
    }

    #[test]
    fn full_id_resolves_without_listing_and_missing_full_id_is_not_found() {
        let (_tmp, dir) = sessions_with(&[ID_A]);
        let dirs = [dir];
        let found = resolve_prefix(&dirs, &IdPrefix::parse(ID_A).unwrap()).unwrap();
        assert_eq!(found.id.as_str(), ID_A);
        let err = resolve_prefix(&dirs, &IdPrefix::parse(ID_C).unwrap()).unwrap_err();
        assert!(matches!(err, IdError::NotFound { .. }));
    }

    #[test]
    fn listing_skips_non_ulid_entries_files_and_symlinks() {
        let (tmp, dir) = sessions_with(&[ID_A]);
        fs_err::write(tmp.path().join("cooldown-marker.toml"), "").unwrap();
        fs_err::create_dir(tmp.path().join("not-a-session")).unwrap();
        fs_err::write(tmp.path().join(ID_B), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join(ID_A), tmp.path().join(ID_C)).unwrap();
        fs_err::create_dir(tmp.path().join(".trash")).unwrap();
        let listed = list_sessions(&dir).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id.as_str(), ID_A);
        let missing = SessionsDir {
            path: tmp.path().join("nope"),
            legacy: false,
        };
        assert!(list_sessions(&missing).unwrap().is_empty());
    }

    #[test]
    fn a_full_id_is_found_in_any_project_under_either_root_with_its_project() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = StateRoots::from_state_home(tmp.path());
        let other = roots.primary.join("home/alice/other/sessions");
        let legacy = roots.legacy.join("home/bob/old/sessions");
        fs_err::create_dir_all(other.join(ID_A)).unwrap();
        fs_err::create_dir_all(legacy.join(ID_C.to_lowercase())).unwrap();
        fs_err::create_dir_all(roots.primary.join("empty/sessions")).unwrap();

        let (loc, project) = find_in_any_project(&roots, &SessionId::parse(ID_A).unwrap()).unwrap();
        assert_eq!(loc.dir.path(), other.join(ID_A));
        assert!(!loc.legacy);
        assert_eq!(project, PathBuf::from("/home/alice/other"));

        let (loc, project) = find_in_any_project(&roots, &SessionId::parse(ID_C).unwrap()).unwrap();
        assert!(loc.legacy && loc.dir.path().starts_with(&legacy));
        assert_eq!(loc.id.as_str(), ID_C);
        assert_eq!(project, PathBuf::from("/home/bob/old"));

        assert!(find_in_any_project(&roots, &SessionId::parse(ID_B).unwrap()).is_none());
    }

    #[test]
    fn a_full_id_resolves_to_a_folder_written_in_lower_case() {
        let (_tmp, dir) = sessions_with(&[&ID_A.to_lowercase()]);
        let found = resolve_prefix(&[dir], &IdPrefix::parse(ID_A).unwrap()).unwrap();
        assert_eq!(found.id.as_str(), ID_A);
        assert!(found.dir.path().ends_with(ID_A.to_lowercase()));
    }
}
