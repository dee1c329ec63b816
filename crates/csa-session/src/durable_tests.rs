use super::*;

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

fn mode_of(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        fs_err::metadata(path).unwrap().permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o600
    }
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn write_atomic_creates_0600_and_leaves_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state.toml");
    write_atomic(&path, b"a = 1\n").unwrap();
    assert_eq!(fs_err::read(&path).unwrap(), b"a = 1\n");
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(dir_names(tmp.path()), vec!["state.toml"]);
}

#[cfg(unix)]
#[test]
fn write_atomic_keeps_existing_permission_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state.toml");
    fs_err::write(&path, "old").unwrap();
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(fs_err::read(&path).unwrap(), b"new");
    assert_eq!(mode_of(&path), 0o640);
}

#[cfg(unix)]
#[test]
fn write_atomic_replaces_a_symlink_and_never_writes_through_it() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("elsewhere.toml");
    fs_err::write(&target, "precious").unwrap();
    let path = tmp.path().join("state.toml");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(fs_err::read(&target).unwrap(), b"precious");
    assert!(fs_err::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(fs_err::read(&path).unwrap(), b"new");
}

#[test]
fn publish_onto_an_existing_file_leaves_it_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.toml");
    fs_err::write(&path, "real result").unwrap();
    assert_eq!(
        publish_no_clobber(&path, b"synthetic").unwrap(),
        Published::AlreadyExists
    );
    assert_eq!(fs_err::read(&path).unwrap(), b"real result");
    assert_eq!(dir_names(tmp.path()), vec!["result.toml"]);
}

#[test]
fn publish_creates_a_missing_file_with_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.toml");
    assert_eq!(publish_no_clobber(&path, b"x").unwrap(), Published::Created);
    assert_eq!(fs_err::read(&path).unwrap(), b"x");
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(dir_names(tmp.path()), vec!["result.toml"]);
}

#[cfg(unix)]
#[test]
fn publish_onto_a_dangling_symlink_does_not_create_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target.toml");
    let path = tmp.path().join("result.toml");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert_eq!(
        publish_no_clobber(&path, b"x").unwrap(),
        Published::AlreadyExists
    );
    assert!(!target.exists());
}

#[test]
fn remove_if_unchanged_removes_only_the_expected_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.toml");
    fs_err::write(&path, "synthetic").unwrap();
    assert_eq!(
        remove_if_unchanged(&path, b"other").unwrap(),
        Removal::Changed
    );
    assert_eq!(fs_err::read(&path).unwrap(), b"synthetic");
    assert_eq!(
        remove_if_unchanged(&path, b"synthetic").unwrap(),
        Removal::Removed
    );
    assert!(!path.exists());
    assert_eq!(
        remove_if_unchanged(&path, b"synthetic").unwrap(),
        Removal::Missing
    );
    assert!(dir_names(tmp.path()).is_empty());
}

#[test]
fn take_back_removes_our_untouched_file_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.toml");
    let claim = publish_claimed(&path, b"synthetic")
        .unwrap()
        .expect("created");
    assert!(
        publish_claimed(&path, b"other").unwrap().is_none(),
        "no clobber"
    );
    assert_eq!(take_back(&path, &claim).unwrap(), Removal::Removed);
    assert!(dir_names(tmp.path()).is_empty());
    assert_eq!(take_back(&path, &claim).unwrap(), Removal::Missing);

    // A writer that replaced our file, even with the same bytes, keeps it.
    let claim = publish_claimed(&path, b"synthetic")
        .unwrap()
        .expect("created");
    write_atomic(&path, b"synthetic").unwrap();
    assert_eq!(take_back(&path, &claim).unwrap(), Removal::Changed);
    assert_eq!(fs_err::read(&path).unwrap(), b"synthetic");
    fs_err::remove_file(&path).unwrap();
}

#[cfg(unix)]
#[test]
fn take_back_keeps_a_file_changed_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.toml");
    let claim = publish_claimed(&path, b"synthetic")
        .unwrap()
        .expect("created");
    fs_err::write(&path, "synthetiX").unwrap();
    assert_eq!(take_back(&path, &claim).unwrap(), Removal::Changed);
    assert_eq!(fs_err::read(&path).unwrap(), b"synthetiX");
    assert_eq!(dir_names(tmp.path()), ["result.toml"]);
}

#[cfg(unix)]
#[test]
fn remove_if_unchanged_refuses_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("t");
    fs_err::write(&target, "synthetic").unwrap();
    let path = tmp.path().join("result.toml");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(remove_if_unchanged(&path, b"synthetic").is_err());
    assert!(fs_err::symlink_metadata(&path).is_ok());
    assert_eq!(fs_err::read(&target).unwrap(), b"synthetic");
}

#[test]
fn sweep_removes_only_our_stale_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = tmp.path().join(format!("{TEMP_PREFIX}state.toml-1-x"));
    let fresh = tmp.path().join(format!("{TEMP_PREFIX}state.toml-2-y"));
    let user = tmp.path().join("notes.txt");
    for path in [&stale, &fresh, &user] {
        fs_err::write(path, "x").unwrap();
    }
    let old = SystemTime::now() - STALE_TEMP_AGE * 2;
    fs_err::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs_err::File::options()
        .write(true)
        .open(&user)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(sweep_temp_files(tmp.path()).unwrap(), 1);
    assert!(!stale.exists() && fresh.exists() && user.exists());
}

/// Make `dir` unwritable for this process: mode 0500, and as root (which
/// ignores modes) the immutable attribute. `false` where neither works.
#[cfg(unix)]
fn make_unwritable(dir: &Path, unwritable: bool) -> bool {
    let mode = if unwritable { 0o500 } else { 0o700 };
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    let probe = dir.join(".probe");
    if !unwritable || fs_err::write(&probe, "").is_err() {
        return true;
    }
    let _ = fs_err::remove_file(&probe);
    let flag = if unwritable { "+i" } else { "-i" };
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
        && fs_err::write(&probe, "").is_err()
}

#[cfg(unix)]
#[test]
fn write_into_a_read_only_dir_fails_naming_the_file_and_keeps_the_old_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state.toml");
    fs_err::write(&path, "old").unwrap();
    if !make_unwritable(tmp.path(), true) {
        eprintln!("skipped: this filesystem cannot make a folder unwritable for root");
        return;
    }
    let err = write_atomic(&path, b"new").unwrap_err();
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(tmp.path())
        .status();
    make_unwritable(tmp.path(), false);
    assert!(err.to_string().contains("state.toml"), "{err}");
    assert!(!err.is_in_place());
    assert_eq!(fs_err::read(&path).unwrap(), b"old");
    assert!(
        dir_names(tmp.path())
            .iter()
            .all(|n| !n.starts_with(".csa-tmp-"))
    );
}
