//! What a local and a remote csa agree on, and why a host did not answer.
//!
//! The local csa starts the remote one as `csa --remote-protocol WORD
//! <command>`, WORD being the [`Versions`] it speaks and reads. A remote
//! csa that differs prints [`MISMATCH_MARK`] and its own WORD alone on a
//! stderr line and exits 1, before doing anything; the local one turns that
//! (or ssh's own failures: no route, no csa there) into one [`HostError`]
//! naming the host and the fix.

use std::ffi::OsString;

use csa_session::{ROW_VERSION, detail::DETAIL_VERSION, fleet::FLEET_JSON_VERSION};

use crate::HostTarget;

/// The version of what local and remote csa exchange: the command line
/// they pass and the streams they answer with (`wait --json`). Raised when
/// one of them changes so that an older peer would misread it.
pub const PROTOCOL: u32 = 1;

/// The hidden flag a local csa gives the remote one: the versions it
/// speaks. It also makes the remote csa end when its stdin (the ssh
/// channel) is closed, so that Ctrl-C here ends the command there.
pub const PROTOCOL_FLAG: &str = "--remote-protocol";

/// What a remote csa prints (alone on a stderr line) when the caller speaks
/// other versions; followed by its own.
pub const MISMATCH_MARK: &str = "csa-protocol-mismatch: ";

/// The versions a csa speaks and prints: the protocol, the session rows of
/// `list --json` (`csa_session::ROW_VERSION`), the details of `show
/// --json` (`csa_session::detail::DETAIL_VERSION`) and the rows of `top
/// --json` (`csa_session::fleet::FLEET_JSON_VERSION`). Written `P.R.D.F`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub protocol: u32,
    pub row: u32,
    pub detail: u32,
    pub fleet: u32,
}

impl Versions {
    /// This csa's.
    pub const OURS: Versions = Versions {
        protocol: PROTOCOL,
        row: ROW_VERSION,
        detail: DETAIL_VERSION,
        fleet: FLEET_JSON_VERSION,
    };

    /// `P.R.D.F`.
    pub fn word(self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.protocol, self.row, self.detail, self.fleet
        )
    }

    /// `P.R.D.F`; `None` for anything else.
    pub fn parse(word: &str) -> Option<Versions> {
        let mut parts = word.trim().split('.').map(|n| n.parse::<u32>().ok());
        let versions = Versions {
            protocol: parts.next()??,
            row: parts.next()??,
            detail: parts.next()??,
            fleet: parts.next()??,
        };
        parts.next().is_none().then_some(versions)
    }
}

/// Split off the protocol flag a local csa puts first on the remote csa's
/// command line (`csa --remote-protocol WORD ...`): the other arguments,
/// and the caller's versions when the flag is there (`Some(None)`: there
/// but not readable).
pub fn take_protocol(mut args: Vec<OsString>) -> (Vec<OsString>, Option<Option<Versions>>) {
    if args.get(1).is_none_or(|flag| flag != PROTOCOL_FLAG) {
        return (args, None);
    }
    let theirs = args.get(2).and_then(|word| Versions::parse(word.to_str()?));
    args.drain(1..args.len().min(3));
    (args, Some(theirs))
}

/// The words a remote csa is started with: the protocol flag, then the command.
pub fn remote_words<S: AsRef<str>>(command: &[S]) -> Vec<String> {
    let mut words = vec![PROTOCOL_FLAG.to_owned(), Versions::OURS.word()];
    words.extend(command.iter().map(|w| w.as_ref().to_owned()));
    words
}

/// Why a host gave no answer (each message names the host and what to do).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot start ssh to reach {host}: {source} (is OpenSSH installed?)")]
    Spawn {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot read the answer of {host}: {source}")]
    Read {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot reach {host} over ssh: {said}")]
    Unreachable { host: String, said: String },
    #[error(
        "no csa on {host} (`{remote_csa}` was not found there): install csa on that host, or name its path with --remote-csa PATH (CSA_REMOTE_CSA)"
    )]
    NoCsa { host: String, remote_csa: String },
    #[error(
        "the csa on {host} is too old to be driven from here (it knows no protocol): install the same csa version on both machines"
    )]
    TooOld { host: String },
    #[error("{}", mismatch(host, *theirs))]
    Mismatch {
        host: String,
        theirs: Option<Versions>,
    },
    #[error("the csa on {host} answered with {what} this csa cannot read ({reason})")]
    Unreadable {
        host: String,
        what: &'static str,
        reason: String,
    },
}

/// What differs between this csa and the one on `host`.
fn mismatch(host: &str, theirs: Option<Versions>) -> String {
    let ours = Versions::OURS;
    let what = match theirs {
        Some(v) if v.protocol != ours.protocol => format!(
            "speaks protocol {}, this csa speaks protocol {}",
            v.protocol, ours.protocol
        ),
        Some(v) if v.row != ours.row => format!(
            "prints session rows of version {}, this csa reads version {}",
            v.row, ours.row
        ),
        Some(v) if v.detail != ours.detail => format!(
            "prints session details of version {}, this csa reads version {}",
            v.detail, ours.detail
        ),
        Some(v) => format!(
            "prints top rows of version {}, this csa reads version {}",
            v.fleet, ours.fleet
        ),
        None => "speaks a protocol this csa does not know".to_owned(),
    };
    format!(
        "the csa on {host} {what}: install the same csa version on both machines (or name another binary there with --remote-csa)"
    )
}

/// Why the command on `target` did not run, from ssh's exit code and the
/// stderr it collected: `None` when the remote csa ran (whatever it said).
pub fn refusal(
    target: &HostTarget,
    remote_csa: &str,
    code: Option<i32>,
    stderr: &str,
) -> Option<HostError> {
    let host = target.as_typed().to_owned();
    if let Some(theirs) = stderr.lines().find_map(|l| l.strip_prefix(MISMATCH_MARK)) {
        let theirs = Versions::parse(theirs);
        return Some(HostError::Mismatch { host, theirs });
    }
    match code {
        Some(127) if stderr.lines().any(|l| says_not_found(l, remote_csa)) => {
            Some(HostError::NoCsa {
                host,
                remote_csa: remote_csa.to_owned(),
            })
        }
        Some(2) if stderr.contains(PROTOCOL_FLAG) => Some(HostError::TooOld { host }),
        Some(255) => {
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Some(HostError::Unreachable {
                host,
                said: last.map_or_else(|| "ssh exited 255".to_owned(), |l| l.trim().to_owned()),
            })
        }
        _ => None,
    }
}

/// Whether a remote shell's stderr `line` says the csa binary does not exist.
pub fn says_not_found(line: &str, remote_csa: &str) -> bool {
    let name = remote_csa.rsplit('/').next().unwrap_or(remote_csa);
    line.contains(name) && (line.contains("not found") || line.contains("No such file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(Into::into).collect()
    }

    #[test]
    fn the_protocol_flag_is_taken_only_where_a_local_csa_puts_it() {
        let ours = Versions::OURS.word();
        let (rest, theirs) = take_protocol(args(&["csa", "--remote-protocol", &ours, "version"]));
        assert_eq!(
            (rest, theirs),
            (args(&["csa", "version"]), Some(Some(Versions::OURS)))
        );
        let (rest, theirs) = take_protocol(args(&["csa", "--remote-protocol", "1"]));
        assert_eq!((rest, theirs), (args(&["csa"]), Some(None)));
        let typed = args(&["csa", "run", "--", "x", "--remote-protocol", &ours]);
        assert_eq!(take_protocol(typed.clone()), (typed, None));
    }

    #[test]
    fn versions_are_three_numbers() {
        let v = Versions {
            protocol: 1,
            row: 2,
            detail: 3,
            fleet: 4,
        };
        assert_eq!(v.word(), "1.2.3.4");
        assert_eq!(Versions::parse("1.2.3.4\n"), Some(v));
        for bad in ["1", "1.2", "1.2.3", "1.2.3.4.5", "1.x.3.4", ""] {
            assert_eq!(Versions::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn refusals_name_the_host_and_the_fix() {
        let target = HostTarget::parse("ssh://gpu").unwrap();
        let said = |code, stderr: &str| {
            refusal(&target, "csa", Some(code), stderr).map(|err| err.to_string())
        };
        let missing = said(127, "sh: 1: exec: csa: not found\n").unwrap();
        assert!(
            missing.contains("ssh://gpu") && missing.contains("--remote-csa"),
            "{missing}"
        );
        let old = said(2, "error: unexpected argument '--remote-protocol' found\n").unwrap();
        assert!(old.contains("too old"), "{old}");
        let ours = Versions::OURS;
        let mismatch = |v: Versions| said(1, &format!("{MISMATCH_MARK}{}\n", v.word())).unwrap();
        let protocol = mismatch(Versions {
            protocol: 7,
            ..ours
        });
        assert!(
            protocol.contains("protocol 7") && protocol.contains("ssh://gpu"),
            "{protocol}"
        );
        let rows = mismatch(Versions { row: 9, ..ours });
        assert!(
            rows.contains("session rows of version 9") && rows.contains("ssh://gpu"),
            "{rows}"
        );
        let details = mismatch(Versions { detail: 9, ..ours });
        assert!(details.contains("details of version 9"), "{details}");
        let top = mismatch(Versions { fleet: 9, ..ours });
        assert!(top.contains("top rows of version 9"), "{top}");
        let unknown = said(1, "csa-protocol-mismatch: 0\n").unwrap();
        assert!(unknown.contains("does not know"), "{unknown}");
        let unreachable = said(
            255,
            "ssh: connect to host gpu port 22: Connection refused\n",
        )
        .unwrap();
        assert!(unreachable.ends_with("Connection refused"), "{unreachable}");
        // A session's command may exit 127 or 2: that is an answer, not a refusal.
        assert_eq!(said(127, "bash: foo: command not found\n"), None);
        assert_eq!(said(2, "csa: error: no session abc\n"), None);
        assert_eq!(said(1, "csa: error: no session abc\n"), None);
    }
}
