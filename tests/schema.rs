//! The JSON Schema of the policy file: the committed `schema/policy.schema.json` is what
//! `policy_schema()` builds, every policy Tailscale accepted validates against it, the
//! schema knows exactly the fields the decoder knows, and obvious mistakes are marked.
//!
//! `UPDATE_SCHEMA=1 cargo test --test schema` rewrites the committed file.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use jsonschema::Validator;
use serde_json::{json, Value};
use std::path::PathBuf;
use tailgrant::model::Dialect;
use tailgrant::tools::schema::{policy_schema, policy_schema_in};
use tailgrant::vocab::{GRANTABLE_TAILSCALE_CAPS, REJECTED_TAILSCALE_CAPS};

#[path = "common/corpus.rs"]
mod corpus;

/// The committed schema of each dialect.
const COMMITTED: &[(Dialect, &str)] = &[
    (Dialect::Tailscale, "schema/policy.schema.json"),
    (Dialect::Headscale, "schema/headscale.schema.json"),
];

fn validator() -> Validator {
    jsonschema::draft202012::new(&policy_schema()).expect("the schema compiles")
}

fn json_of(text: &str) -> Value {
    let (node, _) = tailgrant::syntax::hujson::parse(text).expect("parses as HuJSON");
    node.to_json()
}

/// The schema's complaints about `policy`, one line each.
fn errors(v: &Validator, policy: &Value) -> Vec<String> {
    v.iter_errors(policy)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_are_up_to_date() {
    for &(dialect, path) in COMMITTED {
        let mut expected = serde_json::to_string_pretty(&policy_schema_in(dialect)).unwrap();
        expected.push('\n');
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::create_dir_all("schema").unwrap();
            std::fs::write(path, &expected).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == expected,
            "{path} differs from tailgrant::tools::schema::policy_schema_in({dialect:?}); \
             regenerate it with `UPDATE_SCHEMA=1 cargo test --test schema` and commit it"
        );
    }
}

#[test]
fn schema_is_valid_draft_2020_12() {
    for dialect in [Dialect::Tailscale, Dialect::Headscale] {
        let schema = policy_schema_in(dialect);
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::meta::validate(&schema).unwrap();
    }
}

fn headscale_validator() -> Validator {
    jsonschema::draft202012::new(&policy_schema_in(Dialect::Headscale))
        .expect("the schema compiles")
}

/// The bundled Headscale examples, which `check --dialect headscale` accepts, have
/// Headscale's shape.
#[test]
fn the_headscale_examples_validate_against_the_headscale_schema() {
    let v = headscale_validator();
    let mut checked = 0;
    // The bundled Headscale examples, and the valid fixtures checked under Headscale's rules.
    let fixtures = std::fs::read_dir("fixtures/check").unwrap().filter(|e| {
        e.as_ref().is_ok_and(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("valid-") && name.contains("-headscale-")
        })
    });
    for entry in std::fs::read_dir("policy-examples/headscale")
        .unwrap()
        .chain(fixtures)
    {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hujson") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let report = tailgrant::validate::check_text(
            &text,
            &tailgrant::validate::Options {
                dialect: Dialect::Headscale,
                ..Default::default()
            },
        );
        assert!(
            report.is_valid(),
            "{}: {:?}",
            path.display(),
            report.findings.errors
        );
        let errs = errors(&v, &json_of(&text));
        assert!(errs.is_empty(), "{}: {}", path.display(), errs.join("; "));
        checked += 1;
    }
    assert!(checked >= 2, "{checked} examples");
}

/// Every whole policy Headscale's own tests accept validates against the Headscale schema.
#[test]
fn accepted_headscale_policies_validate() {
    let Some(root) = corpus::shared("headscale") else {
        return;
    };
    let v = headscale_validator();
    let cases = std::fs::read_to_string(root.join("cases.jsonl")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let whole = matches!(
            case["stage"].as_str(),
            Some("parse" | "manager" | "setpolicy")
        );
        if !whole || case["want_err"] != json!(false) {
            continue;
        }
        let Some(text) = case["policy_text"].as_str() else {
            continue;
        };
        let Ok((node, _)) = tailgrant::syntax::hujson::parse(text) else {
            continue;
        };
        checked += 1;
        let errs = errors(&v, &node.to_json());
        if !errs.is_empty() {
            failures.push(format!("{}: {}", case["id"], errs.join("; ")));
        }
    }
    assert!(checked > 50, "only {checked} accepted policies");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What Headscale's structs do not know, and a group member without `@`, are marked; the
/// same file passes the Tailscale schema where Tailscale knows it.
#[test]
fn the_headscale_schema_marks_tailscale_only_forms() {
    let v = headscale_validator();
    let tailscale = validator();
    let base = json!({"groups": {"group:eng": ["alice@"]}, "tagOwners": {"tag:db": ["group:eng"]}});
    assert!(errors(&v, &base).is_empty(), "{:?}", errors(&v, &base));
    let marked = [
        json!({"postures": {"posture:mac": ["node:os == 'macos'"]}}),
        json!({"ipsets": {"ipset:lan": ["10.0.0.0/8"]}}),
        json!({"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"], "srcPosture": ["posture:mac"]}]}),
        json!({"acls": [{"action": "accept", "users": ["*"], "dst": ["*:*"]}]}),
        json!({"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"], "note": "x"}]}),
        json!({"ssh": [{"action": "accept", "src": ["*"], "dst": ["tag:db"], "users": ["root"], "recorder": ["tag:rec"]}]}),
        json!({"groups": {"group:eng": ["alice"]}}),
        json!({"grants": [{"src": ["autogroup:admin"], "dst": ["*"], "ip": ["*"]}]}),
        json!({"grants": [{"src": ["ipset:lan"], "dst": ["*"], "ip": ["*"]}]}),
        json!({"tagOwners": {"tag:db": ["autogroup:admin"]}}),
        json!({"autoApprovers": {"routes": {"10.0.0.0/8": ["autogroup:member"]}}}),
        json!({"autoApprovers": {"exitNode": ["infra"]}}),
    ];
    for policy in marked {
        assert!(!errors(&v, &policy).is_empty(), "not marked: {policy}");
    }
    let known = json!({"grants": [{"src": ["alice@", "autogroup:member"], "dst": ["autogroup:self"], "ip": ["*"]}],
        "acls": [{"#meta": "x", "action": "accept", "src": ["bob@example.com"], "dst": ["tag:db:5432"]}],
        "Groups": {"group:eng": ["alice@"]}});
    assert!(errors(&v, &known).is_empty(), "{:?}", errors(&v, &known));
    // Tailscale knows every field but the ACL's `#` comment key.
    let tailscale_errors = errors(&tailscale, &known);
    assert!(
        tailscale_errors.len() == 1 && tailscale_errors[0].contains("#meta"),
        "{tailscale_errors:?}"
    );
}

/// Every policy the control plane accepted (HTTP 200) in `../shared/conformance`.
#[test]
fn accepted_conformance_policies_validate() {
    let Some(root) = corpus::shared("conformance") else {
        return;
    };
    let suites = std::fs::read_dir(&root).unwrap();
    let v = validator();
    let mut failures = Vec::new();
    let mut checked = 0;
    for suite in suites {
        let suite = suite.unwrap().path();
        if !suite.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&suite).unwrap() {
            let path = case.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if case["api_response_code"] != 200 {
                continue;
            }
            let text = case["policy_text"].as_str().unwrap();
            let errs = errors(&v, &json_of(text));
            if !errs.is_empty() {
                failures.push(format!("{}: {}", path.display(), errs.join("; ")));
            }
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "no accepted policy found under {}",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} accepted policies fail the schema:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn project_policies() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("policy-examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hujson"))
        .filter(|p| p.file_name().is_some_and(|n| n != "broken.hujson"))
        .collect();
    files.extend(
        std::fs::read_dir("fixtures/check")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("valid-") && !n.contains("-headscale-"))
            }),
    );
    files.sort();
    files
}

#[test]
fn project_examples_and_valid_fixtures_validate() {
    let v = validator();
    let files = project_policies();
    assert!(files.len() >= 3, "{files:?}");
    for path in files {
        let errs = errors(&v, &json_of(&std::fs::read_to_string(&path).unwrap()));
        assert!(errs.is_empty(), "{}: {}", path.display(), errs.join("; "));
    }
}

#[test]
fn every_field_and_spelling_tailscale_accepts_validates() {
    let v = validator();
    let policy = json!({
        "acls": [
            {"action": "accept", "src": ["*"], "dst": ["*:*"], "proto": "tcp", "srcPosture": ["posture:a"]},
            {"action": "accept", "users": [" alice@example.com"], "ports": ["[fd7a:115c:a1e0::1]:22", "2001:db8::/32:443"], "proto": 17},
            {"action": "accept", "src": ["user:*@example.com"], "dst": ["autogroup:self:22,80-90", "host one:*"]},
        ],
        "grants": [
            {"src": ["group:a b"], "dst": ["tag:web "], "ip": ["*", "22", "80-443", "tcp:443", "icmp:*", "47:*", "TCP:1,2"]},
            {"src": ["ipset:x"], "dst": ["svc:app"], "app": {"tailscale.com/cap/relay": [], "example.com/cap/x": [{"k": 1}]}, "via": ["tag:exit"], "srcPosture": null},
        ],
        "groups": {"group:a b": ["alice@example.com"]},
        "hosts": {"h": "100.64.0.1", "net6": "fd7a:115c:a1e0::/48 "},
        "tagOwners": {"tag:web": ["autogroup:admin", "group:a b"], "tag:exit": [], "tag:x-1": null},
        "autoApprovers": {"routes": {"10.0.0.0/8": ["tag:exit"], "::/0": ["tag:exit"]}, "exitNode": ["tag:exit"], "services": {"svc:app": ["tag:web"]}},
        "ssh": [{"action": " check", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot", "localpart:*@example.com", "🚀"], "checkPeriod": "1h30m", "acceptEnv": ["GIT_*"], "recorder": ["tag:rec"], "enforceRecorder": true, "srcPosture": ["posture:a"]},
                {"action": "accept", "src": ["*"], "dst": ["tag:web"], "users": ["root"], "checkPeriod": "always"},
                {"action": "accept", "src": ["*"], "dst": ["tag:web"], "users": ["root"], "checkPeriod": null}],
        "nodeAttrs": [{"target": ["*"], "attr": ["funnel"], "app": {"tailscale.com/app-connectors": [{}]}, "ipPool": ["100.81.0.0/16"]}],
        "postures": {"posture:a": ["node:os == 'macos'"]},
        "defaultSrcPosture": ["posture:a"],
        "ipsets": {"ipset:x": ["10.0.0.0/8", "add h", "remove 10.1.0.0/16", "ipset:y"]},
        "tests": [{"src": "alice@example.com", "proto": "tcp", "accept": ["tag:web:443"], "deny": ["100.64.0.1:22"], "srcPostureAttrs": {"node:os": "macos"}},
                  {"user": "alice@example.com", "allow": ["h:22"]}],
        "sshTests": [{"src": "alice@example.com", "dst": ["tag:web"], "accept": ["ubuntu"], "check": ["admin"], "deny": ["root"]}],
        "derpMap": {"OmitDefaultRegions": true, "Regions": {"900": {"RegionID": 900, "RegionCode": "x", "Nodes": [{"Name": "1", "RegionID": 900, "HostName": "derp.example.com"}]}}},
        "disableIPv4": false,
        "oneCGNATRoute": null,
        "randomizeClientPort": true,
        "attrConfig": {},
        "TagOwners": {"tag:other": []},
    });
    let errs = errors(&v, &policy);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// Each case: a policy and the path of the schema's complaint.
#[test]
fn obvious_mistakes_are_marked() {
    let v = validator();
    let cases = [
        (json!({"tagOwner": {}}), ""),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "ip": "tcp:443"}]}),
            "/grants/0/ip",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "ip": [443]}]}),
            "/grants/0/ip/0",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "ip": ["tcp"]}]}),
            "/grants/0/ip/0",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "ips": ["*"]}]}),
            "/grants/0",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["tag:web:443"], "ip": ["*"]}]}),
            "/grants/0/dst/0",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "app": {"https://example.com/cap": []}}]}),
            "/grants/0/app",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "app": {"tailscale.com/cap/funnel": []}}]}),
            "/grants/0/app",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "app": {"example.com/cap": {}}}]}),
            "/grants/0/app/example.com~1cap",
        ),
        (
            json!({"grants": [{"src": ["*"], "dst": ["*"], "via": ["group:a"]}]}),
            "/grants/0/via/0",
        ),
        (
            json!({"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:web"]}]}),
            "/acls/0/dst/0",
        ),
        (
            json!({"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}),
            "/acls/0/action",
        ),
        (json!({"acls": [{"src": ["*"], "dst": ["*:*"]}]}), "/acls/0"),
        (json!({"tagOwners": {"tag:1web": []}}), "/tagOwners"),
        (json!({"hosts": {"h": "not-an-ip"}}), "/hosts/h"),
        (
            json!({"ssh": [{"action": "accept", "src": ["*"], "dst": ["*"], "users": ["root"], "checkPeriod": "1d"}]}),
            "/ssh/0/checkPeriod",
        ),
        (
            json!({"ssh": [{"action": "accept", "src": ["*"], "dst": ["*"]}]}),
            "/ssh/0",
        ),
        (
            json!({"groups": {"group:a": ["group:b"]}}),
            "/groups/group:a/0",
        ),
        (json!({"disableIPv4": "yes"}), "/disableIPv4"),
        (
            json!({"$schema": "https://tailgrant.dev/schema/policy.schema.json"}),
            "",
        ),
    ];
    for (policy, path) in cases {
        let found: Vec<_> = v.iter_errors(&policy).collect();
        assert!(!found.is_empty(), "accepted: {policy}");
        assert!(
            found.iter().any(|e| e.instance_path().as_str() == path),
            "{policy}: expected a complaint at `{path}`, got: {}",
            found
                .iter()
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

/// The decoder lists the known fields of an object in its help for an unknown one; the
/// schema must know the same fields, no more and no fewer.
#[test]
fn schema_fields_match_the_decoder() {
    let schema = policy_schema();
    let defs = &schema["$defs"];
    let objects = [
        (json!({"zzzzzzzzzzzz": 1}), &schema),
        (json!({"acls": [{"zzzzzzzzzzzz": 1}]}), &defs["acl"]),
        (json!({"grants": [{"zzzzzzzzzzzz": 1}]}), &defs["grant"]),
        (
            json!({"autoApprovers": {"zzzzzzzzzzzz": 1}}),
            &defs["autoApprovers"],
        ),
        (json!({"ssh": [{"zzzzzzzzzzzz": 1}]}), &defs["sshRule"]),
        (
            json!({"nodeAttrs": [{"zzzzzzzzzzzz": 1}]}),
            &defs["nodeAttr"],
        ),
        (json!({"tests": [{"zzzzzzzzzzzz": 1}]}), &defs["test"]),
        (json!({"sshTests": [{"zzzzzzzzzzzz": 1}]}), &defs["sshTest"]),
    ];
    for (policy, def) in objects {
        let (_, findings) = tailgrant::model::policy::parse_policy(&policy.to_string()).unwrap();
        let help = findings
            .iter()
            .find(|d| d.code == "TG0101")
            .and_then(|d| d.help.clone())
            .unwrap_or_else(|| panic!("{policy}: no unknown-field help in {findings:?}"));
        let (_, list) = help.split_once(" are: ").unwrap();
        let mut decoder: Vec<&str> = list.split(", ").collect();
        decoder.sort_unstable();
        let mut in_schema: Vec<&str> = def["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        in_schema.sort_unstable();
        assert_eq!(in_schema, decoder, "fields of {policy}");
    }
}

/// The schema's list of `tailscale.com` capabilities is the check's.
#[test]
fn grantable_capabilities_match_the_check() {
    let codes = |cap: &str| {
        let text = json!({"grants": [{"src": ["*"], "dst": ["*"], "app": {cap: []}}]}).to_string();
        let report =
            tailgrant::validate::check_text(&text, &tailgrant::validate::Options::default());
        report
            .findings
            .all()
            .map(|d| d.code.id)
            .filter(|c| ["TG0209", "TG0210", "TG1011"].contains(c))
            .collect::<Vec<_>>()
    };
    for cap in GRANTABLE_TAILSCALE_CAPS {
        assert_eq!(codes(cap), Vec::<&str>::new(), "{cap}");
    }
    for cap in REJECTED_TAILSCALE_CAPS {
        assert_eq!(codes(cap), ["TG0210"], "{cap}");
    }
    // No evidence either way: a warning, not the control plane's error.
    assert_eq!(codes("tailscale.com/cap/is-admin"), ["TG1011"]);
}
