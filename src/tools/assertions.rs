//! Relay and capability assertions: a sidecar file that Tailscale never sees.
//!
//! The policy's own `tests` block can only assert network reachability (SPEC section 5);
//! nothing there can say "CI runners may allocate on the EU relays". A sidecar file, by
//! convention `policy.tests.hujson` next to the policy, holds such assertions:
//!
//! ```text
//! [
//!   // relay: may every node of `src` allocate on every node of `relay`?
//!   {"src": "tag:ci", "relay": "tag:relay-eu", "expect": "allow"},
//!   // app capability of `src` towards `dst`
//!   {"src": "autogroup:member", "dst": "tag:web", "cap": "example.com/cap/x", "expect": "deny"},
//!   // network: proto:port (every address of the source for allow, none for deny)
//!   {"src": "tag:ci", "dst": "tag:web", "port": "tcp:443", "expect": "allow"},
//! ]
//! ```
//!
//! Selectors are the policy's (`tag:x`, a user, `group:x`, `autogroup:member`, a host, an
//! IP...) or a node name of the tailnet, and stand for every node they name; one that names
//! no node is a failure, so an assertion never passes vacuously. A node is never checked
//! against itself. Everything is answered by the [`DecisionTable`], as the relay daemon
//! answers it: [`DecisionTable::may_allocate`] (SPEC section 4) for `relay`,
//! [`DecisionTable::decide`] towards the node for `cap` and `port`. The format is
//! documented in `docs/assertions.md`.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::engine::resolve::Resolver;
use crate::engine::table::{DecisionTable, Dest, NodeIx, Query, RelayReason};
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::span::{Span, Spanned};
use crate::syntax::hujson::{self, Node, Value};

/// What an assertion is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// May `src` allocate on this relay?
    Relay(Spanned<String>),
    /// Does `src` hold this capability towards `dst`?
    Cap {
        /// Destination selector.
        dst: Spanned<String>,
        /// Capability name.
        cap: Spanned<String>,
    },
    /// May `src` reach `dst` on this protocol and port?
    Port {
        /// Destination selector.
        dst: Spanned<String>,
        /// Protocol numbers (any of them).
        protos: Vec<u8>,
        /// Port (0 for protocols without ports).
        port: u16,
        /// As written.
        text: Spanned<String>,
    },
}

/// One assertion of the sidecar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// Source selector.
    pub(crate) src: Spanned<String>,
    /// What is checked.
    pub(crate) check: Check,
    /// `true` for `"allow"`, `false` for `"deny"`.
    pub(crate) expect_allow: bool,
    /// The whole assertion.
    pub(crate) span: Span,
}

/// One assertion that does not hold, for one pair of nodes (or a selector naming no node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionFailure {
    /// The assertion.
    pub span: Span,
    /// The source node, if the failure is about a pair.
    pub src: Option<String>,
    /// The destination or relay node, if the failure is about a pair.
    pub dst: Option<String>,
    /// Why, for a person: which grant is missing, which attribute disables the relay.
    pub reason: String,
    /// Spans in the policy behind the answer: the grants that allow what was expected to be
    /// denied, or the `nodeAttrs` entry that disables a relay.
    pub policy_spans: Vec<Span>,
}

fn malformed(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(codes::MALFORMED_ASSERTIONS, message, span)
        .with_help("see docs/assertions.md for the format of the assertions file")
}

fn string_field(obj: &[hujson::Member], key: &str) -> Result<Option<Spanned<String>>, Diagnostic> {
    match obj.iter().find(|m| m.key.value == key) {
        None => Ok(None),
        Some(m) => match m.value.as_str() {
            Some(s) => Ok(Some(Spanned::new(s.trim().to_string(), m.value.span))),
            None => Err(malformed(
                format!("`{key}` must be a string, not {}", m.value.value.kind()),
                m.value.span,
            )),
        },
    }
}

fn parse_port(text: &Spanned<String>) -> Result<(Vec<u8>, u16), Diagnostic> {
    crate::model::selector::parse_port_query(&text.value)
        .map_err(|e| malformed(format!("port {e}"), text.span))
}

fn assertion(node: &Node) -> Result<Assertion, Diagnostic> {
    let Value::Object(obj) = &node.value else {
        return Err(malformed(
            format!("an assertion must be an object, not {}", node.value.kind()),
            node.span,
        ));
    };
    const KEYS: &[&str] = &["src", "relay", "dst", "cap", "port", "expect", "note"];
    if let Some(m) = obj.iter().find(|m| !KEYS.contains(&m.key.value.as_str())) {
        return Err(
            malformed(format!("unknown field `{}`", m.key.value), m.key.span)
                .with_label(format!("expected one of {}", KEYS.join(", "))),
        );
    }
    let need = |key: &str| {
        string_field(obj, key)?
            .ok_or_else(|| malformed(format!("the assertion has no `{key}`"), node.span))
    };
    let src = need("src")?;
    let expect = need("expect")?;
    let expect_allow = match expect.value.as_str() {
        "allow" => true,
        "deny" => false,
        other => {
            return Err(malformed(
                format!("`expect` must be `allow` or `deny`, not `{other}`"),
                expect.span,
            ))
        }
    };
    let relay = string_field(obj, "relay")?;
    let dst = string_field(obj, "dst")?;
    let cap = string_field(obj, "cap")?;
    let port = string_field(obj, "port")?;
    let check = match (relay, dst, cap, port) {
        (Some(relay), None, None, None) => Check::Relay(relay),
        (None, Some(dst), Some(cap), None) => Check::Cap { dst, cap },
        (None, Some(dst), None, Some(text)) => {
            let (protos, port) = parse_port(&text)?;
            Check::Port {
                dst,
                protos,
                port,
                text,
            }
        }
        _ => {
            return Err(malformed(
                "an assertion has either `relay`, or `dst` with one of `cap` and `port`",
                node.span,
            ))
        }
    };
    Ok(Assertion {
        src,
        check,
        expect_allow,
        span: node.span,
    })
}

/// Parses a sidecar file: a list of assertions.
pub fn parse_assertions(text: &str) -> Result<Vec<Assertion>, Diagnostic> {
    let (root, _) = hujson::parse(text)?;
    let Value::Array(items) = &root.value else {
        return Err(malformed(
            format!(
                "the assertions file must be a list, not {}",
                root.value.kind()
            ),
            root.span,
        ));
    };
    items.iter().map(assertion).collect()
}

/// The nodes a selector (or a node name) names, as (table index, name).
fn nodes_of(
    r: &Resolver<'_>,
    table: &DecisionTable,
    tailnet: &Tailnet,
    sel: &str,
) -> Vec<(NodeIx, String)> {
    if tailnet.nodes.contains_key(sel) {
        return table
            .node(sel)
            .map(|ix| (ix, sel.to_string()))
            .into_iter()
            .collect();
    }
    let set = r.resolve(sel);
    r.nodes_in(&set)
        .into_iter()
        .filter_map(|id| {
            let (name, _) = r.nodes().get(id)?;
            Some((table.node(name)?, (*name).to_string()))
        })
        .collect()
}

/// Runs the assertions of `sidecar_text` against `policy` compiled for `tailnet`; returns
/// the failures (empty when every assertion holds), or the error of a malformed file.
pub fn run_assertions(
    policy: &Policy,
    tailnet: &Tailnet,
    sidecar_text: &str,
) -> Result<Vec<AssertionFailure>, Diagnostic> {
    let assertions = parse_assertions(sidecar_text)?;
    let table = DecisionTable::of_policy(policy, tailnet);
    Ok(evaluate(policy, tailnet, &table, &assertions))
}

/// The diagnostic of a failing assertion (`TG0502`), at the assertion, as `tailgrant test`
/// reports it; `place` names a span of the policy for the help (e.g. `policy.hujson:3:5`).
pub fn failure_diagnostic(f: &AssertionFailure, place: impl Fn(Span) -> String) -> Diagnostic {
    let places: Vec<String> = f.policy_spans.iter().map(|s| place(*s)).collect();
    let pair = match (&f.src, &f.dst) {
        (Some(s), Some(d)) => format!("`{s}` -> `{d}`: "),
        _ => String::new(),
    };
    let help = if places.is_empty() {
        "change the policy or the assertion".to_string()
    } else {
        format!("see {}", places.join(", "))
    };
    Diagnostic::error(
        codes::ASSERTION_FAILED,
        format!("assertion failed: {pair}{}", f.reason),
        f.span,
    )
    .with_label("this assertion fails")
    .with_help(help)
}

/// Evaluates parsed assertions against a built table.
pub(crate) fn evaluate(
    policy: &Policy,
    tailnet: &Tailnet,
    table: &DecisionTable,
    assertions: &[Assertion],
) -> Vec<AssertionFailure> {
    let r = Resolver::new(policy, tailnet);
    let mut out = Vec::new();
    for a in assertions {
        let dst_sel = match &a.check {
            Check::Relay(s) | Check::Cap { dst: s, .. } | Check::Port { dst: s, .. } => s,
        };
        let srcs = nodes_of(&r, table, tailnet, &a.src.value);
        let dsts = nodes_of(&r, table, tailnet, &dst_sel.value);
        for (sel, found) in [(&a.src, &srcs), (dst_sel, &dsts)] {
            if found.is_empty() {
                out.push(AssertionFailure {
                    span: a.span,
                    src: None,
                    dst: None,
                    reason: format!("`{}` names no node of the tailnet", sel.value),
                    policy_spans: Vec::new(),
                });
            }
        }
        for (s, s_name) in &srcs {
            for (d, d_name) in &dsts {
                if s == d {
                    continue;
                }
                if let Some((reason, policy_spans)) = check_pair(table, a, *s, s_name, *d, d_name) {
                    out.push(AssertionFailure {
                        span: a.span,
                        src: Some(s_name.clone()),
                        dst: Some(d_name.clone()),
                        reason,
                        policy_spans,
                    });
                }
            }
        }
    }
    out
}

/// `None` when the assertion holds for the pair, else why not.
fn check_pair(
    table: &DecisionTable,
    a: &Assertion,
    s: NodeIx,
    s_name: &str,
    d: NodeIx,
    d_name: &str,
) -> Option<(String, Vec<Span>)> {
    let addrs = table.entry(s).map(|e| e.addrs.clone()).unwrap_or_default();
    let towards = |src| {
        table.decide(&Query {
            src,
            dst: Dest::Node(d),
        })
    };
    match &a.check {
        Check::Relay(_) => {
            let dec = table.may_allocate(s, d);
            match (a.expect_allow, dec.allowed, dec.reason) {
                (true, true, _) | (false, false, _) => None,
                (true, false, RelayReason::RelayServerDisabled) if !dec.grants.is_empty() => Some((
                    format!("`{d_name}` has `disable-relay-server` from this `nodeAttrs` entry"),
                    dec.grants,
                )),
                (true, false, RelayReason::RelayServerDisabled) => Some((
                    format!("`{d_name}` has `disable-relay-server` in the tailnet file"),
                    Vec::new(),
                )),
                (true, false, _) => Some((
                    format!(
                        "no grant gives `{s_name}` `tailscale.com/cap/relay` towards `{d_name}`: add `{s_name}` (or a tag it has) to the `src` of a relay grant whose `dst` names `{d_name}`"
                    ),
                    Vec::new(),
                )),
                (false, true, _) => Some((
                    format!("`{s_name}` may allocate on `{d_name}`, granted here"),
                    dec.grants,
                )),
            }
        }
        Check::Cap { cap, .. } => {
            let decision = towards(*addrs.first()?);
            let has = decision.has_cap(&cap.value);
            match (a.expect_allow, has) {
                (true, false) => Some((
                    format!(
                        "no grant gives `{s_name}` `{}` towards `{d_name}`",
                        cap.value
                    ),
                    Vec::new(),
                )),
                (false, true) => Some((
                    format!(
                        "`{s_name}` holds `{}` towards `{d_name}`, granted here",
                        cap.value
                    ),
                    decision.cap_origins(&cap.value),
                )),
                _ => None,
            }
        }
        Check::Port {
            protos, port, text, ..
        } => {
            let ok = |ip| {
                let decision = towards(ip);
                protos.iter().any(|p| decision.allows(*p, *port))
            };
            if a.expect_allow {
                let denied: Vec<String> = addrs
                    .iter()
                    .filter(|ip| !ok(**ip))
                    .map(ToString::to_string)
                    .collect();
                (!denied.is_empty()).then(|| {
                    (
                        format!(
                            "`{s_name}` cannot reach `{d_name}` on `{}` from {}: no grant or ACL allows it",
                            text.value,
                            denied.join(", ")
                        ),
                        Vec::new(),
                    )
                })
            } else {
                let allowed = addrs.iter().find(|ip| ok(**ip))?;
                Some((
                    format!(
                        "`{s_name}` reaches `{d_name}` on `{}` from {allowed}, allowed here",
                        text.value
                    ),
                    towards(*allowed).origins(),
                ))
            }
        }
    }
}
