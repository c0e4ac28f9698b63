//! CLI transcripts: exit codes and output formats of the `tailgrant` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn tailgrant() -> Command {
    Command::cargo_bin("tailgrant").unwrap()
}

#[test]
fn a_valid_example_exits_zero() {
    tailgrant()
        .args(["check", "policy-examples/relays-per-region.hujson"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("valid, 0 error(s)"));
}

#[test]
fn errors_exit_one_with_snippet_and_help() {
    let out = tailgrant()
        .args(["check", "policy-examples/broken.hujson"])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("src=tag not found: \"tag:ci\""), "{stdout}");
    assert!(stdout.contains("broken.hujson:5:12"), "{stdout}");
    assert!(stdout.contains("help:"), "{stdout}");
}

#[test]
fn json_output_follows_the_contract() {
    let out = tailgrant()
        .args([
            "check",
            "--format",
            "json",
            "policy-examples/broken.hujson",
            "policy-examples/relays-per-region.hujson",
        ])
        .assert()
        .code(1);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["valid"], false);
    assert_eq!(files[1]["valid"], true);
    let d = &files[0]["diagnostics"][0];
    for key in [
        "severity",
        "code",
        "message",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    ] {
        assert!(d.get(key).is_some(), "missing {key}");
    }
    assert_eq!(d["line"], 5);
    assert_eq!(d["column"], 12);
}

#[test]
fn github_annotations_escape_their_fields() {
    let out = tailgrant()
        .args([
            "check",
            "--format",
            "github",
            "policy-examples/broken.hujson",
        ])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=policy-examples/broken.hujson,line=5,col=12,"),
        "{first}"
    );
    assert!(first.contains("title=TG0201::"), "{first}");
    assert!(
        stdout.lines().all(|l| l.starts_with("::")),
        "one annotation per line"
    );
}

#[test]
fn sarif_is_version_2_1_0_with_rules_and_regions() {
    let out = tailgrant()
        .args([
            "check",
            "--format",
            "sarif",
            "policy-examples/broken.hujson",
        ])
        .assert()
        .code(1);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "TG0201"));
    let result = &run["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let policy = r#"{"groups": {"group:unused": ["a@example.com"]}}"#;
    tailgrant()
        .args(["check", "-"])
        .write_stdin(policy)
        .assert()
        .code(0);
    tailgrant()
        .args(["check", "--deny-warnings", "-"])
        .write_stdin(policy)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("TG1001"));
}

#[test]
fn io_and_usage_errors_exit_two() {
    tailgrant()
        .args(["check", "does/not/exist.hujson"])
        .assert()
        .code(2);
    tailgrant().args(["check"]).assert().code(2);
    tailgrant()
        .args([
            "check",
            "--tailnet",
            "policy-examples/broken.hujson",
            "policy-examples/relays-per-region.hujson",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid tailnet file"));
}

#[test]
fn tailnet_domain_is_checked() {
    let policy = r#"{"grants": [{"src": ["user:*@example.org"], "dst": ["*"], "ip": ["*"]}]}"#;
    tailgrant()
        .args(["check", "-"])
        .write_stdin(policy)
        .assert()
        .code(0);
    tailgrant()
        .args(["check", "--tailnet", "fixtures/tailnet.json", "-"])
        .write_stdin(policy)
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "example.org is not associated with this Tailnet",
        ));
}

#[test]
fn completions_and_man_page_are_generated() {
    tailgrant()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("tailgrant"));
    tailgrant()
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicates::str::contains(".TH tailgrant"));
}

#[test]
fn fmt_check_prints_a_diff_and_fmt_writes_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.hujson");
    std::fs::write(&path, "{\"hosts\": {\n\"a\": \"10.0.0.1\" // db\n}}").unwrap();
    let p = path.to_str().unwrap();
    tailgrant()
        .args(["fmt", "--check", p])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("+\t\"a\": \"10.0.0.1\", // db"));
    tailgrant().args(["fmt", p]).assert().code(0);
    let formatted = std::fs::read_to_string(&path).unwrap();
    // What hujson's `Format` writes: the outer object had no line break of its own.
    assert_eq!(
        formatted,
        "{\"hosts\": {\n\t\"a\": \"10.0.0.1\", // db\n}}\n"
    );
    tailgrant()
        .args(["fmt", "--check", p])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn fmt_leaves_a_broken_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.hujson");
    std::fs::write(&path, "{\"hosts\": {'a': 1}}").unwrap();
    tailgrant()
        .args(["fmt", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "single-quoted strings are not allowed",
        ));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"hosts\": {'a': 1}}"
    );
}

#[test]
fn fmt_formats_standard_input() {
    tailgrant()
        .args(["fmt", "-"])
        .write_stdin("{\"a\":1}")
        .assert()
        .code(0)
        .stdout("{\"a\": 1}\n");
}

const TAILNET: &str = "policy-examples/tailnet.json";
const RELAYS: &str = "policy-examples/relays-per-region.hujson";

#[test]
fn compile_prints_per_node_filters() {
    let out = tailgrant()
        .args(["compile", "--tailnet", TAILNET, RELAYS])
        .assert()
        .code(0);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let relay_rules = &doc["nodes"]["relay-eu"]["packet_filter_rules"];
    let caps: Vec<String> = relay_rules
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["CapGrant"].as_array().cloned().unwrap_or_default())
        .flat_map(|g| {
            g["CapMap"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(caps, vec!["tailscale.com/cap/relay".to_string()]);
}

#[test]
fn compile_writes_a_table_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("policy.table");
    tailgrant()
        .args([
            "compile",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--format",
            "table",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    let bytes = std::fs::read(&out).unwrap();
    assert!(tailgrant::engine::table::DecisionTable::from_bytes(&bytes).is_ok());
    tailgrant()
        .args(["compile", "--tailnet", TAILNET, RELAYS, "--format", "table"])
        .assert()
        .code(2);
}

#[test]
fn compile_refuses_an_invalid_policy() {
    tailgrant()
        .args([
            "compile",
            "--tailnet",
            TAILNET,
            "policy-examples/broken.hujson",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("tag not found"));
}

#[test]
fn test_reports_each_failing_entry() {
    let policy = r#"{"tagOwners": {"tag:web": []},
        "grants": [{"src": ["alice@example.com"], "dst": ["tag:web"], "ip": ["tcp:443"]}],
        "tests": [{"src": "alice@example.com", "accept": ["tag:web:443"]},
                  {"src": "bob@example.com", "accept": ["tag:web:443"]}]}"#;
    tailgrant()
        .args(["test", "--tailnet", TAILNET, "-"])
        .write_stdin(policy)
        .assert()
        .code(1)
        .stdout(
            predicates::str::contains("bob@example.com")
                .and(predicates::str::contains("2 test entries, 1 failure(s)")),
        );
    tailgrant()
        .args(["test", "--tailnet", TAILNET, RELAYS])
        .assert()
        .code(0);
}

#[test]
fn explain_gives_the_relay_checklist() {
    let out = tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--src",
            "alice-laptop",
            "--dst",
            "relay-eu",
            "--relay",
        ])
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("decision: allowed"), "{stdout}");
    assert!(stdout.contains("relays-per-region.hujson:21:3"), "{stdout}");
    let out = tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--src",
            "carol-laptop",
            "--dst",
            "relay-eu",
            "--relay",
        ])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("[FAIL] no grant gives `carol-laptop`"),
        "{stdout}"
    );
}

#[test]
fn explain_answers_port_questions() {
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--src",
            "100.64.0.2",
            "--dst",
            "web-1",
            "--port",
            "tcp:443",
        ])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("decision: allowed"));
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--src",
            "ci-runner",
            "--dst",
            "web-1",
            "--port",
            "tcp:443",
        ])
        .assert()
        .code(1);
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            RELAYS,
            "--src",
            "nowhere",
            "--dst",
            "web-1",
        ])
        .assert()
        .code(2);
}

#[test]
fn diff_shows_gained_and_lost_access() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.hujson");
    let old_text = std::fs::read_to_string(RELAYS).unwrap();
    std::fs::write(
        &new,
        old_text.replace(
            r#""src": ["group:us-staff", "tag:ci"]"#,
            r#""src": ["group:us-staff"]"#,
        ),
    )
    .unwrap();
    let new = new.to_str().unwrap();
    tailgrant()
        .args(["diff", "--tailnet", TAILNET, RELAYS, new])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "network and capabilities\n  ci-runner -> relay-us\n    - tailscale.com/cap/relay\n",
        ));
    tailgrant()
        .args(["diff", "--fail-on-removed", RELAYS, new])
        .assert()
        .code(1);
    tailgrant()
        .args(["diff", "--format", "markdown", RELAYS, new])
        .assert()
        .stdout(predicates::str::contains(
            "| `tag:ci` | `tag:relay-us` |  | `tailscale.com/cap/relay` |",
        ));
}

#[test]
fn diff_of_a_reformatted_policy_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.hujson");
    let formatted =
        tailgrant::syntax::fmt::format(&std::fs::read_to_string(RELAYS).unwrap()).unwrap();
    std::fs::write(
        &copy,
        formatted.replace("// Everyone may reach", "// All members reach"),
    )
    .unwrap();
    tailgrant()
        .args(["diff", "--tailnet", TAILNET, RELAYS, copy.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout("no change in access\n");
}

#[test]
fn schema_prints_the_committed_file() {
    let committed = std::fs::read_to_string("schema/policy.schema.json").unwrap();
    tailgrant().arg("schema").assert().code(0).stdout(committed);
}

#[test]
fn test_runs_the_relay_assertions_sidecar() {
    let args = [
        "test",
        "--tailnet",
        "fixtures/assertions/tailnet.json",
        "fixtures/assertions/policy.hujson",
        "--assertions",
    ];
    tailgrant()
        .args(args)
        .arg("fixtures/assertions/pass.tests.hujson")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("0 assertion failure(s)"));
    tailgrant()
        .args(args)
        .arg("fixtures/assertions/TG0502-fail.tests.hujson")
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "assertion failed: `alice-laptop` -> `relay-eu-1`",
        ));
    tailgrant()
        .args(args)
        .arg("fixtures/assertions/TG0501-malformed.tests.hujson")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("TG0501"));
}

#[test]
fn fmt_check_on_standard_input_diffs_and_fails() {
    tailgrant()
        .args(["fmt", "--check", "-"])
        .write_stdin("{\"a\":1}")
        .assert()
        .code(1)
        .stdout(predicates::str::contains("+{\"a\": 1}"));
    tailgrant()
        .args(["fmt", "--check", "-"])
        .write_stdin("{\"a\": 1}\n")
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn test_and_diff_reject_what_check_rejects() {
    let bom = b"\xEF\xBB\xBF{\"tests\": []}".to_vec();
    tailgrant()
        .args(["test", "--tailnet", TAILNET, "-"])
        .write_stdin(bom.clone())
        .assert()
        .code(1)
        .stdout(predicates::str::contains("TG0002"));
    tailgrant()
        .args(["diff", "-", RELAYS])
        .write_stdin(bom)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("TG0002"));
}

#[test]
fn bundled_examples_are_formatted() {
    for example in [
        "policy-examples/relays-per-region.hujson",
        "policy-examples/relays-behind-load-balancer.hujson",
    ] {
        tailgrant()
            .args(["fmt", "--check", example])
            .assert()
            .code(0);
    }
}

#[test]
fn sarif_locations_are_uris() {
    let out = tailgrant()
        .args(["check", "--format", "sarif", "-"])
        .write_stdin(r#"{"groups": {"group:unused": []}}"#)
        .assert()
        .code(0);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "stdin"
    );
}

#[test]
fn explain_and_compile_answer_when_the_policy_tests_fail() {
    let policy = r#"{"tagOwners": {"tag:web": []},
        "grants": [{"src": ["alice@example.com"], "dst": ["tag:web"], "ip": ["tcp:443"]}],
        "tests": [{"src": "bob@example.com", "accept": ["tag:web:443"]}]}"#;
    let out = tailgrant()
        .args(["compile", "--tailnet", TAILNET, "-"])
        .write_stdin(policy)
        .assert()
        .code(0)
        .stderr(predicates::str::contains("TG0401").and(predicates::str::contains("tests fail")));
    let compiled: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(compiled["nodes"]["web-1"]["packet_filter_rules"].is_array());
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            "-",
            "--src",
            "alice-laptop",
            "--dst",
            "web-1",
            "--port",
            "tcp:443",
        ])
        .write_stdin(policy)
        .assert()
        .code(0)
        .stdout(
            predicates::str::contains("decision: allowed")
                .and(predicates::str::contains("TG0401").not()),
        )
        .stderr(predicates::str::contains("TG0401"));
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            "-",
            "--src",
            "bob-laptop",
            "--dst",
            "web-1",
            "--port",
            "tcp:443",
        ])
        .write_stdin(policy)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("decision: denied"));
    // `test` still fails on them.
    tailgrant()
        .args(["test", "--tailnet", TAILNET, "-"])
        .write_stdin(policy)
        .assert()
        .code(1);
}

#[test]
fn explain_of_an_invalid_policy_exits_two_not_denied() {
    tailgrant()
        .args([
            "explain",
            "--tailnet",
            TAILNET,
            "policy-examples/broken.hujson",
            "--src",
            "alice-laptop",
            "--dst",
            "web-1",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("tag not found"));
}
