//! Selectors in rules: which aliases may stand where, and whether what they name exists.

use super::Options;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::Str;
use crate::model::selector::Alias;
use crate::model::Dialect;
use crate::span::Span;
use crate::vocab::{KNOWN_AUTOGROUPS, ROLE_AUTOGROUPS};

fn err(code: &'static crate::codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

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

/// The autogroups Headscale defines, in its order (hscontrol/policy/v2/types.go, `autogroups`).
const HEADSCALE_AUTOGROUPS: &[&str] = &[
    "autogroup:internet",
    "autogroup:member",
    "autogroup:nonroot",
    "autogroup:tagged",
    "autogroup:self",
    "autogroup:danger-all",
];

/// True for an autogroup Tailscale defines.
pub(super) fn is_known_autogroup(a: &str) -> bool {
    KNOWN_AUTOGROUPS.contains(&a)
}

/// An autogroup Tailscale does not define. This one finding stands for the name wherever it
/// is used: rules that look at what a source is skip unknown autogroups.
pub(super) fn unknown_autogroup(a: &str, span: Span, dialect: Dialect) -> Diagnostic {
    let message = match dialect {
        Dialect::Tailscale => format!("unknown autogroup {a:?}"),
        // hscontrol/policy/v2/types.go, `AutoGroup.Validate`: `ErrInvalidAutogroup` with
        // Headscale's autogroups as Go prints a slice.
        Dialect::Headscale => format!(
            "invalid autogroup: got {a:?}, must be one of [{}]",
            HEADSCALE_AUTOGROUPS.join(" ")
        ),
    };
    let d = err(codes::AUTOGROUP_NOT_ALLOWED, message, span).with_label("unknown autogroup");
    match crate::model::policy::suggest_name(a, KNOWN_AUTOGROUPS.iter().copied()) {
        Some(near) => d
            .with_help(format!("did you mean `{near}`?"))
            .with_suggestion(a, near),
        None => d.with_help(format!(
            "the autogroups are {}",
            KNOWN_AUTOGROUPS.join(", ")
        )),
    }
}

/// Extends a diagnostic with help that leads with "did you mean" when a known name is a
/// likely typo of the word.
trait Suggesting {
    /// Sets `help`, led by "did you mean" (and the suggestion itself, for an editor's quick
    /// fix) when one of `known` is a likely typo of `word`.
    fn suggesting<'a>(self, word: &str, known: impl Iterator<Item = &'a str>, help: String)
        -> Self;
}

impl Suggesting for Diagnostic {
    fn suggesting<'a>(
        self,
        word: &str,
        known: impl Iterator<Item = &'a str>,
        help: String,
    ) -> Self {
        match crate::model::policy::suggest_name(word, known) {
            Some(near) => self
                .with_help(format!("did you mean `{near}`? Otherwise {help}"))
                .with_suggestion(word, near),
            None => self.with_help(help),
        }
    }
}

pub(super) fn tag_not_found(
    tag: &str,
    side: Option<Side>,
    span: Span,
    names: &Names<'_>,
) -> Diagnostic {
    let message = match side {
        Some(Side::Src) => format!("src=tag not found: {tag:?}"),
        Some(Side::Dst) => format!("dst={tag:?}: tag not found: {tag:?}"),
        _ => format!("tag not found: {tag:?}"),
    };
    err(codes::TAG_NOT_FOUND, message, span)
        .with_label("no such tag")
        .suggesting(
            tag,
            names.tags.iter().copied(),
            format!("define the tag in `tagOwners`, e.g. \"{tag}\": [\"autogroup:admin\"]"),
        )
}

pub(super) fn group_not_found(
    group: &str,
    side: Option<Side>,
    span: Span,
    names: &Names<'_>,
    dialect: Dialect,
) -> Diagnostic {
    let message = match (dialect, side) {
        // hscontrol/policy/v2/types.go, `Groups.Contains`: `ErrGroupNotDefined` and the name.
        (Dialect::Headscale, _) => format!("group not defined in policy: {group:?}"),
        (_, Some(Side::Src)) => format!("src=group not found: {group:?}"),
        (_, Some(Side::Dst)) => format!("dst={group:?}: group not found: {group:?}"),
        _ => format!("group not found: {group:?}"),
    };
    err(codes::GROUP_NOT_FOUND, message, span)
        .with_label("no such group")
        .suggesting(
            group,
            names.groups.keys().copied(),
            format!("define the group in `groups`, e.g. \"{group}\": [\"alice@example.com\"]"),
        )
}

/// Checks one selector (`alias`, written at `span`) standing at `side`: that what it names
/// is defined and allowed there.
pub(super) fn check_alias(
    span: Span,
    alias: &Alias,
    side: Side,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    match alias {
        Alias::Wildcard | Alias::User(_) | Alias::Prefix(_) | Alias::Service(_) => {}
        Alias::UserDomain(domain) => check_domain(domain, "", span, opts, out),
        Alias::Group(g) if names.groups.contains_key(g.as_str()) => {}
        Alias::Group(g) => out.push(group_not_found(g, Some(side), span, names, opts.dialect)),
        Alias::Tag(t) if names.tags.contains(t.as_str()) => {}
        Alias::Tag(t) => out.push(tag_not_found(t, Some(side), span, names)),
        Alias::Ipset(i) if names.ipsets.contains_key(i.as_str()) => {}
        Alias::Ipset(i) => out.push(
            err(
                codes::IPSET_NOT_FOUND,
                format!("ipset not found: {i:?}"),
                span,
            )
            .with_label("no such ipset")
            .suggesting(
                i,
                names.ipsets.keys().copied(),
                format!("define it in `ipsets`, e.g. \"{i}\": [\"10.0.0.0/8\"]"),
            ),
        ),
        Alias::Host(h) if names.hosts.contains_key(h.as_str()) => {}
        Alias::Host(h) => {
            let message = match opts.dialect {
                Dialect::Tailscale => format!("{h:?}: invalid address"),
                // hscontrol/policy/v2/types.go, `Policy.validate`: `ErrHostNotDefined` and
                // the name, for ACL and grant sources and destinations and nodeAttrs targets.
                Dialect::Headscale => format!("host not defined in policy: {h:?}"),
            };
            let d = err(codes::HOST_NOT_FOUND, message, span)
                .with_label("not a host, IP or known name");
            out.push(
                match crate::model::policy::suggest_name(h, names.hosts.keys().copied()) {
                    Some(near) => d
                        .with_help(format!(
                            "did you mean the host \"{near}\"? Otherwise define \"{h}\" in `hosts`"
                        ))
                        .with_suggestion(h, near),
                    None => d.with_help(format!(
                        "define \"{h}\" in `hosts`, or use a tag, group, user, IP or CIDR"
                    )),
                },
            );
        }
        Alias::Autogroup(a) => check_autogroup(a, side, span, opts.dialect, out),
    }
}

fn check_autogroup(a: &str, side: Side, span: Span, dialect: Dialect, out: &mut Vec<Diagnostic>) {
    if !is_known_autogroup(a) {
        out.push(unknown_autogroup(a, span, dialect));
        return;
    }
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
        // Tailscale's wording for an autogroup out of place (tailscale/tailscale#8194).
        _ => Some(format!(
            "{a:?} is not allowed in {}",
            match side {
                Side::Src => "src",
                Side::Dst => "dst",
                Side::Target => "target",
            }
        )),
    };
    if let Some(message) = problem {
        out.push(
            err(codes::AUTOGROUP_NOT_ALLOWED, message, span)
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
                codes::FOREIGN_DOMAIN,
                format!("{prefix}{domain} is not associated with this Tailnet and cannot be used in user:*@<domain> expressions"),
                span,
            )
            .with_label("not this tailnet's domain")
            .with_help(format!("this tailnet's domain is `{own}` (domains are case-sensitive)")),
        );
    }
}

pub(super) fn check_postures(list: &[Str], names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    for p in list {
        if !names.postures.contains_key(p.as_str()) {
            out.push(
                err(codes::POSTURE_NOT_FOUND, format!("posture not found: {:?}", p.value), p.span)
                    .with_label("no such posture")
                    .suggesting(
                        p.as_str(),
                        names.postures.keys().copied(),
                        "define it in `postures`, e.g. \"posture:latest\": [\"node:tsReleaseTrack == 'stable'\"]".to_string(),
                    ),
            );
        }
    }
}
