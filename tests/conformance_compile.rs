//! Compiles every accepted case of `../shared/conformance` and compares the per-node packet
//! filters, WhoIs capability maps and SSH rules with the control plane's captures.
//!
//! Rule order is significant; the elements inside each list (SSH principals included) are
//! compared as sets; a node whose capture has no `ssh_rules` must get none. Set
//! `CASE=<test_id>` to print every difference of one case.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "common/capture.rs"]
mod capture;
#[path = "common/corpus.rs"]
mod corpus;

use capture::{check_case, tailnet_of, Agreement, Tally};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tailgrant::model::policy::parse_policy;
use tailgrant::validate::policy_tests::run_tests;

fn conformance() -> Option<PathBuf> {
    corpus::shared("conformance")
}

fn threshold(key: &str) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance-thresholds.toml");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(1.0)
}

#[test]
fn compiled_filters_and_capmaps_match_the_captures() {
    let Some(dir) = conformance() else {
        return;
    };
    let only = std::env::var("CASE").ok();
    let mut suites: BTreeMap<String, Tally> = BTreeMap::new();
    for (_, case) in capture::cases(&dir) {
        if case["api_response_code"] != 200 {
            continue;
        }
        let id = case["test_id"].as_str().unwrap_or_default().to_string();
        if only.as_ref().is_some_and(|o| *o != id) {
            continue;
        }
        let suite = case["suite"].as_str().unwrap_or("?").to_string();
        let Agreement {
            filters,
            capmaps,
            ssh,
            diffs,
        } = check_case(&case, only.is_some());
        let t = suites.entry(suite).or_default();
        t.cases += 1;
        t.filters_ok += usize::from(filters);
        t.capmaps_ok += usize::from(capmaps);
        t.ssh_ok += usize::from(ssh);
        if only.is_some() {
            for d in &diffs {
                println!("{d}");
            }
        } else if !diffs.is_empty() && t.first_diffs.len() < 3 {
            t.first_diffs.push(format!("{id}: {}", diffs[0]));
        }
    }
    let (mut cases, mut fok, mut cok, mut sok) = (0, 0, 0, 0);
    for (suite, t) in &suites {
        println!(
            "{suite:20} cases {:4}  filters {:4} ({:5.1}%)  capmaps {:4} ({:5.1}%)  ssh {:4} ({:5.1}%)",
            t.cases,
            t.filters_ok,
            100.0 * t.filters_ok as f64 / t.cases.max(1) as f64,
            t.capmaps_ok,
            100.0 * t.capmaps_ok as f64 / t.cases.max(1) as f64,
            t.ssh_ok,
            100.0 * t.ssh_ok as f64 / t.cases.max(1) as f64
        );
        for d in &t.first_diffs {
            println!("    {d}");
        }
        cases += t.cases;
        fok += t.filters_ok;
        cok += t.capmaps_ok;
        sok += t.ssh_ok;
    }
    let (fr, cr, sr) = (
        fok as f64 / cases.max(1) as f64,
        cok as f64 / cases.max(1) as f64,
        sok as f64 / cases.max(1) as f64,
    );
    println!(
        "total cases {cases}: filters {fok} ({:.1}%), capmaps {cok} ({:.1}%), ssh rules {sok} ({:.1}%)",
        fr * 100.0,
        cr * 100.0,
        sr * 100.0
    );
    if only.is_none() {
        assert!(
            fr >= threshold("compile_filters_min"),
            "filter agreement {fr:.3} below threshold"
        );
        assert!(
            cr >= threshold("compile_capmaps_min"),
            "capmap agreement {cr:.3} below threshold"
        );
        assert!(
            sr >= threshold("compile_ssh_min"),
            "ssh rule agreement {sr:.3} below threshold"
        );
    }
}

/// The verdict of every `tests`/`sshTests` case that reaches evaluation: accepted cases must
/// pass, cases rejected with `test(s) failed` (or an `sshTests` message) must fail with it.
#[test]
fn policy_test_verdicts_match_the_control_plane() {
    let Some(dir) = conformance() else {
        return;
    };
    let (mut cases, mut agree) = (0usize, 0usize);
    for suite in ["policytest_results", "sshtest_results"] {
        let Ok(rd) = std::fs::read_dir(dir.join(suite)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let code = case["api_response_code"].as_i64().unwrap_or(0);
            let msg = case["error_message"].as_str().unwrap_or_default();
            let reaches = code == 200 || msg == "test(s) failed" || msg.starts_with("SSH tests ");
            if !reaches {
                continue;
            }
            let Ok((policy, _)) = parse_policy(case["policy_text"].as_str().unwrap_or_default())
            else {
                continue;
            };
            let failures = run_tests(&policy, &tailnet_of(&case));
            let ok = if code == 200 {
                failures.is_empty()
            } else {
                failures.iter().any(|f| f.control_plane_message == msg)
            };
            cases += 1;
            agree += usize::from(ok);
            if !ok {
                println!(
                    "  {}: control plane {code} {msg:?}, ours {:?}",
                    case["test_id"].as_str().unwrap_or_default(),
                    failures
                        .iter()
                        .map(|f| f.reason.as_str())
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    let rate = agree as f64 / cases.max(1) as f64;
    println!(
        "policy test verdicts: {agree}/{cases} ({:.1}%)",
        rate * 100.0
    );
    assert!(
        rate >= threshold("compile_tests_verdict_min"),
        "test verdict agreement {rate:.3} below threshold"
    );
}
