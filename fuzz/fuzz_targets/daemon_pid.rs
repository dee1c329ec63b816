//! `daemon.pid`: typed errors, round trips.
#![no_main]

use csa_process::DaemonPid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = DaemonPid::parse(text) {
        assert!(record.pid > 0);
        assert_eq!(DaemonPid::parse(&record.to_string()), Ok(record));
    }
});
