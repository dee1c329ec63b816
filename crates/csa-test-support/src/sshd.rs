//! A real OpenSSH server on 127.0.0.1 for the `--host` tests: each host of
//! an [`SshLab`] is its own `sshd -D` on a free port with its own state
//! home for the remote csa, all reached with one temporary user key through
//! one client config (`CSA_SSH_COMMAND="ssh -F <config>"`). Nothing of the
//! machine's own ssh setup is read or changed (beyond creating sshd's
//! privilege-separation folder when it is missing).

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

/// Where Debian puts sshd, and where sshd wants its privilege-separation folder.
const SSHD: &str = "/usr/sbin/sshd";
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long an sshd may take to listen before its tests are skipped.
const START_WITHIN: Duration = Duration::from_secs(20);

/// Temporary keys, a client config, and the sshd of each host.
pub struct SshLab {
    pub dir: tempfile::TempDir,
    config: PathBuf,
    hosts: Vec<Host>,
}

/// One sshd: its alias in the client config, and the remote csa's state home.
pub struct Host {
    pub alias: String,
    pub state_home: PathBuf,
    child: Child,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SshLab {
    /// Keys and an empty client config; `None` (with a note on stderr)
    /// where there is no sshd or ssh-keygen.
    pub fn new() -> Option<SshLab> {
        if !Path::new(SSHD).exists() {
            eprintln!("skipped: no {SSHD} (install openssh-server)");
            return None;
        }
        let client = Command::new("ssh")
            .arg("-V")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if client.is_err() {
            eprintln!("skipped: no ssh client on the PATH (install openssh-client)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for key in ["host_key", "user_key"] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(key))
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !made {
                eprintln!("skipped: ssh-keygen cannot make a key here");
                return None;
            }
        }
        fs_err::copy(
            dir.path().join("user_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        let _ = fs_err::create_dir_all(PRIVSEP_DIR);
        let config = dir.path().join("ssh_config");
        fs_err::write(&config, "").unwrap();
        Some(SshLab {
            dir,
            config,
            hosts: Vec::new(),
        })
    }

    /// Start an sshd reached as `alias`, its csa with its own state home.
    /// `None` (with a note on stderr) when sshd does not start.
    pub fn host(&mut self, alias: &str) -> Option<&Host> {
        let root = self.dir.path().join(alias);
        let state_home = root.join("state");
        let cache_home = root.join("cache");
        for dir in [&state_home, &cache_home] {
            fs_err::create_dir_all(dir).unwrap();
        }
        let port = free_port();
        let keys = self.dir.path();
        let sshd_config = root.join("sshd_config");
        fs_err::write(
            &sshd_config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n\
                 PidFile {pid}\nAuthorizedKeysFile {keys}/authorized_keys\n\
                 StrictModes no\nUsePAM no\nPermitRootLogin yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 LogLevel ERROR\n\
                 SetEnv XDG_STATE_HOME={state} XDG_CACHE_HOME={cache}\n",
                host_key = keys.join("host_key").display(),
                pid = root.join("sshd.pid").display(),
                keys = keys.display(),
                state = state_home.display(),
                cache = cache_home.display(),
            ),
        )
        .unwrap();
        let log = root.join("sshd.log");
        let spawned = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&sshd_config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs_err::File::create(&log).unwrap().into_parts().0)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                eprintln!("skipped: cannot start {SSHD}: {err}");
                return None;
            }
        };
        // Not `wait_until`: an sshd that cannot start skips the test, never fails it.
        let deadline = Instant::now() + START_WITHIN;
        let listening = loop {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break false;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if !listening {
            let said = fs_err::read_to_string(&log).unwrap_or_default();
            eprintln!("skipped: sshd did not start: {}", said.trim());
            return None;
        }
        self.add_alias(alias, port);
        self.hosts.push(Host {
            alias: alias.to_owned(),
            state_home,
            child,
        });
        self.hosts.last()
    }

    /// An alias whose port nothing listens on.
    pub fn unreachable(&mut self, alias: &str) {
        self.add_alias(alias, free_port());
    }

    fn add_alias(&self, alias: &str, port: u16) {
        let keys = self.dir.path();
        let known = keys.join("known_hosts");
        let host_key = fs_err::read_to_string(keys.join("host_key.pub")).unwrap();
        let mut line = String::new();
        writeln!(line, "[127.0.0.1]:{port} {}", host_key.trim()).unwrap();
        append(&known, &line);
        append(
            &self.config,
            &format!(
                "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n\
                 \x20 IdentityFile {key}\n  IdentitiesOnly yes\n\
                 \x20 UserKnownHostsFile {known}\n  GlobalKnownHostsFile /dev/null\n\
                 \x20 StrictHostKeyChecking yes\n  LogLevel ERROR\n",
                key = keys.join("user_key").display(),
                known = known.display(),
            ),
        );
    }

    /// Point `cmd` (a local csa) at this lab: its ssh config, and the csa
    /// under test as the remote csa.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env(
            "CSA_SSH_COMMAND",
            format!("ssh -F {}", self.config.display()),
        )
        .env("CSA_REMOTE_CSA", assert_cmd::cargo::cargo_bin("csa"));
    }

    /// The client config file.
    pub fn config(&self) -> &Path {
        &self.config
    }
}

/// Add `text` at the end of `path`.
fn append(path: &Path, text: &str) {
    use std::io::Write as _;
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}
