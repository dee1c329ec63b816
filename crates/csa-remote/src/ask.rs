//! Asking hosts: run one csa command on a host and collect what it
//! answered ([`Transport::ask`]), or on several hosts at once, one ssh each
//! on its own thread ([`ask_each`]), so that a fan-out takes about as long
//! as its slowest host.

use std::process::Stdio;

use crate::handshake::{HostError, refusal, remote_words};
use crate::{HostTarget, Transport};

/// What the csa on a host answered: its stdout, its stderr and its exit
/// code (`None`: ssh was ended by a signal).
#[derive(Debug)]
pub struct Answer {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Answer {
    /// The last non-empty line the remote csa wrote on stderr, less its `csa: ` lead.
    pub fn last_said(&self) -> Option<&str> {
        self.stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(|line| {
                let line = line.strip_prefix("csa: ").unwrap_or(line);
                line.strip_prefix("error: ").unwrap_or(line)
            })
    }
}

impl Transport {
    /// Run the csa command `command` on `target` and wait for all of its
    /// answer. Its stdin stays open until then: the remote csa ends when
    /// it closes (this process ending ends the command there).
    pub fn ask<S: AsRef<str>>(
        &self,
        target: &HostTarget,
        command: &[S],
    ) -> Result<Answer, HostError> {
        let host = || target.as_typed().to_owned();
        tracing::debug!(host = target.as_typed(), "asking another host");
        let mut child = self
            .command(target, &remote_words(command))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| HostError::Spawn {
                host: host(),
                source,
            })?;
        let _stdin = child.stdin.take();
        let out = child.wait_with_output().map_err(|source| HostError::Read {
            host: host(),
            source,
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();
        if let Some(refused) = refusal(target, self.remote_csa(), code, &stderr) {
            return Err(refused);
        }
        Ok(Answer {
            stdout: out.stdout,
            stderr,
            code,
        })
    }
}

/// [`Transport::ask`] every host of `targets` at once (one thread each);
/// the answers in the order of `targets`.
pub fn ask_each<S: AsRef<str> + Sync>(
    transport: &Transport,
    targets: &[HostTarget],
    command: &[S],
) -> Vec<Result<Answer, HostError>> {
    std::thread::scope(|threads| {
        let asked: Vec<_> = targets
            .iter()
            .map(|target| threads.spawn(move || transport.ask(target, command)))
            .collect();
        asked
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}
