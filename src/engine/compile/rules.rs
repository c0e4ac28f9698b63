//! From one unit (a grant, or one destination of an ACL entry) to filter rules: the rules
//! shared by every node, and the per-node rules of `autogroup:self` and `via`.

use super::units::{holds, Unit};
use super::wire::{CapMap, NetPortRange, Ports};
use crate::engine::resolve::{
    is_exit_node, subnet_routes, wildcard_addrs, AddrSet, NodeId, Resolver, Wire,
};
use crate::model::selector::Selector;
use crate::span::Span;
use crate::vocab::COMPANIONS;
use ipnet::IpNet;
use serde_json::Value;
use std::rc::Rc;

/// One network destination, with the addresses it covers (`None` for `*`).
#[derive(Debug, Clone)]
pub(crate) struct Dest {
    /// As written on the wire.
    pub(crate) wire: NetPortRange,
    /// The addresses, or `None` for `*` (every address).
    pub(crate) addrs: Option<AddrSet>,
}

/// What a rule grants.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Network access on protocols (empty: the default set) to destinations.
    Ports {
        /// Destinations.
        dests: Vec<Dest>,
        /// Protocols as written on the wire.
        protos: Vec<u8>,
    },
    /// Capability grants: destination prefixes and capabilities. The prefixes are shared
    /// between the rules of every grant to the same selector.
    Caps(Vec<(Rc<[IpNet]>, CapMap)>),
}

/// A rule before it is merged and narrowed to one node.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Sources as written on the wire, shared between rules with the same sources (the
    /// decision table recognises them by pointer before it compares them).
    pub(crate) src: Rc<[String]>,
    /// Destinations and what is granted.
    pub(crate) body: Body,
    /// The grant or ACL entry it comes from.
    pub(crate) origin: Span,
}

/// A unit with its sources resolved.
#[derive(Debug)]
pub(crate) struct ResolvedUnit<'u, 'p> {
    /// The unit.
    pub(crate) unit: &'u Unit<'p>,
    /// Each source selector's addresses.
    pub(crate) srcs: Vec<(&'p Selector, AddrSet)>,
    /// Every source address.
    pub(crate) src_set: AddrSet,
    /// `SrcIPs` of the unit's shared rules.
    pub(crate) src_strings: Rc<[String]>,
    /// `SrcIPs` of the unit's `via` rules.
    pub(crate) via_src_strings: Rc<[String]>,
}

fn route_strings(r: &Resolver<'_>) -> Vec<String> {
    r.approved_subnet_routes()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn cap_map(app: &[(&str, Vec<Value>)]) -> CapMap {
    app.iter()
        .map(|(k, v)| ((*k).to_string(), Value::Array(v.clone())))
        .collect()
}

/// Resolves a unit's sources and writes its `SrcIPs`.
pub(crate) fn resolve_unit<'u, 'p>(r: &Resolver<'_>, unit: &'u Unit<'p>) -> ResolvedUnit<'u, 'p> {
    let srcs: Vec<(&Selector, AddrSet)> = unit
        .src
        .iter()
        .map(|s| (*s, r.resolve_selector(s)))
        .collect();
    let mut src_set = AddrSet::new();
    for (_, s) in &srcs {
        src_set.add_set(s);
    }
    let wildcard = unit.has_src("*");
    let danger = unit.has_src("autogroup:danger-all");
    let base = if danger {
        vec!["*".to_string()]
    } else if src_set.is_empty() {
        Vec::new()
    } else {
        let mut v = if wildcard {
            src_set.to_range_strings(&wildcard_addrs())
        } else {
            src_set.to_strings()
        };
        if wildcard {
            for s in route_strings(r) {
                if !v.contains(&s) {
                    v.push(s);
                }
            }
        }
        v
    };
    let mut src_strings = base.clone();
    if wildcard && !danger && !src_strings.is_empty() {
        for (alias, s) in &srcs {
            if alias.trimmed() == "*" {
                continue;
            }
            for x in s.to_strings() {
                if !src_strings.contains(&x) {
                    src_strings.push(x);
                }
            }
        }
    }
    ResolvedUnit {
        unit,
        srcs,
        src_set,
        src_strings: src_strings.into(),
        via_src_strings: base.into(),
    }
}

fn port_dests(
    r: &Resolver<'_>,
    dsts: &[&Selector],
    ports: &[crate::model::selector::PortRange],
) -> Vec<Dest> {
    let mut out = Vec::new();
    for d in dsts {
        if d.trimmed() == "*" {
            for p in ports {
                out.push(Dest {
                    wire: NetPortRange {
                        ip: "*".into(),
                        ports: Ports {
                            first: p.first,
                            last: p.last,
                        },
                    },
                    addrs: None,
                });
            }
            continue;
        }
        for (net, ip) in r.resolve_dests(d).iter() {
            let addrs: AddrSet = std::iter::once(*net).collect();
            for p in ports {
                out.push(Dest {
                    wire: NetPortRange {
                        ip: ip.clone(),
                        ports: Ports {
                            first: p.first,
                            last: p.last,
                        },
                    },
                    addrs: Some(addrs.clone()),
                });
            }
        }
    }
    out
}

/// Rules for network capabilities and application capabilities towards resolved
/// destinations, with companions.
fn build_rules(
    ru: &ResolvedUnit<'_, '_>,
    src_strings: &Rc<[String]>,
    dests_for: &dyn Fn(&[crate::model::selector::PortRange]) -> Vec<Dest>,
    cap_dsts: &[Wire],
    companion_extra: &[String],
    companion_dsts: &Rc<[IpNet]>,
) -> Vec<Rule> {
    let unit = ru.unit;
    let mut out = Vec::new();
    for cap in &unit.ip {
        let dests = dests_for(&cap.ports);
        if !dests.is_empty() && !src_strings.is_empty() {
            out.push(Rule {
                src: Rc::clone(src_strings),
                body: Body::Ports {
                    dests,
                    protos: cap.protos.clone(),
                },
                origin: unit.origin,
            });
        }
    }
    if unit.has_app() && !cap_dsts.is_empty() {
        let cm = cap_map(&unit.app);
        out.push(Rule {
            src: Rc::clone(src_strings),
            body: Body::Caps(
                cap_dsts
                    .iter()
                    .map(|(nets, _)| (Rc::clone(nets), cm.clone()))
                    .collect(),
            ),
            origin: unit.origin,
        });
        let companion_src: Rc<[String]> = match cap_dsts {
            [(_, only)] if companion_extra.is_empty() => Rc::clone(only),
            _ => cap_dsts
                .iter()
                .flat_map(|(_, s)| s.iter().cloned())
                .chain(companion_extra.iter().cloned())
                .collect(),
        };
        for (cap, companion) in COMPANIONS {
            if unit.app.iter().any(|(k, _)| k == cap) {
                let mut cm = CapMap::new();
                cm.insert((*companion).to_string(), Value::Null);
                out.push(Rule {
                    src: Rc::clone(&companion_src),
                    body: Body::Caps(vec![(Rc::clone(companion_dsts), cm)]),
                    origin: unit.origin,
                });
            }
        }
    }
    out
}

/// The rules of a unit that do not depend on the node they are pushed to.
pub(crate) fn shared_rules(r: &Resolver<'_>, ru: &ResolvedUnit<'_, '_>) -> Vec<Rule> {
    let unit = ru.unit;
    if !unit.via.is_empty() || unit.src.is_empty() || unit.dst.is_empty() {
        return Vec::new();
    }
    if ru.src_set.is_empty() && !unit.has_app() {
        return Vec::new();
    }
    let others: Vec<&Selector> = unit
        .dst
        .iter()
        .copied()
        .filter(|d| d.trimmed() != "autogroup:self")
        .collect();
    if others.is_empty() {
        return Vec::new();
    }
    let cap_dsts: Vec<Wire> = if unit.has_app() {
        others.iter().map(|d| r.resolve_wire(d)).collect()
    } else {
        Vec::new()
    };
    let extra = if holds(&others, "*") {
        route_strings(r)
    } else {
        Vec::new()
    };
    let companion_dsts: Rc<[IpNet]> = match ru.srcs.as_slice() {
        [(only, _)] => r.resolve_wire(only).0,
        _ => ru.srcs.iter().flat_map(|(_, s)| s.prefixes()).collect(),
    };
    build_rules(
        ru,
        &ru.src_strings,
        &|ports| port_dests(r, &others, ports),
        &cap_dsts,
        &extra,
        &companion_dsts,
    )
}

/// The `autogroup:self` rules of a unit for one node.
pub(crate) fn self_rules(r: &Resolver<'_>, ru: &ResolvedUnit<'_, '_>, node: NodeId) -> Vec<Rule> {
    let unit = ru.unit;
    if !unit.via.is_empty() || !unit.has_dst("autogroup:self") || unit.src.is_empty() {
        return Vec::new();
    }
    let Some((_, me)) = r.nodes().get(node) else {
        return Vec::new();
    };
    if me.is_tagged() {
        return Vec::new();
    }
    let Some(owner) = me.user.as_deref() else {
        return Vec::new();
    };
    let same: Vec<NodeId> = r.nodes_of_user(owner).to_vec();
    let mut src = AddrSet::new();
    for &id in &same {
        if ru.srcs.iter().any(|(_, s)| r.node_in(id, s)) {
            if let Some((_, n)) = r.nodes().get(id) {
                for a in n.addresses() {
                    src.add_addr(a);
                }
            }
        }
    }
    if src.is_empty() {
        return Vec::new();
    }
    let same_addrs: Vec<std::net::IpAddr> = same
        .iter()
        .filter_map(|&id| r.nodes().get(id))
        .flat_map(|(_, n)| n.addresses())
        .collect();
    let dests_for = |ports: &[crate::model::selector::PortRange]| {
        let mut out = Vec::new();
        for &id in &same {
            let Some((_, n)) = r.nodes().get(id) else {
                continue;
            };
            for p in ports {
                for a in n.addresses() {
                    let mut addrs = AddrSet::new();
                    addrs.add_addr(a);
                    out.push(Dest {
                        wire: NetPortRange {
                            ip: a.to_string(),
                            ports: Ports {
                                first: p.first,
                                last: p.last,
                            },
                        },
                        addrs: Some(addrs),
                    });
                }
            }
        }
        out
    };
    let cap_dsts: Vec<Wire> = same
        .iter()
        .filter_map(|&id| r.nodes().get(id))
        .map(|(_, n)| {
            (
                n.addresses().map(IpNet::from).collect(),
                n.addresses().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    let _ = same_addrs;
    build_rules(
        ru,
        &src.to_strings().into(),
        &dests_for,
        &cap_dsts,
        &[],
        &src.prefixes().into(),
    )
}

/// The `via` rules of a unit for one node: only on routers with one of the `via` tags, for
/// the destinations their approved routes serve.
pub(crate) fn via_rules(r: &Resolver<'_>, ru: &ResolvedUnit<'_, '_>, node: NodeId) -> Vec<Rule> {
    let unit = ru.unit;
    if unit.via.is_empty() || unit.ip.is_empty() || ru.src_set.is_empty() {
        return Vec::new();
    }
    let Some((_, me)) = r.nodes().get(node) else {
        return Vec::new();
    };
    if !unit.via_holds_any(&me.tags) {
        return Vec::new();
    }
    let routes: Vec<IpNet> = subnet_routes(me).collect();
    let mut nets: Vec<IpNet> = Vec::new();
    for d in &unit.dst {
        if d.trimmed() == "autogroup:internet" {
            continue;
        }
        for net in r.resolve_selector(d).prefixes() {
            if routes
                .iter()
                .any(|rt| rt.contains(&net) || net.contains(rt))
            {
                nets.push(net);
            }
        }
    }
    if unit.has_dst("autogroup:internet") && is_exit_node(me) {
        nets.extend(r.internet().prefixes());
    }
    if nets.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for cap in &unit.ip {
        let mut dests = Vec::new();
        for net in &nets {
            let addrs: AddrSet = std::iter::once(*net).collect();
            for p in &cap.ports {
                dests.push(Dest {
                    wire: NetPortRange {
                        ip: net.to_string(),
                        ports: Ports {
                            first: p.first,
                            last: p.last,
                        },
                    },
                    addrs: Some(addrs.clone()),
                });
            }
        }
        out.push(Rule {
            src: Rc::clone(&ru.via_src_strings),
            body: Body::Ports {
                dests,
                protos: cap.protos.clone(),
            },
            origin: unit.origin,
        });
    }
    out
}
