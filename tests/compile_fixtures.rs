//! The compiler on in-repo cases, so that a checkout without the conformance corpus still
//! tests compile semantics: each `fixtures/compile/<name>/policy.hujson`, compiled against
//! `fixtures/compile/tailnet.json` by `tailgrant compile --format tailcfg`, must exit 0, and
//! its per-node output (packet filters, WhoIs capability maps, SSH rules) is kept as a
//! snapshot (`tests/snapshots/compile_fixtures__<name>.snap`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str = "fixtures/compile";

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(ROOT)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn compile(dir: &Path) -> Value {
    let out = Command::cargo_bin("tailgrant")
        .unwrap()
        .args(["compile", "--format", "tailcfg", "--tailnet"])
        .arg(Path::new(ROOT).join("tailnet.json"))
        .arg(dir.join("policy.hujson"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: compile failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_compile_fixture_matches_its_snapshot() {
    let cases = cases();
    assert!(cases.len() >= 8, "only {} compile fixtures", cases.len());
    let tailnet: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("tailnet.json")).unwrap(),
    )
    .unwrap();
    let node_count = tailnet["nodes"].as_object().unwrap().len();
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let compiled = compile(&dir);
        let nodes = compiled["nodes"].as_object().unwrap();
        assert_eq!(nodes.len(), node_count, "{name}: one output per node");
        insta::assert_snapshot!(name, serde_json::to_string_pretty(&compiled).unwrap());
    }
}
