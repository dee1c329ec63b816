//! Reconciliation (contract §6): gives a session whose process died without
//! a result a trustworthy ending, and never touches one whose process may be
//! alive.
//!
//! [`decision`] is the pure choice of what to do, as a [`decision::Plan`];
//! [`protocol`] carries a plan out in named, ordered steps with a fault point
//! between each; [`guard`] is the lock-and-re-check every change goes
//! through; [`results`] builds the results the reconciler publishes;
//! [`outcome`] is what it reports.

pub mod decision;
pub mod guard;
pub mod outcome;
pub mod protocol;
pub mod results;

use std::path::PathBuf;

pub use decision::{Decision, Plan, decide};
pub use guard::{SessionGuard, Snapshot};
pub use outcome::{Outcome, Report};
pub use protocol::{CooldownMode, Reconciler};

use crate::error::{LoadError, StoreError, WriteError};
use crate::fault::InjectedFault;
use crate::id::SessionId;
use crate::phase::TransitionError;

/// A reconcile that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot retire session {id}")]
    Transition {
        id: SessionId,
        #[source]
        source: TransitionError,
    },
    #[error("cannot lock {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Fault(#[from] InjectedFault),
    /// A step after the publish failed; what happened to the published result.
    #[error("{undo}")]
    AfterPublish {
        undo: Undo,
        #[source]
        cause: Box<ReconcileError>,
    },
}

/// What became of our published result when a later step failed.
#[derive(Debug)]
pub enum Undo {
    /// Our result was removed; the session is as it was.
    RolledBack,
    /// Someone replaced our result with theirs; it was kept.
    KeptNewer,
    /// Removing our result failed too.
    Failed(WriteError),
}

impl std::fmt::Display for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undo::RolledBack => f.write_str("the published result was rolled back"),
            Undo::KeptNewer => f.write_str("a newer result.toml replaced ours and was kept"),
            Undo::Failed(err) => write!(f, "rolling back result.toml also failed ({err})"),
        }
    }
}
