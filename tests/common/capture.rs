//! The conformance corpus's cases and the comparison of compiled policies with the control
//! plane's captures, shared by the conformance report (`examples/conformance.rs`),
//! `tests/conformance_compile.rs` and the oracle's differential test.
//!
//! Rule order is significant; the elements inside each list (SSH principals included) are
//! compared as sets; a node whose capture has no `ssh_rules` must get none; WhoIs maps are
//! compared only for cases that recorded them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tailgrant::engine::compile::compile;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::validate::{validate_text, Options};

/// The case files of the corpus at `dir`: the `.json` files of each suite's folder, in
/// path order (suites in order, then the cases of each).
pub fn case_paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for suite in std::fs::read_dir(dir)?.flatten().map(|e| e.path()) {
        if !suite.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&suite)?.flatten().map(|e| e.path()) {
            if file.extension().is_some_and(|x| x == "json") {
                paths.push(file);
            }
        }
    }
    paths.sort();
    Ok(paths)
}

/// Every case of the corpus at `dir`, in the order of [`case_paths`], with its path; a case
/// is read when the iteration reaches it. Panics, naming the file, on one that cannot be
/// read or parsed.
pub fn cases(dir: &Path) -> impl Iterator<Item = (PathBuf, Value)> {
    let paths = case_paths(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    paths.into_iter().map(|path| {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let case =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (path, case)
    })
}

pub fn sorted_strings(v: &Value) -> Value {
    let mut items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default();
    items.sort();
    items.dedup();
    Value::from(items)
}

pub fn norm_capmap(v: &Value) -> Value {
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
pub fn norm_rule(r: &Value) -> Value {
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
pub fn norm_ssh_rule(r: &Value) -> Value {
    serde_json::json!({
        "principals": sorted_strings(r.get("principals").unwrap_or(&Value::Null)),
        "sshUsers": r.get("sshUsers").cloned().unwrap_or(Value::Null),
        "action": r.get("action").cloned().unwrap_or(Value::Null),
        "acceptEnv": sorted_strings(r.get("acceptEnv").unwrap_or(&Value::Null)),
    })
}

pub fn norm_ssh(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(norm_ssh_rule).collect())
        .unwrap_or_default()
}

pub fn norm_rules(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(norm_rule).collect())
        .unwrap_or_default()
}

pub fn norm_whois(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, c)| (k.clone(), norm_capmap(c))).collect())
        .unwrap_or_default()
}

/// The case's tailnet; `null` lists in the captures' topology are read as empty.
pub fn tailnet_of(case: &Value) -> Tailnet {
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
pub struct Tally {
    pub cases: usize,
    pub filters_ok: usize,
    pub capmaps_ok: usize,
    pub ssh_ok: usize,
    pub first_diffs: Vec<String>,
}

/// What one case agrees on.
pub struct Agreement {
    pub filters: bool,
    pub capmaps: bool,
    pub ssh: bool,
    pub diffs: Vec<String>,
}

pub fn check_case(case: &Value, verbose: bool) -> Agreement {
    let text = case["policy_text"].as_str().unwrap_or_default();
    let mut diffs = Vec::new();
    let tailnet = tailnet_of(case);
    let report = validate_text(
        text,
        &Options {
            tailnet: Some(&tailnet),
            ..Default::default()
        },
    );
    let policy = match report.into_validated() {
        Ok(policy) => policy,
        Err(findings) => {
            let first = findings.errors.first().map(|d| d.message.clone());
            return Agreement {
                filters: false,
                capmaps: false,
                ssh: false,
                diffs: vec![format!("policy is not valid: {first:?}")],
            };
        }
    };
    let compiled = compile(&policy, &tailnet);
    let ours = serde_json::to_value(&compiled).unwrap();
    let empty = serde_json::Map::new();
    let captures = case["captures"].as_object().unwrap_or(&empty);
    let (mut filters_ok, mut capmaps_ok, mut ssh_ok) = (true, true, true);
    // Only some captures recorded WhoIs maps; a case without any is not compared on them.
    let whois_recorded = captures.values().any(|c| c.get("whois_capmap").is_some());
    for (node, cap) in captures {
        let mine = &ours["nodes"][node];
        filters_ok &= same_list(
            &format!("{node}: filter"),
            norm_rules(cap.get("packet_filter_rules")),
            norm_rules(mine.get("packet_filter_rules")),
            &mut diffs,
        );
        // The captures leave `ssh_rules` out when a node has none.
        ssh_ok &= same_list(
            &format!("{node}: ssh"),
            norm_ssh(cap.get("ssh_rules")),
            norm_ssh(mine.get("ssh_rules")),
            &mut diffs,
        );
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

/// Whether the normalised lists are the same; if not, says how in `diffs` under `what`.
fn same_list(what: &str, want: Vec<Value>, got: Vec<Value>, diffs: &mut Vec<String>) -> bool {
    if want == got {
        return true;
    }
    diffs.push(format!(
        "{what}\n   want {}\n   got  {}",
        Value::from(want),
        Value::from(got)
    ));
    false
}
