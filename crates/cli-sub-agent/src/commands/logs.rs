//! `csa session logs <ID>... | --all [--stderr | --both] [--tail N]
//! [--timestamps] [--follow]` and `csa session attach <ID>`: sessions' logs,
//! the only command that prints tool output unescaped.
//!
//! One session's one log is copied as raw bytes: opened without blocking,
//! it must be a regular file (a FIFO, a device or a link to `/dev/zero` is
//! refused with one line, never read). `--tail N` starts at the last N
//! lines, found by reading backwards from the end
//! (`csa_session::log_tail`), and the bytes are copied in chunks, so a 4 GiB
//! log is never held in memory. `--follow` prints new bytes as they are
//! written, woken by [`csa_process::end_watch`], and once the session has ended
//! prints what is left and exits with its exit code (as `wait` does); a
//! session dir removed or moved away meanwhile ends it too, with the line
//! `<ULID> removed` on stderr and exit 1.
//!
//! Several sessions, `--all`, `--both` and `--timestamps` print lines with
//! prefixes instead: [`crate::log_lines`]. `attach` is `logs --follow
//! --both` of one session. Sessions are reconciled on the way (trigger
//! `session logs`).

use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use csa_process::ProbeContext;
use csa_session::log_tail::last_lines_start;
use csa_session::read::open_regular;
use csa_session::{SessionLocation, Trigger};

use crate::cli::{IdArgs, LogsArgs};
use crate::context::Context;
use crate::log_lines::{self, Layout, Streams};
use crate::reconcile;
use crate::ui::Ui;
use csa_process::end_watch::{EndWatch, Ending};

/// How many bytes are copied to stdout at a time.
const CHUNK: usize = 64 * 1024;

pub fn run(args: &LogsArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let sessions = if args.all {
        let mut all = ctx.sessions(false)?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    } else {
        ctx.resolve_each(&args.ids)?
    };
    let several = args.all || sessions.len() > 1;
    if let [loc] = sessions.as_slice()
        && !several
        && !args.both
        && !args.timestamps
    {
        return one_log(ui, loc, args);
    }
    if sessions.is_empty() {
        ui.stderr(&format!(
            "no sessions in {}\n",
            ctx.project.project_dir().display()
        ));
    }
    let streams = if args.stderr {
        Streams::Stderr
    } else if args.both || several {
        Streams::Both
    } else {
        Streams::Output
    };
    let layout = Layout {
        prefix: several,
        timestamps: args.timestamps,
        streams,
        tail: args.tail,
    };
    log_lines::print(&ctx, sessions, layout, args.follow, args.all)
}

/// `csa session attach <ID>`: `logs --follow --both` of one session.
pub fn attach(args: &IdArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.project, ui)?;
    let loc = ctx.resolve(args.id())?;
    let layout = Layout {
        prefix: false,
        timestamps: false,
        streams: Streams::Both,
        tail: None,
    };
    log_lines::print(&ctx, vec![loc], layout, true, false)
}

/// One log of one session, as raw bytes.
fn one_log(ui: &Ui, loc: &SessionLocation, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let path = if args.stderr {
        loc.dir.stderr_log()
    } else {
        loc.dir.output_log()
    };
    if args.follow {
        return follow(ui, loc, &path, args.tail);
    }
    let probe = ProbeContext::new();
    reconcile::reconcile_one(ui, loc, &probe, Trigger::SessionLogs);
    if let Some(mut log) = Log::open(&path, args.tail)? {
        log.print_new(ui)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Print the log (its last `tail` lines) and then every new byte, until the
/// session has ended; exit with its exit code.
fn follow(
    ui: &Ui,
    loc: &SessionLocation,
    path: &Path,
    tail: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let mut watch = EndWatch::new(Trigger::SessionLogs);
    watch.add(loc, &[path.to_path_buf()]);
    // `--tail` applies to what the log holds now; a log that appears later is
    // new output, printed from its start.
    let mut log = Log::open(path, tail)?;
    let mut contents_watched = false;
    loop {
        // Look at the ending first: once it has ended, the log is complete.
        let ending = watch.check(loc)?;
        if log.is_none() {
            log = Log::open(path, None)?;
        }
        if let Some(log) = &mut log {
            if !contents_watched {
                // A log that links elsewhere: its folder's events miss its writes.
                watch.watch_contents(path);
                contents_watched = true;
            }
            if !log.print_new(ui)? {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if let Some(ending) = ending {
            if let Ending::Removed = ending {
                // Stdout carries the log's bytes: the note goes to stderr.
                ui.stderr(&format!("{} removed\n", loc.id));
            }
            return Ok(ExitCode::from(ending.exit_code()));
        }
        watch.wait(None);
    }
}

/// An open log and how much of it was printed.
#[derive(Debug)]
struct Log {
    file: std::fs::File,
    path: PathBuf,
    printed_to: u64,
}

impl Log {
    /// The log at `path`, positioned at its last `tail` lines (or its start);
    /// `None` when there is no log yet. Anything but a regular file is an error.
    fn open(path: &Path, tail: Option<usize>) -> anyhow::Result<Option<Log>> {
        let cannot_read = || format!("cannot read {}", path.display());
        let (mut file, len) = match open_regular(path) {
            Ok(opened) => opened,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(anyhow::Error::new(err).context(cannot_read())),
        };
        let start = match tail {
            Some(lines) => last_lines_start(&mut file, len, lines).with_context(cannot_read)?,
            None => 0,
        };
        Ok(Some(Log {
            file,
            path: path.to_path_buf(),
            printed_to: start,
        }))
    }

    /// Copy every byte not printed yet to stdout. `Ok(false)` when stdout
    /// was closed by its reader.
    fn print_new(&mut self, ui: &Ui) -> anyhow::Result<bool> {
        let cannot_read = || format!("cannot read {}", self.path.display());
        let len = self.file.metadata().with_context(cannot_read)?.len();
        if len < self.printed_to {
            tracing::info!(path = %self.path.display(), "the log was truncated: printing it from its start");
            self.printed_to = 0;
        }
        self.file
            .seek(SeekFrom::Start(self.printed_to))
            .with_context(cannot_read)?;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = match self.file.read(&mut buffer) {
                Ok(0) => return Ok(true),
                Ok(read) => read,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) => return Err(anyhow::Error::new(err).context(cannot_read())),
            };
            self.printed_to += read as u64;
            if !ui.stdout_raw(&buffer[..read])? {
                return Ok(false);
            }
        }
    }
}
