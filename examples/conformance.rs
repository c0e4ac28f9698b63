//! Conformance report: runs `check` on every case of the conformance corpus (policies that
//! were submitted to Tailscale's control plane, with its verdicts and messages) and compiles
//! every accepted one, and prints, per suite, how often tailgrant agrees: verdicts, messages,
//! the `tests` verdicts, and the per-node packet filters, WhoIs capability maps and SSH rules.
//!
//! ```text
//! cargo run --example conformance -- [CORPUS_DIR] [--thresholds FILE] [--verbose]
//! cargo run --example conformance -- --dialect headscale [../shared/headscale]
//! ```
//!
//! Exits 1 when an agreement ratio falls below its threshold in `conformance-thresholds.toml`
//! (`conformance-thresholds-headscale.toml` for Headscale's cases, see `conformance/headscale.rs`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/capture.rs"]
mod capture;
#[path = "conformance/headscale.rs"]
mod headscale;
#[path = "conformance/headscale_outputs.rs"]
mod headscale_outputs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::validate::{check_text, Options};

#[derive(serde::Deserialize)]
struct Case {
    test_id: String,
    suite: String,
    api_response_code: u16,
    error_message: Option<String>,
    policy_text: String,
    tailnet: Option<String>,
    topology: serde_json::Value,
    #[serde(default)]
    captures: serde_json::Value,
}

#[derive(Default)]
struct Suite {
    cases: usize,
    verdict_ok: usize,
    rejected: usize,
    message_ok: usize,
    /// Cases the control plane rejected only because `tests`/`sshTests` failed.
    tests_failed: usize,
    tests_failed_ok: usize,
    /// Accepted cases, compiled and compared with the captures.
    compiled: usize,
    filters_ok: usize,
    capmaps_ok: usize,
    ssh_ok: usize,
    disagreements: Vec<String>,
}

const TESTS_FAILED: &str = "test(s) failed";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from("../shared/conformance");
    let mut thresholds = PathBuf::from("conformance-thresholds.toml");
    let mut verbose = false;
    let mut dialect = String::from("tailscale");
    let mut dir_given = false;
    let mut thresholds_given = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--thresholds" => {
                thresholds = args.next().map(PathBuf::from).unwrap_or(thresholds);
                thresholds_given = true;
            }
            "--verbose" | "-v" => verbose = true,
            "--dialect" => dialect = args.next().unwrap_or_default(),
            _ => {
                dir = PathBuf::from(a);
                dir_given = true;
            }
        }
    }
    match dialect.as_str() {
        "tailscale" => {}
        "headscale" => {
            if !dir_given {
                dir = PathBuf::from("../shared/headscale");
            }
            if !thresholds_given {
                thresholds = PathBuf::from("conformance-thresholds-headscale.toml");
            }
            return headscale::report(&dir, &thresholds, verbose);
        }
        other => {
            eprintln!("conformance: unknown dialect `{other}`: use tailscale or headscale");
            return ExitCode::from(2);
        }
    }
    let cases = match load(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("conformance: cannot read {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    let mut suites: BTreeMap<String, Suite> = BTreeMap::new();
    for case in &cases {
        run_case(case, suites.entry(case.suite.clone()).or_default());
    }
    println!(
        "{:<20} {:>5} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16}",
        "suite", "cases", "verdict", "message", "tests failed", "filters", "capmaps", "ssh rules"
    );
    for (name, s) in suites
        .iter()
        .chain(std::iter::once((&"all".to_string(), &total_of(&suites))))
    {
        println!(
            "{:<20} {:>5} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16}",
            name,
            s.cases,
            ratio(s.verdict_ok, s.cases - s.tests_failed),
            ratio(s.message_ok, s.rejected),
            ratio(s.tests_failed_ok, s.tests_failed),
            ratio(s.filters_ok, s.compiled),
            ratio(s.capmaps_ok, s.compiled),
            ratio(s.ssh_ok, s.compiled)
        );
    }
    let total = total_of(&suites);
    for (name, s) in &suites {
        print_disagreements(
            name,
            &s.disagreements,
            if verbose { usize::MAX } else { 20 },
        );
    }
    let limits = read_thresholds(&thresholds);
    let measured = [
        (
            "verdict",
            frac(total.verdict_ok, total.cases - total.tests_failed),
        ),
        ("message", frac(total.message_ok, total.rejected)),
        (
            "tests_failed_verdict",
            frac(total.tests_failed_ok, total.tests_failed),
        ),
    ];
    meets_thresholds(&limits, &measured)
}

/// Prints the first `shown` disagreements of a suite, and how many more there are.
fn print_disagreements(name: &str, disagreements: &[String], shown: usize) {
    for d in disagreements.iter().take(shown) {
        println!("  {name}: {d}");
    }
    if disagreements.len() > shown {
        println!(
            "  {name}: ... {} more (--verbose)",
            disagreements.len() - shown
        );
    }
}

/// Success when every measured ratio is at least its threshold; says which are not.
fn meets_thresholds(limits: &BTreeMap<String, f64>, measured: &[(&str, f64)]) -> ExitCode {
    let mut ok = true;
    for (key, value) in measured {
        if let Some(min) = limits.get(*key) {
            if value + 1e-9 < *min {
                println!("FAIL: {key} agreement {value:.4} is below the threshold {min}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn total_of(suites: &BTreeMap<String, Suite>) -> Suite {
    let mut t = Suite::default();
    for s in suites.values() {
        t.cases += s.cases;
        t.verdict_ok += s.verdict_ok;
        t.rejected += s.rejected;
        t.message_ok += s.message_ok;
        t.tests_failed += s.tests_failed;
        t.tests_failed_ok += s.tests_failed_ok;
        t.compiled += s.compiled;
        t.filters_ok += s.filters_ok;
        t.capmaps_ok += s.capmaps_ok;
        t.ssh_ok += s.ssh_ok;
    }
    t
}

/// Compiles an accepted case and compares it with the captures.
fn compare_compiled(case: &Case, s: &mut Suite) {
    let value = serde_json::json!({
        "policy_text": case.policy_text,
        "tailnet": case.tailnet,
        "topology": case.topology,
        "captures": case.captures,
    });
    let a = capture::check_case(&value, false);
    s.compiled += 1;
    s.filters_ok += usize::from(a.filters);
    s.capmaps_ok += usize::from(a.capmaps);
    s.ssh_ok += usize::from(a.ssh);
    if let Some(first) = a.diffs.first() {
        s.disagreements.push(format!(
            "{}: compiled output differs: {first}",
            case.test_id
        ));
    }
}

fn run_case(case: &Case, s: &mut Suite) {
    s.cases += 1;
    let mut topology = case.topology.clone();
    if let (Some(obj), Some(name)) = (topology.as_object_mut(), &case.tailnet) {
        obj.insert("tailnet".into(), name.clone().into());
    }
    let tailnet = match Tailnet::from_text(&topology.to_string()) {
        Ok(t) => t,
        Err(e) => {
            s.disagreements
                .push(format!("{}: topology unreadable: {e}", case.test_id));
            return;
        }
    };
    let report = check_text(
        &case.policy_text,
        &Options {
            tailnet: Some(&tailnet),
            ..Default::default()
        },
    );
    let accepted = case.api_response_code == 200;
    let expected = case.error_message.as_deref().unwrap_or("");
    let is_tests_case = expected == TESTS_FAILED;
    let verdict_ok = report.is_valid() == accepted;
    if is_tests_case {
        s.tests_failed += 1;
        s.tests_failed_ok += usize::from(verdict_ok);
    } else {
        s.verdict_ok += usize::from(verdict_ok);
    }
    if !accepted {
        s.rejected += 1;
    }
    if accepted && verdict_ok {
        compare_compiled(case, s);
    }
    let message_ok = !accepted
        && report
            .findings
            .errors
            .iter()
            .any(|d| d.message.contains(expected));
    s.message_ok += usize::from(message_ok);
    if !verdict_ok {
        let ours = report
            .findings
            .errors
            .first()
            .map_or(String::new(), |d| d.message.clone());
        s.disagreements.push(if accepted {
            format!("{}: accepted by Tailscale, we reject: {ours}", case.test_id)
        } else {
            format!(
                "{}: rejected by Tailscale ({expected}), we accept",
                case.test_id
            )
        });
    } else if !accepted && !message_ok {
        let ours: Vec<_> = report
            .findings
            .errors
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        s.disagreements.push(format!(
            "{}: message {expected:?} not among ours: {ours:?}",
            case.test_id
        ));
    }
}

fn load(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for f in capture::case_paths(dir)? {
        let text = std::fs::read_to_string(&f)?;
        let case: Case = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", f.display())))?;
        cases.push(case);
    }
    Ok(cases)
}

fn read_thresholds(path: &Path) -> BTreeMap<String, f64> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return BTreeMap::new();
    };
    table
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .map(|f| (k, f))
        })
        .collect()
}

fn frac(n: usize, d: usize) -> f64 {
    if d == 0 {
        1.0
    } else {
        n as f64 / d as f64
    }
}

fn ratio(n: usize, d: usize) -> String {
    format!("{n}/{d} {:>5.1}%", 100.0 * frac(n, d))
}
