//! Commands against other machines (contract §11): `--host TARGET` runs the
//! same command through the system's OpenSSH client on that host, the
//! remote csa's `--json` being the wire format. No SSH library, no daemon,
//! no port: users' ssh configs, agents, ProxyJump and keys work as they do
//! for ssh itself.
//!
//! [`target`] checks what the user typed, [`quote`] makes every word literal
//! for the remote shell, [`ssh`] builds the invocation (shared connections
//! included), [`relay`] runs a command there and passes its output and exit
//! code through, [`fleet`] asks several hosts for their sessions at once.

pub mod quote;
pub mod relay;
pub mod ssh;
pub mod target;

pub use ssh::Transport;
pub use target::HostTarget;

/// The version of what local and remote csa exchange: the command line
/// they pass and the `--json` forms they answer with. Raised when one of
/// them changes so that an older peer would misread it.
pub const PROTOCOL: u32 = 1;

/// The hidden flag a local csa gives the remote one: the protocol it
/// speaks. It also makes the remote csa end when its stdin (the ssh
/// channel) is closed, so that Ctrl-C here ends the command there.
pub const PROTOCOL_FLAG: &str = "--remote-protocol";

/// What a remote csa prints (alone on a stderr line) when the caller speaks
/// another protocol; followed by its own protocol number.
pub const MISMATCH_MARK: &str = "csa-protocol-mismatch: ";

/// Split off the protocol flag a local csa puts first on the remote csa's
/// command line (`csa --remote-protocol N ...`): the other arguments, and
/// N when it is there (`Some(None)`: there but not a number).
pub fn take_protocol(
    mut args: Vec<std::ffi::OsString>,
) -> (Vec<std::ffi::OsString>, Option<Option<u32>>) {
    if args.get(1).is_none_or(|flag| flag != PROTOCOL_FLAG) {
        return (args, None);
    }
    let theirs = args.get(2).and_then(|n| n.to_str()?.parse().ok());
    args.drain(1..args.len().min(3));
    (args, Some(theirs))
}

/// The words a remote csa is started with: the protocol flag, then the command.
pub fn remote_words(command: &[String]) -> Vec<String> {
    let mut words = vec![PROTOCOL_FLAG.to_owned(), PROTOCOL.to_string()];
    words.extend_from_slice(command);
    words
}

/// Why a remote command did not run, from ssh's exit code and the stderr
/// it collected: `None` when the remote csa ran (whatever it answered).
pub fn failure(
    target: &HostTarget,
    remote_csa: &str,
    code: Option<i32>,
    stderr: &str,
) -> Option<String> {
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    if let Some(theirs) = stderr.lines().find_map(|l| l.strip_prefix(MISMATCH_MARK)) {
        return Some(format!(
            "the csa on {target} speaks protocol {}, this csa speaks protocol {PROTOCOL}: install the same csa version on both machines (or name another binary there with --remote-csa)",
            theirs.trim()
        ));
    }
    match code {
        Some(127) if stderr.lines().any(|l| is_not_found(l, remote_csa)) => Some(format!(
            "no csa on {target} (`{remote_csa}` was not found there): install csa on that host, or name its path with --remote-csa PATH (CSA_REMOTE_CSA)"
        )),
        Some(2) if stderr.contains(PROTOCOL_FLAG) => Some(format!(
            "the csa on {target} is too old to be driven from here (it knows no protocol): install the same csa version on both machines"
        )),
        Some(255) => Some(format!(
            "cannot reach {target} over ssh: {}",
            if last.is_empty() {
                "ssh exited 255"
            } else {
                last.trim()
            }
        )),
        _ => None,
    }
}

/// A remote shell's line saying that the csa binary does not exist.
fn is_not_found(line: &str, remote_csa: &str) -> bool {
    let name = remote_csa.rsplit('/').next().unwrap_or(remote_csa);
    line.contains(name) && (line.contains("not found") || line.contains("No such file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_flag_is_taken_only_where_a_local_csa_puts_it() {
        let args = |words: &[&str]| {
            words
                .iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        let (rest, theirs) = take_protocol(args(&["csa", "--remote-protocol", "1", "version"]));
        assert_eq!((rest, theirs), (args(&["csa", "version"]), Some(Some(1))));
        let (rest, theirs) = take_protocol(args(&["csa", "--remote-protocol", "x"]));
        assert_eq!((rest, theirs), (args(&["csa"]), Some(None)));
        let typed = args(&["csa", "run", "--", "x", "--remote-protocol", "1"]);
        assert_eq!(take_protocol(typed.clone()), (typed, None));
    }

    #[test]
    fn failures_name_the_host_and_the_fix() {
        let target = HostTarget::parse("ssh://gpu").unwrap();
        let said = |code, stderr: &str| failure(&target, "csa", Some(code), stderr);
        let missing = said(127, "sh: 1: exec: csa: not found\n").unwrap();
        assert!(
            missing.contains("ssh://gpu") && missing.contains("--remote-csa"),
            "{missing}"
        );
        let old = said(2, "error: unexpected argument '--remote-protocol' found\n").unwrap();
        assert!(old.contains("too old"), "{old}");
        let mismatch = said(1, "csa-protocol-mismatch: 7\n").unwrap();
        assert!(
            mismatch.contains("protocol 7") && mismatch.contains("ssh://gpu"),
            "{mismatch}"
        );
        let unreachable = said(
            255,
            "ssh: connect to host gpu port 22: Connection refused\n",
        )
        .unwrap();
        assert!(unreachable.ends_with("Connection refused"), "{unreachable}");
        // A session's command may exit 127 or 2: that is an answer, not a failure.
        assert_eq!(said(127, "bash: foo: command not found\n"), None);
        assert_eq!(said(2, "csa: error: no session abc\n"), None);
        assert_eq!(said(1, "csa: error: no session abc\n"), None);
    }
}
