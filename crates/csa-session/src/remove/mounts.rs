//! Mount points inside session dirs, looked for before a session is moved
//! into the trash ([`super::protocol`], under the session's lock), so that
//! a session holding one is kept where the user sees it, with the reason
//! `a mount point is inside`, rather than moved and then left in the trash.
//!
//! This is the early, friendly check. The removal itself never crosses a
//! mount either ([`super::tree`] compares every folder's device and mount
//! with its parent's), which also covers a mount made after this look.
//!
//! Linux lists this process's mounts in `/proc/self/mountinfo`, read once
//! per removal command. Elsewhere nothing is listed and only the removal's
//! own check applies.

use std::path::{Path, PathBuf};

/// The mount points that may lie in a session dir: those with a
/// `sessions` folder somewhere above them (usually none at all).
#[derive(Debug, Default)]
pub(crate) struct Mounts {
    points: Vec<PathBuf>,
}

impl Mounts {
    /// This process's mount points (none where they cannot be read).
    pub(crate) fn read() -> Mounts {
        #[cfg(target_os = "linux")]
        {
            use crate::consts::MAX_MOUNTINFO_BYTES;
            match crate::read::read_bounded(Path::new("/proc/self/mountinfo"), MAX_MOUNTINFO_BYTES)
            {
                Ok(bytes) => return Mounts::parse(&bytes),
                Err(err) => {
                    tracing::debug!(
                        "cannot read /proc/self/mountinfo ({err}); removal checks mounts as it goes"
                    );
                }
            }
        }
        Mounts::default()
    }

    /// The mount points of a `mountinfo` listing that have a `sessions`
    /// folder above them.
    #[cfg(any(target_os = "linux", test))]
    pub(crate) fn parse(mountinfo: &[u8]) -> Mounts {
        let points = mountinfo
            .split(|&b| b == b'\n')
            .filter_map(|line| line.split(|&b| b == b' ').nth(4))
            .map(unescape)
            .filter(|point| {
                use crate::consts::SESSIONS_DIR;
                point.components().any(|c| c.as_os_str() == SESSIONS_DIR)
            })
            .collect();
        Mounts { points }
    }

    /// A mount point at or under the folder `dir`, if there is one.
    pub(crate) fn inside(&self, dir: &Path) -> Option<&Path> {
        if self.points.is_empty() {
            return None;
        }
        // Mount points are listed by their real path.
        let dir = fs_err::canonicalize(dir).ok()?;
        self.points
            .iter()
            .find(|point| point.starts_with(&dir))
            .map(PathBuf::as_path)
    }
}

/// A path field of `mountinfo`, where space, tab, newline and backslash are
/// written as octal escapes (`\040`).
#[cfg(any(target_os = "linux", test))]
fn unescape(field: &[u8]) -> PathBuf {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(out))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &[u8] = b"22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
        66 22 254:0 /tmp/b /home/a\\040b/.local/state/cli-sub-agent/p/sessions/01K/output/x rw - ext4 /dev/vda rw\n\
        67 22 0:50 / /proc rw - proc proc rw\n";

    #[test]
    fn only_mount_points_below_a_sessions_folder_are_kept_and_unescaped() {
        let mounts = Mounts::parse(MOUNTINFO);
        assert_eq!(
            mounts.points,
            vec![PathBuf::from(
                "/home/a b/.local/state/cli-sub-agent/p/sessions/01K/output/x"
            )]
        );
    }

    #[test]
    fn a_mount_point_is_found_inside_the_folder_that_holds_it_and_nowhere_else() {
        let tmp = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(tmp.path()).unwrap();
        let session = real.join("sessions/01K");
        let other = real.join("sessions/01L");
        fs_err::create_dir_all(session.join("output")).unwrap();
        fs_err::create_dir_all(&other).unwrap();
        let point = session.join("output/x");
        let mounts = Mounts {
            points: vec![point.clone()],
        };
        assert_eq!(mounts.inside(&session), Some(point.as_path()));
        assert_eq!(mounts.inside(&other), None);
        // `01K` is a prefix of `01KX`'s name, not a folder above it.
        let sibling = real.join("sessions/01KX");
        fs_err::create_dir_all(&sibling).unwrap();
        assert_eq!(mounts.inside(&sibling), None);
        assert_eq!(Mounts::default().inside(&session), None);
    }
}
