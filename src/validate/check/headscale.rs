//! The rules of the Headscale dialect that Tailscale's control plane does not have, each
//! from Headscale's own validation (`hscontrol/policy/v2/types.go` in juanfont/headscale,
//! `Policy.validate`) with its message.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Policy;
use crate::model::policy::Sel;
use crate::model::selector::Alias;
use crate::model::tailnet::Tailnet;
use crate::model::UserLookupError;

/// The autogroups a Headscale `nodeAttrs` target may name (`autogroupForNodeAttrs`).
const NODE_ATTR_AUTOGROUPS: &[&str] = &["autogroup:member", "autogroup:tagged"];

/// Checks what Headscale alone rejects in `nodeAttrs`. Targets that are autogroups replace the
/// Tailscale rule for them (the caller skips it); the others are checked as Tailscale checks
/// them.
pub(super) fn node_attrs(p: &Policy, out: &mut Vec<Diagnostic>) {
    for na in &p.node_attrs {
        for t in &na.target {
            // `validateAutogroupForNodeAttrs`: member and tagged only. An unknown autogroup
            // is reported as such by the selector check.
            let Alias::Autogroup(a) = t.alias() else {
                continue;
            };
            if NODE_ATTR_AUTOGROUPS.contains(&a.as_str())
                || !crate::vocab::KNOWN_AUTOGROUPS.contains(&a.as_str())
            {
                continue;
            }
            out.push(
                Diagnostic::error(
                    codes::AUTOGROUP_NOT_ALLOWED,
                    format!(
                        "nodeAttrs target does not support this autogroup: {a:?}, can be [{}]",
                        NODE_ATTR_AUTOGROUPS.join(" ")
                    ),
                    t.span,
                )
                .with_label("not a Headscale nodeAttrs target")
                .with_help("Headscale attaches node attributes to autogroup:member or autogroup:tagged, or to users, groups, tags, hosts and addresses"),
            );
        }
        // `ErrNodeAttrUnsupported`: attributes Headscale parses but cannot act on
        // (`nodeAttrUnsupportedCaps`), each with the issue that tracks it.
        for attr in &na.attr {
            let Some((_, issue)) = UNSUPPORTED_NODE_ATTRS
                .iter()
                .find(|(name, _)| *name == attr.value)
            else {
                continue;
            };
            out.push(
                Diagnostic::error(
                    codes::UNSUPPORTED_NODE_ATTR,
                    format!(
                        "nodeAttrs uses a feature headscale does not yet support: {:?} tracked in {issue}",
                        attr.value
                    ),
                    attr.span,
                )
                .with_label("not supported by Headscale")
                .with_help(format!("remove the attribute; Headscale's support for it is tracked in {issue}")),
            );
        }
        // `ErrNodeAttrIPPoolUnsupported`: Headscale parses `ipPool` but has no allocator
        // for it yet. Each entry is then checked all the same (`validateNodeAttrIPPool`).
        if let Some(first) = na.ip_pool.first() {
            out.push(
                Diagnostic::error(
                    codes::INVALID_IP_POOL,
                    "nodeAttrs ipPool requires the IP allocator (https://github.com/juanfont/headscale/issues/2912)",
                    first.span,
                )
                .with_label("not supported by Headscale")
                .with_help("remove `ipPool`: Headscale assigns addresses from its configured prefixes"),
            );
        }
        for pool in &na.ip_pool {
            if let Some(message) = ip_pool_message(pool.value.trim()) {
                out.push(
                    Diagnostic::error(codes::INVALID_IP_POOL, message, pool.span)
                        .with_label("not a usable Headscale address pool")
                        .with_help("pools lie inside 100.64.0.0/10, away from 100.100.100.0/24 and 100.115.92.0/23"),
                );
            }
        }
    }
}

/// The node attributes Headscale rejects, with the issue tracking each
/// (hscontrol/policy/v2/types.go, `nodeAttrUnsupportedCaps`).
const UNSUPPORTED_NODE_ATTRS: &[(&str, &str)] = &[(
    "funnel",
    "https://github.com/juanfont/headscale/issues/2527",
)];

/// The parts of 100.64.0.0/10 Tailscale keeps for itself, in the order Headscale checks them
/// (hscontrol/policy/v2/types.go, `reservedTSRanges`).
const RESERVED_RANGES: &[&str] = &["100.100.100.0/24", "100.115.92.0/23"];

/// Headscale's message for an `ipPool` prefix outside 100.64.0.0/10 or overlapping a reserved
/// range (hscontrol/policy/v2/types.go, `validateNodeAttrIPPool`: the range first, then each
/// reserved range in turn), or `None` for a usable pool. A prefix that does not parse is left
/// to the allocator error, which every `ipPool` gets.
fn ip_pool_message(text: &str) -> Option<String> {
    let prefix = text.parse::<ipnet::IpNet>().ok()?;
    let masked = prefix.trunc();
    let cgnat = ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(100, 64, 0, 0), 10).ok()?;
    let ipnet::IpNet::V4(v4) = masked else {
        return Some(format!(
            "nodeAttrs ipPool must be within 100.64.0.0/10: \"{prefix}\""
        ));
    };
    if v4.prefix_len() < cgnat.prefix_len() || !cgnat.contains(&v4.network()) {
        return Some(format!(
            "nodeAttrs ipPool must be within 100.64.0.0/10: \"{prefix}\""
        ));
    }
    RESERVED_RANGES
        .iter()
        .filter_map(|r| r.parse::<ipnet::Ipv4Net>().ok())
        .find(|r| r.contains(&v4.network()) || v4.contains(&r.network()))
        .map(|r| {
            format!(
                "nodeAttrs ipPool must not overlap reserved Tailscale ranges: \"{prefix}\" overlaps \"{r}\""
            )
        })
}

/// Headscale takes square brackets around an IPv6 address only (hscontrol/policy/v2/utils.go,
/// `splitDestinationAndPort`: `ErrBracketsNotIPv6`); Tailscale drops them around any alias.
pub(super) fn bracketed_destinations(p: &Policy, out: &mut Vec<Diagnostic>) {
    for acl in &p.acls {
        for d in &acl.dst {
            let Some(rest) = d.trimmed().strip_prefix('[') else {
                continue;
            };
            let inside = rest.split_once(']');
            let is_v6 = inside.is_some_and(|(h, _)| h.parse::<std::net::Ipv6Addr>().is_ok());
            // After the bracket comes the port (`:`) or a prefix length (`/`).
            let then_port = inside.is_some_and(|(_, r)| r.starts_with([':', '/']));
            if is_v6 && then_port {
                continue;
            }
            let message = match inside {
                Some(_) if is_v6 => format!(
                    "square brackets are only valid around IPv6 addresses: {:?}",
                    d.trimmed()
                ),
                Some((host, _)) => {
                    format!("square brackets are only valid around IPv6 addresses: {host:?}")
                }
                None => "square brackets are only valid around IPv6 addresses".to_string(),
            };
            out.push(
                Diagnostic::error(codes::HOST_NOT_FOUND, message, d.span)
                    .with_label("brackets around something other than an IPv6 address")
                    .with_help(
                        "write an IPv4 address or a name without brackets, e.g. `192.168.1.1:80`",
                    ),
            );
        }
    }
}

/// Headscale's message for a protocol it does not know (hscontrol/policy/v2/types.go,
/// `Protocol.validate`).
pub(super) fn proto_message(proto: &str) -> String {
    if proto == "*" {
        return "proto name \"*\" not known; use protocol number 0-255 or protocol name (icmp, tcp, udp, etc.)".to_string();
    }
    if proto.starts_with('0') {
        return format!("leading 0 not permitted in protocol number: {proto:?}");
    }
    match proto.parse::<i64>() {
        Ok(n) => format!("protocol number out of range (0-255): {n}"),
        Err(_) => format!(
            "invalid protocol number: {proto:?} must be a known protocol name or valid protocol number 0-255"
        ),
    }
}

/// Checks, with the tailnet's users, that every user token the policy names in a group, a tag
/// owner, an auto-approver, an ACL or an SSH rule names at most one user
/// (`hscontrol/policy/v2/policy.go`, `validateUserReferences`, which `NewPolicyManager` and
/// `SetPolicy` run before anything else: an ambiguous token would drop its rule silently).
/// A token no user answers to is tolerated there, and grants are not looked at; without
/// users nothing is checked.
pub(super) fn user_references(p: &Policy, tailnet: &Tailnet, out: &mut Vec<Diagnostic>) {
    if tailnet.users.is_empty() {
        return;
    }
    let approvers = p
        .auto_approvers
        .iter()
        .flat_map(|a| a.routes.iter().flat_map(|(_, v)| v).chain(&a.exit_node));
    let selectors = p
        .groups
        .iter()
        .flat_map(|(_, v)| v)
        .chain(p.tag_owners.iter().flat_map(|(_, v)| v))
        .chain(approvers)
        .chain(p.acls.iter().flat_map(|a| &a.src))
        .chain(p.ssh.iter().flat_map(|r| r.src.iter().chain(&r.dst)));
    let acl_dsts = p
        .acls
        .iter()
        .flat_map(|a| &a.dst)
        .filter_map(|d| Some((d.host()?, d.span)));
    let all = selectors.map(|s: &Sel| (&s.value, s.span)).chain(acl_dsts);
    for (selector, span) in all {
        let Alias::User(token) = selector.alias() else {
            continue;
        };
        if let Err(e @ UserLookupError::Multiple { .. }) = tailnet.headscale_user(token) {
            out.push(
                Diagnostic::error(
                    codes::AMBIGUOUS_USER,
                    format!("validating policy user references: {e}"),
                    span,
                )
                .with_label("more than one user answers to this")
                .with_help("rename one of the users in Headscale, or name the user by its e-mail or provider identifier"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Dialect;
    use crate::validate::{check_text, Options};

    fn errors(text: &str, dialect: Dialect) -> Vec<String> {
        let options = Options {
            dialect,
            ..Default::default()
        };
        check_text(text, &options)
            .findings
            .errors
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    const ADMIN_TARGET: &str =
        r#"{"nodeAttrs": [{"target": ["autogroup:admin"], "attr": ["randomize-client-port"]}]}"#;

    #[test]
    fn a_role_autogroup_is_a_nodeattrs_target_for_tailscale_not_for_headscale() {
        assert_eq!(
            errors(ADMIN_TARGET, Dialect::Tailscale),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(ADMIN_TARGET, Dialect::Headscale),
            ["nodeAttrs target does not support this autogroup: \"autogroup:admin\", can be [autogroup:member autogroup:tagged]"]
        );
        let member = ADMIN_TARGET.replace("autogroup:admin", "autogroup:member");
        assert_eq!(errors(&member, Dialect::Headscale), Vec::<String>::new());
    }

    /// hscontrol/policy/v2/types.go, `parseOwner` and `parseAutoApprover`: a user (with `@`),
    /// a group or a tag, nothing else; Tailscale also takes role autogroups.
    #[test]
    fn headscale_owners_and_approvers_are_users_groups_or_tags() {
        let table: &[(&str, &[&str], &[&str])] = &[
            // (owners, Tailscale's errors, Headscale's errors)
            (r#"["alice@", "group:eng", "tag:b"]"#, &[], &[]),
            (
                r#"["autogroup:admin"]"#,
                &[],
                &[r#"invalid owner format: "autogroup:admin""#],
            ),
            (
                r#"["autogroup:member"]"#,
                &[],
                &[r#"invalid owner format: "autogroup:member""#],
            ),
            (
                r#"["infra-core"]"#,
                &[r#""infra-core": not a valid owner"#],
                &[r#"invalid owner format: "infra-core""#],
            ),
            (
                r#"["10.0.0.1"]"#,
                &[r#""10.0.0.1": not a valid owner"#],
                &[r#"invalid owner format: "10.0.0.1""#],
            ),
        ];
        let groups = r#""groups": {"group:eng": ["alice@example.com"]}"#;
        for (owners, tailscale, headscale) in table {
            let text = format!(r#"{{{groups}, "tagOwners": {{"tag:b": [], "tag:a": {owners}}}}}"#);
            let text = text.replace("alice@\"", "alice@example.com\"");
            assert_eq!(errors(&text, Dialect::Tailscale), *tailscale, "{owners}");
            let text = format!(r#"{{{groups}, "tagOwners": {{"tag:b": [], "tag:a": {owners}}}}}"#);
            assert_eq!(errors(&text, Dialect::Headscale), *headscale, "{owners}");
            let approvers = format!(
                r#"{{{groups}, "tagOwners": {{"tag:b": []}}, "autoApprovers": {{"exitNode": {owners}}}}}"#
            );
            let expected: Vec<String> = headscale
                .iter()
                .map(|e| e.replace("owner format", "auto approver format"))
                .collect();
            assert_eq!(errors(&approvers, Dialect::Headscale), expected, "{owners}");
        }
    }

    /// hscontrol/policy/v2/test.go, `parseDestinationAlias`: a test's destination is read as
    /// an ACL's, so `[v6]/len:port` is a CIDR there too, which `validateTestDestination`
    /// (types.go) refuses as a test destination, as it refuses `v6/len:port`.
    #[test]
    fn a_bracketed_ipv6_prefix_is_a_cidr_test_destination_under_headscale() {
        let test = |dst: &str| {
            format!(
                r#"{{"acls": [{{"action": "accept", "src": ["alice@example.com"], "dst": ["*:*"]}}],
                    "tests": [{{"src": "alice@example.com", "accept": ["{dst}"]}}]}}"#
            )
        };
        let cidr = "test destination must be a single host, not a CIDR range";
        for dst in ["[fd7a:115c:a1e0::3]/128:22", "fd7a:115c:a1e0::3/128:22"] {
            let found = errors(&test(dst), Dialect::Headscale);
            assert_eq!(found.len(), 1, "{dst}: {found:?}");
            assert!(found[0].ends_with(cidr), "{dst}: {found:?}");
        }
        assert_eq!(
            errors(&test("[fd7a:115c:a1e0::3]:22"), Dialect::Headscale),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_undefined_host_is_named_as_headscale_names_it() {
        let text = r#"{"acls": [{"action": "accept", "src": ["infra"], "dst": ["*:*"]}]}"#;
        assert_eq!(
            errors(text, Dialect::Tailscale),
            [r#""infra": invalid address"#]
        );
        assert_eq!(
            errors(text, Dialect::Headscale),
            [r#"host not defined in policy: "infra""#]
        );
    }

    #[test]
    fn headscale_has_no_ip_pools_yet() {
        let text = r#"{"nodeAttrs": [{"target": ["*"], "ipPool": ["100.80.0.0/16"]}]}"#;
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        let found = errors(text, Dialect::Headscale);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("nodeAttrs ipPool requires the IP allocator"));
    }

    #[test]
    fn headscale_rejects_the_node_attributes_it_cannot_act_on() {
        let text =
            r#"{"nodeAttrs": [{"target": ["*"], "attr": ["funnel", "randomize-client-port"]}]}"#;
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        assert_eq!(
            errors(text, Dialect::Headscale),
            ["nodeAttrs uses a feature headscale does not yet support: \"funnel\" tracked in https://github.com/juanfont/headscale/issues/2527"]
        );
        let supported = text.replace("\"funnel\", ", "");
        assert_eq!(errors(&supported, Dialect::Headscale), Vec::<String>::new());
    }

    /// The ipPool errors after the allocator one, under the Headscale dialect.
    fn pool_errors(pool: &str) -> Vec<String> {
        let text = format!(
            r#"{{"nodeAttrs": [{{"target": ["autogroup:member"], "ipPool": ["{pool}"]}}]}}"#
        );
        let mut found = errors(&text, Dialect::Headscale);
        assert!(
            found[0].starts_with("nodeAttrs ipPool requires the IP allocator"),
            "{found:?}"
        );
        found.remove(0);
        found
    }

    #[test]
    fn headscale_checks_each_ip_pool_against_cgnat_then_the_reserved_ranges() {
        let out = |p: &str| format!("nodeAttrs ipPool must be within 100.64.0.0/10: \"{p}\"");
        let reserved = |p: &str, r: &str| {
            format!("nodeAttrs ipPool must not overlap reserved Tailscale ranges: \"{p}\" overlaps \"{r}\"")
        };
        let table: &[(&str, Option<String>)] = &[
            ("100.81.0.0/16", None),
            ("10.0.0.0/8", Some(out("10.0.0.0/8"))),
            ("100.0.0.0/8", Some(out("100.0.0.0/8"))),
            ("fd7a:115c:a1e0::/48", Some(out("fd7a:115c:a1e0::/48"))),
            (
                "100.64.0.0/10",
                Some(reserved("100.64.0.0/10", "100.100.100.0/24")),
            ),
            (
                "100.100.100.0/24",
                Some(reserved("100.100.100.0/24", "100.100.100.0/24")),
            ),
            (
                "100.100.100.7/28",
                Some(reserved("100.100.100.7/28", "100.100.100.0/24")),
            ),
            (
                "100.115.92.0/24",
                Some(reserved("100.115.92.0/24", "100.115.92.0/23")),
            ),
            (
                "100.115.93.0/24",
                Some(reserved("100.115.93.0/24", "100.115.92.0/23")),
            ),
            ("100.115.94.0/24", None),
        ];
        for (pool, want) in table {
            assert_eq!(
                pool_errors(pool),
                want.iter().cloned().collect::<Vec<_>>(),
                "{pool}"
            );
        }
        // Tailscale's own rule and words for the same pools.
        let text = r#"{"nodeAttrs": [{"target": ["*"], "ipPool": ["100.100.100.0/24"]}]}"#;
        assert_eq!(
            errors(text, Dialect::Tailscale),
            ["IPPool(100.100.100.0/24): network within reserved range"]
        );
    }

    #[test]
    fn headscale_drops_the_hash_keys_of_an_acl_entry() {
        let text = r##"{"acls": [{"#ha-test": "a comment", "action": "accept", "src": ["*"], "dst": ["*:*"]}]}"##;
        assert_eq!(errors(text, Dialect::Headscale), Vec::<String>::new());
        assert_eq!(
            errors(text, Dialect::Tailscale),
            ["unknown field \"#ha-test\""]
        );
    }

    /// The first error message of `text` under each dialect.
    fn first(text: &str) -> (String, String) {
        let of = |d| errors(text, d).into_iter().next().unwrap_or_default();
        (of(Dialect::Tailscale), of(Dialect::Headscale))
    }

    #[test]
    fn unknown_fields_are_named_as_headscale_names_them() {
        let (ts, hs) = first(r#"{"rules": []}"#);
        assert_eq!(ts, "unknown field \"rules\"");
        assert_eq!(hs, "unknown field: \"rules\"");
    }

    #[test]
    fn sections_headscale_does_not_decode_are_unknown_fields() {
        let text = r#"{"postures": {"posture:a": ["node:os == 'linux'"]}}"#;
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        assert_eq!(
            errors(text, Dialect::Headscale),
            ["unknown field: \"postures\""]
        );
        let legacy = r#"{"acls": [{"action": "accept", "users": ["*"], "dst": ["*:*"]}]}"#;
        assert_eq!(errors(legacy, Dialect::Tailscale), Vec::<String>::new());
        assert_eq!(
            errors(legacy, Dialect::Headscale),
            ["unknown field: \"users\""]
        );
    }

    #[test]
    fn group_names_and_values() {
        let (ts, hs) = first(r#"{"groups": {"grou:example": []}}"#);
        assert_eq!(ts, "group name \"grou:example\" must start with \"group:\"");
        assert_eq!(hs, "group must start with 'group:', got: \"grou:example\"");
        let (ts, hs) = first(r#"{"groups": {"group:invalid": "should fail"}}"#);
        assert_eq!(ts, "expected an array, found the string \"should fail\"");
        assert_eq!(
            hs,
            "group value must be an array of users: group \"group:invalid\" got string: \"should fail\""
        );
    }

    #[test]
    fn undefined_groups_and_tags() {
        let acl = r#"{"acls": [{"action": "accept", "src": ["group:nope"], "dst": ["*:*"]}]}"#;
        let (ts, hs) = first(acl);
        assert_eq!(ts, "src=group not found: \"group:nope\"");
        assert_eq!(hs, "group not defined in policy: \"group:nope\"");
        let owners = r#"{"tagOwners": {"tag:child": ["tag:nonexistent"]}}"#;
        let (ts, hs) = first(owners);
        assert_eq!(ts, "tag not found: \"tag:nonexistent\"");
        assert_eq!(
            hs,
            "tag \"tag:child\" references undefined tag \"tag:nonexistent\""
        );
        let (ts, hs) = first(r#"{"tagOwners": {"server": []}}"#);
        assert_eq!(
            ts,
            "tagOwners[\"server\"]: tag names must start with \"tag:\""
        );
        assert_eq!(hs, "tag must start with 'tag:', got: \"server\"");
    }

    #[test]
    fn headscale_checks_only_the_first_letter_of_a_tag_name() {
        let text = r#"{"tagOwners": {"tag:a_b": []}}"#;
        assert_eq!(errors(text, Dialect::Tailscale).len(), 1);
        assert_eq!(errors(text, Dialect::Headscale), Vec::<String>::new());
    }

    #[test]
    fn unknown_autogroups() {
        let text =
            r#"{"acls": [{"action": "accept", "src": ["autogroup:invalid"], "dst": ["*:*"]}]}"#;
        let (ts, hs) = first(text);
        assert_eq!(ts, "unknown autogroup \"autogroup:invalid\"");
        assert_eq!(hs, "invalid autogroup: got \"autogroup:invalid\", must be one of [autogroup:internet autogroup:member autogroup:nonroot autogroup:tagged autogroup:self autogroup:danger-all]");
    }

    #[test]
    fn protocols_and_missing_ports() {
        let acl = |proto: &str| {
            format!(
                r#"{{"acls": [{{"action": "accept", "src": ["*"], "dst": ["*:*"], "proto": {proto:?}}}]}}"#
            )
        };
        let (ts, hs) = first(&acl("*"));
        assert_eq!(ts, "proto \"*\": unknown protocol");
        assert!(hs.starts_with("proto name \"*\" not known; use protocol number 0-255"));
        let (_, hs) = first(&acl("0"));
        assert_eq!(hs, "leading 0 not permitted in protocol number: \"0\"");
        let (_, hs) = first(&acl("300"));
        assert_eq!(hs, "protocol number out of range (0-255): 300");
        let (ts, hs) =
            first(r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["100.64.0.1"]}]}"#);
        assert!(ts.contains("missing port"), "{ts}");
        assert_eq!(hs, "hostport must contain a colon");
    }

    #[test]
    fn ssh_user_destinations() {
        let text = r#"{"tagOwners": {"tag:ci": []},
            "ssh": [{"action": "accept", "src": ["tag:ci"], "dst": ["alice@example.com"], "users": ["root"]}]}"#;
        let (ts, hs) = first(text);
        assert_eq!(ts, "users in dst are only allowed from the same user");
        assert!(hs.starts_with("tags in SSH source cannot access user-owned devices"));
        let text = r#"{"ssh": [{"action": "accept", "src": ["bob@example.com"], "dst": ["alice@example.com"], "users": ["root"]}]}"#;
        let (ts, hs) = first(text);
        assert_eq!(ts, "users in dst are only allowed from the same user");
        assert!(hs.starts_with(
            "user destination requires source to contain only that same user \"alice@example.com\""
        ));
    }

    #[test]
    fn an_acl_without_action_decodes_under_headscale() {
        let text = r##"{"acls": [{"#comment": "disabled"}]}"##;
        assert_eq!(errors(text, Dialect::Headscale), Vec::<String>::new());
        assert_eq!(
            errors(text, Dialect::Tailscale),
            ["action=\"\" is not supported", "unknown field \"#comment\""]
        );
    }

    /// Destinations in brackets under each dialect (hscontrol/policy/v2/utils_test.go,
    /// `TestSplitDestinationAndPort`): `None` where the policy is accepted, else a part of one
    /// of its errors.
    #[test]
    fn bracketed_destinations_under_each_dialect() {
        const BRACKETS: &str = "square brackets are only valid around IPv6 addresses";
        let table: &[(&str, Option<&str>, Option<&str>)] = &[
            // (destination, Tailscale, Headscale)
            ("[fd7a:115c:a1e0::87e1]:22", None, None),
            ("[fd7a:115c:a1e0::87e1]:80,443", None, None),
            ("[::1]:80", None, None),
            ("[fd7a:115c:a1e0::2]:80-90", None, None),
            (
                "[fd7a:115c:a1e0::2905]/128:80,443",
                Some("invalid address"),
                None,
            ),
            ("[fd7a:115c:a1e0::1]/128:22", Some("invalid address"), None),
            (
                "[fd7a:115c:a1e0::2]/64:80-90",
                Some("invalid address"),
                None,
            ),
            ("[192.168.1.1]:80", None, Some(BRACKETS)),
            ("[10.0.0.0/8]:80", None, Some(BRACKETS)),
            (
                "[192.168.1.1]/32:80",
                Some("invalid address"),
                Some(BRACKETS),
            ),
            ("[tag:server]:80", None, Some(BRACKETS)),
            ("[fd7a:115c:a1e0::2/128]:22", None, Some(BRACKETS)),
            ("[]:80", Some("invalid address"), Some(BRACKETS)),
            ("[::1]blah", Some("invalid first integer"), Some(BRACKETS)),
            ("[::1", Some("invalid address"), Some(BRACKETS)),
            ("[::1]", Some("invalid first integer"), Some(BRACKETS)),
        ];
        for (dst, tailscale, headscale) in table {
            let text = format!(
                r#"{{"tagOwners": {{"tag:server": ["alice@example.com"]}}, "acls": [{{"action": "accept", "src": ["*"], "dst": ["{dst}"]}}]}}"#
            );
            for (dialect, want) in [
                (Dialect::Tailscale, tailscale),
                (Dialect::Headscale, headscale),
            ] {
                let found = errors(&text, dialect);
                match want {
                    None => assert_eq!(found, Vec::<String>::new(), "{dst} {dialect:?}"),
                    Some(part) => assert!(
                        found.iter().any(|e| e.contains(part)),
                        "{dst} {dialect:?}: {found:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn brackets_around_ipv4_are_rejected_by_headscale() {
        let text = r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["[192.168.1.1]:80"]}]}"#;
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        assert_eq!(
            errors(text, Dialect::Headscale),
            ["square brackets are only valid around IPv6 addresses: \"192.168.1.1\""]
        );
        let v6 = text.replace("192.168.1.1", "fd7a:115c:a1e0::1");
        assert_eq!(errors(&v6, Dialect::Headscale), Vec::<String>::new());
    }

    #[test]
    fn test_destinations() {
        let (ts, hs) = first(r#"{"tests": [{"src": "*", "accept": ["*:8000-8100"]}]}"#);
        assert!(ts.contains("must name exactly one port"), "{ts}");
        assert!(
            hs.ends_with("test destination port must be a single port"),
            "{hs}"
        );
        let (ts, hs) = first(r#"{"tests": [{"src": "*", "accept": ["100.64.0.16/32:22"]}]}"#);
        assert!(ts.contains("a CIDR is not one host"), "{ts}");
        assert!(
            hs.ends_with("test destination must be a single host, not a CIDR range"),
            "{hs}"
        );
    }

    #[test]
    fn ssh_tests_shape() {
        let no_dst =
            r#"{"sshTests": [{"src": "alice@example.com", "dst": [], "accept": ["root"]}]}"#;
        assert_eq!(errors(no_dst, Dialect::Tailscale), Vec::<String>::new());
        let (_, hs) = first(no_dst);
        assert!(
            hs.contains("SSH tests entry must have at least one dst"),
            "{hs}"
        );
        let nothing = r#"{"tagOwners": {"tag:s": []},
            "sshTests": [{"src": "alice@example.com", "dst": ["tag:s"], "accept": [], "deny": [], "check": []}]}"#;
        assert_eq!(errors(nothing, Dialect::Tailscale).len(), 1);
        assert_eq!(errors(nothing, Dialect::Headscale), Vec::<String>::new());
    }

    /// The errors of `text` against Headscale users, under `dialect`.
    fn errors_with_users(text: &str, dialect: Dialect, users: &str) -> Vec<String> {
        let tailnet = crate::model::tailnet::Tailnet::from_headscale(users, "[]").unwrap();
        let options = Options {
            dialect,
            tailnet: Some(&tailnet),
        };
        check_text(text, &options)
            .findings
            .errors
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    const DUP: &str =
        r#"[{"id": 1, "name": "alice"}, {"id": 2, "name": "dup"}, {"id": 3, "name": "dup"}]"#;

    #[test]
    fn an_ambiguous_user_token_fails_under_headscale_where_headscale_checks_it() {
        let want = r#"validating policy user references: multiple users found: token "dup@" found: [ 2: dup, 3: dup,  ]"#;
        for text in [
            r#"{"groups": {"group:a": ["dup@"]}}"#,
            r#"{"tagOwners": {"tag:ssh": ["dup@"]}}"#,
            r#"{"autoApprovers": {"exitNode": ["dup@"]}}"#,
            r#"{"autoApprovers": {"routes": {"10.0.0.0/8": ["dup@"]}}}"#,
            r#"{"acls": [{"action": "accept", "src": ["alice@"], "dst": ["dup@:*"]}]}"#,
            r#"{"acls": [{"action": "accept", "src": ["dup@"], "dst": ["*:*"]}]}"#,
        ] {
            assert_eq!(
                errors_with_users(text, Dialect::Headscale, DUP),
                [want],
                "{text}"
            );
            assert!(
                errors_with_users(text, Dialect::Tailscale, DUP)
                    .iter()
                    .all(|m| !m.contains("multiple users")),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_users_grants_and_a_provider_id_match_are_not_ambiguous() {
        for text in [
            r#"{"acls": [{"action": "accept", "src": ["ghost@"], "dst": ["*:*"]}]}"#,
            r#"{"grants": [{"src": ["dup@"], "dst": ["*"], "ip": ["*"]}]}"#,
        ] {
            assert_eq!(
                errors_with_users(text, Dialect::Headscale, DUP),
                Vec::<String>::new(),
                "{text}"
            );
        }
        let with_provider = r#"[{"id": 2, "name": "dup"}, {"id": 3, "name": "x", "provider_id": "dup"}, {"id": 4, "name": "dup"}]"#;
        let text = r#"{"groups": {"group:a": ["dup@"]}}"#;
        assert_eq!(
            errors_with_users(text, Dialect::Headscale, with_provider),
            Vec::<String>::new()
        );
        // Without users there is nothing to check against.
        assert_eq!(
            errors_with_users(text, Dialect::Headscale, "[]"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn headscale_has_no_tailnet_domain_for_user_and_localpart_wildcards() {
        let tailnet = crate::model::tailnet::Tailnet::from_text(
            r#"{"tailnet": "alice@example.com", "users": [{"id": 1, "name": "alice", "email": "alice@example.com"}]}"#,
        )
        .unwrap();
        let text = r#"{"acls": [{"action": "accept", "src": ["*@other.org"], "dst": ["*:*"]}],
            "ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["localpart:*@other.org"]}]}"#;
        let run = |dialect| {
            let options = Options {
                dialect,
                tailnet: Some(&tailnet),
            };
            check_text(text, &options).findings.errors.len()
        };
        assert!(run(Dialect::Tailscale) > 0);
        assert_eq!(run(Dialect::Headscale), 0);
    }

    #[test]
    fn anything_with_an_at_sign_is_a_user_for_headscale_before_groups_and_tags() {
        // hscontrol/policy/v2/types.go, `parseAlias`: `isUser` comes before `isGroup`.
        let text = r#"{"acls": [{"action": "accept", "src": ["group:ops@example.com"], "dst": ["tag:web@example.com:*"]}]}"#;
        assert_eq!(errors(text, Dialect::Headscale), Vec::<String>::new());
        let tailscale = errors(text, Dialect::Tailscale);
        assert!(
            tailscale
                .iter()
                .any(|m| m.contains("group:ops@example.com")),
            "{tailscale:?}"
        );
    }

    #[test]
    fn a_check_period_outside_a_check_rule_is_an_error_for_headscale_only() {
        let text = r#"{"ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["root"], "checkPeriod": "1h"}]}"#;
        assert_eq!(
            errors(text, Dialect::Headscale),
            ["checkPeriod is only valid with action \"check\""]
        );
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        let check = text.replace("\"accept\"", "\"check\"");
        assert_eq!(errors(&check, Dialect::Headscale), Vec::<String>::new());
        let too_long = check.replace("\"1h\"", "\"200h\"");
        assert_eq!(
            errors(&too_long, Dialect::Headscale),
            errors(&too_long, Dialect::Tailscale)
        );
        assert_eq!(errors(&too_long, Dialect::Headscale).len(), 1);
    }
}
