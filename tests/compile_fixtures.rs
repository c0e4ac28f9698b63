//! The compiler on in-repo cases, so that a checkout without the conformance corpus still
//! tests compile semantics: each `fixtures/compile/<name>/policy.hujson`, compiled against
//! `fixtures/compile/tailnet.json` by `tailgrant compile --format tailcfg`, must exit 0, and
//! its per-node output (packet filters, WhoIs capability maps, SSH rules) is kept as a
//! snapshot (`tests/snapshots/compile_fixtures__<name>.snap`).
//!
//! A case whose folder holds a `dialect` file (`headscale`) is compiled under that
//! dialect's rules, through the library (`Validated` records the dialect; `compile` prints
//! the same JSON).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tailgrant::engine::compile;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::model::Dialect;
use tailgrant::validate::{check_text, Options};

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

/// The dialect a case is compiled under, from its `dialect` file (Tailscale's without one).
fn dialect(dir: &Path) -> Option<Dialect> {
    let text = std::fs::read_to_string(dir.join("dialect")).ok()?;
    match text.trim() {
        "headscale" => Some(Dialect::Headscale),
        "tailscale" => Some(Dialect::Tailscale),
        other => panic!("{}: unknown dialect `{other}`", dir.display()),
    }
}

fn compile_in(dir: &Path, dialect: Dialect) -> Value {
    let tailnet =
        Tailnet::from_text(&std::fs::read_to_string(Path::new(ROOT).join("tailnet.json")).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(dir.join("policy.hujson")).unwrap();
    let options = Options {
        tailnet: Some(&tailnet),
        dialect,
    };
    let policy = check_text(&text, &options)
        .into_validated()
        .unwrap_or_else(|f| panic!("{}: {f:?}", dir.display()));
    serde_json::to_value(compile::compile(&policy, &tailnet)).unwrap()
}

fn compile(dir: &Path) -> Value {
    if let Some(dialect) = dialect(dir) {
        return compile_in(dir, dialect);
    }
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
