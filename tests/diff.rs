//! `tailgrant diff`: one pair of policies per kind of change, each shown with and without a
//! tailnet, in text, markdown and JSON, and counted by `--fail-on-removed`; a rewrite with the
//! same meaning is no change; diagnostics never reach standard output.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const TAILNET: &str = "policy-examples/tailnet.json";

/// Valid against `policy-examples/tailnet.json`; each case changes one thing in it.
const BASE: &str = r#"{
  "groups": {"group:eng": ["alice@example.com"]},
  "hosts": {"web": "100.64.0.30", "db": "10.1.2.3"},
  "ipsets": {"ipset:relays": ["100.64.0.20"]},
  "tagOwners": {"tag:ci": ["group:eng"], "tag:web": [], "tag:relay-eu": [], "tag:relay-us": []},
  "postures": {"posture:mac": ["node:os == 'macos'"]},
  "grants": [
    {"src": ["group:eng"], "dst": ["tag:web"], "ip": ["tcp:443"], "srcPosture": ["posture:mac"]},
    {"src": ["autogroup:member"], "dst": ["tag:relay-eu"], "app": {"tailscale.com/cap/relay": []}},
    {"src": ["tag:ci"], "dst": ["web"], "ip": ["tcp:80"]},
    {"src": ["tag:ci"], "dst": ["db"], "ip": ["tcp:5432"]},
    {"src": ["tag:ci"], "dst": ["ipset:relays"], "ip": ["udp:40000"]},
    {"src": ["autogroup:member"], "dst": ["autogroup:self"], "ip": ["tcp:22"]},
  ],
  "ssh": [{"action": "check", "src": ["group:eng"], "dst": ["tag:web"], "users": ["ubuntu"]}],
  "nodeAttrs": [{"target": ["tag:relay-us"], "attr": ["funnel"]}],
  "autoApprovers": {"routes": {"10.0.0.0/8": ["tag:ci"]}, "exitNode": ["tag:ci"]},
}"#;

/// One expected change: its kind, its subject and object without and with a tailnet, and one
/// item (a substring of it) on the side it must appear.
struct Expect {
    kind: &'static str,
    by_selector: (&'static str, Option<&'static str>),
    by_node: (&'static str, Option<&'static str>),
    list: &'static str,
    item: &'static str,
    removes_access: bool,
}

struct Case {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    expect: Expect,
}

const CASES: &[Case] = &[
    Case {
        name: "ssh login as root gained",
        edits: &[(r#""users": ["ubuntu"]"#, r#""users": ["ubuntu", "root"]"#)],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "added",
            item: "as root: check",
            removes_access: false,
        },
    },
    Case {
        name: "ssh login lost",
        edits: &[(r#""users": ["ubuntu"]"#, r#""users": ["admin"]"#)],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "removed",
            item: "as ubuntu: check",
            removes_access: true,
        },
    },
    Case {
        name: "ssh check becomes accept",
        edits: &[(r#""action": "check""#, r#""action": "accept""#)],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "changed",
            item: "as ubuntu: check -> accept",
            removes_access: false,
        },
    },
    Case {
        name: "ssh check period",
        edits: &[(
            r#""action": "check""#,
            r#""action": "check", "checkPeriod": "1h""#,
        )],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "changed",
            item: "check -> check every 1h",
            removes_access: false,
        },
    },
    Case {
        name: "ssh recorder enforced",
        edits: &[(
            r#""users": ["ubuntu"]"#,
            r#""users": ["ubuntu"], "recorder": ["tag:ci"], "enforceRecorder": true"#,
        )],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "changed",
            item: "recorded by tag:ci (enforced)",
            removes_access: false,
        },
    },
    Case {
        name: "ssh accepted environment",
        edits: &[(
            r#""users": ["ubuntu"]"#,
            r#""users": ["ubuntu"], "acceptEnv": ["GIT_*"]"#,
        )],
        expect: Expect {
            kind: "ssh",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "changed",
            item: "env GIT_*",
            removes_access: false,
        },
    },
    Case {
        name: "relay server turned off",
        edits: &[(
            r#""nodeAttrs": ["#,
            r#""nodeAttrs": [{"target": ["tag:relay-eu"], "attr": ["disable-relay-server"]}, "#,
        )],
        expect: Expect {
            kind: "node_attrs",
            by_selector: ("tag:relay-eu", None),
            by_node: ("relay-eu", None),
            list: "added",
            item: "disable-relay-server",
            removes_access: true,
        },
    },
    Case {
        name: "relay client turned off",
        edits: &[(
            r#""attr": ["funnel"]"#,
            r#""attr": ["funnel", "disable-relay-client"]"#,
        )],
        expect: Expect {
            kind: "node_attrs",
            by_selector: ("tag:relay-us", None),
            by_node: ("relay-us", None),
            list: "added",
            item: "disable-relay-client",
            removes_access: true,
        },
    },
    Case {
        name: "funnel given",
        edits: &[(
            r#""target": ["tag:relay-us"]"#,
            r#""target": ["tag:relay-us", "tag:web"]"#,
        )],
        expect: Expect {
            kind: "node_attrs",
            by_selector: ("tag:web", None),
            by_node: ("web-1", None),
            list: "added",
            item: "funnel",
            removes_access: false,
        },
    },
    Case {
        name: "route approver gained",
        edits: &[(
            r#""10.0.0.0/8": ["tag:ci"]"#,
            r#""10.0.0.0/8": ["tag:ci", "group:eng"]"#,
        )],
        expect: Expect {
            kind: "auto_approvers",
            by_selector: ("route 10.0.0.0/8", None),
            by_node: ("route 10.0.0.0/8", None),
            list: "added",
            item: "alice@example.com",
            removes_access: false,
        },
    },
    Case {
        name: "exit node approver lost",
        edits: &[(r#""exitNode": ["tag:ci"]"#, r#""exitNode": []"#)],
        expect: Expect {
            kind: "auto_approvers",
            by_selector: ("exit node", None),
            by_node: ("exit node", None),
            list: "removed",
            item: "tag:ci",
            removes_access: true,
        },
    },
    Case {
        name: "tag owner gained",
        edits: &[(r#""tag:web": []"#, r#""tag:web": ["group:eng"]"#)],
        expect: Expect {
            kind: "tag_owners",
            by_selector: ("tag:web", None),
            by_node: ("tag:web", None),
            list: "added",
            item: "alice@example.com",
            removes_access: false,
        },
    },
    Case {
        name: "posture condition removed is access gained",
        edits: &[(r#", "srcPosture": ["posture:mac"]"#, "")],
        expect: Expect {
            kind: "network",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "added",
            item: "tcp:443 (before: if node:os == 'macos')",
            removes_access: false,
        },
    },
    Case {
        name: "default posture added is access lost",
        edits: &[(
            r#""grants": ["#,
            r#""defaultSrcPosture": ["posture:mac"], "grants": ["#,
        )],
        expect: Expect {
            kind: "network",
            by_selector: ("autogroup:member", Some("tag:relay-eu")),
            by_node: ("alice-laptop", Some("relay-eu")),
            list: "removed",
            item: "tailscale.com/cap/relay (now: if node:os == 'macos')",
            removes_access: true,
        },
    },
    Case {
        name: "posture made stricter is access lost",
        edits: &[(
            r#"["node:os == 'macos'"]"#,
            r#"["node:os == 'macos'", "node:tsAutoUpdate == true"]"#,
        )],
        expect: Expect {
            kind: "network",
            by_selector: ("alice@example.com", Some("tag:web")),
            by_node: ("alice-laptop", Some("web-1")),
            list: "removed",
            item: "tcp:443 if node:os == 'macos'",
            removes_access: true,
        },
    },
    Case {
        name: "group member added",
        edits: &[(
            r#""group:eng": ["alice@example.com"]"#,
            r#""group:eng": ["alice@example.com", "bob@example.com"]"#,
        )],
        expect: Expect {
            kind: "network",
            by_selector: ("bob@example.com", Some("tag:web")),
            by_node: ("bob-laptop", Some("web-1")),
            list: "added",
            item: "tcp:443 if node:os == 'macos'",
            removes_access: false,
        },
    },
    Case {
        name: "host moved",
        edits: &[(r#""web": "100.64.0.30""#, r#""web": "100.64.0.20""#)],
        expect: Expect {
            kind: "network",
            by_selector: ("tag:ci", Some("100.64.0.30")),
            by_node: ("ci-runner", Some("web-1")),
            list: "removed",
            item: "tcp:80",
            removes_access: true,
        },
    },
    Case {
        name: "host moved inside a subnet",
        edits: &[(r#""db": "10.1.2.3""#, r#""db": "10.1.2.4""#)],
        expect: Expect {
            kind: "network",
            by_selector: ("tag:ci", Some("10.1.2.3")),
            by_node: ("ci-runner", Some("10.1.2.3")),
            list: "removed",
            item: "tcp:5432",
            removes_access: true,
        },
    },
    Case {
        name: "ipset grown",
        edits: &[(r#"["100.64.0.20"]"#, r#"["100.64.0.20", "100.64.0.21"]"#)],
        expect: Expect {
            kind: "network",
            by_selector: ("tag:ci", Some("100.64.0.21")),
            by_node: ("ci-runner", Some("relay-us")),
            list: "added",
            item: "udp:40000",
            removes_access: false,
        },
    },
    Case {
        name: "self pair changed",
        edits: &[(r#""ip": ["tcp:22"]"#, r#""ip": ["tcp:22", "tcp:80"]"#)],
        expect: Expect {
            kind: "network",
            by_selector: ("autogroup:member", Some("autogroup:self")),
            by_node: ("bob-laptop", Some("bob-laptop")),
            list: "added",
            item: "tcp:80",
            removes_access: false,
        },
    },
];

fn tailgrant() -> Command {
    Command::cargo_bin("tailgrant").unwrap()
}

fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "the base policy has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Runs `diff` on two policy texts; returns (exit code, stdout, stderr).
fn run(old: &str, new: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("old.hujson"), dir.path().join("new.hujson"));
    std::fs::write(&a, old).unwrap();
    std::fs::write(&b, new).unwrap();
    let out = tailgrant()
        .arg("diff")
        .args(extra)
        .args([a.to_str().unwrap(), b.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn modes() -> [(&'static str, Vec<&'static str>); 2] {
    [("selector", vec![]), ("node", vec!["--tailnet", TAILNET])]
}

#[test]
fn the_base_policy_is_valid_against_the_tailnet() {
    assert!(Path::new(TAILNET).is_file(), "missing {TAILNET}");
    let report = tailgrant::validate::check_text(
        BASE,
        &tailgrant::validate::Options {
            tailnet: Some(
                &tailgrant::model::tailnet::Tailnet::from_text(
                    &std::fs::read_to_string(TAILNET).unwrap(),
                )
                .unwrap(),
            ),
            ..Default::default()
        },
    );
    assert!(report.is_valid(), "{:?}", report.findings.errors);
}

#[test]
fn every_kind_of_change_shows_in_every_format_and_mode() {
    for case in CASES {
        let new = edited(case.edits);
        let e = &case.expect;
        for (mode, args) in modes() {
            let (subject, object) = if mode == "node" {
                e.by_node
            } else {
                e.by_selector
            };
            let at = format!("{} ({mode})", case.name);

            let mut json_args = args.clone();
            json_args.extend(["--format", "json"]);
            let (code, out, err) = run(BASE, &new, &json_args);
            assert_eq!(code, 0, "{at}: {err}");
            let v: Value = serde_json::from_str(&out).unwrap();
            let found = v["changes"].as_array().unwrap().iter().find(|c| {
                c["kind"] == e.kind
                    && c["subject"] == subject
                    && c["object"].as_str() == object
                    && c[e.list]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|i| i.as_str().unwrap().contains(e.item)))
            });
            let found = found.unwrap_or_else(|| panic!("{at}: no such change in {out}"));
            assert_eq!(found["removes_access"], e.removes_access, "{at}: {found}");

            let (_, text, _) = run(BASE, &new, &args);
            let title = match e.kind {
                "network" => "network and capabilities",
                "node_attrs" => "node attributes",
                "auto_approvers" => "auto approvers",
                "tag_owners" => "tag owners",
                other => other,
            };
            let sign = match e.list {
                "added" => "+",
                "removed" => "-",
                _ => "~",
            };
            let heading = match object {
                Some(o) => format!("  {subject} -> {o}\n"),
                None => format!("  {subject}\n"),
            };
            let section = text
                .split("\n\n")
                .find(|s| s.starts_with(&format!("{title}\n")))
                .unwrap_or_else(|| panic!("{at}: no {title} section in {text}"));
            let block = section
                .split_inclusive('\n')
                .skip_while(|l| *l != heading)
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .collect::<String>();
            assert!(
                block.contains(&format!("    {sign} ")) && block.contains(e.item),
                "{at}: {sign} {} not under {heading:?} in {text}",
                e.item
            );

            let mut md_args = args.clone();
            md_args.extend(["--format", "markdown"]);
            let (_, md, _) = run(BASE, &new, &md_args);
            let row_start = match object {
                Some(o) => format!("| `{subject}` | `{o}` |"),
                None => format!("| `{subject}` |"),
            };
            assert!(
                md.lines()
                    .any(|l| l.starts_with(&row_start) && l.contains(e.item)),
                "{at}: no row {row_start} with {} in {md}",
                e.item
            );

            let mut fail_args = args.clone();
            fail_args.push("--fail-on-removed");
            let (code, _, _) = run(BASE, &new, &fail_args);
            assert_eq!(code, i32::from(e.removes_access), "{at}: --fail-on-removed");
        }
    }
}

#[test]
fn a_rewrite_with_the_same_meaning_is_no_change_in_every_format() {
    // Grants reordered, split and merged, the group renamed, the host written as its
    // address, the ipset as a host, the posture renamed and respaced, comments added.
    let rewrite = r#"{
      // The same policy, written differently.
      "groups": {"group:engineering": ["alice@example.com"]},
      "hosts": {"relay-eu-host": "100.64.0.20"},
      "tagOwners": {"tag:relay-us": [], "tag:relay-eu": [], "tag:web": [], "tag:ci": ["alice@example.com"]},
      "postures": {"posture:macos": ["node:os   ==   'macos'"]},
      "grants": [
        {"src": ["tag:ci"], "dst": ["relay-eu-host"], "ip": ["udp:40000"]},
        {"src": ["tag:ci"], "dst": ["100.64.0.30"], "ip": ["tcp:80"]},
        {"src": ["tag:ci"], "dst": ["10.1.2.3/32"], "ip": ["tcp:5432"]},
        {"src": ["autogroup:member"], "dst": ["autogroup:self"], "ip": ["tcp:22"]},
        {"src": ["autogroup:member"], "dst": ["tag:relay-eu"], "app": {"tailscale.com/cap/relay": []}},
        {"src": ["group:engineering"], "dst": ["tag:web"], "ip": ["tcp:443"], "srcPosture": ["posture:macos"]},
      ],
      "ssh": [{"action": "check", "src": ["group:engineering"], "dst": ["tag:web"], "users": ["ubuntu"]}],
      "nodeAttrs": [{"target": ["tag:relay-us"], "attr": ["funnel"]}],
      "autoApprovers": {"exitNode": ["tag:ci"], "routes": {"10.0.0.0/8": ["tag:ci"]}},
    }"#;
    for (mode, args) in modes() {
        let (code, out, err) = run(BASE, rewrite, &args);
        assert_eq!(
            (code, out.as_str()),
            (0, "no change in access\n"),
            "{mode}: {err}"
        );
        let mut md = args.clone();
        md.extend(["--format", "markdown"]);
        let (_, out, _) = run(BASE, rewrite, &md);
        assert!(out.ends_with("No change in access.\n"), "{mode}: {out}");
        let mut json = args.clone();
        json.extend(["--format", "json"]);
        let (_, out, _) = run(BASE, rewrite, &json);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["changes"], serde_json::json!([]), "{mode}: {out}");
        let mut strict = args.clone();
        strict.extend(["--fail-on-removed", "--fail-on-wildcard"]);
        assert_eq!(run(BASE, rewrite, &strict).0, 0, "{mode}");
    }
}

#[test]
fn self_pairs_appear_only_when_they_change() {
    let new = edited(&[(r#""users": ["ubuntu"]"#, r#""users": ["ubuntu", "root"]"#)]);
    let (_, out, _) = run(BASE, &new, &["--tailnet", TAILNET]);
    for node in [
        "alice-laptop",
        "bob-laptop",
        "carol-laptop",
        "ci-runner",
        "web-1",
    ] {
        assert!(!out.contains(&format!("{node} -> {node}")), "{out}");
    }
}

#[test]
fn widening_to_wildcard_fails_only_with_its_flag() {
    let new = edited(&[(r#""dst": ["web"]"#, r#""dst": ["*"]"#)]);
    for (mode, args) in modes() {
        let (code, out, _) = run(BASE, &new, &args);
        assert_eq!(code, 0, "{mode}");
        assert!(out.contains("widened to *\n  grant"), "{mode}: {out}");
        let mut strict = args.clone();
        strict.push("--fail-on-wildcard");
        assert_eq!(run(BASE, &new, &strict).0, 1, "{mode}");
    }
    let funnel_for_all = edited(&[(r#""target": ["tag:relay-us"]"#, r#""target": ["*"]"#)]);
    let (code, out, _) = run(BASE, &funnel_for_all, &["--fail-on-wildcard"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(r#"nodeAttrs ["*"] attr ["funnel"]"#), "{out}");
}

#[test]
fn diff_output_holds_only_the_report() {
    // A policy whose tests fail against the tailnet: the report is still written, the
    // warning goes to standard error.
    let failing = edited(&[(
        r#""ssh": ["#,
        r#""tests": [{"src": "bob@example.com", "accept": ["tag:web:443"]}], "ssh": ["#,
    )]);
    let (code, out, err) = run(BASE, &failing, &["--tailnet", TAILNET]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "no change in access\n");
    assert!(
        err.contains("TG0401") && err.contains("tests fail"),
        "{err}"
    );
    // An invalid policy: no report (exit 2, nothing on standard output), errors on stderr.
    let invalid = edited(&[(r#""dst": ["web"]"#, r#""dst": ["tag:nope"]"#)]);
    for format in ["text", "markdown", "json"] {
        let (code, out, err) = run(BASE, &invalid, &["--format", format]);
        assert_eq!((code, out.as_str()), (2, ""), "{format}");
        assert!(err.contains("tag:nope"), "{err}");
    }
}

#[test]
fn root_ssh_granted_is_never_no_change() {
    // Regression: only ports and capabilities were compared, so a policy that starts
    // granting root SSH diffed as "no change in access".
    let new = edited(&[(
        r#""ssh": ["#,
        r#""ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:web"], "users": ["root"]}, "#,
    )]);
    for (mode, args) in modes() {
        let (_, out, _) = run(BASE, &new, &args);
        assert_ne!(out, "no change in access\n", "{mode}");
        assert!(out.contains("    + as root: accept\n"), "{mode}: {out}");
    }
}

/// Every rule list reversed: the same meaning, since grants, ACL entries, SSH rules and node
/// attributes all add up (no rule has priority).
fn reversed(p: &tailgrant::model::policy::Policy) -> tailgrant::model::policy::Policy {
    let mut q = p.clone();
    q.grants.reverse();
    q.acls.reverse();
    q.ssh.reverse();
    q.node_attrs.reverse();
    q.groups.reverse();
    q.hosts.reverse();
    q.tag_owners.reverse();
    for g in &mut q.grants {
        g.src.reverse();
        g.dst.reverse();
        g.ip.reverse();
    }
    q
}

#[test]
fn real_policies_reordered_are_no_change() {
    let Some(root) = corpus::shared("realworld") else {
        return;
    };
    let mut compared = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hujson") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let report =
            tailgrant::validate::check_text(&text, &tailgrant::validate::Options::default());
        let Some(policy) = report.policy() else {
            continue;
        };
        let d = tailgrant::tools::diff::diff(policy, &reversed(policy), None);
        assert!(d.is_empty(), "{}: {:?}", path.display(), d.changes);
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} real policies parsed");
}

#[path = "common/capture.rs"]
mod capture;
#[path = "common/corpus.rs"]
mod corpus;

/// (source node, destination node, login user, `accept` or `check`) of every SSH login.
type Logins = std::collections::BTreeSet<(String, String, String, String)>;

/// The logins the control plane pushed, from a case's captures.
fn captured_logins(case: &Value) -> Logins {
    let mut by_ip = std::collections::BTreeMap::new();
    for (name, node) in case["topology"]["nodes"].as_object().unwrap() {
        for key in ["ipv4", "ipv6"] {
            if let Some(ip) = node[key].as_str() {
                by_ip.insert(ip.to_string(), name.clone());
            }
        }
    }
    let mut out = Logins::new();
    for (dst, capture) in case["captures"].as_object().unwrap() {
        for rule in capture["ssh_rules"].as_array().into_iter().flatten() {
            let how = if rule["action"]["accept"] == true {
                "accept"
            } else {
                "check"
            };
            for p in rule["principals"].as_array().into_iter().flatten() {
                let Some(src) = p["nodeIP"].as_str().and_then(|ip| by_ip.get(ip)) else {
                    continue;
                };
                for (user, local) in rule["sshUsers"].as_object().into_iter().flatten() {
                    if local.as_str().is_some_and(|l| !l.is_empty()) {
                        let user = if user == "*" {
                            "autogroup:nonroot"
                        } else {
                            user
                        };
                        out.insert((src.clone(), dst.clone(), user.to_string(), how.into()));
                    }
                }
            }
        }
    }
    out
}

/// The logins `diff` shows as gained from an empty policy.
fn diffed_logins(
    policy: &tailgrant::model::policy::Policy,
    t: &tailgrant::model::tailnet::Tailnet,
) -> Logins {
    let empty = tailgrant::model::policy::Policy::default();
    let mut out = Logins::new();
    for c in tailgrant::tools::diff::diff(&empty, policy, Some(t)).changes {
        if c.kind != tailgrant::tools::diff::Kind::Ssh {
            continue;
        }
        for item in &c.added {
            let rest = item.strip_prefix("as ").unwrap();
            let (user, modes) = rest.split_once(": ").unwrap();
            for m in modes.split("; ") {
                let how = if m.starts_with("check") {
                    "check"
                } else {
                    "accept"
                };
                let key = (
                    c.subject.clone(),
                    c.object.clone().unwrap(),
                    user.to_string(),
                );
                out.insert((key.0, key.1, key.2, how.to_string()));
            }
        }
    }
    out
}

#[test]
fn ssh_logins_agree_with_the_control_plane_captures() {
    let Some(dir) = corpus::shared("conformance/ssh_results") else {
        return;
    };
    let (mut cases, mut logins) = (0, 0);
    let mut disagree = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if case["api_response_code"] != 200 || !case["captures"].is_object() {
            continue;
        }
        let tailnet = capture::tailnet_of(&case);
        let text = case["policy_text"].as_str().unwrap();
        let Ok((policy, _)) = tailgrant::model::policy::parse_policy(text) else {
            continue;
        };
        cases += 1;
        let (want, got) = (captured_logins(&case), diffed_logins(&policy, &tailnet));
        logins += want.len();
        if want != got {
            let missing: Vec<_> = want.difference(&got).take(3).collect();
            let extra: Vec<_> = got.difference(&want).take(3).collect();
            disagree.push(format!(
                "{}: missing {missing:?}, extra {extra:?}",
                path.display()
            ));
        }
    }
    assert!(
        cases >= 40 && logins >= 150,
        "only {cases} SSH cases, {logins} logins"
    );
    assert!(
        disagree.is_empty(),
        "{} of {cases}:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
}

#[test]
fn a_huge_markdown_report_still_fits_in_a_pull_request_comment() {
    let users: Vec<String> = (0..300).map(|i| format!("\"u{i}@example.com\"")).collect();
    let old = format!(
        r#"{{"groups": {{"group:all": [{}]}}, "tagOwners": {{"tag:web": []}}, "grants": []}}"#,
        users.join(", ")
    );
    let ports: Vec<String> = (0..200).map(|i| format!("\"tcp:{}\"", 2 * i + 1)).collect();
    let new = old.replace(
        r#""grants": []"#,
        &format!(
            r#""grants": [{{"src": ["group:all"], "dst": ["tag:web"], "ip": [{}]}}]"#,
            ports.join(", ")
        ),
    );
    let (code, md, err) = run(&old, &new, &["--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    assert!(md.len() < 65_536, "{} characters", md.len());
    assert!(md.contains("300 change(s) in access per selector"), "{md}");
    assert!(md.contains("and 150 more"), "cells are cut");
    assert!(md.contains("more change(s) not shown here"), "rows are cut");
    let (_, text, _) = run(&old, &new, &[]);
    assert_eq!(
        text.matches("\n  u").count(),
        300,
        "text shows every change"
    );
}
