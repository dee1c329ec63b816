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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use csa_process::ProbeContext;
use csa_session::log_cursor::{LogCursor, Progress};
use csa_session::{SessionLocation, Trigger};

use crate::cli::{IdArgs, LogsArgs};
use crate::context::Context;
use crate::log_lines::{self, Layout, Streams};
use crate::reconcile;
use crate::ui::Ui;
use csa_process::end_watch::{EndWatch, Ending};

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
    let (path, rotated) = if args.stderr {
        (loc.dir.stderr_log(), loc.dir.stderr_log_rotated())
    } else {
        (loc.dir.output_log(), loc.dir.output_log_rotated())
    };
    if args.follow {
        return follow(ui, loc, &path, &rotated, args.tail);
    }
    let probe = ProbeContext::new();
    reconcile::reconcile_one(ui, loc, &probe, Trigger::SessionLogs);
    if let Some(mut log) = Log::open(&path, &rotated, args.tail)? {
        log.print_new(ui)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Print the log (its last `tail` lines) and then every new byte, until the
/// session has ended; exit with its exit code. A rotation is followed into
/// the new log.
fn follow(
    ui: &Ui,
    loc: &SessionLocation,
    path: &Path,
    rotated: &Path,
    tail: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let mut watch = EndWatch::new(Trigger::SessionLogs);
    watch.add(loc, &[path.to_path_buf()]);
    // `--tail` applies to what the log holds now; a log that appears later is
    // new output, printed from its start.
    let mut log = Log::open(path, rotated, tail)?;
    let mut contents_watched = false;
    loop {
        // Look at the ending first: once it has ended, the log is complete.
        let ending = watch.check(loc)?;
        if log.is_none() {
            log = Log::open(path, rotated, None)?;
        }
        if let Some(log) = &mut log {
            if !contents_watched {
                // A log that links elsewhere: its folder's events miss its writes.
                watch.watch_contents(path);
                contents_watched = true;
            }
            let progress = log.print_new(ui)?;
            if progress.stopped {
                return Ok(ExitCode::SUCCESS);
            }
            if progress.moved {
                // A new log after a rotation: its writes, not the old one's.
                watch.watch_contents(path);
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

/// An open log (rotations followed) printed as raw bytes.
#[derive(Debug)]
struct Log {
    cursor: LogCursor,
    path: PathBuf,
}

impl Log {
    /// The log at `path`, positioned at its last `tail` lines (taking from
    /// `rotated` what it lacks) or at its start; `None` when there is no log
    /// yet. Anything but a regular file is an error.
    fn open(path: &Path, rotated: &Path, tail: Option<usize>) -> anyhow::Result<Option<Log>> {
        let cursor = LogCursor::open(path, rotated, tail)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(cursor.map(|cursor| Log {
            cursor,
            path: path.to_path_buf(),
        }))
    }

    /// Copy every byte not printed yet to stdout (`stopped` when stdout was
    /// closed by its reader).
    fn print_new(&mut self, ui: &Ui) -> anyhow::Result<Progress> {
        let mut failed = None;
        let progress = self
            .cursor
            .read_new(&mut |bytes: &[u8]| match ui.stdout_raw(bytes) {
                Ok(open) => Ok(open),
                Err(err) => {
                    failed = Some(err);
                    Ok(false)
                }
            });
        if let Some(err) = failed {
            return Err(err);
        }
        progress.with_context(|| format!("cannot read {}", self.path.display()))
    }
}
