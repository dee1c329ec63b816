//! Escaping text from session files and tool output before it reaches a terminal.
//!
//! A description, a summary or an error message may hold anything a tool or a
//! hand-edited file put there: `ESC [ 2 J` clears the screen, `\r` overwrites
//! what was printed before it on the line, a right-to-left override (U+202E)
//! shows `exe.txt` for `txt.exe`, and zero-width characters hide text. Every
//! command that prints such text for a person passes it through [`escape`]
//! first; JSON output is safe as it is (serde escapes controls) and `csa session
//! logs` is the only command that passes bytes through raw.
//!
//! What is escaped, and how:
//!
//! | characters | shown as |
//! |---|---|
//! | `\n`, `\r`, `\t` | `\n`, `\r`, `\t` |
//! | other C0 controls (U+0000..U+001F) and DEL (U+007F) | `\xNN`, e.g. `\x1b` |
//! | C1 controls (U+0080..U+009F) | `\u{NN}`, e.g. `\u{9b}` |
//! | bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), marks (U+200E, U+200F, U+061C) | `\u{NNNN}` |
//! | line and paragraph separators (U+2028, U+2029) | `\u{2028}`, `\u{2029}` |
//! | invisible characters: soft hyphen, zero-width space, word joiner, BOM, invisible operators, Hangul fillers, tags, variation selectors 17..256, ... ([`is_hidden`]) | `\u{NNNN}` |
//! | zero-width joiner and non-joiner (U+200D, U+200C) unless they join two visible non-ASCII characters (emoji sequences, Indic and Persian text) | `\u{200d}`, `\u{200c}` |
//!
//! A backslash is not escaped: the output is for reading, not for parsing back
//! (`C:\Users` stays readable), so a literal `\x1b` in the text looks the same
//! as an escaped ESC, which is harmless.
//!
//! Text with nothing to escape is returned borrowed: `csa session list` escapes
//! every cell of 10,000 rows and must not allocate for clean ones, so printable
//! ASCII is checked byte by byte before any character is decoded.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control, bidi and invisible character escaped (see the
/// module docs); borrowed when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = first_unsafe(text) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    let (clean, rest) = text.split_at(first);
    out.push_str(clean);
    for piece in Pieces::after(clean, rest) {
        piece.push_to(&mut out);
    }
    Cow::Owned(out)
}

/// `text` with each line escaped and its line breaks (`\n`) kept: for text
/// that is several lines on purpose. Borrowed when no line needs escaping.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if text.split('\n').all(|line| first_unsafe(line).is_none()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&escape(line));
    }
    Cow::Owned(out)
}

/// One character of the source text as it is shown: itself, or its escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    /// A character shown as it is (the slice holds exactly that character).
    Shown(&'a str),
    /// A character shown as its escape sequence (all ASCII).
    Escaped(char),
}

impl Piece<'_> {
    pub(super) fn push_to(self, out: &mut String) {
        match self {
            Piece::Shown(text) => out.push_str(text),
            Piece::Escaped(c) => push_escape(out, c),
        }
    }
}

/// The pieces of a text, one per character, in order.
#[derive(Debug, Clone)]
pub(super) struct Pieces<'a> {
    rest: &'a str,
    prev: Option<char>,
}

impl<'a> Pieces<'a> {
    pub(super) fn new(text: &'a str) -> Pieces<'a> {
        Pieces {
            rest: text,
            prev: None,
        }
    }

    /// The pieces of `rest`, which follows `before` in the same text (a
    /// joiner's escape depends on the character before it).
    fn after(before: &str, rest: &'a str) -> Pieces<'a> {
        Pieces {
            rest,
            prev: before.chars().next_back(),
        }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let mut chars = self.rest.chars();
        let c = chars.next()?;
        let (this, rest) = self.rest.split_at(c.len_utf8());
        let escaped = needs_escape(self.prev, c, chars.next());
        self.rest = rest;
        self.prev = Some(c);
        Some(if escaped {
            Piece::Escaped(c)
        } else {
            Piece::Shown(this)
        })
    }
}

/// The byte offset of the first character to escape, if any.
fn first_unsafe(text: &str) -> Option<usize> {
    // Printable ASCII is the common case and never needs escaping.
    let start = text.bytes().position(|b| !(b' '..=b'~').contains(&b))?;
    if text.as_bytes()[start].is_ascii() {
        return Some(start);
    }
    let mut prev = text[..start].chars().next_back();
    let mut chars = text[start..].char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if needs_escape(prev, c, chars.peek().map(|&(_, next)| next)) {
            return Some(start + at);
        }
        prev = Some(c);
    }
    None
}

/// Whether `c`, between `prev` and `next`, is shown escaped.
fn needs_escape(prev: Option<char>, c: char, next: Option<char>) -> bool {
    match c {
        ' '..='~' => false,
        ZWJ | ZWNJ => !(prev.is_some_and(joinable) && next.is_some_and(joinable)),
        c => c.is_control() || is_hidden(c),
    }
}

const ZWNJ: char = '\u{200c}';
const ZWJ: char = '\u{200d}';

/// A character a joiner may stand next to: visible and not ASCII.
fn joinable(c: char) -> bool {
    !c.is_ascii() && !c.is_control() && !is_hidden(c) && c != ZWJ && c != ZWNJ
}

/// Characters that are not controls but change how the text around them
/// reads while showing nothing themselves (joiners excluded: see
/// [`needs_escape`]). Visible format characters (Arabic number signs, ...)
/// are not listed.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'                      // soft hyphen
        | '\u{061c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}'       // Hangul choseong and jungseong fillers
        | '\u{180e}'                    // Mongolian vowel separator
        | '\u{200b}'                    // zero-width space
        | '\u{200e}' | '\u{200f}'       // left-to-right and right-to-left marks
        | '\u{2028}' | '\u{2029}'       // line and paragraph separators
        | '\u{202a}'..='\u{202e}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{206f}'       // bidi isolates, deprecated format characters
        | '\u{3164}'                    // Hangul filler
        | '\u{feff}'                    // zero-width no-break space (BOM)
        | '\u{ffa0}'                    // halfwidth Hangul filler
        | '\u{fff9}'..='\u{fffb}'       // interlinear annotation
        | '\u{1bca0}'..='\u{1bca3}'     // shorthand format controls
        | '\u{1d173}'..='\u{1d17a}'     // musical symbol format controls
        | '\u{e0000}'..='\u{e007f}'     // tags (can spell hidden ASCII)
        | '\u{e0100}'..='\u{e01ef}' // variation selectors 17..256 (can carry hidden bytes)
    )
}

/// Append the escape sequence of `c`.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn escape_table() {
        let table: &[(&str, &str)] = &[
            // Clean text.
            ("", ""),
            ("fix the parser", "fix the parser"),
            ("C:\\Users\\x", "C:\\Users\\x"),
            ("日本語 déjà vu 🚀", "日本語 déjà vu 🚀"),
            ("e\u{301}", "e\u{301}"),
            ("\u{a0}nbsp", "\u{a0}nbsp"),
            // C0 controls and DEL.
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("a\tb", "a\\tb"),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("\x00\x07\x08\x0c\x1f", "\\x00\\x07\\x08\\x0c\\x1f"),
            ("del\x7f", "del\\x7f"),
            // C1 controls (CSI, NEL, ...).
            ("\u{9b}31m", "\\u{9b}31m"),
            ("\u{80}\u{85}\u{9f}", "\\u{80}\\u{85}\\u{9f}"),
            // Bidi overrides, embeddings, isolates and marks.
            ("txt\u{202e}exe.sh", "txt\\u{202e}exe.sh"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}",
            ),
            (
                "\u{2066}a\u{2067}b\u{2068}c\u{2069}",
                "\\u{2066}a\\u{2067}b\\u{2068}c\\u{2069}",
            ),
            ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
            // Line and paragraph separators.
            ("a\u{2028}b\u{2029}c", "a\\u{2028}b\\u{2029}c"),
            // Invisible characters.
            ("ad\u{200b}min", "ad\\u{200b}min"),
            ("\u{feff}bom", "\\u{feff}bom"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("a\u{2060}b", "a\\u{2060}b"),
            ("\u{3164}", "\\u{3164}"),
            ("hi\u{e0041}\u{e0042}", "hi\\u{e0041}\\u{e0042}"),
            ("x\u{e0100}", "x\\u{e0100}"),
            // Joiners: kept inside emoji sequences and non-ASCII words,
            // escaped next to ASCII, at the ends, or doubled.
            ("👨\u{200d}👩\u{200d}👧", "👨\u{200d}👩\u{200d}👧"),
            ("می\u{200c}خواهم", "می\u{200c}خواهم"),
            ("ad\u{200d}min", "ad\\u{200d}min"),
            ("ad\u{200c}min", "ad\\u{200c}min"),
            ("\u{200d}👩", "\\u{200d}👩"),
            ("👩\u{200d}", "👩\\u{200d}"),
            ("👩\u{200d}\u{200d}👩", "👩\\u{200d}\\u{200d}👩"),
            ("👩\u{200d}\u{202e}", "👩\\u{200d}\\u{202e}"),
            // Emoji presentation selector is visible-width metadata: kept.
            ("❤\u{fe0f}", "❤\u{fe0f}"),
        ];
        for (input, expected) in table {
            assert_eq!(escape(input), *expected, "escape({input:?})");
        }
    }

    #[test]
    fn escape_lines_keeps_line_breaks() {
        let table: &[(&str, &str)] = &[
            ("", ""),
            ("one\ntwo\n", "one\ntwo\n"),
            ("a\rb\n\x1b[2J\n", "a\\rb\n\\x1b[2J\n"),
            ("\u{202e}x\ny\t", "\\u{202e}x\ny\\t"),
            ("\r\n", "\\r\n"),
        ];
        for (input, expected) in table {
            assert_eq!(escape_lines(input), *expected, "escape_lines({input:?})");
        }
        assert!(matches!(escape_lines("a\nb\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn clean_text_is_borrowed() {
        for clean in ["", "plain ascii ~!@#", "日本語", "👨\u{200d}👩", "e\u{301}"] {
            assert!(matches!(escape(clean), Cow::Borrowed(_)), "{clean:?}");
        }
        assert!(matches!(escape("a\tb"), Cow::Owned(_)));
    }

    proptest! {
        #[test]
        fn output_has_no_control_bidi_or_hidden_character(text in any::<String>()) {
            let escaped = escape(&text);
            for c in escaped.chars() {
                prop_assert!(!c.is_control(), "{c:?} in {escaped:?}");
                prop_assert!(!is_hidden(c), "{c:?} in {escaped:?}");
            }
            let pieces: String = Pieces::new(&text).fold(String::new(), |mut out, piece| {
                piece.push_to(&mut out);
                out
            });
            prop_assert_eq!(pieces, escaped.as_ref());
        }

        #[test]
        fn clean_text_is_unchanged(text in "[ -~\u{a0}-\u{ac}\u{ae}-\u{ff}\u{4e00}-\u{4eff}]*") {
            prop_assert_eq!(escape(&text), text.as_str());
        }
    }
}
