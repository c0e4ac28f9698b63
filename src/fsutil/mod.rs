//! File reads that cannot hang or exhaust memory, and file writes that cannot leave a
//! half-written policy behind.

mod read;
mod replace;
mod temp;
mod write;

pub use read::{read_bounded, read_bounded_stamped, FileStamp, ReadError, DEFAULT_MAX_INPUT};
pub use replace::{replace_if_unchanged, ReplaceError};
pub use write::{write_atomic, write_private};

/// What the tests of the submodules share.
#[cfg(test)]
mod test_support {
    use super::{read_bounded_stamped, FileStamp, DEFAULT_MAX_INPUT};
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::AtomicBool;

    /// The names of the files in `dir`, sorted.
    pub fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Writes `text` to `dir/policy.hujson` and reads it back with its stamp.
    pub fn read_fresh(dir: &Path, text: &str) -> (PathBuf, FileStamp) {
        let path = dir.join("policy.hujson");
        fs::write(&path, text).unwrap();
        let (bytes, stamp) = read_bounded_stamped(&path, DEFAULT_MAX_INPUT).unwrap();
        assert_eq!(bytes, text.as_bytes());
        (path, stamp.unwrap())
    }

    /// A signal flag that is never set.
    pub static CALM: AtomicBool = AtomicBool::new(false);
}
