//! Session ids (ULIDs) and id prefixes.
//!
//! Every command that takes an id goes through [`IdPrefix::parse`] first, so a
//! string that could escape the sessions folder (`../x`, `/etc`) is rejected
//! before any path is built ([`crate::resolve`] then finds the session).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

/// Length of a ULID in Crockford base32.
pub const ULID_LEN: usize = 26;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `CROCKFORD_TABLE[b]` is true for the alphabet's bytes in either case.
const CROCKFORD_TABLE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < CROCKFORD.len() {
        table[CROCKFORD[i] as usize] = true;
        table[CROCKFORD[i].to_ascii_lowercase() as usize] = true;
        i += 1;
    }
    table
};

fn is_crockford(byte: u8) -> bool {
    CROCKFORD_TABLE[byte as usize]
}

/// Validate and uppercase a (partial) ULID; `None` if it is not one.
fn normalize(input: &str, max_len: usize) -> Option<String> {
    let bytes = input.as_bytes();
    if bytes.is_empty() || bytes.len() > max_len || !bytes.iter().all(|b| is_crockford(*b)) {
        return None;
    }
    // A ULID's first character encodes the top 3 bits of a 130-bit number.
    if !matches!(bytes[0], b'0'..=b'7') {
        return None;
    }
    Some(input.to_ascii_uppercase())
}

/// A validated session id: a 26-character ULID, stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// A new id for a session created now.
    pub fn generate() -> SessionId {
        SessionId(ulid::Ulid::new().to_string())
    }

    /// Parse a full id, case-insensitively.
    pub fn parse(input: &str) -> Result<SessionId, IdError> {
        match normalize(input, ULID_LEN) {
            Some(id) if id.len() == ULID_LEN => Ok(SessionId(id)),
            _ => Err(IdError::InvalidId {
                input: input.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionId::parse(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        SessionId::parse(&value)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

/// A validated, uppercased prefix of a session id (1 to 26 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// Reject anything that is not a case-insensitive prefix of a ULID.
    pub fn parse(input: &str) -> Result<IdPrefix, IdError> {
        normalize(input, ULID_LEN)
            .map(IdPrefix)
            .ok_or_else(|| IdError::InvalidId {
                input: input.to_owned(),
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full id, when the prefix is one.
    pub fn as_full_id(&self) -> Option<SessionId> {
        (self.0.len() == ULID_LEN).then(|| SessionId(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_A: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    #[test]
    fn ids_that_could_escape_or_are_not_ulids_are_rejected() {
        for bad in [
            "../x",
            "/etc",
            "",
            ".",
            "01ARZ3NDEKTSV4RRFFQ69G5FA!",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
            "01I",
        ] {
            assert!(
                matches!(IdPrefix::parse(bad), Err(IdError::InvalidId { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(
            SessionId::parse("01ARZ3NDEK").is_err(),
            "a prefix is not an id"
        );
    }

    #[test]
    fn ids_are_case_insensitive_and_stored_uppercase() {
        let id = SessionId::parse(&ID_A.to_lowercase()).unwrap();
        assert_eq!(id.as_str(), ID_A);
        assert_eq!(SessionId::generate().as_str().len(), ULID_LEN);
    }
}
