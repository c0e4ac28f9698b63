//! Rules for `ssh`.

use super::duration;
use super::selectors::{
    check_alias, check_domain, check_postures, is_known_autogroup, tag_not_found,
    unknown_autogroup, Side,
};
use super::Options;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::{Policy, SshRule};
use crate::model::selector::Alias;
use crate::span::Spanned;
use crate::vocab::ROLE_AUTOGROUPS;

/// The longest `checkPeriod` the control plane accepts: one week.
const MAX_CHECK_PERIOD_NS: i128 = 168 * 3_600_000_000_000;

pub(super) fn check(p: &Policy, names: &Names<'_>, opts: &Options<'_>, out: &mut Vec<Diagnostic>) {
    for rule in &p.ssh {
        check_rule(rule, names, opts, out);
    }
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
        let is_check = r.action.as_ref().is_some_and(|a| a.trim() == "check");
        if opts.dialect == crate::model::Dialect::Headscale && !is_check {
            // Headscale refuses what Tailscale ignores (and tailgrant warns of, TG1010): a
            // period on a rule that never re-authenticates (hscontrol/policy/v2/types.go,
            // `Policy.validate`: `ErrSSHCheckPeriodOnNonCheck`).
            out.push(
                err(
                    codes::INVALID_CHECK_PERIOD,
                    "checkPeriod is only valid with action \"check\"",
                    period.span,
                )
                .with_label("not a check rule")
                .with_help("make the rule `\"action\": \"check\"`, or remove checkPeriod"),
            );
        } else {
            check_period(period, out);
        }
    }
    for s in &r.src {
        check_source(s, names, opts, out);
    }
    for d in &r.dst {
        let text = d.trimmed();
        match d.alias() {
            Alias::Tag(t) if !names.tags.contains(t.as_str()) => out.push(tag_not_found(t, Some(Side::Dst), d.span, names)),
            Alias::Tag(_) | Alias::User(_) => {}
            Alias::Autogroup(a) if matches!(a.as_str(), "autogroup:self" | "autogroup:member" | "autogroup:tagged") => {}
            Alias::Autogroup(a) if !is_known_autogroup(a) => out.push(unknown_autogroup(a, d.span, opts.dialect)),
            _ => out.push(
                err(codes::INVALID_SSH_DESTINATION, format!("invalid dst {text:?}"), d.span)
                    .with_label("not an SSH destination")
                    .with_help("SSH destinations are tags, users, autogroup:self, autogroup:member or autogroup:tagged (not hosts, IPs or `*`)"),
            ),
        }
    }
    check_postures(&r.src_posture, names, out);
    super::ssh_pairs::check(r, opts.dialect, out);
}

/// One SSH source: an identity (user, group, tag, or a user or tag autogroup).
fn check_source(
    s: &crate::model::policy::Sel,
    names: &Names<'_>,
    opts: &Options<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let text = s.trimmed();
    let help = "SSH sources are users, groups, tags, autogroup:member, autogroup:tagged and the role autogroups";
    match s.alias() {
        Alias::UserDomain(d) => check_domain(d, "[ssh] ", s.span, opts, out),
        Alias::Autogroup(a) if !is_known_autogroup(a) => {
            out.push(unknown_autogroup(a, s.span, opts.dialect))
        }
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
        alias => check_alias(s.span, alias, Side::Src, names, opts, out),
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
