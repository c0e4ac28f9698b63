//! `docs/codes.md` is generated from the code registry and must not drift from it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;

#[test]
fn docs_codes_md_matches_the_registry() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/codes.md");
    let committed = std::fs::read_to_string(&path).expect("docs/codes.md is missing");
    assert!(
        committed == tailgrant::codes::markdown(),
        "docs/codes.md is out of date; regenerate it with \
         `cargo run -q -- check --explain all > docs/codes.md`"
    );
}

#[test]
fn every_code_has_an_entry_in_docs() {
    let docs = tailgrant::codes::markdown();
    let codes = tailgrant::diagnostic::CODES
        .iter()
        .map(|(c, _)| *c)
        .chain(tailgrant::validate::lint::RULES.iter().map(|r| r.code));
    for code in codes {
        assert!(
            docs.contains(&format!("\n## {code}\n")),
            "{code} has no entry"
        );
    }
}

#[test]
fn check_explain_prints_the_entry_of_a_code() {
    let expected = tailgrant::codes::lookup("TG0201").unwrap().markdown();
    let out = Command::cargo_bin("tailgrant")
        .unwrap()
        .args(["check", "--explain", "TG0201"])
        .assert()
        .code(0);
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), expected);
    assert!(expected.contains("tagOwners"), "{expected}");
}

#[test]
fn check_explain_of_an_unknown_code_is_a_usage_error() {
    Command::cargo_bin("tailgrant")
        .unwrap()
        .args(["check", "--explain", "TG9999"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--explain all"));
}
