//! The corpora that live beside the checkout, in `../shared/` (`conformance`, `realworld`,
//! `headscale`), and what a test does when one is missing: under CI (`CI` set to anything
//! but empty, `0` or `false`, as CI services set it) the test fails, so that a broken
//! checkout never passes silently; elsewhere it is skipped with a note on stderr.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What a test does about one corpus.
#[derive(Debug, PartialEq, Eq)]
pub enum Presence {
    /// The corpus is there: read it from this directory.
    Found(PathBuf),
    /// Missing outside CI: skip, saying this on stderr.
    Skip(String),
    /// Missing under CI: fail with this message.
    Fail(String),
}

/// Whether the value of the `CI` variable asks for a CI run.
pub fn is_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
    })
}

/// What to do about the corpus expected at `dir`, given the value of `CI`.
pub fn presence(dir: &Path, ci: Option<&str>) -> Presence {
    if dir.is_dir() {
        return Presence::Found(dir.to_path_buf());
    }
    if is_ci(ci) {
        Presence::Fail(format!(
            "{} is missing and CI is set: place the shared corpus beside the checkout \
             (`ln -s /path/to/shared ../shared`), or unset CI to skip the tests that need it",
            dir.display()
        ))
    } else {
        Presence::Skip(format!(
            "skipped: {} is missing (set CI=true to make this a failure)",
            dir.display()
        ))
    }
}

/// The directory `../shared/<name>` beside the checkout (`name` may go deeper, e.g.
/// `conformance/ssh_results`), or `None` after a note on stderr when it is missing outside
/// CI; panics when it is missing under CI.
pub fn shared(name: &str) -> Option<PathBuf> {
    shared_beside(Path::new(env!("CARGO_MANIFEST_DIR")), name)
}

/// [`shared`] for the checkout at `checkout`: a crate inside it (`oracle/`) names its
/// parent.
#[allow(clippy::panic, reason = "a test helper: fails the test by panicking")]
pub fn shared_beside(checkout: &Path, name: &str) -> Option<PathBuf> {
    let dir = checkout.join("../shared").join(name);
    match presence(&dir, std::env::var("CI").ok().as_deref()) {
        Presence::Found(dir) => Some(dir),
        Presence::Skip(note) => {
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            let _ = writeln!(std::io::stderr(), "{note}");
            None
        }
        Presence::Fail(message) => panic!("{message}"),
    }
}
