//! Tracing logs on stderr: `-v` info, `-vv` debug, `-vvv` trace; without
//! `-v`, `RUST_LOG` when set, else none. What a user must know reaches them
//! as one `csa: warning:` or `csa: error:` line from the command itself, so a
//! fault never prints twice (a log line and the command's own line).
//!
//! Log lines are coloured only when stderr is (`crate::ui::Facts`), and are
//! escaped like every other text meant for a terminal: a log field may quote
//! a session file. `main` calls [`init`] once, after [`super::style::init`].

use std::borrow::Cow;
use std::io::Write;

use tracing_subscriber::EnvFilter;

use super::escape::{escape, escape_styled};

/// Start logging to stderr, with colour when `colors` (stderr is coloured).
pub fn init(verbose: u8, colors: bool) {
    let default = match verbose {
        0 => "off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = if verbose == 0 {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    } else {
        EnvFilter::new(default)
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colors)
        .with_writer(move || EscapingStderr {
            keep_styles: colors,
        })
        .with_target(false)
        .init();
}

/// Stderr for log events: each write is one formatted event, escaped.
#[derive(Debug)]
struct EscapingStderr {
    /// Keep the formatter's own SGR styles (when colouring).
    keep_styles: bool,
}

impl Write for EscapingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let line = escape_log_line(&text, self.keep_styles);
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().lock().flush()
    }
}

/// A formatted log event made safe for a terminal: everything escaped but the
/// final newline and, when `keep_styles`, SGR sequences (`ESC [ 0-9; m`: the
/// formatter's colours; tracing escapes an ESC in a message itself).
fn escape_log_line(text: &str, keep_styles: bool) -> Cow<'_, str> {
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    let escaped = if keep_styles {
        escape_styled(body)
    } else {
        escape(body)
    };
    match escaped {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(mut escaped) => {
            escaped.push_str(newline);
            Cow::Owned(escaped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_escaped_but_keep_their_newline_and_styles() {
        let table: &[(&str, bool, &str)] = &[
            ("WARN plain\n", false, "WARN plain\n"),
            ("WARN a\rb\n", false, "WARN a\\rb\n"),
            ("WARN two\nlines\n", false, "WARN two\\nlines\n"),
            ("WARN \u{202e}x\n", true, "WARN \\u{202e}x\n"),
            ("\x1b[33mWARN\x1b[0m x\n", true, "\x1b[33mWARN\x1b[0m x\n"),
            (
                "\x1b[33mWARN\x1b[0m x\n",
                false,
                "\\x1b[33mWARN\\x1b[0m x\n",
            ),
            (
                "\x1b[2;1m\x1b[2J\x1b]0;t\x07\n",
                true,
                "\x1b[2;1m\\x1b[2J\\x1b]0;t\\x07\n",
            ),
            ("no newline\x1b", true, "no newline\\x1b"),
        ];
        for (input, keep, expected) in table {
            assert_eq!(escape_log_line(input, *keep), *expected, "{input:?}");
        }
        assert!(matches!(escape_log_line("ok\n", true), Cow::Borrowed(_)));
    }
}
