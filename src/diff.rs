//! What changed in effect between two policies: who gained and who lost which ports and
//! capabilities. With a tailnet, per pair of nodes; without one, per pair of selectors as
//! written. A rewrite that keeps the meaning (rules reordered, split, merged, reformatted)
//! shows no change.

use crate::lint::RELAY_CAP;
use crate::policy::Policy;
use crate::selector::{self, parse_grant_ip, PortRange};
use crate::table::DecisionTable;
use crate::tailnet::Tailnet;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The access of one source towards one destination that changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Source: a node name (with a tailnet) or a selector.
    pub src: String,
    /// Destination: a node name or a selector.
    pub dst: String,
    /// Ports now allowed that were not (`tcp:443`, `udp:53`, `icmp`...).
    pub gained_ports: Vec<String>,
    /// Ports no longer allowed.
    pub lost_ports: Vec<String>,
    /// Capabilities now held that were not (relay first).
    pub gained_caps: Vec<String>,
    /// Capabilities no longer held (relay first).
    pub lost_caps: Vec<String>,
}

impl Change {
    /// True when something was lost.
    pub fn removes(&self) -> bool {
        !self.lost_ports.is_empty() || !self.lost_caps.is_empty()
    }

    /// True when something was gained.
    pub fn adds(&self) -> bool {
        !self.gained_ports.is_empty() || !self.gained_caps.is_empty()
    }

    /// True when it concerns the peer-relay capability.
    pub fn touches_relay(&self) -> bool {
        self.gained_caps
            .iter()
            .chain(&self.lost_caps)
            .any(|c| c == RELAY_CAP)
    }
}

/// The whole difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    /// Whether it was computed per node (with a tailnet) or per selector.
    pub per_node: bool,
    /// The changes, relay changes first.
    pub changes: Vec<Change>,
    /// Rules of the new policy that open access to `*` (as source or destination) where the
    /// old policy had none.
    pub widened_to_wildcard: Vec<String>,
}

/// Access of one source towards one destination: protocol -> port ranges, and capabilities.
type Access = (BTreeMap<u8, Vec<PortRange>>, BTreeSet<String>);

/// Default protocols of a rule without `proto`: TCP, UDP, ICMP, ICMPv6.
const DEFAULT_PROTOS: [u8; 4] = [6, 17, 1, 58];

fn add_ports(access: &mut Access, protos: &[u8], ranges: &[PortRange]) {
    let protos: &[u8] = if protos.is_empty() || protos == [0] {
        &DEFAULT_PROTOS
    } else {
        protos
    };
    for &p in protos {
        let list = access.0.entry(p).or_default();
        if selector::has_ports(p) {
            list.extend_from_slice(ranges);
        } else {
            list.push(PortRange::ALL);
        }
    }
}

/// Merges overlapping and adjacent ranges.
fn normalize(ranges: &mut Vec<PortRange>) {
    ranges.sort();
    let mut out: Vec<PortRange> = Vec::with_capacity(ranges.len());
    for r in ranges.drain(..) {
        match out.last_mut() {
            Some(last) if u32::from(r.first) <= u32::from(last.last) + 1 => {
                last.last = last.last.max(r.last)
            }
            _ => out.push(r),
        }
    }
    *ranges = out;
}

/// `a` minus `b`, both normalized.
fn subtract(a: &[PortRange], b: &[PortRange]) -> Vec<PortRange> {
    let mut out = Vec::new();
    for r in a {
        let mut pieces = vec![*r];
        for cut in b {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    let mut keep = Vec::new();
                    if cut.last < p.first || cut.first > p.last {
                        keep.push(p);
                    } else {
                        if cut.first > p.first {
                            keep.push(PortRange {
                                first: p.first,
                                last: cut.first - 1,
                            });
                        }
                        if cut.last < p.last {
                            keep.push(PortRange {
                                first: cut.last + 1,
                                last: p.last,
                            });
                        }
                    }
                    keep
                })
                .collect();
        }
        out.extend(pieces);
    }
    out
}

fn proto_name(p: u8) -> String {
    match selector::PROTOCOLS.iter().find(|(_, n)| *n == p) {
        Some((name, _)) => (*name).to_string(),
        None => p.to_string(),
    }
}

fn describe(proto: u8, ranges: &[PortRange]) -> Vec<String> {
    if !selector::has_ports(proto) {
        return vec![proto_name(proto)];
    }
    ranges
        .iter()
        .map(|r| format!("{}:{r}", proto_name(proto)))
        .collect()
}

fn compare(src: String, dst: String, old: &Access, new: &Access) -> Option<Change> {
    let mut c = Change {
        src,
        dst,
        ..Change::default()
    };
    let protos: BTreeSet<u8> = old.0.keys().chain(new.0.keys()).copied().collect();
    let empty = Vec::new();
    for p in protos {
        let (o, n) = (
            old.0.get(&p).unwrap_or(&empty),
            new.0.get(&p).unwrap_or(&empty),
        );
        let (gained, lost) = (subtract(n, o), subtract(o, n));
        if !gained.is_empty() {
            c.gained_ports.extend(describe(p, &gained));
        }
        if !lost.is_empty() {
            c.lost_ports.extend(describe(p, &lost));
        }
    }
    let relay_first = |caps: BTreeSet<&String>| {
        let mut v: Vec<String> = caps.into_iter().cloned().collect();
        v.sort_by_key(|c| (c != RELAY_CAP, c.clone()));
        v
    };
    c.gained_caps = relay_first(new.1.difference(&old.1).collect());
    c.lost_caps = relay_first(old.1.difference(&new.1).collect());
    (c.adds() || c.removes()).then_some(c)
}

fn finish(
    mut map_old: BTreeMap<(String, String), Access>,
    mut map_new: BTreeMap<(String, String), Access>,
    per_node: bool,
    old: &Policy,
    new: &Policy,
) -> PolicyDiff {
    for access in map_old.values_mut().chain(map_new.values_mut()) {
        access.0.values_mut().for_each(normalize);
    }
    let keys: BTreeSet<(String, String)> = map_old.keys().chain(map_new.keys()).cloned().collect();
    let none = Access::default();
    let mut changes: Vec<Change> = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (
                map_old.get(&k).unwrap_or(&none),
                map_new.get(&k).unwrap_or(&none),
            );
            compare(k.0, k.1, o, n)
        })
        .collect();
    changes.sort_by_key(|c| !c.touches_relay());
    PolicyDiff {
        per_node,
        changes,
        widened_to_wildcard: wildcard_rules(new)
            .difference(&wildcard_rules(old))
            .cloned()
            .collect(),
    }
}

/// The rules (as one-line descriptions) that have `*` as a source or destination.
fn wildcard_rules(p: &Policy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for g in &p.grants {
        if g.src.iter().chain(&g.dst).any(|s| s.trim() == "*") {
            let ip: Vec<&str> = g.ip.iter().map(|s| s.trim()).collect();
            let app: Vec<&str> = g.app.iter().map(|(k, _)| k.as_str()).collect();
            out.insert(format!(
                "grant {:?} -> {:?} ip {ip:?} app {app:?}",
                names(&g.src),
                names(&g.dst)
            ));
        }
    }
    for a in &p.acls {
        if a.src.iter().any(|s| s.trim() == "*") || a.dst.iter().any(|d| d.trim().starts_with("*:"))
        {
            out.insert(format!("acl {:?} -> {:?}", names(&a.src), names(&a.dst)));
        }
    }
    out
}

fn names(list: &[crate::policy::Str]) -> Vec<&str> {
    list.iter().map(|s| s.trim()).collect()
}

/// Access per pair of selectors, as written.
fn selector_access(p: &Policy) -> BTreeMap<(String, String), Access> {
    let mut map: BTreeMap<(String, String), Access> = BTreeMap::new();
    for g in &p.grants {
        let via: Vec<&str> = names(&g.via);
        for s in &g.src {
            for d in &g.dst {
                let dst = if via.is_empty() {
                    d.trim().to_string()
                } else {
                    format!("{} via {}", d.trim(), via.join(","))
                };
                let access = map.entry((s.trim().to_string(), dst)).or_default();
                for ip in &g.ip {
                    if let Ok(spec) = parse_grant_ip(ip.trim()) {
                        add_ports(access, &spec.protos, &spec.ports);
                    }
                }
                access.1.extend(g.app.iter().map(|(k, _)| k.value.clone()));
            }
        }
    }
    for a in &p.acls {
        let protos = a
            .proto
            .as_ref()
            .and_then(|p| selector::parse_proto(p.trim()).ok())
            .unwrap_or_default();
        for s in &a.src {
            for d in &a.dst {
                let Some((alias, ports)) = selector::split_acl_dst(d.trim()) else {
                    continue;
                };
                let Ok(ranges) = selector::parse_ports(ports) else {
                    continue;
                };
                add_ports(
                    map.entry((s.trim().to_string(), alias.to_string()))
                        .or_default(),
                    &protos,
                    &ranges,
                );
            }
        }
    }
    map
}

/// Access per pair of nodes, from the decision table.
fn node_access(p: &Policy, tailnet: &Tailnet) -> BTreeMap<(String, String), Access> {
    let table = DecisionTable::build(p, tailnet);
    let mut map = BTreeMap::new();
    for dst_name in tailnet.nodes.keys() {
        let Some(dst) = table.node(dst_name) else {
            continue;
        };
        for (src_name, src_node) in &tailnet.nodes {
            let Some(addr) = src_node.addresses().next() else {
                continue;
            };
            let (ports, caps) = table.access(addr, dst);
            if ports.is_empty() && caps.is_empty() {
                continue;
            }
            let mut access = Access::default();
            for &(proto, first, last) in ports {
                add_ports(&mut access, &[proto], &[PortRange { first, last }]);
            }
            access.1.extend(caps.iter().map(|(n, _)| (*n).to_string()));
            map.insert((src_name.clone(), dst_name.clone()), access);
        }
    }
    map
}

/// The difference in effect between `old` and `new`, per node when a tailnet is given.
pub fn diff(old: &Policy, new: &Policy, tailnet: Option<&Tailnet>) -> PolicyDiff {
    match tailnet {
        Some(t) => finish(node_access(old, t), node_access(new, t), true, old, new),
        None => finish(selector_access(old), selector_access(new), false, old, new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        crate::policy::parse_policy(text).unwrap().0
    }

    #[test]
    fn a_rewrite_with_the_same_meaning_has_no_change() {
        let a = policy(
            r#"{"grants": [{"src": ["group:a", "group:b"], "dst": ["tag:x"], "ip": ["tcp:22", "tcp:23"]}]}"#,
        );
        let b = policy(
            r#"{"grants": [{"src": ["group:b"], "dst": ["tag:x"], "ip": ["tcp:22-23"]},
                           {"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:23", "tcp:22"]}]}"#,
        );
        assert_eq!(diff(&a, &b, None).changes, vec![]);
    }

    #[test]
    fn gained_and_lost_ports_and_caps_relay_first() {
        let a =
            policy(r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:1-100"]}]}"#);
        let b = policy(
            r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["tcp:50-200"]},
                           {"src": ["group:a"], "dst": ["tag:r"], "app": {"tailscale.com/cap/relay": []}}]}"#,
        );
        let d = diff(&a, &b, None);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.changes[0].gained_caps, vec![RELAY_CAP.to_string()]);
        assert_eq!(d.changes[1].gained_ports, vec!["tcp:101-200"]);
        assert_eq!(d.changes[1].lost_ports, vec!["tcp:1-49"]);
    }

    #[test]
    fn widening_to_wildcard_is_reported() {
        let a = policy(r#"{"grants": [{"src": ["group:a"], "dst": ["tag:x"], "ip": ["*"]}]}"#);
        let b = policy(r#"{"grants": [{"src": ["*"], "dst": ["tag:x"], "ip": ["*"]}]}"#);
        assert_eq!(diff(&a, &b, None).widened_to_wildcard.len(), 1);
    }

    #[test]
    fn per_node_changes_follow_the_tailnet() {
        let t = Tailnet::from_text(
            r#"{"users": [{"name": "a", "email": "a@example.com"}],
                "nodes": {"laptop": {"ipv4": "100.64.0.1", "user": "a"}, "srv": {"ipv4": "100.64.0.2", "tags": ["tag:x"]}}}"#,
        )
        .unwrap();
        let a = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["a@example.com"], "dst": ["tag:x"], "ip": ["tcp:22"]}]}"#,
        );
        let b = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["autogroup:member"], "dst": ["tag:x"], "ip": ["tcp:22"]}]}"#,
        );
        assert_eq!(
            diff(&a, &b, Some(&t)).changes,
            vec![],
            "same nodes, same access"
        );
        let c = policy(
            r#"{"tagOwners": {"tag:x": []}, "grants": [{"src": ["a@example.com"], "dst": ["tag:x"], "ip": ["udp:53"]}]}"#,
        );
        let d = diff(&a, &c, Some(&t));
        assert_eq!(d.changes.len(), 1);
        assert_eq!(
            (d.changes[0].src.as_str(), d.changes[0].dst.as_str()),
            ("laptop", "srv")
        );
        assert_eq!(d.changes[0].lost_ports, vec!["tcp:22"]);
        assert_eq!(d.changes[0].gained_ports, vec!["udp:53"]);
    }
}
