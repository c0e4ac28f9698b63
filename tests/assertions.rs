//! The relay and capability assertions sidecar (`docs/assertions.md`) on the fixtures in
//! `fixtures/assertions/`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use tailgrant::codes;
use tailgrant::model::policy::parse_policy;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::tools::assertions::run_assertions;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("fixtures/assertions/{name}")).unwrap()
}

fn setup() -> (String, Tailnet) {
    let tailnet = Tailnet::from_text(&fixture("tailnet.json")).unwrap();
    (fixture("policy.hujson"), tailnet)
}

#[test]
fn every_passing_assertion_holds() {
    let (text, tailnet) = setup();
    let (policy, _) = parse_policy(&text).unwrap();
    let failures = run_assertions(&policy, &tailnet, &fixture("pass.tests.hujson")).unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn failures_name_the_pair_the_reason_and_the_policy_line() {
    let (text, tailnet) = setup();
    let (policy, _) = parse_policy(&text).unwrap();
    let sidecar = fixture("TG0502-fail.tests.hujson");
    let failures = run_assertions(&policy, &tailnet, &sidecar).unwrap();
    // Every assertion of the file fails at least once, each at its own span.
    let mut spans: Vec<_> = failures.iter().map(|f| f.span).collect();
    spans.dedup();
    assert_eq!(spans.len(), 6, "{failures:#?}");
    let at = |needle: &str| {
        let start = sidecar.find(needle).unwrap();
        failures
            .iter()
            .filter(|f| f.span.start <= start && start < f.span.end)
            .collect::<Vec<_>>()
    };

    // Members may not allocate: both members on both EU relays, and the fix is named.
    let members = at("no relay grant for members");
    assert_eq!(members.len(), 4);
    assert!(members[0].reason.contains("tailscale.com/cap/relay"));

    // The US relay is off: the failure points at the nodeAttrs entry.
    let drained = at("disable-relay-server\"");
    assert_eq!(drained.len(), 2);
    assert!(drained[0].reason.contains("disable-relay-server"));
    let span = drained[0].policy_spans[0];
    assert!(text[span.start..span.end].contains("\"target\": [\"tag:relay-us\"]"));

    // An unexpected allow points at the grant.
    let allowed = at("the first grant allows it");
    assert_eq!(allowed.len(), 4);
    let span = allowed[0].policy_spans[0];
    assert!(text[span.start..span.end].contains("\"dst\": [\"tag:relay-eu\"]"));
    let cap = at("the third grant gives it");
    assert!(
        text[cap[0].policy_spans[0].start..cap[0].policy_spans[0].end]
            .contains("example.com/cap/admin")
    );

    let port = at("only members reach 443");
    assert_eq!(
        (port[0].src.as_deref(), port[0].dst.as_deref()),
        (Some("ci-1"), Some("web-1"))
    );
    assert!(port[0].reason.contains("tcp:443"), "{}", port[0].reason);

    let nothing = at("names no node");
    assert_eq!(nothing.len(), 1);
    assert!(nothing[0].reason.contains("`tag:nope` names no node"));
}

#[test]
fn a_malformed_file_is_one_diagnostic_at_the_assertion() {
    let (text, tailnet) = setup();
    let (policy, _) = parse_policy(&text).unwrap();
    let sidecar = fixture("TG0501-malformed.tests.hujson");
    let err = run_assertions(&policy, &tailnet, &sidecar).unwrap_err();
    assert_eq!(err.code, codes::MALFORMED_ASSERTIONS);
    assert!(sidecar[err.span.start..err.span.end].starts_with('{'));
    for (bad, what) in [
        (r#"{"a": 1}"#, "must be a list"),
        (
            r#"[{"src": "tag:ci", "relay": "tag:relay-eu"}]"#,
            "no `expect`",
        ),
        (
            r#"[{"src": "tag:ci", "relay": "x", "expect": "maybe"}]"#,
            "`allow` or `deny`",
        ),
        (
            r#"[{"src": "tag:ci", "dst": "x", "port": "tcp:0", "expect": "allow"}]"#,
            "proto:port",
        ),
        (
            r#"[{"src": "tag:ci", "relay": "x", "expect": "allow", "typo": 1}]"#,
            "unknown field `typo`",
        ),
        ("[", ""),
    ] {
        let err = run_assertions(&policy, &tailnet, bad).unwrap_err();
        assert!(err.message.contains(what), "{bad}: {}", err.message);
    }
}
