//! The rows of a list (`csa session list`, and later `top`): each session's
//! [`SessionRow`] from the list cache when its files are unchanged, else
//! from its files, reconciling a dead active session on the way.
//!
//! Reading is in two steps so that a caller can run them on different
//! threads: [`RowReader::read`] (one stat and, on a miss, two bounded
//! reads) either finishes a row or hands on an active session to
//! [`RowReader::reconcile`], which waits on fsyncs.
//!
//! [`each_row`] reads the rows of every [`Found`] session a part at a time,
//! in id order, alongside the cache file (sorted the same way), and hands
//! each row to the caller as it is made: a list of 100,000 sessions never
//! holds their rows, or the whole cache, at once.

use chrono::{DateTime, Utc};

use std::path::PathBuf;

use crate::error::IdError;
use crate::id::{SessionId, ULID_LEN};
use crate::layout::{SessionDir, SessionsDir};
use crate::list_cache::{CachePart, Folders, ListCache};
use crate::liveness::{Check, Liveness, LivenessProbe};
use crate::load::{Loaded, is_gone, is_initializing, load_result_if_any, load_state};
use crate::phase::Phase;
use crate::pool::{self, Step};
use crate::reconcile::{ReconcileError, Reconciler};
use crate::resolve::SessionLocation;
use crate::row::SessionRow;
use crate::state::SessionState;

/// Reads the rows of the sessions of one list.
pub struct RowReader<'a> {
    folders: &'a Folders,
    cache: &'a CachePart,
    /// `None`: only read (`--no-reconcile`).
    reconciler: Option<&'a Reconciler<'a>>,
    probe: &'a dyn LivenessProbe,
    /// Active sessions' running times are measured to this instant.
    now: DateTime<Utc>,
}

impl std::fmt::Debug for RowReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader")
            .field("reconciles", &self.reconciler.is_some())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// What the first read of a session found.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "almost every read is a row; boxing it would allocate once per row"
)]
pub enum FirstRead<'a> {
    /// Its row (`None`: not a row: being created, or removed meanwhile).
    Row(Option<SessionRow<'a>>),
    /// An active session to reconcile, with the state the read parsed.
    Reconcile(ToReconcile<'a>),
}

/// An active session handed on by [`RowReader::read`].
#[derive(Debug)]
pub struct ToReconcile<'a> {
    loc: &'a SessionLocation,
    state: Loaded<SessionState>,
}

/// The row of a session after reconciling it.
#[derive(Debug)]
pub struct Reconciled<'a> {
    /// `None` when the session was removed meanwhile.
    pub row: Option<SessionRow<'a>>,
    /// Why the reconcile failed, when it did (the row shows what is on disk).
    pub error: Option<ReconcileError>,
}

impl<'a> RowReader<'a> {
    pub fn new(
        folders: &'a Folders,
        cache: &'a CachePart,
        reconciler: Option<&'a Reconciler<'a>>,
        probe: &'a dyn LivenessProbe,
        now: DateTime<Utc>,
    ) -> RowReader<'a> {
        RowReader {
            folders,
            cache,
            reconciler,
            probe,
            now,
        }
    }

    /// A session's row from the cache when its files are unchanged, else from
    /// its files; an active session is handed on when it is to be reconciled.
    pub fn read(&self, loc: &'a SessionLocation) -> FirstRead<'a> {
        let files = self.folders.fingerprints(loc.dir.path());
        if let Some(row) = self.cache.get(loc, &files) {
            return FirstRead::Row(Some(row));
        }
        let loaded = match load_state(&loc.dir) {
            Ok(loaded) => loaded,
            // Being created (by an older install): not a row yet, and not an
            // error. Removed (by `delete` or `clean`) since it was listed: no row.
            Err(err) if is_initializing(&loc.dir, &err) => return FirstRead::Row(None),
            Err(err) if is_gone(&loc.dir, &err) => return FirstRead::Row(None),
            Err(err) => return FirstRead::Row(Some(SessionRow::broken(loc, &err))),
        };
        let active = loaded.value.phase() == Phase::Active;
        if self.reconciler.is_some() && active {
            return FirstRead::Reconcile(ToReconcile { loc, state: loaded });
        }
        let liveness = active.then(|| self.liveness(loc, &loaded.value));
        let row = self.row_from_files(loc, &loaded.value, liveness.as_ref());
        self.cache.put(&files, &row);
        FirstRead::Row(Some(row))
    }

    /// The row of an active session after reconciling it. Not cached: it is
    /// either active or was written just now.
    pub fn reconcile(&self, todo: ToReconcile<'a>) -> Reconciled<'a> {
        let ToReconcile { loc, state } = todo;
        let Some(reconciler) = self.reconciler else {
            let liveness = self.liveness(loc, &state.value);
            let row = self.row_from_files(loc, &state.value, Some(&liveness));
            return Reconciled {
                row: Some(row),
                error: None,
            };
        };
        let report = reconciler.reconcile_loaded(loc, Some(state));
        if let Some((state, result)) = &report.files {
            let liveness = report.liveness.as_ref();
            let row = SessionRow::from_files(loc, state, Ok(result.as_ref()), liveness, self.now);
            return Reconciled {
                row: Some(row),
                error: None,
            };
        }
        let loaded = load_state(&loc.dir);
        if let Err(err) = &loaded
            && is_gone(&loc.dir, err)
        {
            return Reconciled {
                row: None,
                error: None,
            };
        }
        let row = match loaded {
            Ok(loaded) => self.row_from_files(loc, &loaded.value, report.liveness.as_ref()),
            Err(err) => SessionRow::broken(loc, &err),
        };
        Reconciled {
            row: Some(row),
            error: report.error,
        }
    }

    fn liveness(&self, loc: &SessionLocation, state: &SessionState) -> Liveness {
        self.probe
            .judge(&loc.dir, &loc.id, &state.tool_names(), Check::PreCheck)
    }

    /// A session's row from its state and the `result.toml` read now.
    fn row_from_files(
        &self,
        loc: &'a SessionLocation,
        state: &SessionState,
        liveness: Option<&Liveness>,
    ) -> SessionRow<'a> {
        let result = load_result_if_any(&loc.dir);
        let result = result.as_ref().map(Option::as_ref);
        SessionRow::from_files(loc, state, result, liveness, self.now)
    }
}

/// Sessions a list takes at once: each part's locations, cache lines and
/// rows in the making are held together (a few MB), and no more.
const PART: usize = 4096;

/// The sessions of some sessions folders, sorted by id, in 36 bytes each
/// (a [`SessionLocation`] is built for a part at a time).
#[derive(Debug, Default)]
pub struct Found {
    folders: Vec<SessionsDir>,
    sessions: Vec<FoundSession>,
}

#[derive(Debug, Clone, Copy)]
struct FoundSession {
    /// The id (uppercase): the sort key.
    id: [u8; ULID_LEN],
    /// Which characters of the folder's name are lowercase (ids are
    /// case-insensitive: the name is the id in any case), a bit each.
    lowercase: u32,
    folder: u32,
}

impl FoundSession {
    /// The folder's name, as on disk.
    fn name(&self) -> [u8; ULID_LEN] {
        let mut name = self.id;
        for (at, byte) in name.iter_mut().enumerate() {
            if self.lowercase & (1 << at) != 0 {
                byte.make_ascii_lowercase();
            }
        }
        name
    }
}

impl Found {
    /// Every session in these folders; a folder that cannot be listed is
    /// handed to `skipped` and the others are still listed.
    pub fn list(dirs: &[SessionsDir], mut skipped: impl FnMut(IdError)) -> Found {
        let mut sessions = Vec::new();
        for (folder, dir) in (0u32..).zip(dirs) {
            let listed = crate::resolve::each_session_folder(&dir.path, |id, name| {
                let lowercase = (0..)
                    .zip(name.as_encoded_bytes())
                    .filter(|(_, byte)| byte.is_ascii_lowercase())
                    .fold(0u32, |bits, (at, _)| bits | 1 << at);
                if let Ok(id) = id.as_str().as_bytes().try_into() {
                    sessions.push(FoundSession {
                        id,
                        lowercase,
                        folder,
                    });
                }
            });
            if let Err(source) = listed {
                skipped(IdError::Io {
                    path: dir.path.clone(),
                    source,
                });
            }
        }
        sessions.sort_unstable_by(|a, b| a.id.cmp(&b.id).then(a.folder.cmp(&b.folder)));
        sessions.shrink_to_fit();
        Found {
            folders: dirs.to_vec(),
            sessions,
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Every id, in increasing order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().map(|s| ascii(&s.id))
    }

    fn location(&self, session: &FoundSession) -> Option<SessionLocation> {
        let dir = self.folders.get(usize::try_from(session.folder).ok()?)?;
        let name = session.name();
        let name = ascii(&name);
        let mut path = PathBuf::with_capacity(dir.path.as_os_str().len() + 1 + name.len());
        path.push(&dir.path);
        path.push(name);
        Some(SessionLocation {
            id: SessionId::parse(ascii(&session.id)).ok()?,
            dir: SessionDir::new(path),
            legacy: dir.legacy,
        })
    }
}

/// Ids and folder names are checked to be ULIDs: ASCII.
fn ascii(bytes: &[u8; ULID_LEN]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Read the row of every found session, a part at a time in id order with
/// the matching part of `cache` (served rows and new ones go to its new
/// file), and hand each to `each` on a worker thread; what `each` keeps is
/// returned, in no particular order. A reconcile that failed is handed to
/// `failed` (its row shows what is on disk).
pub fn each_row<T: Send>(
    found: &Found,
    cache: &mut ListCache,
    reading: &Reading<'_>,
    failed: impl Fn(&SessionLocation, &ReconcileError) + Sync,
    each: impl Fn(SessionRow<'_>) -> Option<T> + Sync,
) -> Vec<T> {
    // Room for every row at once: grown by doubling, the list would hold
    // twice its rows' size while it moved them.
    let mut kept = Vec::with_capacity(found.len());
    for sessions in found.sessions.chunks(PART) {
        let Some(last) = sessions.last() else {
            continue;
        };
        let locations: Vec<SessionLocation> =
            sessions.iter().filter_map(|s| found.location(s)).collect();
        let part = cache.part_through(ascii(&last.id));
        let rows = RowReader::new(
            reading.folders,
            &part,
            reading.reconciler,
            reading.probe,
            reading.now,
        );
        let made = pool::two_stage(
            locations.iter().collect(),
            |loc| match rows.read(loc) {
                FirstRead::Row(row) => Step::Done(row.and_then(&each)),
                FirstRead::Reconcile(todo) => Step::HandOn((loc, todo)),
            },
            |(loc, todo)| {
                let reconciled = rows.reconcile(todo);
                if let Some(error) = &reconciled.error {
                    failed(loc, error);
                }
                reconciled.row.and_then(&each)
            },
        );
        kept.extend(made.into_iter().flatten());
        cache.keep(part);
    }
    kept
}

/// What every [`RowReader`] of an [`each_row`] shares.
pub struct Reading<'a> {
    pub folders: &'a Folders,
    /// `None`: only read (`--no-reconcile`).
    pub reconciler: Option<&'a Reconciler<'a>>,
    pub probe: &'a dyn LivenessProbe,
    /// Active sessions' running times are measured to this instant.
    pub now: DateTime<Utc>,
}

impl std::fmt::Debug for Reading<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reading")
            .field("reconciles", &self.reconciler.is_some())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_sessions_are_sorted_by_id_across_folders_and_keep_their_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
        let names = [
            (&one, "01KAZ9X3M2QBBBBBBBBBBBBBBB"),
            (&one, "01kaz9x3m2qaaaaaaaaaaaaaaa"),
            (&two, "01KAZ9X3M2QaBcDeFgHjKmNpQr"),
        ];
        for (dir, name) in names {
            fs_err::create_dir_all(dir.join(name)).expect("session dir");
        }
        fs_err::create_dir_all(one.join("not-a-session")).expect("other dir");
        fs_err::write(one.join("01KAZ9X3M2QCCCCCCCCCCCCCCC"), "a file").expect("file");
        let missing = tmp.path().join("missing");
        // A file where a folder should be cannot be listed, even as root.
        let broken = tmp.path().join("broken");
        fs_err::write(&broken, "not a folder").expect("file");
        let dirs = [one.clone(), two.clone(), missing, broken.clone()].map(|path| SessionsDir {
            path,
            legacy: false,
        });
        let mut skipped = Vec::new();
        let found = Found::list(&dirs, |err| skipped.push(err.to_string()));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(
            skipped[0].contains(&broken.display().to_string()),
            "{skipped:?}"
        );
        let ids: Vec<&str> = found.ids().collect();
        assert_eq!(
            ids,
            [
                "01KAZ9X3M2QAAAAAAAAAAAAAAA",
                "01KAZ9X3M2QABCDEFGHJKMNPQR",
                "01KAZ9X3M2QBBBBBBBBBBBBBBB"
            ]
        );
        let dirs: Vec<PathBuf> = found
            .sessions
            .iter()
            .filter_map(|s| found.location(s))
            .map(|loc| loc.dir.path().to_path_buf())
            .collect();
        assert_eq!(
            dirs,
            [
                one.join("01kaz9x3m2qaaaaaaaaaaaaaaa"),
                two.join("01KAZ9X3M2QaBcDeFgHjKmNpQr"),
                one.join("01KAZ9X3M2QBBBBBBBBBBBBBBB"),
            ]
        );
    }
}
