//! Test harness for csa-process's integration tests (not a user tool).
//!
//! Each mode runs one piece of the library in a process of its own, because
//! signal handlers, the subreaper flag and closing inherited descriptors
//! change the whole process. Results are printed as lines on stdout.
//!
//! - `supervise [--timeout-ms N] [--grace-ms N] [--cleanup-grace-ms N]
//!   [--session-id ID] [--log PATH] -- CMD...` (`max` for N: the longest
//!   duration there is): subreaper + Supervisor; prints
//!   `spawned <pid>`, `ending <exit code> <stop>`, `cleanup <pids> <survivors>`,
//!   then waits for stdin to close.
//! - `daemon --session-dir DIR --session-id ID --pidfile PATH [--no-record]`:
//!   a fake csa daemon of session ID (its argv[1] is `daemon`); creates DIR
//!   and, unless `--no-record` (a spoof), writes `DIR/daemon.pid` naming
//!   itself, as a real daemon does; then starts `sleep 300` and writes
//!   `<own pid> <child pid>` to PATH.
//! - `ready --ready-fd N [--report-fds]`: claims the readiness pipe and
//!   reports `started <own pid> <ticks>`, or with `--report-fds` a `failed`
//!   line listing its open descriptors and session; then sleeps.
//! - `fd-eof [--no-close]`: passes an inheritable pipe to `hold-fds` and
//!   prints `eof` or `timeout` depending on whether its read end sees EOF.
//! - `hold-fds [--close]`: optionally closes inherited descriptors, then sleeps.

#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match unix::run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("csa-process-harness: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("csa-process-harness runs on Unix only");
}

#[cfg(unix)]
mod unix {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::time::Duration;

    use csa_process::supervise::{Spare, spare_nothing};
    use csa_process::{
        CommandSpec, RunOptions, StopCause, Supervisor, become_subreaper, spare_other_sessions,
        spawn_command,
    };

    type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
        let own = args.iter().take_while(|a| *a != "--");
        let mut iter = own.skip_while(|a| *a != name);
        iter.next()?;
        iter.next().map(String::as_str)
    }

    fn flag(args: &[String], name: &str) -> bool {
        args.iter().take_while(|a| *a != "--").any(|a| a == name)
    }

    /// A number of milliseconds, or `max` for the longest duration there is.
    fn millis(args: &[String], name: &str, default: u64) -> Result<Duration> {
        Ok(match opt(args, name) {
            Some("max") => Duration::MAX,
            Some(v) => Duration::from_millis(v.parse()?),
            None => Duration::from_millis(default),
        })
    }

    fn say(line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn forever() -> ! {
        loop {
            std::thread::sleep(Duration::from_secs(300));
        }
    }

    pub fn run(args: &[String]) -> Result<()> {
        let rest = args.get(1..).unwrap_or_default();
        match args.first().map(String::as_str) {
            Some("supervise") => supervise(rest),
            Some("daemon") => fake_daemon(rest),
            Some("ready") => ready(rest),
            Some("fd-eof") => fd_eof(rest),
            Some("hold-fds") => hold_fds(rest),
            other => Err(format!("unknown mode {other:?}").into()),
        }
    }

    fn supervise(args: &[String]) -> Result<()> {
        let cmd: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
        let (program, cmd_args) = cmd.split_first().ok_or("no command after --")?;
        let log = match opt(args, "--log") {
            Some(path) => {
                fs_err::File::options()
                    .create(true)
                    .append(true)
                    .open(path)?
                    .into_parts()
                    .0
            }
            None => {
                fs_err::File::options()
                    .write(true)
                    .open("/dev/null")?
                    .into_parts()
                    .0
            }
        };
        become_subreaper()?;
        let mut supervisor = Supervisor::new()?;
        let spec = CommandSpec {
            program: (*program).into(),
            args: cmd_args.iter().map(|a| a.into()).collect(),
            cwd: std::env::current_dir()?,
            env: vec![],
            stdout: log.try_clone()?,
            stderr: log,
        };
        let spawned = spawn_command(spec)?;
        say(&format!("spawned {}", spawned.pid));
        let options = RunOptions {
            timeout: opt(args, "--timeout-ms")
                .map(|_| millis(args, "--timeout-ms", 0))
                .transpose()?,
            grace: millis(args, "--grace-ms", 5000)?,
            requested_grace: None,
        };
        let own_id = opt(args, "--session-id").map(str::to_owned);
        let spare_others = own_id.as_deref().map(spare_other_sessions);
        let spare: &Spare<'_> = match &spare_others {
            Some(spare) => spare,
            None => &spare_nothing,
        };
        let ending = supervisor.run(&spawned, &options, spare)?;
        let stop = match ending.stop {
            None => "none",
            Some(StopCause::Requested) => "requested",
            Some(StopCause::Timeout) => "timeout",
        };
        say(&format!("ending {} {stop}", ending.exit_code()));
        let cleanup =
            supervisor.terminate_descendants(millis(args, "--cleanup-grace-ms", 2000)?, spare)?;
        let pids: Vec<String> = cleanup
            .signalled
            .iter()
            .map(|p| p.pid.to_string())
            .collect();
        say(&format!(
            "cleanup {} {}",
            if pids.is_empty() {
                "-".to_owned()
            } else {
                pids.join(",")
            },
            cleanup.survivors.len()
        ));
        // Stay alive (and keep the subreaper's children reaped or not) until
        // the test closes stdin.
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        Ok(())
    }

    fn fake_daemon(args: &[String]) -> Result<()> {
        let pidfile = opt(args, "--pidfile").ok_or("--pidfile is required")?;
        let dir = opt(args, "--session-dir").ok_or("--session-dir is required")?;
        fs_err::create_dir_all(dir)?;
        if !flag(args, "--no-record") {
            let me = std::process::id();
            let ticks = csa_process::facts::start_time_ticks(me).ok_or("no start time")?;
            fs_err::write(
                std::path::Path::new(dir).join("daemon.pid"),
                format!("{me} {ticks}\n"),
            )?;
        }
        let mut child = std::process::Command::new("sleep").arg("300").spawn()?;
        let tmp = format!("{pidfile}.tmp");
        fs_err::write(&tmp, format!("{} {}\n", std::process::id(), child.id()))?;
        fs_err::rename(&tmp, pidfile)?;
        child.wait()?;
        Ok(())
    }

    fn ready(args: &[String]) -> Result<()> {
        let fd: i32 = opt(args, "--ready-fd")
            .ok_or("--ready-fd is required")?
            .parse()?;
        // SAFETY: the readiness pipe was passed at this number and nothing in
        // this process has claimed it.
        let writer = unsafe { csa_process::ReadyWriter::from_inherited_fd(fd)? };
        if flag(args, "--report-fds") {
            let names: Vec<String> = fs_err::read_dir("/proc/self/fd")?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            // The listing's own descriptor is closed by now: keep open ones.
            let open: Vec<String> = names
                .into_iter()
                .filter(|n| fs_err::read_link(format!("/proc/self/fd/{n}")).is_ok())
                .collect();
            let stat = fs_err::read_to_string("/proc/self/stat")?;
            let fields = csa_process::facts::parse_proc_stat(&stat)?;
            let null = ["0", "1", "2"].iter().all(|n| {
                fs_err::read_link(format!("/proc/self/fd/{n}"))
                    .is_ok_and(|p| p.as_os_str() == "/dev/null")
            });
            writer.failed(&format!(
                "fds={} sid={} pgid={} null={null}",
                open.join(","),
                fields.sid,
                fields.pgid
            ))?;
        } else {
            let me = std::process::id();
            let ticks = csa_process::facts::start_time_ticks(me).ok_or("no start time")?;
            writer.started(me, ticks)?;
        }
        forever()
    }

    fn fd_eof(args: &[String]) -> Result<()> {
        // Both ends inheritable, as a careless caller of `csa run` leaves them.
        let (read, write) = rustix::pipe::pipe()?;
        let exe = std::env::current_exe()?;
        let mut holder = std::process::Command::new(exe);
        holder.arg("hold-fds");
        if !flag(args, "--no-close") {
            holder.arg("--close");
        }
        let mut child = holder.stdout(std::process::Stdio::piped()).spawn()?;
        drop(write);
        // Wait until the holder has done its work.
        let mut line = String::new();
        if let Some(out) = child.stdout.as_mut() {
            let mut byte = [0u8; 1];
            while out.read(&mut byte)? == 1 && byte[0] != b'\n' {
                line.push(char::from(byte[0]));
            }
        }
        let mut fds = [rustix::event::PollFd::new(
            &read,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec::try_from(Duration::from_secs(2))?;
        let ready = rustix::event::poll(&mut fds, Some(&timeout))?;
        let mut buf = [0u8; 1];
        let eof = ready == 1 && rustix::io::read(read.as_fd(), &mut buf)? == 0;
        let _ = child.kill();
        let _ = child.wait();
        say(if eof { "eof" } else { "timeout" });
        Ok(())
    }

    fn hold_fds(args: &[String]) -> Result<()> {
        if flag(args, "--close") {
            // SAFETY: nothing in this process owns a descriptor >= 3 yet.
            unsafe { csa_process::launch::close_inherited_fds(&[])? };
        }
        say("holding");
        forever()
    }
}
