//! Every command that reads a policy or a tailnet refuses at once what could hang it or
//! exhaust memory: a device, a FIFO, a directory, a file over `--max-input-size`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

const POLICY: &str = "policy-examples/relays-per-region.hujson";
const TAILNET: &str = "policy-examples/tailnet.json";

fn tailgrant() -> Command {
    let mut c = Command::cargo_bin("tailgrant").unwrap();
    // A hang fails the test instead of blocking the run; this is not a speed target.
    c.timeout(Duration::from_secs(60));
    c
}

fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("policy.hujson");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    path
}

/// The argument lists of every command that reads a policy, with `BAD` where the policy goes.
fn commands_reading_a_policy() -> Vec<Vec<&'static str>> {
    vec![
        vec!["check", "BAD"],
        vec!["fmt", "BAD"],
        vec!["fmt", "--check", "BAD"],
        vec!["test", "--tailnet", TAILNET, "BAD"],
        vec!["compile", "--tailnet", TAILNET, "BAD"],
        vec![
            "explain",
            "--tailnet",
            TAILNET,
            "BAD",
            "--src",
            "carol-laptop",
            "--dst",
            "relay-eu",
        ],
        vec!["diff", "BAD", POLICY],
        vec!["diff", POLICY, "BAD"],
    ]
}

/// Runs `args` with `bad` in place of `BAD` and expects exit 2, nothing on standard output
/// and a message on standard error that names the path and contains `expected`.
fn refused(args: &[&str], bad: &Path, expected: &str) {
    let argv: Vec<std::ffi::OsString> = args
        .iter()
        .map(|a| {
            if *a == "BAD" {
                bad.as_os_str().to_owned()
            } else {
                (*a).into()
            }
        })
        .collect();
    let out = tailgrant().args(&argv).assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&bad.display().to_string()) && stderr.contains(expected),
        "{args:?}: {stderr}"
    );
}

#[test]
fn check_of_dev_zero_ends_at_once_instead_of_filling_memory() {
    for args in commands_reading_a_policy() {
        refused(
            &args,
            Path::new("/dev/zero"),
            "not a regular file (a device)",
        );
    }
}

#[test]
fn a_fifo_without_a_writer_does_not_hang_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    for args in commands_reading_a_policy() {
        refused(&args, &path, "not a regular file (a FIFO)");
    }
}

#[test]
fn a_directory_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    for args in commands_reading_a_policy() {
        refused(&args, dir.path(), "not a regular file (a directory)");
    }
}

#[test]
fn a_file_over_max_input_size_is_refused_before_parsing() {
    // The policy padded with a comment past the size of the tailnet file, so that the limit
    // lets the tailnet through and stops the policy.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("policy.hujson");
    let padding = "x".repeat(64 * 1024);
    let text = format!("// {padding}\n{}", std::fs::read_to_string(POLICY).unwrap());
    std::fs::write(&big, &text).unwrap();
    let len = text.len() as u64;
    assert!(len > std::fs::metadata(TAILNET).unwrap().len());
    let limit = (len - 1).to_string();
    for args in commands_reading_a_policy() {
        let mut with_limit = vec!["--max-input-size", limit.as_str()];
        with_limit.extend(args);
        refused(
            &with_limit,
            &big,
            &format!("larger than the limit of {limit} bytes; raise it with --max-input-size"),
        );
    }
    // At the limit exactly, the file is read.
    tailgrant()
        .args(["check", "--max-input-size", &len.to_string()])
        .arg(&big)
        .assert()
        .code(0);
}

#[test]
fn the_tailnet_file_is_bounded_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let out = tailgrant()
        .args(["check", "--tailnet"])
        .arg(&path)
        .arg(POLICY)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("a FIFO"), "{stderr}");
}

#[test]
fn standard_input_is_read_and_bounded() {
    let text = std::fs::read_to_string(POLICY).unwrap();
    tailgrant()
        .args(["check", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(0);
    let out = tailgrant()
        .args(["check", "--max-input-size", "10", "-"])
        .write_stdin(text)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("standard input: larger than the limit of 10 bytes"),
        "{stderr}"
    );
}

#[test]
fn max_input_size_takes_suffixes_and_refuses_nonsense() {
    tailgrant()
        .args(["check", "--max-input-size", "1K", POLICY])
        .assert()
        .code(2);
    tailgrant()
        .args(["check", "--max-input-size", "1M", POLICY])
        .assert()
        .code(0);
    let out = tailgrant()
        .args(["check", "--max-input-size", "lots", POLICY])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("`lots` is not a size"), "{stderr}");
}

#[cfg(feature = "relay")]
#[test]
fn a_fifo_at_the_relay_policy_path_stops_the_start_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let policy = fifo(dir.path());
    let key = dir.path().join("relay.key");
    tailgrant()
        .args(["keygen", "-o"])
        .arg(&key)
        .assert()
        .code(0);
    let out = tailgrant()
        .args(["relay", "--policy"])
        .arg(&policy)
        .args(["--tailnet", TAILNET, "--node", "relay-eu", "--key"])
        .arg(&key)
        .args(["--listen", "127.0.0.1:0"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("refusing to start the relay") && stderr.contains("a FIFO"),
        "{stderr}"
    );
}
