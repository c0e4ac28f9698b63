//! File reads that cannot hang or exhaust memory, and file writes that cannot leave a
//! half-written policy behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest input read by default: 32 MiB. Real policy files are kilobytes; Tailscale's
/// admin console refuses far smaller ones. Commands take a flag to raise it.
pub const DEFAULT_MAX_INPUT: u64 = 32 * 1024 * 1024;

/// Why a bounded read failed. The message names the path and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path is not a regular file (a FIFO, a device, a socket or a directory).
    #[error("{path}: not a regular file ({kind}); give the path of a policy file")]
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The file or standard input holds more than the limit.
    #[error("{path}: larger than the limit of {limit} bytes; raise it with --max-input-size if this is intended")]
    TooLarge {
        /// The path as given.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The operating system refused.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The error.
        source: io::Error,
    },
}

/// Reads a whole regular file, or standard input for `-`, refusing at once what could block
/// or never end: the file is opened without blocking (so a FIFO with no writer does not wait),
/// its type is checked on the open handle (no race with a rename), and at most `limit` bytes
/// are read (a file that grows past the limit while being read is refused too).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let shown = || {
        if path == Path::new("-") {
            "standard input".to_string()
        } else {
            path.display().to_string()
        }
    };
    let io_error = |source| ReadError::Io {
        path: shown(),
        source,
    };
    if path == Path::new("-") {
        return read_limited(io::stdin().lock(), limit).map_err(|e| match e {
            Limited::Io(e) => io_error(e),
            Limited::TooLarge => ReadError::TooLarge {
                path: shown(),
                limit,
            },
        });
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: shown(),
            kind: file_kind(&meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: shown(),
            limit,
        });
    }
    read_limited(file, limit).map_err(|e| match e {
        Limited::Io(e) => io_error(e),
        Limited::TooLarge => ReadError::TooLarge {
            path: shown(),
            limit,
        },
    })
}

/// A failure of [`read_limited`].
enum Limited {
    Io(io::Error),
    TooLarge,
}

/// Reads everything from `reader`, but no more than `limit` bytes.
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, Limited> {
    let mut buf = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(Limited::Io)?;
    if buf.len() as u64 > limit {
        return Err(Limited::TooLarge);
    }
    Ok(buf)
}

/// A word for what a non-regular file is.
fn file_kind(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

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

/// The permissions of the file that replaces the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The old file's, or the default for a new file.
    KeepExisting,
    /// 0600 from the moment the temporary file exists.
    Private,
}

/// [`write_atomic`] or [`write_private`] with the final rename passed in, so that tests can
/// make it fail.
fn write_via_temp(
    path: &Path,
    contents: &[u8],
    mode: Mode,
    rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let permissions = match fs::metadata(&target) {
        Ok(_) if mode == Mode::Private => None,
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` does not name a file", path.display()),
        )
    })?;
    let (tmp, mut file) = create_temp(&dir, &name.to_string_lossy(), mode)?;
    let result = (|| {
        file.write_all(contents)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        rename(&tmp, &target)
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable. Some file systems refuse to sync a directory; the new
    // contents are in place by now, so that is not reported as a failure.
    #[cfg(unix)]
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new, unique temporary file next to the target: `.NAME.tailgrant-PID-N.tmp`.
fn create_temp(dir: &Path, name: &str, mode: Mode) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if mode == Mode::Private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.tailgrant-{pid}-{n}.tmp"));
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read_returns_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        fs::write(&path, b"{}\n").unwrap();
        assert_eq!(read_bounded(&path, 3).unwrap(), b"{}\n");
    }

    #[test]
    fn bounded_read_refuses_a_file_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        fs::write(&path, b"{}\n").unwrap();
        let err = read_bounded(&path, 2).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 2, .. }), "{err}");
        assert!(err.to_string().contains("--max-input-size"), "{err}");
    }

    #[test]
    fn bounded_read_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_bounded(dir.path(), DEFAULT_MAX_INPUT).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a directory",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn bounded_read_refuses_an_endless_device_at_once() {
        let err = read_bounded(Path::new("/dev/zero"), DEFAULT_MAX_INPUT).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "a device",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn bounded_read_refuses_a_fifo_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.hujson");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let err = read_bounded(&path, DEFAULT_MAX_INPUT).unwrap_err();
        assert!(
            matches!(err, ReadError::NotRegular { kind: "a FIFO", .. }),
            "{err}"
        );
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

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
