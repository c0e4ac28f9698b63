//! The definitions: groups, tagOwners, hosts, autoApprovers, postures and ipsets.

use super::selectors::{
    check_alias, check_domain, check_postures, group_not_found, is_known_autogroup, tag_not_found,
    unknown_autogroup, Side,
};
use super::Options;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::{parse_prefix, Names};
use crate::model::policy::{Policy, Sel};
use crate::model::selector::Alias;
use crate::model::Dialect;
use crate::span::Span;
use crate::vocab::ROLE_AUTOGROUPS;
use ipnet::IpNet;

fn err(code: &'static crate::codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

pub(super) fn groups(p: &Policy, dialect: Dialect, out: &mut Vec<Diagnostic>) {
    for (name, members) in &p.groups {
        let message = match dialect {
            Dialect::Tailscale if !name.starts_with("group:") || name.len() == "group:".len() => {
                format!("group name {:?} must start with \"group:\"", name.value)
            }
            // hscontrol/policy/v2/types.go, `Group.Validate`: the prefix alone.
            Dialect::Headscale if !name.starts_with("group:") => {
                format!("group must start with 'group:', got: {:?}", name.value)
            }
            _ => String::new(),
        };
        if !message.is_empty() {
            out.push(
                err(codes::INVALID_GROUP_NAME, message, name.span)
                    .with_label("not a group name")
                    .with_help("name groups `group:<name>`"),
            );
        }
        for m in members {
            if m.starts_with("group:") {
                out.push(
                    err(
                        codes::NESTED_GROUP,
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
                        codes::INVALID_GROUP_MEMBER,
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

pub(super) fn tag_owners(
    p: &Policy,
    names: &Names<'_>,
    dialect: Dialect,
    out: &mut Vec<Diagnostic>,
) {
    let headscale = dialect == Dialect::Headscale;
    for (tag, owners) in &p.tag_owners {
        let rest = tag.strip_prefix("tag:");
        match rest {
            None => out.push(
                err(
                    codes::INVALID_TAG_NAME,
                    match dialect {
                        Dialect::Tailscale => format!(
                            "tagOwners[{:?}]: tag names must start with \"tag:\"",
                            tag.value
                        ),
                        // hscontrol/policy/v2/types.go, `Tag.Validate`.
                        Dialect::Headscale => {
                            format!("tag must start with 'tag:', got: {:?}", tag.value)
                        }
                    },
                    tag.span,
                )
                .with_label("not a tag")
                .with_help("name tags `tag:<name>`"),
            ),
            Some(rest) if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) => out.push(
                err(
                    codes::INVALID_TAG_NAME,
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
            // Headscale checks the first letter only (hscontrol/policy/v2/types.go,
            // `Tag.Validate`).
            Some(rest)
                if !headscale && !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                out.push(
                    err(
                        codes::INVALID_TAG_NAME,
                        format!(
                        "tagOwners[{:?}]: tag names can only contain numbers, letters, or dashes",
                        tag.value
                    ),
                        tag.span,
                    )
                    .with_label("invalid character")
                    .with_help("after `tag:`, use ASCII letters, digits and dashes only"),
                );
            }
            Some(_) => {}
        }
        for owner in owners {
            check_owner(Some(tag), owner, names, dialect, out);
        }
    }
}

/// Checks a tag owner (of `owner_of`, a tag) or an auto-approver (`owner_of` is `None`).
fn check_owner(
    owner_of: Option<&str>,
    owner: &Sel,
    names: &Names<'_>,
    dialect: Dialect,
    out: &mut Vec<Diagnostic>,
) {
    if dialect == Dialect::Headscale && !headscale_owner_form(&owner.value) {
        out.push(headscale_invalid_owner(owner_of.is_some(), owner));
        return;
    }
    match owner.alias() {
        Alias::User(_) => {}
        Alias::Group(g) if names.groups.contains_key(g.as_str()) => {}
        Alias::Group(g) => out.push(group_not_found(g, None, owner.span, names, dialect)),
        Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
        Alias::Tag(t) => {
            let mut d = tag_not_found(t, None, owner.span, names);
            if let (Dialect::Headscale, Some(tag)) = (dialect, owner_of) {
                // hscontrol/policy/v2/policy.go, `ErrUndefinedTagReference` with the owning tag.
                d.message = format!("tag {tag:?} references undefined tag {t:?}");
            }
            out.push(d);
        }
        Alias::Autogroup(a)
            if a == "autogroup:member"
                || a == "autogroup:tagged"
                || ROLE_AUTOGROUPS.contains(&a.as_str()) => {}
        Alias::Autogroup(a) if !is_known_autogroup(a) => out.push(
            err(
                codes::INVALID_OWNER,
                format!("{:?}: not a valid owner", owner.value),
                owner.span,
            )
            .with_label("unknown autogroup")
            .with_help(
                unknown_autogroup(a, owner.span, dialect)
                    .help
                    .unwrap_or_default(),
            ),
        ),
        _ => out.push(
            err(
                codes::INVALID_OWNER,
                format!("{:?}: not a valid owner", owner.value),
                owner.span,
            )
            .with_label("not a user, group, tag or autogroup")
            .with_help("owners and approvers are users, groups, tags or role autogroups"),
        ),
    }
}

/// Headscale reads a tag owner or an auto-approver only as a user (any text with `@`), a
/// group or a tag: no autogroup, no host or address (hscontrol/policy/v2/types.go,
/// `parseOwner` and `parseAutoApprover`, with `isUser`, `isGroup` and `isTag`).
fn headscale_owner_form(s: &str) -> bool {
    s.contains('@') || s.starts_with("group:") || s.starts_with("tag:")
}

/// Headscale's error for an owner or approver of another form: `ErrInvalidOwner` or
/// `ErrInvalidAutoApprover` (types.go) and the text, as it fails to decode the policy.
fn headscale_invalid_owner(is_tag_owner: bool, owner: &Sel) -> Diagnostic {
    let (what, field) = if is_tag_owner {
        ("owner", "tag owners")
    } else {
        ("auto approver", "auto-approvers")
    };
    err(
        codes::INVALID_OWNER,
        format!("invalid {what} format: {:?}", owner.value),
        owner.span,
    )
    .with_label("not a user, group or tag")
    .with_help(format!(
        "Headscale's {field} are users (written with `@`: `alice@` or `alice@example.com`), groups and tags; it has no autogroup here"
    ))
}

pub(super) fn hosts(p: &Policy, out: &mut Vec<Diagnostic>) {
    for (name, value) in &p.hosts {
        if name.contains('@') || name.contains(':') || name.is_empty() {
            out.push(
                err(
                    codes::INVALID_HOST,
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
                    codes::INVALID_HOST,
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

pub(super) fn auto_approvers(
    p: &Policy,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(aa) = &p.auto_approvers else { return };
    for (route, approvers) in &aa.routes {
        if route.trim().parse::<IpNet>().is_err() {
            out.push(
                err(
                    codes::INVALID_ROUTE,
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

fn check_approver(a: &Sel, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    match a.alias() {
        Alias::UserDomain(d) => check_domain(d, "", a.span, opts, out),
        _ => check_owner(None, a, names, opts.dialect, out),
    }
}

pub(super) fn postures(p: &Policy, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    for (name, _) in &p.postures {
        if !name.starts_with("posture:") {
            out.push(
                err(
                    codes::INVALID_POSTURE_NAME,
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

pub(super) fn ipsets(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    for (name, entries) in &p.ipsets {
        if !name.starts_with("ipset:") {
            out.push(
                err(
                    codes::INVALID_IPSET,
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
            let body = e.selector();
            if body.as_str() == name.as_str() {
                out.push(
                    err(
                        codes::INVALID_IPSET,
                        format!("ipsets[{:?}]: an ipset cannot include itself", name.value),
                        e.span,
                    )
                    .with_label("refers to itself")
                    .with_help("list addresses, hosts or other ipsets"),
                );
                continue;
            }
            check_alias(e.span, body.alias(), Side::Src, names, opts, out);
        }
    }
}
