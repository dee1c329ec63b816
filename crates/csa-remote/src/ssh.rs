//! The ssh invocation: the system OpenSSH client (or `CSA_SSH_COMMAND`),
//! in batch mode, reusing one connection per host (ControlMaster), running
//! the remote csa with every word quoted for the remote shell.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::HostTarget;
use crate::quote::command_line;

/// Replaces `ssh` (split into words, as git's `GIT_SSH_COMMAND`).
pub const SSH_COMMAND_ENV: &str = "CSA_SSH_COMMAND";
/// How long an idle shared connection stays open.
pub const CONTROL_PERSIST: &str = "60s";
/// The folder of shared connections' sockets, under the runtime or cache dir.
const CONTROL_DIR: &str = "ssh";

/// How csa reaches other hosts: the ssh program and its first words, the
/// remote csa, and where shared connections live.
#[derive(Debug, Clone)]
pub struct Transport {
    ssh: Vec<String>,
    remote_csa: String,
    control_dir: Option<PathBuf>,
}

impl Transport {
    /// From the environment (`CSA_SSH_COMMAND`, `XDG_RUNTIME_DIR`,
    /// `XDG_CACHE_HOME`, `HOME`) and `--remote-csa`.
    pub fn from_env(remote_csa: &str) -> Result<Transport, SplitError> {
        let ssh = match std::env::var(SSH_COMMAND_ENV) {
            Ok(text) if !text.trim().is_empty() => split_words(&text)?,
            _ => vec!["ssh".to_owned()],
        };
        Ok(Transport {
            ssh,
            remote_csa: remote_csa.to_owned(),
            control_dir: control_dir(),
        })
    }

    /// The remote csa as given.
    pub fn remote_csa(&self) -> &str {
        &self.remote_csa
    }

    /// `ssh -o BatchMode=yes [shared connection] [-p PORT] [-l USER] --
    /// HOST '<remote csa>' '<word>'...`.
    pub fn command<S: AsRef<str>>(&self, target: &HostTarget, words: &[S]) -> Command {
        let mut cmd = Command::new(&self.ssh[0]);
        cmd.args(&self.ssh[1..]);
        cmd.args(self.options(target));
        cmd.arg("--").arg(target.host());
        cmd.arg(command_line(&self.remote_csa, words));
        cmd
    }

    /// The options before `--`.
    fn options(&self, target: &HostTarget) -> Vec<OsString> {
        let mut options: Vec<OsString> = vec!["-o".into(), "BatchMode=yes".into()];
        if let Some(dir) = self.control_dir.as_ref().filter(|_| cfg!(unix)) {
            let mut path = OsString::from("ControlPath=");
            path.push(dir.join("%C"));
            for option in [
                OsString::from("ControlMaster=auto"),
                path,
                format!("ControlPersist={CONTROL_PERSIST}").into(),
            ] {
                options.push("-o".into());
                options.push(option);
            }
        }
        if let Some(port) = target.port() {
            options.push("-p".into());
            options.push(port.to_string().into());
        }
        if let Some(user) = target.user() {
            options.push("-l".into());
            options.push(user.into());
        }
        options
    }
}

/// The folder for shared connections' sockets (created 0700 on first use):
/// `$XDG_RUNTIME_DIR/cli-sub-agent/ssh`, else the cache dir's `ssh`. `None`
/// when neither can be made: then each command opens its own connection.
fn control_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let app = csa_session::consts::APP_DIR;
    let dir = match absolute("XDG_RUNTIME_DIR") {
        Some(runtime) => runtime.join(app).join(CONTROL_DIR),
        None => match absolute("XDG_CACHE_HOME") {
            Some(cache) => cache.join(app).join(CONTROL_DIR),
            None => absolute("HOME")?.join(".cache").join(app).join(CONTROL_DIR),
        },
    };
    make_private_dir(&dir)?;
    Some(dir)
}

/// Create the socket folder 0700, and make it 0700 if it was not: a
/// shared socket lets whoever can reach it run commands as us.
fn make_private_dir(dir: &std::path::Path) -> Option<()> {
    csa_session::durable::create_private_dir_all(dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs_err::metadata(dir).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).ok()?;
        }
    }
    Some(())
}

/// Why `CSA_SSH_COMMAND` could not be split into words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("CSA_SSH_COMMAND has an unclosed quote: {0:?}")]
pub struct SplitError(String);

/// Words as a shell splits them: whitespace between words, `'...'` taken
/// as it is, `"..."` and `\` escaping the next character. No expansion.
pub fn split_words(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(SplitError(text.to_owned())),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => current.push(c),
                            None => return Err(SplitError(text.to_owned())),
                        },
                        Some(c) => current.push(c),
                        None => return Err(SplitError(text.to_owned())),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(SplitError(text.to_owned())),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(ssh: &[&str]) -> Transport {
        Transport {
            ssh: ssh.iter().map(|w| (*w).to_owned()).collect(),
            remote_csa: "csa".into(),
            control_dir: Some(PathBuf::from("/run/user/1/cli-sub-agent/ssh")),
        }
    }

    fn argv(cmd: &Command) -> Vec<String> {
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_is_batch_mode_shared_and_ends_with_one_quoted_line() {
        let target = HostTarget::parse("ssh://ann@gpu:2222").unwrap();
        let cmd = transport(&["ssh", "-F", "/tmp/c"]).command(&target, &["session", "$(x)"]);
        let argv = argv(&cmd);
        let mut expected = vec!["ssh", "-F", "/tmp/c", "-o", "BatchMode=yes"];
        if cfg!(unix) {
            expected.extend([
                "-o",
                "ControlMaster=auto",
                "-o",
                "ControlPath=/run/user/1/cli-sub-agent/ssh/%C",
                "-o",
                "ControlPersist=60s",
            ]);
        }
        expected.extend(["-p", "2222", "-l", "ann", "--", "gpu"]);
        expected.push("'csa' 'session' '$(x)'");
        assert_eq!(argv, expected);
    }

    #[test]
    fn ssh_commands_split_as_a_shell_would_without_expanding() {
        let split = |t: &str| split_words(t).unwrap();
        assert_eq!(split("ssh -F /tmp/c"), ["ssh", "-F", "/tmp/c"]);
        assert_eq!(
            split("  ssh  '-F' \"a b\" c\\ d $HOME "),
            ["ssh", "-F", "a b", "c d", "$HOME"]
        );
        assert_eq!(split("ssh ''"), ["ssh", ""]);
        assert!(split_words("ssh 'open").is_err());
        assert!(split_words("ssh \"open").is_err());
    }
}
