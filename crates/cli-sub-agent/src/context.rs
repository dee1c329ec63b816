//! Where a command's sessions are: the state roots, the project key from
//! `--cd DIR` (default: the current dir), and session lookup by id or prefix
//! (a full id also in other projects). Every command that names a session
//! resolves it here.

use std::path::PathBuf;

use anyhow::Context as _;
use csa_session::consts::ENV_PROJECT_ROOT;
use csa_session::{IdError, IdPrefix, ProjectKey, SessionLocation, SessionsDir, StateRoots};

use crate::args::{ProjectArgs, Selection};
use crate::pool::{self, Work};
use crate::ui::{Ui, chain};

/// The state roots and the project a command works on, and where it writes.
#[derive(Debug)]
pub struct Context<'u> {
    pub roots: StateRoots,
    pub project: ProjectKey,
    pub ui: &'u Ui,
}

impl<'u> Context<'u> {
    /// Resolve the state roots from the environment and the project
    /// (contract §10): `--cd DIR` when given; else `CSA_PROJECT_ROOT`, which
    /// a session's command inherits; else the nearest directory from the
    /// current one upward whose sessions folder exists, as git finds `.git`;
    /// else the current directory.
    pub fn new(project: &ProjectArgs, ui: &'u Ui) -> anyhow::Result<Context<'u>> {
        let roots = StateRoots::from_env()?;
        let inherited = std::env::var_os(ENV_PROJECT_ROOT).filter(|v| !v.is_empty());
        let (dir, project) = match (&project.cd, inherited) {
            (Some(dir), _) => (dir.clone(), ProjectKey::from_project_dir(dir)?),
            (None, Some(root)) => {
                let dir = PathBuf::from(root);
                let key = ProjectKey::from_project_dir(&dir)
                    .with_context(|| format!("{ENV_PROJECT_ROOT} names no project"))?;
                (dir, key)
            }
            (None, None) => {
                let cwd = std::env::current_dir().context("cannot read the current directory")?;
                let here = ProjectKey::from_project_dir(&cwd)?;
                let found = roots.nearest_project(here.project_dir());
                if found != here {
                    tracing::info!(
                        project = %found.project_dir().display(),
                        "the sessions of an enclosing directory"
                    );
                }
                (cwd, found)
            }
        };
        tracing::debug!(project = %project.project_dir().display(), "project");
        anyhow::ensure!(
            project.project_dir().is_dir(),
            "project directory {} is not a directory; pass a folder with --cd",
            dir.display()
        );
        Ok(Context { roots, project, ui })
    }

    /// The project's sessions folders: primary, then legacy if present.
    pub fn sessions_dirs(&self) -> Vec<SessionsDir> {
        self.roots.sessions_dirs(&self.project)
    }

    /// The folder new sessions are created in.
    pub fn primary_sessions_dir(&self) -> SessionsDir {
        self.roots.primary_sessions_dir(&self.project)
    }

    /// The sessions folders of the project, or of every project. A folder
    /// under the state roots that cannot be read is skipped with a warning.
    pub fn scope(&self, all_projects: bool) -> anyhow::Result<Vec<SessionsDir>> {
        if !all_projects {
            return Ok(self.sessions_dirs());
        }
        let walk = self.roots.all_sessions_dirs();
        for skipped in &walk.skipped {
            self.ui.warning(&format!("skipped: {}", chain(skipped)));
        }
        Ok(walk.found)
    }

    /// Every session of the project (or of every project: there a folder
    /// that cannot be read is skipped with a warning, the rest listed).
    pub fn sessions(&self, all_projects: bool) -> anyhow::Result<Vec<SessionLocation>> {
        if all_projects {
            Ok(sessions_in_each(&self.scope(true)?, Noise::Warn(self.ui)))
        } else {
            sessions_in(&self.sessions_dirs())
        }
    }

    /// Every session of every project, skipping what cannot be read without
    /// a word (for lookups such as a session's children, where another
    /// project's unreadable folder is none of the command's business).
    pub fn sessions_everywhere_quietly(&self) -> Vec<SessionLocation> {
        sessions_in_each(&self.roots.all_sessions_dirs().found, Noise::Quiet)
    }

    /// The named sessions, each once, in the order first named. Any bad id
    /// fails the whole command before anything is done.
    pub fn resolve_each(&self, ids: &[String]) -> anyhow::Result<Vec<SessionLocation>> {
        let mut found: Vec<SessionLocation> = Vec::with_capacity(ids.len());
        for id in ids {
            let loc = self.resolve(id)?;
            if !found.iter().any(|f| f.id == loc.id) {
                found.push(loc);
            }
        }
        Ok(found)
    }

    /// The sessions a command that takes several ids acts on: the named
    /// ones, each once, in the order first named; with `--all`, the
    /// project's sessions that `all` admits, newest first.
    pub fn select(
        &self,
        selection: &Selection,
        all: impl Fn(&SessionLocation) -> bool,
    ) -> anyhow::Result<Vec<SessionLocation>> {
        if !selection.all {
            return self.resolve_each(&selection.ids);
        }
        let mut found: Vec<SessionLocation> = self
            .sessions(false)?
            .into_iter()
            .filter(|loc| all(loc))
            .collect();
        found.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(found)
    }

    /// Every session of the project whose phase is active now, oldest id
    /// first (`kill --all`, `wait --all`).
    pub fn active_sessions(&self) -> anyhow::Result<Vec<SessionLocation>> {
        let mut active: Vec<SessionLocation> = self
            .sessions(false)?
            .into_iter()
            .filter(is_active)
            .collect();
        active.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(active)
    }

    /// One session by full id or unique, case-insensitive prefix. A full id
    /// that is not in the project is looked for in every project under the
    /// state roots (the walk stops at the first hit), with a note on stderr
    /// naming the project it is in; a prefix only matches in the project.
    pub fn resolve(&self, id: &str) -> anyhow::Result<SessionLocation> {
        let prefix = IdPrefix::parse(id)?;
        let err = match csa_session::resolve_prefix(&self.sessions_dirs(), &prefix) {
            Ok(loc) => return Ok(loc),
            Err(err) => err,
        };
        let project = self.project.project_dir().display();
        match (err, prefix.as_full_id()) {
            (err @ IdError::NotFound { .. }, Some(full)) => {
                let Some((loc, elsewhere)) = csa_session::find_in_any_project(&self.roots, &full)
                else {
                    anyhow::bail!("{err} in project {project} or in any other project");
                };
                tracing::info!(dir = %loc.dir.path().display(), "found in another project");
                self.ui.note(&format!(
                    "session {full} is in project {}",
                    elsewhere.display()
                ));
                Ok(loc)
            }
            (err @ (IdError::NotFound { .. } | IdError::Ambiguous { .. }), _) => {
                Err(anyhow::anyhow!("{err} in project {project}"))
            }
            (other, _) => Err(other.into()),
        }
    }
}

/// Whether the session's phase is `active` now (an unreadable state is not).
pub fn is_active(loc: &SessionLocation) -> bool {
    csa_session::load_state(&loc.dir).is_ok_and(|s| s.value.phase() == csa_session::Phase::Active)
}

/// Every session under both state roots and the family they form: a
/// session's children may live in other projects (a nested `csa run --cd`).
/// Each state is read once, in parallel.
#[derive(Debug)]
pub struct Relatives {
    sessions: Vec<SessionLocation>,
    family: csa_session::genealogy::Family,
}

impl Relatives {
    pub fn read(ctx: &Context<'_>) -> anyhow::Result<Relatives> {
        let sessions = ctx.sessions_everywhere_quietly();
        let kin = pool::map(Work::Io, sessions.iter().collect(), csa_session::Kin::read);
        Ok(Relatives {
            sessions,
            family: csa_session::genealogy::Family::new(kin),
        })
    }

    fn location(&self, id: &csa_session::SessionId) -> Option<SessionLocation> {
        self.sessions.iter().find(|loc| &loc.id == id).cloned()
    }

    /// The sessions whose parent is `id`, newest first.
    pub fn children(&self, id: &csa_session::SessionId) -> Vec<SessionLocation> {
        self.family
            .children(id)
            .into_iter()
            .filter_map(|child| self.location(child))
            .collect()
    }

    /// Every descendant of `id`.
    pub fn descendants(&self, id: &csa_session::SessionId) -> Vec<SessionLocation> {
        self.family
            .descendants(id)
            .into_iter()
            .filter_map(|member| self.location(member))
            .collect()
    }

    /// `root` and its descendants in levels, deepest first, `root` itself
    /// last (`csa_session::genealogy::Family::levels_below`).
    pub fn levels(&self, root: &SessionLocation) -> Vec<Vec<SessionLocation>> {
        let levels: Vec<Vec<SessionLocation>> = self
            .family
            .levels_below(&root.id)
            .into_iter()
            .map(|level| {
                level
                    .into_iter()
                    .filter_map(|id| self.location(id))
                    .collect()
            })
            .collect();
        if levels.is_empty() {
            vec![vec![root.clone()]]
        } else {
            levels
        }
    }
}

/// Whether a folder that cannot be read is said on stderr.
#[derive(Debug, Clone, Copy)]
pub enum Noise<'u> {
    Warn(&'u Ui),
    Quiet,
}

/// Every session in the folders that can be read; the others are skipped.
pub fn sessions_in_each(dirs: &[SessionsDir], noise: Noise<'_>) -> Vec<SessionLocation> {
    csa_session::resolve::list_sessions_each(dirs, |err| match noise {
        Noise::Warn(ui) => ui.warning(&format!("skipped: {}", chain(err))),
        Noise::Quiet => tracing::debug!("skipped: {}", chain(err)),
    })
}

/// Every session in these folders.
pub fn sessions_in(dirs: &[SessionsDir]) -> anyhow::Result<Vec<SessionLocation>> {
    let mut found = Vec::new();
    for dir in dirs {
        found.extend(csa_session::list_sessions(dir)?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_cannot_be_read_is_skipped_and_the_rest_listed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let good = tmp.path().join("good");
        let id = csa_session::SessionId::generate();
        fs_err::create_dir_all(good.join(id.as_str())).expect("session dir");
        // A file where a folder should be: reading it fails, even as root.
        let broken = tmp.path().join("broken");
        fs_err::write(&broken, "not a folder").expect("file");
        let dirs = [
            SessionsDir {
                path: broken,
                legacy: false,
            },
            SessionsDir {
                path: good,
                legacy: false,
            },
        ];
        assert!(sessions_in(&dirs).is_err(), "one project: an error");
        let found = sessions_in_each(&dirs, Noise::Quiet);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id);
    }
}
