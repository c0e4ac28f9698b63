//! The decision table against the reference evaluator, on generated policies, tailnets and
//! queries; plus the table's binary form on damaged input.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tailgrant::engine::reference::Reference;
use tailgrant::engine::table::{DecisionTable, Dest, Query, RelayReason, TableError};
use tailgrant::model::tailnet::Tailnet;
use tailgrant::validate::{validate_text, Options};
use tailgrant::vocab::RELAY_CAP;

const TAGS: &[&str] = &["tag:relay", "tag:ci", "tag:web"];
const USERS: &[&str] = &["odin@example.com", "thor@example.org"];
const SELECTORS: &[&str] = &[
    "*",
    "tag:relay",
    "tag:ci",
    "tag:web",
    "odin@example.com",
    "thor@example.org",
    "autogroup:member",
    "autogroup:tagged",
    "group:ops",
    "100.64.0.0/29",
    "10.1.0.0/16",
    "10.1.2.128/25",
    "192.168.0.0/16",
    "fd00:1::/80",
];
/// Approved subnet routes a node may serve.
const ROUTES: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "192.168.1.0/24",
    "fd00:1::/64",
    "100.64.0.0/30",
];
/// Destination addresses queried with [`Dest::Addr`]: inside routes, node
/// addresses, and outside everything.
const DST_ADDRS: &[&str] = &[
    "10.0.0.1",
    "10.1.2.3",
    "10.1.2.200",
    "10.1.9.9",
    "192.168.1.5",
    "fd00:1::5",
    "fd00:1::1:0:0:5",
    "100.64.0.2",
    "100.64.0.3",
    "8.8.8.8",
];
const VIAS: &[&str] = &["[]", "[]", r#"["tag:web"]"#];
const IPS: &[&str] = &["*", "tcp:22", "udp:53", "tcp:80-443", "icmp:*"];
const APPS: &[&str] = &[
    "",
    r#""app": {"tailscale.com/cap/relay": []},"#,
    r#""app": {"example.com/cap/x": [{"a": 1}]},"#,
];

type GenNode = (usize, Option<usize>, bool, Option<usize>);

/// The policy `text`, validated by the checker (without a tailnet, without lints).
fn validated(text: &str) -> tailgrant::model::Validated {
    validate_text(text, &Options::default())
        .into_validated()
        .unwrap()
}

fn tailnet(nodes: &[GenNode]) -> Tailnet {
    let mut ns = Vec::new();
    for (i, (tag, user, disabled, route)) in nodes.iter().enumerate() {
        let routes = match route {
            Some(r) => format!(r#"["{}"]"#, ROUTES[r % ROUTES.len()]),
            None => "[]".to_string(),
        };
        let owner = match user {
            Some(u) => format!(r#""user": "{}","#, ["odin", "thor"][*u % 2]),
            None => String::new(),
        };
        let tags = if user.is_some() {
            "[]".to_string()
        } else {
            format!(r#"["{}"]"#, TAGS[*tag % TAGS.len()])
        };
        let attrs = if *disabled {
            r#"["disable-relay-server"]"#
        } else {
            "[]"
        };
        ns.push(format!(
            r#""n{i}": {{"ipv4": "100.64.0.{}", "ipv6": "fd7a:115c:a1e0::{}", {owner} "tags": {tags}, "attributes": {attrs}, "routable_ips": {routes}, "approved_routes": {routes}}}"#,
            i + 1,
            i + 1
        ));
    }
    let text = format!(
        r#"{{"tailnet": "odin@example.com", "users": [{{"name": "odin", "email": "odin@example.com"}}, {{"name": "thor", "email": "thor@example.org"}}], "nodes": {{{}}}}}"#,
        ns.join(",")
    );
    Tailnet::from_text(&text).unwrap()
}

type GenGrant = ((usize, usize), (usize, usize), usize);

fn policy_text(grants: &[GenGrant], disable: Option<usize>) -> String {
    let gs: Vec<String> = grants
        .iter()
        .map(|((s, d), (ip, app), via)| {
            let ip_part = if *app == 0 || ip % 2 == 0 {
                format!(r#""ip": ["{}"],"#, IPS[ip % IPS.len()])
            } else {
                String::new()
            };
            format!(
                r#"{{"src": ["{}"], "dst": ["{}"], {} {} "via": {}}}"#,
                SELECTORS[s % SELECTORS.len()],
                SELECTORS[d % SELECTORS.len()],
                ip_part,
                APPS[app % APPS.len()],
                VIAS[via % VIAS.len()]
            )
        })
        .collect();
    let attrs = match disable {
        Some(t) => format!(
            r#""nodeAttrs": [{{"target": ["{}"], "attr": ["disable-relay-server"]}}],"#,
            TAGS[t % TAGS.len()]
        ),
        None => String::new(),
    };
    format!(
        r#"{{"grants": [{}], {attrs} "groups": {{"group:ops": ["{}"]}},
            "tagOwners": {{"tag:relay": [], "tag:ci": [], "tag:web": []}}}}"#,
        gs.join(","),
        USERS[0]
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn table_agrees_with_the_reference(
        nodes in prop::collection::vec((0usize..3, prop::option::of(0usize..2), prop::bool::weighted(0.1), prop::option::weighted(0.4, 0usize..6)), 1..7),
        grants in prop::collection::vec(((0usize..14, 0usize..14), (0usize..5, 0usize..3), 0usize..3), 0..6),
        disable in prop::option::of(0usize..3),
        ports in prop::collection::vec(0u16..500, 1..4),
    ) {
        let t = tailnet(&nodes);
        let text = policy_text(&grants, disable);
        let policy = validated(&text);
        let table = DecisionTable::build(&policy, &t);
        let reference = Reference::new(&policy, &t);
        let table = DecisionTable::from_bytes(&table.to_bytes()).unwrap();
        for (src_name, src) in &t.nodes {
            for dst_name in t.nodes.keys() {
                let dst = table.node(dst_name).unwrap();
                let req = table.node(src_name).unwrap();
                prop_assert_eq!(
                    table.may_allocate(req, dst).allowed,
                    reference.may_allocate(src_name, dst_name),
                    "may_allocate {} -> {} in {}", src_name, dst_name, text
                );
                prop_assert_eq!(
                    table.allows_allocation(req, dst),
                    table.may_allocate(req, dst).allowed
                );
                for a in src.addresses() {
                    for d in DST_ADDRS {
                        let d: std::net::IpAddr = d.parse().unwrap();
                        let to_addr = table.decide(&Query { src: a, dst: Dest::Addr(d) });
                        let mut caps: Vec<String> =
                            to_addr.caps().map(|(n, _)| n.to_string()).collect();
                        caps.sort();
                        caps.dedup();
                        prop_assert_eq!(caps, reference.caps_addr(a, d),
                            "caps_addr {} -> {} in {}", a, d, text);
                        for proto in [6u8, 17, 1] {
                            for &port in &ports {
                                prop_assert_eq!(
                                    to_addr.allows(proto, port),
                                    reference.allows_addr(a, d, proto, port),
                                    "allows_addr {} -> {} {}:{} in {}", a, d, proto, port, text
                                );
                            }
                        }
                    }
                    let to_node = table.decide(&Query { src: a, dst: Dest::Node(dst) });
                    prop_assert_eq!(to_node.has_cap("tailscale.com/cap/relay"),
                        reference.has_cap(a, dst_name, "tailscale.com/cap/relay"));
                    for proto in [6u8, 17, 1, 58, 132] {
                        for &port in &ports {
                            prop_assert_eq!(
                                to_node.allows(proto, port),
                                reference.allows(a, dst_name, proto, port),
                                "allows {} -> {} {}:{} in {}", a, dst_name, proto, port, text
                            );
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The relay's fast path (`allows_allocation`, from the requester's precomputed class)
    /// and `may_allocate` never drift from the general query: the relay capability of the
    /// requester's first address towards the relay node, unless the relay server is off.
    #[test]
    fn relay_fast_path_agrees_with_the_general_query(
        nodes in prop::collection::vec((0usize..3, prop::option::of(0usize..2), prop::bool::weighted(0.2), prop::option::weighted(0.4, 0usize..6)), 1..7),
        grants in prop::collection::vec(((0usize..14, 0usize..14), (0usize..5, 0usize..3), 0usize..3), 0..6),
        disable in prop::option::of(0usize..3),
    ) {
        let t = tailnet(&nodes);
        let text = policy_text(&grants, disable);
        let policy = validated(&text);
        let table = DecisionTable::build(&policy, &t);
        for (req_name, req_node) in &t.nodes {
            let req = table.node(req_name).unwrap();
            for relay_name in t.nodes.keys() {
                let relay = table.node(relay_name).unwrap();
                let entry = table.entry(relay).unwrap();
                let off = entry.relay_disabled_by.is_some() || entry.relay_disabled_in_tailnet;
                let general = req_node.addresses().next().map(|src| {
                    table.decide(&Query { src, dst: Dest::Node(relay) })
                });
                let holds = general.is_some_and(|d| d.has_cap(RELAY_CAP));
                let fast = table.allows_allocation(req, relay);
                prop_assert_eq!(fast, !off && holds,
                    "allows_allocation {} -> {} (off: {}) in {}", req_name, relay_name, off, text);
                let why = table.may_allocate(req, relay);
                prop_assert_eq!(why.allowed, fast);
                if why.allowed {
                    let granting = general.map(|d| d.cap_origins(RELAY_CAP)).unwrap_or_default();
                    prop_assert!(!why.grants.is_empty());
                    prop_assert!(why.grants.iter().all(|g| granting.contains(g)),
                        "may_allocate names a grant the query does not: {:?} vs {:?}", why.grants, granting);
                } else if off {
                    prop_assert_eq!(why.reason, RelayReason::RelayServerDisabled);
                } else {
                    prop_assert_eq!(why.reason, RelayReason::NoRelayGrant);
                }
            }
        }
    }
}

#[test]
fn relay_decisions_name_their_reason_and_grant() {
    let t = tailnet(&[
        (0, None, false, None),
        (1, None, false, None),
        (0, Some(0), false, None),
    ]);
    let text = r#"{"grants": [{"src": ["tag:ci"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}}],
                   "tagOwners": {"tag:relay": [], "tag:ci": []}}"#;
    let policy = validated(text);
    let table = DecisionTable::build(&policy, &t);
    let (relay, ci, user) = (
        table.node("n0").unwrap(),
        table.node("n1").unwrap(),
        table.node("n2").unwrap(),
    );
    let yes = table.may_allocate(ci, relay);
    assert!(yes.allowed);
    assert_eq!(yes.reason, RelayReason::Granted);
    assert_eq!(&text[yes.grants[0].start..yes.grants[0].start + 1], "{");
    let no = table.may_allocate(user, relay);
    assert_eq!(no.reason, RelayReason::NoRelayGrant);
}

#[test]
fn damaged_and_foreign_tables_are_errors() {
    let t = tailnet(&[(0, None, false, None), (1, None, false, None)]);
    let policy = validated(r#"{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}]}"#);
    let bytes = DecisionTable::build(&policy, &t).to_bytes();
    assert_eq!(
        DecisionTable::from_bytes(b"hello world, not a table"),
        Err(TableError::Foreign)
    );
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    assert_eq!(
        DecisionTable::from_bytes(&damaged),
        Err(TableError::Checksum)
    );
    assert_eq!(
        DecisionTable::from_bytes(&bytes[..bytes.len() - 3]),
        Err(TableError::Length)
    );
    let mut v2 = bytes.clone();
    v2[4] = 9;
    assert!(matches!(
        DecisionTable::from_bytes(&v2),
        Err(TableError::Version { found: 9 })
    ));
    for cut in 0..bytes.len().min(64) {
        let _ = DecisionTable::from_bytes(&bytes[..cut]);
    }
}

#[test]
fn route_addresses_follow_the_rules_for_their_destination() {
    // n0: tag:relay router for 10.1.0.0/16; n1: tag:ci.
    let t = tailnet(&[(0, None, false, Some(1)), (1, None, false, None)]);
    let text = r#"{"grants": [
        {"src": ["tag:ci"], "dst": ["10.1.2.0/24"], "ip": ["tcp:22"]},
        {"src": ["tag:ci"], "dst": ["10.0.0.0/8"], "app": {"example.com/cap/x": []}},
        {"src": ["tag:ci"], "dst": ["tag:relay"], "ip": ["tcp:443"]}],
        "tagOwners": {"tag:relay": [], "tag:ci": []}}"#;
    let policy = validated(text);
    let table = DecisionTable::build(&policy, &t);
    let table = DecisionTable::from_bytes(&table.to_bytes()).unwrap();
    let ci: std::net::IpAddr = "100.64.0.2".parse().unwrap();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let to = |d: &str| {
        table.decide(&Query {
            src: ci,
            dst: Dest::Addr(ip(d)),
        })
    };
    assert!(to("10.1.2.5").allows(6, 22));
    assert!(!to("10.1.2.5").allows(6, 443));
    assert!(!to("10.1.9.9").allows(6, 22));
    assert!(to("100.64.0.1").allows(6, 443));
    assert!(!to("100.64.0.1").allows(6, 22));
    assert_eq!(
        to("10.1.9.9").caps().collect::<Vec<_>>(),
        vec![("example.com/cap/x", "[]")]
    );
    assert_eq!(to("10.1.9.9").cap_origins("example.com/cap/x").len(), 1);
    assert!(to("100.64.0.1").caps().next().is_none());
    assert!(table.is_route_addr(ip("10.1.9.9")));
    assert_eq!(table.node_for_addr(ip("10.1.9.9")), table.node("n0"));
}

/// Go's filter accepts an ICMP echo request to an address when any rule opens any port of
/// any protocol to it from the sender (`runIn4`/`runIn6` in `wgengine/filter/filter.go`:
/// "If any port is open to an IP, allow ICMP to it"; `matchIPsOnly` in
/// `wgengine/filter/match.go` checks neither protocol nor port).
#[test]
fn icmp_is_open_wherever_any_port_is_as_in_go() {
    // n0: tag:relay, n1: tag:ci, n2: tag:web.
    let t = tailnet(&[
        (0, None, false, None),
        (1, None, false, None),
        (2, None, false, None),
    ]);
    let text = r#"{"grants": [
        {"src": ["tag:ci"], "dst": ["tag:relay"], "ip": ["tcp:22"]},
        {"src": ["tag:relay"], "dst": ["tag:web"], "ip": ["udp:53"]},
        {"src": ["tag:web"], "dst": ["tag:ci"], "app": {"example.com/cap/x": []}}],
        "tagOwners": {"tag:relay": [], "tag:ci": [], "tag:web": []}}"#;
    let policy = validated(text);
    let table = DecisionTable::build(&policy, &t);
    let reference = Reference::new(&policy, &t);
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let (relay, ci, web) = (ip("100.64.0.1"), ip("100.64.0.2"), ip("100.64.0.3"));
    let (relay6, web6) = (ip("fd7a:115c:a1e0::1"), ip("fd7a:115c:a1e0::3"));
    // Through a TCP-only rule and a UDP-only rule, on both families.
    assert!(table
        .decide(&Query {
            src: ci,
            dst: Dest::Addr(relay)
        })
        .allows(1, 0));
    assert!(table
        .decide(&Query {
            src: ci,
            dst: Dest::Addr(relay6)
        })
        .allows(58, 0));
    assert!(table
        .decide(&Query {
            src: relay,
            dst: Dest::Addr(web)
        })
        .allows(1, 7));
    assert!(table
        .decide(&Query {
            src: relay6,
            dst: Dest::Addr(web6)
        })
        .allows(58, 0));
    assert!(table
        .decide(&Query {
            src: ci,
            dst: Dest::Node(table.node("n0").unwrap())
        })
        .allows(1, 0));
    assert!(reference.allows(ci, "n0", 1, 0));
    // Not the other way, and not through a capability grant alone.
    assert!(!table
        .decide(&Query {
            src: relay,
            dst: Dest::Addr(ci)
        })
        .allows(1, 0));
    assert!(!table
        .decide(&Query {
            src: web,
            dst: Dest::Addr(ci)
        })
        .allows(1, 0));
    assert!(!reference.allows(web, "n1", 1, 0));
}

#[test]
fn a_rule_to_a_nodes_ipv4_address_does_not_open_its_ipv6_address() {
    // Go's filter matches the destination address (`matches.match`,
    // `wgengine/filter/match.go`): a grant to `100.64.0.0/30` opens no IPv6 address.
    let t = tailnet(&[(0, None, false, None), (1, None, false, None)]);
    let text = r#"{"grants": [{"src": ["tag:ci"], "dst": ["100.64.0.0/30"], "ip": ["*"]}],
        "tagOwners": {"tag:relay": [], "tag:ci": []}}"#;
    let policy = validated(text);
    let table = DecisionTable::build(&policy, &t);
    let table = DecisionTable::from_bytes(&table.to_bytes()).unwrap();
    let reference = Reference::new(&policy, &t);
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let ci = ip("100.64.0.2");
    for (dst, open) in [("100.64.0.1", true), ("fd7a:115c:a1e0::1", false)] {
        let dst = ip(dst);
        for proto in [6, 17] {
            assert_eq!(
                table
                    .decide(&Query {
                        src: ci,
                        dst: Dest::Addr(dst)
                    })
                    .allows(proto, 443),
                open,
                "{dst} {proto}"
            );
            assert_eq!(
                reference.allows_addr(ci, dst, proto, 443),
                open,
                "{dst} {proto}"
            );
        }
        let icmp = if dst.is_ipv4() { 1 } else { 58 };
        assert_eq!(
            table
                .decide(&Query {
                    src: ci,
                    dst: Dest::Addr(dst)
                })
                .allows(icmp, 0),
            open,
            "{dst} icmp"
        );
    }
}
