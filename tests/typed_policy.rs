//! The policy's strings are parsed once, when it is decoded (`src/model/selector/`): no
//! later stage calls the string parsers on a policy value. The parsers stay public for
//! strings that do not come from a decoded policy, and only these places take such strings:
//! the resolver's `resolve(&str)` (a command line's `--src`, a sidecar assertion) and the
//! language server (the word under the cursor of a document being typed).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};

const PARSERS: &[&str] = &[
    "parse_alias(",
    "split_acl_dst(",
    "parse_ports(",
    "parse_grant_ip(",
    "parse_proto(",
];

/// Where a string parser may be called, relative to `src/`.
const ALLOWED: &[&str] = &["model/selector/", "engine/resolve/mod.rs", "lsp/"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_stage_after_decoding_parses_a_policy_string_again() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "the walk found the sources: {}",
        files.len()
    );
    let mut found = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for parser in PARSERS {
                if code.contains(parser) && !code.contains(&format!("fn {parser}")) {
                    found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "match on the typed values of the policy (Selector::alias, Dst::host/ports, \
         Proto::protos, IpEntry::spec) instead of parsing its strings again:\n{}",
        found.join("\n")
    );
}
