//! `/proc/<pid>/stat`: any text parses or is an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(fields) = csa_process::facts::parse_proc_stat(&text) {
        assert!(fields.state.is_ascii_alphabetic());
    }
});
