//! Where Headscale compiles a policy differently from Tailscale's control plane. Each rule
//! cites the function of juanfont/headscale it is read from. The rest is compiled alike, as
//! read in `hscontrol/policy/v2/compiled.go` and `filter.go`: rules with the same sources and
//! protocols merge at the first one, capability rules never (`mergeFilterRules`);
//! `autogroup:self` gives each untagged node the rules from its own user's devices
//! (`compileAutogroupSelf`); a user's selector leaves tagged nodes out
//! (`types.go`, `Username.resolve`); a node serves its approved subnet routes, exit routes
//! apart (`types/node.go`, `Node.SubnetRoutes`); `autogroup:danger-all` sources are `*`
//! (`srcIPsWithRoutes`); an empty `proto` writes no `IPProto` (`Protocol.toIANAProtocolNumbers`);
//! the relay and Taildrive capabilities bring their companions, reversed, from the
//! destinations towards the sources (`companionCapGrantRules`). The Headscale cases of the
//! conformance report measure it.

use super::wire::CapMap;
use crate::engine::resolve::{headscale_internet_addrs, is_exit_node, AddrSet, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::{Node, Tailnet};
use serde_json::Value;
use std::collections::BTreeMap;

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

/// True when a destination stays in an exit node's filter although it is
/// neither one of the node's addresses nor in one of its approved subnet routes: Headscale
/// keeps, on a node with an approved exit route, every destination inside the internet, so
/// that its filter admits the traffic `autogroup:internet` sources send through it
/// (`hscontrol/policy/policyutil/reduce.go`, `ReduceFilterRules`). Tailscale's control plane
/// does not push these. The compiler follows this rule; the decision table does not yet (it
/// answers for node addresses and subnet routes only).
pub(crate) fn kept_on_exit_node(node: &Node, dest: &AddrSet) -> bool {
    is_exit_node(node)
        && !dest.is_empty()
        && dest
            .prefixes()
            .iter()
            .all(|n| headscale_internet_addrs().contains_net(n))
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

#[cfg(test)]
mod tests {
    use crate::engine::compile::{compile, node_capmaps, Compiled, FilterRule};
    use crate::model::tailnet::Tailnet;
    use crate::model::Dialect;
    use crate::validate::{check_text, Options};
    use serde_json::Value;

    fn tailnet() -> Tailnet {
        Tailnet::from_text(
            r#"{"tailnet": "alice@example.com",
                "users": [{"id": 1, "name": "alice", "email": "alice@example.com"},
                          {"id": 2, "name": "bob", "email": "bob@example.com"}],
                "nodes": {
                  "laptop": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "alice"},
                  "phone": {"ipv4": "100.64.0.2", "ipv6": "fd7a:115c:a1e0::2", "user": "bob"},
                  "relay": {"ipv4": "100.64.0.20", "ipv6": "fd7a:115c:a1e0::14", "tags": ["tag:relay"]},
                  "exit": {"ipv4": "100.64.0.30", "ipv6": "fd7a:115c:a1e0::1e", "tags": ["tag:exit"],
                           "routable_ips": ["10.1.0.0/16", "0.0.0.0/0", "::/0"],
                           "approved_routes": ["10.1.0.0/16", "0.0.0.0/0", "::/0"]}}}"#,
        )
        .unwrap()
    }

    /// The policy compiled under `dialect`.
    fn compiled(policy: &str, dialect: Dialect) -> Compiled {
        let tailnet = tailnet();
        let options = Options {
            tailnet: Some(&tailnet),
            dialect,
        };
        let valid = check_text(policy, &options).into_validated().unwrap();
        assert_eq!(valid.dialect(), dialect);
        compile(&valid, &tailnet)
    }

    fn filter<'c>(c: &'c Compiled, node: &str) -> &'c [FilterRule] {
        &c.nodes[node].packet_filter_rules
    }

    fn dst_ips(rules: &[FilterRule]) -> Vec<&str> {
        rules
            .iter()
            .flat_map(|r| r.dst_ports.iter().map(|d| d.ip.as_str()))
            .collect()
    }

    const TAGS: &str =
        r#""tagOwners": {"tag:relay": ["alice@example.com"], "tag:exit": ["alice@example.com"]}"#;

    #[test]
    fn without_acls_and_grants_headscale_allows_every_address_tailscale_the_tailnet() {
        let policy = format!("{{{TAGS}}}");
        let hs = compiled(&policy, Dialect::Headscale);
        let ts = compiled(&policy, Dialect::Tailscale);
        for node in ["laptop", "relay", "exit"] {
            let rules = filter(&hs, node);
            assert_eq!(rules.len(), 1, "{node}: {rules:?}");
            assert_eq!(rules[0].src_ips, ["*"]);
            assert_eq!(dst_ips(rules), ["*"]);
            assert_eq!(
                (
                    rules[0].dst_ports[0].ports.first,
                    rules[0].dst_ports[0].ports.last
                ),
                (0, 65535)
            );
            let ts_rules = filter(&ts, node);
            assert_eq!(ts_rules.len(), 1);
            assert!(
                !ts_rules[0].src_ips.contains(&"*".to_string()),
                "{ts_rules:?}"
            );
            assert!(
                ts_rules[0].src_ips.iter().any(|s| s.starts_with("100.")),
                "{ts_rules:?}"
            );
        }
    }

    #[test]
    fn an_empty_acls_list_denies_all_in_both_dialects() {
        let policy = format!(r#"{{{TAGS}, "acls": []}}"#);
        for dialect in [Dialect::Headscale, Dialect::Tailscale] {
            let c = compiled(&policy, dialect);
            assert!(
                c.nodes.values().all(|n| n.packet_filter_rules.is_empty()),
                "{dialect}"
            );
        }
    }

    #[test]
    fn headscale_keeps_internet_destinations_on_exit_nodes_and_tailscale_does_not() {
        let policy = format!(
            r#"{{{TAGS}, "acls": [{{"action": "accept", "src": ["alice@example.com"],
                 "dst": ["8.8.8.0/24:53", "192.168.1.0/24:*", "10.1.2.0/24:22"]}}]}}"#
        );
        let hs = compiled(&policy, Dialect::Headscale);
        let ts = compiled(&policy, Dialect::Tailscale);
        // The subnet route is served in both; the public prefix only under Headscale; the
        // private one neither (not the internet, not a route of the node).
        assert_eq!(dst_ips(filter(&hs, "exit")), ["8.8.8.0/24", "10.1.2.0/24"]);
        assert_eq!(dst_ips(filter(&ts, "exit")), ["10.1.2.0/24"]);
        // A node without an exit route gets none of them.
        assert!(filter(&hs, "relay").is_empty());
    }

    #[test]
    fn danger_all_sources_are_every_address_in_both_dialects() {
        let policy = format!(
            r#"{{{TAGS}, "grants": [{{"src": ["autogroup:danger-all"], "dst": ["tag:relay"], "ip": ["tcp:443"]}}]}}"#
        );
        for dialect in [Dialect::Headscale, Dialect::Tailscale] {
            let c = compiled(&policy, dialect);
            let rules = filter(&c, "relay");
            assert_eq!(rules.len(), 1, "{dialect}");
            assert_eq!(rules[0].src_ips, ["*"], "{dialect}");
            assert_eq!(rules[0].ip_proto, [6], "{dialect}");
        }
    }

    #[test]
    fn a_relay_grant_pushes_the_relay_cap_and_the_reversed_companion_in_both_dialects() {
        let policy = format!(
            r#"{{{TAGS}, "grants": [{{"src": ["alice@example.com"], "dst": ["tag:relay"],
                 "app": {{"tailscale.com/cap/relay": []}}}}]}}"#
        );
        let outputs: Vec<Compiled> = [Dialect::Headscale, Dialect::Tailscale]
            .into_iter()
            .map(|d| compiled(&policy, d))
            .collect();
        for c in &outputs {
            // The relay admits the client with the relay capability...
            let relay = filter(c, "relay");
            assert_eq!(relay.len(), 1, "{relay:?}");
            assert_eq!(relay[0].src_ips, ["100.64.0.1", "fd7a:115c:a1e0::1"]);
            assert!(relay[0].cap_grant[0]
                .cap_map
                .contains_key("tailscale.com/cap/relay"));
            // ...and the client gets the companion from the relay's addresses, towards itself.
            let laptop = filter(c, "laptop");
            assert_eq!(laptop.len(), 1, "{laptop:?}");
            assert_eq!(laptop[0].src_ips, ["100.64.0.20", "fd7a:115c:a1e0::14"]);
            let grant = &laptop[0].cap_grant[0];
            assert_eq!(grant.dsts, ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
            assert_eq!(
                grant.cap_map.get("tailscale.com/cap/relay-target"),
                Some(&Value::Null)
            );
        }
        assert_eq!(outputs[0], outputs[1]);
    }

    #[test]
    fn node_attrs_give_each_targeted_node_its_attributes_with_null_values() {
        let tailnet = tailnet();
        let policy = format!(
            r#"{{{TAGS}, "randomizeClientPort": true, "nodeAttrs": [
                 {{"target": ["tag:relay"], "attr": ["drive:share", "drive:access"]}},
                 {{"target": ["*"], "attr": ["drive:access"]}},
                 {{"target": ["bob@example.com"], "attr": []}}]}}"#
        );
        let options = Options {
            tailnet: Some(&tailnet),
            dialect: Dialect::Headscale,
        };
        let valid = check_text(&policy, &options).into_validated().unwrap();
        let caps = node_capmaps(&valid, &tailnet);
        let names = |node: &str| -> Vec<&str> { caps[node].keys().map(String::as_str).collect() };
        assert_eq!(
            names("relay"),
            ["drive:access", "drive:share", "randomize-client-port"]
        );
        assert_eq!(names("phone"), ["drive:access", "randomize-client-port"]);
        assert!(caps.values().flat_map(|m| m.values()).all(Value::is_null));
        let without = check_text(r#"{"nodeAttrs": [{"target": ["tag:relay"], "attr": ["drive:share"]}], "tagOwners": {"tag:relay": []}}"#, &options)
            .into_validated()
            .unwrap();
        let caps = node_capmaps(&without, &tailnet);
        assert_eq!(caps.keys().collect::<Vec<_>>(), ["relay"]);
    }

    #[test]
    fn autogroup_internet_is_headscales_internet_and_reaches_its_exit_nodes() {
        let policy = format!(
            r#"{{{TAGS}, "grants": [{{"src": ["alice@example.com"], "dst": ["autogroup:internet"], "ip": ["tcp:443"]}}]}}"#
        );
        let hs = compiled(&policy, Dialect::Headscale);
        let covers = |rules: &[FilterRule], ip: &str| {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            rules
                .iter()
                .flat_map(|r| &r.dst_ports)
                .any(|d| d.ip.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip)))
        };
        let exit = filter(&hs, "exit");
        // Headscale's internet keeps loopback and multicast, leaves out private ranges.
        for public in ["8.8.8.8", "127.0.0.1", "224.0.0.1", "2001:db8::1"] {
            assert!(covers(exit, public), "{public}: {exit:?}");
        }
        for private in ["10.0.0.1", "192.168.1.1", "100.64.0.1", "fd7a:115c:a1e0::1"] {
            assert!(!covers(exit, private), "{private}: {exit:?}");
        }
        assert!(filter(&hs, "relay").is_empty());
        // Tailscale's control plane pushes these destinations to no node.
        let ts = compiled(&policy, Dialect::Tailscale);
        assert!(filter(&ts, "exit").is_empty());
    }

    #[test]
    fn the_global_filter_merges_rules_with_the_same_sources_and_protocols() {
        let tailnet = tailnet();
        let options = Options {
            tailnet: Some(&tailnet),
            dialect: Dialect::Headscale,
        };
        let policy = format!(
            r#"{{{TAGS}, "acls": [
                {{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:relay:22", "tag:exit:80"]}},
                {{"action": "accept", "src": ["alice@example.com"], "proto": "udp", "dst": ["tag:relay:53"]}},
                {{"action": "accept", "src": ["alice@example.com"], "dst": ["autogroup:self:*"]}}]}}"#
        );
        let valid = check_text(&policy, &options).into_validated().unwrap();
        let global = crate::engine::compile::global_filter(&valid, &tailnet);
        // One TCP/UDP/ICMP rule with both destinations, one UDP rule; the self rule is per node.
        assert_eq!(global.len(), 2, "{global:?}");
        assert_eq!(
            dst_ips(&global[..1]),
            [
                "100.64.0.20",
                "fd7a:115c:a1e0::14",
                "100.64.0.30",
                "fd7a:115c:a1e0::1e"
            ]
        );
        assert_eq!(global[1].ip_proto, [17]);
    }
}
