//! Atomic writes: a temporary file beside the target, synced and renamed over it, so that
//! nothing half-written ever replaces a file.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::temp::{dir_and_name, Mode, TempFile};

/// Replaces the contents of `path` atomically: the bytes go to a temporary file in the same
/// directory, which is flushed to disk (`fsync`), given the original file's permissions, and
/// renamed over `path`. A reader sees the old file or the new one, never a mix; on any error
/// the original is untouched and the temporary file removed.
///
/// A symbolic link is followed: its target is replaced and the link kept. A file that does not
/// exist yet is created with the default permissions. The owner is not carried over (the new
/// file belongs to the user who writes it).
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_via_temp(path, contents, Mode::KeepExisting, |from, to| {
        fs::rename(from, to)
    })
}

/// Writes a secret (a private key) readable by its owner only: the bytes go to a temporary
/// file in the same directory, created with mode 0600 (on Unix) so they are never readable
/// by others, flushed to disk, and renamed over `path`. Whatever the old file's permissions
/// were, the new one is 0600; on any error the old file is untouched and the temporary file
/// removed, so a failed write never loses an existing key.
///
/// A symbolic link is followed, as by [`write_atomic`].
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_via_temp(path, contents, Mode::Private, |from, to| {
        fs::rename(from, to)
    })
}

/// [`write_atomic`] or [`write_private`] with the final rename passed in, so that tests can
/// make it fail.
fn write_via_temp(
    path: &Path,
    contents: &[u8],
    mode: Mode,
    rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let target = resolve(path)?;
    let permissions = match fs::metadata(&target) {
        Ok(_) if mode == Mode::Private => None,
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let (dir, name) = dir_and_name(path, &target)?;
    let mut temp = TempFile::create(&dir, &name, mode)?;
    temp.fill(contents, permissions)?;
    temp.rename_to(&target, rename)?;
    sync_dir(&dir);
    Ok(())
}

/// The file a write replaces: the target of a symbolic link, else the path itself.
pub(super) fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// Makes a rename durable. Some file systems refuse to sync a directory; the new contents
/// are in place by then, so that is not reported as a failure.
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::test_support::names;

    #[test]
    fn replaces_contents_and_creates_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        write_atomic(&path, b"{}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        write_atomic(&path, b"{\"a\": 1}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\": 1}\n");
        assert_eq!(names(dir.path()), ["policy.hujson"]);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_original_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        for mode in [0o640, 0o600, 0o755, 0o444] {
            if path.exists() {
                // The previous round may have left it read-only.
                fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            }
            fs::write(&path, b"old").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            write_atomic(&path, b"new").unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"new");
            let got = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(got, mode, "mode {mode:o}");
        }
    }

    #[test]
    fn a_failed_write_leaves_the_original_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        fs::write(&path, b"original").unwrap();
        let err = write_via_temp(&path, b"replacement", Mode::KeepExisting, |_, _| {
            Err(io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(fs::read(&path).unwrap(), b"original");
        assert_eq!(
            names(dir.path()),
            ["policy.hujson"],
            "temporary file left behind"
        );
    }

    #[test]
    fn a_real_rename_failure_leaves_the_target_untouched() {
        // Renaming a file over a non-empty directory fails on every platform.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("policy.hujson");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        assert!(target.is_dir());
        assert_eq!(names(&target), ["inside"]);
        assert_eq!(
            names(dir.path()),
            ["policy.hujson"],
            "temporary file left behind"
        );
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/policy.hujson");
        assert_eq!(
            write_atomic(&path, b"x").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.hujson");
        let link = dir.path().join("link.hujson");
        fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn a_failed_private_write_keeps_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.key");
        fs::write(&path, b"privkey:old\n").unwrap();
        let err = write_via_temp(&path, b"privkey:new\n", Mode::Private, |_, _| {
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"privkey:old\n");
        assert_eq!(
            names(dir.path()),
            ["relay.key"],
            "temporary file left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_private_write_is_owner_only_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.key");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_via_temp(&path, b"new", Mode::Private, |from, to| {
            // The temporary file, full of the secret, was never readable by others.
            let mode = fs::metadata(from).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::rename(from, to)
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // And a new file.
        let fresh = dir.path().join("fresh.key");
        write_private(&fresh, b"k").unwrap();
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(names(dir.path()), ["fresh.key", "relay.key"]);
    }
}
