//! Tailscale's wire form of packet filters (`tailcfg.FilterRule`) and of the compiled
//! output, serialized exactly as the control plane writes them.

use crate::span::Span;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// A capability map: capability name to its values (`null` for companion capabilities).
pub type CapMap = BTreeMap<String, serde_json::Value>;

/// A port range on the wire: `{"First": n, "Last": m}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ports {
    /// First port.
    #[serde(rename = "First")]
    pub(crate) first: u16,
    /// Last port (inclusive).
    #[serde(rename = "Last")]
    pub(crate) last: u16,
}

/// One destination of a rule: an address (`*`, an IP or a CIDR) and a port range.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetPortRange {
    /// `*`, a bare IP, or a CIDR.
    #[serde(rename = "IP")]
    pub(crate) ip: String,
    /// The ports.
    #[serde(rename = "Ports")]
    pub(crate) ports: Ports,
}

/// An application capability granted towards some destinations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapGrant {
    /// Destination prefixes (CIDRs, `/32` and `/128` for single nodes).
    #[serde(rename = "Dsts")]
    pub(crate) dsts: Vec<String>,
    /// The capabilities and their values.
    #[serde(rename = "CapMap")]
    pub(crate) cap_map: CapMap,
}

/// A `tailcfg.FilterRule`: sources, and either network destinations or capability grants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterRule {
    /// Source addresses: IPs, CIDRs, `first-last` ranges, or `*`.
    #[serde(rename = "SrcIPs", default)]
    pub(crate) src_ips: Vec<String>,
    /// Network destinations.
    #[serde(rename = "DstPorts", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) dst_ports: Vec<NetPortRange>,
    /// IP protocol numbers; absent means TCP, UDP, ICMP and ICMPv6.
    #[serde(rename = "IPProto", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) ip_proto: Vec<u8>,
    /// Capability grants.
    #[serde(rename = "CapGrant", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) cap_grant: Vec<CapGrant>,
}

/// What one node receives: its packet filter, what each peer address may do towards it, and
/// where each rule came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeOutput {
    /// The filter rules pushed to the node, in order.
    pub packet_filter_rules: Vec<FilterRule>,
    /// For each peer address, the capabilities that peer has towards this node (`null` when
    /// it is a peer without capabilities).
    #[serde(serialize_with = "capmaps_with_null")]
    pub whois_capmap: BTreeMap<String, CapMap>,
    /// The SSH rules pushed to the node, in order (absent when there are none, as in the
    /// captures).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_rules: Vec<SshRule>,
    /// For each rule of `packet_filter_rules`, the spans of the grants and ACL entries that
    /// produced it.
    #[serde(skip)]
    pub origins: Vec<Vec<Span>>,
}

/// Who an SSH rule applies to: one source node address (`tailcfg.SSHPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SshPrincipal {
    /// A Tailscale address of the source node.
    #[serde(rename = "nodeIP")]
    pub(crate) node_ip: String,
}

/// What an SSH rule does (`tailcfg.SSHAction`); false and empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshAction {
    /// Let the session in.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) accept: bool,
    /// Allow SSH agent forwarding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) allow_agent_forwarding: bool,
    /// Allow local port forwarding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) allow_local_port_forwarding: bool,
    /// Allow remote port forwarding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) allow_remote_port_forwarding: bool,
    /// For `check`: the URL the client asks before letting the session in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) hold_and_delegate: String,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
const fn is_false(b: &bool) -> bool {
    !*b
}

/// One SSH rule pushed to a node (`tailcfg.SSHRule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshRule {
    /// The source node addresses it applies to.
    pub(crate) principals: Vec<SshPrincipal>,
    /// Requested login user to local user: `=` keeps the requested name, an empty value
    /// denies it; `*` matches any user.
    #[serde(rename = "sshUsers")]
    pub(crate) ssh_users: BTreeMap<String, String>,
    /// What to do.
    pub(crate) action: SshAction,
    /// Environment variables the client may send (patterns with `*` and `?`).
    #[serde(rename = "acceptEnv", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) accept_env: Vec<String>,
}

/// A compiled policy: per node, by name, what the control plane would push to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compiled {
    /// Nodes by name.
    pub nodes: BTreeMap<String, NodeOutput>,
}

fn capmaps_with_null<S: Serializer>(
    map: &BTreeMap<String, CapMap>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        if v.is_empty() {
            m.serialize_entry(k, &serde_json::Value::Null)?;
        } else {
            m.serialize_entry(k, v)?;
        }
    }
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_serialize_in_the_wire_form() {
        let r = FilterRule {
            src_ips: vec!["100.64.0.1".into()],
            dst_ports: vec![NetPortRange {
                ip: "*".into(),
                ports: Ports {
                    first: 0,
                    last: 65535,
                },
            }],
            ..FilterRule::default()
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"SrcIPs":["100.64.0.1"],"DstPorts":[{"IP":"*","Ports":{"First":0,"Last":65535}}]}"#
        );
        let mut out = NodeOutput::default();
        out.whois_capmap.insert("100.64.0.2".into(), CapMap::new());
        let json = serde_json::to_string(&out).unwrap();
        assert!(
            json.contains(r#""whois_capmap":{"100.64.0.2":null}"#),
            "{json}"
        );
    }
}
