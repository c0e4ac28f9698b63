//! Rules for acls, grants and nodeAttrs, and the shape of `tests`; the definitions and the
//! selectors have their own modules.

use super::definitions;
use super::selectors::{check_alias, check_postures, is_known_autogroup, tag_not_found, Side};
use super::Options;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::{Acl, Grant, Policy, Sel};
use crate::model::selector::{self, Alias, CapName};
use crate::model::Dialect;
use crate::span::{Span, Spanned};
use crate::vocab::ROLE_AUTOGROUPS;
use crate::vocab::{reserved_cap_help, TailscaleCap};
use ipnet::IpNet;

pub(super) fn check(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    definitions::groups(p, opts.dialect, out);
    definitions::tag_owners(p, names, opts.dialect, out);
    definitions::hosts(p, out);
    for acl in &p.acls {
        check_acl(acl, names, opts, out);
    }
    for grant in &p.grants {
        check_grant(grant, names, opts, out);
    }
    node_attrs(p, names, opts, out);
    definitions::auto_approvers(p, names, opts, out);
    definitions::postures(p, names, out);
    definitions::ipsets(p, names, opts, out);
}

fn err(code: &'static crate::codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

/// Rejects a rule whose destination holds `autogroup:self` when a source is not a user,
/// group or `autogroup:member` (ACLs also allow `*`).
fn check_self_sources(src: &[Sel], allow_wildcard: bool, out: &mut Vec<Diagnostic>) {
    for s in src {
        let ok = match s.alias() {
            Alias::User(_) | Alias::Group(_) | Alias::UserDomain(_) => true,
            Alias::Wildcard => allow_wildcard,
            Alias::Autogroup(a) => {
                // An unknown autogroup has its own finding.
                a == "autogroup:member"
                    || ROLE_AUTOGROUPS.contains(&a.as_str())
                    || !is_known_autogroup(a)
            }
            _ => false,
        };
        if !ok {
            out.push(
                err(codes::AUTOGROUP_SELF_SOURCE, "autogroup:self can only be used with users, groups, or supported autogroups", s.span)
                    .with_label("this source cannot reach autogroup:self")
                    .with_help("with an autogroup:self destination, sources must be users, groups or autogroup:member; give tagged sources their own rule"),
            );
        }
    }
}

fn check_acl(acl: &Spanned<Acl>, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    match &acl.action {
        Some(a) if a.value == "accept" => {}
        Some(a) => out.push(
            err(
                codes::UNSUPPORTED_ACTION,
                format!("action={:?} is not supported", a.value),
                a.span,
            )
            .with_label("unsupported action")
            .with_help("the only ACL action is \"accept\": access not granted is denied"),
        ),
        // Headscale decodes an entry without `action` (its keys all `#` comments, say) to
        // the zero value and does not reject it (hscontrol/policy/v2/types.go,
        // `ACL.UnmarshalJSON`; `Action.UnmarshalJSON` runs only on a present key).
        None if opts.dialect == Dialect::Headscale => {}
        None => out.push(
            err(
                codes::UNSUPPORTED_ACTION,
                "action=\"\" is not supported",
                acl.span,
            )
            .with_label("no action")
            .with_help("add \"action\": \"accept\""),
        ),
    }
    for s in &acl.src {
        check_alias(s.span, s.alias(), Side::Src, names, opts, out);
    }
    let protos = acl.proto.as_ref().and_then(|p| match p.protos() {
        Ok(protos) => Some(protos),
        Err(e) => {
            let message = match opts.dialect {
                Dialect::Tailscale => e.to_string(),
                Dialect::Headscale => super::headscale::proto_message(p),
            };
            out.push(
                err(codes::UNKNOWN_PROTOCOL, message, p.span)
                    .with_label("unknown protocol")
                    .with_help(PROTO_HELP),
            );
            None
        }
    });
    let mut has_self = false;
    for d in &acl.dst {
        let text = d.trimmed();
        let (Some(alias), Some(ports)) = (d.host(), d.ports()) else {
            out.push(
                err(
                    codes::INVALID_PORTS,
                    match opts.dialect {
                        Dialect::Tailscale => {
                            format!("dst={text:?}: missing port, write {text:?} as \"{text}:*\"")
                        }
                        // hscontrol/policy/v2/types.go, `AliasWithPorts.UnmarshalJSON`.
                        Dialect::Headscale => "hostport must contain a colon".to_string(),
                    },
                    d.span,
                )
                .with_label("no port")
                .with_help(
                    "ACL destinations are `alias:ports`, e.g. `tag:web:443` or `group:dev:*`",
                ),
            );
            continue;
        };
        match ports {
            Ok(ranges) => {
                if let Some(protos) = protos {
                    if !protos.iter().copied().any(crate::vocab::has_ports)
                        && ranges != [selector::PortRange::ALL]
                    {
                        out.push(
                            err(
                                codes::INVALID_PORTS,
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
                    err(codes::INVALID_PORTS, format!("dst={text:?}: {e}"), d.span)
                        .with_label("invalid port")
                        .with_help("ports are `*`, a number 1-65535, a range `80-443`, or a comma-separated list"),
                );
                continue;
            }
        }
        has_self |= alias.as_str() == "autogroup:self";
        check_alias(d.span, alias.alias(), Side::Dst, names, opts, out);
    }
    if has_self {
        check_self_sources(&acl.src, true, out);
    }
    check_postures(&acl.src_posture, names, out);
}

const PROTO_HELP: &str =
    "use a protocol name (tcp, udp, icmp, sctp, gre, esp, ah...) or an IANA number 1-255";

fn check_grant(
    g: &Spanned<Grant>,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    if g.ip.is_empty() && g.app.is_empty() {
        out.push(
            err(
                codes::GRANT_WITHOUT_IP_OR_APP,
                "ip and app can not both be empty",
                g.app.span,
            )
            .with_label("grants nothing")
            .with_help("add `\"ip\": [\"*\"]` for network access, or an `app` capability"),
        );
    }
    for ip in &g.ip {
        if let Err(e) = ip.spec() {
            out.push(
                err(codes::INVALID_PORTS, e, ip.span)
                    .with_label("invalid ip entry")
                    .with_help("write `*`, a port (`22`), a range (`80-443`) or `proto:ports` (`tcp:443`, `icmp:*`)"),
            );
        }
    }
    for (name, _) in &g.app {
        check_cap_name(name, out);
    }
    for s in &g.src {
        check_alias(s.span, s.alias(), Side::Src, names, opts, out);
    }
    let mut has_self = false;
    for d in &g.dst {
        match d.alias() {
            Alias::Prefix(net) if net.prefix_len() == 0 => out.push(
                err(codes::ALL_ADDRESSES_DST, format!("dst {:?}: to allow all IP addresses, use \"*\" or \"autogroup:internet\"", net.to_string()), d.span)
                    .with_label("the whole address space")
                    .with_help("use `*` for every node and route, or `autogroup:internet` for exit-node traffic"),
            ),
            Alias::Autogroup(a) if a == "autogroup:internet" && !g.app.is_empty() => out.push(
                err(codes::CAP_TO_INTERNET, "cannot use app grants with autogroup:internet", d.span)
                    .with_label("app capability towards the internet")
                    .with_help("split the grant: `ip` towards autogroup:internet, `app` towards your nodes"),
            ),
            Alias::Autogroup(a) if a == "autogroup:self" => has_self = true,
            _ => {}
        }
        check_alias(d.span, d.alias(), Side::Dst, names, opts, out);
    }
    if has_self {
        check_self_sources(&g.src, false, out);
    }
    for v in &g.via {
        match v.alias() {
            Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
            Alias::Tag(t) => out.push(
                err(codes::TAG_NOT_FOUND, format!("tag {t:?} not found"), v.span)
                    .with_label("no such tag")
                    .with_help(tag_not_found(t, None, v.span, names).help.unwrap_or_default()),
            ),
            _ => out.push(
                err(codes::VIA_NOT_TAG, "via can only be a tag", v.span)
                    .with_label("not a tag")
                    .with_help("`via` names the tags of the routers or exit nodes the traffic must go through"),
            ),
        }
    }
    check_postures(&g.src_posture, names, out);
}

/// Checks an app capability name: `{domain}/{path}`, and not one of the `tailscale.com` names
/// the control plane is known to reject. Other `tailscale.com` names are left to the
/// `unknown-tailscale-capability` lint: the control plane's full list is not public.
pub(crate) fn check_cap_name(name: &Spanned<CapName>, out: &mut Vec<Diagnostic>) {
    if !name.is_well_formed() {
        out.push(
            err(
                codes::INVALID_CAP_NAME,
                "capability name must have the form {domain}/{path}",
                name.span,
            )
            .with_label("not {domain}/{path}")
            .with_help("name capabilities like `example.com/cap/my-app`, without a URL scheme"),
        );
    } else if name.tailscale() == Some(TailscaleCap::Rejected) {
        out.push(
            err(
                codes::RESERVED_CAP,
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
    let headscale = opts.dialect == Dialect::Headscale;
    if headscale {
        super::headscale::node_attrs(p, out);
        super::headscale::bracketed_destinations(p, out);
    }
    for na in &p.node_attrs {
        for t in &na.target {
            // Headscale's own rule for autogroup targets replaces Tailscale's.
            if headscale && matches!(t.alias(), Alias::Autogroup(a) if is_known_autogroup(a)) {
                continue;
            }
            check_alias(t.span, t.alias(), Side::Target, names, opts, out);
        }
        if headscale {
            continue;
        }
        for pool in &na.ip_pool {
            let Some(net) = pool.trim().parse::<IpNet>().ok() else {
                out.push(
                    err(
                        codes::INVALID_IP_POOL,
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
                    err(codes::INVALID_IP_POOL, format!("IPPool({net}): network within reserved range"), pool.span)
                        .with_label("reserved by Tailscale")
                        .with_help("100.100.100.0/24 (MagicDNS) and 100.115.92.0/23 are reserved; pick another part of 100.64.0.0/10"),
                );
            } else if !cgnat.contains(&net) {
                out.push(
                    err(
                        codes::INVALID_IP_POOL,
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
