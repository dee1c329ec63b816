//! The csa session store.
//!
//! Knows where sessions live ([`paths`]), how they are named ([`id`]), what their
//! files say ([`state`], [`result`], [`cooldown`]), how phases may change
//! ([`phase`]), and how to change files so that a crash at any point leaves
//! either the old or the new bytes ([`durable`]). It knows nothing of
//! processes: liveness lives in `csa-process`, and the reconciler that combines
//! both lives in the `csa` binary.

pub mod consts;
pub mod cooldown;
pub mod durable;
pub mod error;
pub mod id;
pub mod load;
pub mod paths;
pub mod phase;
pub mod result;
pub mod state;
mod toml_value;

pub use cooldown::{CooldownMarker, read_cooldown_marker, write_cooldown_marker};
pub use durable::{Published, Removal};
pub use error::{IdError, LoadError, StoreError, TransitionError, WriteError};
pub use id::{IdPrefix, SessionId, SessionLocation, list_sessions, resolve_prefix};
pub use load::{
    Loaded, load_daemon_completion, load_result, load_state, reload_result, reload_state,
};
pub use paths::{ProjectKey, SessionsDir, StateRoots};
pub use phase::{Phase, PhaseEvent};
pub use result::{Artifact, DaemonCompletion, SessionResult};
pub use state::{Genealogy, SessionState, ToolState};
pub use toml_value::format_time;
