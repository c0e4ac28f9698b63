//! tailgrant's HuJSON parser against the reference implementation of hujson's grammar in
//! `tests/common/hujson_reference.rs` (the same differential as the `hujson_differential`
//! fuzz target): the same verdict, the same stopping offset, the same comments; and for
//! every accepted text, `fmt` succeeds, keeps the meaning and is idempotent.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

#[path = "common/hujson_reference.rs"]
mod hujson_reference;

use proptest::prelude::*;
use std::path::Path;
use tailgrant::{syntax::fmt, syntax::hujson};

/// Checks one text; panics with what differs.
fn differential(text: &str) {
    let reference = hujson_reference::parse(text.as_bytes());
    match (hujson::parse(text), reference) {
        (Ok((before, _)), Ok(comments)) => {
            let ours: Vec<(usize, usize)> = hujson::comments(text)
                .unwrap()
                .iter()
                .map(|s| (s.start, s.end))
                .collect();
            assert_eq!(ours, comments, "comments of {text:?}");
            let out = fmt::format(text).unwrap_or_else(|e| panic!("fmt {text:?}: {e:?}"));
            let (after, _) = hujson::parse(&out).unwrap_or_else(|e| panic!("{out:?}: {e:?}"));
            assert!(
                before.same_value(&after),
                "fmt changed the meaning of {text:?}"
            );
            assert_eq!(
                fmt::format(&out).unwrap(),
                out,
                "fmt not idempotent on {text:?}"
            );
        }
        (Err(e), Err(offset)) if e.code == "TG0004" => {
            panic!("{text:?}: too deep for a small input ({offset})")
        }
        (Err(e), Err(offset)) => assert_eq!(e.span.start, offset, "{text:?}: {}", e.message),
        (ours, reference) => panic!("{text:?}: tailgrant {ours:?}, reference {reference:?}"),
    }
}

/// Pieces of HuJSON and of what breaks it, to be strung together at random.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        " ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "\"k\"",
        "\"v\"",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\x\"",
        "\"\t\"",
        "\"",
        "\\",
        "null",
        "true",
        "fals",
        "0",
        "-1.5e3",
        "01",
        "+1",
        ".5",
        "1.",
        "1e",
        "0x1",
        "//",
        "// c\n",
        "// c\r",
        "/*",
        "*/",
        "/* b */",
        "/*\n * s\n */",
        "/",
        "\u{c}",
        "\u{b}",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "é",
        "'",
        "a",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn random_fragments_agree_with_the_reference(parts in prop::collection::vec(fragment(), 0..40)) {
        differential(&parts.concat());
    }

    #[test]
    fn random_text_agrees_with_the_reference(text in "[\\[\\]{}:,\" \\t\\r\\n/*a-z0-9\\\\.+-]{0,60}") {
        differential(&text);
    }
}

/// The fuzz target's seed corpus, which holds real policies and the vectors' inputs.
#[test]
fn seed_corpus_agrees_with_the_reference() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/hujson_differential");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            differential(text);
            seen += 1;
        }
    }
    assert!(seen > 100, "only {seen} seeds in {}", dir.display());
}
