//! `result.toml` and `daemon-completion.toml`: typed errors, round trips.
#![no_main]

use std::path::Path;

use csa_session::{DaemonCompletion, SessionResult};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(result) = SessionResult::parse(text, Path::new("result.toml")) {
        let again = SessionResult::parse(&result.to_toml_string(), Path::new("result.toml"))
            .expect("a written result.toml parses");
        assert_eq!(again.status(), result.status());
        assert_eq!(again.exit_code(), result.exit_code());
        let _ = result.is_failure();
        let _ = result.artifacts();
    }
    if let Ok(done) = DaemonCompletion::parse(text, Path::new("daemon-completion.toml")) {
        let again = DaemonCompletion::parse(&done.to_toml_string(), Path::new("x"))
            .expect("a written completion parses");
        assert_eq!(again, done);
    }
});
