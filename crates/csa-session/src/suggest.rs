//! Session ids offered while a shell completes a command line (`csa`'s
//! dynamic completions, `COMPLETE=bash csa ...`): the sessions of a project
//! whose id starts with what was typed (in either case), newest first, each
//! with its description.
//!
//! Bounded in time on a big store: the sessions folders are listed (one
//! `getdents64` buffer each, no file opened), and only the `state.toml` of
//! the at most [`MAX_SUGGESTIONS`] newest matches is read, bounded. Nothing
//! is reconciled, no process is probed, no file is written.

use crate::consts::MAX_SUGGESTIONS;
use crate::id::IdPrefix;
use crate::layout::SessionsDir;
use crate::load::load_state;
use crate::resolve::list_sessions;

/// One session id a shell may offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The full id, uppercase.
    pub id: String,
    /// The session's `description`, as written (`None` when it has none or
    /// its `state.toml` cannot be read).
    pub description: Option<String>,
}

/// The sessions in `dirs` whose id starts with `typed` (case-insensitive),
/// newest first (a ULID sorts by its creation time), at most
/// [`MAX_SUGGESTIONS`]. Text that cannot begin an id offers none; a folder
/// that cannot be listed offers none of its own.
pub fn suggest(dirs: &[SessionsDir], typed: &str) -> Vec<Suggestion> {
    let prefix = if typed.is_empty() {
        None
    } else {
        match IdPrefix::parse(typed) {
            Ok(prefix) => Some(prefix),
            Err(_) => return Vec::new(),
        }
    };
    let mut found: Vec<_> = dirs
        .iter()
        .filter_map(|dir| list_sessions(dir).ok())
        .flatten()
        .filter(|loc| {
            prefix
                .as_ref()
                .is_none_or(|p| loc.id.as_str().starts_with(p.as_str()))
        })
        .collect();
    found.sort_by(|a, b| b.id.cmp(&a.id));
    found.dedup_by(|a, b| a.id == b.id);
    found.truncate(MAX_SUGGESTIONS);
    found
        .into_iter()
        .map(|loc| Suggestion {
            description: load_state(&loc.dir)
                .ok()
                .and_then(|loaded| loaded.value.description().map(str::to_owned)),
            id: loc.id.as_str().to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const NEW: &str = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
    const NEWER: &str = "01BX5ZZKBKACTAV9WEVGEMMVS0";

    fn store(ids: &[(&str, Option<&str>)]) -> (tempfile::TempDir, SessionsDir) {
        let tmp = tempfile::tempdir().expect("temp dir");
        for (id, description) in ids {
            let dir = tmp.path().join(id);
            fs_err::create_dir_all(&dir).expect("session dir");
            let state = csa_test_support::state_toml(id, tmp.path(), "active");
            let state = match description {
                Some(text) => state.replace("test session", text),
                None => state.replace("description = \"test session\"\n", ""),
            };
            fs_err::write(dir.join("state.toml"), state).expect("state.toml");
        }
        fs_err::create_dir_all(tmp.path().join(".trash")).expect("trash");
        let dir = SessionsDir {
            path: tmp.path().to_path_buf(),
            legacy: false,
        };
        (tmp, dir)
    }

    fn ids(found: &[Suggestion]) -> Vec<&str> {
        found.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn newest_first_with_descriptions_matching_in_either_case() {
        let (_tmp, dir) = store(&[
            (OLD, Some("old one")),
            (NEW, Some("fix the parser")),
            (NEWER, None),
        ]);
        let all = suggest(std::slice::from_ref(&dir), "");
        assert_eq!(ids(&all), [NEWER, NEW, OLD]);
        assert_eq!(all[1].description.as_deref(), Some("fix the parser"));
        assert_eq!(all[0].description, None);
        let typed = suggest(std::slice::from_ref(&dir), "01bx5zzkbkactav9wevgemmvr");
        assert_eq!(ids(&typed), [NEW]);
    }

    #[test]
    fn text_that_cannot_begin_an_id_offers_nothing() {
        let (_tmp, dir) = store(&[(OLD, Some("old one"))]);
        assert!(suggest(std::slice::from_ref(&dir), "../").is_empty());
        assert!(suggest(std::slice::from_ref(&dir), "01B").is_empty());
    }

    #[test]
    fn at_most_the_limit_and_a_broken_state_still_offers_its_id() {
        let mut names = Vec::new();
        for n in 0..MAX_SUGGESTIONS + 5 {
            names.push(format!("01BX5ZZKBKACTAV9WEVGEM{n:04}"));
        }
        let entries: Vec<_> = names.iter().map(|id| (id.as_str(), Some("x"))).collect();
        let (tmp, dir) = store(&entries);
        let newest = names.last().expect("names");
        fs_err::write(tmp.path().join(newest).join("state.toml"), "not toml [").expect("write");
        let found = suggest(std::slice::from_ref(&dir), "");
        assert_eq!(found.len(), MAX_SUGGESTIONS);
        assert_eq!(found[0].id, *newest);
        assert_eq!(found[0].description, None);
    }
}
