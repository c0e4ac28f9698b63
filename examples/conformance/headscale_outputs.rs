//! The compiled outputs of Headscale's cases that give them: a node's packet filter
//! (`[]tailcfg.FilterRule` with the node in `inputs.node`), the filter before it is narrowed
//! to nodes (`wantFilter`, or `want` without a node), and the per-node capability maps of `nodeAttrs`
//! (`map[types.NodeID]tailcfg.NodeCapMap`). What a case expects is told by the Go type of its
//! `want` field (`table_fields`), never by its name.
//!
//! Filters are compared as sets of rules, each rule normalised: its sources and each
//! destination as merged address ranges (Headscale writes `100.64.0.1-100.64.0.2` where
//! tailgrant may write two addresses), its destinations as a set, its protocols sorted. A
//! case holding a Go value the extraction could not evaluate (`{"$go": ...}`) in what is
//! compared or in its users and nodes is skipped, counted and said.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use tailgrant::engine::compile::{compile_filters, global_filter, node_capmaps};
use tailgrant::model::tailnet::Tailnet;
use tailgrant::model::Validated;

/// What a case expects of the compiled policy.
pub enum Expected<'a> {
    /// The filter of the node `inputs.node`.
    NodeFilter { node: &'a Value, rules: &'a Value },
    /// The filter before it is narrowed to any node.
    GlobalFilter(&'a Value),
    /// Node id to capability map.
    CapMaps(&'a Value),
}

/// What a comparison found.
pub enum Outcome {
    Agree,
    Disagree(String),
    Skip(&'static str),
}

const FILTER_RULES: &str = "[]tailcfg.FilterRule";
const NODE_CAPMAPS: &str = "map[types.NodeID]tailcfg.NodeCapMap";

/// The compiled output a case gives, if any, from the Go types of its table fields.
pub fn expected<'a>(
    want: Option<&'a Value>,
    inputs: Option<&'a Value>,
    fields: Option<&'a Value>,
) -> Option<Expected<'a>> {
    let want = want?;
    let ty = |k: &str| fields.and_then(|f| f.get(k)).and_then(Value::as_str);
    let node = inputs.and_then(|i| i.get("node"));
    match (ty("want"), ty("wantFilter"), node) {
        (Some(FILTER_RULES), _, Some(node)) => Some(Expected::NodeFilter {
            node,
            rules: want.get("want")?,
        }),
        (Some(FILTER_RULES), _, None) => Some(Expected::GlobalFilter(want.get("want")?)),
        (Some(NODE_CAPMAPS), _, _) => Some(Expected::CapMaps(want.get("want")?)),
        (_, Some(FILTER_RULES), _) => Some(Expected::GlobalFilter(want.get("wantFilter")?)),
        _ => None,
    }
}

/// True when `v` holds a Go value the extraction could not evaluate.
pub fn has_go(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.contains_key("$go") || o.values().any(has_go),
        Value::Array(a) => a.iter().any(has_go),
        _ => false,
    }
}

/// Compares what `policy` compiles to against `tailnet` with what the case expects.
/// `nodes` are the case's nodes (for node ids).
pub fn compare(
    expected: &Expected<'_>,
    policy: &Validated,
    tailnet: &Tailnet,
    nodes: &[Value],
) -> Outcome {
    match expected {
        Expected::NodeFilter { node, rules } => {
            let Some(name) = node_name(tailnet, node) else {
                return Outcome::Skip("its node is not in its tailnet");
            };
            let compiled = compile_filters(policy, tailnet);
            let got: Vec<Value> = compiled
                .nodes
                .get(&name)
                .map(|n| {
                    n.packet_filter_rules
                        .iter()
                        .filter_map(|r| serde_json::to_value(r).ok())
                        .collect()
                })
                .unwrap_or_default();
            same_filter(rules, &got, &format!("node {name}"))
        }
        Expected::GlobalFilter(rules) => {
            let got: Vec<Value> = global_filter(policy, tailnet)
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .collect();
            same_filter(rules, &got, "the global filter")
        }
        Expected::CapMaps(want) => {
            let got = node_capmaps(policy, tailnet);
            let mut diffs = Vec::new();
            for n in nodes {
                let id = n.get("id").map(|i| i.to_string()).unwrap_or_default();
                let Some(name) = node_name(tailnet, n) else {
                    return Outcome::Skip("a node is not in its tailnet");
                };
                let want_caps: BTreeMap<String, String> = want
                    .get(&id)
                    .and_then(Value::as_object)
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
                    .unwrap_or_default();
                let got_caps: BTreeMap<String, String> = got
                    .get(&name)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
                    .unwrap_or_default();
                if want_caps != got_caps {
                    diffs.push(format!(
                        "node {name}: Headscale {want_caps:?}, tailgrant {got_caps:?}"
                    ));
                }
            }
            if diffs.is_empty() {
                Outcome::Agree
            } else {
                Outcome::Disagree(diffs.join("; "))
            }
        }
    }
}

/// The tailnet's name for a case's node: the one with the same addresses.
fn node_name(tailnet: &Tailnet, node: &Value) -> Option<String> {
    let want: BTreeSet<IpAddr> = ["ipv4", "ipv6"]
        .iter()
        .filter_map(|k| node.get(*k)?.as_str()?.parse().ok())
        .collect();
    if want.is_empty() {
        return None;
    }
    tailnet
        .nodes
        .iter()
        .find(|(_, n)| n.addresses().collect::<BTreeSet<_>>() == want)
        .map(|(name, _)| name.clone())
}

fn same_filter(want: &Value, got: &[Value], what: &str) -> Outcome {
    let want_rules: &[Value] = want.as_array().map(Vec::as_slice).unwrap_or_default();
    let (w, g) = match (normalise(want_rules), normalise(got)) {
        (Ok(w), Ok(g)) => (w, g),
        (Err(e), _) | (_, Err(e)) => return Outcome::Disagree(format!("{what}: {e}")),
    };
    if w == g {
        Outcome::Agree
    } else {
        Outcome::Disagree(format!("{what}: Headscale {w:?}, tailgrant {g:?}"))
    }
}

/// The rules as a sorted list of normalised rules, each one line.
fn normalise(rules: &[Value]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for r in rules {
        let list = |k: &str| -> Vec<Value> {
            r.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let strings = |v: &[Value]| -> Vec<String> {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let src = ranges(&strings(&list("SrcIPs")))?;
        let caps = list("CapGrant");
        if caps.is_empty() {
            let mut dsts = BTreeSet::new();
            for d in list("DstPorts") {
                let ip = d.get("IP").and_then(Value::as_str).unwrap_or_default();
                let ports = d.get("Ports").cloned().unwrap_or_default();
                dsts.insert(format!(
                    "{} {}-{}",
                    ranges(&[ip.to_string()])?,
                    ports.get("First").unwrap_or(&Value::Null),
                    ports.get("Last").unwrap_or(&Value::Null)
                ));
            }
            let mut protos: Vec<i64> = list("IPProto").iter().filter_map(Value::as_i64).collect();
            protos.sort_unstable();
            out.push(format!("{src} -> {dsts:?} proto {protos:?}"));
        } else {
            let mut grants = BTreeSet::new();
            for g in caps {
                let dsts = g.get("Dsts").and_then(Value::as_array).cloned();
                let caps: BTreeMap<String, String> = g
                    .get("CapMap")
                    .and_then(Value::as_object)
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
                    .unwrap_or_default();
                grants.insert(format!(
                    "{} {caps:?}",
                    ranges(&strings(&dsts.unwrap_or_default()))?
                ));
            }
            out.push(format!("{src} -> caps {grants:?}"));
        }
    }
    out.sort();
    Ok(out)
}

/// Addresses (`*`, IPs, CIDRs, `first-last` ranges) as merged ranges, one family after the
/// other.
fn ranges(list: &[String]) -> Result<String, String> {
    let mut spans: Vec<(bool, u128, u128)> = Vec::new();
    for s in list {
        let s = s.trim();
        if s == "*" {
            spans.push((true, 0, u128::from(u32::MAX)));
            spans.push((false, 0, u128::MAX));
            continue;
        }
        let (a, b) = if let Some((a, b)) = s.split_once('-') {
            (addr(a)?, addr(b)?)
        } else if let Ok(net) = s.parse::<ipnet::IpNet>() {
            (net.network(), net.broadcast())
        } else {
            let a = addr(s)?;
            (a, a)
        };
        match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                spans.push((true, u128::from(u32::from(a)), u128::from(u32::from(b))));
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => spans.push((false, u128::from(a), u128::from(b))),
            _ => return Err(format!("`{s}` mixes address families")),
        }
    }
    // IPv4 first, then merge touching and overlapping spans.
    spans.sort_by_key(|&(v4, a, b)| (!v4, a, b));
    let mut merged: Vec<(bool, u128, u128)> = Vec::new();
    for (v4, a, b) in spans {
        match merged.last_mut() {
            Some((lv4, _, lb)) if *lv4 == v4 && a <= lb.saturating_add(1) => *lb = (*lb).max(b),
            _ => merged.push((v4, a, b)),
        }
    }
    let show = |v4: bool, x: u128| -> String {
        if v4 {
            std::net::Ipv4Addr::from(u32::try_from(x).unwrap_or(u32::MAX)).to_string()
        } else {
            std::net::Ipv6Addr::from(x).to_string()
        }
    };
    Ok(merged
        .iter()
        .map(|&(v4, a, b)| {
            if a == b {
                show(v4, a)
            } else {
                format!("{}-{}", show(v4, a), show(v4, b))
            }
        })
        .collect::<Vec<_>>()
        .join(","))
}

fn addr(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_and_their_addresses_normalise_alike() {
        let written = ranges(&["100.64.0.1-100.64.0.2".into()]).unwrap();
        let listed = ranges(&["100.64.0.2".into(), "100.64.0.1/32".into()]).unwrap();
        assert_eq!(written, listed);
        assert_ne!(written, ranges(&["100.64.0.1".into()]).unwrap());
        assert!(ranges(&["100.64.0.1-fd7a::1".into()]).is_err());
    }

    #[test]
    fn filters_compare_as_sets_of_rules_and_destinations() {
        let a = json!({"SrcIPs": ["100.64.0.1-100.64.0.2"], "DstPorts": [
            {"IP": "100.64.0.3", "Ports": {"First": 22, "Last": 22}},
            {"IP": "10.0.0.0/8", "Ports": {"First": 0, "Last": 65535}}]});
        let b = json!({"SrcIPs": ["100.64.0.2", "100.64.0.1"], "DstPorts": [
            {"IP": "10.0.0.0/8", "Ports": {"First": 0, "Last": 65535}},
            {"IP": "100.64.0.3", "Ports": {"First": 22, "Last": 22}}]});
        let caps = json!({"SrcIPs": ["*"], "CapGrant": [{"Dsts": ["100.64.0.3/32"],
            "CapMap": {"tailscale.com/cap/relay-target": null}}]});
        let want = json!([a, caps]);
        assert!(matches!(
            same_filter(&want, &[caps.clone(), b.clone()], "n"),
            Outcome::Agree
        ));
        let mut other = b;
        other["DstPorts"][0]["Ports"]["Last"] = json!(80);
        assert!(matches!(
            same_filter(&want, &[caps, other], "n"),
            Outcome::Disagree(_)
        ));
        assert!(matches!(
            same_filter(&Value::Null, &[], "n"),
            Outcome::Agree
        ));
    }

    #[test]
    fn the_go_type_of_want_says_what_is_compared() {
        let want = json!({"want": []});
        let inputs = json!({"node": {"ipv4": "100.64.0.1"}});
        let rules = json!({"want": "[]tailcfg.FilterRule"});
        let nodes = json!({"want": "types.Nodes"});
        assert!(matches!(
            expected(Some(&want), Some(&inputs), Some(&rules)),
            Some(Expected::NodeFilter { .. })
        ));
        assert!(expected(Some(&want), Some(&inputs), Some(&nodes)).is_none());
        assert!(has_go(
            &json!([{"routable_ips": {"$go": "tsaddr.ExitRoutes()"}}])
        ));
        assert!(!has_go(&json!([{"routable_ips": ["10.0.0.0/8"]}])));
    }
}
