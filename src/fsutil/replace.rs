//! Replacing a file only if it is still the version that was read, so that an edit saved
//! in the meantime is never overwritten.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::read::FileStamp;
use super::temp::TempFile;
use super::temp::{dir_and_name, Mode};
use super::write::{resolve, sync_dir};

/// Why [`replace_if_unchanged`] left a file as it was. Each message names the path (or the
/// directory) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    /// The file on disk is not the version that was read.
    #[error("{path} changed since it was read (saved by another program?): not overwritten; run the command again")]
    Changed {
        /// The file.
        path: String,
    },
    /// The file cannot be opened for writing.
    #[error("{path} is not writable ({source}): left as it was; give yourself write permission to format it")]
    NotWritable {
        /// The file.
        path: String,
        /// The error of the write probe.
        source: io::Error,
    },
    /// No temporary file can be created beside the file.
    #[error("cannot create a temporary file in the directory {dir} ({source}): {path} left as it was; the directory must be writable")]
    Directory {
        /// The file.
        path: String,
        /// Its directory.
        dir: String,
        /// The error.
        source: io::Error,
    },
    /// A signal arrived before the rename.
    #[error("interrupted: {path} left as it was")]
    Interrupted {
        /// The file.
        path: String,
    },
    /// Any other failure of the write.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
}

/// Replaces `path` atomically, as [`write_atomic`](super::write_atomic) does, but only if it is
/// still the version that was read (`stamp`): the file must be writable by the caller (a
/// read-only file is left alone), the temporary file is written and synced, and just before the
/// rename the file's device, inode, size and modification time are compared with `stamp` and
/// `interrupted` is asked (a signal handler's flag). On any refusal or failure the file is
/// untouched and the temporary file removed.
///
/// An edit saved in the instant between the comparison and the rename is not detected (no
/// portable system call compares and renames in one step); the window is a few
/// microseconds instead of the whole run.
pub fn replace_if_unchanged(
    path: &Path,
    contents: &[u8],
    stamp: &FileStamp,
    interrupted: &std::sync::atomic::AtomicBool,
) -> Result<(), ReplaceError> {
    use std::sync::atomic::Ordering;
    let shown = path.display().to_string();
    let io = |source| ReplaceError::Io {
        path: shown.clone(),
        source,
    };
    let target = resolve(path).map_err(io)?;
    // A file whose mode has no write bit is read-only by intent, even for root (who may
    // write it anyway); otherwise opening it for writing (without truncating) asks the
    // operating system itself, for any owner, mode, ACL or read-only mount.
    let permissions = fs::metadata(&target).map_err(io)?.permissions();
    let probe = if permissions.readonly() {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "its mode has no write permission",
        ))
    } else {
        OpenOptions::new().write(true).open(&target).map(drop)
    };
    if let Err(source) = probe {
        return Err(ReplaceError::NotWritable {
            path: shown,
            source,
        });
    }
    let (dir, name) = dir_and_name(path, &target).map_err(io)?;
    let mut temp = TempFile::create(&dir, &name, Mode::KeepExisting).map_err(|source| {
        ReplaceError::Directory {
            path: shown.clone(),
            dir: dir.display().to_string(),
            source,
        }
    })?;
    temp.fill(contents, Some(permissions)).map_err(io)?;
    if interrupted.load(Ordering::SeqCst) {
        return Err(ReplaceError::Interrupted { path: shown });
    }
    let now = fs::metadata(&target).map_err(io)?;
    if FileStamp::of(&now) != *stamp {
        return Err(ReplaceError::Changed { path: shown });
    }
    temp.rename_to(&target, |from, to| fs::rename(from, to))
        .map_err(io)?;
    sync_dir(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::test_support::{names, read_fresh, CALM};
    use std::fs::File;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn an_unchanged_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "old");
        replace_if_unchanged(&path, b"new", &stamp, &CALM).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["policy.hujson"]);
    }

    #[test]
    fn an_edit_saved_after_the_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "old");
        // Saved in place, same inode, other size.
        fs::write(&path, "the user's edit").unwrap();
        let err = replace_if_unchanged(&path, b"formatted", &stamp, &CALM).unwrap_err();
        assert!(matches!(err, ReplaceError::Changed { .. }), "{err}");
        assert!(
            err.to_string().contains("changed since it was read"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"the user's edit");
        assert_eq!(names(dir.path()), ["policy.hujson"], "temporary file left");
    }

    #[test]
    fn an_edit_of_the_same_size_is_seen_by_its_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "aaa");
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        drop(file);
        fs::write(&path, "bbb").unwrap();
        let err = replace_if_unchanged(&path, b"formatted", &stamp, &CALM).unwrap_err();
        assert!(matches!(err, ReplaceError::Changed { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"bbb");
    }

    #[cfg(unix)]
    #[test]
    fn an_editor_save_by_rename_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "old");
        // Same size, and the modification time set back to the old one: only the inode
        // tells the new file from the old.
        let old_time = fs::metadata(&path).unwrap().modified().unwrap();
        let saved = dir.path().join("policy.hujson~");
        fs::write(&saved, "new").unwrap();
        File::options()
            .write(true)
            .open(&saved)
            .unwrap()
            .set_modified(old_time)
            .unwrap();
        fs::rename(&saved, &path).unwrap();
        let err = replace_if_unchanged(&path, b"formatted", &stamp, &CALM).unwrap_err();
        assert!(matches!(err, ReplaceError::Changed { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_without_write_permission_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = read_fresh(dir.path(), "old");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        let stamp = FileStamp::of(&fs::metadata(&path).unwrap());
        let err = replace_if_unchanged(&path, b"new", &stamp, &CALM).unwrap_err();
        assert!(matches!(err, ReplaceError::NotWritable { .. }), "{err}");
        assert!(err.to_string().contains("is not writable"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["policy.hujson"]);
    }

    #[test]
    fn an_interrupted_replace_removes_its_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "old");
        let signalled = AtomicBool::new(true);
        let err = replace_if_unchanged(&path, b"new", &stamp, &signalled).unwrap_err();
        assert!(matches!(err, ReplaceError::Interrupted { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["policy.hujson"], "temporary file left");
    }
}
