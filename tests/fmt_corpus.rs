//! `fmt` over every policy we have: the conformance corpus (`policy_text` of each case in
//! `../shared/conformance/*/*.json`), the real-world files (`../shared/realworld/*.hujson`)
//! and the project's own fixtures (`fixtures/**/*.hujson`). For every file that parses,
//! formatting is idempotent, keeps the meaning and keeps every comment.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: reports what it skipped and measured, fails by panicking"
)]

use std::path::{Path, PathBuf};
use tailgrant::{syntax::fmt, syntax::hujson};

#[path = "common/corpus.rs"]
mod corpus;

/// Every comment of `text`, sorted, each without whitespace: the formatter re-indents
/// comments, trims their line ends and turns CRs into spaces or line feeds, as hujson does.
fn comments(text: &str) -> Vec<String> {
    let mut out: Vec<String> = hujson::comments(text)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            text[s.start..s.end]
                .chars()
                .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
                .collect()
        })
        .collect();
    out.sort();
    out
}

#[derive(Default)]
struct Tally {
    checked: usize,
    unchanged: usize,
    not_parsing: usize,
    comments: usize,
}

/// Checks the three properties on one text; `name` says which file failed.
fn check(name: &str, text: &str, tally: &mut Tally) {
    let Ok((before, _)) = hujson::parse(text) else {
        tally.not_parsing += 1;
        assert_eq!(
            fmt::format(text).unwrap_err(),
            hujson::parse(text).unwrap_err(),
            "{name}: fmt and parse disagree on the error"
        );
        return;
    };
    let out = fmt::format(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let again = fmt::format(&out).unwrap_or_else(|e| panic!("{name} (second run): {e:?}"));
    assert!(
        again == out,
        "{name}: not idempotent\n{}",
        fmt::unified_diff(&out, &again, name)
    );
    let (after, _) = hujson::parse(&out).unwrap_or_else(|e| panic!("{name}: output: {e:?}"));
    assert!(before.same_value(&after), "{name}: meaning changed");
    let kept = comments(text);
    assert_eq!(kept, comments(&out), "{name}: comments changed");
    assert!(
        out.ends_with('\n') && !out.ends_with("\n\n"),
        "{name}: final newline"
    );
    tally.checked += 1;
    tally.comments += kept.len();
    tally.unchanged += usize::from(out == text);
}

fn files(dir: &Path, ext: &str, recurse: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && recurse {
            out.extend(files(&path, ext, true));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn report(what: &str, t: &Tally) {
    eprintln!(
        "fmt over {what}: {} files checked ({} already formatted, {} comments kept), {} not parsing",
        t.checked, t.unchanged, t.comments, t.not_parsing
    );
}

#[test]
fn conformance_corpus() {
    let Some(root) = corpus::shared("conformance") else {
        return;
    };
    let mut tally = Tally::default();
    for suite in files(&root, "json", true) {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&suite).unwrap()).unwrap();
        let Some(text) = case.get("policy_text").and_then(|t| t.as_str()) else {
            continue;
        };
        check(&suite.display().to_string(), text, &mut tally);
    }
    report("the conformance corpus", &tally);
    assert!(tally.checked > 0, "no conformance case parsed");
}

#[test]
fn realworld_policies() {
    let Some(root) = corpus::shared("realworld") else {
        return;
    };
    let mut tally = Tally::default();
    for path in files(&root, "hujson", false) {
        let text = std::fs::read_to_string(&path).unwrap();
        check(&path.display().to_string(), &text, &mut tally);
    }
    report("the real-world policies", &tally);
}

#[test]
fn project_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut tally = Tally::default();
    for path in files(&root, "hujson", true) {
        // Fixtures may be deliberately invalid UTF-8 or carry a BOM: those are `check`'s.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        check(&path.display().to_string(), &text, &mut tally);
    }
    report("the project fixtures", &tally);
    assert!(tally.checked >= 4, "the fmt fixtures are missing");
}
