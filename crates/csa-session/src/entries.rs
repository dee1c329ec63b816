//! A folder's entries, read without an allocation per entry: `list` walks a
//! sessions folder of 10,000 sessions on every run, and `remove` lists every
//! folder it empties.
//!
//! On Linux the `getdents64` records are read straight from one buffer
//! (rustix's `RawDir`); on other Unix systems through `readdir`.

#![cfg(unix)]

use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, FileType};

/// Bytes of `getdents64` records read per system call (about 1,000 names
/// of a session folder's length).
#[cfg(any(target_os = "linux", target_os = "android"))]
const BUFFER_BYTES: usize = 64 << 10;

/// Call `each` with the name and the listed type of every entry of `dir`
/// but `.` and `..`, from the first (whatever was read from `dir` before).
/// The type is [`FileType::Unknown`] where the filesystem does not say:
/// [`is_real_dir`] then asks.
pub(crate) fn each_entry(
    dir: BorrowedFd<'_>,
    mut each: impl FnMut(&CStr, FileType) -> io::Result<()>,
) -> io::Result<()> {
    let mut visit = |name: &CStr, kind: FileType| {
        if name == c"." || name == c".." {
            return Ok(());
        }
        each(name, kind)
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // `getdents64` reads on from the descriptor's position.
        rustix::fs::seek(dir, rustix::fs::SeekFrom::Start(0))?;
        let mut buffer = Vec::with_capacity(BUFFER_BYTES);
        let mut entries = rustix::fs::RawDir::new(dir, buffer.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            visit(entry.file_name(), entry.file_type())?;
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        visit(entry.file_name(), entry.file_type())?;
    }
    Ok(())
}

/// Whether `name` in `dir` is a folder itself (an lstat: a link to one is
/// not). Nothing there: `false`.
pub(crate) fn is_real_dir(dir: BorrowedFd<'_>, name: impl rustix::path::Arg) -> io::Result<bool> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(FileType::from_raw_mode(stat.st_mode) == FileType::Directory),
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Whether an entry listed as `kind` is a real folder, asking the
/// filesystem only when the listing did not say.
pub(crate) fn listed_as_dir(dir: BorrowedFd<'_>, name: &CStr, kind: FileType) -> io::Result<bool> {
    match kind {
        FileType::Unknown => is_real_dir(dir, name),
        kind => Ok(kind == FileType::Directory),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::fd::AsFd;

    use super::*;

    fn listing(dir: &std::path::Path) -> BTreeMap<String, bool> {
        let fd = fs_err::File::open(dir).unwrap();
        let mut found = BTreeMap::new();
        each_entry(fd.as_fd(), |name, kind| {
            let is_dir = listed_as_dir(fd.as_fd(), name, kind)?;
            found.insert(name.to_string_lossy().into_owned(), is_dir);
            Ok(())
        })
        .unwrap();
        found
    }

    #[test]
    fn every_entry_is_listed_once_with_whether_it_is_a_real_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = BTreeMap::new();
        // More names than one buffer holds, so the listing takes several reads.
        for i in 0..3000 {
            let name = format!("{i:05}-{}", "x".repeat(40));
            if i % 2 == 0 {
                fs_err::create_dir(dir.path().join(&name)).unwrap();
            } else {
                fs_err::write(dir.path().join(&name), b"").unwrap();
            }
            expected.insert(name, i % 2 == 0);
        }
        let folder = dir.path().join(format!("00000-{}", "x".repeat(40)));
        std::os::unix::fs::symlink(folder, dir.path().join("link")).unwrap();
        expected.insert("link".to_owned(), false);
        assert_eq!(listing(dir.path()), expected);
    }

    #[test]
    fn an_entry_of_unknown_type_is_looked_at_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("folder")).unwrap();
        fs_err::write(dir.path().join("file"), b"").unwrap();
        std::os::unix::fs::symlink(dir.path().join("folder"), dir.path().join("link")).unwrap();
        let fd = fs_err::File::open(dir.path()).unwrap();
        let is_dir = |name: &CStr| listed_as_dir(fd.as_fd(), name, FileType::Unknown).unwrap();
        assert!(is_dir(c"folder"));
        assert!(!is_dir(c"file"));
        assert!(!is_dir(c"link"));
        assert!(!is_dir(c"gone"));
        // A listed type is trusted as it is.
        assert!(listed_as_dir(fd.as_fd(), c"gone", FileType::Directory).unwrap());
    }

    #[test]
    fn a_folder_listed_twice_lists_the_same_entries() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c"] {
            fs_err::write(dir.path().join(name), b"").unwrap();
        }
        let fd = fs_err::File::open(dir.path()).unwrap();
        let names = || {
            let mut names = Vec::new();
            each_entry(fd.as_fd(), |name, _| {
                names.push(name.to_owned());
                Ok(())
            })
            .unwrap();
            names.sort();
            names
        };
        assert_eq!(names(), [c"a", c"b", c"c"]);
        assert_eq!(names(), [c"a", c"b", c"c"]);
    }

    #[test]
    fn an_error_from_the_caller_stops_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c"] {
            fs_err::write(dir.path().join(name), b"").unwrap();
        }
        let fd = fs_err::File::open(dir.path()).unwrap();
        let mut seen = 0;
        let err = each_entry(fd.as_fd(), |_, _| {
            seen += 1;
            Err(io::Error::other("stop"))
        })
        .unwrap_err();
        assert_eq!((seen, err.to_string().as_str()), (1, "stop"));
    }
}
