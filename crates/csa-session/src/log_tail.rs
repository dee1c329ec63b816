//! The last lines of a session's logs, read from their end only (a log may
//! be gigabytes, a FIFO or a link to `/dev/zero`; see [`crate::read`]).
//!
//! [`output_tail`] is the few lines a synthetic summary quotes;
//! [`last_lines_start`] is where `csa session logs --tail N` starts printing.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::layout::SessionDir;
use crate::read::read_tail;

/// How many trailing bytes of a log are read to find its last lines.
pub const TAIL_BYTES: u64 = 4096;

/// How many bytes [`last_lines_start`] reads at a time, backwards.
const BACKWARD_CHUNK: usize = 64 * 1024;

/// The last `lines` non-empty lines of the session's `output.log`.
pub fn output_tail(session: &SessionDir, lines: usize) -> String {
    log_tail(&session.output_log(), lines)
}

/// The last `lines` non-empty lines of a log, reading at most [`TAIL_BYTES`]
/// from its end. Empty when the log is missing, empty or not a regular file.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let Ok((bytes, cut)) = read_tail(log, TAIL_BYTES) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut kept: Vec<&str> = text
        .lines()
        .skip(usize::from(cut)) // the first line may be cut
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let skip = kept.len().saturating_sub(lines);
    kept.drain(..skip);
    kept.join("\n")
}

/// The offset at which the last `lines` lines of the first `len` bytes of
/// `file` begin, as `tail -n` counts them: a final line without a newline is
/// a line, and the final newline does not start an empty one. 0 when there
/// are no more than `lines` lines; `len` for `lines == 0`.
///
/// Reads backwards from `len` in chunks of 64 KiB, searching each with
/// `memrchr`, so the cost is that of the lines found, never of the whole file.
pub fn last_lines_start<F: Read + Seek>(file: &mut F, len: u64, lines: usize) -> io::Result<u64> {
    if lines == 0 || len == 0 {
        return Ok(len);
    }
    let mut buffer = vec![0u8; BACKWARD_CHUNK];
    let mut end = len;
    let mut found = 0usize;
    let mut first_chunk = true;
    while end > 0 {
        let size = usize::try_from(end.min(BACKWARD_CHUNK as u64)).unwrap_or(BACKWARD_CHUNK);
        let start = end - size as u64;
        file.seek(SeekFrom::Start(start))?;
        let chunk = &mut buffer[..size];
        file.read_exact(chunk)?;
        let mut rest = &chunk[..];
        // The file's final newline ends the last line; it starts none.
        if std::mem::take(&mut first_chunk) && rest.last() == Some(&b'\n') {
            rest = &rest[..rest.len() - 1];
        }
        while let Some(at) = memchr::memrchr(b'\n', rest) {
            found += 1;
            if found == lines {
                return Ok(start + at as u64 + 1);
            }
            rest = &rest[..at];
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_start_where_tail_n_would_start() {
        let start = |text: &str, lines| {
            let mut cursor = io::Cursor::new(text.as_bytes());
            let at = last_lines_start(&mut cursor, text.len() as u64, lines).unwrap();
            text[usize::try_from(at).unwrap()..].to_owned()
        };
        assert_eq!(start("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(start("a\nb\nc", 2), "b\nc");
        assert_eq!(start("a\nb\nc\n", 3), "a\nb\nc\n");
        assert_eq!(start("a\nb\nc\n", 9), "a\nb\nc\n");
        assert_eq!(start("a\nb\nc\n", 0), "");
        assert_eq!(start("a\n\n\n", 1), "\n");
        assert_eq!(start("a\n\n\n", 2), "\n\n");
        assert_eq!(start("\n", 1), "\n");
        assert_eq!(start("", 3), "");
        assert_eq!(start("no newline", 1), "no newline");
    }

    #[test]
    fn the_last_lines_of_a_huge_sparse_log_are_found_without_reading_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("output.log");
        let file = fs_err::File::create(&path).unwrap();
        // 4 GiB of zeros (a hole), then two lines.
        file.set_len(4 << 30).unwrap();
        drop(file);
        let mut file = fs_err::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut file, b"\nsecond to last\nlast\n").unwrap();
        let (mut file, len) = crate::read::open_regular(&path).unwrap();
        let at = last_lines_start(&mut file, len, 2).unwrap();
        assert_eq!(at, (4 << 30) + 1);
        let mut tail = String::new();
        file.seek(SeekFrom::Start(at)).unwrap();
        file.read_to_string(&mut tail).unwrap();
        assert_eq!(tail, "second to last\nlast\n");
    }

    #[test]
    fn tail_reads_only_the_end_of_a_large_log() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        let mut body = "x".repeat(1 << 20);
        body.push_str("\nthe end\n");
        fs_err::write(session.output_log(), body).unwrap();
        assert_eq!(output_tail(&session, 1), "the end");
    }

    #[test]
    fn blank_lines_are_skipped_and_only_the_last_lines_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        fs_err::write(session.output_log(), "a\n\nb\n  \nc\n").unwrap();
        assert_eq!(output_tail(&session, 2), "b\nc");
        assert_eq!(output_tail(&SessionDir::new(tmp.path().join("no")), 2), "");
    }
}
