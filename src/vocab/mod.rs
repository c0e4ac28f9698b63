//! Tailscale's vocabulary: the capability names, node attributes and IP protocols that the
//! control plane and the clients give a meaning to, each with where Tailscale defines it.
//!
//! This module is at the bottom of the pipeline with [`crate::codes`]: it imports nothing from
//! the crate, and every stage (check, lint, compile, the table, explain, diff, the relay)
//! names these words through it, so that one spelling and one list serve them all.

pub mod descriptions;

/// The peer-relay capability: a grant of it from `src` to `dst` lets `src` allocate on the
/// relays in `dst` (SPEC section 4; tailscale/tailscale tailcfg/peercap/peercap.go, `Relay`).
pub const RELAY_CAP: &str = "tailscale.com/cap/relay";
/// The companion of [`RELAY_CAP`] that the control plane adds in the reverse direction: the
/// peer that holds it is a relay this node may allocate on (peercap.go, `RelayTarget`).
pub(crate) const RELAY_TARGET_CAP: &str = "tailscale.com/cap/relay-target";
/// Taildrive: the grant's source may access the destination's shares (peercap.go,
/// `Taildrive`).
pub(crate) const DRIVE_CAP: &str = "tailscale.com/cap/drive";
/// The companion of [`DRIVE_CAP`] in the reverse direction: the peer that holds it may share
/// folders with this node (peercap.go, `TaildriveSharer`).
pub(crate) const DRIVE_SHARER_CAP: &str = "tailscale.com/cap/drive-sharer";
/// Funnel's capability name, which is not granted: Funnel is turned on by a node attribute.
pub(crate) const FUNNEL_CAP: &str = "tailscale.com/cap/funnel";
/// Ingress's capability name, which, like Funnel's, is not granted.
pub(crate) const INGRESS_CAP: &str = "tailscale.com/cap/ingress";

/// Companion capabilities: granting the first brings the second in the reverse direction.
pub(crate) const COMPANIONS: &[(&str, &str)] =
    &[(DRIVE_CAP, DRIVE_SHARER_CAP), (RELAY_CAP, RELAY_TARGET_CAP)];

/// Capabilities in the `tailscale.com` domain that Tailscale tells users to grant, each with
/// where Tailscale says so. The control plane accepts them; `TG1011` warns on other names in
/// the domain.
pub const GRANTABLE_TAILSCALE_CAPS: &[&str] = &[
    // Taildrive: tailscale/tailscale tailcfg/peercap/peercap.go (`Taildrive`) and the grant
    // example in cmd/tailscale/cli/drive.go; accepted in conformance grant-b3.
    DRIVE_CAP,
    // Peer relays: peercap.go (`Relay`); accepted in conformance grant-k11.
    RELAY_CAP,
    // The device web UI: peercap.go (`WebUI`); accepted in conformance grant-a3.
    "tailscale.com/cap/webui",
    // The Kubernetes operator: peercap.go (`Kubernetes`) and cmd/k8s-operator/e2e/acl.hujson;
    // accepted in conformance grant-b2.
    "tailscale.com/cap/kubernetes",
    // tsidp, the OIDC provider: peercap.go (`TsIDP`).
    "tailscale.com/cap/tsidp",
    // setec, the secrets server: tailscale/setec docs/server.md and server/server.go.
    "tailscale.com/cap/secrets",
    // golink: tailscale/golink README.md ("grant them admin access") and golink.go.
    "tailscale.com/cap/golink",
    // tailsql: tailscale/tailsql authorizer/aclgrant.go (`tailsqlCap`).
    "tailscale.com/cap/tailsql",
    // proxy-to-grafana: tailscale/tailscale cmd/proxy-to-grafana/proxy-to-grafana.go (the
    // grants example in its package doc).
    "tailscale.com/cap/proxy-to-grafana",
];

/// Names in the `tailscale.com` domain that the control plane rejects with "capability name
/// must not be in the tailscale.com domain" (conformance grant-k9, grant-k10, grant-a5).
pub const REJECTED_TAILSCALE_CAPS: &[&str] = &[INGRESS_CAP, FUNNEL_CAP, RELAY_TARGET_CAP];

/// What is known of a capability name in the `tailscale.com` domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TailscaleCap {
    /// Tailscale tells users to grant it.
    Grantable,
    /// The control plane rejects it.
    Rejected,
    /// Neither is known.
    Unknown,
}

/// Classifies `name` when it is in the `tailscale.com` domain.
pub(crate) fn tailscale_cap(name: &str) -> Option<TailscaleCap> {
    if !name.starts_with("tailscale.com/") {
        None
    } else if GRANTABLE_TAILSCALE_CAPS.contains(&name) {
        Some(TailscaleCap::Grantable)
    } else if REJECTED_TAILSCALE_CAPS.contains(&name) {
        Some(TailscaleCap::Rejected)
    } else {
        Some(TailscaleCap::Unknown)
    }
}

/// How to fix a capability name in the `tailscale.com` domain that is not grantable.
pub(crate) fn reserved_cap_help(name: &str) -> String {
    match name {
        RELAY_TARGET_CAP => "Tailscale adds relay-target itself, in the reverse direction of each `tailscale.com/cap/relay` grant: grant `tailscale.com/cap/relay` instead".to_string(),
        DRIVE_SHARER_CAP => "Tailscale adds drive-sharer itself for each `tailscale.com/cap/drive` grant: grant `tailscale.com/cap/drive` instead".to_string(),
        FUNNEL_CAP | INGRESS_CAP => "Funnel is turned on with the `funnel` node attribute (`nodeAttrs`), not granted".to_string(),
        _ => format!(
            "the tailscale.com capabilities a policy may grant are: {}",
            GRANTABLE_TAILSCALE_CAPS.join(", ")
        ),
    }
}

/// Autogroups that name users by their role.
pub(crate) const ROLE_AUTOGROUPS: &[&str] = &[
    "autogroup:admin",
    "autogroup:owner",
    "autogroup:it-admin",
    "autogroup:network-admin",
    "autogroup:billing-admin",
    "autogroup:auditor",
];

/// Every autogroup Tailscale defines (Tailscale's "Targets and selectors" page,
/// kb/1396/targets), for the "did you mean" of an unknown one.
pub(crate) const KNOWN_AUTOGROUPS: &[&str] = &[
    "autogroup:member",
    "autogroup:tagged",
    "autogroup:self",
    "autogroup:internet",
    "autogroup:danger-all",
    "autogroup:shared",
    "autogroup:nonroot",
    "autogroup:admin",
    "autogroup:owner",
    "autogroup:it-admin",
    "autogroup:network-admin",
    "autogroup:billing-admin",
    "autogroup:auditor",
];

/// The node attribute that turns a node's peer-relay server off.
pub(crate) const DISABLE_RELAY_SERVER: &str = "disable-relay-server";
/// The node attribute that stops a client from using peer relays.
pub(crate) const DISABLE_RELAY_CLIENT: &str = "disable-relay-client";
/// The node attribute that restricts a client to TCP port 443, which rules out UDP relays.
pub(crate) const ONLY_TCP_443: &str = "only-tcp-443";
/// The node attribute that lets a node serve Funnel.
pub(crate) const FUNNEL_ATTR: &str = "funnel";

/// IANA protocol number of ICMP.
pub(crate) const ICMP: u8 = 1;
/// IANA protocol number of TCP.
pub(crate) const TCP: u8 = 6;
/// IANA protocol number of UDP.
pub(crate) const UDP: u8 = 17;
/// IANA protocol number of ICMPv6.
pub(crate) const ICMPV6: u8 = 58;
/// IANA protocol number of SCTP.
pub(crate) const SCTP: u8 = 132;

/// The protocols of a rule that names none: TCP, UDP, ICMP and ICMPv6 (tailscale/tailscale
/// tailcfg.FilterRule `IPProto`: "If empty, TCP, UDP, and ICMP are allowed").
pub(crate) const DEFAULT_PROTOCOLS: [u8; 4] = [TCP, UDP, ICMP, ICMPV6];

/// IP protocol numbers by name, as Tailscale spells them.
pub(crate) const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipv4", 4),
    ("ip-in-ip", 4),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-icmp", 58),
    ("sctp", 132),
    ("fc", 133),
];

/// Protocols that carry ports.
pub(crate) const fn has_ports(proto: u8) -> bool {
    matches!(proto, TCP | UDP | SCTP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_companion_comes_with_a_grantable_capability_and_is_not_grantable_itself() {
        for (cap, companion) in COMPANIONS {
            assert_eq!(tailscale_cap(cap), Some(TailscaleCap::Grantable), "{cap}");
            assert_ne!(
                tailscale_cap(companion),
                Some(TailscaleCap::Grantable),
                "{companion}"
            );
        }
    }

    #[test]
    fn only_tcp_udp_and_sctp_carry_ports() {
        let with_ports: Vec<u8> = (0..=255).filter(|&p| has_ports(p)).collect();
        assert_eq!(with_ports, [TCP, UDP, SCTP]);
        assert!(DEFAULT_PROTOCOLS
            .iter()
            .all(|p| PROTOCOLS.iter().any(|(_, n)| n == p)));
    }
}
