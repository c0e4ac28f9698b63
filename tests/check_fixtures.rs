//! One fixture per diagnostic code under `fixtures/check/`: the code named by the file
//! must be reported, every span must lie inside the file, and the rendered diagnostics are
//! kept as snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::fmt::Write as _;
use std::path::Path;
use tailgrant::codes;
use tailgrant::diagnostic::Findings;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::model::Dialect;
use tailgrant::span::LineIndex;
use tailgrant::validate::lint::RULES;
use tailgrant::validate::{check_text, Options};

fn tailnet() -> Tailnet {
    Tailnet::from_text(&std::fs::read_to_string("fixtures/tailnet.json").unwrap()).unwrap()
}

/// The tailnet of the fixtures checked under the Headscale dialect (named `*-headscale-*`):
/// Headscale's users and nodes listings.
fn headscale_tailnet() -> Tailnet {
    Tailnet::from_text(&std::fs::read_to_string("fixtures/tailnet-headscale.json").unwrap())
        .unwrap()
}

fn check_bytes(bytes: &[u8], tailnet: &Tailnet, dialect: Dialect) -> (String, Findings) {
    let options = Options {
        tailnet: Some(tailnet),
        dialect,
    };
    match tailgrant::syntax::hujson::text_of(bytes) {
        Ok(text) => (text.to_string(), check_text(text, &options).findings),
        Err(d) => {
            let mut f = Findings::default();
            f.push(d);
            (String::from_utf8_lossy(bytes).into_owned(), f)
        }
    }
}

fn render(text: &str, findings: &Findings) -> String {
    let lines = LineIndex::new(text);
    let mut out = String::new();
    for d in findings.all() {
        let (l, c) = lines.position(text, d.span.start);
        let _ = writeln!(
            out,
            "{l}:{c} {} {} {}",
            d.severity.as_str(),
            d.code,
            d.message
        );
        let _ = writeln!(out, "    label: {}", d.label);
        let _ = writeln!(out, "    help: {}", d.help.as_deref().unwrap_or("-"));
        for r in &d.related {
            let (l, c) = lines.position(text, r.span.start);
            let _ = writeln!(out, "    related {l}:{c}: {}", r.label);
        }
    }
    out
}

#[test]
fn every_fixture_reports_its_code_with_spans_inside_the_file() {
    let tailnet = tailnet();
    let headscale = headscale_tailnet();
    let mut paths: Vec<_> = std::fs::read_dir("fixtures/check")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() > 50);
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let (text, findings) = if name.contains("-headscale-") {
            check_bytes(&bytes, &headscale, Dialect::Headscale)
        } else {
            check_bytes(&bytes, &tailnet, Dialect::Tailscale)
        };
        for d in findings.all() {
            assert!(
                d.span.start <= d.span.end && d.span.end <= bytes.len(),
                "{name}: span {:?} outside the file",
                d.span
            );
            assert!(d.help.is_some(), "{name}: {} has no help", d.code);
            assert!(!d.label.is_empty(), "{name}: {} has no label", d.code);
        }
        if let Some(valid) = name.strip_prefix("valid-") {
            assert!(
                findings.all().next().is_none(),
                "{valid}: {}",
                render(&text, &findings)
            );
        } else {
            let code = &name[..6];
            assert!(
                findings.all().any(|d| d.code == code),
                "{name}: expected {code}, got:\n{}",
                render(&text, &findings)
            );
        }
        insta::assert_snapshot!(name, render(&text, &findings));
    }
}

#[test]
fn every_code_has_a_fixture() {
    // Assertion codes (TG05xx) come from the sidecar files under fixtures/assertions.
    let fixtures: Vec<String> = ["fixtures/check", "fixtures/assertions"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // The formatter's meaning check guards against a bug of `tailgrant fmt` that no input is
    // known to trigger; its unit tests force it (src/syntax/fmt/tests.rs).
    let without_fixture = [codes::FMT_MEANING_CHANGED];
    for code in codes::ALL.iter().filter(|c| !without_fixture.contains(c)) {
        let code = code.id;
        assert!(
            fixtures.iter().any(|f| f.starts_with(code)),
            "no fixture for {code}"
        );
    }
}

#[test]
fn every_lint_rule_documents_itself() {
    for rule in RULES {
        let file =
            Path::new("src/validate/lint").join(format!("{}.rs", rule.name().replace('-', "_")));
        let shared = Path::new("src/validate/lint/unused.rs");
        let text = std::fs::read_to_string(if file.exists() {
            file
        } else {
            shared.to_path_buf()
        })
        .unwrap();
        assert!(
            text.starts_with("//! "),
            "{} has no doc comment",
            rule.name()
        );
        for section in ["**What:**", "**Why:**", "**Example:**"] {
            assert!(text.contains(section), "{} lacks {section}", rule.name());
        }
    }
}
