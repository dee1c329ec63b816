//! Session ids (ULIDs), id prefixes, and resolving a prefix to a session dir.
//!
//! Every command that takes an id goes through [`IdPrefix::parse`] first, so a
//! string that could escape the sessions folder (`../x`, `/etc`) is rejected
//! before any path is built.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;
use crate::paths::SessionsDir;

/// Length of a ULID in Crockford base32.
pub const ULID_LEN: usize = 26;
/// Length of the id prefix `csa session list` shows.
pub const SHORT_ID_LEN: usize = 11;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `CROCKFORD_TABLE[b]` is true for the alphabet's bytes in either case.
const CROCKFORD_TABLE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < CROCKFORD.len() {
        table[CROCKFORD[i] as usize] = true;
        table[CROCKFORD[i].to_ascii_lowercase() as usize] = true;
        i += 1;
    }
    table
};

fn is_crockford(byte: u8) -> bool {
    CROCKFORD_TABLE[byte as usize]
}

/// Validate and uppercase a (partial) ULID; `None` if it is not one.
fn normalize(input: &str, max_len: usize) -> Option<String> {
    let bytes = input.as_bytes();
    if bytes.is_empty() || bytes.len() > max_len || !bytes.iter().all(|b| is_crockford(*b)) {
        return None;
    }
    // A ULID's first character encodes the top 3 bits of a 130-bit number.
    if !matches!(bytes[0], b'0'..=b'7') {
        return None;
    }
    Some(input.to_ascii_uppercase())
}

/// A validated session id: a 26-character ULID, stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// A new id for a session created now.
    pub fn generate() -> SessionId {
        SessionId(ulid::Ulid::new().to_string())
    }

    /// Parse a full id, case-insensitively.
    pub fn parse(input: &str) -> Result<SessionId, IdError> {
        match normalize(input, ULID_LEN) {
            Some(id) if id.len() == ULID_LEN => Ok(SessionId(id)),
            _ => Err(IdError::InvalidId {
                input: input.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix `csa session list` shows.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_ID_LEN]
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionId::parse(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        SessionId::parse(&value)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

/// A validated, uppercased prefix of a session id (1 to 26 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// Reject anything that is not a case-insensitive prefix of a ULID.
    pub fn parse(input: &str) -> Result<IdPrefix, IdError> {
        normalize(input, ULID_LEN)
            .map(IdPrefix)
            .ok_or_else(|| IdError::InvalidId {
                input: input.to_owned(),
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full id, when the prefix is one.
    pub fn as_full_id(&self) -> Option<SessionId> {
        (self.0.len() == ULID_LEN).then(|| SessionId(self.0.clone()))
    }
}

/// Where one session lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLocation {
    pub id: SessionId,
    pub dir: PathBuf,
    /// True when the session is under the legacy `csa` root.
    pub legacy: bool,
}

/// Every session folder in `sessions_dir` (entries whose name is a ULID).
/// A sessions folder that does not exist holds no sessions.
pub fn list_sessions(sessions_dir: &SessionsDir) -> Result<Vec<SessionLocation>, IdError> {
    let entries = match std::fs::read_dir(&sessions_dir.path) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(IdError::Io {
                path: sessions_dir.path.clone(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| IdError::Io {
            path: sessions_dir.path.clone(),
            source,
        })?;
        let name = entry.file_name();
        let Some(Ok(id)) = name.to_str().map(SessionId::parse) else {
            continue;
        };
        // Only real directories: a symlink named like a session is not followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        found.push(SessionLocation {
            id,
            dir: entry.path(),
            legacy: sessions_dir.legacy,
        });
    }
    Ok(found)
}

/// Resolve `prefix` to exactly one session across `dirs` (primary first).
pub fn resolve_prefix(dirs: &[SessionsDir], prefix: &IdPrefix) -> Result<SessionLocation, IdError> {
    if let Some(id) = prefix.as_full_id() {
        for dir in dirs {
            let candidate = dir.path.join(id.as_str());
            if is_real_dir(&candidate) {
                return Ok(SessionLocation {
                    id,
                    dir: candidate,
                    legacy: dir.legacy,
                });
            }
        }
        return Err(IdError::NotFound {
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
            candidates: matches.into_iter().map(|m| m.id.0).collect(),
        }),
    }
}

fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
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
    fn ids_that_could_escape_or_are_not_ulids_are_rejected() {
        for bad in [
            "../x",
            "/etc",
            "",
            ".",
            "01ARZ3NDEKTSV4RRFFQ69G5FA!",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
            "01I",
        ] {
            assert!(
                matches!(IdPrefix::parse(bad), Err(IdError::InvalidId { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(
            SessionId::parse("01ARZ3NDEK").is_err(),
            "a prefix is not an id"
        );
    }

    #[test]
    fn ids_are_case_insensitive_and_stored_uppercase() {
        let id = SessionId::parse(&ID_A.to_lowercase()).unwrap();
        assert_eq!(id.as_str(), ID_A);
        assert_eq!(id.short(), "01ARZ3NDEKT");
        assert_eq!(SessionId::generate().as_str().len(), ULID_LEN);
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
        let listed = list_sessions(&dir).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id.as_str(), ID_A);
        let missing = SessionsDir {
            path: tmp.path().join("nope"),
            legacy: false,
        };
        assert!(list_sessions(&missing).unwrap().is_empty());
    }
}
