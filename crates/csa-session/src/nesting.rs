//! Where a new run sits in a tree of sessions (contract §7): the session it
//! runs inside (`CSA_SESSION_ID`) and its depth (`CSA_DEPTH`, 0 when unset),
//! which counts whether or not there is a parent: it is what the limit
//! (`CSA_MAX_DEPTH`, default [`DEFAULT_MAX_DEPTH`]) is checked against and
//! what the daemon gives CMD (+ 1).

use crate::consts::{ENV_DEPTH, ENV_SESSION_ID};
use crate::id::SessionId;

/// The deepest a tree of sessions may go unless `CSA_MAX_DEPTH` says otherwise.
pub const DEFAULT_MAX_DEPTH: u32 = 5;
/// Overrides [`DEFAULT_MAX_DEPTH`].
pub const ENV_MAX_DEPTH: &str = "CSA_MAX_DEPTH";

/// Why a run may not start where it is; one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NestingError {
    #[error("{name}={value:?} is not a non-negative whole number")]
    NotANumber { name: &'static str, value: String },
    #[error("{ENV_SESSION_ID}={0:?} is not a session id")]
    NotASessionId(String),
    #[error(
        "refusing to start a session at depth {depth}: {ENV_DEPTH} is at the maximum of {max} (a session tree may not grow deeper; {ENV_MAX_DEPTH} raises the limit)"
    )]
    TooDeep { depth: u32, max: u32 },
}

/// A run's place in a tree of sessions; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nesting {
    pub parent: Option<SessionId>,
    pub depth: u32,
}

impl Nesting {
    /// From this process's environment (an empty variable is unset).
    pub fn from_env() -> Result<Nesting, NestingError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Nesting::from_values(var(ENV_SESSION_ID), var(ENV_DEPTH), var(ENV_MAX_DEPTH))
    }

    /// Pure: the nesting from the environment's values, or why not to run.
    pub fn from_values(
        parent: Option<String>,
        depth: Option<String>,
        max: Option<String>,
    ) -> Result<Nesting, NestingError> {
        let number = |name: &'static str, value: String| {
            value
                .parse::<u32>()
                .map_err(|_| NestingError::NotANumber { name, value })
        };
        let parent = parent
            .map(|id| SessionId::parse(&id).map_err(|_| NestingError::NotASessionId(id)))
            .transpose()?;
        let depth = depth
            .map(|d| number(ENV_DEPTH, d))
            .transpose()?
            .unwrap_or(0);
        let max = max
            .map(|m| number(ENV_MAX_DEPTH, m))
            .transpose()?
            .unwrap_or(DEFAULT_MAX_DEPTH);
        if depth >= max {
            return Err(NestingError::TooDeep { depth, max });
        }
        Ok(Nesting { parent, depth })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nesting(
        parent: Option<&str>,
        depth: Option<&str>,
        max: Option<&str>,
    ) -> Result<Nesting, NestingError> {
        let own = |v: Option<&str>| v.map(str::to_owned);
        Nesting::from_values(own(parent), own(depth), own(max))
    }

    #[test]
    fn nesting_follows_the_environment_and_stops_at_the_maximum() {
        let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let top = nesting(None, None, None).unwrap();
        assert_eq!(
            top,
            Nesting {
                parent: None,
                depth: 0
            }
        );
        let child = nesting(Some(id), Some("1"), None).unwrap();
        assert_eq!(child.depth, 1);
        assert_eq!(child.parent.unwrap().as_str(), id);
        assert!(nesting(Some(id), Some("4"), None).is_ok());
        let refused = nesting(Some(id), Some("5"), None).unwrap_err().to_string();
        assert!(refused.contains("maximum of 5"), "{refused}");
        assert!(nesting(Some(id), Some("5"), Some("6")).is_ok());
        assert!(nesting(None, Some("0"), Some("0")).is_err());
        for (parent, depth, max) in [
            (Some("../x"), None, None),
            (None, Some("-1"), None),
            (None, Some("two"), None),
            (None, None, Some("lots")),
        ] {
            assert!(
                nesting(parent, depth, max).is_err(),
                "{parent:?} {depth:?} {max:?}"
            );
        }
    }
}
