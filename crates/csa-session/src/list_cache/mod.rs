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
//! never in the state dir. Its lines are sorted by session id, so that a list,
//! which takes its sessions in id order a part at a time, reads the file
//! alongside ([`ListCache::part_through`]) and holds one part of it at a time,
//! never the whole file: 100,000 rows are about 32 MB. Rows served from a part
//! borrow their text from it. The new file is written as the parts are done,
//! and only from the first part that differs from the old file (a steady list
//! writes nothing). Deleting it is always safe.
//!
//! `delete` and `clean` drop the rows of the sessions they removed from every
//! cache file ([`forget`]). A list that was running meanwhile may write a
//! removed session's row back; it is never served (a list only serves rows
//! for session dirs it finds) and the next list drops it.

mod fingerprint;
mod line;
#[cfg(test)]
mod part_tests;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::durable::Replacement;
use crate::phase::Phase;
use crate::resolve::SessionLocation;

pub use self::fingerprint::{Fingerprints, Folders};
use self::line::{FilesText, Line};
use crate::row::SessionRow;

/// The first line of a cache file: the line format's own version (raise
/// it when the line format changes) and the row's ([`crate::row::ROW_VERSION`],
/// checked by a test), so a cache of other rows is never served. Version 8:
/// lines sorted by id.
const HEADER: &str = "csa list cache 8 row 2";
const CACHE_DIR: &str = "list-cache";
const CACHE_EXTENSION: &str = "rows";
/// Cache files of earlier versions, removed when the new file is written.
const OLD_EXTENSIONS: &[&str] = &["json"];
/// Every session id has this many bytes.
const ID_LEN: usize = crate::id::ULID_LEN;
/// A larger cache file is ignored (100,000 rows take about 32 MB).
const MAX_CACHE_BYTES: u64 = 256 << 20;
/// A longer line is no row of ours: it is skipped, and read no further than this.
const MAX_LINE_BYTES: usize = 1 << 20;

/// A session id, as the key of a line.
type Key = [u8; ID_LEN];

/// The loaded lines of a part by session id.
type Slots = HashMap<Key, Slot, BuildHasherDefault<IdHasher>>;

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

/// One line of a loaded part.
#[derive(Debug)]
struct Slot {
    start: usize,
    end: usize,
    /// Served to this list (so kept on save).
    used: AtomicBool,
}

/// The cache of one list: the old file, read a part at a time in id order,
/// and the new file, written as each part is done.
#[derive(Debug)]
pub struct ListCache {
    path: Option<PathBuf>,
    old: Option<OldLines>,
    new: NewFile,
    now_ns: i64,
}

/// The old file's lines, read in order.
#[derive(Debug)]
struct OldLines {
    reader: BufReader<std::io::Take<std::fs::File>>,
    /// A line read past the last part asked for, and where it starts.
    ahead: Option<(Vec<u8>, u64)>,
    /// Bytes of the file read so far (the header included).
    read: u64,
    /// The key of the last line read, to tell a file out of order.
    last: Option<Key>,
}

/// What has been written of the new file.
#[derive(Debug)]
enum NewFile {
    /// Nothing differs yet: the new file would start like the old one, up
    /// to this byte (just before the first line of the next part).
    SameUpTo(u64),
    /// Being written.
    Writing(Replacement),
    /// Cannot be written: the old file stays (it is only ever a hint).
    Failed,
}

/// The cache lines of one part of a list: the sessions up to an id.
#[derive(Debug)]
pub struct CachePart {
    text: String,
    slots: Slots,
    /// A line of the old file in this part's range was skipped: the new file differs.
    dropped: bool,
    puts: Mutex<Vec<String>>,
    now_ns: i64,
}

impl ListCache {
    /// Open the cache for listing `scope` (the sessions folders, in order).
    /// A missing, unreadable or foreign file is an empty cache.
    pub fn open(scope: &[PathBuf]) -> ListCache {
        ListCache::at(cache_root().map(|root| {
            root.join(CACHE_DIR)
                .join(scope_name(scope))
                .with_extension(CACHE_EXTENSION)
        }))
    }

    /// The cache file at `path` (`None`: no cache).
    fn at(path: Option<PathBuf>) -> ListCache {
        let old = path.as_deref().and_then(OldLines::open);
        let now_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let new = match &old {
            Some(old) => NewFile::SameUpTo(old.read),
            // Nothing to keep: a new file is written only if a row is put.
            None => NewFile::SameUpTo(0),
        };
        ListCache {
            path,
            old,
            new,
            now_ns,
        }
    }

    /// The cached lines of the sessions after the previous part up to `last`
    /// (an id): parts must be asked for in increasing id order.
    pub fn part_through(&mut self, last: &str) -> CachePart {
        let mut part = CachePart {
            text: String::new(),
            slots: Slots::default(),
            dropped: false,
            puts: Mutex::new(Vec::new()),
            now_ns: self.now_ns,
        };
        let Some(old) = &mut self.old else {
            return part;
        };
        let last = last.as_bytes();
        while let Some((line, _)) = old.next_through(last, &mut part.dropped) {
            let Ok(line) = String::from_utf8(line) else {
                part.dropped = true;
                continue;
            };
            let start = part.text.len();
            part.text.push_str(&line);
            let key = key_of(line.as_bytes()).expect("next_through gives keyed lines");
            let slot = Slot {
                start,
                end: part.text.len(),
                used: AtomicBool::new(false),
            };
            part.text.push('\n');
            part.dropped |= part.slots.insert(key, slot).is_some();
        }
        part
    }

    /// Take a part back once its rows are read: its lines served or put go
    /// to the new file, which is started at the first part that differs.
    pub fn keep(&mut self, part: CachePart) {
        let puts = part.puts.into_inner().unwrap_or_else(|e| e.into_inner());
        let unchanged = !part.dropped
            && puts.is_empty()
            && part.slots.values().all(|s| s.used.load(Ordering::Relaxed));
        if unchanged && matches!(self.new, NewFile::SameUpTo(_)) {
            self.new = NewFile::SameUpTo(self.old.as_ref().map_or(0, OldLines::part_end));
            return;
        }
        let mut lines: Vec<&str> = part
            .slots
            .values()
            .filter(|slot| slot.used.load(Ordering::Relaxed))
            .filter_map(|slot| part.text.get(slot.start..slot.end))
            .chain(puts.iter().map(String::as_str))
            .collect();
        lines.sort_unstable_by(|a, b| a.as_bytes()[..ID_LEN].cmp(&b.as_bytes()[..ID_LEN]));
        lines.dedup_by(|a, b| a.as_bytes()[..ID_LEN] == b.as_bytes()[..ID_LEN]);
        let mut bytes = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            bytes.push_str(line);
            bytes.push('\n');
        }
        self.write(bytes.as_bytes());
    }

    /// Put the new file in place, if it differs from the old one. Failures
    /// only log: the cache is an optimisation.
    pub fn save(mut self) {
        // Lines after the last part are of sessions that are gone.
        if let Some(old) = &mut self.old {
            let mut rest = false;
            while old.next_through(&[u8::MAX; ID_LEN], &mut rest).is_some() {
                rest = true;
            }
            if rest {
                self.write(b"");
            }
        }
        let (Some(path), NewFile::Writing(new)) = (&self.path, self.new) else {
            return;
        };
        if let Err(err) = new.commit() {
            tracing::debug!(path = %path.display(), "cannot write the list cache: {err}");
            return;
        }
        for old in OLD_EXTENSIONS {
            let _ = fs_err::remove_file(path.with_extension(old));
        }
    }

    /// Append `bytes` to the new file, starting it (with the old file's
    /// unchanged beginning) if it is not yet.
    fn write(&mut self, bytes: &[u8]) {
        if let NewFile::SameUpTo(same) = self.new {
            self.new = self.start(same).map_or(NewFile::Failed, NewFile::Writing);
        }
        if let NewFile::Writing(new) = &mut self.new
            && let Err(err) = new.write(bytes)
        {
            tracing::debug!("cannot write the list cache: {err}");
            self.new = NewFile::Failed;
        }
    }

    /// The new file, holding the first `same` bytes of the old one (else the header).
    fn start(&self, same: u64) -> Option<Replacement> {
        let path = self.path.as_deref()?;
        let start = || -> Result<Replacement, String> {
            let dir = path.parent().unwrap_or(Path::new("."));
            crate::durable::create_private_dir_all(dir).map_err(|e| e.to_string())?;
            let mut new = Replacement::begin(path).map_err(|e| e.to_string())?;
            if same == 0 {
                new.write(format!("{HEADER}\n").as_bytes())
                    .map_err(|e| e.to_string())?;
                return Ok(new);
            }
            let (file, _) = crate::read::open_regular(path).map_err(|e| e.to_string())?;
            let mut head = Vec::with_capacity(1 << 16);
            let mut file = file.take(same);
            loop {
                head.clear();
                let read = (&mut file)
                    .take(1 << 16)
                    .read_to_end(&mut head)
                    .map_err(|e| e.to_string())?;
                if read == 0 {
                    break;
                }
                new.write(&head).map_err(|e| e.to_string())?;
            }
            Ok(new)
        };
        start()
            .inspect_err(
                |err| tracing::debug!(path = %path.display(), "cannot write the list cache: {err}"),
            )
            .ok()
    }
}

impl OldLines {
    /// The old file after its header, if it is one of ours.
    fn open(path: &Path) -> Option<OldLines> {
        // Bounded and non-blocking: the cache may be anything (a FIFO, a
        // link to a device); then it is simply an empty cache.
        let (file, len) = crate::read::open_regular(path).ok()?;
        if len > MAX_CACHE_BYTES {
            return None;
        }
        let mut reader = BufReader::with_capacity(1 << 16, file.take(MAX_CACHE_BYTES));
        let mut header = Vec::new();
        (&mut reader)
            .take(HEADER.len() as u64 + 1)
            .read_until(b'\n', &mut header)
            .ok()?;
        (header.strip_suffix(b"\n") == Some(HEADER.as_bytes())).then_some(OldLines {
            reader,
            ahead: None,
            read: header.len() as u64,
            last: None,
        })
    }

    /// The next line with a key up to `last`, and where it starts. Lines
    /// without a key, too long or out of order are skipped (`dropped` set).
    fn next_through(&mut self, last: &[u8], dropped: &mut bool) -> Option<(Vec<u8>, u64)> {
        loop {
            let (line, start) = match self.ahead.take() {
                Some(ahead) => ahead,
                None => self.read_line(dropped)?,
            };
            let Some(key) = key_of(&line) else {
                *dropped = true;
                continue;
            };
            if self.last.is_some_and(|before| key <= before) {
                *dropped = true;
                continue;
            }
            if key.as_slice() > last {
                self.ahead = Some((line, start));
                return None;
            }
            self.last = Some(key);
            return Some((line, start));
        }
    }

    /// The next line (without its newline) and where it starts; `None` at the end.
    fn read_line(&mut self, dropped: &mut bool) -> Option<(Vec<u8>, u64)> {
        loop {
            let start = self.read;
            let mut line = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .ok()?;
            if read == 0 {
                return None;
            }
            self.read += read as u64;
            if line.last() != Some(&b'\n') {
                // Too long (the rest is skipped) or cut short at the end.
                *dropped = true;
                if read > MAX_LINE_BYTES {
                    self.skip_rest_of_line()?;
                }
                continue;
            }
            line.pop();
            if line.is_empty() {
                *dropped = true;
                continue;
            }
            return Some((line, start));
        }
    }

    fn skip_rest_of_line(&mut self) -> Option<()> {
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let read = (&mut self.reader)
                .take(1 << 16)
                .read_until(b'\n', &mut rest)
                .ok()?;
            self.read += read as u64;
            if read == 0 || rest.last() == Some(&b'\n') {
                return Some(());
            }
        }
    }

    /// Where the next part's first line starts.
    fn part_end(&self) -> u64 {
        self.ahead.as_ref().map_or(self.read, |(_, start)| *start)
    }
}

/// The session id a cache line starts with (followed by a tab).
fn key_of(line: &[u8]) -> Option<Key> {
    line.get(..ID_LEN)
        .filter(|_| line.get(ID_LEN) == Some(&b'\t'))
        .and_then(|id| Key::try_from(id).ok())
}

impl CachePart {
    /// The cached row, if the session's files are exactly as when it was cached.
    pub fn get(&self, loc: &SessionLocation, files: &Fingerprints) -> Option<SessionRow<'_>> {
        let slot = self.slots.get(loc.id.as_str().as_bytes())?;
        let text = self.text.get(slot.start..slot.end)?;
        let row = Line::split_if_files(text, &FilesText::of(files))?.row()?;
        slot.used.store(true, Ordering::Relaxed);
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
        if let Err(err) = crate::durable::write_atomic(&path, new.as_bytes()) {
            tracing::debug!(path = %path.display(), "cannot write the list cache: {err}");
        }
    }
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
}
