//! The temporary file a write goes through, and the removal of those a killed run left.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The permissions of the file that replaces the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The old file's, or the default for a new file.
    KeepExisting,
    /// 0600 from the moment the temporary file exists.
    Private,
}

/// The directory of `target` and its file name.
pub(super) fn dir_and_name(path: &Path, target: &Path) -> io::Result<(PathBuf, String)> {
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

/// A temporary file beside the target, `.NAME.tailgrant-PID-N.tmp`, removed when dropped
/// unless it was renamed: every error path (and an unwinding panic) cleans up.
pub(super) struct TempFile {
    path: PathBuf,
    file: Option<File>,
    renamed: bool,
}

impl TempFile {
    /// Creates a new, unique temporary file, after removing stale ones of the same target
    /// (see [`remove_stale_temps`]).
    pub(super) fn create(dir: &Path, name: &str, mode: Mode) -> io::Result<Self> {
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
    pub(super) fn fill(
        &mut self,
        contents: &[u8],
        permissions: Option<fs::Permissions>,
    ) -> io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Err(io::Error::other("temporary file already closed"));
        };
        file.write_all(contents)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()
    }

    pub(super) fn rename_to(
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
    use crate::fsutil::replace_if_unchanged;
    use crate::fsutil::test_support::{names, read_fresh, CALM};
    use crate::fsutil::{read_bounded_stamped, DEFAULT_MAX_INPUT};

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
