//! A cache of `csa session list` rows, so that listing thousands of settled
//! sessions does not re-read and re-parse every `state.toml` and `result.toml`.
//!
//! Only rows that cannot change without a file changing are cached: sessions
//! that are not active (active ones need a fresh liveness probe) and not in
//! error. Each entry is keyed by session id and validated by a fingerprint
//! (size, mtime, ctime, inode) of both files taken before they were read; a
//! file touched within the racy window of the cache write is not cached, since
//! a same-size rewrite within one timestamp tick would be invisible.
//!
//! The cache is one text file per listed scope (see [`line`] for its lines)
//! under `$XDG_CACHE_HOME/cli-sub-agent/` (else `~/.cache/cli-sub-agent/`),
//! never in the state dir. It is read once into one buffer; rows served from it
//! borrow their text from that buffer. Deleting it is always safe.
//!
//! `delete` and `clean` drop the rows of the sessions they removed from every
//! cache file ([`forget`]). A list that was running meanwhile may write a
//! removed session's row back; it is never served (a list only serves rows
//! for session dirs it finds) and the next list drops it.

mod fingerprint;
mod line;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use crate::phase::Phase;
use crate::resolve::SessionLocation;

pub use self::fingerprint::{Fingerprints, Folders};
use self::line::{FilesText, Line};
use crate::row::SessionRow;

/// The first line of a cache file: the line format's own version (raise
/// it when the line format changes) and the row's ([`crate::row::ROW_VERSION`],
/// checked by a test), so a cache of other rows is never served.
const HEADER: &str = "csa list cache 7 row 2";
const CACHE_DIR: &str = "list-cache";
const CACHE_EXTENSION: &str = "rows";
/// Cache files of earlier versions, removed when the new file is written.
const OLD_EXTENSIONS: &[&str] = &["json"];
/// Every session id has this many bytes.
const ID_LEN: usize = crate::id::ULID_LEN;
/// A larger cache file is ignored (100,000 rows take about 26 MB).
const MAX_CACHE_BYTES: u64 = 256 << 20;

/// The loaded lines by session id.
type Slots = HashMap<[u8; ID_LEN], Slot, BuildHasherDefault<IdHasher>>;

/// Hashes a session id by its last eight bytes, which a ULID fills with
/// randomness (its first ten are the time, shared by ids made together):
/// SipHash over all 26 bytes was a few percent of a steady-state list. The
/// ids come from our own cache file and folder names, so nobody gains by
/// making them collide.
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes.len().saturating_sub(8);
        let mut word = [0u8; 8];
        word[..bytes.len() - tail].copy_from_slice(&bytes[tail..]);
        self.0 =
            (self.0.rotate_left(29) ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One line of the loaded file.
#[derive(Debug)]
struct Slot {
    start: usize,
    end: usize,
    /// Served to this list (so kept on save).
    used: AtomicBool,
}

/// The rows cached by the previous list of the same scope, and the new ones.
#[derive(Debug)]
pub struct ListCache {
    path: Option<PathBuf>,
    text: String,
    slots: Slots,
    hits: AtomicUsize,
    puts: Mutex<Vec<String>>,
    now_ns: i64,
}

impl ListCache {
    /// Load the cache for listing `scope` (the sessions folders, in order).
    /// A missing, unreadable or foreign file is an empty cache.
    pub fn load(scope: &[PathBuf]) -> ListCache {
        let path = cache_root().map(|root| {
            root.join(CACHE_DIR)
                .join(scope_name(scope))
                .with_extension(CACHE_EXTENSION)
        });
        // Bounded and non-blocking: the cache may be anything (a FIFO, a
        // link to a device); then it is simply an empty cache.
        let text = path
            .as_deref()
            .and_then(|p| crate::read::read_bounded(p, MAX_CACHE_BYTES).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|text| text.lines().next() == Some(HEADER))
            .unwrap_or_default();
        let slots = index(&text);
        let now_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        ListCache {
            path,
            text,
            slots,
            hits: AtomicUsize::new(0),
            puts: Mutex::new(Vec::new()),
            now_ns,
        }
    }

    /// The cached row, if the session's files are exactly as when it was cached.
    pub fn get(&self, loc: &SessionLocation, files: &Fingerprints) -> Option<SessionRow<'_>> {
        let slot = self.slots.get(loc.id.as_str().as_bytes())?;
        let text = self.text.get(slot.start..slot.end)?;
        let row = Line::split_if_files(text, &FilesText::of(files))?.row()?;
        if !slot.used.swap(true, Ordering::Relaxed) {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        Some(row)
    }

    /// Remember `row`, computed from files with these fingerprints, if it may be cached.
    pub fn put(&self, files: &Fingerprints, row: &SessionRow<'_>) {
        let settled =
            |f: Option<fingerprint::Fingerprint>| f.is_none_or(|f| f.settled(self.now_ns));
        let cacheable = row.phase.is_some_and(|phase| phase != Phase::Active)
            && row.last_accessed.is_some()
            && row.error.is_none()
            && row.session_id.len() == ID_LEN
            && files.state.is_some()
            && settled(files.state)
            && settled(files.result);
        if !cacheable {
            return;
        }
        let Some(line) = line::encode(files, row) else {
            return;
        };
        let mut puts = self.puts.lock().unwrap_or_else(|e| e.into_inner());
        puts.push(line);
    }

    /// Write the new set (rows served or put by this list) if it differs from
    /// what was loaded. Failures only log: the cache is an optimisation.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        let puts = std::mem::take(&mut *self.puts.lock().unwrap_or_else(|e| e.into_inner()));
        if puts.is_empty() && self.hits.load(Ordering::Relaxed) == self.slots.len() {
            return;
        }
        let kept = self
            .slots
            .values()
            .filter(|slot| slot.used.load(Ordering::Relaxed))
            .filter_map(|slot| self.text.get(slot.start..slot.end));
        let mut text = String::with_capacity(self.text.len() + puts.len() * 256);
        text.push_str(HEADER);
        text.push('\n');
        for line in kept.chain(puts.iter().map(String::as_str)) {
            text.push_str(line);
            text.push('\n');
        }
        if let Err(err) = write(path, text.as_bytes()) {
            tracing::debug!(path = %path.display(), "cannot write the list cache: {err}");
        }
    }
}

/// Drop the rows of these (removed) sessions from every cache file. Failures
/// only log: the cache is an optimisation.
pub fn forget(ids: &[&str]) {
    if ids.is_empty() {
        return;
    }
    let Some(dir) = cache_root().map(|root| root.join(CACHE_DIR)) else {
        return;
    };
    let Ok(entries) = fs_err::read_dir(&dir) else {
        return;
    };
    let gone: std::collections::HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != CACHE_EXTENSION) {
            continue;
        }
        let Some(text) = crate::read::read_bounded(&path, MAX_CACHE_BYTES)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|text| text.lines().next() == Some(HEADER))
        else {
            continue;
        };
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| {
                let id = line.as_bytes().get(..ID_LEN);
                !id.is_some_and(|id| gone.contains(id))
            })
            .collect();
        if kept.len() == text.lines().count() {
            continue;
        }
        let mut new = kept.join("\n");
        new.push('\n');
        if let Err(err) = write(&path, new.as_bytes()) {
            tracing::debug!(path = %path.display(), "cannot write the list cache: {err}");
        }
    }
}

/// Session id -> the span of its line, for every line after the header.
fn index(text: &str) -> Slots {
    let bytes = text.as_bytes();
    // Sized once: growing the table rehashed it three times for 10,000 rows,
    // and each larger table was new memory to fault in. A line with a row
    // holds at least an id, a tab and its newline, so a file of empty lines
    // cannot ask for a table larger than its rows could fill.
    let lines = memchr::memchr_iter(b'\n', bytes).count() + 1;
    let capacity = lines.min(bytes.len() / (ID_LEN + 2) + 1);
    let mut slots = Slots::with_capacity_and_hasher(capacity, Default::default());
    let mut start = 0;
    // Line ends found in one SIMD pass over the whole cache.
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = &bytes[start..end];
        let span = start..end;
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        let key = line
            .get(..ID_LEN)
            .filter(|_| line.get(ID_LEN) == Some(&b'\t'))
            .and_then(|id| <[u8; ID_LEN]>::try_from(id).ok());
        if let Some(key) = key {
            let used = AtomicBool::new(false);
            slots.insert(
                key,
                Slot {
                    start: span.start,
                    end: span.end,
                    used,
                },
            );
        }
    }
    slots
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), crate::error::WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::durable::create_private_dir_all(dir)?;
    crate::durable::write_atomic(path, bytes)?;
    for old in OLD_EXTENSIONS {
        let _ = fs_err::remove_file(path.with_extension(old));
    }
    Ok(())
}

/// `$XDG_CACHE_HOME/cli-sub-agent` when absolute, else `$HOME/.cache/cli-sub-agent`.
fn cache_root() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from);
    if let Some(xdg) = xdg.filter(|p| p.is_absolute()) {
        return Some(xdg.join(crate::consts::APP_DIR));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    home.is_absolute()
        .then(|| home.join(".cache").join(crate::consts::APP_DIR))
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
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_row_version() {
        let row = format!(" row {}", crate::row::ROW_VERSION);
        assert!(HEADER.ends_with(&row), "{HEADER:?} is not for rows{row}");
    }

    #[test]
    fn a_cache_of_empty_lines_gets_no_table_sized_for_them() {
        // A million newlines: sizing the table by lines would ask for a
        // million slots (a 256 MiB file of them, for 30 GB, and abort).
        let text = format!("{HEADER}\n{}", "\n".repeat(1 << 20));
        let slots = index(&text);
        assert!(slots.is_empty());
        assert!(slots.capacity() < 100_000, "capacity {}", slots.capacity());
        // Lines with a row are still indexed among them.
        let id = "01KAZ9X3M2QAAAAAAAAAAAAAAA";
        let text = format!("{HEADER}\n\n{id}\tx\n\n");
        let slots = index(&text);
        let slot = slots.get(id.as_bytes()).expect("the row is indexed");
        assert_eq!(&text[slot.start..slot.end], format!("{id}\tx"));
    }
}
