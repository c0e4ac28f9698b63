//! Redundant grant or ACL entry.
//!
//! **What:** a grant (or ACL entry) that repeats an earlier one, or whose sources,
//! destinations and ports are all covered by another rule with the same `via` and posture
//! and no app capabilities.
//!
//! **Why:** access is the union of all rules, so the redundant rule grants nothing. It
//! misleads readers (removing it changes nothing; narrowing it does nothing either) and is
//! often the leftover of an edit that meant to change the other rule.
//!
//! **Example:**
//! ```json
//! {"grants": [{"src": ["*"], "dst": ["tag:web"], "ip": ["*"]},
//!             {"src": ["group:dev"], "dst": ["tag:web"], "ip": ["tcp:443"]}]}
//! ```
//! warns on the second grant.

use super::Rule;
use crate::diagnostic::Diagnostic;
use crate::policy::{Policy, Str};
use crate::span::Span;
use std::collections::{BTreeSet, HashMap};

/// TG1005.
pub const RULE: Rule = Rule {
    code: "TG1005",
    name: "redundant-rule",
    summary: "a grant or ACL entry that another rule already covers",
    run: |cx, out| {
        let p = cx.policy;
        check(&normalized_grants(p), "grant", out);
        check(&normalized_acls(p), "ACL entry", out);
    },
};

/// A rule reduced to sets, for comparison.
#[derive(PartialEq, Eq)]
struct Shape<'p> {
    src: BTreeSet<&'p str>,
    dst: BTreeSet<&'p str>,
    ports: BTreeSet<&'p str>,
    /// Everything that must be equal for one rule to cover another (via, posture, app
    /// capabilities, protocol).
    rest: String,
    has_app: bool,
    span: Span,
}

fn set(list: &[Str]) -> BTreeSet<&str> {
    list.iter().map(|s| s.trim()).collect()
}

fn normalized_grants(p: &Policy) -> Vec<Shape<'_>> {
    p.grants
        .iter()
        .map(|g| Shape {
            src: set(&g.src),
            dst: set(&g.dst),
            ports: set(&g.ip),
            rest: format!(
                "{:?}|{:?}|{:?}",
                set(&g.via),
                set(&g.src_posture),
                g.app
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .collect::<Vec<_>>()
            ),
            has_app: !g.app.is_empty(),
            span: g.span,
        })
        .collect()
}

fn normalized_acls(p: &Policy) -> Vec<Shape<'_>> {
    p.acls
        .iter()
        .map(|a| Shape {
            src: set(&a.src),
            dst: set(&a.dst),
            ports: BTreeSet::new(),
            rest: format!(
                "{:?}|{:?}|{:?}",
                a.action.as_deref(),
                a.proto.as_deref(),
                set(&a.src_posture)
            ),
            has_app: false,
            span: a.span,
        })
        .collect()
}

/// `inner` is covered by `outer`: every element is in it, or `outer` holds a wildcard.
fn covered(inner: &BTreeSet<&str>, outer: &BTreeSet<&str>, wildcard: &str) -> bool {
    outer.contains(wildcard) || inner.is_subset(outer)
}

fn covers(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    a.rest == b.rest
        && !a.has_app
        && !b.has_app
        && covered(&b.src, &a.src, "*")
        && covered(&b.dst, &a.dst, "*:*")
        && (covered(&b.dst, &a.dst, "*") || a.dst.contains("*:*"))
        && covered(&b.ports, &a.ports, "*")
}

fn check(rules: &[Shape<'_>], kind: &str, out: &mut Vec<Diagnostic>) {
    // Index rules by destination, so that only rules sharing a destination (or with a
    // wildcard one) are compared.
    let mut by_dst: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        for d in &r.dst {
            by_dst.entry(d).or_default().push(i);
        }
    }
    let wildcard: Vec<usize> = ["*", "*:*"]
        .iter()
        .flat_map(|w| by_dst.get(w).cloned().unwrap_or_default())
        .collect();
    for (i, b) in rules.iter().enumerate() {
        let Some(first_dst) = b.dst.iter().next() else {
            continue;
        };
        let candidates = by_dst.get(first_dst).into_iter().flatten().chain(&wildcard);
        let cover = candidates
            .filter(|&&j| j != i)
            .find(|&&j| {
                let a = &rules[j];
                let same =
                    a.src == b.src && a.dst == b.dst && a.ports == b.ports && a.rest == b.rest;
                // Of two identical rules, the later one is the redundant one.
                if same {
                    j < i
                } else {
                    covers(a, b)
                }
            })
            .map(|&j| &rules[j]);
        if let Some(a) = cover {
            out.push(
                Diagnostic::warning(
                    "TG1005",
                    format!("this {kind} grants nothing another rule does not already grant"),
                    b.span,
                )
                .with_label("redundant")
                .with_related(a.span, format!("this {kind} already covers it"))
                .with_help("remove one of them"),
            );
        }
    }
}
