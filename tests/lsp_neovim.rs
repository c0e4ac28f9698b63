//! `tailgrant lsp` in a real editor: Neovim, headless, with its built-in LSP client, opens
//! `tests/lsp/policy.hujson` and runs `tests/lsp/neovim.lua`, which records what the editor
//! received (diagnostics, hover, definition, references, symbols, completion, a code action,
//! rename, formatting) as JSON; each test below asserts one feature of that record.
//!
//! Neovim runs once for the whole file, bounded by `NVIM_TIMEOUT`; a run that does not end in
//! time is killed and the tests fail with Neovim's output and its LSP log. Without `nvim`
//! the tests say so on standard error and pass, unless `CI` is set: then they fail
//! (`scripts/install-neovim.sh` installs Debian's `neovim`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use serde_json::Value;
use std::ffi::OsStr;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NVIM_TIMEOUT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_tailgrant");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lsp");

/// What one Neovim run left behind.
struct Session {
    /// The JSON the Lua script wrote.
    result: Value,
    /// The policy as `tailgrant check --format json` reports it.
    check: Value,
    /// Neovim's output and LSP log, for failure messages.
    log: String,
}

impl Session {
    fn get(&self, key: &str) -> &Value {
        &self.result[key]
    }

    /// The strings of the list at `key`.
    fn strings(&self, key: &str) -> Vec<&str> {
        self.result[key]
            .as_array()
            .unwrap_or_else(|| panic!("no list `{key}` in the editor's record\n{}", self.log))
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    fn text(&self, key: &str) -> &str {
        self.result[key]
            .as_str()
            .unwrap_or_else(|| panic!("no `{key}` in the editor's record\n{}", self.log))
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn nvim_present() -> bool {
    Command::new("nvim")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Neovim run, shared by the tests; `None` when Neovim is missing outside CI.
fn session() -> Option<&'static Session> {
    static SESSION: OnceLock<Option<Session>> = OnceLock::new();
    SESSION
        .get_or_init(|| {
            if !nvim_present() {
                assert!(
                    !ci(),
                    "nvim not found and CI is set: run scripts/install-neovim.sh"
                );
                // Straight to the process's stderr: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "lsp_neovim: skipped, nvim not found (scripts/install-neovim.sh installs it)"
                );
                return None;
            }
            Some(run_neovim())
        })
        .as_ref()
}

fn run_neovim() -> Session {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.hujson");
    let tailnet = dir.path().join("tailnet.json");
    std::fs::copy(Path::new(FIXTURES).join("policy.hujson"), &policy).unwrap();
    std::fs::copy(Path::new(FIXTURES).join("tailnet.json"), &tailnet).unwrap();
    let result_path = dir.path().join("result.json");
    let out = std::fs::File::create(dir.path().join("nvim.out")).unwrap();
    let err = std::fs::File::create(dir.path().join("nvim.err")).unwrap();
    let script = Path::new(FIXTURES).join("neovim.lua");

    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .current_dir(dir.path())
        .env("TAILGRANT_BIN", BIN)
        .env("TAILGRANT_POLICY", &policy)
        .env("TAILGRANT_TAILNET", &tailnet)
        .env("TAILGRANT_RESULT", &result_path)
        // Neovim's LSP log goes to $XDG_CACHE_HOME (0.7) or $XDG_STATE_HOME (0.8 and later).
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("nvim starts");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > NVIM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let mut log = String::new();
    for name in [
        "nvim.out",
        "nvim.err",
        "cache/nvim/lsp.log",
        "state/nvim/lsp.log",
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.path().join(name)) {
            log.push_str(&format!("--- {name}\n{text}\n"));
        }
    }
    let Some(status) = status else {
        panic!("nvim did not finish within {NVIM_TIMEOUT:?}; killed\n{log}");
    };
    let result: Value = match std::fs::read_to_string(&result_path) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(e) => panic!("nvim exited ({status}) without writing its record: {e}\n{log}"),
    };
    if let Some(fatal) = result["fatal"].as_str() {
        panic!("the editor script stopped: {fatal}\n{log}");
    }

    let mut args = ["check", "--format", "json", "--tailnet"]
        .map(OsStr::new)
        .to_vec();
    args.extend([tailnet.as_os_str(), policy.as_os_str()]);
    let check = tailgrant(args, b"");
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    Session { result, check, log }
}

/// The Neovim run, once its editor script did `step` without an error (it fails with the
/// step's error otherwise); `None` when Neovim is missing outside CI.
fn recorded(step: &str) -> Option<&'static Session> {
    let s = session()?;
    if let Some(e) = s.result["errors"].get(step) {
        panic!("step `{step}` failed in the editor: {e}\n{}", s.log);
    }
    Some(s)
}

/// Runs `tailgrant` with `args` and `input` on its standard input; its output, captured.
fn tailgrant<A: AsRef<OsStr>>(args: impl IntoIterator<Item = A>, input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A 0-based LSP position, the character counted in UTF-16 units, from a 1-based line and
/// code-point column of `check`'s JSON.
fn lsp_position(text: &str, line: u64, column: u64) -> Value {
    let line_text = text.lines().nth(line as usize - 1).unwrap_or("");
    let utf16: usize = line_text
        .chars()
        .take(column as usize - 1)
        .map(char::len_utf16)
        .sum();
    serde_json::json!({"line": line - 1, "character": utf16})
}

/// The LSP range of `name` (without its quotes) on the 0-based `line`, in UTF-16 units.
fn name_range(text: &str, line: u64, name: &str) -> Value {
    let line_text = text.lines().nth(line as usize).unwrap();
    let byte = line_text.find(name).unwrap();
    let start: usize = line_text[..byte].chars().map(char::len_utf16).sum();
    let end = start + name.chars().map(char::len_utf16).sum::<usize>();
    serde_json::json!({"start": {"line": line, "character": start}, "end": {"line": line, "character": end}})
}

/// The 0-based lines where `needle` occurs in `text`.
fn lines_of(text: &str, needle: &str) -> Vec<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64)
        .collect()
}

/// Fails unless `got` holds every one of `wanted` (each a `what`).
fn assert_holds(what: &str, got: &[&str], wanted: &[&str]) {
    for want in wanted {
        assert!(got.contains(want), "no {what} {want} in {got:?}");
    }
}

#[test]
fn neovim_shows_the_findings_of_check_at_their_utf16_ranges() {
    let Some(s) = recorded("diagnostics") else {
        return;
    };
    let original = s.text("original");
    let expected = s.check["files"][0]["diagnostics"].as_array().unwrap();
    let got = s.get("diagnostics").as_array().unwrap();
    assert!(
        expected.len() >= 2,
        "the bundled policy has an error and a warning"
    );
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for want in expected {
        let code = want["code"].as_str().unwrap();
        let d = got
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {got:#?}"));
        let start = lsp_position(
            original,
            want["line"].as_u64().unwrap(),
            want["column"].as_u64().unwrap(),
        );
        let end = lsp_position(
            original,
            want["end_line"].as_u64().unwrap(),
            want["end_column"].as_u64().unwrap(),
        );
        assert_eq!(d["range"]["start"], start, "start of {code}");
        assert_eq!(d["range"]["end"], end, "end of {code}");
        let severity = if want["severity"] == "error" { 1 } else { 2 };
        assert_eq!(d["severity"], severity, "severity of {code}");
        let message = want["message"].as_str().unwrap();
        assert!(
            d["message"].as_str().unwrap().starts_with(message),
            "{code}: {} does not start with {message}",
            d["message"]
        );
    }
    assert_eq!(
        s.get("editor_diagnostics").as_u64(),
        Some(expected.len() as u64),
        "vim.diagnostic holds every finding"
    );
}

#[test]
fn neovim_hover_on_a_group_lists_the_nodes_it_resolves_to() {
    let Some(s) = recorded("hover_selector") else {
        return;
    };
    let hover = s.text("hover_selector");
    assert!(hover.contains("group:eng"), "{hover}");
    // alice and bob are in group:eng; carol is not.
    assert!(hover.contains("100.64.0.1"), "{hover}");
    assert!(hover.contains("100.64.0.2"), "{hover}");
    assert!(!hover.contains("100.64.0.3"), "{hover}");
}

#[test]
fn neovim_hover_on_a_field_shows_its_schema_description() {
    let Some(s) = recorded("hover_field") else {
        return;
    };
    let hover = s.text("hover_field");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/policy.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let description = schema["properties"]["tagOwners"]["description"]
        .as_str()
        .unwrap();
    let first_words: String = description
        .split_whitespace()
        .take(5)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        hover
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&first_words),
        "{hover}\ndoes not show: {description}"
    );
}

#[test]
fn neovim_hover_on_a_finding_shows_its_code_documentation() {
    let Some(s) = recorded("hover_diagnostic") else {
        return;
    };
    let hover = s.text("hover_diagnostic");
    assert!(hover.contains("TG0201"), "{hover}");
}

#[test]
fn neovim_goes_to_the_definition_of_a_group() {
    let Some(s) = recorded("definition") else {
        return;
    };
    let original = s.text("original");
    let defs = s.get("definition").as_array().unwrap();
    assert_eq!(defs.len(), 1, "{defs:#?}");
    assert!(defs[0]["uri"].as_str().unwrap().ends_with("/policy.hujson"));
    let line = lines_of(original, "\"group:eng\": [")[0];
    assert_eq!(defs[0]["range"], name_range(original, line, "group:eng"));
}

#[test]
fn neovim_finds_every_reference_to_a_group() {
    let Some(s) = recorded("references") else {
        return;
    };
    let original = s.text("original");
    let mut got: Vec<Value> = s
        .get("references")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"].clone())
        .collect();
    got.sort_by_key(|r| r["start"]["line"].as_u64());
    let want: Vec<Value> = lines_of(original, "\"group:eng\"")
        .into_iter()
        .map(|line| name_range(original, line, "group:eng"))
        .collect();
    assert_eq!(want.len(), 3, "a definition and two uses");
    assert_eq!(got, want);
}

#[test]
fn neovim_lists_sections_and_definitions_as_document_symbols() {
    let Some(s) = recorded("document_symbols") else {
        return;
    };
    assert_holds(
        "symbol",
        &s.strings("document_symbols"),
        &[
            "groups",
            "group:eng",
            "group:ops",
            "tagOwners",
            "tag:web",
            "hosts",
            "monitoring",
            "grants",
        ],
    );
}

#[test]
fn neovim_completes_defined_selectors_and_autogroups_in_a_src() {
    let Some(s) = recorded("completion") else {
        return;
    };
    assert_holds(
        "completion",
        &s.strings("completion"),
        &[
            "group:eng",
            "group:ops",
            "tag:web",
            "tag:db",
            "monitoring",
            "autogroup:member",
        ],
    );
}

#[test]
fn neovim_applies_the_did_you_mean_quick_fix() {
    let Some(s) = recorded("code_action") else {
        return;
    };
    let original = s.text("original");
    let fixed = s.text("after_code_action");
    assert_eq!(fixed, original.replace("\"tag:wbe\"", "\"tag:web\""));
    let codes = s.get("codes_after_code_action");
    assert!(
        !codes.as_array().unwrap().iter().any(|c| c == "TG0201"),
        "the fixed policy still has TG0201: {codes}"
    );
}

#[test]
fn neovim_renames_a_group_in_every_place() {
    let Some(s) = recorded("rename") else { return };
    let before = s.text("after_code_action");
    let renamed = s.text("after_rename");
    assert_eq!(
        renamed,
        before.replace("\"group:eng\"", "\"group:engineering\"")
    );
}

#[test]
fn neovim_formats_exactly_as_tailgrant_fmt() {
    let Some(s) = recorded("formatting") else {
        return;
    };
    let before = s.text("after_rename");
    let formatted = s.text("after_format");
    let out = tailgrant(["fmt", "-"], before.as_bytes());
    assert!(out.status.success());
    let want = String::from_utf8(out.stdout).unwrap();
    assert_ne!(want, before, "the bundled policy is not in fmt's layout");
    assert_eq!(formatted, want);
}
