//! The cache file read and written a part at a time: what a list keeps,
//! what it drops, and that a steady list writes nothing.

use std::borrow::Cow;

use chrono::DateTime;

use super::fingerprint::Fingerprint;
use super::*;
use crate::id::SessionId;
use crate::layout::SessionDir;
use crate::status::SessionStatus;

/// Settled fingerprints (changed long ago), one file each.
fn files(n: u64) -> Fingerprints {
    let print = Fingerprint {
        size: 100 + n,
        mtime_ns: 1_000_000_000,
        ctime_ns: 1_000_000_000,
        inode: n,
    };
    Fingerprints {
        state: Some(print),
        result: None,
    }
}

fn id(n: u64) -> String {
    format!("01KAZ9X3M2Q{n:015}")
}

fn location(n: u64) -> SessionLocation {
    SessionLocation {
        id: SessionId::parse(&id(n)).expect("an id"),
        dir: SessionDir::new(format!("/s/{}", id(n))),
        legacy: false,
    }
}

/// The cache line of session `n`.
fn line_of(n: u64) -> String {
    let id = id(n);
    let loc = location(n);
    let missing = crate::error::LoadError::Missing { path: "/x".into() };
    let mut row = SessionRow::broken(&loc, &missing);
    row.session_id = &id;
    row.error = None;
    row.status = SessionStatus::Retired;
    row.phase = Some(Phase::Retired);
    row.last_accessed = Some(Cow::Borrowed("2026-11-26T12:00:00Z"));
    row.sort_key = Some(DateTime::from_timestamp_nanos(1_700_000_000_000_000_000));
    line::encode(&files(n), &row).expect("a settled row encodes")
}

fn file_of(lines: &[String]) -> String {
    let mut text = format!("{HEADER}\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// List sessions `listed` in parts ending at each of `parts` (ids' numbers):
/// each listed session's row is served from the cache, or put when `put`
/// names it. Returns the ids served.
fn list(path: &Path, parts: &[u64], listed: &[u64], put: &[u64]) -> Vec<String> {
    let mut cache = ListCache::at(Some(path.to_path_buf()));
    let mut served = Vec::new();
    let mut done = 0;
    for &last in parts {
        let part = cache.part_through(&id(last));
        for &n in listed.iter().filter(|&&n| n > done && n <= last) {
            if put.contains(&n) {
                let line = line_of(n);
                let row = Line::split_if_files(&line, &FilesText::of(&files(n)))
                    .and_then(|l| l.row())
                    .expect("the line decodes");
                part.put(&files(n), &row);
            } else if part.get(&location(n), &files(n)).is_some() {
                served.push(id(n));
            }
        }
        done = last;
        cache.keep(part);
    }
    cache.save();
    served
}

fn inode(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs_err::metadata(path).expect("the cache file").ino()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0
    }
}

#[test]
fn a_steady_list_is_served_part_by_part_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scope.rows");
    let text = file_of(&[1, 2, 3, 4, 5].map(line_of));
    fs_err::write(&path, &text).expect("cache file");
    let before = inode(&path);
    let served = list(&path, &[2, 5], &[1, 2, 3, 4, 5], &[]);
    assert_eq!(served, [1, 2, 3, 4, 5].map(id));
    assert_eq!(inode(&path), before, "not replaced");
    assert_eq!(fs_err::read_to_string(&path).expect("read"), text);
}

#[test]
fn a_change_in_a_later_part_keeps_the_earlier_parts_and_drops_the_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scope.rows");
    fs_err::write(&path, file_of(&[1, 2, 3, 4, 5].map(line_of))).expect("cache file");
    let before = inode(&path);
    // Session 4 is gone, 6 is new: both in the second part.
    let served = list(&path, &[2, 6], &[1, 2, 3, 5, 6], &[6]);
    assert_eq!(served, [1, 2, 3, 5].map(id));
    assert_ne!(inode(&path), before, "replaced");
    assert_eq!(
        fs_err::read_to_string(&path).expect("read"),
        file_of(&[1, 2, 3, 5, 6].map(line_of))
    );
}

#[test]
fn lines_past_the_last_part_are_of_gone_sessions_and_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scope.rows");
    fs_err::write(&path, file_of(&[1, 2, 3].map(line_of))).expect("cache file");
    list(&path, &[2], &[1, 2], &[]);
    assert_eq!(
        fs_err::read_to_string(&path).expect("read"),
        file_of(&[1, 2].map(line_of))
    );
}

#[test]
fn lines_out_of_order_twice_or_broken_are_skipped_and_the_file_sorted_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scope.rows");
    let mut lines = [1, 3, 2, 3].map(line_of).to_vec();
    lines.insert(1, "not a line of ours".to_owned());
    lines.push(String::new());
    lines.push(format!("{}\tx", id(4)));
    fs_err::write(&path, file_of(&lines)).expect("cache file");
    // 2 comes after 3 in the file: it is skipped, and put again.
    let served = list(&path, &[4], &[1, 2, 3, 4], &[2]);
    assert_eq!(served, [1, 3].map(id));
    assert_eq!(
        fs_err::read_to_string(&path).expect("read"),
        file_of(&[1, 2, 3].map(line_of))
    );
    // A file that is not a cache of ours is left alone unless a row is put.
    fs_err::write(&path, "csa list cache 7 row 2\nold\n").expect("old file");
    assert!(list(&path, &[4], &[1], &[]).is_empty());
    assert_eq!(
        fs_err::read_to_string(&path).expect("read"),
        "csa list cache 7 row 2\nold\n"
    );
    list(&path, &[4], &[1], &[1]);
    assert_eq!(
        fs_err::read_to_string(&path).expect("read"),
        file_of(&[line_of(1)])
    );
}
