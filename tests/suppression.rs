//! `--allow CODE` and `// tailgrant-ignore` comments as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;

/// An unused group (TG1001) and a repeated grant (TG1005).
const SAMPLE: &str = r#"{
  "groups": {"group:a": ["alice@example.com"]},
  "grants": [
    {"src": ["*"], "dst": ["*"], "ip": ["*"]},
    {"src": ["*"], "dst": ["*"], "ip": ["*"]},
  ],
}
"#;

fn codes(args: &[&str], text: &str) -> (i32, Vec<String>) {
    let out = Command::cargo_bin("tailgrant")
        .unwrap()
        .args(["check", "--format", "json", "--deny-warnings"])
        .args(args)
        .arg("-")
        .write_stdin(text)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes = doc["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    (out.status.code().unwrap(), codes)
}

#[test]
fn allow_silences_a_lint_for_the_run() {
    assert_eq!(
        codes(&[], SAMPLE),
        (1, vec!["TG1001".into(), "TG1005".into()])
    );
    assert_eq!(
        codes(&["--allow", "TG1005"], SAMPLE),
        (1, vec!["TG1001".into()])
    );
    assert_eq!(
        codes(&["--allow", "TG1005", "--allow", "tg1001"], SAMPLE),
        (0, vec![]),
        "--deny-warnings passes once every warning is allowed"
    );
}

#[test]
fn allow_refuses_an_error_code_and_an_unknown_one() {
    for (code, expected) in [
        (
            "TG0201",
            "is an error (Tailscale rejects the policy), so it cannot be allowed",
        ),
        ("TG9999", "is not a tailgrant code"),
    ] {
        let out = Command::cargo_bin("tailgrant")
            .unwrap()
            .args(["check", "--allow", code, "-"])
            .write_stdin(SAMPLE)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(expected), "{code}: {stderr}");
    }
}

#[test]
fn a_comment_with_a_reason_lets_deny_warnings_pass() {
    let text = SAMPLE
        .replace(
            r#"  "groups""#,
            "  // tailgrant-ignore TG1001: used by the staging policy\n  \"groups\"",
        )
        .replacen(
            r#""ip": ["*"]},
  ],"#,
            "\"ip\": [\"*\"]}, // tailgrant-ignore TG1005: kept during the migration\n  ],",
            1,
        );
    assert_eq!(codes(&[], &text), (0, vec![]), "{text}");
}

#[test]
fn a_rejected_policy_stays_invalid_whatever_the_comments_say() {
    let text = "{\n  // tailgrant-ignore TG0201: we know\n  \"grants\": [{\"src\": [\"tag:ci\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}],\n}\n";
    let (status, found) = codes(&[], text);
    assert_eq!(status, 1);
    assert!(
        found.contains(&"TG0201".to_string()) && found.contains(&"TG1901".to_string()),
        "{found:?}"
    );
}
