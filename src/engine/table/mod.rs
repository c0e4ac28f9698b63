//! The decision table: the compiled policy indexed for runtime questions.
//!
//! Built once from the compiler's rules (the same rules [`crate::engine::compile::compile_filters`]
//! writes per node), then immutable. Tags, users and capability names are interned. Source
//! addresses map, through one sorted interval map for the whole table, to a *source class*
//! (the addresses that every rule treats alike); every node points at an interned *node
//! policy* (nodes reached by the same rules share one), a sorted list from source class to an
//! interned *answer* (ports per protocol, capabilities with values, and the grants that
//! decided them). A destination address finds its node through the tailnet's
//! `NodeIndex` (one hash probe for a node's own address; an address inside an approved
//! subnet route finds the most specific route by one binary search, then its segment's
//! policy). No query looks at the grants: its cost depends on the number of source classes
//! and address ranges, not on how many grants there are.
//!
//! Every question goes through one query, [`DecisionTable::decide`], towards a node or an
//! address ([`Dest`]); the [`Decision`] says what is allowed and which grants decided it.
//! Beside it, the relay's hot path [`DecisionTable::allows_allocation`] starts from the
//! requester's precomputed class (one binary search, no allocation), and
//! [`DecisionTable::may_allocate`] gives the reason and the grants of a relay decision.
//!
//! ```
//! use tailgrant::engine::table::{DecisionTable, Dest, Query};
//! use tailgrant::model::tailnet::Tailnet;
//! use tailgrant::validate::{check_text, Options};
//!
//! let policy = check_text(r#"{"grants": [{"src": ["tag:ci"], "dst": ["tag:web"], "ip": ["tcp:443"]}],
//!     "tagOwners": {"tag:ci": [], "tag:web": []}}"#, &Options::default()).into_validated().unwrap();
//! let tailnet = Tailnet::from_text(r#"{"users": [], "nodes": {
//!     "ci": {"ipv4": "100.64.0.1", "tags": ["tag:ci"]},
//!     "web": {"ipv4": "100.64.0.2", "tags": ["tag:web"]}}}"#).unwrap();
//! let table = DecisionTable::build(&policy, &tailnet);
//! let src = "100.64.0.1".parse().unwrap();
//! let to_node = table.decide(&Query { src, dst: Dest::Node(table.node("web").unwrap()) });
//! let to_addr = table.decide(&Query { src, dst: Dest::Addr("100.64.0.2".parse().unwrap()) });
//! assert!(to_node.allows(6, 443) && to_addr.allows(6, 443));
//! assert!(!to_node.allows(6, 22));
//! assert_eq!(to_node.origins().len(), 1);
//! ```

mod build;
mod codec;
mod query;
mod relay;

pub use codec::TableError;
pub use query::{Decision, Dest, Query};
pub use relay::{RelayDecision, RelayReason};

use crate::engine::resolve::NodeIndex;
use crate::span::Span;
use crate::vocab::{ICMP, ICMPV6, RELAY_CAP, TCP, UDP};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Index of a node in the table.
pub(crate) type NodeIx = u32;

/// `(protocol, first port, last port)`; protocol 0 stands for the default set.
pub(crate) type PortGrant = (u8, u16, u16);

/// What one source may do towards one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Answer {
    /// `(protocol, first port, last port)`; protocol 0 stands for the default set (TCP, UDP,
    /// ICMP, ICMPv6).
    pub(crate) ports: Vec<(u8, u16, u16)>,
    /// Capabilities: interned name, its values as JSON text, and the interned spans of the
    /// grants that gave it.
    pub(crate) caps: Vec<(u32, String, Vec<u32>)>,
    /// Interned spans of the grants and ACL entries behind this answer.
    pub(crate) origins: Vec<u32>,
}

/// Sorted address intervals of one family, each with a value (`u32::MAX`: none): source
/// addresses to source classes, or the segments of an approved subnet route to node
/// policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct IntervalMap {
    starts: Vec<u128>,
    values: Vec<u32>,
}

impl IntervalMap {
    /// Appends an interval starting at `start` (after the last one), merged with the last
    /// one when it has the same value.
    fn push(&mut self, start: u128, value: u32) {
        if self.values.last() != Some(&value) {
            self.starts.push(start);
            self.values.push(value);
        }
    }

    /// The value of the interval holding `key` (`None`: before the first one, or none).
    fn get(&self, key: u128) -> Option<u32> {
        let i = self.starts.partition_point(|s| *s <= key);
        let v = *self.values.get(i.checked_sub(1)?)?;
        (v != u32::MAX).then_some(v)
    }

    /// True when the starts are strictly increasing (a loaded map must be).
    fn is_sorted(&self) -> bool {
        self.starts.windows(2).all(|w| w[0] < w[1])
    }
}

/// The per-node policy: source class to answer, sorted by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct NodePolicy {
    classes: Vec<u32>,
    answers: Vec<u32>,
}

impl NodePolicy {
    fn get(&self, class: u32) -> Option<u32> {
        let i = self.classes.binary_search(&class).ok()?;
        self.answers.get(i).copied()
    }
}

/// The destinations inside one approved subnet route: its address segments, each with the
/// node policy that applies to traffic towards it (`u32::MAX`: none), built from the rules
/// whose destinations cover the segment, as the router receives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RouteMap {
    /// The router that serves the route.
    pub(crate) router: NodeIx,
    /// The route.
    pub(crate) net: IpNet,
    /// Segment starts to node policies.
    segments: IntervalMap,
}

impl RouteMap {
    fn new(router: NodeIx, net: IpNet) -> Self {
        Self {
            router,
            net,
            segments: IntervalMap::default(),
        }
    }

    /// Appends a segment starting at `start`, merged with the last one when it has the same
    /// policy.
    fn push(&mut self, start: u128, policy: u32) {
        self.segments.push(start, policy);
    }

    /// The node policy of the segment holding `key`.
    fn get(&self, key: u128) -> Option<u32> {
        self.segments.get(key)
    }
}

/// One node of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// Name in the tailnet file.
    pub(crate) name: String,
    /// Tailscale addresses, IPv4 first.
    pub(crate) addrs: Vec<IpAddr>,
    /// Interned tags.
    pub(crate) tags: Vec<u32>,
    /// Interned owner e-mail, for untagged nodes.
    pub(crate) user: Option<u32>,
    /// Index of its [`NodePolicy`].
    pub(crate) policy: u32,
    /// Index of the [`NodePolicy`] of traffic to its IPv4 and to its IPv6 address: the port
    /// rules whose destinations hold that address (`u32::MAX`: none).
    pub(crate) addr_policy: [u32; 2],
    /// Source class of its first address (`u32::MAX`: in no rule's sources).
    pub(crate) src_class: u32,
    /// Span of the `nodeAttrs` entry that disables its relay server, if one does.
    pub relay_disabled_by: Option<u32>,
    /// Disabled as a relay by the tailnet file's attributes.
    pub relay_disabled_in_tailnet: bool,
    /// Relay server port, when it runs one.
    pub(crate) relay_port: Option<u16>,
}

/// The decision table. Build it with [`DecisionTable::build`], query it, or store it with
/// [`DecisionTable::to_bytes`] and load it with [`DecisionTable::from_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionTable {
    strings: Vec<String>,
    spans: Vec<Span>,
    answers: Vec<Answer>,
    policies: Vec<NodePolicy>,
    nodes: Vec<NodeEntry>,
    /// Approved subnet routes, with the policies of the destinations inside them, in the
    /// order of [`NodeIndex::routes`] (by router).
    routes: Vec<RouteMap>,
    /// Source address to source class: IPv4, IPv6.
    sources: [IntervalMap; 2],
    /// Node names to their index (derived, not stored).
    by_name: HashMap<String, NodeIx>,
    /// Addresses to nodes and routes (derived from the nodes and routes, not stored).
    index: NodeIndex,
    /// The interned relay capability (derived; `u32::MAX` when no rule grants it).
    relay_cap: u32,
}

/// True for ICMP (1) and ICMPv6 (58).
fn is_icmp(proto: u8) -> bool {
    matches!(proto, ICMP | ICMPV6)
}

/// Whether an answer opens `proto`/`port`.
///
/// ICMP is answered as Tailscale's Go filter answers an ICMP echo request (or any ICMP
/// message that is neither a reply nor an error): `runIn4`/`runIn6` in
/// `wgengine/filter/filter.go` accept it when `matchIPsOnly` (`wgengine/filter/match.go`)
/// finds a rule whose sources hold the sender and whose destinations hold the address,
/// whatever the rule's protocols and ports ("If any port is open to an IP, allow ICMP to
/// it"). So ICMP is open exactly when any port of any protocol is. (ICMP replies and errors
/// are accepted by that filter without any rule; they are not a question here.)
fn ports_allow(a: &Answer, proto: u8, port: u16) -> bool {
    if is_icmp(proto) {
        return !a.ports.is_empty();
    }
    a.ports.iter().any(|&(p, first, last)| {
        let proto_ok = p == proto || (p == 0 && matches!(proto, TCP | UDP));
        let port_ok = !crate::vocab::has_ports(proto) || (first <= port && port <= last);
        proto_ok && port_ok
    })
}

impl DecisionTable {
    fn assemble(
        strings: Vec<String>,
        spans: Vec<Span>,
        answers: Vec<Answer>,
        policies: Vec<NodePolicy>,
        nodes: Vec<NodeEntry>,
        routes: Vec<RouteMap>,
        sources: [IntervalMap; 2],
    ) -> Self {
        let by_name = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.name.clone(), u32::try_from(i).ok()?)))
            .collect();
        // Route ids of the index are positions in `routes`: both list routes by router.
        let mut routes_of: Vec<Vec<IpNet>> = vec![Vec::new(); nodes.len()];
        for r in &routes {
            if let Some(v) = routes_of.get_mut(r.router as usize) {
                v.push(r.net);
            }
        }
        let index = NodeIndex::new(nodes.iter().map(|n| n.addrs.clone()).zip(routes_of));
        let relay_cap = strings
            .iter()
            .position(|s| s == RELAY_CAP)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(u32::MAX);
        Self {
            strings,
            spans,
            answers,
            policies,
            nodes,
            routes,
            sources,
            by_name,
            index,
            relay_cap,
        }
    }

    /// The node with this name.
    pub fn node(&self, name: &str) -> Option<NodeIx> {
        self.by_name.get(name).copied()
    }

    /// The node entry at `ix`.
    pub fn entry(&self, ix: NodeIx) -> Option<&NodeEntry> {
        self.nodes.get(ix as usize)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the table has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node an address belongs to: the node whose own address it is, else the router of
    /// the most specific approved subnet route covering it.
    pub fn node_for_addr(&self, ip: IpAddr) -> Option<NodeIx> {
        self.index.node_of(ip).or_else(|| {
            let ri = self.index.route_of(ip)?;
            self.routes.get(ri as usize).map(|r| r.router)
        })
    }

    /// True when `ip` is not a node's own address but lies in an approved subnet route.
    pub fn is_route_addr(&self, ip: IpAddr) -> bool {
        self.index.node_of(ip).is_none() && self.index.route_of(ip).is_some()
    }

    /// The interned string `i`.
    fn string(&self, i: u32) -> Option<&str> {
        self.strings.get(i as usize).map(String::as_str)
    }

    /// The spans of interned span ids.
    fn spans_of(&self, ids: &[u32]) -> Vec<Span> {
        ids.iter()
            .filter_map(|i| self.spans.get(*i as usize).copied())
            .collect()
    }
}
