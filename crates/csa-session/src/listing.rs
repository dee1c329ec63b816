//! The rows of a list (`csa session list`, and later `top`): each session's
//! [`SessionRow`] from the list cache when its files are unchanged, else
//! from its files, reconciling a dead active session on the way.
//!
//! Reading is in two steps so that a caller can run them on different
//! threads: [`RowReader::read`] (one stat and, on a miss, two bounded
//! reads) either finishes a row or hands on an active session to
//! [`RowReader::reconcile`], which waits on fsyncs.

use chrono::{DateTime, Utc};

use crate::list_cache::{Folders, ListCache};
use crate::liveness::{Check, Liveness, LivenessProbe};
use crate::load::{Loaded, is_gone, is_initializing, load_result_if_any, load_state};
use crate::phase::Phase;
use crate::reconcile::{ReconcileError, Reconciler};
use crate::resolve::SessionLocation;
use crate::row::SessionRow;
use crate::state::SessionState;

/// Reads the rows of the sessions of one list.
pub struct RowReader<'a> {
    folders: &'a Folders,
    cache: &'a ListCache,
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
        cache: &'a ListCache,
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
