//! The store's fault points, for tests that drive `CSA_FAULT` in a `csa`
//! child process. Names come from the enum; tests never spell them.

pub use csa_session::fault::{FAULT_DIR_ENV, FAULT_ENV, FaultMode, FaultPoint};

/// The `CSA_FAULT` value for several points at once.
pub fn fault_spec(points: &[(FaultPoint, FaultMode)]) -> String {
    points
        .iter()
        .map(|(point, mode)| point.spec(*mode))
        .collect::<Vec<_>>()
        .join(",")
}
