//! What the differential test and the benchmark share: packet filters in tailscale-rs's
//! form, the network questions, Go's filter rules for them, and the known divergences of
//! tailscale-rs from Go's filter.
//!
//! Go's filter (`wgengine/filter/filter.go` in tailscale/tailscale) is the truth. For a
//! packet that opens a flow (a TCP SYN, a new UDP or SCTP flow), `runIn4`/`runIn6` call
//! `matches.match` (`wgengine/filter/match.go`): a rule whose protocols hold the packet's,
//! whose sources hold the sender and one of whose destinations holds the address and the
//! port. For ICMP they call `matchIPsOnly`: sources and destination addresses only. The
//! table follows Go; tailscale-rs's `ts_packetfilter` checks protocol and port for ICMP as
//! for anything else, which is where the two differ ([`Exception`]).

#![allow(dead_code, reason = "each test binary uses a part of this module")]

use ipnet::IpNet;
use std::net::IpAddr;
use tailgrant::engine::resolve::subnet_routes;
use tailgrant::engine::table::{DecisionTable, Dest, Query};
use tailgrant::model::tailnet::Tailnet;
use ts_bart_packetfilter::BartFilter;
use ts_packetfilter::{
    BTreeFilter, DstMatch, FilterExt, FilterStorageExt, IpProto, PacketInfo, Rule, SrcMatch,
};
use ts_packetfilter_serde::{FilterRule, SrcIp};

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const SCTP: u8 = 132;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// One network question: may `src` open a flow to `dst` on `proto`/`port`? For ICMP, the
/// question is an echo request of the destination's family (ICMP for IPv4, ICMPv6 for
/// IPv6) and the port is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub port: u16,
}

impl Question {
    pub fn is_icmp(&self) -> bool {
        matches!(self.proto, ICMP | ICMPV6)
    }

    /// The table's answer, the destination asked by address.
    pub fn table_allows(&self, table: &DecisionTable) -> bool {
        self.table_allows_at(table, Dest::Addr(self.dst))
    }

    /// The table's answer about `dst` (the question's destination, by address or by node).
    pub fn table_allows_at(&self, table: &DecisionTable, dst: Dest) -> bool {
        table
            .decide(&Query { src: self.src, dst })
            .allows(self.proto, self.port)
    }

    /// The packet tailscale-rs is shown: an ICMP message carries no port, read as 0 (as
    /// Go's `net/packet` decoder leaves it).
    pub fn packet(&self) -> PacketInfo {
        PacketInfo {
            src: self.src,
            dst: self.dst,
            ip_proto: IpProto::new(i64::from(self.proto)),
            port: if self.is_icmp() { 0 } else { self.port },
        }
    }
}

/// The ICMP protocol of `dst`'s family.
pub fn icmp_for(dst: IpAddr) -> u8 {
    if dst.is_ipv4() {
        ICMP
    } else {
        ICMPV6
    }
}

/// A rule list in wire form (`tailcfg.FilterRule` JSON, as tailgrant compiles it and as the
/// captures hold it) read by tailscale-rs's own decoder (`ts_packetfilter_serde`), as
/// `ts_packetfilter` rules. Capability grants are not network rules and are left out.
pub fn ts_rules(wire: &str) -> Result<Vec<Rule>, String> {
    // Go writes an empty list as `null`.
    let rules: Option<Vec<FilterRule<'_>>> =
        serde_json::from_str(wire).map_err(|e| e.to_string())?;
    Ok(rules
        .unwrap_or_default()
        .into_iter()
        .filter_map(FilterRule::into_network)
        .map(|r| {
            let mut src = SrcMatch::default();
            for s in &r.src_ips {
                match s {
                    SrcIp::IpRange(range) => src.pfxs.extend(range.iter_prefixes()),
                    SrcIp::NodeCap(cap) => src.caps.push((*cap).to_string()),
                }
            }
            Rule {
                src,
                protos: r
                    .ip_proto
                    .iter()
                    .map(|p| IpProto::new(isize::from(*p) as i64))
                    .collect(),
                dst: r
                    .dst_ports
                    .iter()
                    .map(|d| DstMatch {
                        ports: d.ports.clone(),
                        ips: d.ip.iter_prefixes().collect(),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// One node's filter, in tailscale-rs's two filters and as plain rules for Go's.
pub struct NodeFilter {
    pub rules: Vec<Rule>,
    pub bart: BartFilter,
    pub map: BTreeFilter,
}

impl NodeFilter {
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut bart = BartFilter::default();
        FilterStorageExt::insert(
            &mut bart,
            ts_packetfilter::DEFAULT_RULESET_NAME,
            rules.iter().cloned(),
        );
        let mut map = BTreeFilter::new();
        FilterStorageExt::insert(
            &mut map,
            ts_packetfilter::DEFAULT_RULESET_NAME,
            rules.iter().cloned(),
        );
        Self { rules, bart, map }
    }

    /// tailscale-rs's plain filter (`ts_packetfilter`'s map filter, each rule checked by
    /// `Rule::matches`), with no node capabilities: tailscale-rs's semantics.
    pub fn tailscale_rs(&self, q: &Question) -> bool {
        self.map.can_access(&q.packet(), [])
    }

    /// tailscale-rs's accelerated filter (`ts_bart_packetfilter`).
    pub fn tailscale_rs_bart(&self, q: &Question) -> bool {
        self.bart.can_access(&q.packet(), [])
    }

    /// Go's answer for a packet that opens a flow (`runIn4`/`runIn6`,
    /// `wgengine/filter/filter.go`): `matchIPsOnly` for ICMP, `match` for TCP, UDP and SCTP
    /// (`wgengine/filter/match.go`). No node capabilities are held (tailgrant writes none
    /// in `SrcIPs`).
    pub fn go(&self, q: &Question) -> bool {
        let proto = IpProto::new(i64::from(q.proto));
        self.rules.iter().any(|r| {
            let src_ok = r.src.pfxs.iter().any(|p| p.contains(&q.src));
            src_ok
                && r.dst.iter().any(|d| {
                    let addr_ok = d.ips.iter().any(|p| p.contains(&q.dst));
                    if q.is_icmp() {
                        addr_ok
                    } else {
                        addr_ok && r.protos.contains(&proto) && d.ports.contains(&q.port)
                    }
                })
        })
    }

    /// Why tailscale-rs's plain filter answers `q` differently from Go's, if it does for a
    /// known reason.
    pub fn plain_exception(&self, q: &Question) -> Option<Exception> {
        if !q.is_icmp() || !self.go(q) || self.tailscale_rs(q) {
            return None;
        }
        let proto = IpProto::new(i64::from(q.proto));
        let lists_icmp = self.rules.iter().any(|r| {
            r.protos.contains(&proto)
                && r.src.pfxs.iter().any(|p| p.contains(&q.src))
                && r.dst
                    .iter()
                    .any(|d| d.ips.iter().any(|p| p.contains(&q.dst)))
        });
        Some(if lists_icmp {
            Exception::IcmpOutsidePortRange
        } else {
            Exception::IcmpThroughOtherProtocols
        })
    }

    /// Why tailscale-rs's accelerated filter answers `q` otherwise than Go's filter, when its
    /// plain filter does not explain it (see [`Exception::BartLongestSourcePrefixOnly`] and
    /// [`Exception::BartPortRangeOfAllButOne`]).
    pub fn bart_exception(&self, q: &Question) -> Option<Exception> {
        let (bart, go, plain) = (self.tailscale_rs_bart(q), self.go(q), self.tailscale_rs(q));
        let packet = q.packet();
        if !bart && go && plain {
            let longest = self
                .rules
                .iter()
                .flat_map(|r| &r.src.pfxs)
                .filter(|p| p.contains(&q.src))
                .map(IpNet::trunc)
                .max_by_key(IpNet::prefix_len)?;
            let by_longest = self
                .rules
                .iter()
                .any(|r| r.src.pfxs.iter().any(|p| p.trunc() == longest) && r.matches(&packet, []));
            return (!by_longest).then_some(Exception::BartLongestSourcePrefixOnly);
        }
        if bart && !go && !plain {
            let widened = self.rules.iter().any(|r| {
                let mut r = r.clone();
                for d in &mut r.dst {
                    if d.ports.end() - d.ports.start() == u16::MAX - 1 {
                        d.ports = 0..=u16::MAX;
                    }
                }
                r.matches(&packet, [])
            });
            return widened.then_some(Exception::BartPortRangeOfAllButOne);
        }
        None
    }
}

/// A known divergence of tailscale-rs (`ts_packetfilter`, `ts_bart_packetfilter` 0.6.1)
/// from Go's filter, which the table follows. Each has a witness in [`EXCEPTIONS`] that the
/// test `each_exception_is_one` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exception {
    /// ICMP to an address that a rule opens on other protocols only (`tcp:22`): Go's
    /// `matchIPsOnly` does not look at the rule's protocols ("If any port is open to an IP,
    /// allow ICMP to it", `runIn4` in `wgengine/filter/filter.go`); `ts_packetfilter`'s
    /// `Rule::matches` requires the packet's protocol in the rule's.
    IcmpThroughOtherProtocols,
    /// ICMP to an address that a rule listing ICMP opens on some ports only (`"ip": ["22"]`
    /// is TCP, UDP, ICMP and ICMPv6 on port 22): Go's `matchIPsOnly` does not look at
    /// ports; `ts_packetfilter`'s `DstMatch::matches` compares port 0 with the range.
    IcmpOutsidePortRange,
    /// A sender inside the source prefixes of several rules, of different lengths:
    /// `ts_bart_packetfilter`'s `BartFilter::lookup` takes the rules of the longest source
    /// prefix holding the sender only (a longest-prefix `lookup` of its source table, where
    /// its destination table uses `lookup_all`), so the rules of the shorter prefixes are
    /// lost. Go checks every rule's sources (`srcMatches`, `wgengine/filter/match.go`), as
    /// `ts_packetfilter`'s plain filter does.
    BartLongestSourcePrefixOnly,
    /// A port range of all ports but one (`1-65535`, which a legacy ACL entry to `*` can
    /// compile to, or `0-65534`): `ts_bart_packetfilter` stores it as all 65,536 ports
    /// (`PortPrefixIter::next` in `port_trie/port_prefix.rs` takes a range of size
    /// `u16::MAX` for the whole one), so the port left out opens. Here tailscale-rs allows
    /// and Go denies (`PortRange.Contains`, `wgengine/filter/filtertype`).
    BartPortRangeOfAllButOne,
}

/// Which of tailscale-rs's filters an exception is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `ts_packetfilter`'s plain filter (and so the accelerated one too).
    Plain,
    /// `ts_bart_packetfilter` alone.
    Bart,
}

/// A witness of an exception: grants (between `tag:a` and `tag:b` of [`witness_tailnet`])
/// and the question from node `a` to node `b` on which tailscale-rs and Go differ.
pub struct Witness {
    pub exception: Exception,
    pub side: Side,
    pub grants: &'static str,
    pub proto: u8,
    pub port: u16,
    pub ipv6: bool,
    /// Go's (and the table's) answer; tailscale-rs answers the opposite.
    pub go_allows: bool,
}

pub const EXCEPTIONS: &[Witness] = &[
    Witness {
        exception: Exception::IcmpThroughOtherProtocols,
        side: Side::Plain,
        grants: r#"{"src": ["tag:a"], "dst": ["tag:b"], "ip": ["tcp:22"]}"#,
        proto: ICMP,
        port: 0,
        ipv6: false,
        go_allows: true,
    },
    Witness {
        exception: Exception::IcmpThroughOtherProtocols,
        side: Side::Plain,
        grants: r#"{"src": ["tag:a"], "dst": ["tag:b"], "ip": ["udp:53"]}"#,
        proto: ICMPV6,
        port: 0,
        ipv6: true,
        go_allows: true,
    },
    Witness {
        exception: Exception::IcmpOutsidePortRange,
        side: Side::Plain,
        grants: r#"{"src": ["tag:a"], "dst": ["tag:b"], "ip": ["22"]}"#,
        proto: ICMP,
        port: 0,
        ipv6: false,
        go_allows: true,
    },
    Witness {
        exception: Exception::BartLongestSourcePrefixOnly,
        side: Side::Bart,
        grants: r#"{"src": ["tag:a"], "dst": ["tag:b"], "ip": ["tcp:80"]},
                   {"src": ["*"], "dst": ["tag:b"], "ip": ["tcp:22"]}"#,
        proto: TCP,
        port: 22,
        ipv6: false,
        go_allows: true,
    },
    Witness {
        exception: Exception::BartPortRangeOfAllButOne,
        side: Side::Bart,
        grants: r#"{"src": ["tag:a"], "dst": ["tag:b"], "ip": ["tcp:1-65535"]}"#,
        proto: TCP,
        port: 0,
        ipv6: false,
        go_allows: false,
    },
];

/// Two nodes, `a` (`tag:a`) and `b` (`tag:b`).
pub fn witness_tailnet() -> Result<Tailnet, String> {
    Tailnet::from_text(
        r#"{"tailnet": "odin@example.com",
            "users": [{"name": "odin", "email": "odin@example.com"}],
            "nodes": {
              "a": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "tags": ["tag:a"]},
              "b": {"ipv4": "100.64.0.2", "ipv6": "fd7a:115c:a1e0::2", "tags": ["tag:b"]}
            }}"#,
    )
    .map_err(|e| e.to_string())
}

/// A policy with these grants between `tag:a` and `tag:b`.
pub fn witness_policy(grants: &str) -> String {
    format!(r#"{{"tagOwners": {{"tag:a": [], "tag:b": []}}, "grants": [{grants}]}}"#)
}

/// The node whose filter decides traffic to `dst`: the node with that address, else the
/// router of the most specific approved subnet route holding it (the first such router in
/// the tailnet file), else none.
pub fn receiver(tailnet: &Tailnet, dst: IpAddr) -> Option<&str> {
    if let Some((name, _)) = tailnet
        .nodes
        .iter()
        .find(|(_, n)| n.addresses().any(|a| a == dst))
    {
        return Some(name);
    }
    let mut best: Option<(&str, u8)> = None;
    for (name, node) in &tailnet.nodes {
        for route in subnet_routes(node) {
            if route.contains(&dst) && best.is_none_or(|(_, len)| route.prefix_len() > len) {
                best = Some((name, route.prefix_len()));
            }
        }
    }
    best.map(|(n, _)| n)
}

/// The addresses worth asking about in a tailnet and its rules: every node address, a few
/// addresses in each approved subnet route, and the first and last address of each source
/// and destination prefix of the rules.
pub fn interesting_addrs<'a>(
    tailnet: &Tailnet,
    rules: impl Iterator<Item = &'a Rule>,
) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = tailnet.nodes.values().flat_map(|n| n.addresses()).collect();
    for node in tailnet.nodes.values() {
        for route in subnet_routes(node) {
            out.push(route.network());
            out.push(route.broadcast());
            out.extend(route.hosts().nth(1));
        }
    }
    for r in rules {
        for p in r.src.pfxs.iter().chain(r.dst.iter().flat_map(|d| &d.ips)) {
            push_ends(&mut out, p);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn push_ends(out: &mut Vec<IpAddr>, p: &IpNet) {
    // The whole address space says nothing more than its ends do; keep both ends anyway.
    out.push(p.network());
    out.push(p.broadcast());
}
