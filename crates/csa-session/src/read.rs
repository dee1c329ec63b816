//! Reading files that someone else can write, without ever blocking or
//! running out of memory (contract §2; a hostile or broken session dir may
//! hold a FIFO, a socket, a device, a link to `/dev/zero` or a 4 GiB file).
//!
//! Files are opened with `O_NONBLOCK` (a FIFO opens at once instead of
//! waiting for a writer), checked with `fstat` on the opened descriptor to be
//! regular files (so a symlink to `/dev/zero` or to a FIFO is refused, while
//! one to a regular file is read like it), and read up to a limit: whole small
//! files ([`read_bounded`]) or the tail of a log ([`read_tail`]). A dangling
//! symlink is not a missing file: it is an error, like anything else that is
//! not a readable regular file.

#![allow(
    clippy::disallowed_methods,
    reason = "errors are returned as io::Error and mapped by callers to errors that name the path"
)]

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Largest `state.toml`, `result.toml`, `daemon-completion.toml`, pid record,
/// lock record or cooldown marker csa reads (real ones are under 4 KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Buffer size when a file's length does not fit in memory's address space.
const READ_CAPACITY: usize = 2048;

/// Open `path` for reading without blocking; refuse anything that is not a
/// regular file (checked on the opened descriptor).
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|err| {
        let dangling = err.kind() == io::ErrorKind::NotFound
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if dangling {
            return refused("it is a symbolic link to nothing");
        }
        err
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(&format!(
            "it is {}, not a regular file",
            kind_of(&meta.file_type())
        )));
    }
    Ok((file, meta.len()))
}

/// The whole file, if it is a regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(too_large(len, limit));
    }
    // `len <= limit`, so the buffer is bounded; +1 lets read_to_end see EOF
    // without growing it.
    let capacity = usize::try_from(len).map_or(READ_CAPACITY, |len| len + 1);
    let mut bytes = Vec::with_capacity(capacity);
    // One byte past the limit tells a file that grew since the fstat.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// The last `max_bytes` bytes of a regular file (all of it when shorter), and
/// whether the file was longer (the first line returned may then be cut).
pub fn read_tail(path: &Path, max_bytes: u64) -> io::Result<(Vec<u8>, bool)> {
    let (mut file, len) = open_regular(path)?;
    let start = len.saturating_sub(max_bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(max_bytes.min(len)).unwrap_or(0));
    file.take(max_bytes).read_to_end(&mut bytes)?;
    Ok((bytes, start > 0))
}

fn refused(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_owned())
}

fn too_large(len: u64, limit: u64) -> io::Error {
    refused(&format!(
        "it is {len} bytes, more than the {limit} bytes csa reads from such a file"
    ))
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    "something else"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_regular_files_are_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a");
        fs_err::write(&path, "hello").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"hello");
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(err.to_string().contains("more than the 4 bytes"), "{err}");
        assert_eq!(
            read_bounded(&tmp.path().join("none"), 5)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_tail_is_the_end_of_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        fs_err::write(&path, "0123456789").unwrap();
        assert_eq!(read_tail(&path, 4).unwrap(), (b"6789".to_vec(), true));
        assert_eq!(
            read_tail(&path, 40).unwrap(),
            (b"0123456789".to_vec(), false)
        );
    }

    #[test]
    fn a_directory_is_not_a_regular_file() {
        let tmp = tempfile::tempdir().unwrap();
        let err = read_bounded(tmp.path(), 5).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_links_devices_and_huge_sparse_files_neither_block_nor_eat_memory() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_bounded(&fifo, MAX_FILE_BYTES).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        assert!(read_tail(&fifo, 10).is_err());

        let zero = tmp.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = read_bounded(&zero, MAX_FILE_BYTES).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        let to_fifo = tmp.path().join("to-fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        let err = read_bounded(&to_fifo, MAX_FILE_BYTES).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let dangling = tmp.path().join("dangling");
        std::os::unix::fs::symlink(tmp.path().join("nothing"), &dangling).unwrap();
        let err = read_bounded(&dangling, MAX_FILE_BYTES).unwrap_err();
        assert_ne!(
            err.kind(),
            io::ErrorKind::NotFound,
            "a dangling link is not missing"
        );
        assert!(
            err.to_string().contains("symbolic link to nothing"),
            "{err}"
        );

        let sparse = tmp.path().join("sparse");
        let file = fs_err::File::create(&sparse).unwrap();
        file.set_len(4 << 30).unwrap();
        let err = read_bounded(&sparse, MAX_FILE_BYTES).unwrap_err();
        assert!(err.to_string().contains("4294967296 bytes"), "{err}");
        let (tail, cut) = read_tail(&sparse, 16).unwrap();
        assert_eq!((tail.len(), cut), (16, true));
    }
}
