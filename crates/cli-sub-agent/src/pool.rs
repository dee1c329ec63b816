//! The store's work pool ([`csa_session::pool`]), under the name the
//! commands use.

pub use csa_session::pool::*;
