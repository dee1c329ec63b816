//! Session phases and the only legal transitions between them (contract §3).

use serde::{Deserialize, Serialize};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Active,
    Available,
    Retired,
}

/// What can happen to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhaseEvent {
    Compressed,
    Resumed,
    Retired,
}

/// A phase event that the transition table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal phase transition: {event:?} is not allowed in phase {}", from.as_str())]
pub struct TransitionError {
    pub from: Phase,
    pub event: PhaseEvent,
}

impl Phase {
    /// The on-disk spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Active => "active",
            Phase::Available => "available",
            Phase::Retired => "retired",
        }
    }

    /// Parse the on-disk spelling.
    pub fn from_str_opt(text: &str) -> Option<Phase> {
        match text {
            "active" => Some(Phase::Active),
            "available" => Some(Phase::Available),
            "retired" => Some(Phase::Retired),
            _ => None,
        }
    }

    /// Apply `event`, following exactly the contract's transition table.
    pub fn apply(self, event: PhaseEvent) -> Result<Phase, TransitionError> {
        use PhaseEvent as E;
        match (self, event) {
            (Phase::Active, E::Compressed) => Ok(Phase::Available),
            (Phase::Active, E::Retired) | (Phase::Available, E::Retired) => Ok(Phase::Retired),
            (Phase::Available, E::Resumed) => Ok(Phase::Active),
            (from, event) => Err(TransitionError { from, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_matches_the_contract_exactly() {
        use Phase::*;
        use PhaseEvent as E;
        let table = [
            (Active, E::Compressed, Some(Available)),
            (Active, E::Resumed, None),
            (Active, E::Retired, Some(Retired)),
            (Available, E::Compressed, None),
            (Available, E::Resumed, Some(Active)),
            (Available, E::Retired, Some(Retired)),
            (Retired, E::Compressed, None),
            (Retired, E::Resumed, None),
            (Retired, E::Retired, None),
        ];
        for (from, event, expected) in table {
            assert_eq!(from.apply(event).ok(), expected, "{from:?} + {event:?}");
        }
    }

    #[test]
    fn phase_spelling_round_trips() {
        for phase in [Phase::Active, Phase::Available, Phase::Retired] {
            assert_eq!(Phase::from_str_opt(phase.as_str()), Some(phase));
        }
        assert_eq!(Phase::from_str_opt("Active"), None);
    }
}
