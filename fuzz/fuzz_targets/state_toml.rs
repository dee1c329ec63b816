//! `state.toml`: any text parses or is a typed error; what parses round-trips.
#![no_main]

use std::path::Path;

use csa_session::SessionState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(state) = SessionState::parse(text, Path::new("state.toml")) else {
        return;
    };
    let again = SessionState::parse(&state.to_toml_string(), Path::new("state.toml"))
        .expect("a written state.toml parses");
    assert_eq!(again.phase(), state.phase());
    assert_eq!(again.created_at(), state.created_at());
    assert_eq!(again.last_accessed(), state.last_accessed());
    assert_eq!(again.tool_names(), state.tool_names());
});
