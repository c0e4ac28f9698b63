//! The JSON Schema (draft 2020-12) of the policy file, for editors: completion, hover
//! documentation and early marks on obvious mistakes.
//!
//! The schema is editor help, not the validator: `tailgrant check` is the strict one. So
//! its patterns only reject what Tailscale rejects too (a tag name that does not start with
//! a letter, an ACL destination without a port, a grant `ip` entry that is not `proto:ports`,
//! a capability name that is not `{domain}/{path}`), and they allow the surrounding spaces
//! the control plane trims. Every field may be `null`, which Tailscale reads as absent.
//!
//! Tailscale matches field names without regard to case (as Go's JSON decoder does), so
//! `"TagOwners"` is accepted. Each object lists its fields in their documented spelling and
//! marks any other spelling of them as deprecated, which editors show as a warning, in line
//! with tailgrant's lint `TG1009`; truly unknown fields are errors, as in Tailscale.
//!
//! Patterned strings carry `patternErrorMessage`, VS Code's own keyword, so that a mismatch
//! reads as advice rather than as a regular expression; other tools ignore it.
//!
//! The committed copy is `schema/policy.schema.json`; `tests/schema.rs` fails when it
//! drifts from [`policy_schema`].

use serde_json::{json, Map, Value};

/// Where the published schema lives; also its `$id`.
pub(crate) const SCHEMA_ID: &str = "https://tailgrant.dev/schema/policy.schema.json";

/// A selector without the surrounding spaces: `*`, a tag, an autogroup, a group, an ipset,
/// a service, a user or `user:*@domain`, an IP or CIDR, or a host name from `hosts`.
const SELECTOR: &str = concat!(
    r"(?:\*",
    r"|tag:[A-Za-z][A-Za-z0-9-]*",
    r"|autogroup:[a-z][a-z0-9-]*",
    r"|(?:group|ipset|svc):.+",
    r"|(?:user:)?[^@:]*@[^@:]*",
    r"|\[?[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?\]?",
    r"|[^@:]+)",
);

/// A port list: `*`, `22`, `80-443`, or a comma-separated list of those.
const PORTS: &str = r"(?:\*|[0-9]+(?:-[0-9]+)?)(?:,(?:\*|[0-9]+(?:-[0-9]+)?))*";

/// An IP protocol: a name (`tcp`, `udp`, `icmp`...) or an IANA number.
const PROTO: &str = r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]{1,3})";

/// An IP address or a CIDR, IPv4 or IPv6.
const PREFIX: &str = r"^\s*[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?\s*$";

/// A tag as `tagOwners` defines it: a letter after `tag:`, then letters, digits, dashes.
const TAG: &str = "tag:[A-Za-z][A-Za-z0-9-]*";

/// A Go duration (`12h`, `30m`, `1h30m`, `90s`) or `always`.
const CHECK_PERIOD: &str = concat!(
    r"^\s*(?:always|\+?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)",
    r"(?:ns|us|µs|μs|ms|s|m|h))+))\s*$",
);

/// Builds the JSON Schema of the policy file.
pub fn policy_schema() -> Value {
    let mut defs = Map::new();
    for (name, def) in [
        ("selector", selector_def()),
        ("selectors", selectors_def()),
        ("aclDestination", acl_destination_def()),
        ("testDestination", test_destination_def()),
        ("postureList", posture_list_def()),
        ("capabilityValues", capability_values_def()),
        ("acl", acl_def()),
        ("grant", grant_def()),
        ("autoApprovers", auto_approvers_def()),
        ("sshRule", ssh_rule_def()),
        ("nodeAttr", node_attr_def()),
        ("test", test_def()),
        ("sshTest", ssh_test_def()),
        ("derpMap", derp_map_def()),
    ] {
        defs.insert(name.to_string(), def);
    }
    let mut schema = object(
        "A Tailscale tailnet policy file (HuJSON: JSON with comments and trailing commas).",
        top_level_fields(),
    );
    if let Value::Object(map) = &mut schema {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        head.insert("$id".into(), json!(SCHEMA_ID));
        head.insert("title".into(), json!("Tailscale policy file"));
        // VS Code's own keywords: HuJSON has comments and trailing commas.
        head.insert("allowComments".into(), json!(true));
        head.insert("allowTrailingCommas".into(), json!(true));
        head.append(map);
        head.insert("type".into(), json!("object"));
        head.insert("$defs".into(), Value::Object(defs));
        return Value::Object(head);
    }
    schema
}

fn top_level_fields() -> Vec<(&'static str, Value)> {
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

fn selector_def() -> Value {
    json!({
        "type": "string",
        "description": "Who or what a rule applies to: `*`, a user (`alice@example.com`), `user:*@example.com`, `group:name`, `tag:name`, `autogroup:member` (and other autogroups), a host from `hosts`, an IP, a CIDR, or `ipset:name`.",
        "pattern": format!(r"^\s*{SELECTOR}\s*$"),
        "patternErrorMessage": "not a selector: write `*`, a user, `group:x`, `tag:x` (a letter first), `autogroup:x`, a host, an IP or a CIDR (no port here)",
        "examples": ["group:eng", "tag:server", "autogroup:member", "alice@example.com", "10.0.0.0/8"],
    })
}

fn selectors_def() -> Value {
    nullable_list("", json!({"$ref": "#/$defs/selector"}))
}

fn acl_destination_def() -> Value {
    json!({
        "type": "string",
        "description": "A destination and its ports, `alias:ports`: the alias is any selector, the ports are `*`, a port, a range `80-443`, or a comma-separated list.",
        "pattern": format!(r"^\s*{SELECTOR}:{PORTS}\s*$"),
        "patternErrorMessage": "write `alias:ports`, e.g. `tag:web:443`, `group:dev:22,80-90` or `*:*`",
        "examples": ["tag:server:22", "group:eng:80,443", "autogroup:self:*", "10.0.0.0/8:1024-65535"],
    })
}

fn test_destination_def() -> Value {
    json!({
        "type": "string",
        "description": "One host and one port to test, `alias:port`: a user, tag, host or IP (IPv6 in brackets), then a port.",
        "pattern": format!(r"^\s*{SELECTOR}:{PORTS}\s*$"),
        "patternErrorMessage": "write `host:port`, e.g. `tag:web:443` or `[fd7a:115c:a1e0::1]:22`",
        "examples": ["tag:server:22", "100.64.0.10:443", "[fd7a:115c:a1e0::1]:22"],
    })
}

fn posture_list_def() -> Value {
    nullable_list(
        "",
        json!({
            "type": "string",
            "pattern": r"^\s*posture:.",
            "patternErrorMessage": "postures are `posture:<name>`",
            "description": "A posture defined in `postures`.",
        }),
    )
}

fn capability_values_def() -> Value {
    nullable_list(
        "The capability's values: objects passed as is to the applications that read the capability. `[]` or `[{}]` grants it with no parameters.",
        json!({"type": "object"}),
    )
}

fn acl_def() -> Value {
    let mut acl = object(
        "An ACL rule: the sources in `src` may reach the destinations in `dst` on the given ports.",
        vec![
            (
                "action",
                json!({
                    "enum": ["accept"],
                    "description": "Always `accept`: ACLs only allow; what is not allowed is denied.",
                }),
            ),
            (
                "src",
                with_description(
                    json!({"$ref": "#/$defs/selectors"}),
                    "Who may connect: users, groups, tags, autogroups, hosts, IPs, CIDRs or `*`.",
                ),
            ),
            (
                "users",
                deprecated(
                    json!({"$ref": "#/$defs/selectors"}),
                    "Old name of `src`: still accepted, write `src`.",
                ),
            ),
            (
                "dst",
                nullable_list(
                    "Where they may connect: `alias:ports` entries, e.g. `tag:server:22` or `*:*`.",
                    json!({"$ref": "#/$defs/aclDestination"}),
                ),
            ),
            (
                "ports",
                deprecated(
                    nullable_list("", json!({"$ref": "#/$defs/aclDestination"})),
                    "Old name of `dst`: still accepted, write `dst`.",
                ),
            ),
            (
                "proto",
                proto("The IP protocol the rule allows. Unset: TCP, UDP and ICMP."),
            ),
            (
                "srcPosture",
                with_description(
                    json!({"$ref": "#/$defs/postureList"}),
                    "Postures the source device must meet.",
                ),
            ),
        ],
    );
    set(&mut acl, "required", json!(["action"]));
    with_examples(
        acl,
        json!([{"action": "accept", "src": ["group:eng"], "dst": ["tag:server:22,443"]}]),
    )
}

fn grant_def() -> Value {
    let rejected: Vec<Value> = crate::vocab::REJECTED_TAILSCALE_CAPS
        .iter()
        .map(|c| json!(c))
        .collect();
    let app = json!({
        "type": ["object", "null"],
        "description": "Application capabilities given to the sources on the destinations: `{\"example.com/cap/name\": [values]}`. `tailscale.com/cap/relay` lets the sources allocate on the destination peer relays.",
        "propertyNames": {
            "type": "string",
            "pattern": r"^[^/]*\.[^/]*/.",
            "patternErrorMessage": "capability names are `{domain}/{path}`, e.g. `example.com/cap/app`",
            "not": {"anyOf": [{"pattern": "://"}, {"enum": rejected}]},
            "description": "A capability name, `{domain}/{path}`, without a URL scheme. In the `tailscale.com` domain, the capabilities Tailscale documents (the examples); the control plane rejects some others.",
            "examples": crate::vocab::GRANTABLE_TAILSCALE_CAPS,
        },
        "additionalProperties": {"$ref": "#/$defs/capabilityValues"},
        "examples": [{"tailscale.com/cap/relay": []}, {"example.com/cap/dashboard": [{"role": "viewer"}]}],
    });
    let grant = object(
        "A grant: the sources in `src` get network access (`ip`) and/or capabilities (`app`) on the destinations in `dst`.",
        vec![
            ("src", with_description(json!({"$ref": "#/$defs/selectors"}), "Who gets access: users, groups, tags, autogroups, hosts, IPs, CIDRs or `*`.")),
            ("dst", with_description(json!({"$ref": "#/$defs/selectors"}), "What they get access to: tags, hosts, IPs, CIDRs, `autogroup:self`, `autogroup:internet`, `*`... (no ports here: ports go in `ip`).")),
            ("ip", nullable_list(
                "Network access: `*`, ports (`22`, `80-443`) or `proto:ports` (`tcp:443`, `udp:53`, `icmp:*`).",
                json!({
                    "type": "string",
                    "pattern": format!(r"^\s*(?:{PROTO}:)?{PORTS}\s*$"),
                    "patternErrorMessage": "write `*`, a port (`22`), a range (`80-443`) or `proto:ports` (`tcp:443`, `icmp:*`)",
                    "description": "`*`, a port, a range, or `proto:ports`. A protocol without ports (e.g. `icmp`) takes only `*`.",
                    "examples": ["*", "tcp:443", "udp:53", "80-443", "icmp:*"],
                }),
            )),
            ("app", app),
            ("srcPosture", with_description(json!({"$ref": "#/$defs/postureList"}), "Postures the source device must meet.")),
            ("via", nullable_list(
                "Route this access only through these tagged subnet routers, exit nodes or app connectors.",
                json!({"type": "string", "pattern": format!(r"^\s*{TAG}\s*$"), "patternErrorMessage": "via takes tags only"}),
            )),
        ],
    );
    with_examples(
        grant,
        json!([
            {"src": ["group:eng"], "dst": ["tag:server"], "ip": ["tcp:22", "tcp:443"]},
            {"src": ["autogroup:member"], "dst": ["tag:relay"], "app": {"tailscale.com/cap/relay": []}},
        ]),
    )
}

fn auto_approvers_def() -> Value {
    with_examples(
        object(
            "Who may advertise routes, exit nodes and services without an admin approving them.",
            vec![
                ("routes", dict(
                    "Subnet routes approved automatically: `\"CIDR\": [approvers]`; covers the CIDR and any route inside it.",
                    json!({"type": "string", "pattern": PREFIX, "patternErrorMessage": "write a CIDR, e.g. `10.0.0.0/8`"}),
                    json!({"$ref": "#/$defs/selectors"}),
                )),
                ("exitNode", with_description(json!({"$ref": "#/$defs/selectors"}), "Who may advertise an exit node that is approved automatically.")),
                ("services", json!({
                    "type": ["object", "null"],
                    "description": "Tailscale services whose hosts are approved automatically: `\"svc:name\": [approvers]`.",
                    "additionalProperties": {"$ref": "#/$defs/selectors"},
                })),
            ],
        ),
        json!([{"routes": {"10.0.0.0/8": ["tag:router"]}, "exitNode": ["tag:exit"]}]),
    )
}

fn ssh_rule_def() -> Value {
    let mut rule = object(
        "A Tailscale SSH rule: the sources may log in to the destinations as the listed users.",
        vec![
            ("action", json!({
                "type": "string",
                "pattern": r"^\s*(?:accept|check)\s*$",
                "patternErrorMessage": "SSH actions are `accept` and `check`",
                "description": "`accept`: allow; `check`: allow after the user has logged in to Tailscale recently (see `checkPeriod`).",
                "examples": ["accept", "check"],
            })),
            ("src", with_description(json!({"$ref": "#/$defs/selectors"}), "Who may connect: users, groups, tags, `autogroup:member`...")),
            ("dst", with_description(json!({"$ref": "#/$defs/selectors"}), "Nodes they may connect to: tags, `autogroup:self`, hosts, users...")),
            ("users", nullable_list(
                "Local login names they may use: `root`, `ubuntu`, `autogroup:nonroot` (any user but root), `localpart:*@example.com` (the part of their login before `@`).",
                json!({"type": "string", "pattern": r"^(?!\s*\*?\s*$)", "patternErrorMessage": "write a login name, `autogroup:nonroot` or `localpart:*@<domain>` (not `*` or empty)"}),
            )),
            ("checkPeriod", json!({
                "type": ["string", "null"],
                "pattern": CHECK_PERIOD,
                "patternErrorMessage": "write a Go duration such as `12h` or `30m` (at most `168h`), or `always`",
                "description": "With `check`: how long a login stays fresh, a Go duration (`12h`, `30m`) up to `168h`, or `always` to ask every time. Default 12h.",
                "examples": ["12h", "30m", "always"],
            })),
            ("acceptEnv", nullable_list(
                "Environment variables the client may send, by name or pattern with `*` and `?`.",
                json!({"type": "string", "minLength": 1, "examples": ["GIT_*", "LANG"]}),
            )),
            ("recorder", with_description(json!({"$ref": "#/$defs/selectors"}), "Tags of the session recorders that record these sessions.")),
            ("enforceRecorder", boolean("Refuse the session when no recorder can be reached.")),
            ("srcPosture", with_description(json!({"$ref": "#/$defs/postureList"}), "Postures the source device must meet.")),
        ],
    );
    set(&mut rule, "required", json!(["action", "users"]));
    with_examples(
        rule,
        json!([{"action": "check", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot"]}]),
    )
}

fn node_attr_def() -> Value {
    with_examples(
        object(
            "Attributes and capabilities given to the nodes that `target` selects.",
            vec![
                ("target", with_description(json!({"$ref": "#/$defs/selectors"}), "The nodes: users, groups, tags, autogroups, hosts, IPs or `*`.")),
                ("attr", nullable_list(
                    "Node attributes, e.g. `funnel`, `disable-relay-server`, `nextdns:<profile>`, `randomize-client-port`.",
                    json!({"type": "string"}),
                )),
                ("app", json!({
                    "type": ["object", "null"],
                    "description": "Capabilities the nodes get for themselves: `{\"domain/path\": [values]}`.",
                    "additionalProperties": {"$ref": "#/$defs/capabilityValues"},
                })),
                ("ipPool", nullable_list(
                    "CIDRs from which the nodes get their Tailscale IPv4 addresses.",
                    json!({"type": "string", "pattern": PREFIX, "patternErrorMessage": "write a CIDR, e.g. `100.81.0.0/16`"}),
                )),
            ],
        ),
        json!([{"target": ["tag:relay"], "attr": ["disable-relay-server"]}]),
    )
}

fn test_def() -> Value {
    with_examples(
        object(
            "A policy test: `src` must reach every `accept` destination and none of the `deny` ones.",
            vec![
                ("src", json!({
                    "type": ["string", "null"],
                    "pattern": format!(r"^\s*{SELECTOR}\s*$"),
                    "patternErrorMessage": "not a selector: write a user, group, tag, host or IP",
                    "description": "Who connects: a user, group, tag, host or IP.",
                })),
                ("user", deprecated(json!({"type": ["string", "null"]}), "Old name of `src`: still accepted, write `src`.")),
                ("proto", proto("The protocol tested: `tcp`, `udp` or `sctp`. Unset: TCP.")),
                ("accept", nullable_list("Destinations (`host:port`) that must be reachable.", json!({"$ref": "#/$defs/testDestination"}))),
                ("allow", deprecated(nullable_list("", json!({"$ref": "#/$defs/testDestination"})), "Old name of `accept`: still accepted, write `accept`.")),
                ("deny", nullable_list("Destinations (`host:port`) that must not be reachable.", json!({"$ref": "#/$defs/testDestination"}))),
                ("srcPostureAttrs", json!({
                    "type": ["object", "null"],
                    "description": "Device attributes the source is assumed to have, for rules with `srcPosture`.",
                })),
            ],
        ),
        json!([{"src": "alice@example.com", "accept": ["tag:server:22"], "deny": ["tag:db:5432"]}]),
    )
}

fn ssh_test_def() -> Value {
    let logins = |what: &str| nullable_list(what, json!({"type": "string"}));
    with_examples(
        object(
            "An SSH test: as which local users `src` may log in to each node in `dst`.",
            vec![
                (
                    "src",
                    json!({
                        "type": ["string", "null"],
                        "pattern": format!(r"^\s*{SELECTOR}\s*$"),
                        "patternErrorMessage": "not a selector: write a user, tag or IP",
                        "description": "Who connects: a user, tag or IP.",
                    }),
                ),
                (
                    "dst",
                    with_description(
                        json!({"$ref": "#/$defs/selectors"}),
                        "The nodes to test (no ports).",
                    ),
                ),
                (
                    "accept",
                    logins("Login names that must be allowed without a check."),
                ),
                (
                    "check",
                    logins(
                        "Login names that must be allowed after a recent login (`check` rules).",
                    ),
                ),
                ("deny", logins("Login names that must be refused.")),
            ],
        ),
        json!([{"src": "alice@example.com", "dst": ["tag:server"], "accept": ["ubuntu"], "deny": ["root"]}]),
    )
}

fn derp_map_def() -> Value {
    let node = json!({
        "type": "object",
        "description": "One DERP server of the region.",
        "properties": {
            "Name": {"type": "string", "description": "A unique name for the server within the region."},
            "RegionID": {"type": "integer", "description": "The region's ID again."},
            "HostName": {"type": "string", "description": "The server's DNS name (also its TLS name unless `CertName` is set)."},
            "CertName": {"type": "string", "description": "The name expected in its TLS certificate, when not `HostName`."},
            "IPv4": {"type": "string", "description": "An IPv4 address to use instead of resolving `HostName`; `none` disables IPv4."},
            "IPv6": {"type": "string", "description": "An IPv6 address to use instead of resolving `HostName`; `none` disables IPv6."},
            "STUNPort": {"type": "integer", "description": "The STUN port: 0 means 3478, -1 disables STUN."},
            "STUNOnly": {"type": "boolean", "description": "The server only answers STUN, it relays no traffic."},
            "DERPPort": {"type": "integer", "description": "The HTTPS port: 0 means 443."},
            "InsecureForTests": {"type": "boolean", "description": "Skip TLS verification (tests only)."},
            "CanPort80": {"type": "boolean", "description": "The server also answers plain HTTP on port 80."},
        },
    });
    let region = json!({
        "type": ["object", "null"],
        "description": "One DERP region, keyed by its numeric ID (900 and up for custom regions).",
        "properties": {
            "RegionID": {"type": "integer", "description": "The region's ID, the same as its key."},
            "RegionCode": {"type": "string", "description": "A short code for the region, e.g. `myderp`."},
            "RegionName": {"type": "string", "description": "A long name for the region, shown in the UI."},
            "Avoid": {"type": "boolean", "description": "Clients avoid this region as their home DERP."},
            "Nodes": {"type": ["array", "null"], "items": node, "description": "The region's DERP servers."},
        },
    });
    json!({
        "type": ["object", "null"],
        "description": "Custom DERP (relay) servers for the tailnet, in Tailscale's `DERPMap` form. Field names match without regard to case.",
        "properties": {
            "OmitDefaultRegions": {"type": "boolean", "description": "Use only the regions listed here, not Tailscale's own."},
            "Regions": {
                "type": ["object", "null"],
                "description": "The regions by ID.",
                "propertyNames": {"pattern": "^[0-9]+$", "patternErrorMessage": "region IDs are numbers"},
                "additionalProperties": region,
            },
        },
    })
}

/// An object with known fields: others are rejected, and other spellings of the known ones
/// (which Tailscale accepts, matching without case) are marked deprecated.
fn object(description: &str, fields: Vec<(&str, Value)>) -> Value {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let exact = names.join("|");
    let any_case: Vec<String> = names.iter().map(|n| any_case(n)).collect();
    let other_spelling = format!("^(?!(?:{exact})$)(?:{})$", any_case.join("|"));
    let properties: Map<String, Value> = fields
        .into_iter()
        .map(|(name, schema)| (name.to_string(), schema))
        .collect();
    json!({
        "type": ["object", "null"],
        "description": description,
        "properties": properties,
        "patternProperties": {
            other_spelling: {
                "deprecated": true,
                "description": OTHER_SPELLING,
                "deprecationMessage": OTHER_SPELLING,
            },
        },
        "additionalProperties": false,
    })
}

const OTHER_SPELLING: &str = "a field in another case than documented: Tailscale accepts it (it matches field names without regard to case), but write it as documented";

/// A regular expression that matches `name` in any case.
fn any_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An object keyed by names (`propertyNames`), each value of one schema.
fn dict(description: &str, names: Value, value: Value) -> Value {
    json!({
        "type": ["object", "null"],
        "description": description,
        "propertyNames": names,
        "additionalProperties": value,
    })
}

fn nullable_list(description: &str, items: Value) -> Value {
    let mut v = json!({"type": ["array", "null"], "items": items});
    if !description.is_empty() {
        set(&mut v, "description", json!(description));
    }
    v
}

fn boolean(description: &str) -> Value {
    json!({"type": ["boolean", "null"], "description": description})
}

fn proto(description: &str) -> Value {
    json!({
        "type": ["string", "integer", "null"],
        "pattern": format!(r"^\s*{PROTO}\s*$"),
        "patternErrorMessage": "a protocol name (`tcp`, `udp`, `icmp`...) or a number 1-255",
        "minimum": 1,
        "maximum": 255,
        "description": format!("{description} A name (`tcp`, `udp`, `icmp`, `sctp`, `gre`, `esp`, `ah`...) or an IANA protocol number 1-255."),
        "examples": ["tcp", "udp", "icmp", 47],
    })
}

/// An old field name: `deprecationMessage` is VS Code's own keyword, shown as a warning.
fn deprecated(mut schema: Value, description: &str) -> Value {
    set(&mut schema, "deprecated", json!(true));
    set(&mut schema, "deprecationMessage", json!(description));
    with_description(schema, description)
}

fn with_description(mut schema: Value, description: &str) -> Value {
    set(&mut schema, "description", json!(description));
    schema
}

fn with_examples(mut schema: Value, examples: Value) -> Value {
    set(&mut schema, "examples", examples);
    schema
}

fn set(schema: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = schema {
        map.insert(key.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_matches_every_spelling() {
        assert_eq!(any_case("ip"), "[iI][pP]");
        assert_eq!(any_case("sshTests"), "[sS][sS][hH][tT][eE][sS][tT][sS]");
    }

    #[test]
    fn the_schema_names_every_top_level_section() {
        let schema = policy_schema();
        let props = schema["properties"].as_object().unwrap();
        for key in crate::model::policy::TOP_LEVEL_FIELDS {
            assert!(props.contains_key(*key), "{key}");
        }
        assert_eq!(schema["$id"], SCHEMA_ID);
        assert_eq!(schema["additionalProperties"], false);
    }
}
