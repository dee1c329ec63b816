//! The reconciler: gives a session whose process died without a result a
//! trustworthy ending (contract §6).
//!
//! `decision` is the pure choice of what to do; `protocol` carries it out in
//! named, ordered steps with fault points between them; `synthetic` builds the
//! results the reconciler publishes; `outcome` is what it reports.

pub mod decision;
pub mod outcome;
pub mod protocol;
pub mod synthetic;

pub use outcome::{Outcome, Report};
pub use protocol::{CooldownMode, Reconciler};
