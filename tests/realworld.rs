//! The reviewed findings on real policy files (`../shared/realworld`, 32 files from public
//! repositories, byte for byte): each file must give exactly the codes below, so a new false
//! alarm, or a lost true finding, fails. Every remaining finding says why it is right.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use tailgrant::validate::{check_text, Options};

/// File, then the codes it must report, in the order `check` reports them (errors first, each
/// list in source order), with the reason each one is right.
const REVIEWED: &[(&str, &[&str])] = &[
    ("001.hujson", &[]),
    ("003.hujson", &[]),
    (
        "005.hujson",
        // Line 1 is `// Testing ... {`: the opening brace is inside the comment, so the
        // grants that follow are a second value after the end of the policy.
        &["TG0001"],
    ),
    (
        "007.hujson",
        &[
            // `autogroup:members` (ACL src, SSH src) is the old name of `autogroup:member`
            // and no finding.
            // Hosts `splendor` and `zen` are defined and never referred to.
            "TG1003", "TG1003",
        ],
    ),
    ("009.hujson", &[]),
    (
        "011.hujson",
        &[
            // `group:base` is defined and never referred to.
            "TG1001",
            // Hosts `labrats` and `baymax` are defined and never referred to.
            "TG1003", "TG1003",
        ],
    ),
    ("013.hujson", &[]),
    (
        "015.hujson",
        &[
            // The one test uses proto "1" (ICMP), which tests cannot use (Headscale:
            // "test protocol must be tcp, udp, sctp, or empty"), and its destination
            // `tag:alrest` has no port.
            "TG0401", "TG0401",
            // Groups `group:low-trust` and `group:within` are never referred to.
            "TG1001", "TG1001",
            // Host `vm-subnet` is used only by a commented-out rule.
            "TG1003",
            // `* -> autogroup:self:*` and `group:admins -> *:*` grant nothing that the
            // `* -> *:*` entry after them does not.
            "TG1005", "TG1005",
        ],
    ),
    ("017.hujson", &[]),
    (
        "019.hujson",
        // Ten `prod-*` hosts are defined and no rule, test or approver refers to them.
        &[
            "TG1003", "TG1003", "TG1003", "TG1003", "TG1003", "TG1003", "TG1003", "TG1003",
            "TG1003", "TG1003",
        ],
    ),
    (
        "021.hujson",
        // `* -> tag:ai:*` grants nothing that the `* -> *:*` entry after it does not.
        &["TG1005"],
    ),
    (
        "023.hujson",
        &[
            // `tag:other` is not in tagOwners (which defines `tag:others`), as src and dst.
            "TG0201", "TG0201",
        ],
    ),
    ("025.hujson", &[]),
    (
        "027.hujson",
        // A top-level `dns` section: the policy file has none (DNS is set in the admin
        // console), and the control plane rejects unknown fields.
        &["TG0101"],
    ),
    ("029.hujson", &[]),
    ("031.hujson", &[]),
    (
        "033.hujson",
        // `autogroup:members` (the old name of `autogroup:member`) as an SSH source and as a
        // nodeAttrs target: no finding.
        &[],
    ),
    ("035.hujson", &[]),
    (
        "037.hujson",
        // A Headscale file: `infra-core` is neither a user (no `@`: Headscale's "username
        // must contain @"), a group nor a tag, as a tag owner and as an ACL source.
        &["TG0222", "TG0203"],
    ),
    ("039.hujson", &[]),
    (
        "041.hujson",
        // A grant `ip` of `*:*`: `*` is not a protocol (Headscale: `proto name "*" not
        // known`); `*` alone means every protocol and port.
        &["TG0206"],
    ),
    (
        "043.hujson",
        // `group:blocked` (empty) is never referred to.
        &["TG1001"],
    ),
    ("045.hujson", &[]),
    ("047.hujson", &[]),
    (
        "049.hujson",
        &[
            // `group:admins` holds `autogroup:admin`: groups hold users only.
            "TG0221",
            // SSH dst `*`: Tailscale's SSH destinations are tags, users and autogroups.
            "TG0306",
            // SSH users `*`: the control plane's `user "*" is not valid` (ssh capture).
            "TG0303", // `group:admins` is also never referred to.
            "TG1001",
        ],
    ),
    (
        "051.hujson",
        &[
            // The test uses proto `icmp` (tests take tcp, udp, sctp) and port 0.
            "TG0401", "TG0401",
            // A relay grant from `*`: every node, shared-in nodes and routes included, may
            // allocate on the relays; the lint asks to name the clients.
            "TG1006",
        ],
    ),
    ("053.hujson", &[]),
    (
        "055.hujson",
        // ipPool 100.100.0.0/16 covers 100.100.100.0/24, reserved for MagicDNS (the
        // control plane's "network within reserved range").
        &["TG0224"],
    ),
    ("057.hujson", &[]),
    ("059.hujson", &[]),
    (
        "061.hujson",
        &[
            // ACL dst `group:users:icmp`: ACL destinations take ports, not a protocol.
            "TG0206",
            // Hosts `securenexus-server`, `monitoring`, `vpn-gateway` are never referred
            // to (the rules use `tag:monitoring`).
            "TG1003", "TG1003", "TG1003",
        ],
    ),
    ("063.hujson", &[]),
];

fn realworld_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/realworld");
    assert!(
        dir.is_dir(),
        "the real policy files are missing: expected them at {}",
        dir.display()
    );
    dir
}

#[test]
fn every_real_file_gives_exactly_its_reviewed_findings() {
    let dir = realworld_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hujson"))
        .collect();
    files.sort();
    let reviewed: Vec<&str> = REVIEWED.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files, reviewed,
        "every real file is reviewed, and only those"
    );
    let mut wrong = Vec::new();
    for (file, expected) in REVIEWED {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let codes: Vec<&str> = match tailgrant::syntax::hujson::text_of(&bytes) {
            Ok(text) => check_text(text, &Options::default())
                .findings
                .all()
                .map(|d| d.code.id)
                .collect(),
            Err(d) => vec![d.code.id],
        };
        if codes != *expected {
            wrong.push(format!("{file}: expected {expected:?}, got {codes:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One root cause, one finding: no two findings of a real file share a span.
#[test]
fn no_two_findings_of_a_real_file_point_at_the_same_place() {
    let dir = realworld_dir();
    for (file, _) in REVIEWED {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let Ok(text) = tailgrant::syntax::hujson::text_of(&bytes) else {
            continue;
        };
        let report = check_text(text, &Options::default());
        let mut spans: Vec<_> = report
            .findings
            .all()
            .map(|d| (d.span.start, d.span.end))
            .collect();
        let all = spans.len();
        spans.sort_unstable();
        spans.dedup();
        assert_eq!(spans.len(), all, "{file}: two findings at one place");
    }
}
