//! Completion: section and field names from the schema; where a selector goes, the names
//! the policy defines and the autogroups valid there; protocols, capability names and node
//! attributes.

use super::context::{self, Slot};
use super::roles::{self, Role};
use super::{engine, Doc};
use crate::span::Span;
use crate::vocab::descriptions::{self as vocabulary, Place};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, CompletionTextEdit, Documentation,
    MarkupContent, MarkupKind, TextEdit,
};

/// The completions at byte `offset`.
pub(crate) fn complete(doc: &Doc<'_>, offset: usize) -> CompletionResponse {
    let ctx = context::at(doc.text, offset);
    let keys = ctx.keys();
    let candidates: Vec<(String, CompletionItemKind, String)> = match ctx.slot {
        Slot::Key if roles::is_capability_key(&keys) => vocabulary::CAPABILITIES
            .iter()
            .map(|(n, d)| {
                (
                    n.to_string(),
                    CompletionItemKind::PROPERTY,
                    format!("grants {d}"),
                )
            })
            .collect(),
        Slot::Key if roles::definition_kind(&keys).is_some() => Vec::new(),
        Slot::Key => engine::fields_at(&ctx.path)
            .into_iter()
            .map(|(n, d)| (n.to_string(), CompletionItemKind::FIELD, d.to_string()))
            .collect(),
        Slot::Value => values(doc.text, roles::value_role(&keys)),
    };
    // Replace the whole string under the cursor (inside its quotes), or insert a quoted one.
    let (replace, quote) = match &ctx.token {
        Some(t) => {
            let end = t.span.start + 1 + t.raw.len();
            (Span::new(t.span.start + 1, end), false)
        }
        None => (Span::new(offset, offset), true),
    };
    let range = doc.range(replace);
    let items = candidates
        .into_iter()
        .map(|(label, kind, about)| {
            let new_text = if quote {
                format!("\"{label}\"")
            } else {
                label.clone()
            };
            CompletionItem {
                label: label.clone(),
                kind: Some(kind),
                documentation: (!about.is_empty()).then_some({
                    Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: about,
                    })
                }),
                filter_text: Some(label),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, new_text))),
                ..CompletionItem::default()
            }
        })
        .collect();
    CompletionResponse::Array(items)
}

fn values(text: &str, role: Role) -> Vec<(String, CompletionItemKind, String)> {
    let names = defined_names(text);
    let defined = |prefixes: &[&str]| -> Vec<(String, CompletionItemKind, String)> {
        names
            .iter()
            .filter(|(kind, _)| prefixes.contains(kind))
            .map(|(kind, n)| {
                (
                    n.clone(),
                    CompletionItemKind::VARIABLE,
                    format!("the policy's {kind}"),
                )
            })
            .collect()
    };
    match role {
        Role::Selector(place) | Role::SelectorWithPorts(place) => {
            let mut out = match place {
                Place::SshUser => Vec::new(),
                // Tag owners and auto-approvers are users, groups and tags.
                Place::Owner => defined(&["group", "tag"]),
                _ => defined(&["group", "tag", "host", "ipset"]),
            };
            out.extend(vocabulary::autogroups_at(place).into_iter().map(|a| {
                (
                    a.to_string(),
                    CompletionItemKind::CONSTANT,
                    vocabulary::describe(a).unwrap_or_default().to_string(),
                )
            }));
            if !matches!(place, Place::SshUser | Place::Owner) {
                out.push((
                    "*".into(),
                    CompletionItemKind::CONSTANT,
                    "every node and approved route".into(),
                ));
            }
            out
        }
        Role::Tag => defined(&["tag"]),
        Role::IpsetEntry => defined(&["ipset", "host"]),
        Role::Posture => defined(&["posture"]),
        Role::Protocol => engine::protocols()
            .map(|p| {
                (
                    p.to_string(),
                    CompletionItemKind::ENUM_MEMBER,
                    String::new(),
                )
            })
            .collect(),
        Role::NodeAttribute => vocabulary::NODE_ATTRIBUTES
            .iter()
            .map(|(n, d)| {
                (
                    n.to_string(),
                    CompletionItemKind::ENUM_MEMBER,
                    d.to_string(),
                )
            })
            .collect(),
        Role::User | Role::Other => Vec::new(),
    }
}

/// The names the policy defines, as (kind, name). Completion runs on text that may not
/// parse, so this reads the keys of the definition sections with the tolerant scanner's
/// rules: a string followed by `:` directly inside `groups`, `tagOwners`, `hosts`, `ipsets`
/// or `postures`.
fn defined_names(text: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    if let Some(policy) = engine::policy(text) {
        for (kind, map) in [
            (
                "group",
                policy
                    .groups
                    .iter()
                    .map(|(k, _)| k.value.clone())
                    .collect::<Vec<_>>(),
            ),
            (
                "tag",
                policy
                    .tag_owners
                    .iter()
                    .map(|(k, _)| k.value.clone())
                    .collect(),
            ),
            (
                "host",
                policy.hosts.iter().map(|(k, _)| k.value.clone()).collect(),
            ),
            (
                "ipset",
                policy.ipsets.iter().map(|(k, _)| k.value.clone()).collect(),
            ),
            (
                "posture",
                policy
                    .postures
                    .iter()
                    .map(|(k, _)| k.value.clone())
                    .collect(),
            ),
        ] {
            out.extend(map.into_iter().map(|n| (kind, n)));
        }
        return out;
    }
    // The text does not parse (it is being typed): take each key at depth two whose object
    // is a definition section.
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(rel) = text.get(i..).and_then(|t| t.find('"')) {
        let start = i + rel;
        let Some(len) = text.get(start + 1..).and_then(|t| t.find(['"', '\n'])) else {
            break;
        };
        let end = start + 1 + len;
        let after = text.get(end + 1..).map(str::trim_start).unwrap_or_default();
        if bytes.get(end) == Some(&b'"') && after.starts_with(':') {
            let ctx = context::at(text, start);
            if let Some(kind) = roles::definition_kind(&ctx.keys()) {
                if let Some(name) = text.get(start + 1..end) {
                    out.push((kind.noun(), name.to_string()));
                }
            }
        }
        i = end + 1;
    }
    out
}
