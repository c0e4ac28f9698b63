//! Tag owned by nobody.
//!
//! **What:** a `tagOwners` entry whose owner list is empty.
//!
//! **Why:** nobody (but an admin through the API) can apply the tag to a node, so rules
//! about it match nothing until someone changes the policy. Usually the owners were
//! forgotten.
//!
//! **Example:** `"tagOwners": {"tag:relay": []}` warns; write
//! `"tag:relay": ["autogroup:admin"]`.

use super::Rule;

/// TG1008.
pub const RULE: Rule = Rule {
    code: "TG1008",
    name: "tag-without-owner",
    summary: "a tag that nobody owns",
    run: |cx, out| {
        for (tag, owners) in &cx.policy.tag_owners {
            if owners.is_empty() {
                out.push(
                    crate::diagnostic::Diagnostic::warning(
                        "TG1008",
                        format!("tag `{}` has no owner", tag.value),
                        tag.span,
                    )
                    .with_label("empty owner list")
                    .with_help("list who may apply the tag, e.g. [\"autogroup:admin\"]"),
                );
            }
        }
    },
};
