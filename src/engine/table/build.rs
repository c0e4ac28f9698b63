//! Building the decision table from a policy and a tailnet.
//!
//! The rules are the compiler's (`compile::rules`), taken before they are merged and written
//! per node, so that nothing is done per (node, rule) that can be done once per rule:
//! 1. every rule destination becomes a *part* (its source set, what it grants, the grant it
//!    comes from), interned, with the nodes whose own addresses it covers (memoized by
//!    destination set: a thousand grants to `tag:relay` share one node list);
//! 2. nodes reached by the same parts get the same node policy: nodes are grouped by a
//!    128-bit fingerprint of their parts (a sum of per-part hashes, so no per-node list is
//!    kept; a part counted twice only splits a group, it never merges different ones), and
//!    each group's parts are collected once, from one representative node;
//! 3. source addresses are mapped once, for the whole table, to *source classes* (addresses
//!    that are in exactly the same source sets); a node policy maps source classes to
//!    answers, so its size is the number of classes it grants something to, not the number
//!    of address ranges in its sources.

use super::{
    key, mask, Answer, DecisionTable, IntervalMap, NodeEntry, NodePolicy, RouteMap, ROUTE_BIT,
};
use crate::engine::compile::rules::{
    resolve_unit, self_rules, shared_rules, via_rules, Body, Rule,
};
use crate::engine::compile::units::units;
use crate::engine::resolve::{parse_wire_addrs, subnet_routes, AddrSet, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::model::validated::Validated;
use crate::span::Span;
use crate::vocab::DISABLE_RELAY_SERVER;
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

/// What one rule gives one node: ports on a protocol, or a capability with its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Grant {
    Port(u8, u16, u16),
    Cap(u32, String),
}

/// A rule destination: its interned source set, what it grants, its interned origin.
type Part = (u32, Vec<Grant>, u32);

/// Interning of strings and spans.
#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    by_string: HashMap<String, u32>,
    spans: Vec<Span>,
    by_span: HashMap<Span, u32>,
}

fn index(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Interner {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.by_string.get(s) {
            return i;
        }
        let i = index(self.strings.len());
        self.strings.push(s.to_string());
        self.by_string.insert(s.to_string(), i);
        i
    }

    fn span(&mut self, s: Span) -> u32 {
        *self.by_span.entry(s).or_insert_with(|| {
            self.spans.push(s);
            index(self.spans.len() - 1)
        })
    }
}

/// Nodes by their own addresses, for finding the nodes a destination covers.
struct NodeIndex {
    v4: Vec<(u128, u32)>,
    v6: Vec<(u128, u32)>,
    all: Rc<[u32]>,
    memo: HashMap<AddrSet, Rc<[u32]>>,
    /// The node addresses a destination set holds, as address targets (see
    /// [`NodeIndex::reach_addrs`]), memoized by set.
    addr_memo: HashMap<AddrSet, Rc<[u32]>>,
    /// Approved subnet routes: (router, is IPv4, first, last address).
    routes: Vec<(u32, bool, u128, u128)>,
    /// For a destination set, the routes it overlaps and the part of each it covers.
    route_memo: HashMap<AddrSet, RouteClips>,
    /// Prefix lists already seen, by pointer (kept alive here).
    nets_memo: HashMap<usize, NetsReach>,
}

/// A prefix list, the nodes it reaches and the routes it overlaps.
type NetsReach = (Rc<[IpNet]>, Rc<[u32]>, RouteClips);

/// A part covering some of a route: the part, and the address ranges of the route it covers.
type RouteOcc = (u32, Vec<(u128, u128)>);

/// Routes a destination overlaps, each with the address ranges of it the destination covers.
type RouteClips = Rc<[(u32, Vec<(u128, u128)>)]>;

impl NodeIndex {
    fn new(tailnet: &Tailnet) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (ix, node) in tailnet.nodes.values().enumerate() {
            for a in node.addresses() {
                let (is4, k) = key(a);
                if is4 { &mut v4 } else { &mut v6 }.push((k, index(ix)));
            }
        }
        v4.sort_unstable();
        v6.sort_unstable();
        let all: Rc<[u32]> = (0..index(tailnet.nodes.len())).collect();
        let mut routes = Vec::new();
        for (ix, node) in tailnet.nodes.values().enumerate() {
            for route in subnet_routes(node) {
                let (is4, k) = key(route.network());
                let (_, last) = key(route.broadcast());
                routes.push((index(ix), is4, k, last));
            }
        }
        Self {
            v4,
            v6,
            all,
            memo: HashMap::new(),
            addr_memo: HashMap::new(),
            routes,
            route_memo: HashMap::new(),
            nets_memo: HashMap::new(),
        }
    }

    /// The nodes and routes a list of prefixes reaches, remembered by pointer (the lists of
    /// the capability grants to one selector are shared).
    fn reach_nets(&mut self, nets: &Rc<[IpNet]>) -> (Rc<[u32]>, RouteClips) {
        let ptr = nets.as_ptr() as usize;
        if let Some((_, reach, clips)) = self.nets_memo.get(&ptr) {
            return (Rc::clone(reach), Rc::clone(clips));
        }
        let set: AddrSet = nets.iter().copied().collect();
        let reach = self.reach(Some(&set));
        let clips = self.route_clips(Some(&set));
        self.nets_memo
            .insert(ptr, (Rc::clone(nets), Rc::clone(&reach), Rc::clone(&clips)));
        (reach, clips)
    }

    /// The routes a destination overlaps (`None`: every address), with what it covers of
    /// each.
    fn route_clips(&mut self, set: Option<&AddrSet>) -> RouteClips {
        if self.routes.is_empty() {
            return Rc::from([]);
        }
        let Some(set) = set else {
            return self
                .routes
                .iter()
                .enumerate()
                .map(|(ri, &(_, _, lo, hi))| (index(ri), vec![(lo, hi)]))
                .collect();
        };
        if let Some(r) = self.route_memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        for (ri, &(_, is4, lo, hi)) in self.routes.iter().enumerate() {
            let ranges = set.family_ranges(is4);
            let i = ranges.partition_point(|(_, b)| *b < lo);
            let clipped: Vec<(u128, u128)> = ranges
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|(a, _)| *a <= hi)
                .map(|&(a, b)| (a.max(lo), b.min(hi)))
                .collect();
            if !clipped.is_empty() {
                out.push((index(ri), clipped));
            }
        }
        let r: RouteClips = out.into();
        self.route_memo.insert(set.clone(), Rc::clone(&r));
        r
    }

    /// The own node addresses in `set` (`None`: every address), as address targets:
    /// `2 * node` for a node's IPv4 address, `2 * node + 1` for its IPv6 address (a node has
    /// at most one of each). Go's filter matches a destination address by address
    /// (`wgengine/filter/match.go`), so a rule to a node's IPv4 address alone does not open
    /// its IPv6 address.
    fn reach_addrs(&mut self, set: Option<&AddrSet>) -> Rc<[u32]> {
        let Some(set) = set else {
            return (0..index(self.all.len() * 2)).collect();
        };
        if let Some(r) = self.addr_memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        for (fam, is4) in [(&self.v4, true), (&self.v6, false)] {
            for &(lo, hi) in set.family_ranges(is4) {
                let i = fam.partition_point(|(a, _)| *a < lo);
                let j = fam.partition_point(|(a, _)| *a <= hi);
                let targets = fam.get(i..j).unwrap_or_default().iter();
                out.extend(targets.map(|x| x.1.saturating_mul(2) + u32::from(!is4)));
            }
        }
        out.sort_unstable();
        out.dedup();
        let r: Rc<[u32]> = out.into();
        self.addr_memo.insert(set.clone(), Rc::clone(&r));
        r
    }

    /// The nodes with an own address in `set` (`None`: every node).
    fn reach(&mut self, set: Option<&AddrSet>) -> Rc<[u32]> {
        let Some(set) = set else {
            return Rc::clone(&self.all);
        };
        if let Some(r) = self.memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        for (fam, is4) in [(&self.v4, true), (&self.v6, false)] {
            for &(lo, hi) in set.family_ranges(is4) {
                let i = fam.partition_point(|(a, _)| *a < lo);
                let j = fam.partition_point(|(a, _)| *a <= hi);
                out.extend(fam.get(i..j).unwrap_or_default().iter().map(|x| x.1));
            }
        }
        out.sort_unstable();
        out.dedup();
        let r: Rc<[u32]> = out.into();
        self.memo.insert(set.clone(), Rc::clone(&r));
        r
    }
}

/// Parts and the nodes each occurrence of a part reaches.
#[derive(Default)]
struct Parts {
    parts: Vec<Part>,
    by_part: HashMap<Part, u32>,
    sources: Vec<AddrSet>,
    by_source: HashMap<Vec<String>, u32>,
    /// Source lists already seen, by pointer (kept alive here so that a pointer is never
    /// reused): rules of grants with the same sources share one list.
    by_source_ptr: HashMap<usize, (Rc<[String]>, u32)>,
    occurrences: Vec<(u32, Rc<[u32]>)>,
    /// Port parts and the node addresses (address targets) each occurrence reaches.
    addr_occurrences: Vec<(u32, Rc<[u32]>)>,
    /// Per route: the parts whose destination covers some of it, with the ranges covered.
    route_occ: HashMap<u32, Vec<RouteOcc>>,
}

impl Parts {
    fn source(&mut self, src: &Rc<[String]>) -> u32 {
        let ptr = src.as_ptr() as usize;
        if let Some((_, i)) = self.by_source_ptr.get(&ptr) {
            return *i;
        }
        let i = self.source_by_value(src);
        self.by_source_ptr.insert(ptr, (Rc::clone(src), i));
        i
    }

    fn source_by_value(&mut self, src: &[String]) -> u32 {
        if let Some(&i) = self.by_source.get(src) {
            return i;
        }
        let mut set = AddrSet::new();
        for s in src {
            if let Some(p) = parse_wire_addrs(s) {
                set.add_set(&p);
            }
        }
        let i = index(self.sources.len());
        self.sources.push(set);
        self.by_source.insert(src.to_vec(), i);
        i
    }

    fn part(&mut self, p: Part) -> u32 {
        if let Some(&i) = self.by_part.get(&p) {
            return i;
        }
        let i = index(self.parts.len());
        self.parts.push(p.clone());
        self.by_part.insert(p, i);
        i
    }

    fn occur(
        &mut self,
        part: Part,
        reach: Rc<[u32]>,
        clips: &RouteClips,
        routes: &[(u32, bool, u128, u128)],
        only: Option<u32>,
    ) {
        let mut pid = None;
        for (ri, ranges) in clips.iter() {
            if let Some(n) = only {
                if routes.get(*ri as usize).map(|r| r.0) != Some(n) {
                    continue;
                }
            }
            let p = *pid.get_or_insert_with(|| self.part(part.clone()));
            self.route_occ
                .entry(*ri)
                .or_default()
                .push((p, ranges.clone()));
        }
        let reach = match only {
            Some(n) if reach.contains(&n) => Rc::from([n]),
            Some(_) => return,
            None if reach.is_empty() => return,
            None => reach,
        };
        let part = self.part(part);
        self.occurrences.push((part, reach));
    }

    /// Records the node addresses a port part reaches. `only`: the rule is pushed to this
    /// node alone.
    fn occur_addrs(&mut self, part: Part, targets: Rc<[u32]>, only: Option<u32>) {
        let targets: Rc<[u32]> = match only {
            Some(n) => targets.iter().copied().filter(|t| t / 2 == n).collect(),
            None => targets,
        };
        if !targets.is_empty() {
            let p = self.part(part);
            self.addr_occurrences.push((p, targets));
        }
    }

    /// Records a rule's destinations. `only`: the rule is pushed to this node alone.
    fn add_rule(
        &mut self,
        rule: &Rule,
        only: Option<u32>,
        nodes: &mut NodeIndex,
        int: &mut Interner,
    ) {
        let src = self.source(&rule.src);
        let origin = int.span(rule.origin);
        match &rule.body {
            Body::Ports { dests, protos } => {
                for d in dests {
                    let reach = nodes.reach(d.addrs.as_ref());
                    let clips = nodes.route_clips(d.addrs.as_ref());
                    let protos: &[u8] = if protos.is_empty() { &[0] } else { protos };
                    let grants = protos
                        .iter()
                        .map(|p| Grant::Port(*p, d.wire.ports.first, d.wire.ports.last))
                        .collect();
                    let targets = nodes.reach_addrs(d.addrs.as_ref());
                    let part: Part = (src, grants, origin);
                    self.occur_addrs(part.clone(), targets, only);
                    self.occur(part, reach, &clips, &nodes.routes, only);
                }
            }
            Body::Caps(grants) => {
                for (nets, cm) in grants {
                    let (reach, clips) = nodes.reach_nets(nets);
                    let grants = cm
                        .iter()
                        .map(|(cap, v)| Grant::Cap(int.string(cap), v.to_string()))
                        .collect();
                    self.occur((src, grants, origin), reach, &clips, &nodes.routes, only);
                }
            }
        }
    }
}

/// 128-bit hash of a part id (two SplitMix64 finalizers with different seeds).
fn part_hash(p: u32) -> (u64, u64) {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let x = u64::from(p);
    (
        mix(x.wrapping_add(0x9E37_79B9_7F4A_7C15)),
        mix(x ^ 0xD1B5_4A32_D192_ED03),
    )
}

/// The partition of the address space into source classes.
struct Classes {
    v4: IntervalMap,
    v6: IntervalMap,
    /// For each source set, the classes inside it.
    of_source: Vec<Vec<u32>>,
}

fn classes(sources: &[AddrSet]) -> Classes {
    let mut by_key: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut of_source: Vec<Vec<u32>> = vec![Vec::new(); sources.len()];
    let mut family = |is4: bool| {
        let mut bounds: Vec<u128> = vec![0];
        for s in sources {
            for &(a, b) in s.family_ranges(is4) {
                bounds.push(a);
                if let Some(n) = b.checked_add(1) {
                    bounds.push(n);
                }
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut cover: Vec<Vec<u32>> = vec![Vec::new(); bounds.len()];
        for (si, s) in sources.iter().enumerate() {
            for &(a, b) in s.family_ranges(is4) {
                let i = bounds.partition_point(|x| *x < a);
                let j = b
                    .checked_add(1)
                    .map_or(bounds.len(), |n| bounds.partition_point(|x| *x < n));
                for c in cover.get_mut(i..j).into_iter().flatten() {
                    c.push(index(si));
                }
            }
        }
        let mut map = IntervalMap::default();
        for (start, covered) in bounds.iter().zip(cover) {
            let class = if covered.is_empty() {
                u32::MAX
            } else {
                let next = index(by_key.len());
                match by_key.get(&covered) {
                    Some(&c) => c,
                    None => {
                        for &s in &covered {
                            if let Some(v) = of_source.get_mut(s as usize) {
                                v.push(next);
                            }
                        }
                        by_key.insert(covered, next);
                        next
                    }
                }
            };
            if map.answers.last() != Some(&class) {
                map.starts.push(*start);
                map.answers.push(class);
            }
        }
        map
    };
    let v4 = family(true);
    let v6 = family(false);
    Classes { v4, v6, of_source }
}

fn answer_of(parts: &[Part], members: &[u32]) -> Answer {
    let mut ans = Answer::default();
    for &pi in members {
        let Some((_, grants, origin)) = parts.get(pi as usize) else {
            continue;
        };
        for g in grants {
            match g {
                Grant::Port(p, f, l) => {
                    if !ans.ports.contains(&(*p, *f, *l)) {
                        ans.ports.push((*p, *f, *l));
                    }
                }
                Grant::Cap(n, v) => {
                    match ans.caps.iter_mut().find(|(cn, cv, _)| cn == n && cv == v) {
                        Some((_, _, o)) => {
                            if !o.contains(origin) {
                                o.push(*origin);
                            }
                        }
                        None => ans.caps.push((*n, v.clone(), vec![*origin])),
                    }
                }
            }
        }
        if !ans.origins.contains(origin) {
            ans.origins.push(*origin);
        }
    }
    ans.ports.sort_unstable();
    for c in &mut ans.caps {
        c.2.sort_unstable();
    }
    ans.caps.sort();
    ans.origins.sort_unstable();
    ans
}

/// The node policy of a set of parts: for each source class, the answer of the parts whose
/// source holds it.
fn node_policy(
    parts: &[Part],
    members: &[u32],
    classes: &Classes,
    answers: &mut Vec<Answer>,
    by_answer: &mut HashMap<Answer, u32>,
) -> NodePolicy {
    let mut per_class: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &pi in members {
        let Some((src, _, _)) = parts.get(pi as usize) else {
            continue;
        };
        for &c in classes.of_source.get(*src as usize).into_iter().flatten() {
            per_class.entry(c).or_default().push(pi);
        }
    }
    let mut np = NodePolicy::default();
    for (class, ps) in per_class {
        let ans = answer_of(parts, &ps);
        if ans.ports.is_empty() && ans.caps.is_empty() {
            continue;
        }
        let id = *by_answer.entry(ans.clone()).or_insert_with(|| {
            answers.push(ans);
            index(answers.len() - 1)
        });
        np.classes.push(class);
        np.answers.push(id);
    }
    np
}

/// Groups nodes by the parts that reach them; returns each node's group and each group's
/// parts (sorted, deduplicated).
fn group_nodes(n: usize, occurrences: &[(u32, Rc<[u32]>)]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let mut fp: Vec<(u64, u64, u32)> = vec![(0, 0, 0); n];
    for (p, reach) in occurrences {
        let (a, b) = part_hash(*p);
        for &node in reach.iter() {
            if let Some(f) = fp.get_mut(node as usize) {
                f.0 = f.0.wrapping_add(a);
                f.1 = f.1.wrapping_add(b);
                f.2 = f.2.wrapping_add(1);
            }
        }
    }
    let mut group_of: Vec<u32> = Vec::with_capacity(n);
    let mut rep: Vec<bool> = Vec::with_capacity(n);
    let mut by_fp: HashMap<(u64, u64, u32), u32> = HashMap::new();
    for f in &fp {
        let next = index(by_fp.len());
        let g = *by_fp.entry(*f).or_insert(next);
        rep.push(g == next);
        group_of.push(g);
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); by_fp.len()];
    for (p, reach) in occurrences {
        for &node in reach.iter() {
            if rep.get(node as usize) == Some(&true) {
                if let Some(m) = group_of
                    .get(node as usize)
                    .and_then(|g| members.get_mut(*g as usize))
                {
                    m.push(*p);
                }
            }
        }
    }
    for m in &mut members {
        m.sort_unstable();
        m.dedup();
    }
    (group_of, members)
}

/// The route maps: for each route, its address segments (the destinations of the parts
/// covering it cut it into) and the node policy of the parts covering each segment.
fn route_maps(
    nodes_ix: &NodeIndex,
    parts: &Parts,
    classes: &Classes,
    policies: &mut Vec<NodePolicy>,
    answers: &mut Vec<Answer>,
    by_answer: &mut HashMap<Answer, u32>,
) -> Vec<RouteMap> {
    let mut by_members: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut out = Vec::with_capacity(nodes_ix.routes.len());
    for (ri, &(router, _, lo, hi)) in nodes_ix.routes.iter().enumerate() {
        let occ = parts
            .route_occ
            .get(&index(ri))
            .map_or(&[][..], Vec::as_slice);
        let mut bounds: Vec<u128> = vec![lo];
        for (_, ranges) in occ {
            for &(a, b) in ranges {
                bounds.push(a);
                if b < hi {
                    bounds.push(b + 1);
                }
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut cover: Vec<Vec<u32>> = vec![Vec::new(); bounds.len()];
        for (p, ranges) in occ {
            for &(a, b) in ranges {
                let i = bounds.partition_point(|x| *x < a);
                let j = if b < hi {
                    bounds.partition_point(|x| *x <= b)
                } else {
                    bounds.len()
                };
                for c in cover.get_mut(i..j).into_iter().flatten() {
                    c.push(*p);
                }
            }
        }
        let mut map = RouteMap {
            router,
            ..RouteMap::default()
        };
        for (start, mut members) in bounds.into_iter().zip(cover) {
            members.sort_unstable();
            members.dedup();
            let policy = if members.is_empty() {
                u32::MAX
            } else if let Some(&p) = by_members.get(&members) {
                p
            } else {
                let np = node_policy(&parts.parts, &members, classes, answers, by_answer);
                let p = index(policies.len());
                policies.push(np);
                by_members.insert(members, p);
                p
            };
            if map.policies.last() != Some(&policy) {
                map.starts.push(start);
                map.policies.push(policy);
            }
        }
        out.push(map);
    }
    out
}

impl DecisionTable {
    /// Compiles `policy` for `tailnet` and indexes the result. Get the policy from the
    /// checker ([`crate::validate::Report::into_validated`]).
    pub fn build(policy: &Validated, tailnet: &Tailnet) -> Self {
        Self::of_policy(policy, tailnet)
    }

    /// [`DecisionTable::build`] of a policy that may not have passed the checker, for the
    /// tools that answer about any decoded policy (`diff`, the assertions): anything that
    /// does not resolve grants nothing.
    pub(crate) fn of_policy(policy: &Policy, tailnet: &Tailnet) -> Self {
        let r = Resolver::new(policy, tailnet);
        let mut int = Interner::default();
        let mut nodes_ix = NodeIndex::new(tailnet);
        let mut parts = Parts::default();

        // 1. Parts and the nodes they reach. Units are resolved one at a time; only those
        // with per-node rules (`autogroup:self`, `via`) are kept.
        let units = units(policy);
        let mut per_node = Vec::new();
        for u in &units {
            let ru = resolve_unit(&r, u);
            for rule in &shared_rules(&r, &ru) {
                parts.add_rule(rule, None, &mut nodes_ix, &mut int);
            }
            if !u.via.is_empty() || u.dst.contains(&"autogroup:self") {
                per_node.push(ru);
            }
        }
        if !per_node.is_empty() {
            for id in 0..tailnet.nodes.len() {
                for ru in &per_node {
                    let mut rules = self_rules(&r, ru, id);
                    rules.extend(via_rules(&r, ru, id));
                    for rule in &rules {
                        parts.add_rule(rule, Some(index(id)), &mut nodes_ix, &mut int);
                    }
                }
            }
        }

        // 2. Nodes grouped by their parts.
        let n = tailnet.nodes.len();
        let (group_of, members) = group_nodes(n, &parts.occurrences);

        // 3. Source classes, and one node policy per group.
        let classes = classes(&parts.sources);
        let mut answers = Vec::new();
        let mut by_answer = HashMap::new();
        let mut policies: Vec<NodePolicy> = members
            .iter()
            .map(|m| node_policy(&parts.parts, m, &classes, &mut answers, &mut by_answer))
            .collect();
        // Per node address, the policy of the port parts that reach that address.
        let (addr_group_of, addr_members) = group_nodes(2 * n, &parts.addr_occurrences);
        let mut by_members: HashMap<&[u32], u32> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_slice(), index(i)))
            .collect();
        let addr_policy_of_group: Vec<u32> = addr_members
            .iter()
            .map(|m| {
                *by_members.entry(m.as_slice()).or_insert_with(|| {
                    let np = node_policy(&parts.parts, m, &classes, &mut answers, &mut by_answer);
                    policies.push(np);
                    index(policies.len() - 1)
                })
            })
            .collect();
        let routes = route_maps(
            &nodes_ix,
            &parts,
            &classes,
            &mut policies,
            &mut answers,
            &mut by_answer,
        );

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

        let mut nodes = Vec::with_capacity(n);
        let mut lpm: HashMap<(bool, u8), HashMap<u128, u32>> = HashMap::new();
        let mut route_ix = 0u32;
        for (ix, (name, node)) in tailnet.nodes.iter().enumerate() {
            let ix = index(ix);
            let addrs: Vec<IpAddr> = node.addresses().collect();
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
                    .or_insert(ROUTE_BIT | route_ix);
                route_ix += 1;
            }
            let relay_disabled_by = disabled
                .iter()
                .find(|(set, _)| addrs.iter().any(|a| set.contains(*a)))
                .map(|(_, span)| int.span(*span));
            let src_class = addrs.first().map_or(u32::MAX, |a| {
                let (v4, k) = key(*a);
                let map = if v4 { &classes.v4 } else { &classes.v6 };
                map.get(k).unwrap_or(u32::MAX)
            });
            nodes.push(NodeEntry {
                name: name.clone(),
                addrs,
                tags: node.tags.iter().map(|t| int.string(t)).collect(),
                user: tailnet.owner_email(node).map(|e| int.string(e)),
                policy: group_of.get(ix as usize).copied().unwrap_or(0),
                addr_policy: [0, 1].map(|fam| {
                    addr_group_of
                        .get((ix as usize) * 2 + fam)
                        .and_then(|g| addr_policy_of_group.get(*g as usize))
                        .copied()
                        .unwrap_or(u32::MAX)
                }),
                src_class,
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
        Self::assemble(
            int.strings,
            int.spans,
            answers,
            policies,
            nodes,
            lpm,
            routes,
            [classes.v4, classes.v6],
        )
    }
}
