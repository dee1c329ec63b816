//! Small filesystem helpers: snapshots of a tree, leftover temp files, ages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Every file below `dir` with its bytes (symlinks are listed, not followed).
pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                let target = fs_err::read_link(&path).unwrap();
                files.insert(path, target.as_os_str().as_encoded_bytes().to_vec());
            } else if kind.is_file() {
                let meta = entry.metadata().unwrap();
                let bytes = if meta.len() > 16 << 20 {
                    // Huge (sparse) test files: their size and mtime stand in.
                    format!(
                        "<{} bytes, modified {:?}>",
                        meta.len(),
                        meta.modified().ok()
                    )
                    .into_bytes()
                } else {
                    fs_err::read(&path).unwrap_or_default()
                };
                files.insert(path, bytes);
            } else {
                // A FIFO, socket or device: never opened (it could block).
                files.insert(path, b"<not a regular file>".to_vec());
            }
        }
    }
    files
}

/// Temp files our writers leave behind if something went wrong.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot_dir(dir)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".csa-tmp-") || n.starts_with(".csa-removing-"))
        })
        .collect()
}

/// The sessions waiting in the trash of the sessions folder `sessions`
/// (`.trash/<c>/<entry>`, and anything else left directly in `.trash`); the
/// trash folders themselves are not counted.
pub fn trashed(sessions: &Path) -> Vec<PathBuf> {
    let list = |dir: &Path| -> Vec<PathBuf> {
        match fs_err::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    };
    let mut found = Vec::new();
    for path in list(&sessions.join(".trash")) {
        let is_shard = path.is_dir() && path.file_name().is_some_and(|n| n.len() == 1);
        if is_shard {
            found.extend(list(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Set the modification time of a file, folder or FIFO `secs` seconds into
/// the past (by path: a FIFO is never opened).
#[cfg(unix)]
pub fn backdate(path: &Path, secs: u64) {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_OMIT, utimensat};
    let then = SystemTime::now() - Duration::from_secs(secs);
    let since_epoch = then.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: i64::try_from(since_epoch.as_secs()).unwrap(),
            tv_nsec: i64::from(since_epoch.subsec_nanos()),
        },
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW).unwrap();
}

#[cfg(not(unix))]
pub fn backdate(path: &Path, secs: u64) {
    let file = fs_err::File::open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

/// Replace whatever is at `path` with a FIFO (a file that blocks a reader).
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    let _ = fs_err::remove_file(path);
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}
