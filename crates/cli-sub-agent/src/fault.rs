//! Test-only fault points for crash, rollback and race tests.
//!
//! `CSA_FAULT=<point>:<mode>[,<point>:<mode>...]` acts at the named step:
//! `error` returns an error there (as if that step failed), `abort` kills the
//! process there (a crash), `pause` creates `$CSA_FAULT_DIR/<point>.paused` and
//! waits (up to 60 s) until a test creates `<point>.resume`, so the test can act
//! in the window. The switch exists only in builds with `debug_assertions`
//! (test and dev builds); in a release build `hit` is an empty inline function,
//! so it cannot be turned on by accident.

/// The environment variable that selects fault points.
#[cfg(debug_assertions)]
pub const FAULT_ENV: &str = "CSA_FAULT";
/// The folder `pause` uses for its handshake files.
#[cfg(debug_assertions)]
pub const FAULT_DIR_ENV: &str = "CSA_FAULT_DIR";

/// Act at `point` if `CSA_FAULT` names it (debug builds only).
#[cfg(debug_assertions)]
pub fn hit(point: &str) -> anyhow::Result<()> {
    let Ok(spec) = std::env::var(FAULT_ENV) else {
        return Ok(());
    };
    for entry in spec.split(',') {
        let Some((name, mode)) = entry.rsplit_once(':') else {
            continue;
        };
        if name != point {
            continue;
        }
        match mode {
            "abort" => {
                tracing::warn!(point, "fault injection: aborting");
                std::process::abort();
            }
            "pause" => pause(point)?,
            _ => anyhow::bail!("injected fault at {point}"),
        }
    }
    Ok(())
}

#[cfg(debug_assertions)]
fn pause(point: &str) -> anyhow::Result<()> {
    use std::time::{Duration, Instant};
    let dir = std::env::var_os(FAULT_DIR_ENV)
        .map(std::path::PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("{FAULT_DIR_ENV} must be set for pause faults"))?;
    fs_err::write(dir.join(format!("{point}.paused")), b"")?;
    let resume = dir.join(format!("{point}.resume"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !resume.exists() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "pause at {point} was never resumed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Release builds: fault points do not exist.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_point: &str) -> anyhow::Result<()> {
    Ok(())
}
