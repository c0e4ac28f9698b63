//! The decision table: the compiled policy indexed for runtime questions.
//!
//! Built once from the compiler's rules (the same rules [`crate::engine::compile::compile_filters`]
//! writes per node), then immutable. Tags, users and capability names are interned. Source
//! addresses map, through one sorted interval map for the whole table, to a *source class*
//! (the addresses that every rule treats alike); every node points at an interned *node
//! policy* (nodes reached by the same rules share one), a sorted list from source class to an
//! interned *answer* (ports per protocol, capabilities with values, and the grants that
//! decided them). Destination addresses find their node through a longest-prefix index (one
//! hash map per prefix length present, longest first: at most a few lookups, and simpler to
//! keep correct than a trie). No query looks at the grants: its cost depends on the number of
//! source classes and address ranges, not on how many grants there are; a relay decision
//! starts from the requester's precomputed class and is one binary search.

mod build;
mod codec;

pub use codec::TableError;

use crate::span::Span;
use crate::vocab::{ICMP, ICMPV6, RELAY_CAP, TCP, UDP};
use std::collections::HashMap;
use std::net::IpAddr;

/// Index of a node in the table.
pub type NodeIx = u32;

/// `(protocol, first port, last port)`; protocol 0 stands for the default set.
pub type PortGrant = (u8, u16, u16);

/// What one source may do towards one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Answer {
    /// `(protocol, first port, last port)`; protocol 0 stands for the default set (TCP, UDP,
    /// ICMP, ICMPv6).
    pub ports: Vec<(u8, u16, u16)>,
    /// Capabilities: interned name, its values as JSON text, and the interned spans of the
    /// grants that gave it.
    pub caps: Vec<(u32, String, Vec<u32>)>,
    /// Interned spans of the grants and ACL entries behind this answer.
    pub origins: Vec<u32>,
}

/// Source addresses to source classes, for one family: sorted interval starts, each with a
/// class (`u32::MAX`: in no rule's sources).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IntervalMap {
    starts: Vec<u128>,
    answers: Vec<u32>,
}

impl IntervalMap {
    fn get(&self, key: u128) -> Option<u32> {
        let i = self.starts.partition_point(|s| *s <= key);
        let a = *self.answers.get(i.checked_sub(1)?)?;
        (a != u32::MAX).then_some(a)
    }
}

/// The per-node policy: source class to answer, sorted by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodePolicy {
    classes: Vec<u32>,
    answers: Vec<u32>,
}

impl NodePolicy {
    fn get(&self, class: u32) -> Option<u32> {
        let i = self.classes.binary_search(&class).ok()?;
        self.answers.get(i).copied()
    }
}

/// The destinations inside one approved subnet route: sorted starts of address segments,
/// each with the node policy that applies to traffic towards it (`u32::MAX`: none), built
/// from the rules whose destinations cover the segment, as the router receives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteMap {
    /// The router that serves the route.
    pub router: NodeIx,
    starts: Vec<u128>,
    policies: Vec<u32>,
}

impl RouteMap {
    fn get(&self, key: u128) -> Option<u32> {
        let i = self.starts.partition_point(|s| *s <= key);
        let p = *self.policies.get(i.checked_sub(1)?)?;
        (p != u32::MAX).then_some(p)
    }
}

/// Marks a longest-prefix target as a route (index into the route maps), not a node.
const ROUTE_BIT: u32 = 1 << 31;

/// One node of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// Name in the tailnet file.
    pub name: String,
    /// Tailscale addresses, IPv4 first.
    pub addrs: Vec<IpAddr>,
    /// Interned tags.
    pub tags: Vec<u32>,
    /// Interned owner e-mail, for untagged nodes.
    pub user: Option<u32>,
    /// Index of its [`NodePolicy`].
    pub policy: u32,
    /// Source class of its first address (`u32::MAX`: in no rule's sources).
    pub src_class: u32,
    /// Span of the `nodeAttrs` entry that disables its relay server, if one does.
    pub relay_disabled_by: Option<u32>,
    /// Disabled as a relay by the tailnet file's attributes.
    pub relay_disabled_in_tailnet: bool,
    /// Relay server port, when it runs one.
    pub relay_port: Option<u16>,
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
    /// Longest-prefix index: (is IPv4, prefix length, masked address) to a node (own
    /// address) or, with [`ROUTE_BIT`], a route map; longest first.
    lpm: Vec<(bool, u8, HashMap<u128, u32>)>,
    /// Approved subnet routes, with the policies of the destinations inside them.
    routes: Vec<RouteMap>,
    /// Source address to source class: IPv4, IPv6.
    sources: [IntervalMap; 2],
    /// Node names to their index (derived, not stored).
    by_name: HashMap<String, NodeIx>,
    /// The interned relay capability (derived; `u32::MAX` when no rule grants it).
    relay_cap: u32,
}

/// Why an allocation was allowed or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayReason {
    /// The requester holds `tailscale.com/cap/relay` towards the relay.
    Granted,
    /// No grant gives the requester the relay capability towards the relay.
    NoRelayGrant,
    /// The relay has the `disable-relay-server` attribute.
    RelayServerDisabled,
    /// The requester or the relay is not a node of the tailnet.
    UnknownNode,
}

/// The answer to "may this requester allocate on this relay?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayDecision {
    /// Whether the relay accepts the allocation.
    pub allowed: bool,
    /// Why.
    pub reason: RelayReason,
    /// Spans of the grants (or the `nodeAttrs` entry) that decided it.
    pub grants: Vec<Span>,
}

fn key(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

fn mask(v: u128, len: u8, v4: bool) -> u128 {
    let bits = if v4 { 32 } else { 128 };
    let host = bits - u32::from(len.min(if v4 { 32 } else { 128 }));
    if host >= 128 {
        0
    } else {
        (v >> host) << host
    }
}

fn ports_allow(a: &Answer, proto: u8, port: u16) -> bool {
    a.ports.iter().any(|&(p, first, last)| {
        let proto_ok = p == proto || (p == 0 && matches!(proto, ICMP | TCP | UDP | ICMPV6));
        let port_ok = !crate::vocab::has_ports(proto) || (first <= port && port <= last);
        proto_ok && port_ok
    })
}

impl DecisionTable {
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        strings: Vec<String>,
        spans: Vec<Span>,
        answers: Vec<Answer>,
        policies: Vec<NodePolicy>,
        nodes: Vec<NodeEntry>,
        lpm: Vec<(bool, u8, HashMap<u128, u32>)>,
        routes: Vec<RouteMap>,
        sources: [IntervalMap; 2],
    ) -> Self {
        let by_name = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.name.clone(), u32::try_from(i).ok()?)))
            .collect();
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
            lpm,
            routes,
            sources,
            by_name,
            relay_cap,
        }
    }

    /// The node with this name.
    pub fn node(&self, name: &str) -> Option<NodeIx> {
        self.by_name.get(name).copied()
    }

    /// Number of source classes (addresses every rule treats alike) and of node policies.
    pub fn shape(&self) -> (usize, usize) {
        let classes = self
            .sources
            .iter()
            .flat_map(|m| &m.answers)
            .filter(|c| **c != u32::MAX);
        let n = classes.max().map_or(0, |m| *m as usize + 1);
        (n, self.policies.len())
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

    /// The node an address belongs to, by longest prefix (its own address, or an approved
    /// subnet route it serves).
    pub fn node_for_addr(&self, ip: IpAddr) -> Option<NodeIx> {
        let t = self.target(ip)?;
        if t & ROUTE_BIT == 0 {
            Some(t)
        } else {
            self.routes.get((t & !ROUTE_BIT) as usize).map(|r| r.router)
        }
    }

    /// True when `ip` is not a node's own address but lies in an approved subnet route.
    pub fn is_route_addr(&self, ip: IpAddr) -> bool {
        self.target(ip).is_some_and(|t| t & ROUTE_BIT != 0)
    }

    /// Longest-prefix lookup: a node index, or a route map index with [`ROUTE_BIT`].
    fn target(&self, ip: IpAddr) -> Option<u32> {
        let (v4, k) = key(ip);
        self.lpm
            .iter()
            .filter(|(f, _, _)| *f == v4)
            .find_map(|(_, len, map)| map.get(&mask(k, *len, v4)).copied())
    }

    fn src_class(&self, src: IpAddr) -> Option<u32> {
        let (v4, k) = key(src);
        let [m4, m6] = &self.sources;
        if v4 { m4 } else { m6 }.get(k)
    }

    /// The answer for traffic from `src` to address `dst`: the node's own policy for a node
    /// address, the policy of the destination segment inside the route for a route address.
    fn answer_addr(&self, src: IpAddr, dst: IpAddr) -> Option<&Answer> {
        let t = self.target(dst)?;
        if t & ROUTE_BIT == 0 {
            return self.answer(src, t);
        }
        let route = self.routes.get((t & !ROUTE_BIT) as usize)?;
        let policy = self.policies.get(route.get(key(dst).1)? as usize)?;
        self.answers.get(policy.get(self.src_class(src)?)? as usize)
    }

    fn cap_list<'a>(&'a self, a: Option<&'a Answer>) -> Vec<(&'a str, &'a str)> {
        a.map(|a| {
            a.caps
                .iter()
                .filter_map(|(n, v, _)| Some((self.strings.get(*n as usize)?.as_str(), v.as_str())))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The capabilities (name, values as JSON text) that address `src` has towards address
    /// `dst`: a node's own address, or an address inside an approved subnet route (then the
    /// capabilities granted towards destinations that cover it, as its router receives them).
    pub fn caps_addr(&self, src: IpAddr, dst: IpAddr) -> Vec<(&str, &str)> {
        self.cap_list(self.answer_addr(src, dst))
    }

    /// True when address `src` holds capability `cap` towards address `dst` (see
    /// [`DecisionTable::caps_addr`]).
    pub fn has_cap_addr(&self, src: IpAddr, dst: IpAddr, cap: &str) -> bool {
        self.answer_addr(src, dst)
            .is_some_and(|a| self.answer_has_cap(a, cap))
    }

    /// The spans of the grants behind what `src` may do towards address `dst`.
    pub fn origins_addr(&self, src: IpAddr, dst: IpAddr) -> Vec<Span> {
        self.answer_addr(src, dst)
            .map(|a| {
                a.origins
                    .iter()
                    .filter_map(|i| self.spans.get(*i as usize).copied())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn answer_has_cap(&self, a: &Answer, cap: &str) -> bool {
        a.caps
            .iter()
            .any(|(n, _, _)| self.strings.get(*n as usize).is_some_and(|s| s == cap))
    }

    fn class_answer(&self, class: u32, dst: NodeIx) -> Option<&Answer> {
        let node = self.nodes.get(dst as usize)?;
        let policy = self.policies.get(node.policy as usize)?;
        self.answers.get(policy.get(class)? as usize)
    }

    fn answer(&self, src: IpAddr, dst: NodeIx) -> Option<&Answer> {
        self.class_answer(self.src_class(src)?, dst)
    }

    /// The capabilities (name, values as JSON text) that address `src` has towards node
    /// `dst`, as the node's own filter grants them.
    pub fn caps(&self, src: IpAddr, dst: NodeIx) -> Vec<(&str, &str)> {
        self.cap_list(self.answer(src, dst))
    }

    /// The ports (`(protocol, first, last)`, protocol 0 for the default set) and the
    /// capabilities (name, values as JSON text) that address `src` has towards node `dst`.
    pub fn access(&self, src: IpAddr, dst: NodeIx) -> (&[PortGrant], Vec<(&str, &str)>) {
        let ports = self
            .answer(src, dst)
            .map_or(&[][..], |a| a.ports.as_slice());
        (ports, self.caps(src, dst))
    }

    /// True when address `src` holds capability `cap` towards node `dst`.
    pub fn has_cap(&self, src: IpAddr, dst: NodeIx, cap: &str) -> bool {
        self.answer(src, dst)
            .is_some_and(|a| self.answer_has_cap(a, cap))
    }

    /// True when node `dst`'s filter lets `src` reach it on `proto`/`port`.
    pub fn allows(&self, src: IpAddr, dst: NodeIx, proto: u8, port: u16) -> bool {
        self.answer(src, dst)
            .is_some_and(|a| ports_allow(a, proto, port))
    }

    /// True when address `src` may reach address `dst` on `proto`/`port`: `dst` is a node's
    /// own address (that node's filter decides, as [`DecisionTable::allows`]) or an address
    /// inside an approved subnet route (the router's rules whose destination covers `dst`
    /// decide; the most specific route wins, as on a client).
    pub fn allows_addr(&self, src: IpAddr, dst: IpAddr, proto: u8, port: u16) -> bool {
        self.answer_addr(src, dst)
            .is_some_and(|a| ports_allow(a, proto, port))
    }

    /// The spans of the grants that give address `src` capability `cap` towards node `dst`.
    pub fn cap_origins(&self, src: IpAddr, dst: NodeIx, cap: &str) -> Vec<Span> {
        self.answer(src, dst)
            .map(|a| {
                a.caps
                    .iter()
                    .filter(|(n, _, _)| self.strings.get(*n as usize).is_some_and(|s| s == cap))
                    .flat_map(|(_, _, o)| o)
                    .filter_map(|i| self.spans.get(*i as usize).copied())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The spans of the grants behind what `src` may do towards `dst`.
    pub fn origins(&self, src: IpAddr, dst: NodeIx) -> Vec<Span> {
        self.answer(src, dst)
            .map(|a| {
                a.origins
                    .iter()
                    .filter_map(|i| self.spans.get(*i as usize).copied())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The relay decision alone, without its reason or grants: the hot path of a relay
    /// server (no allocation; ask [`DecisionTable::may_allocate`] to explain a denial).
    /// Always equal to `self.may_allocate(requester, relay).allowed`.
    pub fn allows_allocation(&self, requester: NodeIx, relay: NodeIx) -> bool {
        let (Some(req), Some(rel)) = (
            self.nodes.get(requester as usize),
            self.nodes.get(relay as usize),
        ) else {
            return false;
        };
        rel.relay_disabled_by.is_none()
            && !rel.relay_disabled_in_tailnet
            && self
                .class_answer(req.src_class, relay)
                .is_some_and(|a| a.caps.iter().any(|(n, _, _)| *n == self.relay_cap))
    }

    /// Tailscale's relay rule (SPEC section 4): the relay accepts an allocation from
    /// `requester` iff the requester's first address holds `tailscale.com/cap/relay`
    /// towards the relay in the relay's filter, and the relay server is not disabled.
    pub fn may_allocate(&self, requester: NodeIx, relay: NodeIx) -> RelayDecision {
        let (Some(req), Some(rel)) = (
            self.nodes.get(requester as usize),
            self.nodes.get(relay as usize),
        ) else {
            return RelayDecision {
                allowed: false,
                reason: RelayReason::UnknownNode,
                grants: Vec::new(),
            };
        };
        if let Some(span) = rel.relay_disabled_by {
            return RelayDecision {
                allowed: false,
                reason: RelayReason::RelayServerDisabled,
                grants: self.spans.get(span as usize).copied().into_iter().collect(),
            };
        }
        if rel.relay_disabled_in_tailnet {
            return RelayDecision {
                allowed: false,
                reason: RelayReason::RelayServerDisabled,
                grants: Vec::new(),
            };
        }
        let granting: Option<Vec<Span>> = self.class_answer(req.src_class, relay).and_then(|a| {
            a.caps
                .iter()
                .find(|(n, _, _)| *n == self.relay_cap)
                .map(|(_, _, o)| {
                    o.iter()
                        .filter_map(|i| self.spans.get(*i as usize).copied())
                        .collect()
                })
        });
        if let Some(grants) = granting {
            RelayDecision {
                allowed: true,
                reason: RelayReason::Granted,
                grants,
            }
        } else {
            RelayDecision {
                allowed: false,
                reason: RelayReason::NoRelayGrant,
                grants: Vec::new(),
            }
        }
    }
}
