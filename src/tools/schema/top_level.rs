//! The top-level sections of the policy file.

use serde_json::{json, Value};

use super::build::{boolean, dict, nullable_list, with_examples};
use super::patterns::{PREFIX, SELECTOR, TAG};

/// Each top-level section with its schema, in the documented order.
pub(super) fn top_level_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("acls", nullable_list(
            "Access rules in the original (legacy) syntax: each lets `src` reach the `alias:ports` in `dst`. Anything not allowed is denied. Prefer `grants` for new rules.",
            json!({"$ref": "#/$defs/acl"}),
        )),
        ("grants", nullable_list(
            "Access rules: each gives the sources in `src` network access (`ip`) and/or application capabilities (`app`) on the destinations in `dst`. Anything not granted is denied.",
            json!({"$ref": "#/$defs/grant"}),
        )),
        ("groups", with_examples(dict(
            "Named sets of users: `\"group:name\": [\"alice@example.com\", ...]`. Groups hold users only, not other groups, tags or autogroups.",
            json!({"type": "string", "pattern": r"^group:.", "patternErrorMessage": "group names are `group:<name>`"}),
            nullable_list(
                "The members of the group: users' login names (e-mail addresses).",
                json!({
                    "type": "string",
                    "pattern": r"^(?!\s*(?:group:|tag:|autogroup:|\*\s*$))",
                    "patternErrorMessage": "group members are users (e-mail addresses), not groups, tags, autogroups or `*`",
                    "description": "A user's login name, e.g. `alice@example.com`. Not a group, tag or autogroup.",
                }),
            ),
        ), json!([{"group:eng": ["alice@example.com", "bob@example.com"]}]))),
        ("hosts", with_examples(dict(
            "Names for IP addresses and CIDRs, usable in `src`, `dst` and tests instead of the address.",
            json!({"type": "string", "pattern": r"^[^@:]+$", "patternErrorMessage": "host names may not contain `@` or `:`"}),
            json!({
                "type": ["string", "null"],
                "pattern": PREFIX,
                "patternErrorMessage": "write an IP address (`100.64.0.1`) or a CIDR (`10.0.0.0/8`)",
                "description": "An IP address (`100.64.0.1`) or CIDR (`10.0.0.0/8`).",
            }),
        ), json!([{"db-primary": "100.64.0.10", "office-lan": "192.168.1.0/24"}]))),
        ("tagOwners", with_examples(dict(
            "The tags of the tailnet and who may apply each: `\"tag:name\": [owners]`. A tag must be defined here to be used anywhere else.",
            json!({
                "type": "string",
                "pattern": format!("^{TAG}$"),
                "patternErrorMessage": "tags are `tag:` then a letter, then letters, digits or dashes",
                "description": "`tag:` then a letter, then letters, digits or dashes.",
            }),
            nullable_list(
                "Who may apply the tag: users, groups, other tags, or `autogroup:admin`-style role autogroups. Empty: only admins.",
                json!({"$ref": "#/$defs/selector"}),
            ),
        ), json!([{"tag:server": ["group:ops"], "tag:relay": ["autogroup:admin"]}]))),
        ("autoApprovers", json!({"$ref": "#/$defs/autoApprovers"})),
        ("ssh", nullable_list(
            "Tailscale SSH rules: who may open an SSH session to which nodes, as which local users.",
            json!({"$ref": "#/$defs/sshRule"}),
        )),
        ("nodeAttrs", nullable_list(
            "Attributes and app capabilities given to nodes, selected by `target` (e.g. `funnel`, `disable-relay-server`, NextDNS profiles, IP pools).",
            json!({"$ref": "#/$defs/nodeAttr"}),
        )),
        ("postures", with_examples(dict(
            "Device posture conditions by name: `\"posture:name\": [\"node:os == 'macos'\", ...]`; all conditions must hold. Used in `srcPosture`.",
            json!({"type": "string", "pattern": r"^posture:.", "patternErrorMessage": "posture names are `posture:<name>`"}),
            nullable_list(
                "Conditions on device attributes, all of which must hold, e.g. `node:os IN ['macos', 'linux']` or `node:tsReleaseTrack == 'stable'`.",
                json!({"type": "string"}),
            ),
        ), json!([{"posture:latestMac": ["node:os == 'macos'", "node:tsReleaseTrack == 'stable'"]}]))),
        ("defaultSrcPosture", json!({"$ref": "#/$defs/postureList", "description": "Postures that every source must meet in rules that name no `srcPosture` of their own."})),
        ("ipsets", with_examples(dict(
            "Named address sets: `\"ipset:name\": [entries]`. Entries apply in order: a bare entry or `add X` adds X's addresses, `remove X` takes them away.",
            json!({"type": "string", "pattern": r"^ipset:.", "patternErrorMessage": "ipset names are `ipset:<name>`"}),
            nullable_list(
                "IPs, CIDRs, hosts or other ipsets, each optionally prefixed with `add ` or `remove `.",
                json!({
                    "type": "string",
                    "pattern": format!(r"^\s*(?:(?:add|remove)\s+)?{SELECTOR}\s*$"),
                    "patternErrorMessage": "write an IP, CIDR, host or ipset, optionally after `add ` or `remove `",
                }),
            ),
        ), json!([{"ipset:office": ["192.168.0.0/16", "remove 192.168.99.0/24"]}]))),
        ("tests", nullable_list(
            "Assertions checked on every save: the policy is rejected unless `src` can reach each `accept` destination and cannot reach each `deny` destination.",
            json!({"$ref": "#/$defs/test"}),
        )),
        ("sshTests", nullable_list(
            "Assertions on the `ssh` rules: which local users `src` may (`accept`), may after a recent login (`check`), or may not (`deny`) log in as on `dst`.",
            json!({"$ref": "#/$defs/sshTest"}),
        )),
        ("derpMap", json!({"$ref": "#/$defs/derpMap"})),
        ("disableIPv4", boolean("Stop giving nodes IPv4 addresses from the 100.64.0.0/10 range; nodes keep their IPv6 addresses.")),
        ("oneCGNATRoute", boolean("Install one route for all of 100.64.0.0/10 on clients instead of one route per peer (mainly for Windows and Android). Unset: Tailscale decides.")),
        ("randomizeClientPort", boolean("Make clients listen on a random UDP port instead of 41641, for firewalls that treat many clients on one port badly.")),
        ("attrConfig", json!({
            "type": ["object", "null"],
            "description": "Configuration of node attributes that take values (e.g. for `nodeAttrs` with custom attributes). Passed through as is.",
        })),
    ]
}
