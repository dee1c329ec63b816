//! The last lines of a session's logs, read from their end only (a log may
//! be gigabytes, a FIFO or a link to `/dev/zero`; see [`crate::read`]).

use std::path::Path;

use crate::layout::SessionDir;
use crate::read::read_tail;

/// How many trailing bytes of a log are read to find its last lines.
pub const TAIL_BYTES: u64 = 4096;

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

#[cfg(test)]
mod tests {
    use super::*;

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
