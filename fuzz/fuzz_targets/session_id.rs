//! Session ids: whatever is accepted can never escape the sessions folder.
#![no_main]

use csa_session::IdPrefix;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(prefix) = IdPrefix::parse(text) {
        let s = prefix.as_str();
        assert!((1..=26).contains(&s.len()));
        assert!(s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        assert!(!s.contains(['/', '\\', '.']));
    }
});
