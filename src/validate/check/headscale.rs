//! The rules of the Headscale dialect that Tailscale's control plane does not have, each
//! from Headscale's own validation (`hscontrol/policy/v2/types.go` in juanfont/headscale,
//! `Policy.validate`) with its message.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Policy;
use crate::model::selector::Alias;

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
        // `ErrNodeAttrIPPoolUnsupported`: Headscale parses `ipPool` but has no allocator
        // for it yet.
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

    #[test]
    fn headscale_has_no_ip_pools_yet() {
        let text = r#"{"nodeAttrs": [{"target": ["*"], "ipPool": ["100.80.0.0/16"]}]}"#;
        assert_eq!(errors(text, Dialect::Tailscale), Vec::<String>::new());
        let found = errors(text, Dialect::Headscale);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("nodeAttrs ipPool requires the IP allocator"));
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
}
