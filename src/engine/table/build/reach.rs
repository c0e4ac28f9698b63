//! What a rule destination reaches: the nodes whose own addresses it covers and, for each
//! approved subnet route it overlaps, the address ranges of the route it covers.
//!
//! The addresses come from the tailnet's one [`NodeIndex`] (the compiler's). Answers are
//! memoized by destination set, and prefix lists also by pointer (the capability grants to
//! one selector share one list), so a thousand grants to `tag:relay` resolve their
//! destination once. Invariants: node lists are sorted and deduplicated; route ids are
//! positions in [`NodeIndex::routes`], and the clipped ranges of a route lie inside it.

use super::intern::index;
use crate::engine::resolve::{AddrSet, NodeIndex, SubnetRoute};
use ipnet::IpNet;
use std::collections::HashMap;
use std::rc::Rc;

/// Routes a destination overlaps, each with the address ranges of it the destination covers.
pub(super) type RouteClips = Rc<[(u32, Vec<(u128, u128)>)]>;

/// A prefix list, the nodes it reaches and the routes it overlaps.
type NetsReach = (Rc<[IpNet]>, Rc<[u32]>, RouteClips);

/// Memoized reach of destinations over a [`NodeIndex`].
pub(super) struct Reach<'i> {
    index: &'i NodeIndex,
    all: Rc<[u32]>,
    memo: HashMap<AddrSet, Rc<[u32]>>,
    /// The node addresses a destination set holds, as address targets (see
    /// [`Reach::addrs`]), memoized by set.
    addr_memo: HashMap<AddrSet, Rc<[u32]>>,
    route_memo: HashMap<AddrSet, RouteClips>,
    /// Prefix lists already seen, by pointer (kept alive here so a pointer is never reused).
    nets_memo: HashMap<usize, NetsReach>,
}

impl<'i> Reach<'i> {
    pub(super) fn new(nodes: &'i NodeIndex) -> Self {
        Self {
            index: nodes,
            all: (0..index(nodes.len())).collect(),
            memo: HashMap::new(),
            addr_memo: HashMap::new(),
            route_memo: HashMap::new(),
            nets_memo: HashMap::new(),
        }
    }

    /// The approved subnet routes, by route id.
    pub(super) fn routes(&self) -> &'i [SubnetRoute] {
        self.index.routes()
    }

    /// The nodes and routes a list of prefixes reaches.
    pub(super) fn nets(&mut self, nets: &Rc<[IpNet]>) -> (Rc<[u32]>, RouteClips) {
        let ptr = nets.as_ptr() as usize;
        if let Some((_, reach, clips)) = self.nets_memo.get(&ptr) {
            return (Rc::clone(reach), Rc::clone(clips));
        }
        let set: AddrSet = nets.iter().copied().collect();
        let reach = self.nodes(Some(&set));
        let clips = self.route_clips(Some(&set));
        self.nets_memo
            .insert(ptr, (Rc::clone(nets), Rc::clone(&reach), Rc::clone(&clips)));
        (reach, clips)
    }

    /// The routes a destination overlaps (`None`: every address), with what it covers of
    /// each.
    pub(super) fn route_clips(&mut self, set: Option<&AddrSet>) -> RouteClips {
        let routes = self.index.routes();
        if routes.is_empty() {
            return Rc::from([]);
        }
        let Some(set) = set else {
            return routes
                .iter()
                .enumerate()
                .map(|(ri, r)| (index(ri), vec![(r.first, r.last)]))
                .collect();
        };
        if let Some(r) = self.route_memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        for (ri, r) in routes.iter().enumerate() {
            let ranges = set.family_ranges(r.v4);
            let i = ranges.partition_point(|(_, b)| *b < r.first);
            let clipped: Vec<(u128, u128)> = ranges
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|(a, _)| *a <= r.last)
                .map(|&(a, b)| (a.max(r.first), b.min(r.last)))
                .collect();
            if !clipped.is_empty() {
                out.push((index(ri), clipped));
            }
        }
        let r: RouteClips = out.into();
        self.route_memo.insert(set.clone(), Rc::clone(&r));
        r
    }

    /// The nodes with an own address in `set` (`None`: every node).
    pub(super) fn nodes(&mut self, set: Option<&AddrSet>) -> Rc<[u32]> {
        let Some(set) = set else {
            return Rc::clone(&self.all);
        };
        if let Some(r) = self.memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        self.index.nodes_in(set, &mut out);
        out.sort_unstable();
        out.dedup();
        let r: Rc<[u32]> = out.into();
        self.memo.insert(set.clone(), Rc::clone(&r));
        r
    }

    /// The own node addresses in `set` (`None`: every address), as address targets:
    /// `2 * node` for a node's IPv4 address, `2 * node + 1` for its IPv6 address. Go's
    /// filter matches a destination address by address (`wgengine/filter/match.go`), so a
    /// rule to a node's IPv4 address alone does not open its IPv6 address.
    pub(super) fn addrs(&mut self, set: Option<&AddrSet>) -> Rc<[u32]> {
        let Some(set) = set else {
            return (0..index(self.index.len().saturating_mul(2))).collect();
        };
        if let Some(r) = self.addr_memo.get(set) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        self.index.addr_targets_in(set, &mut out);
        out.sort_unstable();
        out.dedup();
        let r: Rc<[u32]> = out.into();
        self.addr_memo.insert(set.clone(), Rc::clone(&r));
        r
    }
}
