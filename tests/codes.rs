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
    for code in tailgrant::codes::ALL {
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

/// The Rust sources under `src/`, with their paths, except the registry itself.
fn sources_outside_the_registry() -> Vec<(std::path::PathBuf, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = [root.join("src/codes.rs"), root.join("src/codes")];
    let mut stack = vec![root.join("src")];
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if registry.contains(&path) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out
}

#[test]
fn no_code_is_written_as_a_string_outside_the_registry() {
    let literal = regex::Regex::new(r#""TG\d{4}""#).unwrap();
    let mut found = Vec::new();
    for (path, text) in sources_outside_the_registry() {
        for (i, line) in text.lines().enumerate() {
            if literal.is_match(line) {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "name these codes by their constant in src/codes.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_registered_code_is_used_outside_the_registry() {
    let registry = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/codes.rs"),
    )
    .unwrap();
    let constant =
        regex::Regex::new(r#"pub const (\w+): &Code = &Code \{\s*id: "(TG\d{4})""#).unwrap();
    let names: Vec<(String, String)> = constant
        .captures_iter(&registry)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert_eq!(
        names.len(),
        tailgrant::codes::ALL.len(),
        "every code is a constant"
    );
    let sources = sources_outside_the_registry();
    for (name, id) in names {
        let word = regex::Regex::new(&format!(r"\b{name}\b")).unwrap();
        assert!(
            sources.iter().any(|(_, text)| word.is_match(text)),
            "{id} ({name}) is never used: report it where it is found, or remove it"
        );
    }
}
