//! Colour: whether stdout and stderr get ANSI styles, and the style of each
//! thing csa colours (statuses, the `error:` and `warning:` labels).
//!
//! `--color auto` (the default) colours a stream only when it is a terminal,
//! and follows the environment as `anstream` does: `NO_COLOR` (non-empty)
//! turns colour off, `CLICOLOR_FORCE` (non-empty) turns it on even for a pipe,
//! `CLICOLOR=0` turns it off, and `TERM=dumb` (or no `TERM` on Unix) means no
//! colour. `--color always` and `--color never` win over the environment.
//! `main` calls [`init`] once (clap's own help follows it too), then asks
//! [`colors`] of each stream once and keeps the answers in its `crate::ui::Ui`.

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

use csa_session::SessionStatus as Status;

/// The style of the `error:` label on stderr.
pub const ERROR_LABEL: Style = AnsiColor::Red.on_default().bold();
/// The style of the `warning:` label on stderr.
pub const WARNING_LABEL: Style = AnsiColor::Yellow.on_default().bold();
/// The style of the `note:` label on stderr.
pub const NOTE_LABEL: Style = AnsiColor::Cyan.on_default().bold();

/// Record the `--color` choice for every stream of this process.
pub fn init(choice: ColorChoice) {
    choice.write_global();
}

/// Whether text written to `stream` is coloured, after [`init`]: the
/// choice is made by the caller once (see `crate::ui::Facts`), not cached here.
pub fn colors<S: anstream::stream::RawStream>(stream: &S) -> bool {
    AutoStream::choice(stream) != ColorChoice::Never
}

/// The style of a session status wherever it is shown (`list`, `show`).
pub fn status_style(status: Status) -> Style {
    match status {
        Status::Active => AnsiColor::Cyan.on_default(),
        Status::Available => AnsiColor::Yellow.on_default(),
        Status::Retired => AnsiColor::Green.on_default(),
        Status::Failed => AnsiColor::Red.on_default(),
        Status::Error => AnsiColor::Red.on_default().bold(),
    }
}

/// Styles text for one stream, or leaves it plain when that stream is not coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// No colour at all.
    pub const PLAIN: Palette = Palette { enabled: false };
    /// ANSI styles.
    pub const ANSI: Palette = Palette { enabled: true };

    /// ANSI styles when `enabled`, else plain.
    pub fn when(enabled: bool) -> Palette {
        if enabled {
            Palette::ANSI
        } else {
            Palette::PLAIN
        }
    }

    /// Append `text` (already escaped) to `out` in `style`.
    pub fn push(self, out: &mut String, style: Style, text: &str) {
        if self.enabled && style != Style::new() {
            use std::fmt::Write as _;
            let _ = write!(out, "{style}{text}{style:#}");
        } else {
            out.push_str(text);
        }
    }

    /// `text` (already escaped) in `style`.
    pub fn paint(self, style: Style, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 12);
        self.push(&mut out, style, text);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_distinct_styles() {
        let all = [
            Status::Active,
            Status::Available,
            Status::Retired,
            Status::Failed,
            Status::Error,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(status_style(*a), status_style(*b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn plain_palette_adds_nothing_and_ansi_resets() {
        let style = status_style(Status::Failed);
        assert_eq!(Palette::PLAIN.paint(style, "Failed"), "Failed");
        assert_eq!(
            Palette::ANSI.paint(style, "Failed"),
            "\x1b[31mFailed\x1b[0m"
        );
        assert_eq!(
            Palette::ANSI.paint(status_style(Status::Error), "Error"),
            "\x1b[1m\x1b[31mError\x1b[0m"
        );
        assert_eq!(Palette::ANSI.paint(Style::new(), "x"), "x");
    }
}
