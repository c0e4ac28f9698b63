//! WhoIs capability maps: for each node, what each peer address may do towards it.
//!
//! Two nodes are peers when a rule of either one admits an address of the other. A peer's
//! capability map towards a node is the union of the capability grants in the node's own
//! filter whose sources hold the peer's address.

use super::wire::{CapMap, Compiled};
use crate::engine::resolve::{parse_wire_addrs, AddrSet};
use crate::model::tailnet::Tailnet;
use serde_json::Value;
use std::net::IpAddr;

/// A capability rule of a node's filter: its sources, and its grants with their destinations.
type CapRule = (AddrSet, Vec<(AddrSet, CapMap)>);

fn wire_set(strings: &[String]) -> AddrSet {
    let mut s = AddrSet::new();
    for x in strings {
        if let Some(p) = parse_wire_addrs(x) {
            s.add_set(&p);
        }
    }
    s
}

/// Adds `from` to `into`: values of a capability granted twice are concatenated.
pub(crate) fn merge_caps(into: &mut CapMap, from: &CapMap) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Array(a)), Value::Array(b)) => a.extend(b.iter().cloned()),
            (Some(existing @ Value::Null), Value::Array(b)) => *existing = Value::Array(b.clone()),
            (Some(_), _) => {}
            (None, _) => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Fills every node's WhoIs map. `grant_peers[x][y]` says that grants alone make nodes `x`
/// and `y` (by name order) peers.
pub(super) fn fill(tailnet: &Tailnet, grant_peers: &[Vec<bool>], compiled: &mut Compiled) {
    let names: Vec<&String> = tailnet.nodes.keys().collect();
    let addrs: Vec<Vec<IpAddr>> = tailnet
        .nodes
        .values()
        .map(|n| n.addresses().collect())
        .collect();
    // Every source address each node's filter admits, and its capability rules.
    let mut admitted: Vec<AddrSet> = Vec::new();
    let mut cap_rules: Vec<Vec<CapRule>> = Vec::new();
    for name in &names {
        let mut all = AddrSet::new();
        let mut caps = Vec::new();
        if let Some(out) = compiled.nodes.get(*name) {
            for rule in &out.packet_filter_rules {
                let src = wire_set(&rule.src_ips);
                all.add_set(&src);
                if !rule.cap_grant.is_empty() {
                    let grants = rule
                        .cap_grant
                        .iter()
                        .map(|g| (wire_set(&g.dsts), g.cap_map.clone()))
                        .collect();
                    caps.push((src, grants));
                }
            }
        }
        admitted.push(all);
        cap_rules.push(caps);
    }
    let empty = AddrSet::new();
    for (x, name) in names.iter().enumerate() {
        let mut whois = std::collections::BTreeMap::new();
        let mine = addrs.get(x).map(Vec::as_slice).unwrap_or_default();
        let adm_x = admitted.get(x).unwrap_or(&empty);
        for (y, theirs) in addrs.iter().enumerate() {
            if x == y {
                continue;
            }
            let adm_y = admitted.get(y).unwrap_or(&empty);
            let by_grant = grant_peers
                .get(x)
                .and_then(|row| row.get(y))
                .copied()
                .unwrap_or(false);
            let peer = by_grant
                || theirs.iter().any(|a| adm_x.contains(*a))
                || mine.iter().any(|a| adm_y.contains(*a));
            if !peer {
                continue;
            }
            for p in theirs {
                let mut cm = CapMap::new();
                for (src, grants) in cap_rules.get(x).map(Vec::as_slice).unwrap_or_default() {
                    if !src.contains(*p) {
                        continue;
                    }
                    for (dsts, caps) in grants {
                        if mine.iter().any(|m| dsts.contains(*m)) {
                            merge_caps(&mut cm, caps);
                        }
                    }
                }
                whois.insert(p.to_string(), cm);
            }
        }
        if let Some(out) = compiled.nodes.get_mut(*name) {
            out.whois_capmap = whois;
        }
    }
}
