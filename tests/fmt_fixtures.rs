//! Snapshots of `fmt` on the fixtures under `fixtures/fmt/`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failure is a panic"
)]

use tailgrant::syntax::fmt::format;

fn formatted(name: &str) -> String {
    let path = format!("{}/fixtures/fmt/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    format(&text).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

#[test]
fn admin_console_default_policy() {
    insta::assert_snapshot!(formatted("admin-console.hujson"));
}

#[test]
fn comments_everywhere() {
    insta::assert_snapshot!(formatted("comments.hujson"));
}

#[test]
fn escapes_unicode_numbers_and_crlf() {
    insta::assert_snapshot!(formatted("escapes-crlf.hujson"));
}

#[test]
fn wide_values_expand_and_align() {
    insta::assert_snapshot!(formatted("wide-and-aligned.hujson"));
}
