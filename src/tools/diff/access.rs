//! Network access and capabilities of one source towards one destination, each held under
//! a posture [`Condition`], and how two of them differ.

use super::condition::Condition;
use super::leaves::Leaves;
use crate::engine::resolve::Resolver;
use crate::engine::table::{DecisionTable, Dest, Query};
use crate::model::policy::Policy;
use crate::model::selector::{PortRange, Selector};
use crate::model::tailnet::Tailnet;
use crate::vocab::{self, RELAY_CAP};
use std::collections::{BTreeMap, BTreeSet};

/// What one source holds towards one destination.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    /// Protocol to port ranges, each with the condition under which it is held.
    ports: BTreeMap<u8, Vec<(PortRange, Condition)>>,
    /// Capability (its name, or its name and one of its values) to its condition.
    caps: BTreeMap<String, Condition>,
}

/// Access by (source, destination).
pub(crate) type AccessMap = BTreeMap<(String, String), Access>;

impl Access {
    fn add_ports(&mut self, protos: &[u8], ranges: &[PortRange], cond: &Condition) {
        let protos: &[u8] = if protos.is_empty() || protos == [0] {
            &vocab::DEFAULT_PROTOCOLS
        } else {
            protos
        };
        for &p in protos {
            let list = self.ports.entry(p).or_default();
            if vocab::has_ports(p) {
                list.extend(ranges.iter().map(|r| (*r, cond.clone())));
            } else {
                list.push((PortRange::ALL, cond.clone()));
            }
        }
    }

    /// Adds capability `name` with its values (JSON), one entry per value.
    fn add_cap(&mut self, name: &str, values: &[serde_json::Value], cond: &Condition) {
        let keys: Vec<String> = if values.is_empty() {
            vec![name.to_string()]
        } else {
            values.iter().map(|v| format!("{name} {v}")).collect()
        };
        for k in keys {
            self.caps.entry(k).or_default().or(cond);
        }
    }
}

/// Port ranges by the condition under which they are held, each list sorted and merged.
type ByCondition = Vec<(Condition, Vec<PortRange>)>;

fn by_condition_ranges(ranges: &[(PortRange, Condition)]) -> ByCondition {
    let mut groups: BTreeMap<&Condition, Vec<PortRange>> = BTreeMap::new();
    for (r, c) in ranges {
        groups.entry(c).or_default().push(*r);
    }
    groups
        .into_iter()
        .map(|(c, mut list)| {
            list.sort_unstable();
            let mut merged: Vec<PortRange> = Vec::with_capacity(list.len());
            for r in list {
                match merged.last_mut() {
                    Some(last) if u32::from(r.first) <= u32::from(last.last) + 1 => {
                        last.last = last.last.max(r.last);
                    }
                    _ => merged.push(r),
                }
            }
            (c.clone(), merged)
        })
        .collect()
}

/// The condition under which `port` is held.
fn condition_at(groups: &ByCondition, port: u32) -> Condition {
    let mut c = Condition::default();
    for (cond, ranges) in groups {
        let i = ranges.partition_point(|r| u32::from(r.first) <= port);
        if i > 0 && ranges.get(i - 1).is_some_and(|r| port <= u32::from(r.last)) {
            c.or(cond);
        }
    }
    c
}

fn proto_name(p: u8) -> String {
    match vocab::PROTOCOLS.iter().find(|(_, n)| *n == p) {
        Some((name, _)) => (*name).to_string(),
        None => p.to_string(),
    }
}

fn describe(proto: u8, range: PortRange) -> String {
    if vocab::has_ports(proto) {
        format!("{}:{range}", proto_name(proto))
    } else {
        proto_name(proto)
    }
}

/// An item held under `new` where it was held under `old` (not implied by it), worded as a
/// gain; or, swapped, as a loss.
fn worded(item: &str, held: &Condition, other: &Condition, other_is: &str) -> String {
    let mut s = format!("{item}{}", held.suffix());
    if !other.is_never() {
        s.push_str(&format!(" ({other_is}:{})", other.suffix()));
    }
    s
}

/// What was added and removed from `old` to `new`: capabilities (relay first), then ports.
pub(crate) fn compare(old: &Access, new: &Access) -> (Vec<String>, Vec<String>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let never = Condition::default();
    let mut caps: Vec<&String> = old.caps.keys().chain(new.caps.keys()).collect();
    caps.sort_by_key(|c| (!c.starts_with(RELAY_CAP), c.as_str()));
    caps.dedup();
    for cap in caps {
        let (o, n) = (
            old.caps.get(cap).unwrap_or(&never),
            new.caps.get(cap).unwrap_or(&never),
        );
        if !n.implies(o) {
            added.push(worded(cap, n, o, "before"));
        }
        if !o.implies(n) {
            removed.push(worded(cap, o, n, "now"));
        }
    }
    let protos: BTreeSet<u8> = old.ports.keys().chain(new.ports.keys()).copied().collect();
    let empty = Vec::new();
    for p in protos {
        let o = by_condition_ranges(old.ports.get(&p).unwrap_or(&empty));
        let n = by_condition_ranges(new.ports.get(&p).unwrap_or(&empty));
        // Every point where what is held may change; between two of them nothing does.
        let cuts: BTreeSet<u32> = o
            .iter()
            .chain(&n)
            .flat_map(|(_, list)| list)
            .flat_map(|r| [u32::from(r.first), u32::from(r.last) + 1])
            .collect();
        let cuts: Vec<u32> = cuts.into_iter().collect();
        // Adjacent pieces with the same conditions before and after are shown as one range.
        let mut pieces: Vec<(u32, u32, Condition, Condition)> = Vec::new();
        for w in cuts.windows(2) {
            let (first, last) = (w[0], w[1] - 1);
            let (co, cn) = (condition_at(&o, first), condition_at(&n, first));
            if co == cn {
                continue;
            }
            match pieces.last_mut() {
                Some(prev) if prev.1 + 1 == first && prev.2 == co && prev.3 == cn => prev.1 = last,
                _ => pieces.push((first, last, co, cn)),
            }
        }
        for (first, last, co, cn) in pieces {
            let range = PortRange {
                first: u16::try_from(first).unwrap_or(u16::MAX),
                last: u16::try_from(last).unwrap_or(u16::MAX),
            };
            let item = describe(p, range);
            if !cn.implies(&co) {
                added.push(worded(&item, &cn, &co, "before"));
            }
            if !co.implies(&cn) {
                removed.push(worded(&item, &co, &cn, "now"));
            }
        }
    }
    (added, removed)
}

/// Access per pair of selectors as written, groups, hosts and ipsets expanded.
pub(crate) fn selector_access(p: &Policy, leaves: &Leaves<'_>) -> AccessMap {
    let of = |s: &Selector| leaves.of(s);
    rule_access(p, &of, &of)
}

/// Access of each node towards the destinations that are not nodes (subnet addresses,
/// other prefixes, `autogroup:internet`), which the decision table does not list per pair:
/// a host or ipset moved inside a subnet shows here.
fn off_node_access(p: &Policy, tailnet: &Tailnet, leaves: &Leaves<'_>) -> AccessMap {
    let r = Resolver::new(p, tailnet);
    let node_addrs: BTreeSet<String> = tailnet
        .nodes
        .values()
        .flat_map(|n| n.addresses().map(|a| a.to_string()))
        .collect();
    let src = |s: &Selector| -> BTreeSet<String> {
        r.nodes_in(&r.resolve_selector(s))
            .into_iter()
            .filter_map(|id| r.nodes().get(id).map(|(n, _)| (*n).to_string()))
            .collect()
    };
    let dst = |d: &Selector| -> BTreeSet<String> {
        leaves
            .of(d)
            .into_iter()
            .filter(|l| {
                l == "autogroup:internet"
                    || (l.parse::<ipnet::IpNet>().is_ok() || l.parse::<std::net::IpAddr>().is_ok())
                        && !node_addrs.contains(l)
            })
            .collect()
    };
    rule_access(p, &src, &dst)
}

/// Access per pair of names that `src` and `dst` give each selector.
fn rule_access(
    p: &Policy,
    src: &dyn Fn(&Selector) -> BTreeSet<String>,
    dst: &dyn Fn(&Selector) -> BTreeSet<String>,
) -> AccessMap {
    let mut map = AccessMap::new();
    let expand = |list: &[crate::model::policy::Sel], f: &dyn Fn(&Selector) -> BTreeSet<String>| {
        list.iter().flat_map(|s| f(s)).collect::<BTreeSet<String>>()
    };
    for g in &p.grants {
        let cond = Condition::of_rule(p, &g.src_posture);
        let via: Vec<&str> = g.via.iter().map(|v| v.trim()).collect();
        let ips: Vec<_> = g.ip.iter().filter_map(|ip| ip.spec().ok()).collect();
        let dsts = expand(&g.dst, dst);
        for s in expand(&g.src, src) {
            for d in &dsts {
                let d = if via.is_empty() {
                    d.clone()
                } else {
                    format!("{d} via {}", via.join(","))
                };
                let access = map.entry((s.clone(), d)).or_default();
                for spec in &ips {
                    access.add_ports(&spec.protos, &spec.ports, &cond);
                }
                for (name, values) in &g.app {
                    access.add_cap(name.trim(), values, &cond);
                }
            }
        }
    }
    for a in &p.acls {
        let cond = Condition::of_rule(p, &a.src_posture);
        let protos = a
            .proto
            .as_ref()
            .and_then(|p| p.protos().ok())
            .unwrap_or_default();
        let srcs = expand(&a.src, src);
        for d in &a.dst {
            let Some((alias, ranges)) = d.valid() else {
                continue;
            };
            for d in dst(alias) {
                for s in &srcs {
                    map.entry((s.clone(), d.clone()))
                        .or_default()
                        .add_ports(protos, ranges, &cond);
                }
            }
        }
    }
    map
}

/// The policy's grants and ACL entries split by posture condition, each part a policy of
/// its own (the decision table does not look at postures).
fn by_condition(p: &Policy) -> BTreeMap<Condition, Policy> {
    let mut parts: BTreeMap<Condition, Policy> = BTreeMap::new();
    let empty = || Policy {
        grants: Vec::new(),
        acls: Vec::new(),
        ..p.clone()
    };
    for g in &p.grants {
        parts
            .entry(Condition::of_rule(p, &g.src_posture))
            .or_insert_with(empty)
            .grants
            .push(g.clone());
    }
    for a in &p.acls {
        parts
            .entry(Condition::of_rule(p, &a.src_posture))
            .or_insert_with(empty)
            .acls
            .push(a.clone());
    }
    if parts.is_empty() {
        // No rule at all: what the policy allows (everything, when both sections are
        // absent) holds whatever the device.
        parts.insert(Condition::always(), p.clone());
    }
    parts
}

/// Access per pair of nodes, from the decision table, and of each node towards the
/// destinations that are not nodes.
pub(crate) fn node_access(p: &Policy, tailnet: &Tailnet, leaves: &Leaves<'_>) -> AccessMap {
    let mut map = off_node_access(p, tailnet, leaves);
    for (cond, part) in by_condition(p) {
        let table = DecisionTable::of_policy(&part, tailnet);
        for dst_name in tailnet.nodes.keys() {
            let Some(dst) = table.node(dst_name) else {
                continue;
            };
            for (src_name, src_node) in &tailnet.nodes {
                let Some(addr) = src_node.addresses().next() else {
                    continue;
                };
                let decision = table.decide(&Query {
                    src: addr,
                    dst: Dest::Node(dst),
                });
                if decision.is_empty() {
                    continue;
                }
                let access = map.entry((src_name.clone(), dst_name.clone())).or_default();
                for &(proto, first, last) in decision.ports() {
                    access.add_ports(&[proto], &[PortRange { first, last }], &cond);
                }
                for (name, values) in decision.caps() {
                    let values: Vec<serde_json::Value> =
                        serde_json::from_str(values).unwrap_or_default();
                    access.add_cap(name, &values, &cond);
                }
            }
        }
    }
    map
}
