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

    /// At most this many folders of one removal are open at once, however
    /// deep the tree: a folder further up is closed on the way down and
    /// opened again through `..` on the way back (and checked to be the
    /// same folder).
    const OPEN_FOLDERS: usize = 32;

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

    /// A folder on the way down: open while it is one of the deepest
    /// [`OPEN_FOLDERS`], and what is left to remove in it.
    struct Frame {
        /// Its name in the folder above.
        name: OsString,
        fd: Option<OwnedFd>,
        id: Identity,
        left: Vec<(OsString, bool)>,
    }

    /// Remove `name` in `dir` and everything in it: a folder is entered
    /// (never through a link, never onto another mount) and emptied,
    /// anything else unlinked. Gone already is not an error. `after_first`
    /// runs once the first entry of `name` is removed (a fault point).
    ///
    /// The walk is a loop over a stack of folders, not a recursion, and
    /// keeps at most [`OPEN_FOLDERS`] of them open, so a tree of any depth
    /// needs a bounded number of descriptors. A folder on another device or
    /// mount than `dir` (a bind, FUSE or network mount left in a session)
    /// is an error that says a mount point is inside: nothing on it is
    /// touched, and what holds it stays.
    pub(crate) fn remove_at(
        dir: &Dir,
        name: &OsStr,
        after_first: &mut dyn FnMut() -> io::Result<()>,
    ) -> Result<(), TreeError> {
        let is_dir = crate::entries::is_real_dir(dir.fd.as_fd(), name)
            .map_err(|e| (dir.path.join(name), e))?;
        remove_known(dir, name, is_dir, after_first)
    }

    /// [`remove_at`] of an entry whose kind a listing already gave.
    pub(super) fn remove_known(
        dir: &Dir,
        name: &OsStr,
        is_dir: bool,
        after_first: &mut dyn FnMut() -> io::Result<()>,
    ) -> Result<(), TreeError> {
        let parent = dir.fd.as_fd();
        if !is_dir {
            return match unlink(parent, name, AtFlags::empty(), &dir.id) {
                // Listed as no folder, a folder now (swapped meanwhile).
                Err(err) if err.kind() == io::ErrorKind::IsADirectory => {
                    remove_known(dir, name, true, after_first)
                }
                other => other.map_err(|e| (dir.path.join(name), e)),
            };
        }
        let root = match open_checked(parent, name, &dir.id, &dir.path.join(name)) {
            Ok(Some(root)) => root,
            Ok(None) => return Ok(()),
            // Swapped for a link or a file since the lstat: unlinked.
            Err(err) if err.kind() == io::ErrorKind::NotADirectory => {
                return unlink(parent, name, AtFlags::empty(), &dir.id)
                    .map_err(|e| (dir.path.join(name), e));
            }
            Err(err) => return Err((dir.path.join(name), err)),
        };
        let mut walk = Walk {
            top: dir,
            stack: vec![Frame {
                name: name.to_owned(),
                left: list(root.0.as_fd()).map_err(|e| (dir.path.join(name), e))?,
                fd: Some(root.0),
                id: root.1,
            }],
            open: 1,
        };
        walk.run(after_first)
    }

    /// One removal's stack of folders, below `top`.
    struct Walk<'d> {
        top: &'d Dir,
        stack: Vec<Frame>,
        /// How many frames hold an open folder: the deepest ones.
        open: usize,
    }

    impl Walk<'_> {
        fn run(
            &mut self,
            after_first: &mut dyn FnMut() -> io::Result<()>,
        ) -> Result<(), TreeError> {
            let mut first = true;
            while let Some(frame) = self.stack.last_mut() {
                let Some((name, is_dir)) = frame.left.pop() else {
                    let depth = self.stack.len();
                    self.leave()?;
                    // A folder directly in the removed one is gone.
                    if depth == 2 && std::mem::take(&mut first) {
                        after_first().map_err(|e| (self.path_to(1), e))?;
                    }
                    continue;
                };
                let fd = frame.fd.as_ref().expect("the deepest folder is open");
                let removed = if is_dir {
                    match open_checked(fd.as_fd(), &name, &frame.id, Path::new("")) {
                        Ok(Some((child, id))) => {
                            let left = list(child.as_fd()).map_err(|e| self.error(&name, e))?;
                            self.enter(name, child, id, left);
                            continue;
                        }
                        Ok(None) => Ok(()),
                        // Swapped for a link or a file: unlinked.
                        Err(err) if err.kind() == io::ErrorKind::NotADirectory => {
                            unlink(fd.as_fd(), &name, AtFlags::empty(), &frame.id)
                        }
                        Err(err) => Err(err),
                    }
                } else {
                    match unlink(fd.as_fd(), &name, AtFlags::empty(), &frame.id) {
                        // A folder now (swapped meanwhile): entered next.
                        Err(err) if err.kind() == io::ErrorKind::IsADirectory => {
                            frame.left.push((name, true));
                            continue;
                        }
                        other => other,
                    }
                };
                removed.map_err(|e| self.error(&name, e))?;
                if self.stack.len() == 1 && std::mem::take(&mut first) {
                    after_first().map_err(|e| self.error(&name, e))?;
                }
            }
            Ok(())
        }

        /// Go down into the folder `name` of the deepest one, closing the
        /// folder that falls out of the open window.
        fn enter(
            &mut self,
            name: OsString,
            fd: OwnedFd,
            id: Identity,
            left: Vec<(OsString, bool)>,
        ) {
            self.stack.push(Frame {
                name,
                fd: Some(fd),
                id,
                left,
            });
            self.open += 1;
            if self.open > OPEN_FOLDERS {
                let out = self.stack.len() - 1 - OPEN_FOLDERS;
                self.stack[out].fd = None;
                self.open -= 1;
            }
        }

        /// The deepest folder is empty: remove it from the one above
        /// (opened again through `..` if it was closed, and checked to be
        /// the folder it was).
        fn leave(&mut self) -> Result<(), TreeError> {
            let Some(frame) = self.stack.pop() else {
                return Ok(());
            };
            let fd = frame.fd.expect("the deepest folder is open");
            self.open -= 1;
            let depth = self.stack.len();
            if let Some(above) = self.stack.last_mut().filter(|above| above.fd.is_none()) {
                match reopen_parent(fd.as_fd(), &above.id) {
                    Ok(back) => above.fd = Some(back),
                    Err(err) => return Err((self.path_to(depth), err)),
                }
                self.open += 1;
            }
            let (parent, parent_id) = match self.stack.last() {
                None => (self.top.fd.as_fd(), self.top.id),
                Some(above) => (above.fd.as_ref().expect("opened above").as_fd(), above.id),
            };
            drop(fd);
            unlink(parent, &frame.name, AtFlags::REMOVEDIR, &parent_id)
                .or_else(|err| match err.raw_os_error() {
                    // Swapped for a link or a file: unlink that instead.
                    Some(code) if code == Errno::NOTDIR.raw_os_error() => {
                        unlink(parent, &frame.name, AtFlags::empty(), &parent_id)
                    }
                    _ => Err(err),
                })
                .map_err(|e| self.error(&frame.name, e))
        }

        /// The path of the deepest `depth` frames (for an error).
        fn path_to(&self, depth: usize) -> PathBuf {
            let mut path = self.top.path.clone();
            for frame in &self.stack[..depth] {
                path.push(&frame.name);
            }
            path
        }

        /// An error at `name` in the deepest folder.
        fn error(&self, name: &OsStr, err: io::Error) -> (PathBuf, io::Error) {
            let mut path = self.path_to(self.stack.len());
            path.push(name);
            if err.kind() == io::ErrorKind::Other
                && err
                    .get_ref()
                    .is_some_and(|e| e.is::<super::MountPointInside>())
            {
                return (path.clone(), mount_point_inside(&path));
            }
            (path, err)
        }
    }

    /// Open the folder `name` in `parent` (whose identity is `parent_id`),
    /// never following a link and never onto another mount.
    fn open_checked(
        parent: BorrowedFd<'_>,
        name: &OsStr,
        parent_id: &Identity,
        path: &Path,
    ) -> io::Result<Option<(OwnedFd, Identity)>> {
        let Some(fd) = open_dir(parent, name, path)? else {
            return Ok(None);
        };
        let id = Identity::of(fd.as_fd())?;
        if !parent_id.same_mount(&id) {
            return Err(mount_point_inside(path));
        }
        Ok(Some((fd, id)))
    }

    /// The folder above `child`, which must be `expected` (a folder moved
    /// elsewhere meanwhile has another `..`: an error, never a removal
    /// there).
    fn reopen_parent(child: BorrowedFd<'_>, expected: &Identity) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(child, "..", flags, Mode::empty())?;
        let id = Identity::of(fd.as_fd())?;
        if (id.dev, id.ino) != (expected.dev, expected.ino) {
            return Err(io::Error::other(
                "a folder being removed was moved elsewhere meanwhile; the rest is left",
            ));
        }
        Ok(fd)
    }

    /// `unlinkat`; on `EACCES` give the folder the owner's `rwx` and try
    /// once more. Gone already is not an error. A file that cannot be
    /// unlinked because something is mounted on it is an error that says a
    /// mount point is inside.
    fn unlink(
        dir: BorrowedFd<'_>,
        name: &OsStr,
        flags: AtFlags,
        dir_id: &Identity,
    ) -> io::Result<()> {
        let once = || rustix::fs::unlinkat(dir, name, flags);
        let result = match once() {
            Err(Errno::ACCESS | Errno::PERM) => {
                let stat = rustix::fs::fstat(dir)?;
                let mode = Mode::from_raw_mode(stat.st_mode) | Mode::RWXU;
                rustix::fs::fchmod(dir, mode)?;
                once()
            }
            other => other,
        };
        match result {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::BUSY)
                if Identity::at(dir, name, AtFlags::empty())
                    .is_ok_and(|id| !dir_id.same_mount(&id)) =>
            {
                Err(mount_point_inside(Path::new(name)))
            }
            Err(err) => Err(err.into()),
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
    use super::unix::remove_known;

    #[test]
    fn an_entry_listed_as_a_file_that_is_now_a_folder_is_removed_whole() {
        let tmp = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(tmp.path().join("swapped/deep")).unwrap();
        fs_err::write(tmp.path().join("swapped/deep/file"), "x").unwrap();
        let dir = Dir::open(tmp.path()).unwrap().unwrap();
        remove_known(&dir, OsStr::new("swapped"), false, &mut || Ok(())).unwrap();
        assert!(!tmp.path().join("swapped").exists());
    }

    #[test]
    fn a_tree_deeper_than_the_open_folders_is_removed_whole_through_reopened_parents() {
        // Two folders and a file at every level, 3 x OPEN_FOLDERS deep: the
        // second folder of each level is removed after its parent was
        // closed and opened again through `..`.
        let tmp = tempfile::tempdir().unwrap();
        let mut level = tmp.path().join("top");
        for depth in 0..96 {
            fs_err::create_dir_all(level.join("b")).unwrap();
            fs_err::write(level.join("b/f"), depth.to_string()).unwrap();
            fs_err::write(level.join("f"), depth.to_string()).unwrap();
            level = level.join("a");
        }
        fs_err::create_dir_all(&level).unwrap();
        let outside = tmp.path().join("outside");
        fs_err::create_dir_all(&outside).unwrap();
        let dir = Dir::open(tmp.path()).unwrap().unwrap();
        let mut firsts = 0;
        super::remove_at(&dir, OsStr::new("top"), &mut || {
            firsts += 1;
            Ok(())
        })
        .unwrap();
        assert!(!tmp.path().join("top").exists());
        assert!(outside.exists());
        assert_eq!(firsts, 1, "the fault point runs once");
    }
}
