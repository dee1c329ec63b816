//! The store's protocols driven in-process: many threads reconciling or
//! removing the same sessions at once, with a liveness probe that says what
//! the test wants, against real files.

#![allow(clippy::unwrap_used)]

mod concurrent;
mod fleet;
mod remove;
