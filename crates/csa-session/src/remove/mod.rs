//! Removing sessions (contract §8.6): `csa session delete` and
//! `csa session clean` call this; the command only parses and draws.
//!
//! [`decision`] is the pure choice, delete or keep and why, shared by both
//! commands and their `--dry-run`; [`protocol`] carries a deletion out in
//! named steps (reconcile first, lock and re-check with the reconciler's
//! [`SessionGuard`](crate::reconcile::SessionGuard) and
//! [`Snapshot`](crate::reconcile::Snapshot), one rename into the trash,
//! fsync, removal there) with a fault point between each; [`trash`] owns
//! the trash and removes folders without following symlinks (through
//! [`tree`], which works relative to open folders).

pub mod decision;
mod mounts;
pub mod protocol;
pub mod trash;
mod tree;
mod under_lock;

use std::path::PathBuf;

pub use decision::{Decision, Facts, Keep, Policy, Standing, decide, rank};
pub use protocol::{Action, Remover, Report, Survey};
pub use trash::{Emptied, empty_trash, purge};

use crate::error::{LoadError, WriteError};
use crate::fault::InjectedFault;
use crate::reconcile::ReconcileError;

/// A removal that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error(transparent)]
    Fault(#[from] InjectedFault),
    #[error("cannot move {} to the trash", path.display())]
    Trash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot empty the trash {}", path.display())]
    EmptyTrash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot sync {} after moving sessions to its trash ({why}); they stay there until the next delete or clean", path.display())]
    NotSynced { path: PathBuf, why: String },
    #[error(
        "left {} in the trash: a mount point is inside ({}); unmount it, then run `csa session clean`",
        entry.display(),
        mount.display()
    )]
    MountInside { entry: PathBuf, mount: PathBuf },
    #[error("cannot remove {} from the trash (the next delete or clean retries)", path.display())]
    Purge {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
