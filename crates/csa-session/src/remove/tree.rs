//! Folders opened and removed without ever following a symlink: the trash
//! ([`super::trash`]) opens `.trash` and its shards with this, and removes
//! what is in them with it.
//!
//! On Unix every folder is opened with `O_DIRECTORY | O_NOFOLLOW` and worked
//! on relative to that handle (`openat`, `unlinkat`), so a symlink anywhere
//! (planted before, or swapped in while it runs) is unlinked, never entered:
//! its target is never touched. A folder we may not enter or change (mode
//! 000, read-only) is given `u+rwx` (after an lstat says it is a real
//! folder) and tried once more. Elsewhere: `std::fs::remove_dir_all`, which
//! does not follow links either.

#![allow(
    clippy::disallowed_methods,
    reason = "every failure here names its path through the caller's error"
)]

use std::io;
use std::path::{Path, PathBuf};

/// A failure, with the path it happened at.
pub(crate) type TreeError = (PathBuf, io::Error);

/// A folder that is not one: a symlink, a file, anything else. Its message
/// says `<path> is not a directory`.
pub(crate) fn not_a_directory(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotADirectory,
        format!("{} is not a directory", path.display()),
    )
}

/// A folder on another mount than the session dir being removed (a bind,
/// FUSE or network mount left inside it): removal never crosses into it.
#[derive(Debug, thiserror::Error)]
#[error("a mount point is inside: {}", path.display())]
pub struct MountPointInside {
    pub path: PathBuf,
}

/// The error for a mount point met at `path`.
#[cfg(unix)]
pub(crate) fn mount_point_inside(path: &Path) -> io::Error {
    io::Error::other(MountPointInside {
        path: path.to_path_buf(),
    })
}

#[cfg(unix)]
pub(crate) use unix::{Dir, remove_at};

#[cfg(unix)]
mod unix {
    use std::ffi::{OsStr, OsString};
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{TreeError, mount_point_inside, not_a_directory};

    /// Which folder a handle is, and on which mount.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Identity {
        dev: u64,
        ino: u64,
        /// The mount's id (`statx`, Linux 5.8+): tells a bind mount of a
        /// folder of the same file system, which has the same device.
        mount: Option<u64>,
    }

    impl Identity {
        fn of(fd: BorrowedFd<'_>) -> io::Result<Identity> {
            #[cfg(target_os = "linux")]
            {
                Identity::at(fd, OsStr::new(""), AtFlags::EMPTY_PATH)
            }
            #[cfg(not(target_os = "linux"))]
            {
                Ok(Identity::from_stat(&rustix::fs::fstat(fd)?))
            }
        }

        /// The identity of `name` in `parent` (`name` empty: `parent`
        /// itself), never following a link.
        fn at(parent: BorrowedFd<'_>, name: &OsStr, flags: AtFlags) -> io::Result<Identity> {
            let flags = flags | AtFlags::SYMLINK_NOFOLLOW;
            #[cfg(target_os = "linux")]
            {
                use rustix::fs::StatxFlags;
                let mask = StatxFlags::INO | StatxFlags::MNT_ID;
                match rustix::fs::statx(parent, name, flags, mask) {
                    Ok(st) => {
                        let dev = rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor);
                        let has_mount = st.stx_mask & StatxFlags::MNT_ID.bits() != 0;
                        return Ok(Identity {
                            dev,
                            ino: st.stx_ino,
                            mount: has_mount.then_some(st.stx_mnt_id),
                        });
                    }
                    // No statx here (old kernels, some sandboxes): fstat.
                    Err(Errno::NOSYS | Errno::PERM) => {}
                    Err(err) => return Err(err.into()),
                }
            }
            Ok(Identity::from_stat(&rustix::fs::statat(
                parent, name, flags,
            )?))
        }

        #[allow(
            clippy::useless_conversion,
            clippy::unnecessary_cast,
            reason = "st_dev and st_ino are narrower than u64 on some platforms"
        )]
        fn from_stat(st: &rustix::fs::Stat) -> Identity {
            Identity {
                dev: st.st_dev as u64,
                ino: st.st_ino as u64,
                mount: None,
            }
        }

        /// Whether `other` is on the same mount as this folder.
        fn same_mount(&self, other: &Identity) -> bool {
            self.dev == other.dev
                && match (self.mount, other.mount) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        }
    }

    /// A real folder, open: never a symlink's target.
    #[derive(Debug)]
    pub(crate) struct Dir {
        fd: OwnedFd,
        path: PathBuf,
        id: Identity,
    }

    impl Dir {
        /// Open the folder `path` (its last component never followed).
        /// `None` when nothing is there; an error saying `<path> is not a
        /// directory` when a symlink, a file or anything else is.
        pub(crate) fn open(path: &Path) -> io::Result<Option<Dir>> {
            let Some(fd) = open_dir(CWD, path.as_os_str(), path)? else {
                return Ok(None);
            };
            let id = Identity::of(fd.as_fd())?;
            Ok(Some(Dir {
                fd,
                path: path.to_path_buf(),
                id,
            }))
        }

        /// The folder `name` in this one, opened the same way. A folder on
        /// another mount (a mount point) is never entered: an error that
        /// says a mount point is inside.
        pub(crate) fn child(&self, name: &OsStr) -> io::Result<Option<Dir>> {
            let path = self.path.join(name);
            let Some(fd) = open_dir(self.fd.as_fd(), name, &path)? else {
                return Ok(None);
            };
            let id = Identity::of(fd.as_fd())?;
            if !self.id.same_mount(&id) {
                return Err(mount_point_inside(&path));
            }
            Ok(Some(Dir { fd, path, id }))
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// Its entries (names, and whether each is a real folder).
        pub(crate) fn entries(&self) -> io::Result<Vec<(OsString, bool)>> {
            list(self.fd.as_fd())
        }

        /// Rename `from` (a path, its last component not followed) to `name`
        /// in this folder.
        pub(crate) fn rename_into(&self, from: &Path, name: &OsStr) -> io::Result<()> {
            rustix::fs::renameat(CWD, from, self.fd.as_fd(), name).map_err(io::Error::from)
        }

        /// Fsync the folder.
        pub(crate) fn sync(&self) -> io::Result<()> {
            rustix::fs::fsync(self.fd.as_fd()).map_err(io::Error::from)
        }
    }

    /// Open a folder relative to `parent`, never following a link; on
    /// `EACCES` give a real folder `u+rwx` and try once more.
    fn open_dir(parent: BorrowedFd<'_>, name: &OsStr, path: &Path) -> io::Result<Option<OwnedFd>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let open = || rustix::fs::openat(parent, name, flags, Mode::empty());
        match open() {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            // O_NOFOLLOW on a link (ELOOP), or not a folder at all.
            Err(Errno::LOOP | Errno::NOTDIR) => Err(not_a_directory(path)),
            Err(Errno::ACCESS) if grant_owner(parent, name)? => match open() {
                Ok(fd) => Ok(Some(fd)),
                Err(err) => Err(err.into()),
            },
            Err(err) => Err(err.into()),
        }
    }

    /// Give `name` in `parent` the owner's `rwx` when an lstat says it is a
    /// real folder (never a link: `chmod` would follow one). Whether it did.
    fn grant_owner(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
        let stat = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
            return Ok(false);
        }
        let mode = Mode::from_raw_mode(stat.st_mode) | Mode::RWXU;
        rustix::fs::chmodat(parent, name, mode, AtFlags::empty())?;
        Ok(true)
    }

    fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<(OsString, bool)>> {
        let mut found = Vec::new();
        crate::entries::each_entry(dir, |name, kind| {
            let is_dir = crate::entries::listed_as_dir(dir, name, kind)?;
            found.push((OsStr::from_bytes(name.to_bytes()).to_owned(), is_dir));
            Ok(())
        })?;
        Ok(found)
    }

    /// Remove `name` in `dir` and everything in it: a folder is entered
    /// (never through a link, never onto another mount: an error that says
    /// a mount point is inside) and emptied, anything else unlinked. Gone
    /// already is not an error. `after_first` runs once the first entry of
    /// `name` is removed (a fault point).
    pub(crate) fn remove_at(
        dir: &Dir,
        name: &OsStr,
        after_first: &mut dyn FnMut() -> io::Result<()>,
    ) -> Result<(), TreeError> {
        let is_dir = crate::entries::is_real_dir(dir.fd.as_fd(), name)
            .map_err(|e| (dir.path.join(name), e))?;
        remove_known(dir, name, is_dir, after_first)
    }

    /// [`remove_at`] of an entry whose kind a listing already gave (its
    /// `d_type`), without asking again. An entry listed as no folder that
    /// is one now (swapped meanwhile) is looked at again.
    pub(super) fn remove_listed(dir: &Dir, name: &OsStr, is_dir: bool) -> Result<(), TreeError> {
        match remove_known(dir, name, is_dir, &mut || Ok(())) {
            Err((_, err)) if !is_dir && err.kind() == io::ErrorKind::IsADirectory => {
                remove_at(dir, name, &mut || Ok(()))
            }
            other => other,
        }
    }

    fn remove_known(
        dir: &Dir,
        name: &OsStr,
        is_dir: bool,
        after_first: &mut dyn FnMut() -> io::Result<()>,
    ) -> Result<(), TreeError> {
        let path = dir.path.join(name);
        if is_dir {
            match dir.child(name) {
                Ok(Some(child)) => clear(&child, after_first)?,
                Ok(None) => return Ok(()),
                // Swapped for a link or a file since the lstat: unlinked below.
                Err(err) if err.kind() == io::ErrorKind::NotADirectory => {}
                Err(err) => return Err((path, err)),
            }
        }
        let flags = if is_dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        unlink(dir, name, flags).or_else(|err| match err.1.kind() {
            // Swapped for a link or a file: unlink that instead.
            io::ErrorKind::NotADirectory if is_dir => unlink(dir, name, AtFlags::empty()),
            _ => Err(err),
        })
    }

    /// Remove every entry of `dir`; the first failure stops it.
    fn clear(dir: &Dir, after_first: &mut dyn FnMut() -> io::Result<()>) -> Result<(), TreeError> {
        let entries = dir.entries().map_err(|e| (dir.path.clone(), e))?;
        let mut first = true;
        for (name, is_dir) in entries {
            remove_listed(dir, &name, is_dir)?;
            if std::mem::take(&mut first) {
                after_first().map_err(|e| (dir.path.join(&name), e))?;
            }
        }
        Ok(())
    }

    /// `unlinkat`; on `EACCES` give the folder (open, so a real one) the
    /// owner's `rwx` and try once more. Gone already is not an error. A
    /// file that cannot be unlinked because something is mounted on it is
    /// an error that says a mount point is inside.
    fn unlink(dir: &Dir, name: &OsStr, flags: AtFlags) -> Result<(), TreeError> {
        let path = || dir.path.join(name);
        let once = || rustix::fs::unlinkat(dir.fd.as_fd(), name, flags);
        let result = match once() {
            Err(Errno::ACCESS | Errno::PERM) => {
                let stat =
                    rustix::fs::fstat(dir.fd.as_fd()).map_err(|e| (dir.path.clone(), e.into()))?;
                let mode = Mode::from_raw_mode(stat.st_mode) | Mode::RWXU;
                rustix::fs::fchmod(dir.fd.as_fd(), mode)
                    .map_err(|e| (dir.path.clone(), e.into()))?;
                once()
            }
            other => other,
        };
        match result {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::BUSY)
                if Identity::at(dir.fd.as_fd(), name, AtFlags::empty())
                    .is_ok_and(|id| !dir.id.same_mount(&id)) =>
            {
                Err((path(), mount_point_inside(&path())))
            }
            Err(err) => Err((path(), err.into())),
        }
    }
}

#[cfg(not(unix))]
pub(crate) use portable::{Dir, remove_at};

#[cfg(not(unix))]
mod portable {
    use std::ffi::{OsStr, OsString};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{TreeError, not_a_directory};

    /// A real folder (checked with an lstat; no handle to work from here).
    #[derive(Debug)]
    pub(crate) struct Dir {
        path: PathBuf,
    }

    impl Dir {
        pub(crate) fn open(path: &Path) -> io::Result<Option<Dir>> {
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => Ok(Some(Dir {
                    path: path.to_path_buf(),
                })),
                Ok(_) => Err(not_a_directory(path)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            }
        }

        pub(crate) fn child(&self, name: &OsStr) -> io::Result<Option<Dir>> {
            Dir::open(&self.path.join(name))
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        pub(crate) fn entries(&self) -> io::Result<Vec<(OsString, bool)>> {
            std::fs::read_dir(&self.path)?
                .map(|entry| {
                    let entry = entry?;
                    let is_dir = entry.file_type()?.is_dir();
                    Ok((entry.file_name(), is_dir))
                })
                .collect()
        }

        pub(crate) fn rename_into(&self, from: &Path, name: &OsStr) -> io::Result<()> {
            std::fs::rename(from, self.path.join(name))
        }

        pub(crate) fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }

    pub(crate) fn remove_at(
        dir: &Dir,
        name: &OsStr,
        after_first: &mut dyn FnMut() -> io::Result<()>,
    ) -> Result<(), TreeError> {
        let path = dir.path.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err((path, err)),
        };
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if meta.is_symlink() {
            std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir(&path))
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => after_first(),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err),
        }
        .map_err(|err| (path, err))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::ffi::OsStr;

    use super::Dir;
    use super::unix::remove_listed;

    #[test]
    fn an_entry_listed_as_a_file_that_is_now_a_folder_is_removed_whole() {
        let tmp = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(tmp.path().join("swapped/deep")).unwrap();
        fs_err::write(tmp.path().join("swapped/deep/file"), "x").unwrap();
        let dir = Dir::open(tmp.path()).unwrap().unwrap();
        remove_listed(&dir, OsStr::new("swapped"), false).unwrap();
        assert!(!tmp.path().join("swapped").exists());
    }
}
