//! The same selector twice in one list.
//!
//! **What:** a `src` or `dst` list of a grant, an ACL entry or an SSH rule that holds the
//! same selector twice, compared as written (trimmed): `["tag:ci", "group:dev", "tag:ci"]`.
//! An ACL destination is compared with its ports: `tag:web:22` and `tag:web:80` differ.
//! Different selectors that happen to match the same nodes are not reported.
//!
//! **Why:** Tailscale accepts the repetition and it changes nothing, but it is usually a
//! copy-paste mistake, or a sign that another name was meant in its place.
//!
//! **Example:** `"src": ["tag:ci", "group:dev", "tag:ci"]` warns at the second `tag:ci`;
//! remove it, or write the name that was meant.

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::Spanned;
use std::collections::HashMap;
use std::ops::Deref;

/// TG1012.
pub(crate) const RULE: Rule = Rule {
    code: codes::DUPLICATE_SELECTOR,
    run: |cx, out| {
        let p = cx.policy;
        for g in &p.grants {
            duplicates(&g.src, out);
            duplicates(&g.dst, out);
        }
        for a in &p.acls {
            duplicates(&a.src, out);
            duplicates(&a.dst, out);
        }
        for r in &p.ssh {
            duplicates(&r.src, out);
            duplicates(&r.dst, out);
        }
    },
};

/// Reports every entry of `list` whose trimmed text an earlier entry already has.
fn duplicates<T: Deref<Target = str>>(list: &[Spanned<T>], out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Spanned<T>> = HashMap::new();
    for entry in list {
        let text = entry.trim();
        match first.get(text) {
            Some(earlier) => out.push(
                Diagnostic::warning(
                    codes::DUPLICATE_SELECTOR,
                    format!("`{text}` is already in this list"),
                    entry.span,
                )
                .with_label("duplicate")
                .with_help(format!(
                    "remove this `{text}`, or write the selector that was meant"
                ))
                .with_related(earlier.span, "first written here"),
            ),
            None => {
                first.insert(text, entry);
            }
        }
    }
}
