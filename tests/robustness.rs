//! No input makes parse or check panic, and every diagnostic points inside its file.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use proptest::prelude::*;
use tailgrant::validate::{check_text, Options};

fn assert_spans_inside(text: &str) {
    let report = check_text(text, &Options::default());
    for d in report.findings.all() {
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?} outside {} bytes",
            text.len()
        );
        assert!(
            text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end),
            "{d:?} splits a character"
        );
    }
}

/// Fragments that policies are made of, to build inputs that get past the parser.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("// c\n".to_string()),
        Just("/* c */".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("1".to_string()),
        prop::sample::select(vec![
            "acls",
            "grants",
            "groups",
            "hosts",
            "tagOwners",
            "ssh",
            "nodeAttrs",
            "tests",
            "sshTests",
            "ipsets",
            "postures",
            "autoApprovers",
            "routes",
            "src",
            "dst",
            "ip",
            "app",
            "via",
            "users",
            "action",
            "accept",
            "deny",
            "proto",
            "target",
            "attr",
            "ipPool",
            "checkPeriod",
            "acceptEnv",
            "*",
            "tag:a",
            "group:g",
            "autogroup:self",
            "autogroup:internet",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "tcp:0",
            "icmp",
            "*:*",
            "h:22",
            "tailscale.com/cap/relay",
            "user:*@x.org",
            "localpart:*@*",
            "ipset:s",
            "add ipset:s",
            "-1m",
            "é",
        ])
        .prop_map(|s| format!("\"{s}\"")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        assert_spans_inside(&text);
    }

    #[test]
    fn policy_shaped_text_never_panics(parts in prop::collection::vec(fragment(), 0..60)) {
        assert_spans_inside(&parts.concat());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(text) = tailgrant::syntax::hujson::text_of(&bytes) {
            assert_spans_inside(text);
        }
    }
}

#[test]
fn real_world_policies_are_handled() {
    let dir = std::path::Path::new("../shared/realworld");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "hujson") {
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(text) = tailgrant::syntax::hujson::text_of(&bytes) {
                assert_spans_inside(text);
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn huge_numbers_in_durations_are_errors_not_crashes() {
    for period in [
        "170141183460469231731687303715.9s",
        "99999999999999999999999999999999999999h",
        "1.99999999999999999999999999ns",
    ] {
        let text = format!(
            r#"{{"ssh": [{{"action": "check", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["root"], "checkPeriod": "{period}"}}]}}"#
        );
        assert_spans_inside(&text);
    }
}

#[test]
fn huge_and_deep_inputs_are_errors_not_crashes() {
    assert_spans_inside(&"[".repeat(1_000_000));
    assert_spans_inside(&"{\"a\":".repeat(100_000));
    let big = format!(
        "{{\"hosts\": {{{}}}}}",
        (0..50_000)
            .map(|i| format!("\"h{i}\": \"10.0.0.1\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_spans_inside(&big);
}
