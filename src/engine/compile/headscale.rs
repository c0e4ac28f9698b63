//! Where Headscale compiles a policy differently from Tailscale's control plane. Each rule
//! cites the function of juanfont/headscale it is read from; everything else (merging of
//! rules with the same sources and protocols, `autogroup:self`, `via`, approved routes,
//! companion capabilities, `autogroup:danger-all` as `*`) is compiled alike, and the
//! Headscale cases of the conformance report measure it.

use super::wire::CapMap;
use crate::engine::resolve::{is_exit_node, AddrSet, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::{Node, Tailnet};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The node attribute that `"randomizeClientPort": true` gives every node
/// (`tailcfg.NodeAttrRandomizeClientPort`).
const RANDOMIZE_CLIENT_PORT: &str = "randomize-client-port";

/// The source selector of the rule that a policy without `acls` and `grants` compiles to.
/// Headscale pushes `tailcfg.FilterAllowAll` then, whose `SrcIPs` is `["*"]`
/// (`hscontrol/policy/v2/policy.go`, `PolicyManager.updateLocked`; `filter.go`,
/// `Policy.compileFilterRules`): every address, as `autogroup:danger-all` compiles to
/// (`compiled.go`, `srcIPsWithRoutes`), where Tailscale's default policy allows the
/// tailnet's own addresses. An empty `acls` list is not an absent one and denies all (the
/// test `TestPolicyManager/empty-acls-denies-all` in `policy_test.go`).
pub(crate) const DEFAULT_SRC: &str = "autogroup:danger-all";

/// Headscale's `util.TheInternet` (`hscontrol/util/net.go`): every IPv4 address and
/// `2000::/3`, without the private ranges, the Tailscale ranges and link-local ones. It
/// differs from Tailscale's `autogroup:internet` (which also leaves out `0.0.0.0/8`,
/// loopback and multicast).
static THE_INTERNET: LazyLock<AddrSet> = LazyLock::new(|| {
    let mut s = AddrSet::new();
    for (net, add) in [
        ("0.0.0.0/0", true),
        ("2000::/3", true),
        ("fc00::/7", false),
        ("10.0.0.0/8", false),
        ("172.16.0.0/12", false),
        ("192.168.0.0/16", false),
        ("fd7a:115c:a1e0::/48", false),
        ("100.64.0.0/10", false),
        ("fe80::/10", false),
        ("169.254.0.0/16", false),
    ] {
        if let Ok(net) = net.parse::<IpNet>() {
            if add {
                s.add_net(&net);
            } else {
                s.remove_net(&net);
            }
        }
    }
    s
});

/// True when a destination stays in an exit node's filter although it is
/// neither one of the node's addresses nor in one of its approved subnet routes: Headscale
/// keeps, on a node with an approved exit route, every destination inside the internet, so
/// that its filter admits the traffic `autogroup:internet` sources send through it
/// (`hscontrol/policy/policyutil/reduce.go`, `ReduceFilterRules`). Tailscale's control plane
/// does not push these.
pub(crate) fn kept_on_exit_node(node: &Node, dest: &AddrSet) -> bool {
    is_exit_node(node)
        && !dest.is_empty()
        && dest.prefixes().iter().all(|n| THE_INTERNET.contains_net(n))
}

/// The node capabilities that the policy's `nodeAttrs` (and `"randomizeClientPort": true`)
/// give each node, by node name, as Headscale compiles them
/// (`hscontrol/policy/v2/compiled.go`, `Policy.compileNodeAttrs`): a node gets an entry's
/// attributes when one of its addresses is in what the entry's targets resolve to; each
/// attribute once, with a `null` value; an entry without attributes gives nothing; nodes
/// given nothing are absent.
pub(crate) fn node_capmaps(policy: &Policy, tailnet: &Tailnet) -> BTreeMap<String, CapMap> {
    let r = Resolver::new(policy, tailnet);
    let mut out: BTreeMap<String, CapMap> = BTreeMap::new();
    let mut stamp = |name: &str, attr: &str| {
        out.entry(name.to_string())
            .or_default()
            .entry(attr.to_string())
            .or_insert(Value::Null);
    };
    let randomize = policy
        .switches
        .iter()
        .any(|(k, on)| *on && k.value == "randomizeClientPort");
    if randomize {
        for (name, _) in r.nodes() {
            stamp(name, RANDOMIZE_CLIENT_PORT);
        }
    }
    for na in &policy.node_attrs {
        if na.attr.is_empty() {
            continue;
        }
        let mut targets = AddrSet::new();
        for t in &na.target {
            targets.add_set(&r.resolve_selector(t));
        }
        for (id, (name, _)) in r.nodes().iter().enumerate() {
            if r.node_in(id, &targets) {
                for a in &na.attr {
                    stamp(name, &a.value);
                }
            }
        }
    }
    out
}
