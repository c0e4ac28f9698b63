//! Rules for `ssh` and the shape of `sshTests`.

use super::duration;
use super::names::Names;
use super::selectors::{
    check_alias, check_domain, check_postures, is_known_autogroup, tag_not_found,
    unknown_autogroup, Side, ROLE_AUTOGROUPS,
};
use super::Options;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::{Policy, SshRule};
use crate::model::selector::{parse_alias, Alias};
use crate::span::Spanned;

/// The longest `checkPeriod` the control plane accepts: one week.
const MAX_CHECK_PERIOD_NS: i128 = 168 * 3_600_000_000_000;

pub(super) fn check(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    for rule in &p.ssh {
        check_rule(rule, names, opts, out);
    }
    ssh_tests_shape(p, names, out);
}

fn err(
    code: &'static crate::codes::Code,
    message: impl Into<String>,
    span: crate::span::Span,
) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

fn check_rule(
    r: &Spanned<SshRule>,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    match r.action.as_ref().map(|a| (a, a.trim())) {
        None | Some((_, "")) => out.push(
            err(
                codes::INVALID_SSH_ACTION,
                "action must be specified",
                r.action.as_ref().map_or(r.span, |a| a.span),
            )
            .with_label("no action")
            .with_help("add \"action\": \"accept\" (or \"check\" to require a recent login)"),
        ),
        Some((_, "accept" | "check")) => {}
        Some((a, text)) => out.push(
            err(
                codes::INVALID_SSH_ACTION,
                format!("{text:?} is not a valid action"),
                a.span,
            )
            .with_label("unknown action")
            .with_help("SSH actions are \"accept\" and \"check\" (lowercase)"),
        ),
    }
    match &r.users.value {
        None => out.push(users_missing(r.users.span)),
        Some(users) if users.is_empty() => out.push(users_missing(r.users.span)),
        Some(users) => {
            for u in users {
                let text = u.trim();
                if text.is_empty() || text == "*" {
                    out.push(
                        err(codes::INVALID_SSH_USER, format!("user {text:?} is not valid"), u.span)
                            .with_label("not a login name")
                            .with_help("list login names (`root`, `ubuntu`), `autogroup:nonroot`, or `localpart:*@<domain>`"),
                    );
                } else if let Some(pattern) = text.strip_prefix("localpart:") {
                    if let Some(domain) = pattern.strip_prefix("*@") {
                        check_domain(domain, "", u.span, opts, out);
                    }
                }
            }
        }
    }
    for env in &r.accept_env {
        if env.is_empty() {
            out.push(
                err(
                    codes::EMPTY_ACCEPT_ENV,
                    "acceptEnv values cannot be empty",
                    env.span,
                )
                .with_label("empty")
                .with_help("list variable names or patterns such as `GIT_*`"),
            );
        }
    }
    if let Some(period) = &r.check_period {
        check_period(period, out);
    }
    for s in &r.src {
        check_source(s, names, opts, out);
    }
    for d in &r.dst {
        let text = d.trim();
        match parse_alias(text) {
            Alias::Tag(t) if !names.tags.contains(t.as_str()) => out.push(tag_not_found(&t, Some(Side::Dst), d.span, names)),
            Alias::Tag(_) | Alias::User(_) => {}
            Alias::Autogroup(a) if matches!(a.as_str(), "autogroup:self" | "autogroup:member" | "autogroup:tagged") => {}
            Alias::Autogroup(a) if !is_known_autogroup(&a) => out.push(unknown_autogroup(&a, d.span)),
            _ => out.push(
                err(codes::INVALID_SSH_DESTINATION, format!("invalid dst {text:?}"), d.span)
                    .with_label("not an SSH destination")
                    .with_help("SSH destinations are tags, users, autogroup:self, autogroup:member or autogroup:tagged (not hosts, IPs or `*`)"),
            ),
        }
    }
    check_postures(&r.src_posture, names, out);
    super::ssh_pairs::check(r, out);
}

/// One SSH source: an identity (user, group, tag, or a user or tag autogroup).
fn check_source(
    s: &crate::model::policy::Str,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let text = s.trim();
    let help = "SSH sources are users, groups, tags, autogroup:member, autogroup:tagged and the role autogroups";
    match parse_alias(text) {
        Alias::UserDomain(d) => check_domain(&d, "[ssh] ", s.span, opts, out),
        Alias::Autogroup(a) if !is_known_autogroup(&a) => out.push(unknown_autogroup(&a, s.span)),
        Alias::Autogroup(a)
            if a != "autogroup:member"
                && a != "autogroup:tagged"
                && !ROLE_AUTOGROUPS.contains(&a.as_str()) =>
        {
            out.push(
                // Tailscale's wording for an autogroup an SSH source may not use
                // (tailscale/tailscale#8194: `"autogroup:admin" is not allowed in src`, since
                // lifted for the role autogroups).
                err(
                    codes::INVALID_SSH_SOURCE,
                    format!("{a:?} is not allowed in src"),
                    s.span,
                )
                .with_label("autogroup not allowed in an SSH source")
                .with_help(help),
            )
        }
        Alias::Wildcard
        | Alias::Prefix(_)
        | Alias::Host(_)
        | Alias::Ipset(_)
        | Alias::Service(_) => out.push(
            err(
                codes::INVALID_SSH_SOURCE,
                format!("invalid src {text:?}"),
                s.span,
            )
            .with_label("not an identity")
            .with_help(help),
        ),
        _ => check_alias(s, text, Side::Src, names, opts, out),
    }
}

fn users_missing(span: crate::span::Span) -> Diagnostic {
    err(codes::SSH_WITHOUT_USERS, "users must be specified", span)
        .with_label("no login users")
        .with_help("add \"users\": [\"autogroup:nonroot\"] or the login names allowed")
}

fn check_period(period: &crate::model::policy::Str, out: &mut Vec<Diagnostic>) {
    let text = period.trim();
    if text == "always" {
        return;
    }
    let help = "write a Go duration like `12h` or `30m` (at most `168h`), or `always`";
    match duration::parse(text) {
        Err(e) => out.push(
            err(codes::INVALID_CHECK_PERIOD, e, period.span)
                .with_label("not a duration")
                .with_help(help),
        ),
        Ok(ns) if ns < 0 => out.push(
            err(
                codes::INVALID_CHECK_PERIOD,
                format!(
                    "checkPeriod {} must be a positive duration",
                    duration::format(ns)
                ),
                period.span,
            )
            .with_label("negative")
            .with_help(help),
        ),
        Ok(ns) if ns > MAX_CHECK_PERIOD_NS => out.push(
            err(
                codes::INVALID_CHECK_PERIOD,
                format!(
                    "checkPeriod {} is above the max (168h)",
                    duration::format(ns)
                ),
                period.span,
            )
            .with_label("longer than a week")
            .with_help(help),
        ),
        Ok(_) => {}
    }
}

/// The shape of `sshTests` destinations, which the control plane checks with its own
/// messages before evaluating anything.
fn ssh_tests_shape(p: &Policy, names: &Names<'_>, out: &mut Vec<Diagnostic>) {
    let help = "an SSH test destination is one node: a tag, a user, an autogroup or a single IP";
    for t in &p.ssh_tests {
        for d in &t.dst {
            let text = d.trim();
            let problem = match parse_alias(text) {
                Alias::Autogroup(a) if a == "autogroup:internet" => Some(format!(
                    "SSH tests dst contains disallowed element {text:?}"
                )),
                Alias::Prefix(net) if net.prefix_len() < net.max_prefix_len() => Some(format!(
                    "SSH tests dst contains disallowed element {text:?}"
                )),
                Alias::Host(h) => match names.hosts.get(h.as_str()) {
                    Some(Some(net)) if net.prefix_len() < net.max_prefix_len() => Some(format!(
                        "SSH tests dst contains disallowed element {text:?}"
                    )),
                    _ => None,
                },
                Alias::Tag(tag) if !names.tags.contains(tag.as_str()) => {
                    Some(format!("SSH tests dst contains unknown tag {text:?}"))
                }
                _ => None,
            };
            if let Some(message) = problem {
                out.push(
                    err(codes::INVALID_SSH_TEST_DESTINATION, message, d.span)
                        .with_label("not one node")
                        .with_help(help),
                );
            }
        }
        if t.accept.is_empty() && t.check.is_empty() && t.deny.is_empty() {
            out.push(
                err(
                    codes::TEST_FAILED,
                    "test(s) failed: an SSH test needs `accept`, `check` or `deny`",
                    t.span,
                )
                .with_label("asserts nothing")
                .with_help("list the login users that must be accepted, checked or denied"),
            );
        }
        if t.src.as_ref().is_none_or(|s| s.trim().is_empty()) {
            out.push(
                err(
                    codes::TEST_FAILED,
                    "test(s) failed: an SSH test needs a `src`",
                    t.span,
                )
                .with_label("no source")
                .with_help("name the user or tag the test connects from"),
            );
        }
        for u in t.accept.iter().chain(&t.check).chain(&t.deny) {
            if u.trim() == "*" || u.trim().is_empty() {
                out.push(
                    err(
                        codes::INVALID_SSH_USER,
                        format!("user {:?} is not valid", u.trim()),
                        u.span,
                    )
                    .with_label("not a login name")
                    .with_help("test one login name at a time"),
                );
            }
        }
    }
}
