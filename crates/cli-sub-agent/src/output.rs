//! Where text goes: data to stdout, diagnostics to stderr.
//!
//! Every command prints through these helpers so that stdout carries only data
//! (tables, JSON, ids) and errors are always one line on stderr. Everything
//! written to stderr is escaped here (`crate::term::escape`); a command
//! escapes the values it puts in its own stdout text. Colour is added only where the
//! stream is coloured (`--color`, see `crate::term::style`).

use std::io::Write;

use crate::term::{self, Palette, style};

/// Print an error chain as one line on stderr: `csa: error: outer: inner: root`.
pub fn error_line(err: &anyhow::Error) {
    let palette = Palette::stderr();
    let line = format!(
        "csa: {} {}\n",
        palette.paint(style::ERROR_LABEL, "error:"),
        term::escape(&one_line(err))
    );
    write_stderr(&line);
}

/// Report a command line clap refused, or print the help or version it
/// was asked for, and say how to exit (clap's code: 2 for a usage error).
///
/// Help and version are csa's own text: printed as clap prints them. A
/// usage error quotes the user's arguments, so every value it holds is
/// escaped before clap renders it, and the rendered text is escaped again
/// line by line (clap's colours kept when stderr is coloured): one message,
/// its lines as clap lays them out, with no control character raw.
pub fn usage_error(mut err: clap::Error) -> std::process::ExitCode {
    use clap::error::{ContextValue, ErrorKind};
    let code = u8::try_from(err.exit_code()).unwrap_or(2);
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return std::process::ExitCode::from(code);
    }
    let escaped: Vec<_> = err
        .context()
        .filter_map(|(kind, value)| match value {
            ContextValue::String(s) => Some((kind, ContextValue::String(term::escape(s).into()))),
            ContextValue::Strings(all) => {
                let all = all.iter().map(|s| term::escape(s).into_owned()).collect();
                Some((kind, ContextValue::Strings(all)))
            }
            _ => None,
        })
        .collect();
    for (kind, value) in escaped {
        err.insert(kind, value);
    }
    let rendered = err.render();
    let colored = style::stderr_colors();
    let text = if colored {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    let mut safe = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if colored {
            safe.push_str(&term::escape::escape_styled(body));
        } else {
            safe.push_str(&term::escape(body));
        }
        safe.push_str(newline);
    }
    write_stderr(&safe);
    std::process::ExitCode::from(code)
}

/// Print `csa: warning: <text>` on stderr, with `text` escaped.
pub fn warning(text: &str) {
    let palette = Palette::stderr();
    let line = format!(
        "csa: {} {}\n",
        palette.paint(style::WARNING_LABEL, "warning:"),
        term::escape(&text.replace('\n', " "))
    );
    write_stderr(&line);
}

/// Print `csa: note: <text>` on stderr, with `text` escaped.
pub fn note(text: &str) {
    let palette = Palette::stderr();
    let line = format!(
        "csa: {} {}\n",
        palette.paint(style::NOTE_LABEL, "note:"),
        term::escape(&text.replace('\n', " "))
    );
    write_stderr(&line);
}

/// An error chain as one line: `outer: inner: root`. Every error in the chain
/// shows its cause either in its message or as its source, never both, so
/// nothing repeats.
pub fn one_line(err: &anyhow::Error) -> String {
    let parts: Vec<String> = err.chain().map(|cause| cause.to_string()).collect();
    parts.join(": ").replace('\n', " ")
}

/// A library error and its causes as one line.
pub use csa_session::error::chain;

/// Write `text` to stdout; a closed pipe (`csa session list | head`) is not an error.
pub fn stdout(text: &str) -> anyhow::Result<()> {
    let out = std::io::stdout().lock();
    let written = if style::stdout_colors() {
        // Passes styles through (or, on an old Windows console, translates them).
        write_all(anstream::AutoStream::always(out), text)
    } else {
        write_all(out, text)
    };
    match written {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context("cannot write to stdout")),
    }
}

/// Write tool output to stdout exactly as it is (`csa session logs`, the only
/// command that does) and flush it. `Ok(false)` when stdout is a closed pipe
/// (`csa session logs ID | head`): the reader is gone, stop writing.
pub fn stdout_raw(bytes: &[u8]) -> anyhow::Result<bool> {
    match write_all(std::io::stdout().lock(), bytes) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(anyhow::Error::new(err).context("cannot write to stdout")),
    }
}

/// Write a diagnostic to stderr (never fails the command), each line escaped.
pub fn stderr(text: &str) {
    write_stderr(&term::escape::escape_lines(text));
}

/// Write text that is already safe (escaped, styled by csa) to stderr.
fn write_stderr(text: &str) {
    let err = std::io::stderr().lock();
    let _ = if style::stderr_colors() {
        write_all(anstream::AutoStream::always(err), text)
    } else {
        write_all(err, text)
    };
}

fn write_all(mut out: impl Write, text: impl AsRef<[u8]>) -> std::io::Result<()> {
    out.write_all(text.as_ref())?;
    out.flush()
}
