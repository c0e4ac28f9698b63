//! The one query of the table: what may this source do towards this destination, a node or
//! an address.
//!
//! A [`Query`] names the source address and the destination; [`DecisionTable::decide`]
//! finds the answer in a few lookups (the source's class by one binary search; a node
//! destination by its index, an address by one hash probe, or, inside an approved subnet
//! route, by one binary search for the route and one for its segment) and returns a
//! [`Decision`]: the source's class and the node policies that apply, from which each of its
//! methods looks up the one answer it needs, allocation-free until its grants are asked for.

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
///
/// It holds the source's class and the node policies that apply, not the answers: each
/// method looks up only the answer it needs (one binary search in a node policy), so
/// `allows` towards a node's own address costs one lookup, not two.
#[derive(Clone, Copy)]
pub struct Decision<'t> {
    table: &'t DecisionTable,
    /// The source's class (`u32::MAX`: in no rule's sources).
    class: u32,
    /// The node policy of the capabilities and the origins (`u32::MAX`: none).
    policy: u32,
    /// The node policy of the ports: the same, except towards a node's own address (the
    /// rules whose destinations hold that address).
    ports_policy: u32,
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
    /// The answer of the capabilities and the origins.
    fn answer(&self) -> Option<&'t Answer> {
        self.table.policy_answer(self.policy, self.class)
    }

    /// True when nothing is allowed: no port, no capability.
    pub(crate) fn is_empty(&self) -> bool {
        self.ports().is_empty() && self.answer().is_none_or(|a| a.caps.is_empty())
    }

    /// True when the source may reach the destination on `proto` (an IANA protocol number)
    /// and `port` (ignored for protocols without ports).
    pub fn allows(&self, proto: u8, port: u16) -> bool {
        self.table
            .policy_answer(self.ports_policy, self.class)
            .is_some_and(|a| ports_allow(a, proto, port))
    }

    /// The ports allowed: `(protocol, first, last)`, protocol 0 for the default set (TCP,
    /// UDP, ICMP, ICMPv6).
    pub(crate) fn ports(&self) -> &'t [PortGrant] {
        self.table
            .policy_answer(self.ports_policy, self.class)
            .map_or(&[], |a| a.ports.as_slice())
    }

    /// The capabilities held: name, and its values as JSON text.
    pub fn caps(&self) -> impl Iterator<Item = (&'t str, &'t str)> + 't {
        let table = self.table;
        self.answer()
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
        let Some(a) = self.answer() else {
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
        self.answer()
            .map(|a| self.table.spans_of(&a.origins))
            .unwrap_or_default()
    }
}

impl DecisionTable {
    /// Answers `query`: what its source may do towards its destination.
    pub fn decide(&self, query: &Query) -> Decision<'_> {
        let unknown = Decision {
            table: self,
            class: u32::MAX,
            policy: u32::MAX,
            ports_policy: u32::MAX,
        };
        let Some(class) = self.src_class(query.src) else {
            return unknown;
        };
        let (policy, ports_policy) = match query.dst {
            Dest::Node(ix) => {
                let p = self.nodes.get(ix as usize).map_or(u32::MAX, |n| n.policy);
                (p, p)
            }
            Dest::Addr(ip) => match self.index.node_of(ip) {
                Some(node) => self
                    .nodes
                    .get(node as usize)
                    .map_or((u32::MAX, u32::MAX), |n| {
                        let fam = usize::from(ip.is_ipv6());
                        (
                            n.policy,
                            n.addr_policy.get(fam).copied().unwrap_or(u32::MAX),
                        )
                    }),
                None => {
                    let p = self.route_policy(ip);
                    (p, p)
                }
            },
        };
        Decision {
            class,
            policy,
            ports_policy,
            ..unknown
        }
    }

    /// The source class of an address (`None`: in no rule's sources).
    pub(super) fn src_class(&self, src: IpAddr) -> Option<u32> {
        let (v4, k) = addr_key(src);
        let [m4, m6] = &self.sources;
        if v4 { m4 } else { m6 }.get(k)
    }

    /// The answer of node policy `policy` for a source class (`None` for `u32::MAX`).
    #[inline]
    fn policy_answer(&self, policy: u32, class: u32) -> Option<&Answer> {
        let policy = self.policies.get(policy as usize)?;
        self.answers.get(policy.get(class)? as usize)
    }

    /// The answer of node `dst`'s own policy for a source class.
    pub(super) fn node_answer(&self, class: u32, dst: NodeIx) -> Option<&Answer> {
        self.policy_answer(self.nodes.get(dst as usize)?.policy, class)
    }

    /// The node policy towards an address inside an approved subnet route: that of its
    /// segment of the most specific route (`u32::MAX`: none).
    fn route_policy(&self, dst: IpAddr) -> u32 {
        self.index
            .route_of(dst)
            .and_then(|ri| self.routes.get(ri as usize))
            .and_then(|route| route.get(addr_key(dst).1))
            .unwrap_or(u32::MAX)
    }
}
