//! The `tests` and `sshTests` blocks, evaluated as Tailscale's control plane evaluates them.
//!
//! Any failing entry makes the control plane reject the policy with the single message
//! `test(s) failed` (a few malformed `sshTests` destinations have their own message, kept in
//! [`TestFailure::control_plane_message`]). Here every failing entry is reported with its
//! span and the reason.
//!
//! Under the Headscale dialect the evaluation follows Headscale's (`hscontrol/policy/v2/test.go`
//! and `sshtest.go` in juanfont/headscale): users resolve by Headscale's rules, an `sshTests`
//! destination may be `autogroup:self`, and each reason is the line Headscale writes for the
//! failure (`PolicyTestResults.Errors`, `SSHPolicyTestResults.Errors`).

use crate::engine::compile::{global_rules, FilterRule};
use crate::engine::resolve::{parse_wire_addrs, AddrSet, NodeId, Resolver};
use crate::model::policy::{Policy, PolicyTest, SshRule, SshTest};
use crate::model::selector::{Alias, Dst, Selector};
use crate::model::tailnet::Tailnet;
use crate::model::Dialect;
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
    run_tests_in(policy, tailnet, Dialect::Tailscale)
}

/// [`run_tests`] by the rules of `dialect`.
pub(crate) fn run_tests_in(
    policy: &Policy,
    tailnet: &Tailnet,
    dialect: Dialect,
) -> Vec<TestFailure> {
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
            run_test(&r, &rules, t, dialect, &mut out);
        }
    }
    for t in &policy.ssh_tests {
        run_ssh_test(&r, t, dialect, &mut out);
    }
    out
}

/// True when a selector names something that exists: a known user, group, tag, host,
/// autogroup or ipset, or an address.
fn exists(r: &Resolver<'_>, alias: &Alias, dialect: Dialect) -> bool {
    let names = r.names();
    match alias {
        Alias::Wildcard | Alias::Prefix(_) => true,
        Alias::User(token) if dialect == Dialect::Headscale => {
            r.tailnet().headscale_user(token).is_ok()
        }
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
fn test_destination(
    r: &Resolver<'_>,
    dst: &Dst,
    dialect: Dialect,
) -> Result<(Vec<IpNet>, u16), String> {
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
    if !exists(r, selector.alias(), dialect) {
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

fn test_source(
    r: &Resolver<'_>,
    src: Option<&Selector>,
    dialect: Dialect,
) -> Result<Vec<IpNet>, String> {
    let Some(src) = src.filter(|s| !s.trimmed().is_empty()) else {
        return Err("the source is empty".into());
    };
    if dialect == Dialect::Headscale {
        if let Alias::User(token) = src.alias() {
            return headscale_user_source(r, token, src.trimmed());
        }
    }
    if !exists(r, src.alias(), dialect)
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

/// A user token as a test's source under Headscale's rules: the untagged nodes of the one
/// user it names (`Username.resolve`), or Headscale's line for why not
/// (`resolveTestSource` and `resolveSSHTestSource`: `failed to resolve source`, `resolved to
/// no IP addresses`).
fn headscale_user_source(r: &Resolver<'_>, token: &str, text: &str) -> Result<Vec<IpNet>, String> {
    let user = r
        .tailnet()
        .headscale_user(token)
        .map_err(|e| format!("failed to resolve source {text:?}: resolving: {e}"))?;
    let set: AddrSet = r
        .nodes_of_user(&user.name)
        .iter()
        .filter_map(|&id| r.nodes().get(id))
        .flat_map(|(_, n)| n.addresses().map(IpNet::from))
        .collect();
    if set.is_empty() {
        return Err(format!("source {text:?} resolved to no IP addresses"));
    }
    Ok(set.prefixes())
}

fn run_test(
    r: &Resolver<'_>,
    rules: &[WireRule],
    t: &Spanned<PolicyTest>,
    dialect: Dialect,
    out: &mut Vec<TestFailure>,
) {
    let headscale = dialect == Dialect::Headscale;
    // Headscale's `runPolicyTest` has no rule for an entry without assertions: it passes.
    if t.accept.is_empty() && t.deny.is_empty() && headscale {
        return;
    }
    if t.accept.is_empty() && t.deny.is_empty() {
        out.push(fail(
            t.span,
            None,
            "the test has neither `accept` nor `deny`".into(),
        ));
        return;
    }
    let src_text = t.src.as_ref().map(|s| s.trimmed()).unwrap_or_default();
    // Headscale writes ` (proto)` after the source of a test that names one.
    let proto_suffix = match t.proto.as_ref().map(|p| p.trim()) {
        Some(p) if headscale && !p.is_empty() => format!(" ({p})"),
        _ => String::new(),
    };
    let src = match test_source(r, t.src.as_deref(), dialect) {
        Ok(s) => s,
        Err(e) if headscale => {
            let reason = format!("{src_text}{proto_suffix}: {e}");
            out.push(fail(t.span, t.src.as_ref().map(|s| s.span), reason));
            return;
        }
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
            match test_destination(r, d, dialect) {
                Err(e) if headscale => {
                    let reason = format!(
                        "{src_text}{proto_suffix}: error testing {:?}: {e}",
                        d.trimmed()
                    );
                    out.push(fail(t.span, Some(d.span), reason));
                }
                Err(e) => out.push(fail(t.span, Some(d.span), e)),
                Ok((dst, port)) => {
                    let allowed = reaches(rules, &src, &dst, &protos, port);
                    if allowed != want && headscale {
                        // `PolicyTestResults.Errors`.
                        let (w, g) = if want {
                            ("ALLOWED", "DENIED")
                        } else {
                            ("DENIED", "ALLOWED")
                        };
                        out.push(fail(
                            t.span,
                            Some(d.span),
                            format!(
                                "{src_text} -> {}{proto_suffix}: expected {w}, got {g}",
                                d.trimmed()
                            ),
                        ));
                    } else if allowed != want {
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

/// What an `sshTests` list asserts of each login user in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SshAssertion {
    Accept,
    Check,
    Deny,
}

impl SshAssertion {
    /// The verdicts that satisfy the assertion: `accept` is met by a check rule too.
    fn holds(self, v: SshVerdict) -> bool {
        match self {
            Self::Accept => v != SshVerdict::Deny,
            Self::Check => v == SshVerdict::Check,
            Self::Deny => v == SshVerdict::Deny,
        }
    }

    /// Why the assertion failed, in the words of the dialect (Headscale's:
    /// `SSHPolicyTestResults.Errors` and `checkFailReason`).
    fn failure(
        self,
        dialect: Dialect,
        src: &str,
        login: &str,
        node: &str,
        got: SshVerdict,
    ) -> String {
        if dialect == Dialect::Tailscale {
            let what = match self {
                Self::Accept => "accepted",
                Self::Check => "checked",
                Self::Deny => "denied",
            };
            return format!("`{src}` as `{login}` on `{node}`: expected {what}, got {got:?}");
        }
        let login = if login.is_empty() { "\"\"" } else { login };
        let (want, got) = match (self, got) {
            (Self::Accept, _) => ("ALLOWED", "DENIED"),
            (Self::Deny, _) => ("DENIED", "ALLOWED"),
            (Self::Check, SshVerdict::Accept) => ("ALLOWED via check", "ALLOWED via accept"),
            (Self::Check, _) => ("ALLOWED via check", "DENIED"),
        };
        format!("{src}/{login} -> {node}: expected {want}, got {got}")
    }
}

/// The nodes an `sshTests` destination stands for, or why it stands for none. Under
/// Headscale `autogroup:self` is the untagged nodes of the source's user
/// (`resolveSSHTestDestNodes`), and a destination without nodes is reported in its words.
fn ssh_test_nodes(
    r: &Resolver<'_>,
    d: &Selector,
    src_user: Option<&str>,
    dialect: Dialect,
) -> Result<Vec<NodeId>, String> {
    let text = d.trimmed();
    let headscale = dialect == Dialect::Headscale;
    let none = || {
        if headscale {
            format!("dst alias {text:?} resolved to no nodes")
        } else {
            format!("destination `{text}` is not a host")
        }
    };
    if headscale && matches!(d.alias(), Alias::Autogroup(a) if a == "autogroup:self") {
        let nodes = src_user
            .map(|u| r.nodes_of_user(u).to_vec())
            .unwrap_or_default();
        return if nodes.is_empty() {
            Err(none())
        } else {
            Ok(nodes)
        };
    }
    // A bare IPv6 address reads as `host:port` to the control plane and fails.
    let valid = !matches!(d.alias(), Alias::Prefix(IpNet::V6(_)));
    if !valid || !exists(r, d.alias(), dialect) {
        return Err(none());
    }
    let set = r.resolve_selector(d);
    let nodes = r.nodes_in(&set);
    // Tailscale's asks for addresses; Headscale's for nodes (`resolveSSHTestDestNodes`).
    if set.is_empty() || (headscale && nodes.is_empty()) {
        return Err(none());
    }
    Ok(nodes)
}

fn run_ssh_test(
    r: &Resolver<'_>,
    t: &Spanned<SshTest>,
    dialect: Dialect,
    out: &mut Vec<TestFailure>,
) {
    let headscale = dialect == Dialect::Headscale;
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
    let no_assertion = t.accept.is_empty() && t.check.is_empty() && t.deny.is_empty();
    if no_assertion && !headscale {
        out.push(fail(
            t.span,
            None,
            "the SSH test has no `accept`, `check` or `deny`".into(),
        ));
        return;
    }
    let src_text = t.src.as_ref().map(|s| s.trimmed()).unwrap_or_default();
    // Headscale writes each failure of an entry after its source (`Errors`).
    let reason = |e: String| {
        if headscale {
            format!("{src_text}: {e}")
        } else {
            e
        }
    };
    let src = match test_source(r, t.src.as_deref(), dialect) {
        Ok(p) => p.into_iter().collect::<AddrSet>(),
        Err(e) => {
            out.push(fail(t.span, t.src.as_ref().map(|s| s.span), reason(e)));
            return;
        }
    };
    // Headscale checks the assertions after the source (`runSSHPolicyTest`).
    if no_assertion {
        let e = "no accept, deny, or check assertions specified".to_string();
        out.push(fail(t.span, None, reason(e)));
        return;
    }
    let src_node = r.nodes_in(&src);
    // The source's user: by Headscale's rules under Headscale (only a user token has one).
    let src_user = match t.src.as_ref().map(|s| s.alias()) {
        Some(Alias::User(token)) if headscale => r.tailnet().headscale_user(token).ok(),
        _ => None,
    };
    let src_email = match t.src.as_ref().map(|s| s.alias()) {
        Some(Alias::User(_)) if headscale => src_user.map(|u| u.email.clone()),
        Some(Alias::User(e)) => Some(e.clone()),
        _ => src_node
            .first()
            .and_then(|&id| r.owner(id))
            .map(str::to_string),
    };
    let src_user_name = src_user.map(|u| u.name.as_str());
    for d in &t.dst {
        let nodes = match ssh_test_nodes(r, d, src_user_name, dialect) {
            Ok(nodes) => nodes,
            Err(e) => {
                out.push(fail(t.span, Some(d.span), reason(e)));
                continue;
            }
        };
        for id in nodes {
            let Some((name, node)) = r.nodes().get(id) else {
                continue;
            };
            // Headscale names a node by its host name.
            let label = if headscale && !node.hostname.is_empty() {
                node.hostname.as_str()
            } else {
                name
            };
            let node_set: AddrSet = node.addresses().map(IpNet::from).collect();
            let owner = r.owner(id);
            let lists = [
                (&t.accept, SshAssertion::Accept),
                (&t.check, SshAssertion::Check),
                (&t.deny, SshAssertion::Deny),
            ];
            for (users, assertion) in lists {
                for u in users {
                    let login = u.value.trim();
                    let v = ssh_verdict(r, &src, src_email.as_deref(), &node_set, owner, login);
                    if !assertion.holds(v) {
                        out.push(fail(
                            t.span,
                            Some(u.span),
                            assertion.failure(dialect, src_text, &u.value, label, v),
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

    /// Headscale's listings: alice owns a laptop and a tagged server, bob a laptop.
    fn headscale_tailnet() -> Tailnet {
        Tailnet::from_headscale(
            r#"[{"id": 1, "name": "alice", "email": "alice@example.com"}, {"id": 2, "name": "bob"}]"#,
            r#"[{"id": 1, "name": "alice-laptop", "ip_addresses": ["100.64.0.1"], "user": {"id": 1, "name": "alice", "email": "alice@example.com"}},
                {"id": 2, "name": "bob-laptop", "ip_addresses": ["100.64.0.2"], "user": {"id": 2, "name": "bob"}},
                {"id": 3, "name": "server", "ip_addresses": ["100.64.0.3"], "tags": ["tag:server"], "user": {"id": 1, "name": "alice", "email": "alice@example.com"}}]"#,
        )
        .unwrap()
    }

    /// The reasons of the failures of `text`'s tests under each dialect.
    fn reasons(text: &str) -> [Vec<String>; 2] {
        let tailnet = headscale_tailnet();
        let (policy, _) = crate::model::policy::parse_policy(text).unwrap();
        [Dialect::Tailscale, Dialect::Headscale].map(|d| {
            run_tests_in(&policy, &tailnet, d)
                .into_iter()
                .map(|f| f.reason)
                .collect()
        })
    }

    const SSH_TO_SERVER: &str = r#""tagOwners": {"tag:server": ["alice@example.com"]},
        "ssh": [{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:server"], "users": ["root"]}]"#;

    #[test]
    fn a_name_with_a_trailing_at_is_a_user_under_headscale_only() {
        let text = r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
            "tagOwners": {"tag:server": ["alice@example.com"]},
            "tests": [{"src": "bob@", "accept": ["tag:server:22"]}]}"#;
        let [tailscale, headscale] = reasons(text);
        assert_eq!(tailscale, ["source `bob@` does not exist"]);
        assert_eq!(headscale, Vec::<String>::new());
    }

    #[test]
    fn an_unknown_source_user_fails_in_headscales_words() {
        let text = r#"{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
            "tagOwners": {"tag:server": ["alice@example.com"]},
            "tests": [{"src": "ghost@example.com", "accept": ["tag:server:22"]}]}"#;
        let [tailscale, headscale] = reasons(text);
        assert_eq!(tailscale, ["source `ghost@example.com` does not exist"]);
        assert_eq!(
            headscale,
            [
                r#"ghost@example.com: failed to resolve source "ghost@example.com": resolving: user not found: token "ghost@example.com""#
            ]
        );
    }

    #[test]
    fn autogroup_self_is_an_ssh_test_destination_under_headscale() {
        let text = r#"{"ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["root"]}],
            "sshTests": [{"src": "alice@example.com", "dst": ["autogroup:self"], "accept": ["root"]},
                         {"src": "bob@", "dst": ["autogroup:self"], "deny": ["admin"]}]}"#;
        let [tailscale, headscale] = reasons(text);
        assert_eq!(tailscale[0], "destination `autogroup:self` is not a host");
        assert_eq!(headscale, Vec::<String>::new());
        // Across users it fails: bob may not log in to alice's devices.
        let cross = r#"{"ssh": [{"action": "accept", "src": ["alice@example.com"], "dst": ["autogroup:self"], "users": ["root"]}],
            "sshTests": [{"src": "bob@", "dst": ["autogroup:self"], "accept": ["root"]}]}"#;
        assert_eq!(
            reasons(cross)[1],
            ["bob@/root -> bob-laptop: expected ALLOWED, got DENIED"]
        );
    }

    #[test]
    fn ssh_test_failures_are_told_in_each_dialects_words() {
        let text = format!(
            r#"{{{SSH_TO_SERVER}, "sshTests": [
                {{"src": "alice@example.com", "dst": ["tag:server"], "accept": ["mallory"], "deny": ["root"], "check": ["root"]}},
                {{"src": "alice@example.com", "dst": ["tag:server"]}}]}}"#
        );
        let [tailscale, headscale] = reasons(&text);
        assert_eq!(
            tailscale,
            [
                "`alice@example.com` as `mallory` on `server`: expected accepted, got Deny",
                "`alice@example.com` as `root` on `server`: expected checked, got Accept",
                "`alice@example.com` as `root` on `server`: expected denied, got Accept",
                "the SSH test has no `accept`, `check` or `deny`",
            ]
        );
        assert_eq!(
            headscale,
            [
                "alice@example.com/mallory -> server: expected ALLOWED, got DENIED",
                "alice@example.com/root -> server: expected ALLOWED via check, got ALLOWED via accept",
                "alice@example.com/root -> server: expected DENIED, got ALLOWED",
                "alice@example.com: no accept, deny, or check assertions specified",
            ]
        );
    }

    #[test]
    fn acl_test_failures_are_told_in_each_dialects_words() {
        let text = r#"{"acls": [{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:server:22"]}],
            "tagOwners": {"tag:server": ["alice@example.com"]},
            "tests": [{"src": "alice@example.com", "proto": "tcp", "accept": ["tag:server:80"], "deny": ["tag:server:22"]}]}"#;
        let [tailscale, headscale] = reasons(text);
        assert_eq!(
            tailscale,
            [
                "`alice@example.com` -> `tag:server:80`: expected allowed, got denied",
                "`alice@example.com` -> `tag:server:22`: expected denied, got allowed",
            ]
        );
        assert_eq!(
            headscale,
            [
                "alice@example.com -> tag:server:80 (tcp): expected ALLOWED, got DENIED",
                "alice@example.com -> tag:server:22 (tcp): expected DENIED, got ALLOWED",
            ]
        );
    }
}
