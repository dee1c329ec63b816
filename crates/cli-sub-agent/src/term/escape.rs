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
//! | invisible characters: soft hyphen, zero-width space, word joiner, BOM, invisible operators, Hangul fillers, combining grapheme joiner, Khmer inherent vowels, tags, Mongolian and other variation selectors, ... ([`is_hidden`]) | `\u{NNNN}` |
//! | zero-width joiner and non-joiner (U+200D, U+200C) unless they join two visible non-ASCII characters (emoji sequences, Indic and Persian text) | `\u{200d}`, `\u{200c}` |
//! | emoji presentation selector (U+FE0F) unless right after a character it turns into an emoji (`❤\u{fe0f}`, an emoji presentation sequence of UTS #51) | `\u{fe0f}` |
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

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr};

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

/// `text` escaped like [`escape`] except its SGR sequences (`ESC [ 0-9; m`),
/// which are kept: for text csa styled itself (log lines, clap's messages)
/// whose values were escaped before styling. Any other escape sequence is
/// escaped. Borrowed when there is nothing to escape.
pub fn escape_styled(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&escape(&rest[..at]));
        let after = &rest[at..];
        let sgr_len = sgr_len(after);
        if sgr_len > 0 {
            out.push_str(&after[..sgr_len]);
            rest = &after[sgr_len..];
        } else {
            out.push_str("\\x1b");
            rest = &after[1..];
        }
    }
    out.push_str(&escape(rest));
    Cow::Owned(out)
}

/// The length of the SGR sequence `text` starts with, or 0.
fn sgr_len(text: &str) -> usize {
    let Some(params) = text.strip_prefix("\x1b[") else {
        return 0;
    };
    let digits = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    if params.as_bytes().get(digits) == Some(&b'm') {
        2 + digits + 1
    } else {
        0
    }
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
    before: Before,
}

impl<'a> Pieces<'a> {
    pub(super) fn new(text: &'a str) -> Pieces<'a> {
        Pieces {
            rest: text,
            before: Before::default(),
        }
    }

    /// The pieces of `rest`, which follows `before` in the same text (a
    /// joiner's or selector's escape depends on the characters before it).
    fn after(before: &str, rest: &'a str) -> Pieces<'a> {
        Pieces {
            rest,
            before: Before::end_of(before),
        }
    }
}

/// The two characters before the one looked at: whether a joiner or an
/// emoji presentation selector is shown depends on them.
#[derive(Debug, Clone, Copy, Default)]
struct Before {
    prev: Option<char>,
    prev2: Option<char>,
}

impl Before {
    /// The last two characters of `text`.
    fn end_of(text: &str) -> Before {
        let mut back = text.chars().rev();
        let prev = back.next();
        Before {
            prev,
            prev2: back.next(),
        }
    }

    fn push(&mut self, c: char) {
        self.prev2 = self.prev;
        self.prev = Some(c);
    }

    /// The character before is shown, visible and not ASCII: a joiner may
    /// follow it. A shown emoji presentation selector counts as its emoji.
    fn ends_joinable(self) -> bool {
        match self.prev {
            Some(VS16) => self.prev2.is_some_and(takes_emoji_presentation),
            Some(c) => joinable(c),
            None => false,
        }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let mut chars = self.rest.chars();
        let c = chars.next()?;
        let (this, rest) = self.rest.split_at(c.len_utf8());
        let escaped = needs_escape(self.before, c, chars.next());
        self.rest = rest;
        self.before.push(c);
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
    let mut before = Before::end_of(&text[..start]);
    let mut chars = text[start..].char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if needs_escape(before, c, chars.peek().map(|&(_, next)| next)) {
            return Some(start + at);
        }
        before.push(c);
    }
    None
}

/// Whether `c`, after `before` and before `next`, is shown escaped.
fn needs_escape(before: Before, c: char, next: Option<char>) -> bool {
    match c {
        ' '..='~' => false,
        ZWJ | ZWNJ => {
            // A selector right after a joiner is escaped: it follows no emoji.
            let next_joinable = next.is_some_and(|n| joinable(n) && n != VS16);
            !(before.ends_joinable() && next_joinable)
        }
        VS16 => !before.prev.is_some_and(takes_emoji_presentation),
        c => c.is_control() || is_hidden(c),
    }
}

const ZWNJ: char = '\u{200c}';
const ZWJ: char = '\u{200d}';
/// Variation selector 16, the emoji presentation selector.
const VS16: char = '\u{fe0f}';

/// A character a joiner may stand next to: visible and not ASCII.
fn joinable(c: char) -> bool {
    !c.is_ascii() && !c.is_control() && !is_hidden(c) && c != ZWJ && c != ZWNJ
}

/// Whether `base` followed by U+FE0F is an emoji presentation sequence
/// (UTS #51, `emoji-variation-sequences.txt`). The width tables know each
/// one: a text-default base widens to two columns with U+FE0F, and an
/// emoji-default base narrows to one with U+FE0E (its text presentation
/// sequence; every base has both). The few ideographic bases (U+3030, ...)
/// are not told apart: their U+FE0F is escaped, which is safe.
fn takes_emoji_presentation(base: char) -> bool {
    let width_with = |selector: char| {
        let mut buf = [0u8; 8];
        let len = base.encode_utf8(&mut buf).len();
        let len = len + selector.encode_utf8(&mut buf[len..]).len();
        std::str::from_utf8(&buf[..len]).map_or(0, UnicodeWidthStr::width)
    };
    match base.width() {
        Some(1) => width_with(VS16) == 2,
        Some(2) => width_with('\u{fe0e}') == 1,
        _ => false,
    }
}

/// Characters that are not controls but change how the text around them
/// reads while showing nothing themselves (joiners excluded: see
/// [`needs_escape`]). Visible format characters (Arabic number signs, ...)
/// are not listed.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'                      // soft hyphen
        | '\u{034f}'                    // combining grapheme joiner
        | '\u{061c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}'       // Hangul choseong and jungseong fillers
        | '\u{17b4}' | '\u{17b5}'       // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}'       // Mongolian variation selectors, vowel separator
        | '\u{200b}'                    // zero-width space
        | '\u{200e}' | '\u{200f}'       // left-to-right and right-to-left marks
        | '\u{2028}' | '\u{2029}'       // line and paragraph separators
        | '\u{202a}'..='\u{202e}'       // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{206f}'       // bidi isolates, deprecated format characters
        | '\u{3164}'                    // Hangul filler
        | '\u{fe00}'..='\u{fe0e}'       // variation selectors 1..15 (16: see needs_escape)
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
            // The emoji presentation selector: kept right after a character
            // it turns into an emoji (text-default or emoji-default, a
            // keycap base), escaped anywhere else.
            ("❤\u{fe0f}", "❤\u{fe0f}"),
            ("⌚\u{fe0f}", "⌚\u{fe0f}"),
            ("#\u{fe0f}\u{20e3}", "#\u{fe0f}\u{20e3}"),
            ("🏳\u{fe0f}\u{200d}🌈", "🏳\u{fe0f}\u{200d}🌈"),
            ("👁\u{fe0f}\u{200d}🗨\u{fe0f}", "👁\u{fe0f}\u{200d}🗨\u{fe0f}"),
            ("ad\u{fe0f}min", "ad\\u{fe0f}min"),
            ("\u{fe0f}", "\\u{fe0f}"),
            ("日\u{fe0f}", "日\\u{fe0f}"),
            ("🚀\u{fe0f}", "🚀\\u{fe0f}"),
            ("❤\u{fe0f}\u{fe0f}", "❤\u{fe0f}\\u{fe0f}"),
            ("x\u{fe0f}\u{200d}👩", "x\\u{fe0f}\\u{200d}👩"),
            ("👩\u{200d}\u{fe0f}", "👩\\u{200d}\\u{fe0f}"),
            // Other variation selectors and invisible marks.
            ("❤\u{fe0e}", "❤\\u{fe0e}"),
            ("a\u{fe00}b\u{fe0d}", "a\\u{fe00}b\\u{fe0d}"),
            ("a\u{34f}b", "a\\u{34f}b"),
            ("ក\u{17b4}\u{17b5}", "ក\\u{17b4}\\u{17b5}"),
            (
                "ᠠ\u{180b}\u{180c}\u{180d}\u{180f}",
                "ᠠ\\u{180b}\\u{180c}\\u{180d}\\u{180f}",
            ),
            (
                "\u{115f}\u{1160}\u{3164}\u{ffa0}",
                "\\u{115f}\\u{1160}\\u{3164}\\u{ffa0}",
            ),
            (
                "\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}",
                "\\u{2060}\\u{2061}\\u{2062}\\u{2063}\\u{2064}",
            ),
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
            let mut prev = None;
            for c in escaped.chars() {
                prop_assert!(!c.is_control(), "{c:?} in {escaped:?}");
                prop_assert!(!is_hidden(c), "{c:?} in {escaped:?}");
                if c == VS16 {
                    prop_assert!(prev.is_some_and(takes_emoji_presentation), "{escaped:?}");
                }
                prev = Some(c);
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
