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
    read_bounded_stamped(path, limit).map(|(bytes, _)| bytes)
}

/// Which version of a file was read: its device, inode, size and modification time, taken
/// from the open handle before the read. [`replace_if_unchanged`] compares it with the file
/// on disk just before replacing it, so that an edit saved in the meantime (in place or by
/// an editor's rename) is not overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub(crate) fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        FileStamp {
            device,
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// [`read_bounded`], also returning the [`FileStamp`] of what was read (none for standard
/// input).
pub fn read_bounded_stamped(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, Option<FileStamp>), ReadError> {
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
        let bytes = read_limited(io::stdin().lock(), limit).map_err(|e| match e {
            Limited::Io(e) => io_error(e),
            Limited::TooLarge => ReadError::TooLarge {
                path: shown(),
                limit,
            },
        })?;
        return Ok((bytes, None));
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
    let stamp = FileStamp::of(&meta);
    let bytes = read_limited(file, limit).map_err(|e| match e {
        Limited::Io(e) => io_error(e),
        Limited::TooLarge => ReadError::TooLarge {
            path: shown(),
            limit,
        },
    })?;
    Ok((bytes, Some(stamp)))
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

/// Replaces `path` atomically, as [`write_atomic`] does, but only if it is still the version
/// that was read (`stamp`): the file must be writable by the caller (a read-only file is left
/// alone), the temporary file is written and synced, and just before the rename the file's
/// device, inode, size and modification time are compared with `stamp` and `interrupted`
/// is asked (a signal handler's flag). On any refusal or failure the file is untouched and the
/// temporary file removed.
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
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// The directory of `target` and its file name.
fn dir_and_name(path: &Path, target: &Path) -> io::Result<(PathBuf, String)> {
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
    Ok((dir, name.to_string_lossy().into_owned()))
}

/// Makes a rename durable. Some file systems refuse to sync a directory; the new contents
/// are in place by then, so that is not reported as a failure.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A temporary file beside the target, `.NAME.tailgrant-PID-N.tmp`, removed when dropped
/// unless it was renamed: every error path (and an unwinding panic) cleans up.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
    renamed: bool,
}

impl TempFile {
    /// Creates a new, unique temporary file, after removing stale ones of the same target
    /// (see [`remove_stale_temps`]).
    fn create(dir: &Path, name: &str, mode: Mode) -> io::Result<Self> {
        remove_stale_temps(dir, name);
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
            let path = dir.join(format!(".{}.tailgrant-{pid}-{n}.tmp", temp_stem(name)));
            match options.open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                        renamed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes the contents, sets the permissions and syncs to disk, then closes the file.
    fn fill(&mut self, contents: &[u8], permissions: Option<fs::Permissions>) -> io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Err(io::Error::other("temporary file already closed"));
        };
        file.write_all(contents)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()
    }

    fn rename_to(
        &mut self,
        target: &Path,
        rename: impl FnOnce(&Path, &Path) -> io::Result<()>,
    ) -> io::Result<()> {
        rename(&self.path, target)?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            drop(self.file.take());
            // Best effort: the error that matters is the one already returned.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The part of a file name that names its temporary files: at most 200 bytes of it, so that
/// the temporary name stays within the 255 bytes file systems allow.
fn temp_stem(name: &str) -> &str {
    let mut end = name.len().min(200);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// How old a temporary file of tailgrant's must be before another run may remove it, when
/// whether its process still runs cannot be told.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the temporary files a killed run left beside `name` (`.NAME.tailgrant-PID-N.tmp`,
/// nothing else): those whose process is gone (where `/proc` tells) or, elsewhere, older than
/// an hour. A live run's file is left alone. Best effort: a file that cannot be removed is
/// skipped.
fn remove_stale_temps(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{}.tailgrant-", temp_stem(name));
    let proc_known = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.split_once('-'))
            .filter(|(pid, n)| {
                !pid.is_empty()
                    && !n.is_empty()
                    && pid.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
            })
            .map(|(pid, _)| pid.to_string())
        else {
            continue;
        };
        let stale = if pid == std::process::id().to_string() {
            false
        } else if proc_known {
            !Path::new("/proc").join(&pid).exists()
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER)
        };
        if stale {
            let _ = fs::remove_file(entry.path());
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

    use std::sync::atomic::AtomicBool;

    /// Writes `text` to `dir/policy.hujson` and reads it back with its stamp.
    fn read_fresh(dir: &Path, text: &str) -> (PathBuf, FileStamp) {
        let path = dir.join("policy.hujson");
        fs::write(&path, text).unwrap();
        let (bytes, stamp) = read_bounded_stamped(&path, DEFAULT_MAX_INPUT).unwrap();
        assert_eq!(bytes, text.as_bytes());
        (path, stamp.unwrap())
    }

    static CALM: AtomicBool = AtomicBool::new(false);

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

    #[test]
    fn a_failed_rename_of_a_replace_removes_its_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = read_fresh(dir.path(), "old");
        let (dir_name, name) = dir_and_name(&path, &path).unwrap();
        let mut temp = TempFile::create(&dir_name, &name, Mode::KeepExisting).unwrap();
        temp.fill(b"new", None).unwrap();
        assert!(temp
            .rename_to(&path, |_, _| Err(io::Error::other("disk on fire")))
            .is_err());
        drop(temp);
        assert_eq!(names(dir.path()), ["policy.hujson"], "temporary file left");
    }

    #[test]
    fn stale_temporary_files_of_a_dead_run_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, stamp) = read_fresh(dir.path(), "old");
        // PIDs above the kernel's maximum (4194304 at most) never run.
        let dead = ".policy.hujson.tailgrant-99999999-0.tmp";
        let own = format!(".policy.hujson.tailgrant-{}-7.tmp", std::process::id());
        let foreign = [
            ".policy.hujson.swp",
            ".other.hujson.tailgrant-99999999-0.tmp",
            ".policy.hujson.tailgrant-x-0.tmp",
        ];
        for f in [dead, own.as_str()].iter().chain(&foreign) {
            fs::write(dir.path().join(f), "leftover").unwrap();
        }
        if !Path::new("/proc/self").exists() {
            // Without /proc only age tells: make the dead run's file old.
            File::options()
                .write(true)
                .open(dir.path().join(dead))
                .unwrap()
                .set_modified(std::time::SystemTime::now() - 2 * STALE_AFTER)
                .unwrap();
        }
        replace_if_unchanged(&path, b"new", &stamp, &CALM).unwrap();
        let mut expected: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
        expected.push(own);
        expected.push("policy.hujson".to_string());
        expected.sort();
        assert_eq!(names(dir.path()), expected);
    }

    #[test]
    fn a_long_file_name_gets_a_temporary_file_within_the_name_limit() {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{}.hujson", "p".repeat(240));
        let path = dir.path().join(&name);
        fs::write(&path, "old").unwrap();
        let (_, stamp) = read_bounded_stamped(&path, DEFAULT_MAX_INPUT).unwrap();
        replace_if_unchanged(&path, b"new", &stamp.unwrap(), &CALM).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(names(dir.path()), [name]);
    }
}
