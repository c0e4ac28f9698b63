//! A Headscale tailnet as `--tailnet`: the bundled `policy-examples/headscale/` (the output of
//! `headscale users list -o json` and `headscale nodes list -o json`, v0.29 shapes) through
//! `check`, `test`, `explain` and `compile`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;

const POLICY: &str = "policy-examples/headscale/policy.hujson";
const NODES: &str = "policy-examples/headscale/nodes.json";
const USERS: &str = "policy-examples/headscale/users.json";

fn tailgrant() -> Command {
    Command::cargo_bin("tailgrant").unwrap()
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// `{"users": <users list>, "nodes": <nodes list>}`, as the README says to make it.
fn both_lists(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let users = std::fs::read_to_string(USERS).unwrap();
    let nodes = std::fs::read_to_string(NODES).unwrap();
    let path = dir.path().join("tailnet.json");
    std::fs::write(&path, format!("{{\"users\": {users}, \"nodes\": {nodes}}}")).unwrap();
    path
}

#[test]
fn check_and_test_pass_with_the_node_list_or_both_lists() {
    let dir = tempfile::tempdir().unwrap();
    let both = both_lists(&dir);
    for tailnet in [NODES, both.to_str().unwrap()] {
        let out = tailgrant()
            .args(["check", "--tailnet", tailnet, POLICY])
            .assert()
            .code(0);
        assert!(
            stdout(&out).contains("valid, 0 error(s), 0 warning(s)"),
            "{tailnet}"
        );
        let out = tailgrant()
            .args(["test", "--tailnet", tailnet, POLICY])
            .assert()
            .code(0);
        assert!(
            stdout(&out).contains("2 test entries, 0 failure(s)"),
            "{tailnet}"
        );
    }
}

#[test]
fn a_failing_policy_test_fails_against_the_headscale_tailnet() {
    // bob-laptop is not tagged `tag:db`: this entry fails only if tags and owners are read.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.hujson");
    let text = std::fs::read_to_string(POLICY).unwrap().replace(
        "\"tests\": [",
        "\"tests\": [{\"src\": \"bob@example.com\", \"accept\": [\"tag:db:5432\"]},",
    );
    std::fs::write(&policy, text).unwrap();
    tailgrant()
        .args(["test", "--tailnet", NODES])
        .arg(&policy)
        .assert()
        .code(1);
}

#[test]
fn explain_answers_from_tags_owners_and_approved_routes() {
    let explain = |src: &str, dst: &str, port: &str| {
        tailgrant()
            .args([
                "explain",
                "--tailnet",
                NODES,
                POLICY,
                "--src",
                src,
                "--dst",
                dst,
            ])
            .args(["--port", port])
            .assert()
    };
    let out = explain("alice-laptop", "db-1", "tcp:5432").code(0);
    assert!(
        stdout(&out).contains("decision: allowed"),
        "{}",
        stdout(&out)
    );
    let out = explain("bob-laptop", "db-1", "tcp:5432").code(1);
    assert!(
        stdout(&out).contains("decision: denied"),
        "{}",
        stdout(&out)
    );
    // 192.168.1.0/24 is announced and approved: the router (its `given_name`) serves it.
    let out = explain("alice-laptop", "192.168.1.20", "tcp:22").code(0);
    assert!(
        stdout(&out).contains("dst:      router (192.168.1.20)"),
        "{}",
        stdout(&out)
    );
    // 192.168.2.0/24 is announced but not approved: no node serves it.
    let out = explain("alice-laptop", "192.168.2.5", "tcp:22").code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("not an address of any node or route"),
        "{stderr}"
    );
}

#[test]
fn compile_gives_the_database_a_filter_from_the_admin_only() {
    let out = tailgrant()
        .args(["compile", "--tailnet", NODES, POLICY])
        .assert()
        .code(0);
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rules = doc["nodes"]["db-1"]["packet_filter_rules"]
        .as_array()
        .unwrap();
    let srcs: Vec<&str> = rules
        .iter()
        .flat_map(|r| r["SrcIPs"].as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(srcs, ["100.64.0.1", "fd7a:115c:a1e0::1"]);
}

#[test]
fn a_bad_node_list_names_the_field_and_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.json");
    std::fs::write(&nodes, r#"[{"name": "a", "ip_addresses": ["100.64.0"]}]"#).unwrap();
    let out = tailgrant()
        .args(["check", "--tailnet"])
        .arg(&nodes)
        .arg(POLICY)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("`[0].ip_addresses[0]`"), "{stderr}");
    assert!(stderr.contains("headscale nodes list -o json"), "{stderr}");
}

#[test]
fn the_bundled_policy_is_formatted() {
    tailgrant()
        .args(["fmt", "--check", POLICY])
        .assert()
        .code(0);
}
