//! tailgrant's HuJSON parser against the reference implementation of hujson's grammar
//! (`tests/common/hujson_reference.rs`, written from tailscale/hujson's `parse.go`): the same
//! verdict, the same stopping offset and the same comments; for every accepted text, `fmt`
//! succeeds, keeps the meaning and is idempotent.
//!
//! Seeds (policies from the conformance corpus and the real-world files, and the inputs of
//! the parser's vector tables) are in `fuzz/seeds/hujson_differential/`:
//! `cargo fuzz run hujson_differential fuzz/corpus/hujson_differential fuzz/seeds/hujson_differential`.
#![no_main]

#[path = "../../tests/common/hujson_reference.rs"]
mod hujson_reference;

use libfuzzer_sys::fuzz_target;
use tailgrant::{syntax::fmt, syntax::hujson};

/// The reference recurses once per nesting level: keep inputs small, as hujson's own fuzz
/// test does.
const MAX_INPUT: usize = 8 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let reference = hujson_reference::parse(data);
    let Ok(text) = hujson::text_of(data) else {
        // Not UTF-8 (or a byte-order mark): tailgrant refuses the file, whatever hujson says.
        return;
    };
    match (hujson::parse(text), reference) {
        (Ok((before, _)), Ok(comments)) => {
            let ours: Vec<(usize, usize)> = hujson::comments(text)
                .unwrap_or_default()
                .iter()
                .map(|s| (s.start, s.end))
                .collect();
            assert_eq!(ours, comments, "comments");
            let out = fmt::format(text).unwrap_or_else(|e| panic!("fmt refused: {e:?}"));
            let (after, _) = hujson::parse(&out).unwrap_or_else(|e| panic!("fmt output: {e:?}"));
            assert!(before.same_value(&after), "fmt changed the meaning");
            assert_eq!(fmt::format(&out).ok().as_deref(), Some(out.as_str()), "idempotence");
        }
        (Err(e), Err(offset)) => assert_eq!(e.span.start, offset, "{}", e.message),
        (ours, reference) => panic!("tailgrant {ours:?}, reference {reference:?}"),
    }
});
