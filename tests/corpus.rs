//! The rule of `tests/common/corpus.rs` for tests that read `../shared/`: a missing corpus
//! fails under CI and is skipped, with a note, elsewhere.

#[path = "common/corpus.rs"]
mod corpus;

use corpus::{is_ci, presence, Presence};

#[test]
fn ci_is_on_for_the_values_ci_services_set() {
    for value in ["true", "TRUE", "1", "yes"] {
        assert!(is_ci(Some(value)), "CI={value}");
    }
    for value in [
        None,
        Some(""),
        Some(" "),
        Some("0"),
        Some("false"),
        Some("False"),
    ] {
        assert!(!is_ci(value), "CI={value:?}");
    }
}

#[test]
fn a_present_corpus_is_found_with_or_without_ci() {
    let dir = tempfile::tempdir().unwrap();
    for ci in [None, Some("true")] {
        assert_eq!(
            presence(dir.path(), ci),
            Presence::Found(dir.path().to_path_buf())
        );
    }
}

#[test]
fn a_missing_corpus_fails_under_ci_instead_of_passing_silently() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("conformance");
    match presence(&missing, Some("true")) {
        Presence::Fail(message) => {
            assert!(
                message.contains(&missing.display().to_string()),
                "{message}"
            );
            assert!(message.contains("../shared"), "names the fix: {message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_missing_corpus_is_skipped_with_a_note_outside_ci() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("realworld");
    for ci in [None, Some("false")] {
        match presence(&missing, ci) {
            Presence::Skip(note) => {
                assert!(note.starts_with("skipped: "), "{note}");
                assert!(note.contains(&missing.display().to_string()), "{note}");
            }
            other => panic!("expected a skip with CI={ci:?}, got {other:?}"),
        }
    }
}

#[test]
fn a_file_where_the_corpus_should_be_is_not_a_corpus() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        presence(file.path(), Some("true")),
        Presence::Fail(_)
    ));
}
