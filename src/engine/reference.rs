//! A plain evaluator over the compiled per-node filters: every question is answered by
//! scanning the destination node's rules, as a Tailscale client does. Slow and obviously
//! right; the oracle the [`crate::engine::table::DecisionTable`] is tested against.

use crate::engine::compile::{filters_of, Compiled};
use crate::engine::resolve::{parse_wire_addrs, subnet_routes, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::vocab::{DISABLE_RELAY_SERVER, RELAY_CAP};
use std::net::IpAddr;

/// The compiled policy with the facts the relay rule needs.
#[derive(Debug)]
pub struct Reference<'t> {
    tailnet: &'t Tailnet,
    compiled: Compiled,
    relay_disabled: Vec<String>,
}

/// Whether `rule` lets `src` reach, on `proto`/`port`, a destination that `dst_covered`
/// accepts (`*` always does).
///
/// ICMP (1, 58) is Go's `matchIPsOnly` (`wgengine/filter/match.go`, called for ICMP by
/// `runIn4`/`runIn6` in `wgengine/filter/filter.go`): the sources and a destination must
/// hold the addresses; the rule's protocols and ports are not looked at.
fn rule_allows(
    rule: &crate::engine::compile::FilterRule,
    src: IpAddr,
    proto: u8,
    port: u16,
    dst_covered: impl Fn(&str) -> bool,
) -> bool {
    if matches!(proto, 1 | 58) {
        return rule.src_ips.iter().any(|s| covers(s, src))
            && rule
                .dst_ports
                .iter()
                .any(|d| d.ip == "*" || dst_covered(&d.ip));
    }
    let proto_ok = if rule.ip_proto.is_empty() {
        matches!(proto, 1 | 6 | 17 | 58)
    } else {
        rule.ip_proto.contains(&proto)
    };
    proto_ok
        && rule.src_ips.iter().any(|s| covers(s, src))
        && rule.dst_ports.iter().any(|d| {
            let port_ok =
                !matches!(proto, 6 | 17 | 132) || (d.ports.first <= port && port <= d.ports.last);
            port_ok && (d.ip == "*" || dst_covered(&d.ip))
        })
}

fn covers(s: &str, ip: IpAddr) -> bool {
    parse_wire_addrs(s).is_some_and(|set| set.contains(ip))
}

impl<'t> Reference<'t> {
    /// Compiles `policy` for `tailnet`.
    pub fn new(policy: &Policy, tailnet: &'t Tailnet) -> Self {
        let r = Resolver::new(policy, tailnet);
        let mut relay_disabled = Vec::new();
        for (name, node) in &tailnet.nodes {
            let by_attr = policy.node_attrs.iter().any(|na| {
                na.attr
                    .iter()
                    .any(|a| a.value.trim() == DISABLE_RELAY_SERVER)
                    && na.target.iter().any(|t| {
                        let set = r.resolve_selector(t);
                        node.addresses().any(|a| set.contains(a))
                    })
            });
            if by_attr || node.attributes.iter().any(|a| a == DISABLE_RELAY_SERVER) {
                relay_disabled.push(name.clone());
            }
        }
        Self {
            tailnet,
            compiled: filters_of(policy, tailnet),
            relay_disabled,
        }
    }

    /// Whether `dst`'s filter lets `src` reach it on `proto`/`port`.
    pub fn allows(&self, src: IpAddr, dst: &str, proto: u8, port: u16) -> bool {
        let (Some(node), Some(out)) = (self.tailnet.nodes.get(dst), self.compiled.nodes.get(dst))
        else {
            return false;
        };
        out.packet_filter_rules.iter().any(|rule| {
            rule_allows(rule, src, proto, port, |ip| {
                node.addresses().any(|a| covers(ip, a))
            })
        })
    }

    /// Whether `src` holds `cap` towards `dst` in `dst`'s filter.
    pub fn has_cap(&self, src: IpAddr, dst: &str, cap: &str) -> bool {
        let (Some(node), Some(out)) = (self.tailnet.nodes.get(dst), self.compiled.nodes.get(dst))
        else {
            return false;
        };
        out.packet_filter_rules.iter().any(|rule| {
            rule.src_ips.iter().any(|s| covers(s, src))
                && rule.cap_grant.iter().any(|g| {
                    g.cap_map.contains_key(cap)
                        && g.dsts
                            .iter()
                            .any(|d| node.addresses().any(|a| covers(d, a)))
                })
        })
    }

    /// Where traffic to address `ip` goes: `(node, true)` for a node's own address,
    /// `(router, false)` for an address in an approved subnet route (the most specific route;
    /// between equal routes, the first router in the tailnet file).
    fn target(&self, ip: IpAddr) -> Option<(&str, bool)> {
        if let Some((name, _)) = self
            .tailnet
            .nodes
            .iter()
            .find(|(_, n)| n.addresses().any(|a| a == ip))
        {
            return Some((name.as_str(), true));
        }
        let mut best: Option<(&str, u8)> = None;
        for (name, node) in &self.tailnet.nodes {
            for rt in subnet_routes(node) {
                if rt.contains(&ip) && best.is_none_or(|(_, len)| rt.prefix_len() > len) {
                    best = Some((name.as_str(), rt.prefix_len()));
                }
            }
        }
        best.map(|(n, _)| (n, false))
    }

    /// Whether `src` may reach address `dst` on `proto`/`port`, by the rules of the node that
    /// receives it (the node with that address, or the router of the subnet route holding
    /// it) whose destination holds `dst`.
    pub fn allows_addr(&self, src: IpAddr, dst: IpAddr, proto: u8, port: u16) -> bool {
        match self.target(dst) {
            None => false,
            Some((node, _)) => self.compiled.nodes.get(node).is_some_and(|out| {
                out.packet_filter_rules
                    .iter()
                    .any(|rule| rule_allows(rule, src, proto, port, |ip| covers(ip, dst)))
            }),
        }
    }

    /// The capability names `src` holds towards address `dst` (sorted, deduplicated): a
    /// node's own address as [`Reference::has_cap`]; an address in a subnet route by the
    /// router's capability grants whose destination covers it.
    pub fn caps_addr(&self, src: IpAddr, dst: IpAddr) -> Vec<String> {
        let Some((name, own)) = self.target(dst) else {
            return Vec::new();
        };
        let (Some(node), Some(out)) = (self.tailnet.nodes.get(name), self.compiled.nodes.get(name))
        else {
            return Vec::new();
        };
        let mut caps: Vec<String> = out
            .packet_filter_rules
            .iter()
            .filter(|rule| rule.src_ips.iter().any(|s| covers(s, src)))
            .flat_map(|rule| &rule.cap_grant)
            .filter(|g| {
                g.dsts.iter().any(|d| {
                    if own {
                        node.addresses().any(|a| covers(d, a))
                    } else {
                        covers(d, dst)
                    }
                })
            })
            .flat_map(|g| g.cap_map.keys().cloned())
            .collect();
        caps.sort();
        caps.dedup();
        caps
    }

    /// Tailscale's relay rule: the requester's first address holds the relay capability in
    /// the relay's filter, and the relay server is not disabled.
    pub fn may_allocate(&self, requester: &str, relay: &str) -> bool {
        let Some(req) = self.tailnet.nodes.get(requester) else {
            return false;
        };
        if !self.tailnet.nodes.contains_key(relay) || self.relay_disabled.iter().any(|n| n == relay)
        {
            return false;
        }
        req.addresses()
            .next()
            .is_some_and(|a| self.has_cap(a, relay, RELAY_CAP))
    }
}
