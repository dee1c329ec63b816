//! Resident memory and CPU time of a live process tree.

use csa_test_support::*;

#[test]
fn tree_usage_adds_up_descendants() {
    let script = "import time\n\
                  block = bytearray(64 << 20)\n\
                  for i in range(0, len(block), 4096): block[i] = 1\n\
                  end = time.process_time() + 0.3\n\
                  while time.process_time() < end: pass\n\
                  time.sleep(300)\n";
    let root = spawn_group("sh", &["-c", &format!("python3 -c '{script}' & sleep 300")]);
    let mut last = None;
    wait_until("usage of the whole tree", || {
        last = csa_process::tree_usage(&[root.pid()]);
        last.is_some_and(|u| u.rss_bytes >= 64 << 20 && u.cpu_seconds >= 0.25)
    });
    let sh_only = csa_process::tree_usage(&[std::process::id()]).expect("usage");
    assert!(sh_only.rss_bytes > 0);
    assert_eq!(csa_process::tree_usage(&[4_194_304 + 1000]), None);
}
