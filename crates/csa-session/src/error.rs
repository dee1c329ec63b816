//! Typed errors of the store. Every message is a lowercase phrase that names
//! the file or session id it is about. An error shows its cause either in its
//! message or as its `source()`, never both, so a chain printed as
//! `outer: inner: root` repeats nothing.

use std::io;
use std::path::PathBuf;

/// Reading a file of the store failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}", path.display())]
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
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing to write {}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
    /// A lock file that is a FIFO, a folder or a device: never opened to
    /// wait on, never locked.
    #[error("cannot lock {}: it is not a regular file (move it away)", path.display())]
    NotALockFile { path: PathBuf },
    /// The new bytes are in place, but their folder could not be fsynced.
    #[error("{} was written, but its folder could not be synced to disk", path.display())]
    NotDurable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl WriteError {
    /// True when the write happened (only its durability is in doubt).
    pub fn is_in_place(&self) -> bool {
        matches!(self, WriteError::NotDurable { .. })
    }

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
    #[error("cannot list the sessions in {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Anything else the store can fail at (paths, listing, markers).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot find the state directory: {0}")]
    NoStateHome(String),
    #[error("project directory {} is not usable", path.display())]
    Project {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {}", path.display())]
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

/// An error and its causes as one line, `outer: inner: root`: the one way
/// every crate shows an error chain (each error shows its cause in its
/// message or as its source, never both, so nothing repeats).
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line.replace('\n', " ")
}
