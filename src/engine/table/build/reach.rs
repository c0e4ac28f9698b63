//! What a rule destination reaches: the nodes whose own addresses it covers, which of their
//! addresses, and, for each approved subnet route it overlaps, the address ranges of the
//! route it covers.
//!
//! The addresses come from the tailnet's one [`NodeIndex`] (the compiler's), in one pass: the
//! node addresses a set holds give its nodes too. The three answers are memoized together by
//! destination set (one hash of the set per destination), and prefix lists also by pointer (the capability grants to
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

/// What one destination set reaches, found in one pass over the node index.
#[derive(Clone)]
pub(super) struct SetReach {
    /// The nodes with an own address in the set, sorted, deduplicated.
    pub(super) nodes: Rc<[u32]>,
    /// The own node addresses in the set, as address targets: `2 * node` for a node's IPv4
    /// address, `2 * node + 1` for its IPv6 address, sorted, deduplicated. Go's filter
    /// matches a destination address by address (`wgengine/filter/match.go`), so a rule to
    /// a node's IPv4 address alone does not open its IPv6 address.
    pub(super) addrs: Rc<[u32]>,
    /// The routes the set overlaps, with what it covers of each.
    pub(super) clips: RouteClips,
}

/// Memoized reach of destinations over a [`NodeIndex`].
pub(super) struct Reach<'i> {
    index: &'i NodeIndex,
    /// The reach of every address (`*`).
    all: SetReach,
    /// One memo for the nodes, the node addresses and the routes of a destination set.
    memo: HashMap<AddrSet, SetReach>,
    /// Prefix lists already seen, by pointer (kept alive here so a pointer is never reused).
    nets_memo: HashMap<usize, (Rc<[IpNet]>, SetReach)>,
}

impl<'i> Reach<'i> {
    pub(super) fn new(nodes: &'i NodeIndex) -> Self {
        let all = SetReach {
            nodes: (0..index(nodes.len())).collect(),
            addrs: (0..index(nodes.len().saturating_mul(2))).collect(),
            clips: nodes
                .routes()
                .iter()
                .enumerate()
                .map(|(ri, r)| (index(ri), vec![(r.first, r.last)]))
                .collect(),
        };
        Self {
            index: nodes,
            all,
            memo: HashMap::new(),
            nets_memo: HashMap::new(),
        }
    }

    /// The approved subnet routes, by route id.
    pub(super) fn routes(&self) -> &'i [SubnetRoute] {
        self.index.routes()
    }

    /// What a list of prefixes reaches.
    pub(super) fn nets(&mut self, nets: &Rc<[IpNet]>) -> SetReach {
        let ptr = nets.as_ptr() as usize;
        if let Some((_, reach)) = self.nets_memo.get(&ptr) {
            return reach.clone();
        }
        let set: AddrSet = nets.iter().copied().collect();
        let reach = self.of(Some(&set));
        self.nets_memo.insert(ptr, (Rc::clone(nets), reach.clone()));
        reach
    }

    /// What a destination set reaches (`None`: every address).
    pub(super) fn of(&mut self, set: Option<&AddrSet>) -> SetReach {
        let Some(set) = set else {
            return self.all.clone();
        };
        if let Some(r) = self.memo.get(set) {
            return r.clone();
        }
        let mut addrs = Vec::new();
        self.index.addr_targets_in(set, &mut addrs);
        addrs.sort_unstable();
        addrs.dedup();
        let mut nodes: Vec<u32> = addrs.iter().map(|t| t / 2).collect();
        nodes.dedup();
        let r = SetReach {
            nodes: nodes.into(),
            addrs: addrs.into(),
            clips: self.route_clips(set),
        };
        self.memo.insert(set.clone(), r.clone());
        r
    }

    /// The routes `set` overlaps, with what it covers of each.
    fn route_clips(&self, set: &AddrSet) -> RouteClips {
        let routes = self.index.routes();
        if routes.is_empty() {
            return Rc::from([]);
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
        out.into()
    }
}
