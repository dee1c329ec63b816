//! File fingerprints for the list cache: what identifies one version of a
//! session's `state.toml` and `result.toml` without reading them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::consts::{RESULT_FILE, STATE_FILE};

/// Files modified this recently are not cached (timestamp granularity).
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What identifies one version of a file: size, mtime, ctime (ns), inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
}

impl Fingerprint {
    #[cfg(unix)]
    #[allow(
        clippy::unnecessary_cast,
        reason = "the stat field types differ between platforms"
    )]
    fn from_stat(st: &rustix::fs::Stat) -> Fingerprint {
        let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        Fingerprint {
            size: st.st_size as u64,
            mtime_ns: ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime_ns: ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
            inode: st.st_ino as u64,
        }
    }

    /// The file at `path` (NUL-terminated, relative to the open folder `dir`).
    #[cfg(unix)]
    fn of_in(dir: &std::fs::File, path: &std::ffi::CStr) -> Option<Fingerprint> {
        let st = rustix::fs::statat(dir, path, rustix::fs::AtFlags::empty()).ok()?;
        Some(Fingerprint::from_stat(&st))
    }

    #[cfg(not(unix))]
    fn of_path(path: &Path) -> Option<Fingerprint> {
        let meta = fs_err::metadata(path).ok()?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Some(Fingerprint {
            size: meta.len(),
            mtime_ns,
            ctime_ns: mtime_ns,
            inode: 0,
        })
    }

    /// True when the file last changed more than [`RACY_WINDOW`] before `now_ns`.
    pub fn settled(self, now_ns: i64) -> bool {
        let window = i64::try_from(RACY_WINDOW.as_nanos()).unwrap_or(i64::MAX);
        now_ns.saturating_sub(self.mtime_ns.max(self.ctime_ns)) > window
    }
}

/// The fingerprints of a session's state and result files (`None`: no file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprints {
    pub state: Option<Fingerprint>,
    pub result: Option<Fingerprint>,
}

/// Open sessions folders, so fingerprints are taken with a two-component walk.
#[derive(Debug, Default)]
pub struct Folders {
    #[cfg(unix)]
    open: Vec<(Vec<u8>, std::fs::File)>,
}

impl Folders {
    pub fn open(dirs: &[PathBuf]) -> Folders {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let open = dirs
                .iter()
                .filter_map(|d| {
                    let file = fs_err::File::open(d).ok()?.into_parts().0;
                    // As a session dir's parent is written: without a trailing slash.
                    let bytes = d.as_os_str().as_bytes();
                    let end = bytes.iter().rposition(|b| *b != b'/').map_or(1, |i| i + 1);
                    Some((bytes[..end].to_vec(), file))
                })
                .collect();
            Folders { open }
        }
        #[cfg(not(unix))]
        {
            let _ = dirs;
            Folders::default()
        }
    }

    /// The fingerprints of the session in `session_dir`.
    pub fn fingerprints(&self, session_dir: &Path) -> Fingerprints {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            // Split at the last slash by hand: `Path::parent` and
            // `Path::file_name` parse components, a tenth of a steady list.
            let bytes = session_dir.as_os_str().as_bytes();
            let Some(slash) = memchr::memrchr(b'/', bytes) else {
                return Fingerprints::default();
            };
            let (parent, id) = (&bytes[..slash], &bytes[slash + 1..]);
            let Some((_, dir)) = self.open.iter().find(|(path, _)| path == parent) else {
                return Fingerprints::default();
            };
            let Some(mut path) = RelativePath::new(id) else {
                return Fingerprints::default();
            };
            Fingerprints {
                state: path
                    .with(STATE_FILE)
                    .and_then(|p| Fingerprint::of_in(dir, p)),
                result: path
                    .with(RESULT_FILE)
                    .and_then(|p| Fingerprint::of_in(dir, p)),
            }
        }
        #[cfg(not(unix))]
        Fingerprints {
            state: Fingerprint::of_path(&session_dir.join(STATE_FILE)),
            result: Fingerprint::of_path(&session_dir.join(RESULT_FILE)),
        }
    }
}

/// `<session id>/<file name>\0` built in place, without allocating per file.
#[cfg(unix)]
struct RelativePath {
    buf: [u8; 64],
    dir_len: usize,
}

#[cfg(unix)]
impl RelativePath {
    /// `None` when `dir` is too long for the buffer (session ids never are).
    fn new(dir: &[u8]) -> Option<RelativePath> {
        let mut buf = [0; 64];
        buf.get_mut(..dir.len())?.copy_from_slice(dir);
        Some(RelativePath {
            buf,
            dir_len: dir.len(),
        })
    }

    /// `dir/name` as a C string; `None` if it does not fit or holds a NUL.
    fn with(&mut self, name: &str) -> Option<&std::ffi::CStr> {
        let end = self.dir_len + 1 + name.len();
        if end >= self.buf.len() {
            return None;
        }
        self.buf[self.dir_len] = b'/';
        self.buf[self.dir_len + 1..end].copy_from_slice(name.as_bytes());
        self.buf[end] = 0;
        std::ffi::CStr::from_bytes_with_nul(&self.buf[..=end]).ok()
    }
}
