//! Where sessions live: the state roots and the project key (contract §1).
//!
//! `<state home>/cli-sub-agent/<project key>/sessions/<ULID>/`, where the state
//! home is `$XDG_STATE_HOME` when it is absolute, else `$HOME/.local/state`, and
//! the project key is the canonical project dir without its root, as folders.

use std::ffi::OsString;
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};

use crate::consts::{APP_DIR, LEGACY_APP_DIR, SESSIONS_DIR, STATE_FILE};
use crate::error::StoreError;
use crate::id::SessionId;
use crate::layout::SessionsDir;

/// The current and the legacy state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRoots {
    /// `<state home>/cli-sub-agent`: where new sessions are created.
    pub primary: PathBuf,
    /// `<state home>/csa`: read and reconciled in place, never created.
    pub legacy: PathBuf,
}

/// A project's place under a state root: the canonical dir without its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectKey {
    key: PathBuf,
    canonical: PathBuf,
}

/// The state home from the environment's values (pure, for tests).
pub fn state_home_from(
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, StoreError> {
    if let Some(xdg) = xdg_state_home.map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Ok(xdg);
    }
    match home.map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".local").join("state")),
        _ => Err(StoreError::NoStateHome(
            "neither XDG_STATE_HOME nor HOME is an absolute path; set one of them".into(),
        )),
    }
}

impl StateRoots {
    /// Roots from `XDG_STATE_HOME` / `HOME` (on Windows, `LOCALAPPDATA` / `USERPROFILE`).
    pub fn from_env() -> Result<StateRoots, StoreError> {
        let home = std::env::var_os("HOME");
        #[cfg(windows)]
        let home = home.or_else(|| std::env::var_os("USERPROFILE"));
        let xdg = std::env::var_os("XDG_STATE_HOME");
        #[cfg(windows)]
        let xdg = xdg.or_else(|| std::env::var_os("LOCALAPPDATA"));
        Ok(StateRoots::from_state_home(&state_home_from(xdg, home)?))
    }

    pub fn from_state_home(state_home: &Path) -> StateRoots {
        StateRoots {
            primary: state_home.join(APP_DIR),
            legacy: state_home.join(LEGACY_APP_DIR),
        }
    }

    /// Where new sessions of the project are created.
    pub fn primary_sessions_dir(&self, key: &ProjectKey) -> SessionsDir {
        SessionsDir {
            path: self.primary.join(&key.key).join(SESSIONS_DIR),
            legacy: false,
        }
    }

    /// The project's sessions folders: primary (always), then legacy if it exists.
    pub fn sessions_dirs(&self, key: &ProjectKey) -> Vec<SessionsDir> {
        let mut dirs = vec![self.primary_sessions_dir(key)];
        let legacy = self.legacy.join(&key.key).join(SESSIONS_DIR);
        if legacy.is_dir() {
            dirs.push(SessionsDir {
                path: legacy,
                legacy: true,
            });
        }
        dirs
    }

    /// Whether the project has a sessions folder under either root.
    pub fn has_sessions(&self, key: &ProjectKey) -> bool {
        [&self.primary, &self.legacy]
            .into_iter()
            .any(|root| root.join(&key.key).join(SESSIONS_DIR).is_dir())
    }

    /// The project a command run in `dir` (canonical) works on when no
    /// project is named: `dir` itself or its nearest ancestor whose sessions
    /// folder exists under either root, as git finds `.git` (contract §10);
    /// `dir` when none has one. A project whose sessions sit at `dir` is
    /// found first, so existing layouts resolve as before.
    pub fn nearest_project(&self, dir: &Path) -> ProjectKey {
        dir.ancestors()
            .map(|candidate| ProjectKey::from_canonical(candidate.to_path_buf()))
            .find(|key| self.has_sessions(key))
            .unwrap_or_else(|| ProjectKey::from_canonical(dir.to_path_buf()))
    }

    /// Every project's sessions folder under both roots (for `--all-projects`).
    ///
    /// Walks the project-key folders without following symlinks. A folder
    /// named `sessions` is a sessions folder, and is walked on too: a project
    /// path may itself hold a folder named `sessions` or named like a ULID.
    /// Inside a sessions folder, session dirs (a ULID name and a `state.toml`)
    /// and hidden names (temp dirs, the trash) are not walked, so the cost is
    /// one readdir per folder of the key tree and one stat per session. A
    /// folder that cannot be read is skipped and reported in
    /// [`SessionsWalk::skipped`]; the rest is still found.
    pub fn all_sessions_dirs(&self) -> SessionsWalk {
        let mut walk = SessionsWalk::default();
        walk.skipped = self.walk_sessions_dirs(|dir| {
            walk.found.push(dir);
            ControlFlow::Continue(())
        });
        walk.found.sort_by(|a, b| a.path.cmp(&b.path));
        walk
    }

    /// The walk of [`StateRoots::all_sessions_dirs`], primary root first:
    /// `visit` sees each sessions folder as soon as it is found (before it is
    /// read) and may stop the walk. Returns the folders that could not be read.
    pub fn walk_sessions_dirs(
        &self,
        mut visit: impl FnMut(SessionsDir) -> ControlFlow<()>,
    ) -> Vec<StoreError> {
        let mut skipped = Vec::new();
        for (root, legacy) in [(&self.primary, false), (&self.legacy, true)] {
            // (folder, is a sessions folder, is named like a session)
            let mut stack = vec![(root.clone(), false, false)];
            while let Some((dir, in_sessions, session_like)) = stack.pop() {
                let entries = match fs_err::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    // A session dir that cannot be read is the listing's to
                    // report (an Error row), not the walk's.
                    Err(_) if session_like => continue,
                    Err(source) => {
                        skipped.push(StoreError::Io { path: dir, source });
                        continue;
                    }
                };
                for entry in entries.flatten() {
                    if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                        continue;
                    }
                    let name = entry.file_name();
                    let path = entry.path();
                    if in_sessions && is_session_or_hidden(&name, &path) {
                        continue;
                    }
                    let is_sessions = name == SESSIONS_DIR;
                    if is_sessions {
                        let found = SessionsDir {
                            path: path.clone(),
                            legacy,
                        };
                        if visit(found).is_break() {
                            return skipped;
                        }
                    }
                    let session_like =
                        in_sessions && name.to_str().is_some_and(|n| SessionId::parse(n).is_ok());
                    stack.push((path, is_sessions, session_like));
                }
            }
        }
        skipped
    }

    /// The project whose sessions folder `dir` is (the inverse of
    /// [`ProjectKey`]), when `dir` is under one of the roots.
    pub fn project_of(&self, dir: &SessionsDir) -> Option<PathBuf> {
        let root = if dir.legacy {
            &self.legacy
        } else {
            &self.primary
        };
        let key = dir.path.strip_prefix(root).ok()?.parent()?;
        Some(project_dir_of_key(key))
    }
}

/// The absolute project dir a key was made from: `/` and the key (on
/// Windows, the drive folder `C` becomes `C:\`).
fn project_dir_of_key(key: &Path) -> PathBuf {
    #[cfg(windows)]
    {
        let mut parts = key.components();
        if let Some(Component::Normal(drive)) = parts.next() {
            let mut dir = PathBuf::from(format!("{}:\\", drive.to_string_lossy()));
            dir.push(parts.as_path());
            return dir;
        }
    }
    Path::new(std::path::MAIN_SEPARATOR_STR).join(key)
}

/// What [`StateRoots::all_sessions_dirs`] found, and the folders it could not read.
#[derive(Debug, Default)]
pub struct SessionsWalk {
    pub found: Vec<SessionsDir>,
    pub skipped: Vec<StoreError>,
}

/// Inside a sessions folder: a hidden name, or a session dir (a ULID name
/// with a `state.toml`). Neither is part of a project path.
fn is_session_or_hidden(name: &std::ffi::OsStr, path: &Path) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.starts_with('.')
        || (SessionId::parse(name).is_ok()
            && fs_err::symlink_metadata(path.join(STATE_FILE)).is_ok())
}

impl ProjectKey {
    /// The key of `project_dir`, which must exist (it is canonicalized).
    pub fn from_project_dir(project_dir: &Path) -> Result<ProjectKey, StoreError> {
        #[allow(
            clippy::disallowed_methods,
            reason = "StoreError::Project names the path; fs_err would name it twice"
        )]
        let canonical =
            std::fs::canonicalize(project_dir).map_err(|source| StoreError::Project {
                path: project_dir.to_path_buf(),
                source,
            })?;
        Ok(ProjectKey::from_canonical(canonical))
    }

    /// The key of an already canonical path.
    pub fn from_canonical(canonical: PathBuf) -> ProjectKey {
        let mut key = PathBuf::new();
        for component in canonical.components() {
            match component {
                Component::Normal(part) => key.push(part),
                Component::Prefix(prefix) => {
                    // `C:` becomes the folder `C`; other prefixes keep their letters only.
                    let text: String = prefix
                        .as_os_str()
                        .to_string_lossy()
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if !text.is_empty() {
                        key.push(text);
                    }
                }
                Component::RootDir | Component::CurDir | Component::ParentDir => {}
            }
        }
        ProjectKey { key, canonical }
    }

    /// The key as a relative path of nested folders.
    pub fn as_path(&self) -> &Path {
        &self.key
    }

    /// The canonical project dir the key was made from.
    pub fn project_dir(&self) -> &Path {
        &self.canonical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_state_home_wins_only_when_absolute() {
        let home = Some(OsString::from("/home/alice"));
        assert_eq!(
            state_home_from(Some("/x/state".into()), home.clone()).unwrap(),
            PathBuf::from("/x/state")
        );
        assert_eq!(
            state_home_from(Some("relative/state".into()), home.clone()).unwrap(),
            PathBuf::from("/home/alice/.local/state")
        );
        assert_eq!(
            state_home_from(None, home).unwrap(),
            PathBuf::from("/home/alice/.local/state")
        );
        assert!(state_home_from(None, None).is_err());
        assert!(state_home_from(Some("rel".into()), Some("rel".into())).is_err());
    }

    #[test]
    fn project_key_is_the_canonical_path_as_nested_folders() {
        let roots = StateRoots::from_state_home(Path::new("/s"));
        let key = ProjectKey::from_canonical(PathBuf::from("/home/alice/proj"));
        assert_eq!(key.as_path(), Path::new("home/alice/proj"));
        assert_eq!(
            roots.primary_sessions_dir(&key).path,
            PathBuf::from("/s/cli-sub-agent/home/alice/proj/sessions")
        );
        assert_eq!(roots.legacy, PathBuf::from("/s/csa"));
        let legacy = SessionsDir {
            path: roots.legacy.join(key.as_path()).join(SESSIONS_DIR),
            legacy: true,
        };
        let project = Some(PathBuf::from("/home/alice/proj"));
        assert_eq!(roots.project_of(&roots.primary_sessions_dir(&key)), project);
        assert_eq!(roots.project_of(&legacy), project);
        let elsewhere = SessionsDir {
            path: PathBuf::from("/x/sessions"),
            legacy: false,
        };
        assert_eq!(roots.project_of(&elsewhere), None);
    }

    #[cfg(unix)]
    #[test]
    fn project_key_of_a_symlinked_dir_is_its_canonical_path() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs_err::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let via_link = ProjectKey::from_project_dir(&link).unwrap();
        let direct = ProjectKey::from_project_dir(&real).unwrap();
        assert_eq!(via_link, direct);
        assert!(via_link.as_path().ends_with("real"));
    }

    #[test]
    fn missing_project_dir_is_an_error_naming_it() {
        let err = ProjectKey::from_project_dir(Path::new("/definitely/not/here")).unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }

    #[test]
    fn the_nearest_project_upward_with_sessions_is_chosen() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = StateRoots::from_state_home(tmp.path());
        let deep = Path::new("/home/alice/proj/src/module");
        // No sessions anywhere: the directory itself.
        assert_eq!(roots.nearest_project(deep).project_dir(), deep);
        // Sessions at the project root: found from below.
        fs_err::create_dir_all(roots.primary.join("home/alice/proj/sessions")).unwrap();
        let found = roots.nearest_project(deep);
        assert_eq!(found.project_dir(), Path::new("/home/alice/proj"));
        assert_eq!(found.as_path(), Path::new("home/alice/proj"));
        // Sessions at the exact directory win over any ancestor's.
        fs_err::create_dir_all(roots.primary.join("home/alice/proj/src/module/sessions")).unwrap();
        assert_eq!(roots.nearest_project(deep).project_dir(), deep);
        // A legacy root's sessions folder counts too; the nearest wins.
        let other = Path::new("/home/bob/work/sub");
        fs_err::create_dir_all(roots.legacy.join("home/bob/sessions")).unwrap();
        assert_eq!(
            roots.nearest_project(other).project_dir(),
            Path::new("/home/bob")
        );
        fs_err::create_dir_all(roots.primary.join("home/bob/work/sessions")).unwrap();
        assert_eq!(
            roots.nearest_project(other).project_dir(),
            Path::new("/home/bob/work")
        );
        // A file named `sessions` is not a sessions folder.
        let file_case = Path::new("/srv/app/lib");
        fs_err::create_dir_all(roots.primary.join("srv/app")).unwrap();
        fs_err::write(roots.primary.join("srv/app/sessions"), "").unwrap();
        assert_eq!(roots.nearest_project(file_case).project_dir(), file_case);
    }

    #[test]
    fn legacy_sessions_dir_is_listed_only_when_it_exists_and_all_projects_finds_both() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = StateRoots::from_state_home(tmp.path());
        let key = ProjectKey::from_canonical(PathBuf::from("/p/q"));
        assert_eq!(roots.sessions_dirs(&key).len(), 1);
        let legacy = roots.legacy.join("p/q/sessions");
        fs_err::create_dir_all(legacy.join("01ARZ3NDEKTSV4RRFFQ69G5FAV")).unwrap();
        fs_err::create_dir_all(roots.primary.join("a/sessions")).unwrap();
        let dirs = roots.sessions_dirs(&key);
        assert_eq!(dirs.len(), 2);
        assert!(dirs[1].legacy && !dirs[0].legacy);
        let all = roots.all_sessions_dirs();
        assert!(all.skipped.is_empty());
        let paths: Vec<_> = all.found.iter().map(|d| d.path.clone()).collect();
        assert_eq!(paths, vec![roots.primary.join("a/sessions"), legacy]);
    }

    #[test]
    fn projects_under_folders_named_sessions_or_like_a_ulid_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = StateRoots::from_state_home(tmp.path());
        let ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let projects = [
            "home/u/sessions/proj".to_owned(),
            format!("home/u/{ulid}/proj"),
            "home/u/plain".to_owned(),
        ];
        for project in &projects {
            let session = roots.primary.join(project).join("sessions").join(ulid);
            fs_err::create_dir_all(&session).unwrap();
            fs_err::write(session.join(STATE_FILE), "").unwrap();
            fs_err::create_dir_all(session.join("locks")).unwrap();
        }
        let found: Vec<PathBuf> = roots
            .all_sessions_dirs()
            .found
            .into_iter()
            .map(|d| d.path)
            .collect();
        for project in &projects {
            let sessions = roots.primary.join(project).join("sessions");
            assert!(found.contains(&sessions), "{project}: {found:?}");
        }
        // A session dir's own folders are never mistaken for projects.
        assert!(found.iter().all(|d| !d.to_string_lossy().contains("locks")));
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_folder_is_skipped_and_the_rest_still_found() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let roots = StateRoots::from_state_home(tmp.path());
        fs_err::create_dir_all(roots.primary.join("ok/sessions")).unwrap();
        let locked = roots.primary.join("root-owned");
        fs_err::create_dir_all(locked.join("p/sessions")).unwrap();
        fs_err::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let walk = roots.all_sessions_dirs();
        fs_err::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(walk.found.iter().any(|d| d.path.ends_with("ok/sessions")));
        if !walk.skipped.is_empty() {
            // As root the folder is readable anyway; otherwise it is reported.
            assert!(walk.skipped[0].to_string().contains("root-owned"));
        }
    }
}
