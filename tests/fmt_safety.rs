//! `tailgrant fmt` never loses a user's edit and never leaves a temporary file behind: a
//! read-only file or an unwritable directory is refused with an error naming it, a signal
//! during the run leaves the file whole, and temporary files of killed runs are removed.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tailgrant");
const MESSY: &str = "{\"tagOwners\":{\"tag:relay\":[\"autogroup:admin\"]}}\n";

/// What `fmt` makes of [`MESSY`].
fn tidy() -> String {
    let formatted = tailgrant::syntax::fmt::format(MESSY).unwrap();
    assert_ne!(formatted, MESSY, "the sample must need formatting");
    formatted
}

fn tailgrant() -> Command {
    let mut c = Command::new(BIN);
    c.timeout(Duration::from_secs(120));
    c
}

/// The files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `tailgrant` as a user without privileges: root may write any directory, so the
/// permission tests drop to `nobody` with `setpriv` when run as root.
fn unprivileged() -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            BIN,
        ]);
        c.timeout(Duration::from_secs(120));
        c
    } else {
        tailgrant()
    }
}

#[test]
fn fmt_formats_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.hujson");
    fs::write(&path, MESSY).unwrap();
    tailgrant().arg("fmt").arg(&path).assert().code(0);
    assert_eq!(fs::read_to_string(&path).unwrap(), tidy());
    assert_eq!(names(dir.path()), ["policy.hujson"]);
}

#[test]
fn fmt_leaves_a_read_only_file_alone_and_formats_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("policy-locked.hujson");
    let open = dir.path().join("policy.hujson");
    fs::write(&locked, MESSY).unwrap();
    fs::write(&open, MESSY).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o444)).unwrap();
    let out = tailgrant()
        .arg("fmt")
        .arg(&locked)
        .arg(&open)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("{} is not writable", locked.display())),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&locked).unwrap(), MESSY);
    assert_eq!(fs::read_to_string(&open).unwrap(), tidy());
    assert_eq!(names(dir.path()), ["policy-locked.hujson", "policy.hujson"]);
}

#[test]
fn fmt_names_a_directory_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("policies");
    fs::create_dir(&inner).unwrap();
    let path = inner.join("policy.hujson");
    fs::write(&path, MESSY).unwrap();
    // The file may be written by anyone, its directory by no one but root.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    fs::set_permissions(&inner, fs::Permissions::from_mode(0o555)).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let out = unprivileged().arg("fmt").arg(&path).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    fs::set_permissions(&inner, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        stderr.contains(&format!(
            "cannot create a temporary file in the directory {}",
            inner.display()
        )) && stderr.contains("the directory must be writable"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), MESSY);
    assert_eq!(names(&inner), ["policy.hujson"]);
}

#[test]
fn fmt_removes_temporary_files_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.hujson");
    fs::write(&path, MESSY).unwrap();
    // No process has a PID above the kernel's largest (4194304 at most).
    let left = dir.path().join(".policy.hujson.tailgrant-99999999-0.tmp");
    fs::write(&left, "half a policy").unwrap();
    tailgrant().arg("fmt").arg(&path).assert().code(0);
    assert_eq!(names(dir.path()), ["policy.hujson"]);
}

/// A policy that takes `fmt` a while: `n` grants on one line.
fn large_policy(n: usize) -> String {
    let mut s = String::from("{\"grants\":[");
    for i in 0..n {
        s.push_str(&format!(
            "{{\"src\":[\"user{i}@example.com\"],\"dst\":[\"tag:web\"],\"ip\":[\"tcp:443\"]}},"
        ));
    }
    s.push_str("]}\n");
    s
}

#[test]
fn a_signal_during_fmt_leaves_the_file_whole_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.hujson");
    let text = large_policy(100_000);
    fs::write(&path, &text).unwrap();
    let child = std::process::Command::new(BIN)
        .arg("fmt")
        .arg(&path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Formatting 100,000 grants (7 MB) takes a debug build about 5 s, ten times the wait;
    // the handlers are installed before the file is read.
    std::thread::sleep(Duration::from_millis(500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        fs::read_to_string(&path).unwrap() == text,
        "the file changed"
    );
    assert_eq!(names(dir.path()), ["policy.hujson"]);
}
