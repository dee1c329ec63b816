//! The session's logs as the daemon opens them: for appending, 0600, never
//! through a symlink (on every platform; the pump that copies CMD's output
//! into them, [`crate::log_pump`], is Unix-only).

use std::fs::File;
use std::path::Path;

/// Open a log for appending: 0600, never through a symlink.
pub fn open_log(path: &Path) -> std::io::Result<File> {
    let mut options = fs_err::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    Ok(options.open(path)?.into_parts().0)
}
