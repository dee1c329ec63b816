//! Tool names: what `csa run --tool` accepts and what names a lock file.

use std::fmt;

/// Longest tool name accepted (a lock file is named after it).
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// A validated tool name: 1 to 64 ASCII letters, digits, `.`, `_`, `+` or `-`,
/// starting with a letter or digit. It is safe as a file name (`locks/<name>.lock`).
///
/// Tool tables that other installs wrote (`[tools.<name>]`) may carry any
/// string; those are read as plain strings and never used to build a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolName(String);

/// Why a tool name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid tool name {name:?}: {why}; use 1 to {MAX_TOOL_NAME_LEN} letters, digits, '.', '_', '+' or '-' (like codex or claude-code)"
)]
pub struct ToolNameError {
    pub name: String,
    pub why: &'static str,
}

impl ToolName {
    pub fn parse(name: &str) -> Result<ToolName, ToolNameError> {
        let refuse = |why| ToolNameError {
            name: name.to_owned(),
            why,
        };
        if name.is_empty() {
            return Err(refuse("it is empty"));
        }
        if name.len() > MAX_TOOL_NAME_LEN {
            return Err(refuse("it is too long"));
        }
        if !name.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(refuse("it must start with a letter or digit"));
        }
        let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-');
        if !name.as_bytes().iter().all(allowed) {
            return Err(refuse("it holds a character that is not allowed"));
        }
        Ok(ToolName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ToolName {
    type Err = ToolNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ToolName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_accepted() {
        for name in ["codex", "claude-code", "gemini-cli", "a", "tool_2.5+x", "9"] {
            assert_eq!(ToolName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn names_that_are_not_plain_file_names_are_refused() {
        let long = "x".repeat(MAX_TOOL_NAME_LEN + 1);
        for name in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "-flag", "a b", "tab\t", "é", &long,
        ] {
            let err = ToolName::parse(name).unwrap_err();
            assert!(err.to_string().starts_with("invalid tool name"), "{err}");
        }
        assert!(ToolName::parse(&"x".repeat(MAX_TOOL_NAME_LEN)).is_ok());
    }
}
