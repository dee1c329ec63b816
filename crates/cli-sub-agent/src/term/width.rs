//! How many terminal columns text takes, cutting it to a width, and how wide
//! the terminal is.
//!
//! Widths are display widths (`unicode-width`, UAX #11): CJK and emoji take
//! two columns, combining marks none. Printable ASCII, the common case, is
//! measured by its length. Text is cut between characters, never inside one,
//! never between a character and the combining marks after it, and never
//! inside an escape sequence; a cut text ends with `…` and never exceeds the
//! width asked for.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io::IsTerminal as _;

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use super::escape::{self, Piece, Pieces};

/// What ends a text that was cut.
pub const ELLIPSIS: char = '…';
const ELLIPSIS_WIDTH: usize = 1;
const ZWNJ: char = '\u{200c}';
const ZWJ: char = '\u{200d}';

/// The number of terminal columns `text` takes (`text` holds no controls).
pub fn display_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.width()
    }
}

/// `text` escaped ([`escape::escape`]) and cut to at most `width` columns,
/// ending with `…` when it was cut. A cut falls before an escape sequence,
/// never inside one. Borrowed when nothing is escaped or cut.
pub fn escape_to_width(text: &str, width: usize) -> Cow<'_, str> {
    let escaped = escape::escape(text);
    if display_width(&escaped) <= width {
        return escaped;
    }
    Cow::Owned(cut(Pieces::new(text), width))
}

/// The widest prefix of `pieces` that leaves room for `…`, then `…`.
///
/// Pieces are taken in clusters: a character with the zero-width characters
/// after it (combining marks, variation selectors, a joiner), so a cut never
/// separates a mark from its character; an escaped character is a cluster of
/// its own.
fn cut<'a>(pieces: impl Iterator<Item = Piece<'a>>, width: usize) -> String {
    let Some(budget) = width.checked_sub(ELLIPSIS_WIDTH) else {
        return String::new();
    };
    let mut pieces = pieces.peekable();
    let mut out = String::with_capacity(budget + 8);
    // Where each cluster ends in `out`, to take whole clusters back.
    let mut ends = Vec::new();
    let mut cluster = String::new();
    let mut used = 0;
    while let Some(piece) = pieces.next() {
        cluster.clear();
        piece.push_to(&mut cluster);
        if let Piece::Shown(_) = piece {
            while let Some(&Piece::Shown(next)) = pieces.peek() {
                if !next.chars().all(|c| c.width() == Some(0)) {
                    break;
                }
                cluster.push_str(next);
                pieces.next();
            }
        }
        let cluster_width = display_width(&cluster);
        if used + cluster_width > budget {
            break;
        }
        out.push_str(&cluster);
        ends.push(out.len());
        used += cluster_width;
    }
    // The prefix as a whole may measure wider than its clusters.
    while display_width(&out) > budget {
        ends.pop();
        out.truncate(ends.last().copied().unwrap_or(0));
    }
    // A joiner left at the end would join the ellipsis; a space before it
    // reads as the end of the text.
    let kept = out.trim_end_matches([ZWJ, ZWNJ, ' ']).len();
    out.truncate(kept);
    out.push(ELLIPSIS);
    out
}

/// The width of the terminal that stdout is, or `None` when stdout is not a
/// terminal. `COLUMNS` (a positive number) wins, as for `ls`; else the
/// terminal's own size (`TIOCGWINSZ`).
pub fn stdout_terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    parse_columns(std::env::var_os("COLUMNS").as_deref()).or_else(|| window_width(&stdout))
}

/// `COLUMNS` as a width: a positive decimal number, else `None`.
fn parse_columns(value: Option<&OsStr>) -> Option<usize> {
    value?
        .to_str()?
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&w| w > 0)
}

#[cfg(unix)]
fn window_width(stdout: &std::io::Stdout) -> Option<usize> {
    let size = rustix::termios::tcgetwinsize(stdout).ok()?;
    Some(usize::from(size.ws_col)).filter(|&w| w > 0)
}

#[cfg(not(unix))]
fn window_width(_stdout: &std::io::Stdout) -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn widths() {
        let table: &[(&str, usize)] = &[
            ("", 0),
            ("abc", 3),
            ("日本語", 6),
            ("한국어", 6),
            ("🚀", 2),
            ("a🚀b", 4),
            ("e\u{301}", 1),               // e + combining acute
            ("cafe\u{301}s", 5),           // combining mark takes no column
            ("ｆｕｌｌ", 8),               // fullwidth Latin
            ("ﾊﾝｶｸ", 4),                   // halfwidth katakana
            ("❤\u{fe0f}", 2),              // emoji presentation
            ("👨\u{200d}👩\u{200d}👧", 2), // one ZWJ sequence
            ("\\x1b[31m", 8),
            ("…", 1),
        ];
        for (text, width) in table {
            assert_eq!(display_width(text), *width, "{text:?}");
        }
    }

    #[test]
    fn cut_table() {
        let table: &[(&str, usize, &str)] = &[
            ("short", 10, "short"),
            ("exactly10!", 10, "exactly10!"),
            ("eleven char", 10, "eleven ch…"),
            ("two words", 5, "two…"),
            ("abc", 0, ""),
            ("abc", 1, "…"),
            ("abc", 2, "a…"),
            // A wide character that does not fit leaves the column empty.
            ("日本語テキスト", 6, "日本…"),
            ("日本語テキスト", 5, "日本…"),
            ("a日本語", 4, "a日…"),
            // Combining marks stay with their character.
            ("e\u{301}e\u{301}e\u{301}e\u{301}", 3, "e\u{301}e\u{301}…"),
            ("🚀🚀🚀", 4, "🚀…"),
            ("❤\u{fe0f}❤\u{fe0f}❤\u{fe0f}", 4, "❤\u{fe0f}…"),
        ];
        for (text, width, expected) in table {
            let cut = escape_to_width(text, *width);
            assert_eq!(cut, *expected, "escape_to_width({text:?}, {width})");
            assert!(display_width(&cut) <= *width, "{cut:?} wider than {width}");
        }
        assert!(matches!(escape_to_width("fits", 4), Cow::Borrowed(_)));
        assert!(matches!(escape_to_width("日本", 4), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_then_cut_never_splits_an_escape() {
        let table: &[(&str, usize, &str)] = &[
            ("clean", 10, "clean"),
            ("a\x1b[31mb", 20, "a\\x1b[31mb"),
            ("ab\x1bcdef", 5, "ab…"),
            ("ab\x1bcdef", 7, "ab\\x1b…"),
            ("x\u{202e}yz", 8, "x…"),
            ("x\u{202e}yz", 10, "x\\u{202e}…"),
            ("line\nnext", 6, "line…"),
            ("line\nnext", 7, "line\\n…"),
        ];
        for (text, width, expected) in table {
            let cut = escape_to_width(text, *width);
            assert_eq!(cut, *expected, "escape_to_width({text:?}, {width})");
            assert!(display_width(&cut) <= *width);
        }
        assert!(matches!(escape_to_width("fits", 4), Cow::Borrowed(_)));
    }

    #[test]
    fn a_joiner_never_ends_a_cut_text() {
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦 and more text";
        for width in 0..12 {
            let cut = escape_to_width(family, width);
            assert!(!cut.contains("\u{200d}…"), "{cut:?}");
            assert!(display_width(&cut) <= width, "{cut:?}");
        }
    }

    #[test]
    fn columns_variable() {
        let parse = |s: &str| parse_columns(Some(OsStr::new(s)));
        assert_eq!(parse("80"), Some(80));
        assert_eq!(parse(" 132\n"), Some(132));
        assert_eq!(parse("0"), None);
        assert_eq!(parse("-5"), None);
        assert_eq!(parse("wide"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse_columns(None), None);
    }

    proptest! {
        #[test]
        fn a_cut_is_a_prefix_within_the_width(text in "\\PC{0,24}", width in 0usize..30) {
            let safe = escape::escape(&text);
            let cut = escape_to_width(&text, width);
            prop_assert!(display_width(&cut) <= width);
            match cut.strip_suffix(ELLIPSIS) {
                Some(prefix) => prop_assert!(safe.starts_with(prefix)),
                None => prop_assert!(cut == safe || (width == 0 && cut.is_empty())),
            }
        }
    }
}
