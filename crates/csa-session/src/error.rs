//! Typed errors of the store. Every message is a lowercase phrase that names
//! the file or session id it is about.

use std::io;
use std::path::PathBuf;

use crate::phase::{Phase, PhaseEvent};

/// Reading a file of the store failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {}: {reason}", path.display())]
    Unparseable { path: PathBuf, reason: String },
}

impl LoadError {
    /// True when the file is simply not there (as opposed to broken).
    pub fn is_missing(&self) -> bool {
        matches!(self, LoadError::Missing { .. })
    }

    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            LoadError::Missing { path }
            | LoadError::Unreadable { path, .. }
            | LoadError::Unparseable { path, .. } => path,
        }
    }
}

/// Writing or removing a file of the store failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing to write {}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

impl WriteError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        WriteError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A session id or prefix could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error(
        "invalid session id '{input}': expected a ULID or a prefix of one (Crockford base32, up to 26 characters)"
    )]
    InvalidId { input: String },
    #[error("no session matches id '{prefix}'")]
    NotFound { prefix: String },
    #[error("session id '{prefix}' is ambiguous; candidates: {}", candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("cannot list sessions in {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A phase event that the transition table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal phase transition: {event:?} is not allowed in phase {}", from.as_str())]
pub struct TransitionError {
    pub from: Phase,
    pub event: PhaseEvent,
}

/// Anything else the store can fail at (paths, listing, markers).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot find the state directory: {0}")]
    NoStateHome(String),
    #[error("project directory {} is not usable: {source}", path.display())]
    Project {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Write(#[from] WriteError),
}
