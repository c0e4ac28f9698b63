//! What the names of Tailscale's vocabulary mean, for the language server's hover and
//! completion and for any other reader: capability names, node attributes, autogroups and
//! where each autogroup may stand.
//!
//! The descriptions follow the doc comments of Tailscale's own constants:
//! `tailcfg/peercap/peercap.go` (capabilities granted to peers) and
//! `tailcfg/nodecap/nodecap.go` (node attributes) in tailscale/tailscale, and the
//! "Targets and selectors" and "Peer relays" pages for the autogroups and relay attributes.

// Read by the language server; a build without it keeps the vocabulary.
#![cfg_attr(not(feature = "lsp"), allow(dead_code))]

/// Capabilities a grant's `app` may give, with what each lets the source do.
pub(crate) const CAPABILITIES: &[(&str, &str)] = &[
    ("tailscale.com/cap/drive", "access to the destination's Taildrive shares; each value names the shares (`shares`) and the access (`access`: `ro` or `rw`)"),
    ("tailscale.com/cap/relay", "allocating peer-relay endpoints on the destination, a node that serves as a peer relay"),
    ("tailscale.com/cap/webui", "editing the destination's features from its device web UI"),
    ("tailscale.com/cap/kubernetes", "Kubernetes capabilities read by the Tailscale Kubernetes operator on the destination, such as impersonating Kubernetes groups"),
    ("tailscale.com/cap/tsidp", "tsidp capabilities on the destination (the OIDC provider), such as adding groups to the OIDC claims"),
    ("tailscale.com/cap/secrets", "reading or writing secrets on a setec secrets server"),
    ("tailscale.com/cap/golink", "administering a golink server (`{\"admin\": true}`)"),
    ("tailscale.com/cap/tailsql", "queries on a tailsql server, per data source"),
    ("tailscale.com/cap/proxy-to-grafana", "signing in to Grafana through proxy-to-grafana, with the role its value names"),
];

/// Node attributes (`nodeAttrs[].attr`), with what each does to the target nodes.
pub(crate) const NODE_ATTRIBUTES: &[(&str, &str)] = &[
    ("funnel", "lets the node serve to the public internet through Funnel"),
    ("disable-relay-server", "the node no longer serves as a peer relay"),
    ("disable-relay-client", "the node no longer uses peer relays"),
    ("only-tcp-443", "the node makes no outbound connection but TCP on port 443 (so all its traffic goes over DERP)"),
    ("drive:share", "the node may share folders through Taildrive"),
    ("drive:access", "the node may access Taildrive shares"),
    ("randomize-client-port", "the node's WireGuard socket binds to a random port instead of the configured one"),
    ("mullvad", "the node may use Mullvad exit nodes"),
    ("suggest-exit-node", "marks the node as a recommended exit node"),
    ("auto-exit-node", "the node may pick an exit node automatically"),
    ("disable-web-client", "turns off the node's web client"),
    ("log-exit-flows", "exit-node destinations appear in the network flow logs"),
    ("ssh-aggregator", "the node may collect SSH sessions"),
    ("magicdns-aaaa", "MagicDNS answers AAAA queries for the node"),
    ("disable-captive-portal-detection", "the node stops probing for captive portals"),
    ("store-appc-routes", "the node stores app connector routes persistently"),
    ("probe-udp-lifetime", "the node probes the lifetime of UDP paths of its direct connections"),
    ("peer-mtu-enable", "the node does path MTU discovery to its peers"),
];

/// Autogroups, with what each names.
pub(crate) const AUTOGROUPS: &[(&str, &str)] = &[
    ("autogroup:member", "every user who is a direct member of the tailnet (not shared-in users), through their untagged devices"),
    ("autogroup:tagged", "every tagged device"),
    ("autogroup:self", "as a destination: the devices of the same user as the source (untagged devices only)"),
    ("autogroup:internet", "as a destination: the internet through exit nodes"),
    ("autogroup:danger-all", "every device, user and address, including shared-in users and the internet"),
    ("autogroup:shared", "users who accepted a device shared into the tailnet"),
    ("autogroup:nonroot", "as an SSH login user: any user but root"),
    ("autogroup:admin", "users with the Admin role"),
    ("autogroup:owner", "the tailnet's Owner"),
    ("autogroup:it-admin", "users with the IT admin role"),
    ("autogroup:network-admin", "users with the Network admin role"),
    ("autogroup:billing-admin", "users with the Billing admin role"),
    ("autogroup:auditor", "users with the Auditor role"),
];

/// Where a selector stands, which decides the autogroups that may stand there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A rule's or test's source.
    Src,
    /// A grant's or test's destination.
    Dst,
    /// An SSH rule's source.
    SshSrc,
    /// An SSH rule's destination.
    SshDst,
    /// An SSH rule's login users.
    SshUser,
    /// A `nodeAttrs` target.
    Target,
    /// A tag owner or auto-approver.
    Owner,
}

/// The autogroups that may stand at `place` (Tailscale's "Targets and selectors" page).
pub(crate) fn autogroups_at(place: Place) -> Vec<&'static str> {
    let mut out: Vec<&str> = match place {
        Place::Src => vec![
            "autogroup:member",
            "autogroup:tagged",
            "autogroup:shared",
            "autogroup:danger-all",
        ],
        Place::Dst => vec![
            "autogroup:member",
            "autogroup:tagged",
            "autogroup:self",
            "autogroup:internet",
            "autogroup:danger-all",
        ],
        Place::SshSrc => vec!["autogroup:member", "autogroup:tagged"],
        Place::SshDst => vec!["autogroup:self", "autogroup:member", "autogroup:tagged"],
        Place::SshUser => return vec!["autogroup:nonroot"],
        Place::Target => vec!["autogroup:member", "autogroup:tagged"],
        Place::Owner => vec![],
    };
    if matches!(
        place,
        Place::Src | Place::SshSrc | Place::Target | Place::Owner
    ) {
        out.extend(super::ROLE_AUTOGROUPS);
    }
    out
}

/// What `name` means, when it is a word of Tailscale's vocabulary.
pub(crate) fn describe(name: &str) -> Option<&'static str> {
    CAPABILITIES
        .iter()
        .chain(NODE_ATTRIBUTES)
        .chain(AUTOGROUPS)
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grantable_capability_is_described() {
        for cap in crate::vocab::GRANTABLE_TAILSCALE_CAPS {
            assert!(describe(cap).is_some(), "{cap}");
        }
    }

    #[test]
    fn autogroup_self_is_offered_as_a_destination_only() {
        assert!(autogroups_at(Place::Dst).contains(&"autogroup:self"));
        assert!(!autogroups_at(Place::Src).contains(&"autogroup:self"));
        assert!(autogroups_at(Place::Src).contains(&"autogroup:admin"));
    }
}
