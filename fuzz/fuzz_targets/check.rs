//! Parse and check arbitrary bytes: nothing may panic, and every span stays in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailgrant::validate::{check_text, Options};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = tailgrant::syntax::hujson::text_of(data) {
        let report = check_text(text, &Options::default());
        for d in report.findings.all() {
            assert!(d.span.end <= text.len());
        }
    }
});
