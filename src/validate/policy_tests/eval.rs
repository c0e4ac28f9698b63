//! The `tests` and `sshTests` blocks, evaluated as Tailscale's control plane evaluates them.
//!
//! Any failing entry makes the control plane reject the policy with the single message
//! `test(s) failed` (a few malformed `sshTests` destinations have their own message, kept in
//! [`TestFailure::control_plane_message`]). Here every failing entry is reported with its
//! span and the reason.

use crate::engine::compile::{global_rules, FilterRule};
use crate::engine::resolve::{parse_wire_addrs, AddrSet, Resolver};
use crate::model::policy::{Policy, PolicyTest, SshRule, SshTest};
use crate::model::selector::{Alias, Dst, Selector};
use crate::model::tailnet::Tailnet;
use crate::span::{Span, Spanned};
use crate::vocab::{has_ports, DEFAULT_PROTOCOLS};
use ipnet::IpNet;

/// The control plane's message for failing tests.
pub const TESTS_FAILED: &str = "test(s) failed";

/// One failing `tests` or `sshTests` entry, or one failing assertion inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    /// The entry.
    pub(crate) span: Span,
    /// The failing element (a destination or a login user), when there is one.
    pub(crate) element: Option<Span>,
    /// Why it failed, for a person.
    pub reason: String,
    /// What the control plane answers for this failure (`test(s) failed`, or the
    /// `sshTests` message for a malformed destination).
    pub control_plane_message: String,
}

fn fail(span: Span, element: Option<Span>, reason: String) -> TestFailure {
    TestFailure {
        span,
        element,
        reason,
        control_plane_message: TESTS_FAILED.to_string(),
    }
}

/// Runs every `tests` and `sshTests` entry of `policy` against `tailnet`; returns the
/// failures (empty when all pass).
pub fn run_tests(policy: &Policy, tailnet: &Tailnet) -> Vec<TestFailure> {
    let mut out = Vec::new();
    if policy.tests.is_empty() && policy.ssh_tests.is_empty() {
        return out;
    }
    let r = Resolver::new(policy, tailnet);
    if !policy.tests.is_empty() {
        let rules: Vec<WireRule> = global_rules(policy, tailnet)
            .iter()
            .map(WireRule::new)
            .collect();
        for t in &policy.tests {
            run_test(&r, &rules, t, &mut out);
        }
    }
    for t in &policy.ssh_tests {
        run_ssh_test(&r, t, &mut out);
    }
    out
}

/// True when a selector names something that exists: a known user, group, tag, host,
/// autogroup or ipset, or an address.
fn exists(r: &Resolver<'_>, alias: &Alias) -> bool {
    let names = r.names();
    match alias {
        Alias::Wildcard | Alias::Prefix(_) => true,
        Alias::User(email) => r
            .tailnet()
            .users
            .iter()
            .any(|u| u.email == *email || u.name == *email),
        Alias::UserDomain(_) => true,
        Alias::Group(g) => names.groups.contains_key(g.as_str()),
        Alias::Tag(t) => names.tags.contains(t.as_str()),
        Alias::Autogroup(a) => matches!(
            a.as_str(),
            "autogroup:member" | "autogroup:tagged" | "autogroup:internet" | "autogroup:self"
        ),
        Alias::Ipset(i) => names.ipsets.contains_key(i.as_str()),
        Alias::Service(_) => false,
        Alias::Host(h) => names.hosts.contains_key(h.as_str()),
    }
}

/// A rule with its address sets parsed.
struct WireRule {
    src: AddrSet,
    protos: Vec<u8>,
    dsts: Vec<(AddrSet, u16, u16)>,
}

impl WireRule {
    fn new(rule: &FilterRule) -> Self {
        let mut src = AddrSet::new();
        for s in &rule.src_ips {
            if let Some(set) = parse_wire_addrs(s) {
                src.add_set(&set);
            }
        }
        let dsts = rule
            .dst_ports
            .iter()
            .filter_map(|d| parse_wire_addrs(&d.ip).map(|set| (set, d.ports.first, d.ports.last)))
            .collect();
        Self {
            src,
            protos: rule.ip_proto.clone(),
            dsts,
        }
    }
}

/// Whether every source prefix may reach some destination prefix on `port` with one of
/// `protos`.
fn reaches(rules: &[WireRule], src: &[IpNet], dst: &[IpNet], protos: &[u8], port: u16) -> bool {
    src.iter().all(|s| {
        rules.iter().any(|rule| {
            rule.src.overlaps_net(s)
                && (rule.protos.is_empty() || rule.protos.iter().any(|p| protos.contains(p)))
                && rule.dsts.iter().any(|(set, first, last)| {
                    *first <= port && port <= *last && dst.iter().any(|d| set.overlaps_net(d))
                })
        })
    })
}

/// A test destination `host:port` as one host's addresses and one port, or why not.
fn test_destination(r: &Resolver<'_>, dst: &Dst) -> Result<(Vec<IpNet>, u16), String> {
    let (Some(selector), Some(ports)) = (dst.host(), dst.ports()) else {
        return Err(format!("destination `{}` has no port", dst.trimmed()));
    };
    let port = match ports {
        Ok([one]) if one.first == one.last => one.first,
        _ => {
            return Err(format!(
                "destination `{}` must name exactly one port",
                dst.trimmed()
            ))
        }
    };
    let host = selector.as_str();
    match selector.alias() {
        Alias::Prefix(_) if host.contains('/') => {
            return Err(format!("destination `{host}` is a CIDR, not one host"));
        }
        Alias::Wildcard | Alias::Autogroup(_) | Alias::Group(_) | Alias::User(_) => {
            return Err(format!("destination `{host}` is not one host"));
        }
        _ => {}
    }
    if !exists(r, selector.alias()) {
        return Err(format!("destination `{host}` does not exist"));
    }
    let set = r.resolve_selector(selector);
    if set.is_empty() {
        return Err(format!("destination `{host}` has no address"));
    }
    if let Alias::Host(_) = selector.alias() {
        if set.prefixes().len() != 1
            || set
                .prefixes()
                .iter()
                .any(|p| p.prefix_len() != p.max_prefix_len())
        {
            return Err(format!("host `{host}` is not one address"));
        }
    }
    Ok((set.prefixes(), port))
}

fn test_source(r: &Resolver<'_>, src: Option<&Selector>) -> Result<Vec<IpNet>, String> {
    let Some(src) = src.filter(|s| !s.trimmed().is_empty()) else {
        return Err("the source is empty".into());
    };
    if !exists(r, src.alias())
        || matches!(src.alias(), Alias::Autogroup(a) if a == "autogroup:self")
    {
        return Err(format!("source `{}` does not exist", src.trimmed()));
    }
    let set = r.resolve_selector(src);
    let src = src.trimmed();
    if set.is_empty() {
        return Err(format!("source `{src}` has no address"));
    }
    Ok(set.prefixes())
}

fn run_test(
    r: &Resolver<'_>,
    rules: &[WireRule],
    t: &Spanned<PolicyTest>,
    out: &mut Vec<TestFailure>,
) {
    if t.accept.is_empty() && t.deny.is_empty() {
        out.push(fail(
            t.span,
            None,
            "the test has neither `accept` nor `deny`".into(),
        ));
        return;
    }
    let src_text = t.src.as_ref().map(|s| s.trimmed()).unwrap_or_default();
    let src = match test_source(r, t.src.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            out.push(fail(t.span, t.src.as_ref().map(|s| s.span), e));
            return;
        }
    };
    // A test names one port, so it asks about TCP, UDP or SCTP. Tailscale's control plane
    // fails an ICMP test even where Go's filter would accept the ICMP echo request (the
    // conformance cases `policytest-proto-icmp` and
    // `policytest-accept-fail-proto-icmp-not-allowed`), so the `tests` block does not take
    // the ICMP answer of the table and `explain`.
    let protos: Vec<u8> = match t.proto.as_ref().filter(|p| !p.trim().is_empty()) {
        None => DEFAULT_PROTOCOLS.to_vec(),
        Some(p) => match p.protos() {
            Ok(v) if v.iter().copied().all(has_ports) => v.to_vec(),
            _ => {
                out.push(fail(
                    t.span,
                    Some(p.span),
                    format!(
                        "protocol `{}` cannot be tested: use tcp, udp or sctp",
                        p.trim()
                    ),
                ));
                return;
            }
        },
    };
    for (list, want) in [(&t.accept, true), (&t.deny, false)] {
        for d in list {
            match test_destination(r, d) {
                Err(e) => out.push(fail(t.span, Some(d.span), e)),
                Ok((dst, port)) => {
                    let allowed = reaches(rules, &src, &dst, &protos, port);
                    if allowed != want {
                        let (w, g) = if want {
                            ("allowed", "denied")
                        } else {
                            ("denied", "allowed")
                        };
                        out.push(fail(
                            t.span,
                            Some(d.span),
                            format!("`{src_text}` -> `{}`: expected {w}, got {g}", d.value),
                        ));
                    }
                }
            }
        }
    }
}

/// How an SSH rule lets a login user in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SshVerdict {
    Deny,
    Accept,
    Check,
}

fn ssh_user_allowed(rule: &SshRule, login: &str, src_email: Option<&str>) -> bool {
    rule.users.iter().flatten().any(|u| {
        let u = u.value.trim();
        if u == login {
            return true;
        }
        if u == "autogroup:nonroot" {
            return login != "root";
        }
        if let Some(domain) = u.strip_prefix("localpart:*@") {
            return src_email
                .and_then(|e| e.rsplit_once('@'))
                .is_some_and(|(local, d)| d.eq_ignore_ascii_case(domain) && local == login);
        }
        false
    })
}

fn ssh_verdict(
    r: &Resolver<'_>,
    src: &AddrSet,
    src_email: Option<&str>,
    dst: &AddrSet,
    dst_owner: Option<&str>,
    login: &str,
) -> SshVerdict {
    let mut best = SshVerdict::Deny;
    for rule in &r.policy().ssh {
        let mut rule_src = AddrSet::new();
        for s in &rule.src {
            rule_src.add_set(&r.resolve_selector(s));
        }
        let covers_src = src.prefixes().iter().all(|p| rule_src.contains_net(p));
        if !covers_src {
            continue;
        }
        let covers_dst = rule.dst.iter().any(|d| {
            if matches!(d.alias(), Alias::Autogroup(a) if a == "autogroup:self") {
                return src_email.is_some() && src_email == dst_owner;
            }
            let set = r.resolve_selector(d);
            dst.prefixes().iter().all(|p| set.contains_net(p))
        });
        if !covers_dst || !ssh_user_allowed(rule, login, src_email) {
            continue;
        }
        match rule.action.as_ref().map(|a| a.value.as_str()) {
            Some("check") => best = SshVerdict::Check,
            Some("accept") if best == SshVerdict::Deny => best = SshVerdict::Accept,
            _ => {}
        }
    }
    best
}

fn run_ssh_test(r: &Resolver<'_>, t: &Spanned<SshTest>, out: &mut Vec<TestFailure>) {
    // Malformed destinations have their own control-plane message.
    for d in &t.dst {
        let text = d.trimmed();
        let message = match d.alias() {
            Alias::Tag(tag) if !r.names().tags.contains(tag.as_str()) => {
                Some(format!("SSH tests dst contains unknown tag \"{text}\""))
            }
            Alias::Prefix(_) if text.contains('/') => Some(format!(
                "SSH tests dst contains disallowed element \"{text}\""
            )),
            Alias::Autogroup(a) if a == "autogroup:internet" => Some(format!(
                "SSH tests dst contains disallowed element \"{text}\""
            )),
            _ => None,
        };
        if let Some(message) = message {
            out.push(TestFailure {
                span: t.span,
                element: Some(d.span),
                reason: message.clone(),
                control_plane_message: message,
            });
            return;
        }
    }
    if t.accept.is_empty() && t.check.is_empty() && t.deny.is_empty() {
        out.push(fail(
            t.span,
            None,
            "the SSH test has no `accept`, `check` or `deny`".into(),
        ));
        return;
    }
    let src_text = t.src.as_ref().map(|s| s.trimmed()).unwrap_or_default();
    let src = match test_source(r, t.src.as_deref()) {
        Ok(p) => p.into_iter().collect::<AddrSet>(),
        Err(e) => {
            out.push(fail(t.span, t.src.as_ref().map(|s| s.span), e));
            return;
        }
    };
    let src_node = r.nodes_in(&src);
    let src_email = match t.src.as_ref().map(|s| s.alias()) {
        Some(Alias::User(e)) => Some(e.clone()),
        _ => src_node
            .first()
            .and_then(|&id| r.owner(id))
            .map(str::to_string),
    };
    for d in &t.dst {
        let text = d.trimmed();
        // A bare IPv6 address reads as `host:port` to the control plane and fails.
        let valid = !matches!(d.alias(), Alias::Prefix(IpNet::V6(_)));
        if !valid || !exists(r, d.alias()) || r.resolve_selector(d).is_empty() {
            out.push(fail(
                t.span,
                Some(d.span),
                format!("destination `{text}` is not a host"),
            ));
            continue;
        }
        let dst_set = r.resolve_selector(d);
        for id in r.nodes_in(&dst_set) {
            let Some((name, node)) = r.nodes().get(id) else {
                continue;
            };
            let node_set: AddrSet = node.addresses().map(IpNet::from).collect();
            let owner = r.owner(id);
            let lists = [
                (
                    &t.accept,
                    "accepted",
                    &[SshVerdict::Accept, SshVerdict::Check][..],
                ),
                (&t.check, "checked", &[SshVerdict::Check][..]),
                (&t.deny, "denied", &[SshVerdict::Deny][..]),
            ];
            for (users, what, ok) in lists {
                for u in users {
                    let v = ssh_verdict(
                        r,
                        &src,
                        src_email.as_deref(),
                        &node_set,
                        owner,
                        u.value.trim(),
                    );
                    if !ok.contains(&v) {
                        out.push(fail(
                            t.span,
                            Some(u.span),
                            format!(
                                "`{src_text}` as `{}` on `{name}`: expected {what}, got {v:?}",
                                u.value
                            ),
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The control plane fails an ICMP test even where Go's filter accepts ICMP (conformance
    /// `policytest-accept-fail-proto-icmp-not-allowed`: a TCP rule, a test with proto
    /// `icmp`, rejected with `test(s) failed`), so the `tests` block does not follow the
    /// table's ICMP answer.
    #[test]
    fn an_icmp_test_fails_even_where_go_would_accept_icmp() {
        let tailnet = Tailnet::from_text(
            r#"{"tailnet": "a@example.com", "users": [{"name": "a", "email": "a@example.com"}],
                "nodes": {"laptop": {"ipv4": "100.64.0.1", "user": "a"},
                          "web": {"ipv4": "100.64.0.2", "tags": ["tag:web"]}}}"#,
        )
        .unwrap();
        let (policy, _) = crate::model::policy::parse_policy(
            r#"{"tagOwners": {"tag:web": []},
                "grants": [{"src": ["a@example.com"], "dst": ["tag:web"], "ip": ["tcp:22"]}],
                "tests": [{"src": "a@example.com", "proto": "icmp", "accept": ["tag:web:22"]},
                          {"src": "a@example.com", "proto": "tcp", "accept": ["tag:web:22"]}]}"#,
        )
        .unwrap();
        let failures = run_tests(&policy, &tailnet);
        assert_eq!(failures.len(), 1, "{failures:#?}");
        assert!(
            failures[0].reason.contains("cannot be tested"),
            "{failures:#?}"
        );
    }
}
