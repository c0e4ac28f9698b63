//! Building the decision table from a policy and a tailnet.

use super::{
    key, mask, Answer, DecisionTable, IntervalMap, NodeEntry, NodePolicy, DISABLE_RELAY_SERVER,
};
use crate::compile::compile_filters;
use crate::policy::Policy;
use crate::resolve::{parse_wire_addrs, subnet_routes, AddrSet, Resolver};
use crate::span::Span;
use crate::tailnet::Tailnet;
use std::collections::HashMap;
use std::net::IpAddr;

/// What one rule gives one node: ports on a protocol, or a capability with its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Grant {
    Port(u8, u16, u16),
    Cap(u32, String),
}

/// Interning of strings and spans.
#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    by_string: HashMap<String, u32>,
    spans: Vec<Span>,
    by_span: HashMap<Span, u32>,
}

impl Interner {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.by_string.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.strings.push(s.to_string());
        self.by_string.insert(s.to_string(), i);
        i
    }

    fn span(&mut self, s: Span) -> u32 {
        *self.by_span.entry(s).or_insert_with(|| {
            self.spans.push(s);
            u32::try_from(self.spans.len() - 1).unwrap_or(u32::MAX)
        })
    }
}

type Piece = (AddrSet, Grant, Vec<u32>);

fn interval_map(
    pieces: &[Piece],
    v4: bool,
    answers: &mut Vec<Answer>,
    by_answer: &mut HashMap<Answer, u32>,
) -> IntervalMap {
    let mut bounds: Vec<u128> = vec![0];
    for (set, _, _) in pieces {
        for &(a, b) in set.family_ranges(v4) {
            bounds.push(a);
            if let Some(next) = b.checked_add(1) {
                bounds.push(next);
            }
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut cover: Vec<Vec<usize>> = vec![Vec::new(); bounds.len()];
    for (pi, (set, _, _)) in pieces.iter().enumerate() {
        for &(a, b) in set.family_ranges(v4) {
            let i = bounds.partition_point(|x| *x < a);
            let j = match b.checked_add(1) {
                Some(n) => bounds.partition_point(|x| *x < n),
                None => bounds.len(),
            };
            for c in cover.get_mut(i..j).into_iter().flatten() {
                c.push(pi);
            }
        }
    }
    let mut map = IntervalMap::default();
    for (start, covered) in bounds.iter().zip(&cover) {
        let id = if covered.is_empty() {
            u32::MAX
        } else {
            let mut ans = Answer::default();
            for &pi in covered {
                let Some((_, g, origins)) = pieces.get(pi) else {
                    continue;
                };
                match g {
                    Grant::Port(p, f, l) => {
                        if !ans.ports.contains(&(*p, *f, *l)) {
                            ans.ports.push((*p, *f, *l));
                        }
                        for o in origins {
                            if !ans.origins.contains(o) {
                                ans.origins.push(*o);
                            }
                        }
                    }
                    Grant::Cap(n, v) => {
                        match ans.caps.iter_mut().find(|(cn, cv, _)| cn == n && cv == v) {
                            Some((_, _, o)) => o.extend(
                                origins
                                    .iter()
                                    .filter(|x| !o.contains(x))
                                    .collect::<Vec<_>>(),
                            ),
                            None => ans.caps.push((*n, v.clone(), origins.clone())),
                        }
                        for o in origins {
                            if !ans.origins.contains(o) {
                                ans.origins.push(*o);
                            }
                        }
                    }
                }
            }
            ans.ports.sort_unstable();
            ans.caps.sort();
            ans.origins.sort_unstable();
            *by_answer.entry(ans.clone()).or_insert_with(|| {
                answers.push(ans);
                u32::try_from(answers.len() - 1).unwrap_or(u32::MAX)
            })
        };
        if map.answers.last() != Some(&id) {
            map.starts.push(*start);
            map.answers.push(id);
        }
    }
    map
}

fn wire_set(strings: &[String]) -> AddrSet {
    let mut s = AddrSet::new();
    for x in strings {
        if let Some(p) = parse_wire_addrs(x) {
            s.add_set(&p);
        }
    }
    s
}

impl DecisionTable {
    /// Compiles `policy` for `tailnet` and indexes the result.
    pub fn build(policy: &Policy, tailnet: &Tailnet) -> Self {
        let compiled = compile_filters(policy, tailnet);
        let r = Resolver::new(policy, tailnet);
        let mut int = Interner::default();
        let mut answers = Vec::new();
        let mut by_answer = HashMap::new();
        let mut policies: Vec<NodePolicy> = Vec::new();
        let mut by_pieces: HashMap<Vec<Piece>, u32> = HashMap::new();

        // Relay servers turned off by nodeAttrs.
        let mut disabled: Vec<(AddrSet, Span)> = Vec::new();
        for na in &policy.node_attrs {
            if na
                .attr
                .iter()
                .any(|a| a.value.trim() == DISABLE_RELAY_SERVER)
            {
                let mut set = AddrSet::new();
                for t in &na.target {
                    set.add_set(&r.resolve(t.value.trim()));
                }
                disabled.push((set, na.span));
            }
        }

        let mut nodes = Vec::new();
        let mut lpm: HashMap<(bool, u8), HashMap<u128, u32>> = HashMap::new();
        for (ix, (name, node)) in tailnet.nodes.iter().enumerate() {
            let ix = u32::try_from(ix).unwrap_or(u32::MAX);
            let addrs: Vec<IpAddr> = node.addresses().collect();
            let mut pieces: Vec<Piece> = Vec::new();
            if let Some(out) = compiled.nodes.get(name) {
                for (rule, origins) in out.packet_filter_rules.iter().zip(&out.origins) {
                    let src = wire_set(&rule.src_ips);
                    let origins: Vec<u32> = origins.iter().map(|s| int.span(*s)).collect();
                    for d in &rule.dst_ports {
                        let covers = d.ip == "*"
                            || parse_wire_addrs(&d.ip)
                                .is_some_and(|s| addrs.iter().any(|a| s.contains(*a)));
                        if !covers {
                            continue;
                        }
                        let protos = if rule.ip_proto.is_empty() {
                            vec![0]
                        } else {
                            rule.ip_proto.clone()
                        };
                        for p in protos {
                            pieces.push((
                                src.clone(),
                                Grant::Port(p, d.ports.first, d.ports.last),
                                origins.clone(),
                            ));
                        }
                    }
                    for g in &rule.cap_grant {
                        let covers = g.dsts.iter().any(|d| {
                            parse_wire_addrs(d)
                                .is_some_and(|s| addrs.iter().any(|a| s.contains(*a)))
                        });
                        if !covers {
                            continue;
                        }
                        for (cap, values) in &g.cap_map {
                            let n = int.string(cap);
                            pieces.push((
                                src.clone(),
                                Grant::Cap(n, values.to_string()),
                                origins.clone(),
                            ));
                        }
                    }
                }
            }
            let policy_ix = match by_pieces.get(&pieces) {
                Some(&p) => p,
                None => {
                    let np = NodePolicy {
                        v4: interval_map(&pieces, true, &mut answers, &mut by_answer),
                        v6: interval_map(&pieces, false, &mut answers, &mut by_answer),
                    };
                    policies.push(np);
                    let p = u32::try_from(policies.len() - 1).unwrap_or(u32::MAX);
                    by_pieces.insert(pieces, p);
                    p
                }
            };
            for a in &addrs {
                let (v4, k) = key(*a);
                lpm.entry((v4, if v4 { 32 } else { 128 }))
                    .or_default()
                    .insert(k, ix);
            }
            for route in subnet_routes(node) {
                let (v4, k) = key(route.network());
                let len = route.prefix_len();
                lpm.entry((v4, len))
                    .or_default()
                    .entry(mask(k, len, v4))
                    .or_insert(ix);
            }
            let relay_disabled_by = disabled
                .iter()
                .find(|(set, _)| addrs.iter().any(|a| set.contains(*a)))
                .map(|(_, span)| int.span(*span));
            nodes.push(NodeEntry {
                name: name.clone(),
                addrs,
                tags: node.tags.iter().map(|t| int.string(t)).collect(),
                user: tailnet.owner_email(node).map(|e| int.string(e)),
                policy: policy_ix,
                relay_disabled_by,
                relay_disabled_in_tailnet: node
                    .attributes
                    .iter()
                    .any(|a| a == DISABLE_RELAY_SERVER),
                relay_port: node.relay.as_ref().map(|r| r.port),
            });
        }
        let mut lpm: Vec<(bool, u8, HashMap<u128, u32>)> =
            lpm.into_iter().map(|((v4, len), m)| (v4, len, m)).collect();
        lpm.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Self {
            strings: int.strings,
            spans: int.spans,
            answers,
            policies,
            nodes,
            lpm,
        }
    }
}
