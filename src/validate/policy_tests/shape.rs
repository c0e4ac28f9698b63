//! The shape of `tests` and `sshTests` entries, checked without a tailnet: what makes an
//! entry malformed whatever the nodes are (a missing source, a destination that is not one
//! host and one port, an unknown name). With a tailnet the evaluation ([`super::eval`])
//! replaces these findings: it finds the same malformed entries and more.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::names::Names;
use crate::model::policy::Policy;
use crate::model::selector::{Alias, Dst, Selector};
use crate::model::Dialect;
use crate::span::Span;
use crate::vocab::ROLE_AUTOGROUPS;

fn err(code: &'static codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span)
}

/// The shape of `tests` entries. A malformed entry fails the tests, which the control plane
/// reports as `test(s) failed`.
pub(super) fn tests(p: &Policy, names: &Names<'_>, dialect: Dialect, out: &mut Vec<Diagnostic>) {
    let fail = |span: Span, why: String, help: &str| {
        err(codes::TEST_FAILED, format!("test(s) failed: {why}"), span)
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
            if let Some(why) = test_source_problem(src, names) {
                out.push(fail(
                    src.span,
                    format!("tests[{i}]: src {:?}: {why}", src.value),
                    "the source must be a defined user, group, tag, host or an IP",
                ));
            }
        }
        let accepts = t.accept.iter().map(|d| ("accept", d));
        for (list, d) in accepts.chain(t.deny.iter().map(|d| ("deny", d))) {
            if let Some(why) = test_destination_problem(d, names, dialect) {
                let why = match dialect {
                    Dialect::Tailscale => format!("tests[{i}]: {:?}: {why}", d.value),
                    // hscontrol/policy/v2/types.go, `validateTests`.
                    Dialect::Headscale => format!("test {i}, {list} {:?}: {why}", d.value),
                };
                out.push(fail(
                    d.span,
                    why,
                    "a test destination is one host and one port, e.g. `tag:web:443`",
                ));
            }
        }
    }
}

/// Why a `tests` destination is malformed, if it is.
///
/// Under Headscale the messages are its own (hscontrol/policy/v2/types.go,
/// `validateTestDestination`: `ErrTestDestinationMultiPort`, `ErrTestDestinationCIDR`,
/// `ErrAutogroupInternetTestDst`).
fn test_destination_problem(d: &Dst, names: &Names<'_>, dialect: Dialect) -> Option<&'static str> {
    let headscale = dialect == Dialect::Headscale;
    let (Some(host), Some(ports)) = (d.host(), d.ports()) else {
        return Some(if headscale {
            "hostport must contain a colon"
        } else {
            "no port"
        });
    };
    match ports {
        Ok([one]) if one.first == one.last => {}
        Ok(_) if headscale => return Some("test destination port must be a single port"),
        Ok(_) => return Some("must name exactly one port"),
        Err(_) => return Some("invalid port"),
    }
    let cidr = if headscale {
        "test destination must be a single host, not a CIDR range"
    } else {
        "a CIDR is not one host"
    };
    match host.alias() {
        Alias::Autogroup(a) if a == "autogroup:internet" && headscale => {
            Some("autogroup:internet not valid as a test destination")
        }
        Alias::Autogroup(a) if a == "autogroup:internet" => {
            Some("autogroup:internet cannot be tested")
        }
        Alias::Prefix(_) if host.contains('/') => Some(cidr),
        Alias::Host(h) => match names.hosts.get(h.as_str()) {
            Some(Some(net)) if net.prefix_len() < net.max_prefix_len() && headscale => Some(cidr),
            Some(Some(net)) if net.prefix_len() < net.max_prefix_len() => {
                Some("the host is a range, not one host")
            }
            Some(_) => None,
            None => Some("unknown host"),
        },
        _ => test_source_problem(host, names),
    }
}

/// Why a `tests` source (or destination alias) names nothing the policy defines, if so.
fn test_source_problem(s: &Selector, names: &Names<'_>) -> Option<&'static str> {
    match s.alias() {
        _ if s.trimmed().is_empty() => Some("empty"),
        Alias::Tag(t) if !names.tags.contains(t.as_str()) => Some("unknown tag"),
        Alias::Group(g) if !names.groups.contains_key(g.as_str()) => Some("unknown group"),
        Alias::Host(h) if !names.hosts.contains_key(h.as_str()) => Some("unknown host"),
        Alias::Ipset(i) if !names.ipsets.contains_key(i.as_str()) => Some("unknown ipset"),
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

/// The shape of `sshTests` destinations, which the control plane checks with its own
/// messages before evaluating anything.
pub(super) fn ssh_tests(
    p: &Policy,
    names: &Names<'_>,
    dialect: Dialect,
    out: &mut Vec<Diagnostic>,
) {
    let help = "an SSH test destination is one node: a tag, a user, an autogroup or a single IP";
    let headscale = dialect == Dialect::Headscale;
    for (i, t) in p.ssh_tests.iter().enumerate() {
        // hscontrol/policy/v2/types.go, `validateSSHTests`: `ErrSSHTestEmptyDst`.
        if headscale && t.dst.is_empty() {
            out.push(
                err(
                    codes::INVALID_SSH_TEST_DESTINATION,
                    format!(
                        "test(s) failed: sshTest {i}: SSH tests entry must have at least one dst"
                    ),
                    t.span,
                )
                .with_label("no destination")
                .with_help(help),
            );
        }
        for d in &t.dst {
            let text = d.trimmed();
            let problem = match d.alias() {
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
        // Headscale leaves an entry that asserts nothing to its evaluation
        // (hscontrol/policy/v2/types.go, `validateSSHTests` checks src and dst only).
        if !headscale && t.accept.is_empty() && t.check.is_empty() && t.deny.is_empty() {
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
                    match dialect {
                        Dialect::Tailscale => {
                            "test(s) failed: an SSH test needs a `src`".to_string()
                        }
                        // `ErrSSHTestEmptySrc`.
                        Dialect::Headscale => format!(
                            "test(s) failed: sshTest {i}: SSH tests entry must have a non-empty src"
                        ),
                    },
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
