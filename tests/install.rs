//! Installing and running tailgrant as the README says: the declared `rust-version`, the
//! pre-commit hooks' file patterns, `tailgrant man --dir`, `tailgrant keygen --public`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

fn tailgrant() -> Command {
    Command::cargo_bin("tailgrant").unwrap()
}

/// A version as numbers: `1.88` is `[1, 88, 0]`.
fn version(v: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
    parts.resize(3, 0);
    parts
}

#[test]
fn rust_version_is_the_newest_any_locked_dependency_needs() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string("Cargo.toml").unwrap()).unwrap();
    let declared = manifest["package"]["rust-version"].as_str().unwrap();
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages: HashMap<&str, &Value> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    // What `cargo install --locked` builds: the normal and build dependencies reachable from
    // tailgrant (dev-dependencies are for tests and benchmarks only).
    let root = meta["resolve"]["root"].as_str().unwrap();
    let (mut seen, mut stack) = (HashSet::new(), vec![root]);
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let for_building = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if for_building {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    seen.remove(root);
    assert!(seen.len() > 20, "the dependency graph was not read");
    let (needed, by) = seen
        .iter()
        .filter_map(|id| {
            let p = packages[id];
            p["rust_version"]
                .as_str()
                .map(|v| (version(v), p["name"].as_str().unwrap().to_string()))
        })
        .max()
        .unwrap();
    assert_eq!(
        version(declared),
        needed,
        "Cargo.toml declares rust-version {declared}; the locked dependencies need {needed:?} ({by})"
    );
}

/// Each hook's `files` and `exclude` patterns (the file is flat YAML, one `key: value` a line).
fn hooks() -> Vec<(String, regex::Regex, Option<regex::Regex>)> {
    let text = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    let mut out = Vec::new();
    for block in text.split("\n- id: ").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        };
        let id = block.lines().next().unwrap().trim().to_string();
        let files = regex::Regex::new(&field("files:").unwrap()).unwrap();
        let exclude = field("exclude:").map(|e| regex::Regex::new(&e).unwrap());
        out.push((id, files, exclude));
    }
    out
}

#[test]
fn the_hooks_run_on_policy_files_and_skip_the_assertions_sidecar() {
    let hooks = hooks();
    assert_eq!(hooks.len(), 4, "four hooks");
    let runs = |files: &regex::Regex, exclude: &Option<regex::Regex>, path: &str| {
        files.is_match(path) && !exclude.as_ref().is_some_and(|e| e.is_match(path))
    };
    for (id, files, exclude) in &hooks {
        for path in [
            "policy.hujson",
            "acls.hujson",
            "tailscale/policy-prod.hujson",
            "acl.json",
        ] {
            assert!(runs(files, exclude, path), "{id} skips {path}");
        }
        for path in [
            "policy.tests.hujson",
            "tailscale/policy-prod.tests.hujson",
            "tailnet.json",
        ] {
            assert!(!runs(files, exclude, path), "{id} runs on {path}");
        }
    }
}

/// A policy only Headscale accepts: an ACL entry with a `#` key, which Headscale drops.
const HEADSCALE_ONLY: &str =
    r##"{"acls": [{"#meta": "x", "action": "accept", "src": ["*"], "dst": ["*:*"]}]}"##;

/// Each hook's id and `entry` arguments after the script.
fn hook_entries() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    text.split("\n- id: ")
        .skip(1)
        .map(|block| {
            let id = block.lines().next().unwrap().trim().to_string();
            let entry = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("entry:"))
                .unwrap();
            let mut words = entry.split_whitespace().map(String::from);
            assert_eq!(
                words.next().as_deref(),
                Some("scripts/pre-commit-hook.sh"),
                "{id}"
            );
            (id, words.collect())
        })
        .collect()
}

#[test]
fn the_headscale_hook_checks_by_headscales_rules() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.hujson");
    std::fs::write(&policy, HEADSCALE_ONLY).unwrap();
    let entries: HashMap<String, Vec<String>> = hook_entries().into_iter().collect();
    let run = |id: &str| {
        tailgrant()
            .args(&entries[id])
            .arg(&policy)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("tailgrant-check-headscale"), Some(0));
    assert_eq!(run("tailgrant-check"), Some(1));
    let example = "policy-examples/headscale/policy.hujson";
    let status = tailgrant()
        .args(&entries["tailgrant-check-headscale"])
        .arg(example)
        .output()
        .unwrap()
        .status;
    assert!(status.success(), "{example}");
}

/// The action's check step, run as the runner would run it, with `dialect` given.
#[test]
fn the_action_passes_its_dialect_input_to_the_check() {
    let action = std::fs::read_to_string("action.yml").unwrap();
    assert!(action.contains("\n  dialect:\n"), "a `dialect` input");
    let step = action
        .split("\n      id: check\n")
        .nth(1)
        .expect("the check step");
    let script: String = step
        .split("\n      run: |\n")
        .nth(1)
        .expect("its script")
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("        ").unwrap_or(l)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.hujson"), HEADSCALE_ONLY).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("tailgrant");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |dialect: &str| {
        let output = dir.path().join("output");
        let status = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("FILES", "policy.hujson")
            .env("TAILNET", "")
            .env("DIALECT", dialect)
            .env("FORMAT", "human")
            .env("DENY_WARNINGS", "false")
            .env("SARIF_FILE", "")
            .env("GITHUB_OUTPUT", &output)
            .output()
            .unwrap()
            .status;
        let written = std::fs::read_to_string(&output).unwrap_or_default();
        std::fs::remove_file(&output).unwrap_or_default();
        (status.code(), written)
    };
    assert_eq!(run("headscale"), (Some(0), "exit-code=0\n".to_string()));
    assert_eq!(run("tailscale"), (Some(1), "exit-code=1\n".to_string()));
}

#[test]
fn the_hooks_and_the_action_install_with_the_lock_file() {
    let hooks = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    assert!(
        !hooks.lines().any(|l| l.trim() == "language: rust"),
        "pre-commit's rust language ignores Cargo.lock"
    );
    let script = std::fs::read_to_string("scripts/pre-commit-hook.sh").unwrap();
    let action = std::fs::read_to_string("action.yml").unwrap();
    let readme = std::fs::read_to_string("README.md").unwrap();
    for (name, text) in [
        ("hook script", &script),
        ("action.yml", &action),
        ("README", &readme),
    ] {
        for line in text.lines().filter(|l| l.contains("cargo install ")) {
            assert!(line.contains("--locked"), "{name}: {line}");
        }
    }
}

#[test]
fn man_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    tailgrant()
        .args(["man", "--dir"])
        .arg(&out)
        .assert()
        .code(0);
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "tailgrant.1",
        "tailgrant-check.1",
        "tailgrant-fmt.1",
        "tailgrant-diff.1",
    ] {
        assert!(
            pages.iter().any(|p| p == page),
            "{page} missing from {pages:?}"
        );
    }
    let check = std::fs::read_to_string(out.join("tailgrant-check.1")).unwrap();
    assert!(check.contains("deny\\-warnings"), "{check}");
}

#[cfg(feature = "relay")]
#[test]
fn keygen_public_prints_the_public_key_of_an_existing_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("relay.key");
    let made = tailgrant()
        .args(["keygen", "-o"])
        .arg(&key)
        .assert()
        .code(0);
    let public = String::from_utf8(made.get_output().stdout.clone()).unwrap();
    assert!(public.starts_with("discokey:"), "{public}");
    let again = tailgrant()
        .args(["keygen", "--public"])
        .arg(&key)
        .assert()
        .code(0);
    assert_eq!(
        String::from_utf8(again.get_output().stdout.clone()).unwrap(),
        public
    );
    // Not a key: exit 2 with the path.
    let bad = dir.path().join("not-a-key");
    std::fs::write(&bad, "hello\n").unwrap();
    let out = tailgrant()
        .args(["keygen", "--public"])
        .arg(&bad)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("not a disco private key"), "{stderr}");
}
