//! `csa session wait` against hosts: each host's csa runs `wait --json`,
//! which prints one `EndRow` per line as each session ends; the lines are
//! read as they come over the one connection (no polling over ssh) and
//! drawn here as a local `wait` draws them. With several hosts (`--all`),
//! every host is waited for at once, each line led by its host; a host
//! that fails is one warning line naming it, and the exit code is 1.

use std::io::{BufRead, BufReader};
use std::process::{ExitCode, Stdio};

use csa_remote::handshake::{refusal, remote_words};
use csa_remote::{HostError, HostTarget, Transport};
use csa_session::EndRow;

use super::Hosts;
use crate::cli::WaitArgs;
use crate::commands::wait::{TIMEOUT_EXIT, end_line};
use crate::ui::Ui;

pub fn wait(hosts: &Hosts<'_>, args: &WaitArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let words = remote_words(&hosts.json_words());
    let several = hosts.targets.len() > 1;
    let json = args.json;
    let codes: Vec<Result<u8, HostError>> = std::thread::scope(|threads| {
        let waits: Vec<_> = hosts
            .targets
            .iter()
            .map(|target| {
                let words = &words;
                threads.spawn(move || {
                    let lead = several.then(|| target.as_typed());
                    wait_on(hosts.transport, target, words, lead, json, ui)
                })
            })
            .collect();
        waits
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(codes.len());
    for code in codes {
        match code {
            Ok(code) => all.push(code),
            Err(err) => {
                ui.warning(&err.to_string());
                all.push(1);
            }
        }
    }
    Ok(ExitCode::from(match all.as_slice() {
        [one] => *one,
        all if all.iter().all(|code| *code == 0) => 0,
        all if all.contains(&TIMEOUT_EXIT) => TIMEOUT_EXIT,
        _ => 1,
    }))
}

/// Wait on one host, drawing each end as it comes (led by `lead`, with
/// several hosts); that host's `wait` exit code.
fn wait_on(
    transport: &Transport,
    target: &HostTarget,
    words: &[String],
    lead: Option<&str>,
    json: bool,
    ui: &Ui,
) -> Result<u8, HostError> {
    let host = || target.as_typed().to_owned();
    let mut child = transport
        .command(target, words)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HostError::Spawn {
            host: host(),
            source,
        })?;
    // Held open, never written: the remote wait ends when it is closed.
    let stdin = child.stdin.take();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(HostError::Read {
            host: host(),
            source: std::io::Error::other("ssh started without its pipes"),
        });
    };
    // Passed on line by line as it comes (a remote `-v` shows what that
    // wait waits for as soon as it knows), but for the lines that say the
    // remote csa could not run: those become one error naming the host.
    let remote_csa = transport.remote_csa();
    let said = std::thread::scope(|threads| {
        let said = threads.spawn(|| super::relay::relay_stderr(stderr, remote_csa, ui));
        let drawn = draw_ends(stdout, lead, json, ui, &host);
        if drawn.is_err() {
            // An unreadable answer: stop the remote side.
            drop(stdin);
            let _ = child.kill();
        }
        let said = said
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        drawn.map(|()| said)
    })?;
    let status = child.wait().map_err(|source| HostError::Read {
        host: host(),
        source,
    })?;
    if let Some(refused) = refusal(target, remote_csa, status.code(), &said) {
        return Err(refused);
    }
    ui.stderr(&said);
    Ok(match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => super::relay::SIGNALLED,
    })
}

/// Draw each `EndRow` line of a host's `wait --json` as it comes.
fn draw_ends(
    stdout: impl std::io::Read,
    lead: Option<&str>,
    json: bool,
    ui: &Ui,
    host: &dyn Fn() -> String,
) -> Result<(), HostError> {
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|source| HostError::Read {
            host: host(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let row: EndRow = serde_json::from_str(&line).map_err(|err| HostError::Unreadable {
            host: host(),
            what: "a session's end",
            reason: err.to_string(),
        })?;
        let drawn = match json {
            true => format!("{}\n", with_host(&line, lead)),
            false => end_line(&row),
        };
        let drawn = match (json, lead) {
            (false, Some(lead)) => format!("{}  {drawn}", crate::term::escape(lead)),
            _ => drawn,
        };
        // A closed stdout ends the wait here; the remote side ends with its stdin.
        let _ = ui.stdout(&drawn);
    }
    Ok(())
}

/// A `wait --json` line with `"host"` first, when there are several hosts.
fn with_host(line: &str, lead: Option<&str>) -> String {
    let Some(host) = lead else {
        return line.to_owned();
    };
    let host = serde_json::Value::from(host).to_string();
    match line.trim_start().strip_prefix('{') {
        Some(rest) => format!("{{\"host\":{host},{rest}"),
        None => line.to_owned(),
    }
}
