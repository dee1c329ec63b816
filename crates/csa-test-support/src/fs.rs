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
            } else {
                let bytes = fs_err::read(&path).unwrap_or_default();
                files.insert(path, bytes);
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

/// Set a file's modification time `secs` seconds into the past.
pub fn backdate(path: &Path, secs: u64) {
    let file = fs_err::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}
