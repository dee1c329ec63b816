//! csa on other machines (contract §11): `--host TARGET` runs a csa command
//! there through the system's OpenSSH client, and the remote csa's `--json`
//! is the wire format. No SSH library, no daemon, no port: users' ssh
//! configs, agents, ProxyJump and keys work as they do for ssh itself.
//!
//! [`target`] checks what the user typed, [`quote`] makes every word
//! literal for the remote shell, [`ssh`] builds the invocation (shared
//! connections included), [`handshake`] is what two csa agree on before
//! one answers the other (the protocol, the versions of rows and details)
//! and why a host did not answer, [`ask`] runs a command on one host or
//! on several at once and collects the answers. The typed rows in those
//! answers are read by `csa_session` (`SessionRow::list_from_json`, ...);
//! the `csa` binary draws them. This crate prints nothing.

pub mod ask;
pub mod handshake;
pub mod quote;
pub mod ssh;
pub mod target;

pub use ask::{Answer, ask_each};
pub use handshake::{HostError, PROTOCOL, Versions};
pub use ssh::Transport;
pub use target::{HostTarget, TargetError};
