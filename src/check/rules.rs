//! Rules for the network sections: groups, tagOwners, hosts, ipsets, postures, acls,
//! grants, nodeAttrs, autoApprovers and the shape of `tests`.

use super::names::{parse_prefix, Names};
use super::Options;
use crate::diagnostic::Diagnostic;
use crate::policy::{Acl, Grant, Policy, Str};
use crate::selector::{self, parse_alias, Alias};
use crate::span::Span;
use ipnet::IpNet;

/// Where a selector stands; decides which aliases are allowed and how messages read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// A rule's source.
    Src,
    /// A rule's destination.
    Dst,
    /// A nodeAttrs target.
    Target,
}

/// Autogroups that name users by their role.
pub(super) const ROLE_AUTOGROUPS: &[&str] = &[
    "autogroup:admin",
    "autogroup:owner",
    "autogroup:it-admin",
    "autogroup:network-admin",
    "autogroup:billing-admin",
    "autogroup:auditor",
];

/// Capabilities in the tailscale.com domain that a policy may grant.
pub const GRANTABLE_TAILSCALE_CAPS: &[&str] = &[
    "tailscale.com/cap/drive",
    "tailscale.com/cap/relay",
    "tailscale.com/cap/webui",
    "tailscale.com/cap/kubernetes",
    "tailscale.com/cap/tsidp",
    "tailscale.com/cap/secrets",
];

pub(super) fn check(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    groups(p, out);
    tag_owners(p, names, out);
    hosts(p, out);
    for acl in &p.acls {
        check_acl(acl, names, opts, out);
    }
    for grant in &p.grants {
        check_grant(grant, names, opts, out);
    }
    node_attrs(p, names, opts, out);
    auto_approvers(p, names, opts, out);
    postures(p, names, out);
    ipsets(p, names, opts, out);
    tests_shape(p, names, out);
}

fn err(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

fn groups(p: &Policy, out: &mut Vec<Diagnostic>) {
    for (name, members) in &p.groups {
        if !name.starts_with("group:") || name.len() == "group:".len() {
            out.push(
                err(
                    "TG0220",
                    format!("group name {:?} must start with \"group:\"", name.value),
                    name.span,
                )
                .with_label("not a group name")
                .with_help("name groups `group:<name>`"),
            );
        }
        for m in members {
            if m.starts_with("group:") {
                out.push(
                    err(
                        "TG0218",
                        format!(
                            "groups[{:?}]: {:?}: group members cannot be recursive",
                            name.value, m.value
                        ),
                        m.span,
                    )
                    .with_label("a group inside a group")
                    .with_help(
                        "list the users of that group here instead: groups may only hold users",
                    ),
                );
            } else if m.starts_with("tag:") || m.starts_with("autogroup:") || m.value == "*" {
                out.push(
                    err(
                        "TG0221",
                        format!(
                            "groups[{:?}]: {:?}: group members must be users",
                            name.value, m.value
                        ),
                        m.span,
                    )
                    .with_label("not a user")
                    .with_help("groups hold users (e-mail addresses) only"),
                );
            }
        }
    }
}

fn tag_owners(p: &Policy, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    for (tag, owners) in &p.tag_owners {
        let rest = tag.strip_prefix("tag:");
        match rest {
            None => out.push(
                err(
                    "TG0219",
                    format!(
                        "tagOwners[{:?}]: tag names must start with \"tag:\"",
                        tag.value
                    ),
                    tag.span,
                )
                .with_label("not a tag")
                .with_help("name tags `tag:<name>`"),
            ),
            Some(rest) if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) => out.push(
                err(
                    "TG0219",
                    format!(
                        "tagOwners[{:?}]: tag names must start with a letter, after 'tag:'",
                        tag.value
                    ),
                    tag.span,
                )
                .with_label("must start with an ASCII letter")
                .with_help(
                    "tag names start with a letter a-z or A-Z and hold letters, digits and dashes",
                ),
            ),
            Some(rest) if !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => out.push(
                err(
                    "TG0219",
                    format!(
                        "tagOwners[{:?}]: tag names can only contain numbers, letters, or dashes",
                        tag.value
                    ),
                    tag.span,
                )
                .with_label("invalid character")
                .with_help("after `tag:`, use ASCII letters, digits and dashes only"),
            ),
            Some(_) => {}
        }
        for owner in owners {
            check_owner(owner, names, out);
        }
    }
}

fn check_owner(owner: &Str, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    match parse_alias(owner.trim()) {
        Alias::User(_) => {}
        Alias::Group(g) if names.groups.contains(g.as_str()) => {}
        Alias::Group(g) => out.push(group_not_found(&g, None, owner.span)),
        Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
        Alias::Tag(t) => out.push(tag_not_found(&t, None, owner.span)),
        Alias::Autogroup(a)
            if a == "autogroup:member"
                || a == "autogroup:tagged"
                || ROLE_AUTOGROUPS.contains(&a.as_str()) => {}
        _ => out.push(
            err(
                "TG0222",
                format!("{:?}: not a valid owner", owner.value),
                owner.span,
            )
            .with_label("not a user, group, tag or autogroup")
            .with_help("owners and approvers are users, groups, tags or role autogroups"),
        ),
    }
}

fn hosts(p: &Policy, out: &mut Vec<Diagnostic>) {
    for (name, value) in &p.hosts {
        if name.contains('@') || name.contains(':') || name.is_empty() {
            out.push(
                err(
                    "TG0223",
                    format!("hosts[{:?}]: invalid host name", name.value),
                    name.span,
                )
                .with_label("invalid host name")
                .with_help("host names may not contain `@` or `:`"),
            );
        }
        if parse_prefix(value).is_none() {
            out.push(
                err(
                    "TG0223",
                    format!(
                        "hosts[{:?}]: {:?}: invalid IP address or CIDR",
                        name.value, value.value
                    ),
                    value.span,
                )
                .with_label("not an IP address or CIDR")
                .with_help("write an address like `100.64.0.1` or a prefix like `10.0.0.0/8`"),
            );
        }
    }
}

pub(super) fn tag_not_found(tag: &str, side: Option<Side>, span: Span) -> Diagnostic {
    let message = match side {
        Some(Side::Src) => format!("src=tag not found: {tag:?}"),
        Some(Side::Dst) => format!("dst={tag:?}: tag not found: {tag:?}"),
        _ => format!("tag not found: {tag:?}"),
    };
    err("TG0201", message, span)
        .with_label("no such tag")
        .with_help(format!(
            "define the tag in `tagOwners`, e.g. \"{tag}\": [\"autogroup:admin\"]"
        ))
}

fn group_not_found(group: &str, side: Option<Side>, span: Span) -> Diagnostic {
    let message = match side {
        Some(Side::Src) => format!("src=group not found: {group:?}"),
        Some(Side::Dst) => format!("dst={group:?}: group not found: {group:?}"),
        _ => format!("group not found: {group:?}"),
    };
    err("TG0202", message, span)
        .with_label("no such group")
        .with_help(format!(
            "define the group in `groups`, e.g. \"{group}\": [\"alice@example.com\"]"
        ))
}

/// Checks one selector. `rule_has_self` is set when checking the sources of a rule whose
/// destinations include `autogroup:self`.
pub(super) fn check_alias(
    s: &Str,
    text: &str,
    side: Side,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    match parse_alias(text) {
        Alias::Wildcard | Alias::User(_) | Alias::Prefix(_) | Alias::Service(_) => {}
        Alias::UserDomain(domain) => check_domain(&domain, "", s.span, opts, out),
        Alias::Group(g) if names.groups.contains(g.as_str()) => {}
        Alias::Group(g) => out.push(group_not_found(&g, Some(side), s.span)),
        Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
        Alias::Tag(t) => out.push(tag_not_found(&t, Some(side), s.span)),
        Alias::Ipset(i) if names.ipsets.contains(i.as_str()) => {}
        Alias::Ipset(i) => out.push(
            err("TG0215", format!("ipset not found: {i:?}"), s.span)
                .with_label("no such ipset")
                .with_help(format!(
                    "define it in `ipsets`, e.g. \"{i}\": [\"10.0.0.0/8\"]"
                )),
        ),
        Alias::Host(h) if names.hosts.contains_key(h.as_str()) => {}
        Alias::Host(h) => out.push(
            err("TG0203", format!("{h:?}: invalid address"), s.span)
                .with_label("not a host, IP or known name")
                .with_help(
                    match crate::policy::suggest_name(&h, names.hosts.keys().copied()) {
                        Some(near) => format!(
                            "did you mean the host \"{near}\"? Otherwise define \"{h}\" in `hosts`"
                        ),
                        None => format!(
                            "define \"{h}\" in `hosts`, or use a tag, group, user, IP or CIDR"
                        ),
                    },
                ),
        ),
        Alias::Autogroup(a) => check_autogroup(&a, side, s.span, out),
    }
}

fn check_autogroup(a: &str, side: Side, span: Span, out: &mut Vec<Diagnostic>) {
    let role = ROLE_AUTOGROUPS.contains(&a);
    let problem = match (side, a) {
        (_, "autogroup:member" | "autogroup:tagged") => None,
        (Side::Src, "autogroup:self") => Some("\"autogroup:self\" not valid on the src side of a rule".to_string()),
        (Side::Src, "autogroup:danger-all" | "autogroup:shared") => None,
        (Side::Src, "autogroup:internet") => Some("autogroup:internet can only be used in ACL destinations".to_string()),
        (Side::Dst, "autogroup:danger-all") => Some("cannot use autogroup:danger-all as a dst".to_string()),
        (Side::Dst, "autogroup:self" | "autogroup:internet") => None,
        (Side::Target, "autogroup:self") => Some(
            "autogroup:self cannot be a nodeAttrs target (the control plane answers: internal server error)".to_string(),
        ),
        (Side::Target, "autogroup:internet" | "autogroup:danger-all") => {
            Some(format!("{a:?} cannot be a nodeAttrs target"))
        }
        (_, _) if role => None,
        _ => Some(format!("unknown autogroup {a:?}")),
    };
    if let Some(message) = problem {
        out.push(
            err("TG0204", message, span)
                .with_label("autogroup not allowed here")
                .with_help(match side {
                    Side::Src => "sources may use autogroup:member, autogroup:tagged, autogroup:danger-all and the role autogroups",
                    Side::Dst => "destinations may use autogroup:member, autogroup:tagged, autogroup:self and autogroup:internet",
                    _ => "targets may use autogroup:member, autogroup:tagged and the role autogroups",
                }),
        );
    }
}

/// `user:*@domain` and `localpart:*@domain` must name the tailnet's own domain.
pub(super) fn check_domain(
    domain: &str,
    prefix: &str,
    span: Span,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(own) = opts.domain() else { return };
    if domain != own {
        out.push(
            err(
                "TG0217",
                format!("{prefix}{domain} is not associated with this Tailnet and cannot be used in user:*@<domain> expressions"),
                span,
            )
            .with_label("not this tailnet's domain")
            .with_help(format!("this tailnet's domain is `{own}` (domains are case-sensitive)")),
        );
    }
}

fn check_postures(list: &[Str], names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    for p in list {
        if !names.postures.contains(p.as_str()) {
            out.push(
                err("TG0216", format!("posture not found: {:?}", p.value), p.span)
                    .with_label("no such posture")
                    .with_help("define it in `postures`, e.g. \"posture:latest\": [\"node:tsReleaseTrack == 'stable'\"]"),
            );
        }
    }
}

/// Rejects a rule whose destination holds `autogroup:self` when a source is not a user,
/// group or `autogroup:member` (ACLs also allow `*`).
fn check_self_sources(src: &[Str], allow_wildcard: bool, out: &mut Vec<Diagnostic>) {
    for s in src {
        let ok = match parse_alias(s.trim()) {
            Alias::User(_) | Alias::Group(_) | Alias::UserDomain(_) => true,
            Alias::Wildcard => allow_wildcard,
            Alias::Autogroup(a) => a == "autogroup:member" || ROLE_AUTOGROUPS.contains(&a.as_str()),
            _ => false,
        };
        if !ok {
            out.push(
                err("TG0205", "autogroup:self can only be used with users, groups, or supported autogroups", s.span)
                    .with_label("this source cannot reach autogroup:self")
                    .with_help("with an autogroup:self destination, sources must be users, groups or autogroup:member; give tagged sources their own rule"),
            );
        }
    }
}

fn check_acl(acl: &Acl, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    match &acl.action {
        Some(a) if a.value == "accept" => {}
        Some(a) => out.push(
            err(
                "TG0207",
                format!("action={:?} is not supported", a.value),
                a.span,
            )
            .with_label("unsupported action")
            .with_help("the only ACL action is \"accept\": access not granted is denied"),
        ),
        None => out.push(
            err("TG0207", "action=\"\" is not supported", acl.span)
                .with_label("no action")
                .with_help("add \"action\": \"accept\""),
        ),
    }
    for s in &acl.src {
        check_alias(s, s.trim(), Side::Src, names, opts, out);
    }
    let protos = acl
        .proto
        .as_ref()
        .and_then(|p| match selector::parse_proto(p.trim()) {
            Ok(protos) => Some(protos),
            Err(e) => {
                out.push(
                    err("TG0214", e, p.span)
                        .with_label("unknown protocol")
                        .with_help(PROTO_HELP),
                );
                None
            }
        });
    let mut has_self = false;
    for d in &acl.dst {
        let text = d.trim();
        let Some((alias, ports)) = selector::split_acl_dst(text) else {
            out.push(
                err(
                    "TG0206",
                    format!("dst={text:?}: missing port, write {text:?} as \"{text}:*\""),
                    d.span,
                )
                .with_label("no port")
                .with_help(
                    "ACL destinations are `alias:ports`, e.g. `tag:web:443` or `group:dev:*`",
                ),
            );
            continue;
        };
        match selector::parse_ports(ports) {
            Ok(ranges) => {
                if let Some(protos) = &protos {
                    if !protos.iter().copied().any(selector::has_ports)
                        && ranges != [selector::PortRange::ALL]
                    {
                        out.push(
                            err(
                                "TG0206",
                                format!(
                                    "dst={text:?}: protocol has no ports, only \"*\" is allowed"
                                ),
                                d.span,
                            )
                            .with_label("ports on a port-less protocol")
                            .with_help("use `:*` with this protocol"),
                        );
                    }
                }
            }
            Err(e) => {
                out.push(
                    err("TG0206", format!("dst={text:?}: {e}"), d.span)
                        .with_label("invalid port")
                        .with_help("ports are `*`, a number 1-65535, a range `80-443`, or a comma-separated list"),
                );
                continue;
            }
        }
        let alias = alias.trim_start_matches('[').trim_end_matches(']');
        has_self |= alias == "autogroup:self";
        check_alias(d, alias, Side::Dst, names, opts, out);
    }
    if has_self {
        check_self_sources(&acl.src, true, out);
    }
    check_postures(&acl.src_posture, names, out);
}

const PROTO_HELP: &str =
    "use a protocol name (tcp, udp, icmp, sctp, gre, esp, ah...) or an IANA number 1-255";

fn check_grant(g: &Grant, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    if g.ip.is_empty() && g.app.is_empty() {
        out.push(
            err(
                "TG0208",
                "ip and app can not both be empty",
                g.app_span.unwrap_or(g.span),
            )
            .with_label("grants nothing")
            .with_help("add `\"ip\": [\"*\"]` for network access, or an `app` capability"),
        );
    }
    for ip in &g.ip {
        if let Err(e) = selector::parse_grant_ip(ip.trim()) {
            out.push(
                err("TG0206", e, ip.span)
                    .with_label("invalid ip entry")
                    .with_help("write `*`, a port (`22`), a range (`80-443`) or `proto:ports` (`tcp:443`, `icmp:*`)"),
            );
        }
    }
    for (name, _) in &g.app {
        check_cap_name(name, out);
    }
    for s in &g.src {
        check_alias(s, s.trim(), Side::Src, names, opts, out);
    }
    let mut has_self = false;
    for d in &g.dst {
        let text = d.trim();
        match parse_alias(text) {
            Alias::Prefix(net) if net.prefix_len() == 0 => out.push(
                err("TG0212", format!("dst {:?}: to allow all IP addresses, use \"*\" or \"autogroup:internet\"", net.to_string()), d.span)
                    .with_label("the whole address space")
                    .with_help("use `*` for every node and route, or `autogroup:internet` for exit-node traffic"),
            ),
            Alias::Autogroup(a) if a == "autogroup:internet" && !g.app.is_empty() => out.push(
                err("TG0211", "cannot use app grants with autogroup:internet", d.span)
                    .with_label("app capability towards the internet")
                    .with_help("split the grant: `ip` towards autogroup:internet, `app` towards your nodes"),
            ),
            Alias::Autogroup(a) if a == "autogroup:self" => has_self = true,
            _ => {}
        }
        check_alias(d, text, Side::Dst, names, opts, out);
    }
    if has_self {
        check_self_sources(&g.src, false, out);
    }
    for v in &g.via {
        match parse_alias(v.trim()) {
            Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
            Alias::Tag(t) => out.push(
                err("TG0201", format!("tag {t:?} not found"), v.span)
                    .with_label("no such tag")
                    .with_help(format!("define the tag in `tagOwners`, e.g. \"{t}\": [\"autogroup:admin\"]")),
            ),
            _ => out.push(
                err("TG0213", "via can only be a tag", v.span)
                    .with_label("not a tag")
                    .with_help("`via` names the tags of the routers or exit nodes the traffic must go through"),
            ),
        }
    }
    check_postures(&g.src_posture, names, out);
}

/// Checks an app capability name: `{domain}/{path}`, not in the tailscale.com domain except
/// the capabilities users may grant.
pub fn check_cap_name(name: &Str, out: &mut Vec<Diagnostic>) {
    let form_ok = !name.contains("://")
        && name
            .split_once('/')
            .is_some_and(|(domain, path)| domain.contains('.') && !path.is_empty());
    if !form_ok {
        out.push(
            err(
                "TG0209",
                "capability name must have the form {domain}/{path}",
                name.span,
            )
            .with_label("not {domain}/{path}")
            .with_help("name capabilities like `example.com/cap/my-app`, without a URL scheme"),
        );
    } else if name.starts_with("tailscale.com/")
        && !GRANTABLE_TAILSCALE_CAPS.contains(&name.as_str())
    {
        out.push(
            err(
                "TG0210",
                "capability name must not be in the tailscale.com domain",
                name.span,
            )
            .with_label("reserved capability")
            .with_help(reserved_cap_help(name)),
        );
    }
}

const RESERVED_POOLS: &[&str] = &["100.100.100.0/24", "100.115.92.0/23"];

fn node_attrs(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    let cgnat: IpNet = IpNet::V4(
        ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(100, 64, 0, 0), 10).unwrap_or_default(),
    );
    for na in &p.node_attrs {
        for t in &na.target {
            check_alias(t, t.trim(), Side::Target, names, opts, out);
        }
        for pool in &na.ip_pool {
            let Some(net) = pool.trim().parse::<IpNet>().ok() else {
                out.push(
                    err(
                        "TG0224",
                        format!("IPPool({}): invalid prefix", pool.value),
                        pool.span,
                    )
                    .with_label("not a CIDR")
                    .with_help("write a prefix inside 100.64.0.0/10, e.g. `100.80.0.0/16`"),
                );
                continue;
            };
            let net = net.trunc();
            let reserved = RESERVED_POOLS
                .iter()
                .filter_map(|r| r.parse::<IpNet>().ok())
                .any(|r| r.contains(&net.network()) || net.contains(&r.network()));
            if reserved {
                out.push(
                    err("TG0224", format!("IPPool({net}): network within reserved range"), pool.span)
                        .with_label("reserved by Tailscale")
                        .with_help("100.100.100.0/24 (MagicDNS) and 100.115.92.0/23 are reserved; pick another part of 100.64.0.0/10"),
                );
            } else if !cgnat.contains(&net) {
                out.push(
                    err(
                        "TG0224",
                        format!("IPPool({net}): network not within 100.64.0.0/10"),
                        pool.span,
                    )
                    .with_label("outside the CGNAT range")
                    .with_help("pools must lie inside 100.64.0.0/10"),
                );
            }
        }
    }
}

fn auto_approvers(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    let Some(aa) = &p.auto_approvers else { return };
    for (route, approvers) in &aa.routes {
        if route.trim().parse::<IpNet>().is_err() {
            out.push(
                err(
                    "TG0225",
                    format!("autoApprovers.routes[{:?}]: invalid prefix", route.value),
                    route.span,
                )
                .with_label("not a CIDR")
                .with_help("route keys are prefixes like `10.0.0.0/16`"),
            );
        }
        for a in approvers {
            check_approver(a, names, opts, out);
        }
    }
    for a in &aa.exit_node {
        check_approver(a, names, opts, out);
    }
}

fn check_approver(a: &Str, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    match parse_alias(a.trim()) {
        Alias::UserDomain(d) => check_domain(&d, "", a.span, opts, out),
        _ => check_owner(a, names, out),
    }
}

fn postures(p: &Policy, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    for (name, _) in &p.postures {
        if !name.starts_with("posture:") {
            out.push(
                err(
                    "TG0226",
                    format!(
                        "postures[{:?}]: posture names must start with \"posture:\"",
                        name.value
                    ),
                    name.span,
                )
                .with_label("not a posture name")
                .with_help("name postures `posture:<name>`"),
            );
        }
    }
    check_postures(&p.default_src_posture, names, out);
}

fn ipsets(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    for (name, entries) in &p.ipsets {
        if !name.starts_with("ipset:") {
            out.push(
                err(
                    "TG0227",
                    format!(
                        "ipsets[{:?}]: ipset names must start with \"ipset:\"",
                        name.value
                    ),
                    name.span,
                )
                .with_label("not an ipset name")
                .with_help("name ipsets `ipset:<name>`"),
            );
        }
        for e in entries {
            let text = e.trim();
            let body = text
                .strip_prefix("add ")
                .or_else(|| text.strip_prefix("remove "))
                .unwrap_or(text)
                .trim();
            if body == name.as_str() {
                out.push(
                    err(
                        "TG0227",
                        format!("ipsets[{:?}]: an ipset cannot include itself", name.value),
                        e.span,
                    )
                    .with_label("refers to itself")
                    .with_help("list addresses, hosts or other ipsets"),
                );
                continue;
            }
            check_alias(e, body, Side::Src, names, opts, out);
        }
    }
}

/// The shape of `tests` entries. A malformed entry fails the tests, which the control plane
/// reports as `test(s) failed`.
fn tests_shape(p: &Policy, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    let fail = |span: Span, why: String, help: &str| {
        err("TG0401", format!("test(s) failed: {why}"), span)
            .with_label("malformed test")
            .with_help(help.to_string())
    };
    for (i, t) in p.tests.iter().enumerate() {
        if t.src.as_ref().is_none_or(|s| s.trim().is_empty()) {
            out.push(fail(
                t.src.as_ref().map_or(t.span, |s| s.span),
                format!("tests[{i}]: src is empty"),
                "name the source: a user, group, tag, host or IP",
            ));
        }
        if t.accept.is_empty() && t.deny.is_empty() {
            out.push(fail(
                t.span,
                format!("tests[{i}]: neither accept nor deny"),
                "add `accept` or `deny` destinations",
            ));
        }
        if let Some(proto) = &t.proto {
            let ok = matches!(
                proto.trim().to_ascii_lowercase().as_str(),
                "" | "tcp" | "udp" | "sctp" | "6" | "17" | "132"
            );
            if !ok {
                out.push(fail(
                    proto.span,
                    format!("tests[{i}]: proto {:?} cannot be tested", proto.value),
                    "tests take proto tcp, udp or sctp (or none)",
                ));
            }
        }
        if let Some(src) = &t.src {
            if let Some(why) = test_source_problem(src.trim(), names) {
                out.push(fail(
                    src.span,
                    format!("tests[{i}]: src {:?}: {why}", src.value),
                    "the source must be a defined user, group, tag, host or an IP",
                ));
            }
        }
        for d in t.accept.iter().chain(&t.deny) {
            if let Some(why) = test_destination_problem(d.trim(), names) {
                out.push(fail(
                    d.span,
                    format!("tests[{i}]: {:?}: {why}", d.value),
                    "a test destination is one host and one port, e.g. `tag:web:443`",
                ));
            }
        }
    }
}

/// Why a `tests` destination is malformed, if it is.
pub(crate) fn test_destination_problem(d: &str, names: &Names<'_>) -> Option<&'static str> {
    let Some((alias, ports)) = selector::split_acl_dst(d) else {
        return Some("no port");
    };
    match selector::parse_ports(ports) {
        Ok(r) if r.len() == 1 && r[0].first == r[0].last => {}
        Ok(_) => return Some("must name exactly one port"),
        Err(_) => return Some("invalid port"),
    }
    let alias = alias.trim_start_matches('[').trim_end_matches(']');
    match parse_alias(alias) {
        Alias::Autogroup(a) if a == "autogroup:internet" => {
            Some("autogroup:internet cannot be tested")
        }
        Alias::Prefix(_) if alias.contains('/') => Some("a CIDR is not one host"),
        Alias::Host(h) => match names.hosts.get(h.as_str()) {
            Some(Some(net)) if net.prefix_len() < net.max_prefix_len() => {
                Some("the host is a range, not one host")
            }
            Some(_) => None,
            None => Some("unknown host"),
        },
        _ => test_source_problem(alias, names),
    }
}

/// Why a `tests` source (or destination alias) names nothing the policy defines, if so.
fn test_source_problem(s: &str, names: &Names<'_>) -> Option<&'static str> {
    match parse_alias(s) {
        _ if s.is_empty() => Some("empty"),
        Alias::Tag(t) if !names.tags.contains(t.as_str()) => Some("unknown tag"),
        Alias::Group(g) if !names.groups.contains(g.as_str()) => Some("unknown group"),
        Alias::Host(h) if !names.hosts.contains_key(h.as_str()) => Some("unknown host"),
        Alias::Ipset(i) if !names.ipsets.contains(i.as_str()) => Some("unknown ipset"),
        Alias::Autogroup(a)
            if !matches!(
                a.as_str(),
                "autogroup:member" | "autogroup:tagged" | "autogroup:self"
            ) && !ROLE_AUTOGROUPS.contains(&a.as_str()) =>
        {
            Some("unknown autogroup")
        }
        _ => None,
    }
}

fn reserved_cap_help(name: &str) -> String {
    match name {
        "tailscale.com/cap/relay-target" => "Tailscale adds relay-target itself, in the reverse direction of each `tailscale.com/cap/relay` grant: grant `tailscale.com/cap/relay` instead".to_string(),
        "tailscale.com/cap/drive-sharer" => "Tailscale adds drive-sharer itself for each `tailscale.com/cap/drive` grant: grant `tailscale.com/cap/drive` instead".to_string(),
        _ => format!(
            "the tailscale.com capabilities a policy may grant are: {}",
            GRANTABLE_TAILSCALE_CAPS.join(", ")
        ),
    }
}
