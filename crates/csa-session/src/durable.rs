//! Durable, atomic file operations (contract §6, "every file write").
//!
//! Every write goes to a temp file in the target's own folder, is fsynced, and
//! is then renamed (replace) or hard-linked (no clobber) into place, after which
//! the folder is fsynced. A symlink at the target is replaced or refused, never
//! written through. Existing permission bits are kept; new files get 0600.

#![allow(
    clippy::disallowed_methods,
    reason = "this module reports every failure as a WriteError naming the path itself"
)]

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::consts::{NEW_DIR_MODE, NEW_FILE_MODE, STALE_TEMP_AGE, TEMP_PREFIX};
use crate::error::WriteError;
use crate::fault::{self, FaultPoint};

/// Aside names used by [`remove_if_unchanged`]; never swept, never deleted blindly.
const REMOVING_PREFIX: &str = ".csa-removing-";

/// What a no-clobber publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The file did not exist and now holds our bytes.
    Created,
    /// A file (or link) already had that name; it was not touched.
    AlreadyExists,
}

/// What a content-aware remove did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The file still held exactly the expected bytes and is gone.
    Removed,
    /// The file holds other bytes (someone else wrote it); it was left in place.
    Changed,
    /// There was no file.
    Missing,
}

/// Replace `path` with `bytes` atomically and durably.
///
/// An error before the rename leaves the old file untouched. Once the rename
/// is done the new bytes are in place: a failure to fsync the folder after it
/// is [`WriteError::NotDurable`], which callers must treat as written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent_of(path)?;
    let mode = existing_mode(path);
    let temp = write_temp(dir, path, bytes, mode)?;
    if let Err(source) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(WriteError::io(path, source));
    }
    let not_durable = |source| WriteError::NotDurable {
        path: path.to_path_buf(),
        source,
    };
    fault::hit(FaultPoint::DurableDirSync)
        .map_err(|fault| not_durable(std::io::Error::other(fault)))?;
    sync_dir_io(dir).map_err(not_durable)?;
    tracing::debug!(path = %path.display(), bytes = bytes.len(), "wrote durably (temp, fsync, rename, fsync dir)");
    Ok(())
}

/// Replace `path` with `bytes` atomically, with the new file's bytes fsynced
/// but not its folder: the rename becomes durable with the next fsync of the
/// same folder, which the caller must do before anything depends on it (the
/// daemon's completion file is followed at once by the result's publish).
pub fn write_atomic_deferring_dir_sync(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent_of(path)?;
    let temp = write_temp(dir, path, bytes, existing_mode(path))?;
    std::fs::rename(&temp, path).map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        WriteError::io(path, source)
    })
}

/// Replace `path` with `bytes` atomically but without fsyncs: for hints that
/// are worth nothing after a crash (a stop request read within seconds), never
/// for session state or results.
pub fn replace_hint(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent_of(path)?;
    let temp = write_temp_with(dir, path, bytes, existing_mode(path), false)?;
    std::fs::rename(&temp, path).map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        WriteError::io(path, source)
    })
}

/// Create `path` with `bytes` unless something already has that name.
pub fn publish_no_clobber(path: &Path, bytes: &[u8]) -> Result<Published, WriteError> {
    Ok(match publish_claimed(path, bytes)? {
        Some(_) => Published::Created,
        None => Published::AlreadyExists,
    })
}

/// A file we published, held open with its folder, so that taking it back
/// ([`take_back`]) opens no new descriptor: a rollback must work even when
/// the failure that calls for it was running out of descriptors.
#[derive(Debug)]
pub struct Claim {
    bytes: Vec<u8>,
    /// The published file (the same inode as the name), readable.
    file: File,
    /// Its folder, for the fsync after the removal.
    dir: File,
}

/// [`publish_no_clobber`], keeping a [`Claim`] on the file when it was
/// created (`None`: something already had the name, untouched).
pub fn publish_claimed(path: &Path, bytes: &[u8]) -> Result<Option<Claim>, WriteError> {
    let dir = parent_of(path)?;
    let dir_file = File::open(dir).map_err(|source| WriteError::io(dir, source))?;
    let (temp, file) = write_temp_open(dir, path, bytes, None, true)?;
    let linked = link_no_clobber(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            #[cfg(unix)]
            dir_file
                .sync_all()
                .map_err(|source| WriteError::io(dir, source))?;
            tracing::debug!(path = %path.display(), bytes = bytes.len(), "published durably (temp, fsync, link, fsync dir)");
            Ok(Some(Claim {
                bytes: bytes.to_vec(),
                file,
                dir: dir_file,
            }))
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            tracing::debug!(path = %path.display(), "not published: the file already exists");
            Ok(None)
        }
        Err(source) => Err(WriteError::io(path, source)),
    }
}

/// Remove the file we published at `path` only if the name still leads to
/// it and it still holds exactly our bytes, as [`remove_if_unchanged`] does,
/// but without opening anything: the name is compared by device and inode
/// with the held file, whose bytes are read through the held descriptor.
/// (Elsewhere than Unix: [`remove_if_unchanged`].)
pub fn take_back(path: &Path, claim: &Claim) -> Result<Removal, WriteError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let held = claim
            .file
            .metadata()
            .map_err(|source| WriteError::io(path, source))?;
        let mut now = vec![0; claim.bytes.len()];
        let intact = held.len() == claim.bytes.len() as u64
            && claim.file.read_exact_at(&mut now, 0).is_ok()
            && now == claim.bytes;
        let dir = parent_of(path)?;
        remove_if(
            path,
            |p| match std::fs::symlink_metadata(p) {
                Ok(meta) => Ok(Some(
                    intact && meta.dev() == held.dev() && meta.ino() == held.ino(),
                )),
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
                Err(source) => Err(WriteError::io(p, source)),
            },
            || {
                claim
                    .dir
                    .sync_all()
                    .map_err(|source| WriteError::io(dir, source))
            },
        )
    }
    #[cfg(not(unix))]
    {
        // The held descriptors only matter for the Unix path above.
        let _ = (&claim.dir, &claim.file);
        remove_if_unchanged(path, &claim.bytes)
    }
}

/// Remove `path` only if it still holds exactly `expected`.
///
/// The file is first renamed aside, so a writer that puts a new file in place
/// between our compare and our unlink is never deleted: the aside copy is
/// compared again, and put back (or kept as `<name>.displaced-<time>`) when it
/// differs.
pub fn remove_if_unchanged(path: &Path, expected: &[u8]) -> Result<Removal, WriteError> {
    let dir = parent_of(path)?;
    remove_if(
        path,
        |p| Ok(read_regular(p)?.map(|bytes| bytes == expected)),
        || sync_dir(dir),
    )
}

/// Remove `path` if `is_ours` says it is ours (`None`: nothing there),
/// asked again of the copy renamed aside; `sync` makes the change durable.
fn remove_if(
    path: &Path,
    is_ours: impl Fn(&Path) -> Result<Option<bool>, WriteError>,
    sync: impl Fn() -> Result<(), WriteError>,
) -> Result<Removal, WriteError> {
    let dir = parent_of(path)?;
    match is_ours(path)? {
        None => return Ok(Removal::Missing),
        Some(false) => return Ok(Removal::Changed),
        Some(true) => {}
    }
    let aside = dir.join(format!("{REMOVING_PREFIX}{}", unique_suffix()));
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Removal::Missing),
        Err(source) => return Err(WriteError::io(path, source)),
    }
    if is_ours(&aside)? == Some(true) {
        std::fs::remove_file(&aside).map_err(|source| WriteError::io(&aside, source))?;
        sync()?;
        tracing::debug!(path = %path.display(), "removed our unchanged file");
        return Ok(Removal::Removed);
    }
    // Someone replaced the file between our check and our rename: put it back.
    match link_no_clobber(&aside, path) {
        Ok(()) => {
            std::fs::remove_file(&aside).map_err(|source| WriteError::io(&aside, source))?;
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let displaced = dir.join(format!(
                "{}.displaced-{}",
                name.unwrap_or_default(),
                unique_suffix()
            ));
            std::fs::rename(&aside, &displaced)
                .map_err(|source| WriteError::io(&displaced, source))?;
        }
        Err(source) => return Err(WriteError::io(path, source)),
    }
    sync()?;
    Ok(Removal::Changed)
}

/// Remove our own temp files older than [`STALE_TEMP_AGE`] from `dir`
/// (left by a writer that crashed). Returns how many were removed.
pub fn sweep_temp_files(dir: &Path) -> Result<usize, WriteError> {
    let stale = stale_temp_files(dir)?;
    for path in &stale {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(source) => return Err(WriteError::io(path, source)),
        }
    }
    Ok(stale.len())
}

/// Whether `dir` holds temp files of ours older than [`STALE_TEMP_AGE`]
/// (one readdir; nothing is changed).
pub fn has_stale_temp_files(dir: &Path) -> bool {
    stale_temp_files(dir).is_ok_and(|stale| !stale.is_empty())
}

/// Our regular temp files in `dir` older than [`STALE_TEMP_AGE`].
fn stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(WriteError::io(dir, source)),
    };
    let now = SystemTime::now();
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX));
        if !is_ours {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if meta.is_file() && old {
            stale.push(entry.path());
        }
    }
    Ok(stale)
}

/// Create `dir` and its missing parents with mode 0700.
pub fn create_private_dir_all(dir: &Path) -> Result<(), WriteError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, NEW_DIR_MODE);
    #[cfg(not(unix))]
    let _ = NEW_DIR_MODE;
    builder
        .create(dir)
        .map_err(|source| WriteError::io(dir, source))
}

/// Fsync a folder so that renames and links in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    sync_dir_io(dir).map_err(|source| WriteError::io(dir, source))
}

fn sync_dir_io(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Open an existing `flock` target read-only, creating nothing (`None` when
/// there is none). A symlink there is refused, and so is anything but a
/// regular file (a FIFO would block the open forever): never blocks. For
/// looking without touching.
pub fn open_existing_lock_file(path: &Path) -> Result<Option<std::fs::File>, WriteError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    match options.open(path) {
        Ok(file) => regular_lock_file(path, file).map(Some),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WriteError::io(path, source)),
    }
}

/// Open (creating it 0600 if needed) a file used only as a `flock` target.
/// A symlink there is refused, so a lock can never be taken through one, and
/// so is anything but a regular file (opened without blocking: a FIFO there
/// never hangs the command).
pub fn open_lock_file(path: &Path) -> Result<std::fs::File, WriteError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(NEW_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|source| WriteError::io(path, source))?;
    regular_lock_file(path, file)
}

/// `file` (opened at `path`) when it is a regular file; a refusal naming
/// the path otherwise.
fn regular_lock_file(path: &Path, file: File) -> Result<File, WriteError> {
    let meta = file
        .metadata()
        .map_err(|source| WriteError::io(path, source))?;
    if meta.is_file() {
        Ok(file)
    } else {
        Err(WriteError::NotALockFile {
            path: path.to_path_buf(),
        })
    }
}

fn parent_of(path: &Path) -> Result<&Path, WriteError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => Ok(dir),
        _ => Err(WriteError::Refused {
            path: path.to_path_buf(),
            reason: "the path has no parent folder".into(),
        }),
    }
}

/// The permission bits of an existing regular file at `path` (not of a link's target).
fn existing_mode(path: &Path) -> Option<u32> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// A file replaced atomically by one written a part at a time: the parts go
/// to a temp file beside it, which [`Replacement::commit`] fsyncs and renames
/// into place (the folder is not fsynced: for caches, which are worth nothing
/// after a crash but must never be read half written). Dropped uncommitted,
/// the temp file is removed and the old file is untouched.
#[derive(Debug)]
pub struct Replacement {
    target: PathBuf,
    temp: PathBuf,
    file: std::io::BufWriter<File>,
    committed: bool,
}

impl Replacement {
    /// Start replacing `target` (its folder must exist).
    pub fn begin(target: &Path) -> Result<Replacement, WriteError> {
        let dir = parent_of(target)?;
        let (temp, file) = write_temp_open(dir, target, b"", existing_mode(target), false)?;
        Ok(Replacement {
            target: target.to_path_buf(),
            temp,
            file: std::io::BufWriter::with_capacity(1 << 16, file),
            committed: false,
        })
    }

    /// Append `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.file
            .write_all(bytes)
            .map_err(|source| WriteError::io(&self.temp, source))
    }

    /// Put the written bytes in place of the target.
    pub fn commit(mut self) -> Result<(), WriteError> {
        let flushed = self
            .file
            .flush()
            .and_then(|()| self.file.get_ref().sync_all());
        flushed.map_err(|source| WriteError::io(&self.temp, source))?;
        std::fs::rename(&self.temp, &self.target)
            .map_err(|source| WriteError::io(&self.target, source))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `<pid>-<ULID>`: unique across processes and calls.
pub(crate) fn unique_suffix() -> String {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    format!(
        "{}-{}",
        PID.get_or_init(std::process::id),
        ulid::Ulid::new()
    )
}

/// Write `bytes` to a new fsynced temp file beside `target`; return its path.
fn write_temp(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<PathBuf, WriteError> {
    write_temp_with(dir, target, bytes, mode, true)
}

/// [`write_temp`], fsynced only when `sync` is set.
fn write_temp_with(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    sync: bool,
) -> Result<PathBuf, WriteError> {
    write_temp_open(dir, target, bytes, mode, sync).map(|(temp, _)| temp)
}

/// [`write_temp_with`], handing back the temp file open for reading too.
fn write_temp_open(
    dir: &Path,
    target: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    sync: bool,
) -> Result<(PathBuf, File), WriteError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}", unique_suffix()));
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, NEW_FILE_MODE);
    #[cfg(not(unix))]
    let _ = NEW_FILE_MODE;
    let result = (|| {
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        if let Some(mode) = mode.filter(|m| *m != NEW_FILE_MODE) {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        Ok(file)
    })();
    match result {
        Ok(file) => Ok((temp, file)),
        Err(source) => {
            let _ = std::fs::remove_file(&temp);
            Err(WriteError::io(target, source))
        }
    }
}

/// Give `from`'s file the name `to` unless `to` exists (as anything, even a dangling link).
fn link_no_clobber(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Err(err),
        #[cfg(target_os = "linux")]
        Err(_) => rename_noreplace(from, to),
        #[cfg(not(target_os = "linux"))]
        Err(err) => Err(err),
    }
}

/// Filesystems without hard links: `renameat2(RENAME_NOREPLACE)`.
#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(std::io::Error::from)
}

/// The bytes of a regular file at `path`; `None` if nothing is there.
/// A symlink or folder there is reported as different content (empty marker).
fn read_regular(path: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(WriteError::io(path, source)),
        Ok(meta) if !meta.is_file() => {
            return Err(WriteError::Refused {
                path: path.to_path_buf(),
                reason: "it is not a regular file".into(),
            });
        }
        Ok(_) => {}
    }
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WriteError::io(path, source)),
    }
}

#[cfg(test)]
#[path = "durable_tests.rs"]
mod tests;
