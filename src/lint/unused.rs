//! Unused definitions.
//!
//! **What:** a group, tag, host or ipset that the policy defines but no rule, owner list,
//! auto-approver, nodeAttrs target, SSH recorder, ipset or test refers to. Tags are checked
//! only with `--tailnet`: a tag also names the devices that carry it (in `tailscale status`,
//! for the API, for Kubernetes), so it is unused only when no node carries it either. A tag
//! that a tag owns counts as used too: tagged devices such as Tailscale's Kubernetes operator
//! apply it to the devices they create (`"tag:k8s": ["tag:k8s-operator"]`, Tailscale's
//! operator setup), which may not have joined the tailnet yet.
//!
//! **Why:** a definition nobody uses is either dead weight or, more often, a typo elsewhere:
//! the rule that was meant to use it names something else.
//!
//! **Example:**
//! ```json
//! {"groups": {"group:ops": ["a@example.com"]},
//!  "grants": [{"src": ["group:op"], "dst": ["*"], "ip": ["*"]}]}
//! ```
//! warns that `group:ops` is unused (and check reports `group:op` as undefined).

use super::{Context, Rule};
use crate::diagnostic::Diagnostic;
use crate::policy::Map;
use std::collections::HashSet;

/// TG1001.
pub const GROUP: Rule = Rule {
    code: "TG1001",
    name: "unused-group",
    summary: "a group no rule refers to",
    run: |cx, out| unused(cx, &cx.policy.groups, "TG1001", "group", out, |_| false),
};

/// TG1002.
pub const TAG: Rule = Rule {
    code: "TG1002",
    name: "unused-tag",
    summary: "a tag no rule refers to and no node of the --tailnet carries",
    run: unused_tags,
};

/// TG1003.
pub const HOST: Rule = Rule {
    code: "TG1003",
    name: "unused-host",
    summary: "a host alias no rule refers to",
    run: |cx, out| unused(cx, &cx.policy.hosts, "TG1003", "host", out, |_| false),
};

/// TG1004.
pub const IPSET: Rule = Rule {
    code: "TG1004",
    name: "unused-ipset",
    summary: "an ipset no rule refers to",
    run: |cx, out| unused(cx, &cx.policy.ipsets, "TG1004", "ipset", out, |_| false),
};

fn unused_tags(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(tailnet) = cx.options.tailnet else {
        return;
    };
    let carried: HashSet<&str> = tailnet
        .nodes
        .values()
        .flat_map(|n| n.tags.iter().map(String::as_str))
        .collect();
    let applied_by_tags: HashSet<&str> = cx
        .policy
        .tag_owners
        .iter()
        .filter(|(_, owners)| owners.iter().any(|o| o.trim().starts_with("tag:")))
        .map(|(tag, _)| tag.as_str())
        .collect();
    unused(cx, &cx.policy.tag_owners, "TG1002", "tag", out, |tag| {
        carried.contains(tag) || applied_by_tags.contains(tag)
    });
}

fn unused<V>(
    cx: &Context<'_>,
    defs: &Map<V>,
    code: &'static str,
    kind: &str,
    out: &mut Vec<Diagnostic>,
    used_elsewhere: impl Fn(&str) -> bool,
) {
    if defs.is_empty() {
        return;
    }
    for (name, _) in defs {
        if !cx.references.contains(name.as_str()) && !used_elsewhere(name) {
            out.push(
                Diagnostic::warning(
                    code,
                    format!("{kind} `{}` is never used", name.value),
                    name.span,
                )
                .with_label(format!("unused {kind}"))
                .with_help(format!(
                    "remove it, or check the rules for a misspelt {kind}"
                )),
            );
        }
    }
}
