//! Where text goes: data to stdout, diagnostics to stderr.
//!
//! Every command prints through these helpers so that stdout carries only data
//! (tables, JSON, ids) and errors are always one line on stderr.

use std::io::Write;

/// Print an error chain as one line on stderr: `csa: error: outer: inner: root`.
pub fn error_line(err: &anyhow::Error) {
    let line = format!("csa: error: {}", one_line(err));
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Print a warning as one line on stderr: `csa: warning: ...`.
pub fn warning(text: &str) {
    stderr(&format!("csa: warning: {}\n", text.replace('\n', " ")));
}

/// An error chain as one line: `outer: inner: root`. Every error in the chain
/// shows its cause either in its message or as its source, never both, so
/// nothing repeats.
pub fn one_line(err: &anyhow::Error) -> String {
    let parts: Vec<String> = err.chain().map(|cause| cause.to_string()).collect();
    parts.join(": ").replace('\n', " ")
}

/// A library error and its causes as one line.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
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

/// Write a diagnostic to stderr (never fails the command).
pub fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
