//! Where text goes: data to stdout, diagnostics to stderr.
//!
//! Every command prints through these helpers so that stdout carries only data
//! (tables, JSON, ids) and errors are always one line on stderr. Everything
//! written to stderr is escaped here (`crate::term::escape`); a command
//! escapes the values it puts in its own stdout text.

use std::io::Write;

use crate::term;

/// Print an error chain as one line on stderr: `csa: error: outer: inner: root`.
pub fn error_line(err: &anyhow::Error) {
    write_stderr(&format!("csa: error: {}\n", term::escape(&one_line(err))));
}

/// Print `csa: warning: <text>` on stderr, with `text` escaped.
pub fn warning(text: &str) {
    let text = term::escape(&text.replace('\n', " ")).into_owned();
    write_stderr(&format!("csa: warning: {text}\n"));
}

/// An error chain as one line: `outer: inner: root`, without repeats.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut first = true;
    for cause in err.chain() {
        let text = cause.to_string();
        if !first {
            // Skip a cause whose text the outer message already contains.
            if line.contains(&text) {
                continue;
            }
            line.push_str(": ");
        }
        line.push_str(text.trim());
        first = false;
    }
    line.replace('\n', " ")
}

/// Write `text` to stdout; a closed pipe (`csa session list | head`) is not an error.
pub fn stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context("cannot write to stdout")),
    }
}

/// Write a diagnostic to stderr (never fails the command), each line escaped.
pub fn stderr(text: &str) {
    write_stderr(&term::escape::escape_lines(text));
}

/// Write text that is already safe (escaped) to stderr.
fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
