//! Holding a lock file's `flock`, as a running daemon does.

use std::path::Path;

/// An exclusive `flock` on a file, held by this process until dropped. The
/// kernel lists it in `/proc/locks` like any other holder's; another open
/// file description (another process, or this one) cannot take it meanwhile.
#[derive(Debug)]
pub struct FlockHolder {
    _file: std::fs::File,
}

impl FlockHolder {
    /// Open `path` (creating it if needed, keeping its bytes) and lock it.
    pub fn hold(path: &Path) -> FlockHolder {
        let file = fs_err::File::options()
            .append(true)
            .create(true)
            .open(path)
            .unwrap()
            .into_parts()
            .0;
        file.try_lock().expect("the lock is free");
        FlockHolder { _file: file }
    }
}

/// Whether a non-blocking exclusive `flock` on `path` succeeds right now (on
/// a fresh open file description, released at once).
pub fn can_lock(path: &Path) -> bool {
    let file = fs_err::File::options().append(true).open(path).unwrap();
    file.file().try_lock().is_ok()
}
