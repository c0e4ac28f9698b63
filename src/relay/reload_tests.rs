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
