//! Nodes by address: the one index from addresses to the nodes of a tailnet, shared by the
//! compiler (which nodes a rule destination reaches) and the decision table (which node or
//! route a destination address belongs to, at query time).
//!
//! It holds, per family:
//! - every node's own addresses, sorted, for range questions ("the nodes with an address in
//!   this set": a binary search per range of the set);
//! - the same addresses in a hash map with a fast hasher (foldhash), for the point question
//!   "whose address is this" (one probe: the hot path of an address-destination query);
//! - the approved subnet routes (exit routes left out), in node order, and an interval map
//!   from address to the most specific route covering it, for the addresses that are no
//!   node's own.
//!
//! Invariants: node ids are positions in the node list the index was built from (the
//! tailnet's nodes in name order, as [`super::NodeId`]); route ids are positions in
//! [`NodeIndex::routes`]. When two nodes hold the same address, the later one owns it for
//! [`NodeIndex::node_of`]; when two routers approve the same prefix, the earlier route
//! answers [`NodeIndex::route_of`]. A node's own address always wins over a route covering
//! it (a node address is the longest prefix there is).

use super::{subnet_routes, AddrSet};
use crate::model::tailnet::Tailnet;
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// An address as (is IPv4, integer), the key of every map here.
pub(crate) fn addr_key(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

fn id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// An approved subnet route and the node that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubnetRoute {
    /// The router's node id.
    pub(crate) router: u32,
    /// The route.
    pub(crate) net: IpNet,
    /// True for an IPv4 route.
    pub(crate) v4: bool,
    /// Its first address as an integer.
    pub(crate) first: u128,
    /// Its last address as an integer.
    pub(crate) last: u128,
}

impl SubnetRoute {
    fn new(router: u32, net: IpNet) -> Self {
        let net = net.trunc();
        let (v4, first) = addr_key(net.network());
        let (_, last) = addr_key(net.broadcast());
        Self {
            router,
            net,
            v4,
            first,
            last,
        }
    }
}

/// Addresses to nodes and routes; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeIndex {
    /// Own addresses, sorted, with their node: IPv4, IPv6.
    sorted: [Vec<(u128, u32)>; 2],
    /// Own address to node: IPv4, IPv6.
    exact_v4: FastMap<u32, u32>,
    exact_v6: FastMap<u128, u32>,
    routes: Vec<SubnetRoute>,
    /// Most specific route per address, as sorted segment starts and route ids (`u32::MAX`:
    /// no route): IPv4, IPv6.
    route_starts: [Vec<u128>; 2],
    route_ids: [Vec<u32>; 2],
    len: usize,
}

impl NodeIndex {
    /// The index of a tailnet's nodes (node ids in name order).
    pub(crate) fn of_tailnet(tailnet: &Tailnet) -> Self {
        Self::new(
            tailnet
                .nodes
                .values()
                .map(|n| (n.addresses().collect(), subnet_routes(n).collect())),
        )
    }

    /// The index of nodes given in id order, each as (own addresses, approved subnet routes).
    pub(crate) fn new(nodes: impl IntoIterator<Item = (Vec<IpAddr>, Vec<IpNet>)>) -> Self {
        let mut ix = Self::default();
        for (node, (addrs, routes)) in nodes.into_iter().enumerate() {
            let node = id(node);
            for a in addrs {
                let (v4, k) = addr_key(a);
                ix.sorted[usize::from(!v4)].push((k, node));
                match a {
                    IpAddr::V4(a) => ix.exact_v4.insert(u32::from(a), node),
                    IpAddr::V6(a) => ix.exact_v6.insert(u128::from(a), node),
                };
            }
            ix.routes
                .extend(routes.into_iter().map(|r| SubnetRoute::new(node, r)));
            ix.len += 1;
        }
        for s in &mut ix.sorted {
            s.sort_unstable();
        }
        for (fam, v4) in [(0, true), (1, false)] {
            let (starts, ids) = route_segments(&ix.routes, v4);
            ix.route_starts[fam] = starts;
            ix.route_ids[fam] = ids;
        }
        ix
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The approved subnet routes, in node order.
    pub(crate) fn routes(&self) -> &[SubnetRoute] {
        &self.routes
    }

    /// The node whose own address `ip` is.
    #[inline]
    pub(crate) fn node_of(&self, ip: IpAddr) -> Option<u32> {
        match ip {
            IpAddr::V4(a) => self.exact_v4.get(&u32::from(a)).copied(),
            IpAddr::V6(a) => self.exact_v6.get(&u128::from(a)).copied(),
        }
    }

    /// The most specific approved route covering `ip` (its id in [`NodeIndex::routes`]).
    #[inline]
    pub(crate) fn route_of(&self, ip: IpAddr) -> Option<u32> {
        let (v4, k) = addr_key(ip);
        let fam = usize::from(!v4);
        let starts = self.route_starts.get(fam)?;
        let i = starts.partition_point(|s| *s <= k).checked_sub(1)?;
        let r = *self.route_ids.get(fam)?.get(i)?;
        (r != u32::MAX).then_some(r)
    }

    /// Appends the nodes with an own address in `set` (in address order, a node once per
    /// address it has there).
    pub(crate) fn nodes_in(&self, set: &AddrSet, out: &mut Vec<u32>) {
        for (fam, v4) in [(0, true), (1, false)] {
            let Some(sorted) = self.sorted.get(fam) else {
                continue;
            };
            for &(lo, hi) in set.family_ranges(v4) {
                let i = sorted.partition_point(|(a, _)| *a < lo);
                let j = sorted.partition_point(|(a, _)| *a <= hi);
                out.extend(sorted.get(i..j).unwrap_or_default().iter().map(|x| x.1));
            }
        }
    }

    /// Appends the own node addresses in `set` as *address targets*: `2 * node` for a
    /// node's IPv4 address, `2 * node + 1` for its IPv6 address (a node has at most one of
    /// each), in address order. A target's node is `target / 2`, so the same pass answers
    /// both "which nodes" and "which of their addresses".
    pub(crate) fn addr_targets_in(&self, set: &AddrSet, out: &mut Vec<u32>) {
        for (fam, v4) in [(0, true), (1, false)] {
            let Some(sorted) = self.sorted.get(fam) else {
                continue;
            };
            let mut rest = sorted.as_slice();
            for &(lo, hi) in set.family_ranges(v4) {
                // The ranges of a set are sorted and disjoint: each search starts where the
                // previous range ended.
                let i = rest.partition_point(|(a, _)| *a < lo);
                rest = rest.get(i..).unwrap_or_default();
                let j = rest.partition_point(|(a, _)| *a <= hi);
                let found = rest.get(..j).unwrap_or_default().iter();
                out.extend(found.map(|x| x.1.saturating_mul(2) + u32::from(!v4)));
                rest = rest.get(j..).unwrap_or_default();
            }
        }
    }

    /// Appends the nodes a destination set reaches: those with an own address in it and the
    /// routers of the approved routes it overlaps.
    pub(crate) fn reached(&self, set: &AddrSet, out: &mut Vec<u32>) {
        self.nodes_in(set, out);
        out.extend(
            self.routes
                .iter()
                .filter(|r| set.overlaps_net(&r.net))
                .map(|r| r.router),
        );
    }
}

/// The segments of one family's address space, each with the most specific route covering
/// it. Routes are painted from the shortest prefix to the longest, so a longer one
/// overwrites what it covers; among equal prefixes the first is kept. A BTreeMap keeps the
/// painting at O(r log r) for r routes.
fn route_segments(routes: &[SubnetRoute], v4: bool) -> (Vec<u128>, Vec<u32>) {
    let mut order: Vec<(u8, u128, usize)> = routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.v4 == v4)
        .map(|(i, r)| (r.net.prefix_len(), r.first, i))
        .collect();
    order.sort_unstable();
    let mut paint: BTreeMap<u128, u32> = BTreeMap::new();
    let at =
        |m: &BTreeMap<u128, u32>, k: u128| m.range(..=k).next_back().map_or(u32::MAX, |e| *e.1);
    let mut previous: Option<IpNet> = None;
    for (_, _, i) in order {
        let Some(r) = routes.get(i) else { continue };
        if previous == Some(r.net) {
            continue;
        }
        previous = Some(r.net);
        let after = r.last.checked_add(1).map(|n| (n, at(&paint, n)));
        let inside: Vec<u128> = paint.range(r.first..=r.last).map(|e| *e.0).collect();
        for k in inside {
            paint.remove(&k);
        }
        paint.insert(r.first, id(i));
        if let Some((n, v)) = after {
            paint.insert(n, v);
        }
    }
    let (mut starts, mut ids) = (Vec::new(), Vec::<u32>::new());
    for (k, v) in paint {
        if ids.last() != Some(&v) {
            starts.push(k);
            ids.push(v);
        }
    }
    (starts, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_default()
    }

    fn index() -> NodeIndex {
        NodeIndex::new([
            (
                vec![ip("100.64.0.1"), ip("fd7a:115c:a1e0::1")],
                vec![net("10.0.0.0/8")],
            ),
            (
                vec![ip("100.64.0.2")],
                vec![net("10.1.0.0/16"), net("10.0.0.0/8")],
            ),
            (
                vec![ip("100.64.0.3")],
                vec![net("10.1.2.3/32"), net("100.64.0.2/32")],
            ),
        ])
    }

    #[test]
    fn an_address_is_found_by_one_probe_and_a_route_address_by_the_most_specific_route() {
        let ix = index();
        assert_eq!(ix.node_of(ip("100.64.0.2")), Some(1));
        assert_eq!(ix.node_of(ip("fd7a:115c:a1e0::1")), Some(0));
        assert_eq!(ix.node_of(ip("10.1.2.3")), None);
        let router = |a: &str| {
            ix.route_of(ip(a))
                .and_then(|r| ix.routes().get(r as usize))
                .map(|r| r.router)
        };
        assert_eq!(
            router("10.9.9.9"),
            Some(0),
            "equal prefixes: the first router"
        );
        assert_eq!(router("10.1.9.9"), Some(1));
        assert_eq!(router("10.1.2.3"), Some(2));
        assert_eq!(
            router("10.1.2.4"),
            Some(1),
            "after a nested route, the outer one again"
        );
        assert_eq!(router("10.2.0.0"), Some(0));
        assert_eq!(router("11.0.0.0"), None);
        assert_eq!(router("9.255.255.255"), None);
        assert_eq!(router("fd00::1"), None);
    }

    #[test]
    fn a_set_reaches_its_own_addresses_and_the_routers_it_overlaps() {
        let ix = index();
        let set: AddrSet = [net("100.64.0.0/31"), net("10.1.2.0/24")]
            .into_iter()
            .collect();
        let mut own = Vec::new();
        ix.nodes_in(&set, &mut own);
        assert_eq!(own, vec![0]);
        let mut reached = Vec::new();
        ix.reached(&set, &mut reached);
        reached.sort_unstable();
        reached.dedup();
        assert_eq!(reached, vec![0, 1, 2]);
    }
}
