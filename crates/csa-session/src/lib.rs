//! The csa session store.
//!
//! Knows where sessions live ([`roots`], [`layout`]), how they are named and
//! found ([`id`], [`resolve`], [`short_id`]), how they descend from one
//! another ([`genealogy`]), what their files say ([`state`], [`result`],
//! [`completion`], [`cooldown`]) and in which words ([`vocab`], [`tool`]), how
//! phases may change ([`phase`]), how to read files someone else can write
//! ([`read`]) and how to change them so that a crash at any point leaves either
//! the old or the new bytes ([`durable`]).
//!
//! It also holds the crash-safe protocols that change a session: reconcile
//! ([`reconcile`]), removal ([`remove`]) and the daemon's own ending
//! ([`ending`]). They need to know whether a session's process is alive;
//! that is handed in through the [`liveness::LivenessProbe`] seam, which
//! `csa-process` implements, so this crate knows nothing of processes.

pub mod completion;
pub mod consts;
pub mod cooldown;
pub mod create;
pub mod detail;
pub mod durable;
pub mod end_row;
pub mod ending;
mod entries;
pub mod error;
pub mod fault;
pub mod fleet;
pub mod genealogy;
pub mod id;
pub mod json;
pub mod layout;
pub mod list_cache;
pub mod listing;
pub mod liveness;
pub mod load;
pub mod log_cursor;
pub mod log_stream;
pub mod log_tail;
pub mod nesting;
pub mod phase;
pub mod pool;
pub mod read;
pub mod reconcile;
pub mod remove;
pub mod resolve;
pub mod result;
pub mod roots;
pub mod row;
pub mod row_filter;
pub mod short_id;
pub mod spool;
pub mod state;
pub mod stats;
pub mod status;
pub mod stop_request;
pub mod suggest;
mod toml_value;
pub mod tool;
pub mod vocab;

pub use completion::DaemonCompletion;
pub use cooldown::{CooldownMarker, read_cooldown_marker, write_cooldown_marker};
pub use detail::{Processes, SessionDetail};
pub use durable::{Published, Removal};
pub use end_row::{EndKind, EndRow};
pub use error::{IdError, LoadError, StoreError, WriteError};
pub use genealogy::{Family, Kin};
pub use id::{IdPrefix, SessionId};
pub use layout::{SessionDir, SessionsDir};
pub use liveness::{Check, Liveness, LivenessProbe, Verdict};
pub use load::{
    Loaded, is_gone, is_initializing, is_initializing_since, load_daemon_completion, load_result,
    load_result_if_any, load_state, reload_result, reload_state,
};
pub use phase::{Phase, PhaseEvent, TransitionError};
pub use resolve::{
    SessionLocation, find_full_id, find_in_any_project, list_sessions, resolve_prefix,
};
pub use result::{Artifact, SessionResult};
pub use roots::{ProjectKey, SessionsWalk, StateRoots};
pub use row::{LivenessView, LogFacts, ROW_VERSION, RunView, SessionRow};
pub use row_filter::RowFilter;
pub use short_id::ShortIds;
pub use state::{Genealogy, RunSpec, SessionState, ToolState};
pub use status::{Outcome, SessionStatus, StatusSet};
pub use toml_value::format_time;
pub use tool::{ToolName, ToolNameError};
pub use vocab::{ResultStatus, TerminationReason, Trigger};
