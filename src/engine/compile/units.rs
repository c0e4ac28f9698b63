//! Grants and ACL entries as one list of uniform units, in the order the control plane
//! compiles them: every grant first, then every ACL entry split per destination.

use crate::model::policy::Policy;
use crate::model::selector::{Alias, IpEntry, PortRange, Proto, Selector};
use crate::model::Dialect;
use crate::span::Span;
use crate::vocab::{ICMP, ICMPV6};
use serde_json::Value;
use std::sync::LazyLock;

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
    pub(crate) src: Vec<&'p Selector>,
    /// Destination selectors.
    pub(crate) dst: Vec<&'p Selector>,
    /// Network capabilities.
    pub(crate) ip: Vec<IpCap>,
    /// Application capabilities with their values, in file order.
    pub(crate) app: Vec<(&'p str, Vec<Value>)>,
    /// Router tags the traffic goes through.
    pub(crate) via: Vec<&'p Selector>,
}

impl Unit<'_> {
    /// True when the unit grants application capabilities.
    pub(crate) fn has_app(&self) -> bool {
        !self.app.is_empty()
    }

    /// True when the unit's destinations hold the selector `text` (written without
    /// surrounding whitespace).
    pub(crate) fn has_dst(&self, text: &str) -> bool {
        holds(&self.dst, text)
    }

    /// True when the unit's sources hold the selector `text`.
    pub(crate) fn has_src(&self, text: &str) -> bool {
        holds(&self.src, text)
    }

    /// True when a node with `tags` is one of the routers the unit goes through.
    pub(crate) fn via_holds_any(&self, tags: &[String]) -> bool {
        self.via
            .iter()
            .any(|v| tags.iter().any(|t| t == v.trimmed()))
    }
}

/// True when `list` holds the selector `text`.
pub(crate) fn holds(list: &[&Selector], text: &str) -> bool {
    list.iter().any(|s| s.trimmed() == text)
}

/// `*`, the source and destination of the policy that allows everything.
static WILDCARD: LazyLock<Selector> = LazyLock::new(|| Selector::new("*"));

/// The source of Headscale's policy that allows everything.
static HEADSCALE_DEFAULT_SRC: LazyLock<Selector> =
    LazyLock::new(|| Selector::new(super::headscale::DEFAULT_SRC));

/// Protocols as Tailscale writes them in `IPProto`: `icmp` (ICMP and ICMPv6 in the policy's
/// meaning) is ICMP alone.
pub(crate) fn wire_protos(protos: &[u8]) -> Vec<u8> {
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

/// The units of a policy, in compile order under `dialect`'s rules. A policy without
/// `grants` and `acls` keys allows everything, as Tailscale's default policy does (from the
/// tailnet's addresses; from every address under Headscale).
pub(crate) fn units(policy: &Policy, dialect: Dialect) -> Vec<Unit<'_>> {
    let mut out = Vec::new();
    let written = |k: &str| policy.sections.iter().any(|s| s.value == k);
    if !written("grants") && !written("acls") {
        let src: &Selector = match dialect {
            Dialect::Tailscale => &WILDCARD,
            Dialect::Headscale => &HEADSCALE_DEFAULT_SRC,
        };
        out.push(Unit {
            origin: Span::default(),
            src: vec![src],
            dst: vec![&*WILDCARD],
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
            src: g.src.iter().map(|s| &s.value).collect(),
            dst: g.dst.iter().map(|s| &s.value).collect(),
            ip: g.ip.iter().filter_map(|s| grant_ip(s)).collect(),
            app: g
                .app
                .iter()
                .map(|(k, v)| (k.value.as_str(), v.clone()))
                .collect(),
            via: g.via.iter().map(|s| &s.value).collect(),
        });
    }
    for acl in &policy.acls {
        let protos = acl
            .proto
            .as_ref()
            .map(|p| proto_on_wire(p))
            .unwrap_or_default();
        let dsts: Vec<(&Selector, &[PortRange])> =
            acl.dst.iter().filter_map(|d| d.valid()).collect();
        let is_self = |a: &Selector| a.trimmed() == "autogroup:self";
        let any_plain = dsts
            .iter()
            .any(|(a, _)| !matches!(a.alias(), Alias::Autogroup(_)));
        let ordered: Vec<&(&Selector, &[PortRange])> = if any_plain {
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
                src: acl.src.iter().map(|s| &s.value).collect(),
                dst: vec![*alias],
                ip: vec![IpCap {
                    protos: protos.clone(),
                    ports: ports.to_vec(),
                }],
                app: Vec::new(),
                via: Vec::new(),
            });
        }
    }
    out
}
