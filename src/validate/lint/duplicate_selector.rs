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

/// The longest list whose earlier entries are compared one by one rather than through a map
/// (most lists hold a selector or two).
const SHORT_LIST: usize = 16;

/// Reports every entry of `list` whose trimmed text an earlier entry already has.
fn duplicates<T: Deref<Target = str>>(list: &[Spanned<T>], out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Spanned<T>> = HashMap::new();
    let short = list.len() <= SHORT_LIST;
    for (i, entry) in list.iter().enumerate() {
        let text = entry.trim();
        let earlier = if short {
            list[..i].iter().find(|e| e.trim() == text)
        } else {
            first.get(text).copied()
        };
        match earlier {
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
            None if short => {}
            None => {
                first.insert(text, entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{duplicates, SHORT_LIST};
    use crate::span::{Span, Spanned};

    #[test]
    fn short_and_long_lists_report_the_same_duplicates_at_the_same_places() {
        for len in [3, SHORT_LIST, SHORT_LIST + 1, 40] {
            // Entry i is `s{i % 5}`, some with spaces around: every entry from the sixth on
            // repeats the one five places before, and names the first of its text.
            let list: Vec<Spanned<String>> = (0..len)
                .map(|i| {
                    let text = if i % 3 == 0 {
                        format!(" s{} ", i % 5)
                    } else {
                        format!("s{}", i % 5)
                    };
                    Spanned::new(text, Span::new(i * 10, i * 10 + 4))
                })
                .collect();
            let mut out = Vec::new();
            duplicates(&list, &mut out);
            let found: Vec<(usize, usize, String)> = out
                .iter()
                .map(|d| (d.span.start, d.related[0].span.start, d.message.clone()))
                .collect();
            let want: Vec<(usize, usize, String)> = (5..len)
                .map(|i| {
                    (
                        i * 10,
                        (i % 5) * 10,
                        format!("`s{}` is already in this list", i % 5),
                    )
                })
                .collect();
            assert_eq!(found, want, "a list of {len}");
        }
    }
}
