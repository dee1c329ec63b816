//! Test-only fault points for crash and rollback tests.
//!
//! `CSA_FAULT=<point>:<abort|error>` makes `hit(point)` abort the process or
//! return an error at that named step. The switch exists only in builds with
//! `debug_assertions` (test and dev builds); in a release build `hit` is a no-op
//! that the compiler removes, so it cannot be turned on by accident.

/// The environment variable that selects a fault point.
pub const FAULT_ENV: &str = "CSA_FAULT";

/// Fail or abort here if `CSA_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub fn hit(point: &str) -> anyhow::Result<()> {
    let Ok(spec) = std::env::var(FAULT_ENV) else {
        return Ok(());
    };
    for entry in spec.split(',') {
        let (name, mode) = entry.split_once(':').unwrap_or((entry, "error"));
        if name != point {
            continue;
        }
        if mode == "abort" {
            tracing::warn!(point, "fault injection: aborting");
            std::process::abort();
        }
        anyhow::bail!("injected fault at {point}");
    }
    Ok(())
}

/// Release builds: fault points do not exist.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_point: &str) -> anyhow::Result<()> {
    Ok(())
}
