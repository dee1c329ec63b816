//! The last lines of a session's logs, read from their end only (a log may
//! be gigabytes, a FIFO or a link to `/dev/zero`; see [`crate::read`]).
//!
//! [`output_tail`] is the few lines a synthetic summary quotes;
//! [`summary_line`] is the line a result's summary is made of (contract
//! §9.3); [`last_lines_start`] is where `csa session logs --tail N` starts
//! printing.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::layout::SessionDir;
use crate::read::read_tail;

/// How many trailing bytes of a log are read to find its last lines.
pub const TAIL_BYTES: u64 = 4096;

/// How many trailing bytes of a log are read to find the line a summary is
/// made of: a last line longer than this is shown by its last part.
pub const SUMMARY_TAIL_BYTES: u64 = 64 * 1024;

/// The most characters of a line a summary keeps; a longer one is cut there
/// and ends with [`ELLIPSIS`].
pub const SUMMARY_CHARS: usize = 200;

/// What ends a summary that was cut.
pub const ELLIPSIS: char = '…';

/// How many bytes [`last_lines_start`] reads at a time, backwards.
const BACKWARD_CHUNK: usize = 64 * 1024;

/// The sizes of a session's two logs and when either last grew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSizes {
    pub output_bytes: u64,
    pub stderr_bytes: u64,
    /// The newest modification time of the two; `None` without logs.
    pub last_write: Option<std::time::SystemTime>,
}

impl LogSizes {
    /// Both logs together.
    pub fn total(&self) -> u64 {
        self.output_bytes.saturating_add(self.stderr_bytes)
    }
}

/// The sizes of `output.log` and `stderr.log` (0 for a missing log or one
/// that is not a regular file), from one `stat` each.
pub fn log_sizes(session: &SessionDir) -> LogSizes {
    let mut sizes = LogSizes::default();
    for (path, bytes) in [
        (session.output_log(), &mut sizes.output_bytes),
        (session.stderr_log(), &mut sizes.stderr_bytes),
    ] {
        let Ok(meta) = fs_err::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        *bytes = meta.len();
        let modified = meta.modified().ok();
        sizes.last_write = sizes.last_write.max(modified);
    }
    sizes
}

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

/// The line a result's summary is made of: the last non-empty line of
/// `stderr.log` when the run failed and that log has one, else of
/// `output.log` (for a success, `output.log` first and `stderr.log` after),
/// cut at [`SUMMARY_CHARS`]. `None` when neither log has a non-empty line.
pub fn summary_line(session: &SessionDir, failed: bool) -> Option<String> {
    let (first, second) = if failed {
        (session.stderr_log(), session.output_log())
    } else {
        (session.output_log(), session.stderr_log())
    };
    [first, second]
        .iter()
        .find_map(|log| last_line(log))
        .map(|line| cut_summary(&line))
}

/// The last non-empty line of a log (its end trimmed), read from at most
/// [`SUMMARY_TAIL_BYTES`] of its end: of a line longer than that, what those
/// bytes hold of it.
fn last_line(log: &Path) -> Option<String> {
    let (bytes, _) = read_tail(log, SUMMARY_TAIL_BYTES).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .map(str::trim_end)
        .find(|line| !line.trim().is_empty())
        .map(str::to_owned)
}

/// `line` cut after [`SUMMARY_CHARS`] characters, with [`ELLIPSIS`] after
/// the cut; a line that fits is given whole.
pub fn cut_summary(line: &str) -> String {
    match line.char_indices().nth(SUMMARY_CHARS) {
        Some((at, _)) => format!("{}{ELLIPSIS}", &line[..at]),
        None => line.to_owned(),
    }
}

/// The offset at which the last `lines` lines of the first `len` bytes of
/// `file` begin, as `tail -n` counts them: a final line without a newline is
/// a line, and the final newline does not start an empty one. 0 when there
/// are no more than `lines` lines; `len` for `lines == 0`.
///
/// Reads backwards from `len` in chunks of 64 KiB, searching each with
/// `memrchr`, so the cost is that of the lines found, never of the whole file.
pub fn last_lines_start<F: Read + Seek>(file: &mut F, len: u64, lines: usize) -> io::Result<u64> {
    Ok(last_lines_found(file, len, lines)?.0)
}

/// [`last_lines_start`], and how many lines there are from there to `len`
/// (fewer than `lines` when the file has fewer).
pub fn last_lines_found<F: Read + Seek>(
    file: &mut F,
    len: u64,
    lines: usize,
) -> io::Result<(u64, usize)> {
    if lines == 0 || len == 0 {
        return Ok((len, 0));
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
                return Ok((start + at as u64 + 1, found));
            }
            rest = &rest[..at];
        }
        end = start;
    }
    // The first line has no newline before it.
    Ok((0, found + 1))
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
    fn a_failed_run_is_summed_up_by_stderr_and_a_successful_one_by_its_output() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        assert_eq!(summary_line(&session, true), None);
        fs_err::write(session.output_log(), "step 1\nworking\n\n").unwrap();
        assert_eq!(summary_line(&session, true).as_deref(), Some("working"));
        fs_err::write(session.stderr_log(), "warn\nfatal: worker 4 crashed  \n \n").unwrap();
        let failed = summary_line(&session, true);
        assert_eq!(failed.as_deref(), Some("fatal: worker 4 crashed"));
        assert_eq!(summary_line(&session, false).as_deref(), Some("working"));
        fs_err::write(session.output_log(), "").unwrap();
        assert_eq!(
            summary_line(&session, false).as_deref(),
            Some("fatal: worker 4 crashed")
        );
    }

    #[test]
    fn a_long_last_line_is_cut_at_200_characters_with_an_ellipsis() {
        let tmp = tempfile::tempdir().unwrap();
        let session = SessionDir::new(tmp.path());
        // Multi-byte characters: the cut counts characters, not bytes.
        let long = "é".repeat(150) + &"x".repeat(100);
        fs_err::write(session.stderr_log(), format!("first\n{long}\n")).unwrap();
        let summary = summary_line(&session, true).unwrap();
        assert_eq!(summary.chars().count(), SUMMARY_CHARS + 1);
        assert_eq!(
            summary,
            format!("{}{}{ELLIPSIS}", "é".repeat(150), "x".repeat(50))
        );
        assert_eq!(cut_summary(&"y".repeat(200)), "y".repeat(200));
        // A line longer than what is read of the log is still a summary.
        let huge = "z".repeat(200_000);
        fs_err::write(session.stderr_log(), format!("{huge}\n")).unwrap();
        let summary = summary_line(&session, true).unwrap();
        assert_eq!(summary, format!("{}{ELLIPSIS}", "z".repeat(200)));
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
