//! Grants and ACL entries as one list of uniform units, in the order the control plane
//! compiles them: every grant first, then every ACL entry split per destination.

use crate::model::policy::Policy;
use crate::model::selector::{IpEntry, PortRange, Proto};
use crate::span::Span;
use crate::vocab::{ICMP, ICMPV6};
use serde_json::Value;

/// One network capability of a unit: protocols (empty: the default set) and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpCap {
    /// Protocol numbers as written on the wire (`IPProto`); empty means the default set.
    pub protos: Vec<u8>,
    /// Port ranges.
    pub ports: Vec<PortRange>,
}

/// A grant, or one destination of an ACL entry, ready to compile.
#[derive(Debug, Clone)]
pub struct Unit<'p> {
    /// The grant or ACL entry it comes from.
    pub origin: Span,
    /// Source selectors.
    pub src: Vec<&'p str>,
    /// Destination selectors.
    pub dst: Vec<&'p str>,
    /// Network capabilities.
    pub ip: Vec<IpCap>,
    /// Application capabilities with their values, in file order.
    pub app: Vec<(&'p str, Vec<Value>)>,
    /// Router tags the traffic goes through.
    pub via: Vec<&'p str>,
}

impl Unit<'_> {
    /// True when the unit grants application capabilities.
    pub fn has_app(&self) -> bool {
        !self.app.is_empty()
    }
}

/// Protocols as Tailscale writes them in `IPProto`: `icmp` (ICMP and ICMPv6 in the policy's
/// meaning) is ICMP alone.
pub fn wire_protos(protos: &[u8]) -> Vec<u8> {
    if protos == [ICMP, ICMPV6] {
        vec![ICMP]
    } else {
        protos.to_vec()
    }
}

/// A protocol field as written on the wire; an unknown protocol (reported by the checker)
/// is the default set.
fn proto_on_wire(proto: &Proto) -> Vec<u8> {
    proto.protos().map(wire_protos).unwrap_or_default()
}

fn grant_ip(entry: &IpEntry) -> Option<IpCap> {
    let spec = entry.spec().ok()?;
    Some(IpCap {
        protos: wire_protos(&spec.protos),
        ports: spec.ports.clone(),
    })
}

/// The units of a policy, in compile order. A policy without `grants` and `acls` keys
/// allows everything, as Tailscale's default policy does.
pub fn units(policy: &Policy) -> Vec<Unit<'_>> {
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
            .map(|p| proto_on_wire(p))
            .unwrap_or_default();
        let dsts: Vec<(&str, Vec<PortRange>)> = acl
            .dst
            .iter()
            .filter_map(|d| {
                let (alias, ports) = d.valid()?;
                Some((alias.as_str(), ports.to_vec()))
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
