//! Node policies and their answers: nodes reached by the same parts share one node policy
//! (a sorted list from source class to an interned answer), and so do the address segments
//! of an approved subnet route covered by the same parts.
//!
//! Nodes are grouped by a 128-bit fingerprint of their parts (a sum of per-part hashes, so
//! no per-node list is kept; a part counted twice only splits a group, it never merges
//! different ones), and each group's parts are collected once, from one representative node.
//! Invariants: answers are interned (equal answers share one id) and never empty; a policy's
//! classes are strictly increasing; an answer's ports, capabilities and origins are sorted
//! and deduplicated, so that equal grants give equal answers whatever the rule order.

use super::classes::Classes;
use super::intern::index;
use super::parts::{Grant, Part, Parts};
use crate::engine::resolve::SubnetRoute;
use crate::engine::table::{Answer, NodePolicy, RouteMap};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// The interned answers.
#[derive(Default)]
pub(super) struct Answers {
    pub(super) list: Vec<Answer>,
    by_answer: HashMap<Answer, u32>,
}

impl Answers {
    fn intern(&mut self, ans: Answer) -> u32 {
        if let Some(&i) = self.by_answer.get(&ans) {
            return i;
        }
        let i = index(self.list.len());
        self.list.push(ans.clone());
        self.by_answer.insert(ans, i);
        i
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

/// Groups nodes by the parts that reach them; returns each node's group and each group's
/// parts (sorted, deduplicated).
pub(super) fn group_nodes(n: usize, occurrences: &[(u32, Rc<[u32]>)]) -> (Vec<u32>, Vec<Vec<u32>>) {
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
pub(super) fn node_policy(
    parts: &[Part],
    members: &[u32],
    classes: &Classes,
    answers: &mut Answers,
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
        np.classes.push(class);
        np.answers.push(answers.intern(ans));
    }
    np
}

/// The route maps: for each route, its address segments (the destinations of the parts
/// covering it cut it into) and the node policy of the parts covering each segment.
pub(super) fn route_maps(
    routes: &[SubnetRoute],
    parts: &Parts,
    classes: &Classes,
    policies: &mut Vec<NodePolicy>,
    answers: &mut Answers,
) -> Vec<RouteMap> {
    let mut by_members: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut out = Vec::with_capacity(routes.len());
    for (ri, route) in routes.iter().enumerate() {
        let (lo, hi) = (route.first, route.last);
        let occ = parts.on_route(index(ri));
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
        let mut map = RouteMap::new(route.router, route.net);
        for (start, mut members) in bounds.into_iter().zip(cover) {
            members.sort_unstable();
            members.dedup();
            let policy = if members.is_empty() {
                u32::MAX
            } else if let Some(&p) = by_members.get(&members) {
                p
            } else {
                let np = node_policy(&parts.parts, &members, classes, answers);
                let p = index(policies.len());
                policies.push(np);
                by_members.insert(members, p);
                p
            };
            map.push(start, policy);
        }
        out.push(map);
    }
    out
}
