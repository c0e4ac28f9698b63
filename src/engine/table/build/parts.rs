//! Rule destinations as *parts*: a part is (interned source set, what it grants, interned
//! origin), and each occurrence of a part records the nodes it reaches; for the approved
//! subnet routes it overlaps, the ranges of the route it covers.
//!
//! Invariants: equal parts get one id; source sets are interned by value, and also by the
//! pointer of the shared source list (kept alive here, so a pointer is never reused); a rule
//! pushed to one node only (`autogroup:self`, `via`) occurs on that node alone.

use super::intern::{index, Interner};
use super::reach::{Reach, SetReach};
use crate::engine::compile::rules::{Body, Rule};
use crate::engine::resolve::{parse_wire_addrs, AddrSet, SubnetRoute};
use std::collections::HashMap;
use std::rc::Rc;

/// What one rule gives one node: ports on a protocol, or a capability with its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Grant {
    Port(u8, u16, u16),
    Cap(u32, String),
}

/// A rule destination: its interned source set, what it grants, its interned origin.
pub(super) type Part = (u32, Vec<Grant>, u32);

/// A part covering some of a route: the part, and the address ranges of the route it covers.
type RouteOcc = (u32, Vec<(u128, u128)>);

/// Parts and the nodes each occurrence of a part reaches.
#[derive(Default)]
pub(super) struct Parts {
    pub(super) parts: Vec<Part>,
    by_part: HashMap<Part, u32>,
    pub(super) sources: Vec<AddrSet>,
    by_source: HashMap<Vec<String>, u32>,
    by_source_ptr: HashMap<usize, (Rc<[String]>, u32)>,
    pub(super) occurrences: Vec<(u32, Rc<[u32]>)>,
    /// Port parts and the node addresses (address targets, see [`SetReach::addrs`]) each
    /// occurrence reaches.
    pub(super) addr_occurrences: Vec<(u32, Rc<[u32]>)>,
    /// Per route: the parts whose destination covers some of it, with the ranges covered.
    route_occ: HashMap<u32, Vec<RouteOcc>>,
}

impl Parts {
    /// The parts covering some of route `ri`, with the ranges of it each covers.
    pub(super) fn on_route(&self, ri: u32) -> &[RouteOcc] {
        self.route_occ.get(&ri).map_or(&[], Vec::as_slice)
    }

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

    /// The id of part `p`, interned on first use (`id` caches it for one rule destination).
    fn part(&mut self, p: &Part, id: &mut Option<u32>) -> u32 {
        if let Some(i) = *id {
            return i;
        }
        let i = match self.by_part.get(p) {
            Some(&i) => i,
            None => {
                let i = index(self.parts.len());
                self.parts.push(p.clone());
                self.by_part.insert(p.clone(), i);
                i
            }
        };
        *id = Some(i);
        i
    }

    /// Records the nodes and routes a part reaches. `only`: the rule is pushed to this node
    /// alone.
    fn occur(
        &mut self,
        part: &Part,
        pid: &mut Option<u32>,
        reach: &SetReach,
        routes: &[SubnetRoute],
        only: Option<u32>,
    ) {
        for (ri, ranges) in reach.clips.iter() {
            if let Some(n) = only {
                if routes.get(*ri as usize).map(|r| r.router) != Some(n) {
                    continue;
                }
            }
            let p = self.part(part, pid);
            self.route_occ
                .entry(*ri)
                .or_default()
                .push((p, ranges.clone()));
        }
        let nodes = match only {
            Some(n) if reach.nodes.binary_search(&n).is_ok() => Rc::from([n]),
            Some(_) => return,
            None if reach.nodes.is_empty() => return,
            None => Rc::clone(&reach.nodes),
        };
        let p = self.part(part, pid);
        self.occurrences.push((p, nodes));
    }

    /// Records the node addresses a port part reaches. `only`: the rule is pushed to this
    /// node alone.
    fn occur_addrs(
        &mut self,
        part: &Part,
        pid: &mut Option<u32>,
        reach: &SetReach,
        only: Option<u32>,
    ) {
        let targets: Rc<[u32]> = match only {
            Some(n) => reach.addrs.iter().copied().filter(|t| t / 2 == n).collect(),
            None => Rc::clone(&reach.addrs),
        };
        if !targets.is_empty() {
            let p = self.part(part, pid);
            self.addr_occurrences.push((p, targets));
        }
    }

    /// Records a rule's destinations. `only`: the rule is pushed to this node alone.
    pub(super) fn add_rule(
        &mut self,
        rule: &Rule,
        only: Option<u32>,
        reach: &mut Reach<'_>,
        int: &mut Interner,
    ) {
        let routes = reach.routes();
        let src = self.source(&rule.src);
        let origin = int.span(rule.origin);
        match &rule.body {
            Body::Ports { dests, protos } => {
                for d in dests {
                    let dest = reach.of(d.addrs.as_ref());
                    let protos: &[u8] = if protos.is_empty() { &[0] } else { protos };
                    let grants = protos
                        .iter()
                        .map(|p| Grant::Port(*p, d.wire.ports.first, d.wire.ports.last))
                        .collect();
                    let part: Part = (src, grants, origin);
                    let mut pid = None;
                    self.occur_addrs(&part, &mut pid, &dest, only);
                    self.occur(&part, &mut pid, &dest, routes, only);
                }
            }
            Body::Caps(grants) => {
                for (nets, cm) in grants {
                    let dest = reach.nets(nets);
                    let grants = cm
                        .iter()
                        .map(|(cap, v)| Grant::Cap(int.string(cap), v.to_string()))
                        .collect();
                    let part: Part = (src, grants, origin);
                    self.occur(&part, &mut None, &dest, routes, only);
                }
            }
        }
    }
}
