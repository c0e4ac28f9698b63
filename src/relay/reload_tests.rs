//! Tests of the first load of the policy files: what it gives, and what it refuses. The
//! reload loop of a running relay is tested through the public API, in
//! `tests/relay_reload_api.rs`.

use super::*;

const TAILNET: &str = r#"{"nodes": {"relay": {"ipv4": "100.64.0.3",
    "relay": {"port": 40000, "static_endpoints": ["203.0.113.7:40000"]}}}}"#;

fn files_in(dir: &Path) -> PolicyFiles {
    PolicyFiles::new(dir.join("policy.hujson"), dir.join("tailnet.json"), "relay")
}

#[test]
fn the_first_load_gives_the_policy_and_the_tailnet_it_was_compiled_against() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    std::fs::write(files.policy_path(), "{}").unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let first = files.load_first().unwrap();
    assert_eq!(first.policy.generation, 1);
    assert_eq!(first.policy.hash, input_hash(b"{}", TAILNET.as_bytes()));
    assert_eq!(
        first.tailnet.nodes["relay"].relay.as_ref().unwrap().port,
        40000
    );
    assert_eq!(first.stamp, files.stamp());
}

#[test]
fn a_first_load_of_an_invalid_policy_is_refused_with_each_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    std::fs::write(
        files.policy_path(),
        "{\n  \"grants\": [{\"src\": [\"*\"]}]\n}",
    )
    .unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let failure = files.load_first().unwrap_err();
    assert!(failure
        .message()
        .ends_with("policy.hujson: the policy is not valid"));
    let lines = failure.lines();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.contains("policy.hujson:2:")),
        "{lines:?}"
    );
    assert!(failure.findings().is_some());
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path()).max_input(8);
    std::fs::write(files.policy_path(), r#"{"grants": []}"#).unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let failure = files.load_first().unwrap_err();
    assert!(
        failure
            .message()
            .contains("larger than the limit of 8 bytes"),
        "{failure}"
    );
}

/// A policy only Headscale accepts (an ACL entry with a `#` key, which Headscale drops):
/// refused at the first load and at a reload under Tailscale's rules, loaded under
/// Headscale's when the files are given that dialect.
#[test]
fn every_load_checks_the_policy_by_the_files_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    assert_eq!(files.dialect(), Dialect::Tailscale);
    std::fs::write(
        files.policy_path(),
        r##"{"acls": [{"#ha-meta": "x", "action": "accept", "src": ["*"], "dst": ["*:*"]}]}"##,
    )
    .unwrap();
    std::fs::write(files.tailnet_path(), TAILNET).unwrap();
    let refused = files.load_first().unwrap_err();
    assert!(refused.message().ends_with("the policy is not valid"));
    let reload = files.compile(files.read_inputs().unwrap(), 2, &[]);
    assert!(reload.is_err());

    let files = files.with_dialect(Dialect::Headscale);
    assert_eq!(files.dialect(), Dialect::Headscale);
    assert_eq!(files.load_first().unwrap().policy.generation, 1);
    let (reloaded, _) = files
        .compile(files.read_inputs().unwrap(), 2, &[])
        .unwrap()
        .unwrap();
    assert_eq!(reloaded.generation, 2);
}
