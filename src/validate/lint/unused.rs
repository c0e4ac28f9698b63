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
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::policy::Map;
use std::collections::HashSet;

/// TG1001.
pub(crate) const GROUP: Rule = Rule {
    code: codes::UNUSED_GROUP,
    run: |cx, out| {
        unused(
            cx,
            &cx.policy.groups,
            codes::UNUSED_GROUP,
            "group",
            out,
            |_| false,
        )
    },
};

/// TG1002.
pub(crate) const TAG: Rule = Rule {
    code: codes::UNUSED_TAG,
    run: unused_tags,
};

/// TG1003.
pub(crate) const HOST: Rule = Rule {
    code: codes::UNUSED_HOST,
    run: |cx, out| {
        unused(
            cx,
            &cx.policy.hosts,
            codes::UNUSED_HOST,
            "host",
            out,
            |_| false,
        )
    },
};

/// TG1004.
pub(crate) const IPSET: Rule = Rule {
    code: codes::UNUSED_IPSET,
    run: |cx, out| {
        unused(
            cx,
            &cx.policy.ipsets,
            codes::UNUSED_IPSET,
            "ipset",
            out,
            |_| false,
        )
    },
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
    unused(
        cx,
        &cx.policy.tag_owners,
        codes::UNUSED_TAG,
        "tag",
        out,
        |tag| carried.contains(tag) || applied_by_tags.contains(tag),
    );
}

fn unused<V>(
    cx: &Context<'_>,
    defs: &Map<V>,
    code: &'static crate::codes::Code,
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

#[cfg(test)]
mod tests {
    use crate::codes;
    use crate::model::tailnet::Tailnet;
    use crate::validate::{check_text, Options};

    fn unused_tags(policy: &str) -> Vec<String> {
        let tailnet = Tailnet::from_text(
            r#"{"tailnet": "alice@example.com",
                "users": [{"id": 1, "name": "alice", "email": "alice@example.com"}],
                "nodes": {"web-1": {"hostname": "web-1", "ipv4": "100.64.0.10", "tags": ["tag:web"]}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let options = Options {
            tailnet: Some(&tailnet),
            ..Default::default()
        };
        check_text(policy, &options)
            .findings
            .warnings
            .iter()
            .filter(|d| d.code == codes::UNUSED_TAG)
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn a_tag_used_only_as_an_ssh_recorder_is_used() {
        let found = unused_tags(
            r#"{"tagOwners": {"tag:rec": [], "tag:web": []},
                "ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:web"],
                         "users": ["root"], "recorder": ["tag:rec"]}]}"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn tags_applied_by_a_tag_or_carried_by_a_node_are_used_and_others_are_not() {
        // Tailscale's Kubernetes operator setup: the operator applies `tag:k8s`.
        let found = unused_tags(
            r#"{"tagOwners": {"tag:k8s-operator": [], "tag:k8s": ["tag:k8s-operator"],
                              "tag:web": [], "tag:old": ["autogroup:admin"]}}"#,
        );
        assert_eq!(found, ["tag `tag:old` is never used"]);
    }

    #[test]
    fn without_a_tailnet_no_tag_is_called_unused() {
        let report = check_text(
            r#"{"tagOwners": {"tag:old": ["autogroup:admin"]}}"#,
            &Options::default(),
        );
        assert!(report.findings.warnings.is_empty());
    }

    #[test]
    fn many_unused_hosts_give_one_warning_each_at_its_key_in_order() {
        // The shape of the scaling benchmark (benches/check.rs): the findings must stay
        // exactly these whatever the parser and lints do to go faster.
        let n = 2_000;
        let mut text = String::from("{\"hosts\": {");
        for i in 0..n {
            text.push_str(&format!("\n\"h{i}\": \"10.0.{}.{}\",", i / 256, i % 256));
        }
        text.push_str("}}");
        let report = check_text(&text, &Options::default());
        assert!(report.findings.errors.is_empty());
        let found: Vec<(&codes::Code, String, &str)> = report
            .findings
            .warnings
            .iter()
            .map(|d| (d.code, d.message.clone(), &text[d.span.start..d.span.end]))
            .collect();
        let keys: Vec<String> = (0..n).map(|i| format!("\"h{i}\"")).collect();
        let expected: Vec<(&codes::Code, String, &str)> = (0..n)
            .map(|i| {
                (
                    codes::UNUSED_HOST,
                    format!("host `h{i}` is never used"),
                    keys[i].as_str(),
                )
            })
            .collect();
        assert_eq!(found, expected);
    }
}
