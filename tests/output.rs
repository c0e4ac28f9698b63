//! The output of `check` in every format: no panic on any input or closed pipe, positions
//! in one column unit, bounded findings, several files in one well-formed document.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use assert_cmd::Command;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Read;
use std::process::Stdio;

const FORMATS: [&str; 4] = ["human", "json", "github", "sarif"];

fn tailgrant() -> Command {
    Command::cargo_bin("tailgrant").unwrap()
}

/// A policy with `n` unused hosts: `n` warnings.
fn unused_hosts(n: usize) -> String {
    let mut s = String::from("{\"hosts\": {\n");
    for i in 0..n {
        let _ = writeln!(s, "  \"h{i}\": \"10.0.{}.{}\",", i / 256 % 256, i % 256);
    }
    s.push_str("}}\n");
    s
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stdout_of(args: &[&str]) -> (Option<i32>, String, String) {
    let out = tailgrant().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn human_format_does_not_panic_past_column_65535() {
    let dir = tempfile::tempdir().unwrap();
    let grant = r#"{"src": ["*"], "dst": ["h"], "ip": ["*"]}"#;
    let text = format!(
        r#"{{"hosts": {{"h": "10.0.0.1"}}, "grants": [{}{grant}, {grant}]}}"#,
        " ".repeat(66_000)
    );
    let path = write(&dir, "long.hujson", &text);
    for format in FORMATS {
        let (code, stdout, stderr) = stdout_of(&["check", "--format", format, &path]);
        assert_eq!(code, Some(0), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(stdout.contains("TG1005"), "{format}: {stdout}");
        assert!(
            stdout.len() < 8_000,
            "{format}: {} bytes echoed",
            stdout.len()
        );
    }
}

/// Starts `tailgrant ARGS`, reads a little of its output, closes the pipe and waits.
fn close_early(args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tailgrant"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn closed_pipe_ends_every_format_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "many.hujson", &unused_hosts(20_000));
    for format in FORMATS {
        let (code, stderr) =
            close_early(&["check", "--max-findings", "0", "--format", format, &path]);
        assert_eq!(code, Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
    let (code, stderr) = close_early(&["check", "--deny-warnings", "--max-findings", "0", &path]);
    assert_eq!((code, stderr.as_str()), (Some(1), ""));
}

#[test]
fn closed_pipe_ends_fmt_and_schema_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "many.hujson", &unused_hosts(3_000));
    // The file is indented with spaces: `--check` prints a long diff.
    let (code, stderr) = close_early(&["fmt", "--check", &path]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (code, stderr) = close_early(&["schema"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn findings_past_the_cap_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "p.hujson", &unused_hosts(250));
    let (_, human, _) = stdout_of(&["check", &path]);
    assert_eq!(human.matches("warning[TG1003]").count(), 200, "{human}");
    assert!(human.contains("50 more finding(s) not shown"), "{human}");
    assert!(
        human.contains("valid, 0 error(s), 250 warning(s)"),
        "{human}"
    );
    let (_, human, _) = stdout_of(&["check", "--max-findings", "0", &path]);
    assert_eq!(human.matches("warning[TG1003]").count(), 250);
    let (_, json, _) = stdout_of(&["check", "--format", "json", "--max-findings", "10", &path]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["files"][0]["diagnostics"].as_array().unwrap().len(), 10);
    assert_eq!(doc["files"][0]["omitted"], 240);
    let (_, github, _) = stdout_of(&["check", "--format", "github", "--max-findings", "10", &path]);
    assert!(github.contains("::notice file="), "{github}");
    let (_, sarif, _) = stdout_of(&["check", "--format", "sarif", "--max-findings", "10", &path]);
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 10);
    let notes = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("240 more"),
        "{notes}"
    );
}

#[test]
fn columns_count_characters_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    // `é` and `ü` take two bytes each: `"bad"` is at byte column 29, character column 27.
    let path = write(
        &dir,
        "p.hujson",
        "{\"hosts\": {\"é\": \"ü\", \"x\": \"bad\"}}",
    );
    let (_, json, _) = stdout_of(&["check", "--format", "json", &path]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let d = doc["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "TG0223" && d["message"].as_str().unwrap().contains("bad"))
        .unwrap()
        .clone();
    let (line, column) = (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap());
    assert_eq!((line, column), (1, 27));
    let (_, human, _) = stdout_of(&["check", &path]);
    assert!(human.contains(&format!("p.hujson:1:{column}")), "{human}");
    let (_, github, _) = stdout_of(&["check", "--format", "github", &path]);
    assert!(
        github.contains(&format!("line=1,col={column},")),
        "{github}"
    );
    let (_, sarif, _) = stdout_of(&["check", "--format", "sarif", &path]);
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let columns: Vec<u64> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["region"]["startColumn"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(columns.contains(&column), "{columns:?}");
}

#[test]
fn sarif_rules_carry_descriptions_and_help() {
    let (_, sarif, _) = stdout_of(&[
        "check",
        "--format",
        "sarif",
        "policy-examples/broken.hujson",
    ]);
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(!rules.is_empty());
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty(),
            "{id}"
        );
        assert!(
            rule["fullDescription"]["text"].as_str().unwrap().len() > 20,
            "{id}"
        );
        let uri = rule["helpUri"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("docs/codes.md#{}", id.to_lowercase())),
            "{uri}"
        );
    }
    for result in doc["runs"][0]["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
}

#[test]
fn no_message_or_help_gives_a_byte_offset() {
    let mut paths: Vec<_> = std::fs::read_dir("fixtures/check")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    paths.sort();
    assert!(paths.len() > 50, "fixtures/check is missing");
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--tailnet",
        "fixtures/tailnet.json",
    ];
    args.extend(paths.iter().map(String::as_str));
    let (_, json, _) = stdout_of(&args);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let mut related = 0;
    for file in doc["files"].as_array().unwrap() {
        for d in file["diagnostics"].as_array().unwrap() {
            for field in ["message", "help", "label"] {
                let text = d[field].as_str().unwrap_or_default();
                assert!(
                    !text.contains("byte "),
                    "{}: {field} {text:?}",
                    file["path"]
                );
            }
            related += d["related"].as_array().unwrap().len();
        }
    }
    assert!(
        related >= 2,
        "duplicate keys and redundant rules name their other place"
    );
}

#[test]
fn an_unreadable_file_is_reported_and_the_others_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(&dir, "good.hujson", &unused_hosts(1));
    let missing = dir.path().join("missing.hujson").display().to_string();
    let (code, human, stderr) = stdout_of(&["check", &missing, &good]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("missing.hujson"), "{stderr}");
    assert!(human.contains("missing.hujson: unreadable"), "{human}");
    assert!(
        human.contains("good.hujson: valid, 0 error(s), 1 warning(s)"),
        "{human}"
    );
    let (code, json, _) = stdout_of(&["check", "--format", "json", &missing, &good]);
    assert_eq!(code, Some(2));
    let doc: Value = serde_json::from_str(&json).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files[0]["status"], "unreadable");
    assert!(files[0]["error"]
        .as_str()
        .unwrap()
        .contains("missing.hujson"));
    assert_eq!(files[1]["diagnostics"][0]["code"], "TG1003");
    let (code, sarif, _) = stdout_of(&["check", "--format", "sarif", &missing, &good]);
    assert_eq!(code, Some(2));
    let doc: Value = serde_json::from_str(&sarif).unwrap();
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(note["message"]["text"]
        .as_str()
        .unwrap()
        .contains("missing.hujson"));
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "TG1003");
    let (_, github, _) = stdout_of(&["check", "--format", "github", &missing, &good]);
    assert!(github.contains("title=unreadable::"), "{github}");
    assert!(github.contains("title=TG1003::"), "{github}");
}

#[test]
fn summary_names_denied_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let warned = write(&dir, "warned.hujson", &unused_hosts(1));
    let broken = write(&dir, "broken.hujson", "{\"hosts\": {\"a\": \"bad\"}}");
    let (code, human, _) = stdout_of(&["check", "--deny-warnings", &warned, &broken]);
    assert_eq!(code, Some(1));
    assert!(human.contains("warned.hujson: warnings denied"), "{human}");
    assert!(human.contains("broken.hujson: invalid"), "{human}");
    let (_, human, _) = stdout_of(&["check", &warned]);
    assert!(human.contains("warned.hujson: valid"), "{human}");
    let (_, json, _) = stdout_of(&["check", "--deny-warnings", "--format", "json", &warned]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["files"][0]["status"], "warnings denied");
    assert_eq!(doc["files"][0]["valid"], true);
}
