//! The output sink: every command writes through one [`Ui`] (as cargo's
//! `Shell` and jj's `Ui`): data to stdout, diagnostics to stderr, with the
//! colour and terminal facts of each stream held in the value, not in statics.
//!
//! `main` builds one from the process's streams ([`Ui::new`]); tests build
//! one that captures both streams ([`Ui::capture`]) with the facts they
//! choose, and read back what a view wrote. Everything written to stderr is
//! escaped here (`crate::term::escape`); a command escapes the values it puts
//! in its own stdout text. Colour is added only where the stream is coloured
//! (`--color`, see `crate::term::style`).

use std::io::Write;
#[cfg(test)]
use std::sync::{Arc, Mutex};

use crate::term::{self, Palette, style};

/// What a command may know of its streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Text written to stdout is coloured.
    pub stdout_colors: bool,
    /// Text written to stderr (errors, warnings, logs) is coloured.
    pub stderr_colors: bool,
    /// The width of the terminal stdout is, `None` when it is not one.
    pub stdout_width: Option<usize>,
    /// Stdout is read by another csa (this one was started over ssh by a
    /// `--host` command): bulk JSON answers are written compact, one
    /// element a line, since no person reads them.
    pub read_by_csa: bool,
}

impl Facts {
    /// The facts of this process's streams, after `style::init` recorded `--color`.
    pub fn of_process() -> Facts {
        Facts {
            stdout_colors: style::colors(&std::io::stdout()),
            stderr_colors: style::colors(&std::io::stderr()),
            stdout_width: term::stdout_terminal_width(),
            read_by_csa: false,
        }
    }

    /// Neither stream coloured nor a terminal.
    #[cfg(test)]
    pub const PLAIN: Facts = Facts {
        stdout_colors: false,
        stderr_colors: false,
        stdout_width: None,
        read_by_csa: false,
    };
}

/// Where one stream's bytes go.
#[derive(Debug, Clone)]
enum Sink {
    Stdout,
    Stderr,
    #[cfg(test)]
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Sink {
    /// Write and flush `bytes`; `styled`: the text holds csa's own ANSI
    /// styles, which an old Windows console needs translated.
    fn write(&self, bytes: &[u8], styled: bool) -> std::io::Result<()> {
        match self {
            Sink::Stdout if styled => write_all(
                anstream::AutoStream::always(std::io::stdout().lock()),
                bytes,
            ),
            Sink::Stdout => write_all(std::io::stdout().lock(), bytes),
            Sink::Stderr if styled => write_all(
                anstream::AutoStream::always(std::io::stderr().lock()),
                bytes,
            ),
            Sink::Stderr => write_all(std::io::stderr().lock(), bytes),
            #[cfg(test)]
            Sink::Buffer(buffer) => {
                let mut buffer = buffer.lock().unwrap_or_else(|e| e.into_inner());
                buffer.extend_from_slice(bytes);
                Ok(())
            }
        }
    }
}

/// The output of a command: its two streams and what is known of them.
/// Shared by reference with every thread of a command (it is `Sync`).
#[derive(Debug)]
pub struct Ui {
    stdout: Sink,
    stderr: Sink,
    facts: Facts,
}

/// What a [`Ui::capture`] has been written, for tests.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Captured {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

#[cfg(test)]
impl Captured {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        let bytes = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        let bytes = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Ui {
    /// The process's stdout and stderr, with these facts.
    pub fn new(facts: Facts) -> Ui {
        Ui {
            stdout: Sink::Stdout,
            stderr: Sink::Stderr,
            facts,
        }
    }

    /// Both streams into memory, with the facts a test chooses.
    #[cfg(test)]
    pub fn capture(facts: Facts) -> (Ui, Captured) {
        let captured = Captured {
            stdout: Arc::default(),
            stderr: Arc::default(),
        };
        let ui = Ui {
            stdout: Sink::Buffer(Arc::clone(&captured.stdout)),
            stderr: Sink::Buffer(Arc::clone(&captured.stderr)),
            facts,
        };
        (ui, captured)
    }

    /// What is known of the streams.
    pub fn facts(&self) -> Facts {
        self.facts
    }

    /// The palette for text written to stdout.
    pub fn stdout_palette(&self) -> Palette {
        Palette::when(self.facts.stdout_colors)
    }

    /// The palette for text written to stderr.
    pub fn stderr_palette(&self) -> Palette {
        Palette::when(self.facts.stderr_colors)
    }

    /// Write `text` to stdout; a closed pipe (`csa session list | head`) is not an error.
    pub fn stdout(&self, text: &str) -> anyhow::Result<()> {
        match self.stdout.write(text.as_bytes(), self.facts.stdout_colors) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(err) => Err(anyhow::Error::new(err).context("cannot write to stdout")),
        }
    }

    /// Write tool output to stdout exactly as it is (`csa session logs`, the
    /// only command that does) and flush it. `Ok(false)` when stdout is a
    /// closed pipe (`csa session logs ID | head`): the reader is gone, stop writing.
    pub fn stdout_raw(&self, bytes: &[u8]) -> anyhow::Result<bool> {
        match self.stdout.write(bytes, false) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(err) => Err(anyhow::Error::new(err).context("cannot write to stdout")),
        }
    }

    /// Write a diagnostic to stderr (never fails the command), each line escaped.
    pub fn stderr(&self, text: &str) {
        self.write_stderr(&term::escape::escape_lines(text));
    }

    /// Print an error chain as one line on stderr: `csa: error: outer: inner: root`.
    pub fn error_line(&self, err: &anyhow::Error) {
        self.labelled(style::ERROR_LABEL, "error:", &one_line(err));
    }

    /// Print `csa: warning: <text>` on stderr, with `text` escaped.
    pub fn warning(&self, text: &str) {
        self.labelled(style::WARNING_LABEL, "warning:", text);
    }

    /// Print `csa: note: <text>` on stderr, with `text` escaped.
    pub fn note(&self, text: &str) {
        self.labelled(style::NOTE_LABEL, "note:", text);
    }

    /// `csa: <label> <text>` on one line of stderr.
    fn labelled(&self, label_style: anstyle::Style, label: &str, text: &str) {
        let line = format!(
            "csa: {} {}\n",
            self.stderr_palette().paint(label_style, label),
            term::escape(&text.replace('\n', " "))
        );
        self.write_stderr(&line);
    }

    /// Report a command line clap refused, or print the help or version it
    /// was asked for, and say how to exit (clap's code: 2 for a usage error).
    ///
    /// Help and version are csa's own text: printed as clap prints them. A
    /// usage error quotes the user's arguments, so every value it holds is
    /// escaped before clap renders it, and the rendered text is escaped again
    /// line by line (clap's colours kept when stderr is coloured): one message,
    /// its lines as clap lays them out, with no control character raw.
    pub fn usage_error(&self, mut err: clap::Error) -> std::process::ExitCode {
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
                ContextValue::String(s) => {
                    Some((kind, ContextValue::String(term::escape(s).into())))
                }
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
        let colored = self.facts.stderr_colors;
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
        self.write_stderr(&safe);
        std::process::ExitCode::from(code)
    }

    /// Write text that is already safe (escaped, styled by csa) to stderr.
    fn write_stderr(&self, text: &str) {
        let _ = self.stderr.write(text.as_bytes(), self.facts.stderr_colors);
    }
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

fn write_all(mut out: impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_ui_keeps_each_stream_and_escapes_stderr() {
        let (ui, captured) = Ui::capture(Facts::PLAIN);
        ui.stdout("data\n").expect("a buffer takes any write");
        ui.warning("two\nlines \x1b[2J");
        ui.error_line(&anyhow::anyhow!("root").context("outer"));
        ui.stderr("plain\rline\n");
        assert_eq!(captured.stdout(), "data\n");
        assert_eq!(
            captured.stderr(),
            "csa: warning: two lines \\x1b[2J\ncsa: error: outer: root\nplain\\rline\n"
        );
    }

    #[test]
    fn labels_are_coloured_only_where_stderr_is() {
        let coloured = Facts {
            stderr_colors: true,
            ..Facts::PLAIN
        };
        let (ui, captured) = Ui::capture(coloured);
        ui.note("n");
        assert_eq!(captured.stderr(), "csa: \x1b[1m\x1b[36mnote:\x1b[0m n\n");
        assert_eq!(ui.stdout_palette(), Palette::PLAIN);
        assert_eq!(ui.stderr_palette(), Palette::ANSI);
    }
}
