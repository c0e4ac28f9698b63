//! Per-node assembly: merging rules with the same sources and protocols, and narrowing
//! each rule to the destinations that reach one node.

use super::headscale;
use super::rules::{resolve_unit, self_rules, shared_rules, via_rules, Body, ResolvedUnit, Rule};
use super::units::units;
use super::wire::{CapGrant, Compiled, FilterRule, NodeOutput};
use crate::engine::resolve::{is_exit_node, subnet_routes, AddrSet, NodeId, NodeIndex, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::{Node, Tailnet};
use crate::model::Dialect;
use crate::span::Span;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Where a rule stands in the control plane's rule list: (unit, rank within the unit).
type Pos = (usize, usize);

/// Rank offset of per-node rules, after a unit's shared rules.
const PER_NODE: usize = 1 << 20;

type MergeKey = (Vec<String>, Vec<u8>);

fn merge_key(rule: &Rule) -> Option<MergeKey> {
    match &rule.body {
        Body::Ports { protos, .. } => Some((rule.src.to_vec(), protos.clone())),
        Body::Caps(_) => None,
    }
}

/// The nodes a rule's destinations reach (by their own addresses or their subnet routes),
/// sorted, each once.
fn rule_reach(index: &NodeIndex, rule: &Rule, exit_nodes: &[(NodeId, &Node)]) -> Vec<NodeId> {
    let mut out = Vec::new();
    match &rule.body {
        Body::Ports { dests, .. } => {
            for d in dests {
                match &d.addrs {
                    None => return (0..index.len()).collect(),
                    Some(set) => {
                        index.reached(set, &mut out);
                        out.extend(
                            exit_nodes
                                .iter()
                                .filter(|(_, n)| headscale::kept_on_exit_node(n, set))
                                .map(|(id, _)| *id as u32),
                        );
                    }
                }
            }
        }
        Body::Caps(grants) => {
            for (nets, _) in grants {
                let set: AddrSet = nets.iter().copied().collect();
                index.reached(&set, &mut out);
            }
        }
    }
    let mut out: Vec<NodeId> = out.into_iter().map(|i| i as NodeId).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The nodes a set of addresses reaches, as [`NodeId`]s.
fn reached(index: &NodeIndex, set: &AddrSet, out: &mut Vec<NodeId>) {
    let mut ids = Vec::new();
    index.reached(set, &mut ids);
    out.extend(ids.into_iter().map(|i| i as NodeId));
}

/// Narrows a rule to one node under `dialect`'s rules; `None` when nothing of it reaches
/// the node.
fn reduce(rule: &Rule, node: &Node, dialect: Dialect) -> Option<FilterRule> {
    let addrs: Vec<IpAddr> = node.addresses().collect();
    let routes: Vec<IpNet> = subnet_routes(node).collect();
    match &rule.body {
        Body::Ports { dests, protos } => {
            let kept: Vec<_> = dests
                .iter()
                .filter(|d| match &d.addrs {
                    None => true,
                    Some(set) => {
                        addrs.iter().any(|a| set.contains(*a))
                            || routes.iter().any(|rt| set.overlaps_net(rt))
                            || (dialect == Dialect::Headscale
                                && headscale::kept_on_exit_node(node, set))
                    }
                })
                .map(|d| d.wire.clone())
                .collect();
            (!kept.is_empty()).then(|| FilterRule {
                src_ips: rule.src.to_vec(),
                dst_ports: kept,
                ip_proto: protos.clone(),
                cap_grant: Vec::new(),
            })
        }
        Body::Caps(grants) => {
            let mut out = Vec::new();
            for (nets, cm) in grants {
                let mut matching: Vec<IpNet> = Vec::new();
                for net in nets.iter() {
                    if net.prefix_len() == net.max_prefix_len() {
                        if addrs.contains(&net.addr()) {
                            matching.push(*net);
                        }
                    } else {
                        matching.extend(
                            addrs
                                .iter()
                                .filter(|a| net.contains(*a))
                                .map(|a| IpNet::from(*a)),
                        );
                    }
                }
                for net in nets.iter() {
                    if routes.iter().any(|rt| rt.contains(net) || net.contains(rt)) {
                        matching.push(*net);
                    }
                }
                matching.sort_unstable();
                matching.dedup();
                if !matching.is_empty() {
                    out.push(CapGrant {
                        dsts: matching.iter().map(ToString::to_string).collect(),
                        cap_map: cm.clone(),
                    });
                }
            }
            (!out.is_empty()).then(|| FilterRule {
                src_ips: rule.src.to_vec(),
                cap_grant: out,
                ..FilterRule::default()
            })
        }
    }
}

/// One group of merged rules for one node.
struct Group<'r> {
    pos: Pos,
    members: Vec<(Pos, &'r Rule)>,
}

/// Pairs of nodes that grants make peers of each other (by node index), whether or not a
/// packet filter rule results: a grant's source nodes and the nodes its destinations reach
/// (through `via` routers when it has `via`), and the devices of one user under
/// `autogroup:self`.
fn grant_peers(
    r: &Resolver<'_>,
    resolved: &[ResolvedUnit<'_, '_>],
    index: &NodeIndex,
) -> Vec<Vec<bool>> {
    let n = r.nodes().len();
    let mut peers = vec![vec![false; n]; n];
    let mut link = |a: NodeId, b: NodeId| {
        if a != b {
            if let Some(x) = peers.get_mut(a).and_then(|row| row.get_mut(b)) {
                *x = true;
            }
            if let Some(x) = peers.get_mut(b).and_then(|row| row.get_mut(a)) {
                *x = true;
            }
        }
    };
    for ru in resolved {
        let mut srcs = Vec::new();
        reached(index, &ru.src_set, &mut srcs);
        let mut dsts = Vec::new();
        for d in &ru.unit.dst {
            if d.trimmed() == "autogroup:self" {
                for &s in &srcs {
                    for t in 0..n {
                        if same_user(r, s, t) {
                            link(s, t);
                        }
                    }
                }
                continue;
            }
            reached(index, &r.resolve_selector(d), &mut dsts);
        }
        if !ru.unit.via.is_empty() {
            dsts.retain(|&id| {
                r.nodes()
                    .get(id)
                    .is_some_and(|(_, node)| ru.unit.via_holds_any(&node.tags))
            });
        }
        for &s in &srcs {
            for &d in &dsts {
                link(s, d);
            }
        }
    }
    peers
}

fn same_user(r: &Resolver<'_>, a: NodeId, b: NodeId) -> bool {
    match (r.nodes().get(a), r.nodes().get(b)) {
        (Some((_, x)), Some((_, y))) => {
            !x.is_tagged() && !y.is_tagged() && x.user.is_some() && x.user == y.user
        }
        _ => false,
    }
}

pub(super) fn compile_nodes(
    policy: &Policy,
    tailnet: &Tailnet,
    with_peers: bool,
    dialect: Dialect,
) -> (Compiled, Vec<Vec<bool>>) {
    let r = Resolver::new(policy, tailnet).in_dialect(dialect);
    let units = units(policy, dialect);
    let resolved: Vec<_> = units.iter().map(|u| resolve_unit(&r, u)).collect();

    let mut shared: Vec<(Pos, Rule)> = Vec::new();
    for (ui, ru) in resolved.iter().enumerate() {
        for (k, rule) in shared_rules(&r, ru).into_iter().enumerate() {
            shared.push(((ui, k), rule));
        }
    }
    let per_node_units: Vec<usize> = resolved
        .iter()
        .enumerate()
        .filter(|(_, ru)| !ru.unit.via.is_empty() || ru.unit.has_dst("autogroup:self"))
        .map(|(i, _)| i)
        .collect();

    // First place of each merge key among the shared rules.
    let mut first: HashMap<MergeKey, Pos> = HashMap::new();
    for (pos, rule) in &shared {
        if let Some(k) = merge_key(rule) {
            first.entry(k).or_insert(*pos);
        }
    }
    // The shared rules that reach each node.
    let index = r.node_index();
    let peers = if with_peers {
        grant_peers(&r, &resolved, index)
    } else {
        Vec::new()
    };
    // Headscale's exit nodes also take the rules towards the internet.
    let exit_nodes: Vec<(NodeId, &Node)> = match dialect {
        Dialect::Tailscale => Vec::new(),
        Dialect::Headscale => r
            .nodes()
            .iter()
            .enumerate()
            .filter(|(_, (_, n))| is_exit_node(n))
            .map(|(id, (_, n))| (id, *n))
            .collect(),
    };
    let mut reach: Vec<Vec<usize>> = vec![Vec::new(); r.nodes().len()];
    for (i, (_, rule)) in shared.iter().enumerate() {
        for id in rule_reach(index, rule, &exit_nodes) {
            if let Some(v) = reach.get_mut(id) {
                v.push(i);
            }
        }
    }

    let mut out = Compiled::default();
    for (id, (name, node)) in r.nodes().iter().enumerate() {
        let mut own: Vec<(Pos, Rule)> = Vec::new();
        for &ui in &per_node_units {
            let Some(ru) = resolved.get(ui) else { continue };
            let mut rules = self_rules(&r, ru, id);
            rules.extend(via_rules(&r, ru, id));
            for (k, rule) in rules.into_iter().enumerate() {
                own.push(((ui, PER_NODE + k), rule));
            }
        }
        let mut entries: Vec<(Pos, &Rule)> = reach
            .get(id)
            .map(|v| {
                v.iter()
                    .filter_map(|&i| shared.get(i).map(|(p, rl)| (*p, rl)))
                    .collect()
            })
            .unwrap_or_default();
        entries.extend(own.iter().map(|(p, rl)| (*p, rl)));
        entries.sort_by_key(|(p, _)| *p);

        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut by_key: HashMap<MergeKey, usize> = HashMap::new();
        for (pos, rule) in entries {
            match merge_key(rule) {
                None => groups.push(Group {
                    pos,
                    members: vec![(pos, rule)],
                }),
                Some(k) => {
                    if let Some(&g) = by_key.get(&k) {
                        if let Some(grp) = groups.get_mut(g) {
                            grp.members.push((pos, rule));
                        }
                    } else {
                        let gpos = first.get(&k).map_or(pos, |f| (*f).min(pos));
                        by_key.insert(k, groups.len());
                        groups.push(Group {
                            pos: gpos,
                            members: vec![(pos, rule)],
                        });
                    }
                }
            }
        }
        groups.sort_by_key(|g| g.pos);

        let mut node_out = NodeOutput::default();
        for g in &groups {
            let mut merged: Option<FilterRule> = None;
            let mut origins: Vec<Span> = Vec::new();
            for (_, rule) in &g.members {
                let Some(reduced) = reduce(rule, node, dialect) else {
                    continue;
                };
                if !origins.contains(&rule.origin) {
                    origins.push(rule.origin);
                }
                match &mut merged {
                    Some(m) => m.dst_ports.extend(reduced.dst_ports),
                    None => merged = Some(reduced),
                }
            }
            if let Some(m) = merged {
                node_out.packet_filter_rules.push(m);
                node_out.origins.push(origins);
            }
        }
        out.nodes.insert((*name).to_string(), node_out);
    }
    (out, peers)
}

/// A rule in wire form, before it is narrowed to any node.
fn to_wire(rule: &Rule) -> FilterRule {
    match &rule.body {
        Body::Ports { dests, protos } => FilterRule {
            src_ips: rule.src.to_vec(),
            dst_ports: dests.iter().map(|d| d.wire.clone()).collect(),
            ip_proto: protos.clone(),
            cap_grant: Vec::new(),
        },
        Body::Caps(grants) => FilterRule {
            src_ips: rule.src.to_vec(),
            cap_grant: grants
                .iter()
                .map(|(nets, cm)| CapGrant {
                    dsts: nets.iter().map(ToString::to_string).collect(),
                    cap_map: cm.clone(),
                })
                .collect(),
            ..FilterRule::default()
        },
    }
}

/// Every rule of the policy before it is narrowed to a node: the shared rules, then each
/// node's `autogroup:self` and `via` rules. This is what the control plane evaluates the
/// `tests` block against.
pub(super) fn global_rules(
    policy: &Policy,
    tailnet: &Tailnet,
    dialect: Dialect,
) -> Vec<FilterRule> {
    let r = Resolver::new(policy, tailnet).in_dialect(dialect);
    let units = units(policy, dialect);
    let resolved: Vec<_> = units.iter().map(|u| resolve_unit(&r, u)).collect();
    let mut out = Vec::new();
    for ru in &resolved {
        out.extend(shared_rules(&r, ru).iter().map(to_wire));
        for id in 0..r.nodes().len() {
            out.extend(self_rules(&r, ru, id).iter().map(to_wire));
            out.extend(via_rules(&r, ru, id).iter().map(to_wire));
        }
    }
    out
}

/// The shared rules of the policy (without the per-node `autogroup:self` and `via` rules),
/// in wire form, rules with the same sources and protocols merged at the first one and
/// capability rules kept apart: Headscale's global filter (`hscontrol/policy/v2/compiled.go`,
/// `globalFilterRules`, which leaves out via grants and the self part of grants; `filter.go`,
/// `mergeFilterRules`).
pub(super) fn global_filter(
    policy: &Policy,
    tailnet: &Tailnet,
    dialect: Dialect,
) -> Vec<FilterRule> {
    let r = Resolver::new(policy, tailnet).in_dialect(dialect);
    let units = units(policy, dialect);
    let mut out: Vec<FilterRule> = Vec::new();
    let mut by_key: HashMap<MergeKey, usize> = HashMap::new();
    for u in &units {
        let ru = resolve_unit(&r, u);
        for rule in shared_rules(&r, &ru) {
            let wire = to_wire(&rule);
            match merge_key(&rule) {
                Some(k) => match by_key.get(&k).and_then(|&i| out.get_mut(i)) {
                    Some(first) => first.dst_ports.extend(wire.dst_ports),
                    None => {
                        by_key.insert(k, out.len());
                        out.push(wire);
                    }
                },
                None => out.push(wire),
            }
        }
    }
    out
}
