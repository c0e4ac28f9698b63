//! The one query of the table: what may this source do towards this destination, a node or
//! an address.
//!
//! A [`Query`] names the source address and the destination; [`DecisionTable::decide`]
//! finds the answer in a few lookups (the source's class by one binary search; a node
//! destination by its index, an address by one hash probe, or, inside an approved subnet
//! route, by one binary search for the route and one for its segment) and returns a
//! [`Decision`]: a view of that answer, allocation-free until its grants are asked for.

use super::{ports_allow, Answer, DecisionTable, NodeIx, PortGrant};
use crate::engine::resolve::addr_key;
use crate::span::Span;
use std::net::IpAddr;

/// The destination of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dest {
    /// A node of the table: its own filter decides.
    Node(NodeIx),
    /// An address: a node's own address (that node's filter decides; its ports are those of
    /// the rules whose destinations hold this address, so a rule to the node's IPv4 address
    /// alone does not open its IPv6 address), or an address inside an approved subnet route
    /// (the router's rules whose destination covers it decide; the most specific route wins,
    /// as on a client).
    Addr(IpAddr),
}

/// A question to the table: from this source address, towards this destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Query {
    /// The source address.
    pub src: IpAddr,
    /// The destination.
    pub dst: Dest,
}

/// What the source of a [`Query`] may do towards its destination, and the grants (and ACL
/// entries) that decided it. Nothing allowed when the source or the destination is unknown.
#[derive(Clone, Copy)]
pub struct Decision<'t> {
    table: &'t DecisionTable,
    /// The capabilities and the origins.
    answer: Option<&'t Answer>,
    /// The ports: the same answer, except towards a node's own address (the rules whose
    /// destinations hold that address).
    ports: Option<&'t Answer>,
}

impl std::fmt::Debug for Decision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decision")
            .field("ports", &self.ports())
            .field("caps", &self.caps().collect::<Vec<_>>())
            .field("origins", &self.origins())
            .finish()
    }
}

impl<'t> Decision<'t> {
    /// True when nothing is allowed: no port, no capability.
    pub(crate) fn is_empty(&self) -> bool {
        self.ports().is_empty() && self.answer.is_none_or(|a| a.caps.is_empty())
    }

    /// True when the source may reach the destination on `proto` (an IANA protocol number)
    /// and `port` (ignored for protocols without ports).
    pub fn allows(&self, proto: u8, port: u16) -> bool {
        self.ports.is_some_and(|a| ports_allow(a, proto, port))
    }

    /// The ports allowed: `(protocol, first, last)`, protocol 0 for the default set (TCP,
    /// UDP, ICMP, ICMPv6).
    pub(crate) fn ports(&self) -> &'t [PortGrant] {
        self.ports.map_or(&[], |a| a.ports.as_slice())
    }

    /// The capabilities held: name, and its values as JSON text.
    pub fn caps(&self) -> impl Iterator<Item = (&'t str, &'t str)> + 't {
        let table = self.table;
        self.answer
            .into_iter()
            .flat_map(|a| &a.caps)
            .filter_map(move |(n, v, _)| Some((table.string(*n)?, v.as_str())))
    }

    /// True when the source holds capability `name` towards the destination.
    pub fn has_cap(&self, name: &str) -> bool {
        self.caps().any(|(n, _)| n == name)
    }

    /// The spans of the grants that give capability `name`.
    pub fn cap_origins(&self, name: &str) -> Vec<Span> {
        let Some(a) = self.answer else {
            return Vec::new();
        };
        let ids: Vec<u32> = a
            .caps
            .iter()
            .filter(|(n, _, _)| self.table.string(*n) == Some(name))
            .flat_map(|(_, _, o)| o.iter().copied())
            .collect();
        self.table.spans_of(&ids)
    }

    /// The spans of every grant and ACL entry behind what is allowed.
    pub fn origins(&self) -> Vec<Span> {
        self.answer
            .map(|a| self.table.spans_of(&a.origins))
            .unwrap_or_default()
    }
}

impl DecisionTable {
    /// Answers `query`: what its source may do towards its destination.
    pub fn decide(&self, query: &Query) -> Decision<'_> {
        let class = self.src_class(query.src);
        let (answer, ports) = match (class, query.dst) {
            (None, _) => (None, None),
            (Some(class), Dest::Node(ix)) => {
                let a = self.node_answer(class, ix);
                (a, a)
            }
            (Some(class), Dest::Addr(ip)) => match self.index.node_of(ip) {
                Some(node) => (
                    self.node_answer(class, node),
                    self.own_addr_answer(class, node, ip),
                ),
                None => {
                    let a = self.route_answer(class, ip);
                    (a, a)
                }
            },
        };
        Decision {
            table: self,
            answer,
            ports,
        }
    }

    /// The source class of an address (`None`: in no rule's sources).
    pub(super) fn src_class(&self, src: IpAddr) -> Option<u32> {
        let (v4, k) = addr_key(src);
        let [m4, m6] = &self.sources;
        if v4 { m4 } else { m6 }.get(k)
    }

    /// The answer of node `dst`'s own policy for a source class.
    pub(super) fn node_answer(&self, class: u32, dst: NodeIx) -> Option<&Answer> {
        let node = self.nodes.get(dst as usize)?;
        let policy = self.policies.get(node.policy as usize)?;
        self.answers.get(policy.get(class)? as usize)
    }

    /// The port answer towards `dst`, an own address of `node`: the rules whose destinations
    /// hold that address, as Go's filter matches destinations (`wgengine/filter/match.go`).
    fn own_addr_answer(&self, class: u32, node: NodeIx, dst: IpAddr) -> Option<&Answer> {
        let node = self.nodes.get(node as usize)?;
        let policy = node.addr_policy.get(usize::from(dst.is_ipv6()))?;
        let policy = self.policies.get(*policy as usize)?;
        self.answers.get(policy.get(class)? as usize)
    }

    /// The answer towards an address inside an approved subnet route: the policy of its
    /// segment of the most specific route.
    fn route_answer(&self, class: u32, dst: IpAddr) -> Option<&Answer> {
        let route = self.routes.get(self.index.route_of(dst)? as usize)?;
        let policy = self.policies.get(route.get(addr_key(dst).1)? as usize)?;
        self.answers.get(policy.get(class)? as usize)
    }
}
