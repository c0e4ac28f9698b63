//! Go to definition, find references, rename and document symbols, over the names a policy
//! defines (groups, tags in `tagOwners`, hosts, ipsets, postures) and the places that use
//! them.

use super::roles::{self, Kind};
use super::{engine, failure, Answer, Doc};
use crate::span::Span;
use crate::syntax::hujson::{Node, Value};
use lsp_server::ErrorCode;
use lsp_types::{
    DocumentSymbol, Location, PrepareRenameResponse, SymbolKind, TextEdit, WorkspaceEdit,
};
use std::collections::HashMap;

/// The deepest path at which a name stands (`acls[].dst[]`, `autoApprovers.routes.X[]`).
const MAX_NAME_DEPTH: usize = 4;

/// One place a name stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Occurrence {
    /// What kind of name.
    pub(crate) kind: Kind,
    /// The name.
    pub(crate) name: String,
    /// Its bytes in the text (inside the quotes).
    pub(crate) span: Span,
    /// True at its definition.
    pub(crate) definition: bool,
}

/// Every definition and reference of `text`, in text order (none when it does not parse).
pub(crate) fn occurrences(text: &str) -> Vec<Occurrence> {
    let Some(tree) = engine::tree(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack: Vec<(&Node, Vec<String>)> = vec![(&tree, Vec::new())];
    while let Some((node, path)) = stack.pop() {
        if path.len() > MAX_NAME_DEPTH {
            // No name is defined or referred to this deep; not descending keeps the walk
            // linear on a hostile nesting.
            continue;
        }
        match &node.value {
            Value::Object(members) => {
                let defines = roles::definition_kind(&path);
                for m in members.iter().rev() {
                    if let Some(kind) = defines {
                        if let Some(span) = verbatim(text, m.key.span, &m.key.value) {
                            let lead = m.key.value.len() - m.key.value.trim_start().len();
                            out.push(Occurrence {
                                kind,
                                name: m.key.value.trim().to_string(),
                                span: Span::new(
                                    span.start + lead,
                                    span.start + lead + m.key.value.trim().len(),
                                ),
                                definition: true,
                            });
                        }
                    }
                    let mut child = path.clone();
                    child.push(m.key.value.to_ascii_lowercase());
                    stack.push((&m.value, child));
                }
            }
            Value::Array(items) => {
                for item in items.iter().rev() {
                    let mut child = path.clone();
                    child.push("[]".to_string());
                    stack.push((item, child));
                }
            }
            Value::String(s) => {
                let role = roles::value_role(&path);
                let Some(inner) = verbatim(text, node.span, s) else {
                    continue;
                };
                if let Some((range, kind)) = roles::reference(role, s) {
                    let name = s.get(range.clone()).unwrap_or_default().to_string();
                    out.push(Occurrence {
                        kind,
                        name,
                        span: Span::new(inner.start + range.start, inner.start + range.end),
                        definition: false,
                    });
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|o| o.span);
    out
}

/// The span inside the quotes of a string literal, when it is written as its value (no
/// escapes), so that offsets in the value are offsets in the text.
fn verbatim(text: &str, literal: Span, value: &str) -> Option<Span> {
    let inner = Span::new(literal.start + 1, literal.end.checked_sub(1)?);
    (text.get(inner.start..inner.end)? == value).then_some(inner)
}

fn at(occurrences: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occurrences
        .iter()
        .find(|o| o.span.start <= offset && offset <= o.span.end)
}

fn location(doc: &Doc<'_>, span: Span) -> Location {
    Location::new(doc.uri.clone(), doc.range(span))
}

/// Where the name at `offset` is defined.
pub(crate) fn definition(doc: &Doc<'_>, offset: usize) -> Option<Location> {
    let all = occurrences(doc.text);
    let here = at(&all, offset)?;
    all.iter()
        .find(|o| o.definition && o.kind == here.kind && o.name == here.name)
        .map(|o| location(doc, o.span))
}

/// Every place the name at `offset` stands.
pub(crate) fn references(doc: &Doc<'_>, offset: usize, with_definition: bool) -> Vec<Location> {
    let all = occurrences(doc.text);
    let Some(here) = at(&all, offset).cloned() else {
        return Vec::new();
    };
    all.iter()
        .filter(|o| o.kind == here.kind && o.name == here.name)
        .filter(|o| with_definition || !o.definition)
        .map(|o| location(doc, o.span))
        .collect()
}

/// The name under the cursor, if it can be renamed.
pub(crate) fn prepare_rename(doc: &Doc<'_>, offset: usize) -> Option<PrepareRenameResponse> {
    let all = occurrences(doc.text);
    let here = at(&all, offset)?;
    Some(PrepareRenameResponse::RangeWithPlaceholder {
        range: doc.range(here.span),
        placeholder: here.name.clone(),
    })
}

/// Why `new` cannot be the new name of a `kind`, if it cannot.
fn invalid_name(kind: Kind, new: &str) -> Option<String> {
    let prefix = match kind {
        Kind::Host => "",
        Kind::Group => "group:",
        Kind::Tag => "tag:",
        Kind::Ipset => "ipset:",
        Kind::Posture => "posture:",
    };
    let rest = new.strip_prefix(prefix);
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "\"\\,".contains(c);
    match rest {
        None => Some(format!("a {} name starts with `{prefix}`", kind.noun())),
        Some("") => Some(format!("`{new}` has nothing after `{prefix}`")),
        Some(r) if r.contains(bad_char) => Some(format!(
            "`{new}` holds a space, quote, backslash or comma, which a {} name cannot",
            kind.noun()
        )),
        Some(r) if r.contains(':') || (kind == Kind::Host && r.contains('@')) => Some(format!(
            "`{new}` holds `:`{}, which would make it another kind of selector",
            if kind == Kind::Host { " or `@`" } else { "" }
        )),
        Some(_)
            if kind == Kind::Host
                && crate::model::selector::parse_alias(new)
                    != crate::model::selector::Alias::Host(new.to_string()) =>
        {
            Some(format!(
                "`{new}` reads as an address or another selector, not a host name"
            ))
        }
        Some(_) => None,
    }
}

/// Renames the name at `offset` everywhere in the file, as one edit.
pub(crate) fn rename(doc: &Doc<'_>, offset: usize, new: &str) -> Answer {
    let all = occurrences(doc.text);
    let Some(here) = at(&all, offset).cloned() else {
        return Err(failure(
            ErrorCode::InvalidParams,
            "nothing to rename here: rename a group, tag, host, ipset or posture",
        ));
    };
    if let Some(why) = invalid_name(here.kind, new) {
        return Err(failure(
            ErrorCode::InvalidParams,
            format!("cannot rename `{}` to `{new}`: {why}", here.name),
        ));
    }
    if new != here.name
        && all
            .iter()
            .any(|o| o.definition && o.kind == here.kind && o.name == new)
    {
        return Err(failure(
            ErrorCode::InvalidParams,
            format!(
                "cannot rename `{}` to `{new}`: the policy already defines `{new}`",
                here.name
            ),
        ));
    }
    let edits: Vec<TextEdit> = all
        .iter()
        .filter(|o| o.kind == here.kind && o.name == here.name)
        .map(|o| TextEdit::new(doc.range(o.span), new.to_string()))
        .collect();
    let mut changes = HashMap::new();
    changes.insert(doc.uri.clone(), edits);
    super::json(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

/// The outline: each section, with its definitions or its numbered entries.
pub(crate) fn symbols(doc: &Doc<'_>) -> Vec<DocumentSymbol> {
    let Some(tree) = engine::tree(doc.text) else {
        return Vec::new();
    };
    let Value::Object(sections) = &tree.value else {
        return Vec::new();
    };
    sections
        .iter()
        .map(|section| {
            let children: Vec<DocumentSymbol> = match &section.value.value {
                Value::Object(members) => members
                    .iter()
                    .map(|m| {
                        symbol(
                            doc,
                            m.key.value.clone(),
                            SymbolKind::CONSTANT,
                            Span::new(m.key.span.start, m.value.span.end),
                            m.key.span,
                            None,
                        )
                    })
                    .collect(),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        symbol(
                            doc,
                            format!("{} #{}", section.key.value, i + 1),
                            SymbolKind::OBJECT,
                            item.span,
                            item.span,
                            None,
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            symbol(
                doc,
                section.key.value.clone(),
                SymbolKind::NAMESPACE,
                Span::new(section.key.span.start, section.value.span.end),
                section.key.span,
                Some(children),
            )
        })
        .collect()
}

fn symbol(
    doc: &Doc<'_>,
    name: String,
    kind: SymbolKind,
    span: Span,
    selection: Span,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    #[allow(
        deprecated,
        reason = "the protocol type still has the field; it is left unset"
    )]
    DocumentSymbol {
        name,
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range: doc.range(span),
        selection_range: doc.range(selection),
        children,
    }
}
