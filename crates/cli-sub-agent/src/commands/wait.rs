//! `csa session wait <ID> [--timeout SECS]`: wait until the session ends and
//! exit with its result's exit code (124 on timeout), reconciling it if its
//! process dies without a result.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use csa_process::ProbeContext;
use csa_session::reconcile::{CooldownMode, Reconciler};
use csa_session::{LoadError, Phase, SessionLocation, SessionResult, Trigger};

use crate::cli::WaitArgs;
use crate::context::Context;
use crate::output;
use crate::term::escape;

/// Exit code on timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: u8 = 124;
/// First and largest pause between checks.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(500);

pub fn run(args: &WaitArgs) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&args.session.project)?;
    let loc = ctx.resolve(&args.session.id)?;
    let timeout = match args.timeout {
        Some(secs) if !(secs.is_finite() && secs >= 0.0) => {
            anyhow::bail!("--timeout must be a non-negative number of seconds, not {secs}")
        }
        Some(secs) => Some(Duration::from_secs_f64(secs)),
        None => None,
    };
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(code) = check(&loc)? {
            return Ok(code);
        }
        if let Some(limit) = timeout
            && start.elapsed() >= limit
        {
            output::stderr(&format!(
                "csa: timed out after {} waiting for session {}\n",
                crate::term::human_duration(limit),
                loc.id
            ));
            return Ok(ExitCode::from(TIMEOUT_EXIT));
        }
        let mut nap = pause;
        if let Some(limit) = timeout {
            nap = nap.min(limit.saturating_sub(start.elapsed()));
        }
        std::thread::sleep(nap);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// `Some(exit code)` once the session has ended.
fn check(loc: &SessionLocation) -> anyhow::Result<Option<ExitCode>> {
    let loaded = csa_session::load_state(&loc.dir)?;
    let phase = loaded.value.phase();
    if phase == Phase::Active {
        // The reconciler probes liveness and changes nothing unless the
        // process is dead; after a change, look again: the state is retired.
        let probe = ProbeContext::new();
        let report = Reconciler::new(&probe, Trigger::SessionWait, false, CooldownMode::Immediate)
            .reconcile_loaded(loc, Some(loaded));
        if let Some(error) = &report.error {
            anyhow::bail!(
                "session {} is dead but could not be reconciled: {}",
                loc.id,
                output::chain(error)
            );
        }
        return Ok(None);
    }
    if phase == Phase::Available {
        return Ok(None);
    }
    match csa_session::load_result(&loc.dir) {
        Ok(loaded) => Ok(Some(report(loc, &loaded.value)?)),
        Err(LoadError::Missing { .. }) => {
            output::stdout(&format!("{} retired without a result\n", loc.id))?;
            Ok(Some(ExitCode::FAILURE))
        }
        Err(err) => Err(err.into()),
    }
}

fn report(loc: &SessionLocation, result: &SessionResult) -> anyhow::Result<ExitCode> {
    let first_line = result.summary().lines().next().unwrap_or("");
    output::stdout(&format!(
        "{} {} exit {}: {}\n",
        loc.id,
        escape(result.status_text()),
        result.exit_code(),
        escape(first_line)
    ))?;
    Ok(ExitCode::from(exit_code_of(result)))
}

/// The process exit code for a result: its exit code when it fits in 1..=255,
/// 1 for any other failure, 0 for success.
pub fn exit_code_of(result: &SessionResult) -> u8 {
    match u8::try_from(result.exit_code()) {
        Ok(0) if result.is_failure() => 1,
        Ok(code) => code,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn exit_codes_map_into_a_byte() {
        let now = Utc::now();
        let code = |status, exit| {
            let status = csa_session::ResultStatus::parse(status);
            exit_code_of(&SessionResult::new(&status, exit, "", "t", now, now))
        };
        assert_eq!(code("success", 0), 0);
        assert_eq!(code("failure", 3), 3);
        assert_eq!(code("failure", 0), 1);
        assert_eq!(code("failure", 256), 1);
        assert_eq!(code("failure", -1), 1);
        assert_eq!(code("signal", 143), 143);
    }
}
