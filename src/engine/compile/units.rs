//! Grants and ACL entries as one list of uniform units, in the order the control plane
//! compiles them: every grant first, then every ACL entry split per destination.

use crate::model::policy::Policy;
use crate::model::selector::{parse_grant_ip, parse_ports, parse_proto, split_acl_dst, PortRange};
use crate::span::Span;
use serde_json::Value;

/// One network capability of a unit: protocols (empty: the default set) and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpCap {
    /// Protocol numbers as written on the wire (`IPProto`); empty means the default set.
    pub(crate) protos: Vec<u8>,
    /// Port ranges.
    pub(crate) ports: Vec<PortRange>,
}

/// A grant, or one destination of an ACL entry, ready to compile.
#[derive(Debug, Clone)]
pub(crate) struct Unit<'p> {
    /// The grant or ACL entry it comes from.
    pub(crate) origin: Span,
    /// Source selectors.
    pub(crate) src: Vec<&'p str>,
    /// Destination selectors.
    pub(crate) dst: Vec<&'p str>,
    /// Network capabilities.
    pub(crate) ip: Vec<IpCap>,
    /// Application capabilities with their values, in file order.
    pub(crate) app: Vec<(&'p str, Vec<Value>)>,
    /// Router tags the traffic goes through.
    pub(crate) via: Vec<&'p str>,
}

impl Unit<'_> {
    /// True when the unit grants application capabilities.
    pub(crate) fn has_app(&self) -> bool {
        !self.app.is_empty()
    }
}

/// Protocols as Tailscale writes them in `IPProto`: `icmp` is ICMP alone.
pub(crate) fn wire_protos(name: &str) -> Vec<u8> {
    match parse_proto(name) {
        Ok(p) if p == [1, 58] => vec![1],
        Ok(p) => p,
        Err(_) => Vec::new(),
    }
}

fn grant_ip(s: &str) -> Option<IpCap> {
    let spec = parse_grant_ip(s.trim()).ok()?;
    let protos = match s.trim().split_once(':') {
        Some((proto, _)) => wire_protos(proto),
        None => spec.protos,
    };
    Some(IpCap {
        protos,
        ports: spec.ports,
    })
}

/// The units of a policy, in compile order. A policy without `grants` and `acls` keys
/// allows everything, as Tailscale's default policy does.
pub(crate) fn units(policy: &Policy) -> Vec<Unit<'_>> {
    let mut out = Vec::new();
    let written = |k: &str| policy.sections.iter().any(|s| s.value == k);
    if !written("grants") && !written("acls") {
        out.push(Unit {
            origin: Span::default(),
            src: vec!["*"],
            dst: vec!["*"],
            ip: vec![IpCap {
                protos: Vec::new(),
                ports: vec![PortRange::ALL],
            }],
            app: Vec::new(),
            via: Vec::new(),
        });
        return out;
    }
    for g in &policy.grants {
        out.push(Unit {
            origin: g.span,
            src: g.src.iter().map(|s| s.value.trim()).collect(),
            dst: g.dst.iter().map(|s| s.value.trim()).collect(),
            ip: g.ip.iter().filter_map(|s| grant_ip(s)).collect(),
            app: g
                .app
                .iter()
                .map(|(k, v)| (k.value.as_str(), v.clone()))
                .collect(),
            via: g.via.iter().map(|s| s.value.trim()).collect(),
        });
    }
    for acl in &policy.acls {
        let protos = acl
            .proto
            .as_ref()
            .map(|p| wire_protos(p.value.trim()))
            .unwrap_or_default();
        let dsts: Vec<(&str, Vec<PortRange>)> = acl
            .dst
            .iter()
            .filter_map(|d| {
                let (alias, ports) = split_acl_dst(d.value.trim())?;
                Some((alias, parse_ports(ports).ok()?))
            })
            .collect();
        let is_self = |a: &str| a == "autogroup:self";
        let any_plain = dsts.iter().any(|(a, _)| !a.starts_with("autogroup:"));
        let ordered: Vec<&(&str, Vec<PortRange>)> = if any_plain {
            dsts.iter()
                .filter(|(a, _)| !is_self(a))
                .chain(dsts.iter().filter(|(a, _)| is_self(a)))
                .collect()
        } else {
            dsts.iter().collect()
        };
        for (alias, ports) in ordered {
            out.push(Unit {
                origin: acl.span,
                src: acl.src.iter().map(|s| s.value.trim()).collect(),
                dst: vec![alias],
                ip: vec![IpCap {
                    protos: protos.clone(),
                    ports: ports.clone(),
                }],
                app: Vec::new(),
                via: Vec::new(),
            });
        }
    }
    out
}
