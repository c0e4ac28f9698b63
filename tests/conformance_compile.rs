//! Compiles every accepted case of `../shared/conformance` and compares the per-node packet
//! filters, WhoIs capability maps and SSH rules with the control plane's captures.
//!
//! Rule order is significant; the elements inside each list (SSH principals included) are
//! compared as sets; a node whose capture has no `ssh_rules` must get none. Set
//! `CASE=<test_id>` to print every difference of one case.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tailgrant::compile::compile;
use tailgrant::policy::parse_policy;
use tailgrant::policytest::run_tests;
use tailgrant::tailnet::Tailnet;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    dir.is_dir().then_some(dir)
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

fn sorted_strings(v: &Value) -> Value {
    let mut items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default();
    items.sort();
    items.dedup();
    Value::from(items)
}

fn norm_capmap(v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(m) = v.as_object() {
        for (k, vals) in m {
            let n = match vals {
                Value::Array(a) => {
                    let mut items: Vec<String> = a.iter().map(|x| x.to_string()).collect();
                    items.sort();
                    Value::from(items)
                }
                other => other.clone(),
            };
            out.insert(k.clone(), n);
        }
    }
    Value::Object(out)
}

/// A rule with every list turned into a sorted, deduplicated list.
fn norm_rule(r: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["SrcIPs", "IPProto"] {
        if let Some(v) = r.get(key) {
            if v.as_array().is_some_and(|a| !a.is_empty()) {
                out.insert(key.into(), sorted_strings(v));
            }
        }
    }
    if let Some(v) = r.get("DstPorts") {
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            out.insert("DstPorts".into(), sorted_strings(v));
        }
    }
    if let Some(Value::Array(grants)) = r.get("CapGrant") {
        let mut gs: Vec<String> = grants
            .iter()
            .map(|g| {
                serde_json::json!({
                    "Dsts": sorted_strings(g.get("Dsts").unwrap_or(&Value::Null)),
                    "CapMap": norm_capmap(g.get("CapMap").unwrap_or(&Value::Null)),
                })
                .to_string()
            })
            .collect();
        gs.sort();
        if !gs.is_empty() {
            out.insert("CapGrant".into(), Value::from(gs));
        }
    }
    Value::Object(out)
}

/// An SSH rule with its principals as a set (the captures list a node with two tags twice).
fn norm_ssh_rule(r: &Value) -> Value {
    serde_json::json!({
        "principals": sorted_strings(r.get("principals").unwrap_or(&Value::Null)),
        "sshUsers": r.get("sshUsers").cloned().unwrap_or(Value::Null),
        "action": r.get("action").cloned().unwrap_or(Value::Null),
        "acceptEnv": sorted_strings(r.get("acceptEnv").unwrap_or(&Value::Null)),
    })
}

fn norm_ssh(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(norm_ssh_rule).collect())
        .unwrap_or_default()
}

fn norm_rules(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(norm_rule).collect())
        .unwrap_or_default()
}

fn norm_whois(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, c)| (k.clone(), norm_capmap(c))).collect())
        .unwrap_or_default()
}

/// The case's tailnet; `null` lists in the captures' topology are read as empty.
fn tailnet_of(case: &Value) -> Tailnet {
    let mut case = case.clone();
    if let Some(nodes) = case["topology"]["nodes"].as_object_mut() {
        for node in nodes.values_mut() {
            if let Some(fields) = node.as_object_mut() {
                fields.retain(|_, v| !v.is_null());
            }
        }
    }
    let slim = serde_json::json!({"tailnet": case["tailnet"], "topology": case["topology"]});
    Tailnet::from_text(&slim.to_string()).expect("topology")
}

#[derive(Default)]
struct Tally {
    cases: usize,
    filters_ok: usize,
    capmaps_ok: usize,
    ssh_ok: usize,
    first_diffs: Vec<String>,
}

/// What one case agrees on.
struct Agreement {
    filters: bool,
    capmaps: bool,
    ssh: bool,
    diffs: Vec<String>,
}

fn check_case(case: &Value, verbose: bool) -> Agreement {
    let text = case["policy_text"].as_str().unwrap_or_default();
    let mut diffs = Vec::new();
    let Ok((policy, _)) = parse_policy(text) else {
        return Agreement {
            filters: false,
            capmaps: false,
            ssh: false,
            diffs: vec!["policy does not parse".into()],
        };
    };
    let tailnet = tailnet_of(case);
    let compiled = compile(&policy, &tailnet);
    let ours = serde_json::to_value(&compiled).unwrap();
    let empty = serde_json::Map::new();
    let captures = case["captures"].as_object().unwrap_or(&empty);
    let (mut filters_ok, mut capmaps_ok, mut ssh_ok) = (true, true, true);
    // Only some captures recorded WhoIs maps; a case without any is not compared on them.
    let whois_recorded = captures.values().any(|c| c.get("whois_capmap").is_some());
    for (node, cap) in captures {
        let mine = &ours["nodes"][node];
        let want = norm_rules(cap.get("packet_filter_rules"));
        let got = norm_rules(mine.get("packet_filter_rules"));
        if want != got {
            filters_ok = false;
            diffs.push(format!(
                "{node}: filter\n   want {}\n   got  {}",
                Value::from(want),
                Value::from(got)
            ));
        }
        // The captures leave `ssh_rules` out when a node has none.
        let want = norm_ssh(cap.get("ssh_rules"));
        let got = norm_ssh(mine.get("ssh_rules"));
        if want != got {
            ssh_ok = false;
            diffs.push(format!(
                "{node}: ssh\n   want {}\n   got  {}",
                Value::from(want),
                Value::from(got)
            ));
        }
        let want = norm_whois(cap.get("whois_capmap"));
        let got = norm_whois(mine.get("whois_capmap"));
        if whois_recorded && want != got {
            capmaps_ok = false;
            let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
            for k in keys {
                if want.get(k) != got.get(k) {
                    diffs.push(format!(
                        "{node}: whois {k}: want {:?} got {:?}",
                        want.get(k).map(ToString::to_string),
                        got.get(k).map(ToString::to_string)
                    ));
                    if !verbose {
                        break;
                    }
                }
            }
        }
    }
    Agreement {
        filters: filters_ok,
        capmaps: capmaps_ok,
        ssh: ssh_ok,
        diffs,
    }
}

#[test]
fn compiled_filters_and_capmaps_match_the_captures() {
    let Some(dir) = corpus() else {
        println!("note: ../shared/conformance is absent; conformance comparison skipped");
        return;
    };
    let only = std::env::var("CASE").ok();
    let mut suites: BTreeMap<String, Tally> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|e| {
            std::fs::read_dir(e.path())
                .unwrap()
                .flatten()
                .map(|f| f.path())
        })
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
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
    let Some(dir) = corpus() else {
        println!("note: ../shared/conformance is absent; policy test verdicts skipped");
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
