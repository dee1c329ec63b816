//! A host target as the user typed it (`--host`, `CSA_HOST`):
//! `ssh://[user@]host[:port]` or an ssh config alias. Checked before ssh
//! runs, so that no target can reach ssh as an option
//! (`-oProxyCommand=...`) or carry whitespace or control characters.

use std::fmt;

/// A checked host target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    /// The target as typed: what the HOST column and messages show.
    typed: String,
    /// The host name or alias given to ssh (after `--`).
    host: String,
    user: Option<String>,
    port: Option<u16>,
}

/// Why a host target was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("host target is empty: give ssh://[user@]host[:port] or an ssh config alias")]
    Empty,
    #[error(
        "host target {0:?} starts with '-': a host cannot be an ssh option; give ssh://[user@]host[:port] or an ssh config alias"
    )]
    Option(String),
    #[error(
        "host target {0:?} holds whitespace or a control character; give ssh://[user@]host[:port] or an ssh config alias"
    )]
    Unprintable(String),
    #[error("host target {0:?} has no host after ssh://")]
    NoHost(String),
    #[error("host target {0:?} has a bad port: give a number from 1 to 65535")]
    Port(String),
    #[error("host target {0:?} has a path, query or password: give ssh://[user@]host[:port]")]
    Extra(String),
}

impl HostTarget {
    /// Check `typed` and split it into what ssh is given.
    pub fn parse(typed: &str) -> Result<HostTarget, TargetError> {
        let refuse = |make: fn(String) -> TargetError| Err(make(typed.to_owned()));
        if typed.is_empty() {
            return Err(TargetError::Empty);
        }
        if typed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse(TargetError::Unprintable);
        }
        if typed.starts_with('-') {
            return refuse(TargetError::Option);
        }
        let Some(rest) = typed.strip_prefix("ssh://") else {
            return Ok(HostTarget {
                typed: typed.to_owned(),
                host: typed.to_owned(),
                user: None,
                port: None,
            });
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return refuse(TargetError::Extra);
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, rest),
        };
        if user.is_some_and(|u| u.is_empty() || u.contains(':') || u.starts_with('-')) {
            return refuse(TargetError::Extra);
        }
        let (host, port) = split_port(hostport).ok_or_else(|| TargetError::Port(typed.into()))?;
        if host.is_empty() {
            return refuse(TargetError::NoHost);
        }
        if host.starts_with('-') {
            return refuse(TargetError::Option);
        }
        Ok(HostTarget {
            typed: typed.to_owned(),
            host: host.to_owned(),
            user: user.map(str::to_owned),
            port,
        })
    }

    /// The target as typed.
    pub fn as_typed(&self) -> &str {
        &self.typed
    }

    /// The host name or alias ssh connects to.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for HostTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.typed)
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; `None` for a bad port.
fn split_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let port = |text: &str| text.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(port(after.strip_prefix(':')?)?))),
        };
    }
    match hostport.split_once(':') {
        None => Some((hostport, None)),
        Some((host, text)) => Some((host, Some(port(text)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(typed: &str) -> (String, Option<String>, Option<u16>) {
        let t = HostTarget::parse(typed).unwrap();
        (t.host().into(), t.user().map(Into::into), t.port())
    }

    #[test]
    fn aliases_and_urls_split_into_what_ssh_is_given() {
        assert_eq!(parts("gpu-box"), ("gpu-box".into(), None, None));
        assert_eq!(parts("ssh://gpu"), ("gpu".into(), None, None));
        assert_eq!(
            parts("ssh://ann@gpu.lan:2222"),
            ("gpu.lan".into(), Some("ann".into()), Some(2222))
        );
        assert_eq!(parts("ssh://[::1]:22/"), ("::1".into(), None, Some(22)));
        assert_eq!(
            HostTarget::parse("ssh://a@b").unwrap().as_typed(),
            "ssh://a@b"
        );
    }

    #[test]
    fn hostile_targets_are_refused_before_ssh_runs() {
        let refused = [
            ("-oProxyCommand=touch /tmp/pwned", "Unprintable"),
            ("-oProxyCommand=id", "Option"),
            ("ssh://-oProxyCommand=id", "Option"),
            ("ssh://-l@host", "Extra"),
            ("host name", "Unprintable"),
            ("host\nname", "Unprintable"),
            ("host\tx", "Unprintable"),
            ("", "Empty"),
            ("ssh://", "NoHost"),
            ("ssh://h:0", "Port"),
            ("ssh://h:99999", "Port"),
            ("ssh://h:port", "Port"),
            ("ssh://h/path", "Extra"),
            ("ssh://a:secret@h", "Extra"),
        ];
        for (typed, kind) in refused {
            let err = HostTarget::parse(typed).unwrap_err();
            assert!(format!("{err:?}").starts_with(kind), "{typed:?}: {err:?}");
        }
    }
}
