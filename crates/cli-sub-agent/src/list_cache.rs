//! A cache of `csa session list` rows, so that listing thousands of settled
//! sessions does not re-read and re-parse every `state.toml` and `result.toml`.
//!
//! Only rows that cannot change without a file changing are cached: sessions
//! that are not active (active ones need a fresh liveness probe) and not in
//! error. Each entry is keyed by the session dir and validated by a fingerprint
//! (size, mtime, ctime, inode) of both files taken before they were read; a
//! file touched within [`RACY_WINDOW`] of the cache write is not cached, since
//! a same-size rewrite within one timestamp tick would be invisible. The cache
//! lives under `$XDG_CACHE_HOME/cli-sub-agent/` (else `~/.cache/cli-sub-agent/`),
//! never in the state dir; deleting it is always safe.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use csa_session::consts::{RESULT_FILE, STATE_FILE};
use serde::{Deserialize, Serialize};

use csa_session::{Phase, SessionLocation};

use crate::status::{SessionRow, Status};

/// Bump when the row or fingerprint format changes.
const CACHE_VERSION: u32 = 3;
/// Files modified this recently are not cached (timestamp granularity).
const RACY_WINDOW: Duration = Duration::from_secs(2);
const CACHE_DIR: &str = "list-cache";

/// What identifies one version of a file: size, mtime, ctime (ns), inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint(u64, i64, i64, u64);

impl Fingerprint {
    #[cfg(unix)]
    #[allow(
        clippy::unnecessary_cast,
        reason = "the stat field types differ between platforms"
    )]
    fn from_stat(st: &libc::stat) -> Fingerprint {
        let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        Fingerprint(
            st.st_size as u64,
            ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
            st.st_ino as u64,
        )
    }

    /// `name` relative to the open folder `dir` (a short path walk).
    #[cfg(unix)]
    fn of_in(dir: &std::fs::File, name: &str) -> Option<Fingerprint> {
        use std::os::fd::AsRawFd;
        let name = std::ffi::CString::new(name).ok()?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: valid fd, NUL-terminated name, and a buffer the size of `stat`.
        let rc = unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), 0) };
        if rc != 0 {
            return None;
        }
        // SAFETY: fstatat filled the buffer because it returned 0.
        let st = unsafe { st.assume_init() };
        Some(Fingerprint::from_stat(&st))
    }

    #[cfg(not(unix))]
    fn of_path(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Some(Fingerprint(meta.len(), mtime, mtime, 0))
    }

    fn settled(self, now_ns: i64) -> bool {
        now_ns.saturating_sub(self.1.max(self.2)) > RACY_WINDOW.as_nanos() as i64
    }
}

/// The fingerprints of a session's state and result files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints(Option<Fingerprint>, Option<Fingerprint>);

/// Open sessions folders, so fingerprints are taken with a two-component walk.
#[derive(Debug, Default)]
pub struct Folders {
    #[cfg(unix)]
    open: HashMap<PathBuf, std::fs::File>,
}

impl Folders {
    pub fn open(dirs: &[PathBuf]) -> Folders {
        #[cfg(unix)]
        {
            let open = dirs
                .iter()
                .filter_map(|d| Some((d.clone(), fs_err::File::open(d).ok()?.into_parts().0)))
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
        if let (Some(parent), Some(id)) = (session_dir.parent(), session_dir.file_name())
            && let (Some(dir), Some(id)) = (self.open.get(parent), id.to_str())
        {
            return Fingerprints(
                Fingerprint::of_in(dir, &format!("{id}/{STATE_FILE}")),
                Fingerprint::of_in(dir, &format!("{id}/{RESULT_FILE}")),
            );
        }
        #[cfg(unix)]
        {
            let _ = session_dir;
            Fingerprints(None, None)
        }
        #[cfg(not(unix))]
        Fingerprints(
            Fingerprint::of_path(&session_dir.join(STATE_FILE)),
            Fingerprint::of_path(&session_dir.join(RESULT_FILE)),
        )
    }
}

/// The cached part of a row (short keys keep the file small).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedRow {
    s: Status,
    p: Phase,
    a: String,
    /// `last_accessed` in nanoseconds since the epoch (the sort key).
    k: Option<i64>,
    d: Option<String>,
    t: Vec<String>,
    b: Option<String>,
    j: Option<String>,
    r: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry(
    Fingerprints,
    CachedRow,
    /// Used by this list (kept on save); not stored.
    #[serde(skip)]
    AtomicBool,
);

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    /// Session id -> entry. Ids are unique; should two folders hold the same
    /// id, their fingerprints (inodes) differ and the entry is simply a miss.
    entries: HashMap<String, Entry>,
}

/// The rows cached by the previous list of the same scope, and the new set.
#[derive(Debug)]
pub struct ListCache {
    path: Option<PathBuf>,
    old: HashMap<String, Entry>,
    hits: AtomicUsize,
    puts: Mutex<Vec<(String, Entry)>>,
    now_ns: i64,
}

impl ListCache {
    /// Load the cache for listing `scope` (the sessions folders, in order).
    pub fn load(scope: &[PathBuf]) -> ListCache {
        let path = cache_root().map(|root| root.join(CACHE_DIR).join(scope_name(scope)));
        let old = path
            .as_deref()
            .and_then(|p| fs_err::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|file| file.version == CACHE_VERSION)
            .map(|file| file.entries)
            .unwrap_or_default();
        let now_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        ListCache {
            path,
            old,
            hits: AtomicUsize::new(0),
            puts: Mutex::new(Vec::new()),
            now_ns,
        }
    }

    /// The cached row, if the session's files are exactly as when it was cached.
    pub fn get(&self, loc: &SessionLocation, files: &Fingerprints) -> Option<SessionRow> {
        let key = loc.id.as_str();
        let Entry(cached_files, row, used) = self.old.get(key)?;
        if cached_files != files {
            return None;
        }
        if !used.swap(true, Ordering::Relaxed) {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        Some(SessionRow {
            session_id: loc.id.to_string(),
            status: row.s,
            phase: Some(row.p),
            last_accessed: Some(row.a.clone()),
            description: row.d.clone(),
            tools: row.t.clone(),
            branch: row.b.clone(),
            project_path: row.j.clone(),
            termination_reason: row.r.clone(),
            liveness: None,
            error: None,
            sort_key: row.k.map(DateTime::<Utc>::from_timestamp_nanos),
        })
    }

    /// Remember `row`, computed from files with these fingerprints, if it may be cached.
    pub fn put(&self, loc: &SessionLocation, files: Fingerprints, row: &SessionRow) {
        let settled = |f: Option<Fingerprint>| f.is_none_or(|f| f.settled(self.now_ns));
        let key = loc.id.as_str();
        let (Some(phase), Some(accessed)) = (row.phase, row.last_accessed.as_ref()) else {
            return;
        };
        let cacheable = phase != Phase::Active
            && row.error.is_none()
            && files.0.is_some()
            && settled(files.0)
            && settled(files.1);
        if !cacheable {
            return;
        }
        let cached = CachedRow {
            s: row.status,
            p: phase,
            a: accessed.clone(),
            k: row.sort_key.and_then(|t| t.timestamp_nanos_opt()),
            d: row.description.clone(),
            t: row.tools.clone(),
            b: row.branch.clone(),
            j: row.project_path.clone(),
            r: row.termination_reason.clone(),
        };
        let mut puts = self.puts.lock().unwrap_or_else(|e| e.into_inner());
        puts.push((key.to_owned(), Entry(files, cached, AtomicBool::new(true))));
    }

    /// Write the new set if it differs from what was loaded. Failures only log.
    pub fn save(self) {
        let Some(path) = self.path else { return };
        let hits = self.hits.into_inner();
        let puts = self.puts.into_inner().unwrap_or_else(|e| e.into_inner());
        if puts.is_empty() && hits == self.old.len() {
            return;
        }
        let mut entries: HashMap<String, Entry> = self
            .old
            .into_iter()
            .filter(|(_, entry)| entry.2.load(Ordering::Relaxed))
            .collect();
        entries.extend(puts);
        let file = CacheFile {
            version: CACHE_VERSION,
            entries,
        };
        let written = serde_json::to_vec(&file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let dir = path.parent().unwrap_or(Path::new("."));
                csa_session::durable::create_private_dir_all(dir).map_err(|e| e.to_string())?;
                csa_session::durable::write_atomic(&path, &bytes).map_err(|e| e.to_string())
            });
        if let Err(err) = written {
            tracing::debug!(path = %path.display(), "cannot write the list cache: {err}");
        }
    }
}

/// `$XDG_CACHE_HOME/cli-sub-agent` when absolute, else `$HOME/.cache/cli-sub-agent`.
fn cache_root() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from);
    if let Some(xdg) = xdg.filter(|p| p.is_absolute()) {
        return Some(xdg.join(csa_session::consts::APP_DIR));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    home.is_absolute()
        .then(|| home.join(".cache").join(csa_session::consts::APP_DIR))
}

/// A file name for a scope: FNV-1a of the folder paths.
fn scope_name(scope: &[PathBuf]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for dir in scope {
        for byte in dir.as_os_str().as_encoded_bytes().iter().chain([&0u8]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}.json")
}
