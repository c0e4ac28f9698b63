//! `tailgrant lsp` in a real editor: Neovim, headless, with its built-in LSP client, opens
//! `tests/lsp/policy.hujson` and runs `tests/lsp/neovim.lua`, which records what the editor
//! received (diagnostics, hover, definition, references, symbols, completion, a code action,
//! rename, formatting) as JSON; each test below asserts one feature of that record.
//!
//! Neovim runs once for the whole file, bounded by `NVIM_TIMEOUT`; a run that does not end in
//! time is killed and the tests fail with Neovim's output and its LSP log. Without `nvim`
//! the tests say so on standard error and pass, unless `CI` is set: then they fail
//! (`scripts/install-neovim.sh` installs Debian's `neovim`).
//!
//! `TG_NVIM=/path/to/nvim` adds a second run under that Neovim, and every test asserts on
//! both records, so two versions are tried with one command (Debian 12's 0.7 from `PATH`
//! and a recent one): `TG_NVIM=/path/to/nvim cargo test --test lsp_neovim`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use serde_json::Value;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NVIM_TIMEOUT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_tailgrant");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lsp");

/// What one Neovim run left behind.
struct Session {
    /// The Neovim that ran (`nvim`, or the path in `TG_NVIM`) and its version line.
    nvim: String,
    version: String,
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

    /// The strings of the list recorded under `key`.
    fn strings(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .as_array()
            .unwrap()
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

/// The version line of `nvim --version` for the editor `nvim`, when it runs.
fn nvim_version(nvim: &str) -> Option<String> {
    let out = Command::new(nvim)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next().unwrap_or_default().to_string())
}

/// The Neovim runs, shared by the tests: `nvim` from `PATH` (skipped with a note when it is
/// missing, unless `CI` is set), then the Neovim that `TG_NVIM` names, when it is set (so
/// that two versions are tried in one run; then it must run).
fn sessions() -> &'static [Session] {
    static SESSIONS: OnceLock<Vec<Session>> = OnceLock::new();
    SESSIONS.get_or_init(|| {
        let mut runs = Vec::new();
        match nvim_version("nvim") {
            Some(version) => runs.push(run_neovim("nvim", version)),
            None => {
                assert!(
                    !ci(),
                    "nvim not found and CI is set: run scripts/install-neovim.sh"
                );
                // Straight to the process's stderr: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "lsp_neovim: nvim not found, skipped (scripts/install-neovim.sh installs it)"
                );
            }
        }
        if let Some(other) = std::env::var_os("TG_NVIM").filter(|v| !v.is_empty()) {
            let other = other.to_string_lossy().into_owned();
            let version = nvim_version(&other)
                .unwrap_or_else(|| panic!("TG_NVIM={other} does not run `--version`"));
            runs.push(run_neovim(&other, version));
        }
        runs
    })
}

/// Runs `test` on the record of every Neovim run; a failure names the editor it failed in.
fn each(test: impl Fn(&Session)) {
    for s in sessions() {
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(s))) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|m| (*m).to_string()))
                .unwrap_or_default();
            panic!("in {} ({}): {why}", s.nvim, s.version);
        }
    }
}

fn run_neovim(nvim: &str, version: String) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.hujson");
    let tailnet = dir.path().join("tailnet.json");
    std::fs::copy(Path::new(FIXTURES).join("policy.hujson"), &policy).unwrap();
    std::fs::copy(Path::new(FIXTURES).join("tailnet.json"), &tailnet).unwrap();
    let result_path = dir.path().join("result.json");
    let out = std::fs::File::create(dir.path().join("nvim.out")).unwrap();
    let err = std::fs::File::create(dir.path().join("nvim.err")).unwrap();
    let script = Path::new(FIXTURES).join("neovim.lua");

    let mut child = Command::new(nvim)
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

    let check = Command::new(BIN)
        .args(["check", "--format", "json", "--tailnet"])
        .arg(&tailnet)
        .arg(&policy)
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    Session {
        nvim: nvim.to_string(),
        version,
        result,
        check,
        log,
    }
}

/// Fails with the step's error when the editor script recorded one.
fn step_ok(s: &Session, step: &str) {
    if let Some(e) = s.result["errors"].get(step) {
        panic!("step `{step}` failed in the editor: {e}\n{}", s.log);
    }
}

/// The width of `c` in the position encoding the client and the server agreed on (UTF-16,
/// the protocol's default, with Neovim 0.7; UTF-8 with a recent Neovim, which offers it).
fn units(s: &Session, c: char) -> usize {
    match s.result["offset_encoding"].as_str() {
        Some("utf-8") => c.len_utf8(),
        Some("utf-32") => 1,
        _ => c.len_utf16(),
    }
}

/// A 0-based LSP position, the character counted in the session's encoding, from a 1-based
/// line and code-point column of `check`'s JSON.
fn lsp_position(s: &Session, text: &str, line: u64, column: u64) -> Value {
    let line_text = text.lines().nth(line as usize - 1).unwrap_or("");
    let character: usize = line_text
        .chars()
        .take(column as usize - 1)
        .map(|c| units(s, c))
        .sum();
    serde_json::json!({"line": line - 1, "character": character})
}

/// The LSP range of `name` (without its quotes) on the 0-based `line`, in the session's
/// encoding.
fn name_range(s: &Session, text: &str, line: u64, name: &str) -> Value {
    let line_text = text.lines().nth(line as usize).unwrap();
    let byte = line_text.find(name).unwrap();
    let start: usize = line_text[..byte].chars().map(|c| units(s, c)).sum();
    let end = start + name.chars().map(|c| units(s, c)).sum::<usize>();
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

#[test]
fn neovim_shows_the_findings_of_check_at_their_ranges_in_the_agreed_encoding() {
    each(|s| {
        step_ok(s, "diagnostics");
        let encoding = s.get("offset_encoding");
        assert!(
            ["utf-8", "utf-16", "utf-32"].contains(&encoding.as_str().unwrap_or_default()),
            "unknown position encoding {encoding}"
        );
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
                s,
                original,
                want["line"].as_u64().unwrap(),
                want["column"].as_u64().unwrap(),
            );
            let end = lsp_position(
                s,
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
    });
}

#[test]
fn neovim_hover_on_a_group_lists_the_nodes_it_resolves_to() {
    each(|s| {
        step_ok(s, "hover_selector");
        let hover = s.text("hover_selector");
        assert!(hover.contains("group:eng"), "{hover}");
        // alice and bob are in group:eng; carol is not.
        assert!(hover.contains("100.64.0.1"), "{hover}");
        assert!(hover.contains("100.64.0.2"), "{hover}");
        assert!(!hover.contains("100.64.0.3"), "{hover}");
    });
}

#[test]
fn neovim_hover_on_a_field_shows_its_schema_description() {
    each(|s| {
        step_ok(s, "hover_field");
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
    });
}

#[test]
fn neovim_hover_on_a_finding_shows_its_code_documentation() {
    each(|s| {
        step_ok(s, "hover_diagnostic");
        let hover = s.text("hover_diagnostic");
        assert!(hover.contains("TG0201"), "{hover}");
    });
}

#[test]
fn neovim_goes_to_the_definition_of_a_group() {
    each(|s| {
        step_ok(s, "definition");
        let original = s.text("original");
        let defs = s.get("definition").as_array().unwrap();
        assert_eq!(defs.len(), 1, "{defs:#?}");
        assert!(defs[0]["uri"].as_str().unwrap().ends_with("/policy.hujson"));
        let line = lines_of(original, "\"group:eng\": [")[0];
        assert_eq!(defs[0]["range"], name_range(s, original, line, "group:eng"));
    });
}

#[test]
fn neovim_finds_every_reference_to_a_group() {
    each(|s| {
        step_ok(s, "references");
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
            .map(|line| name_range(s, original, line, "group:eng"))
            .collect();
        assert_eq!(want.len(), 3, "a definition and two uses");
        assert_eq!(got, want);
    });
}

#[test]
fn neovim_lists_sections_and_definitions_as_document_symbols() {
    each(|s| {
        step_ok(s, "document_symbols");
        let names = s.strings("document_symbols");
        for want in [
            "groups",
            "group:eng",
            "group:ops",
            "tagOwners",
            "tag:web",
            "hosts",
            "monitoring",
            "grants",
        ] {
            assert!(names.contains(&want), "no symbol {want} in {names:?}");
        }
    });
}

#[test]
fn neovim_completes_defined_selectors_and_autogroups_in_a_src() {
    each(|s| {
        step_ok(s, "completion");
        let labels = s.strings("completion");
        for want in [
            "group:eng",
            "group:ops",
            "tag:web",
            "tag:db",
            "monitoring",
            "autogroup:member",
        ] {
            assert!(labels.contains(&want), "no completion {want} in {labels:?}");
        }
    });
}

#[test]
fn neovim_applies_the_did_you_mean_quick_fix() {
    each(|s| {
        step_ok(s, "code_action");
        let original = s.text("original");
        let fixed = s.text("after_code_action");
        assert_eq!(fixed, original.replace("\"tag:wbe\"", "\"tag:web\""));
        let codes = s.get("codes_after_code_action");
        assert!(
            !codes.as_array().unwrap().iter().any(|c| c == "TG0201"),
            "the fixed policy still has TG0201: {codes}"
        );
    });
}

#[test]
fn neovim_renames_a_group_in_every_place() {
    each(|s| {
        step_ok(s, "rename");
        let before = s.text("after_code_action");
        let renamed = s.text("after_rename");
        assert_eq!(
            renamed,
            before.replace("\"group:eng\"", "\"group:engineering\"")
        );
    });
}

#[test]
fn neovim_formats_exactly_as_tailgrant_fmt() {
    each(|s| {
        step_ok(s, "formatting");
        let before = s.text("after_rename");
        let formatted = s.text("after_format");
        let mut fmt = Command::new(BIN)
            .args(["fmt", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut fmt.stdin.take().unwrap(), before.as_bytes()).unwrap();
        let out = fmt.wait_with_output().unwrap();
        assert!(out.status.success());
        let want = String::from_utf8(out.stdout).unwrap();
        assert_ne!(want, before, "the bundled policy is not in fmt's layout");
        assert_eq!(formatted, want);
    });
}
