//! Bounded reads: a FIFO, a device or a file larger than the limit is refused at once,
//! never waited on or read whole into memory.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

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

/// Which version of a file was read: its device, inode, size and modification time, taken from
/// the open handle before the read. [`replace_if_unchanged`](super::replace_if_unchanged)
/// compares it with the file on disk just before replacing it, so that an edit saved in the
/// meantime (in place or by an editor's rename) is not overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &fs::Metadata) -> Self {
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
    let too_large = || ReadError::TooLarge {
        path: shown(),
        limit,
    };
    let limited = |e| match e {
        Limited::Io(e) => io_error(e),
        Limited::TooLarge => too_large(),
    };
    if path == Path::new("-") {
        let bytes = read_limited(io::stdin().lock(), limit).map_err(limited)?;
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
        return Err(too_large());
    }
    let stamp = FileStamp::of(&meta);
    let bytes = read_limited(file, limit).map_err(limited)?;
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
}
