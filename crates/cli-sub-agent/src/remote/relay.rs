//! One command on one host: the local csa's command line is sent as it is
//! (less `--host` and `--remote-csa`, plus the project's `--cd`), the
//! remote csa's stdout is passed through byte for byte as it comes (so
//! `wait` and `logs --follow` stream over the one connection), its stderr
//! line by line, and its exit code becomes ours.
//!
//! The remote side ends with its stdin: ssh's stdin is a pipe that this
//! process holds open and never writes, so when this process ends (Ctrl-C,
//! a kill) the pipe closes, ssh passes the end of input on, and the remote
//! csa ([`end_with_stdin`]) exits.

use std::ffi::OsString;
use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{ExitCode, Stdio};

use anyhow::Context as _;

use csa_remote::handshake::{MISMATCH_MARK, refusal, remote_words, says_not_found};
use csa_remote::{HostTarget, Transport};

use crate::ui::Ui;

/// The exit code when ssh itself was ended by a signal.
pub const SIGNALLED: u8 = 130;

/// Run `command` on `target`, relaying its output; its exit code.
pub fn relay(
    transport: &Transport,
    target: &HostTarget,
    command: &[String],
    ui: &Ui,
) -> anyhow::Result<ExitCode> {
    tracing::info!(
        host = target.as_typed(),
        ?command,
        "running on another host"
    );
    let mut child = transport
        .command(target, &remote_words(command))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start ssh to reach {target} (is OpenSSH installed?)"))?;
    // Held open, never written: the remote csa ends when it is closed.
    let stdin = child.stdin.take();
    let (mut stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
        (Some(stdout), Some(stderr)) => (stdout, stderr),
        _ => anyhow::bail!("ssh to {target} started without its pipes"),
    };
    let remote_csa = transport.remote_csa();
    let (held, printed) = std::thread::scope(|threads| {
        let errors = threads.spawn(|| relay_stderr(stderr, remote_csa, ui));
        let printed = relay_stdout(&mut stdout, ui);
        if !matches!(printed, Ok(Printed::All(_))) {
            // Our reader is gone (or stdout failed): stop the remote side.
            drop(stdin);
            let _ = child.kill();
        }
        let held = errors
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (held, printed)
    });
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for ssh to {target}"))?;
    let printed_any = match printed? {
        Printed::All(any) => any,
        Printed::ReaderGone => return Ok(ExitCode::SUCCESS),
    };
    let code = status.code();
    let refused = match code {
        Some(255) if printed_any => None,
        _ => refusal(target, remote_csa, code, &held),
    };
    if let Some(refused) = refused {
        // The lines that said it are replaced by one that names the host.
        return Err(refused.into());
    }
    ui.stderr(&held);
    Ok(match code {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::from(SIGNALLED),
    })
}

enum Printed {
    /// Everything was passed on; whether there was anything.
    All(bool),
    /// Our stdout is a closed pipe.
    ReaderGone,
}

/// Pass the remote stdout on as it comes.
fn relay_stdout(stdout: &mut impl Read, ui: &Ui) -> anyhow::Result<Printed> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut any = false;
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => return Ok(Printed::All(any)),
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(anyhow::Error::new(err).context("cannot read from ssh")),
        };
        any = true;
        if !ui.stdout_raw(&buf[..n])? {
            return Ok(Printed::ReaderGone);
        }
    }
}

/// Pass the remote stderr on line by line (escaped), except the lines that
/// say the remote csa could not run: those are returned, for [`refusal`].
pub fn relay_stderr(stderr: impl Read, remote_csa: &str, ui: &Ui) -> String {
    let mut held = String::new();
    for line in std::io::BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(MISMATCH_MARK) || says_not_found(&line, remote_csa) {
            held.push_str(&line);
            held.push('\n');
        } else {
            ui.stderr(&format!("{line}\n"));
        }
    }
    held
}

/// The remote csa's side: end this process when stdin reaches its end (the
/// local csa, or its ssh, is gone), whatever the command is doing.
pub fn end_with_stdin() {
    std::thread::spawn(|| {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        tracing::info!("the caller's connection closed; ending");
        std::process::exit(i32::from(SIGNALLED));
    });
}

/// The command line to send: this process's arguments (after the program
/// name) less `--host` and `--remote-csa`, with `--cd PROJECT` added when
/// `project` is given (the command takes one and none was typed). `tail`:
/// how many trailing arguments are the session's command (after `--`),
/// sent as they are.
pub fn command_words(
    args: &[OsString],
    tail: usize,
    project: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    let text = |arg: &OsString| {
        arg.to_str().map(str::to_owned).with_context(|| {
            format!("argument {arg:?} is not UTF-8 and cannot be sent to another host")
        })
    };
    let head_len = args.len().saturating_sub(tail);
    let (head, rest) = args.split_at(head_len);
    let mut words = Vec::with_capacity(args.len() + 2);
    let mut iter = head.iter();
    let mut has_cd = false;
    while let Some(arg) = iter.next() {
        let word = text(arg)?;
        match word.as_str() {
            "--host" | "--remote-csa" => {
                iter.next();
                continue;
            }
            w if w.starts_with("--host=") || w.starts_with("--remote-csa=") => continue,
            w if w == "--cd" || w.starts_with("--cd=") => has_cd = true,
            _ => {}
        }
        words.push(word);
    }
    // A session's command follows `--`: the project goes before it.
    let at = if tail > 0 && words.last().is_some_and(|w| w == "--") {
        words.len() - 1
    } else {
        words.len()
    };
    if let (Some(project), false) = (project, has_cd) {
        let project = project.to_str().with_context(|| {
            format!(
                "project path {} is not UTF-8 and cannot be sent to another host",
                project.display()
            )
        })?;
        words.splice(at..at, ["--cd".to_owned(), project.to_owned()]);
    }
    for arg in rest {
        words.push(text(arg)?);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str], tail: usize, project: Option<&str>) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        command_words(&args, tail, project.map(Path::new)).unwrap()
    }

    #[test]
    fn host_flags_go_and_the_project_comes_before_the_command() {
        assert_eq!(
            words(
                &[
                    "--host",
                    "a",
                    "session",
                    "list",
                    "--host=b",
                    "--remote-csa",
                    "x"
                ],
                0,
                Some("/p")
            ),
            ["session", "list", "--cd", "/p"]
        );
        assert_eq!(
            words(
                &["run", "--tool", "t", "--", "echo", "--host", "h", "--"],
                4,
                Some("/p")
            ),
            [
                "run", "--tool", "t", "--cd", "/p", "--", "echo", "--host", "h", "--"
            ]
        );
        assert_eq!(
            words(&["session", "show", "--cd", "/there", "X"], 0, Some("/p")),
            ["session", "show", "--cd", "/there", "X"]
        );
        assert_eq!(words(&["-v", "version"], 0, None), ["-v", "version"]);
    }
}
