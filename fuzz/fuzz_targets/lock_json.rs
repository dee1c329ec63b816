//! Lock-file JSON: typed errors, round trips.
#![no_main]

use csa_process::LockRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = LockRecord::parse(data) {
        assert!(record.pid > 0);
        let again = LockRecord::parse(record.to_json().as_bytes()).expect("written JSON parses");
        assert_eq!(again, record);
    }
});
