//! Code actions (quick fixes for findings) and formatting.

use super::{engine, failure, worker, Doc};
use crate::codes::{self, Code};
use crate::diagnostic::Diagnostic;
use crate::model::tailnet::Tailnet;
use crate::span::Span;
use crate::syntax::hujson::{Node, Value};
use lsp_server::{ErrorCode, ResponseError};
use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, TextEdit, WorkspaceEdit};
use std::collections::HashMap;

/// The codes of the unused-definition lints.
const UNUSED: &[&Code] = &[
    codes::UNUSED_GROUP,
    codes::UNUSED_TAG,
    codes::UNUSED_HOST,
    codes::UNUSED_IPSET,
];
/// The code of a tag that `tagOwners` does not define.
const TAG_NOT_FOUND: &Code = codes::TAG_NOT_FOUND;

/// The quick fixes for the findings that touch `range`: the "did you mean" replacement,
/// removing an unused definition, adding a missing tag owner.
pub(crate) fn code_actions(
    doc: &Doc<'_>,
    range: Span,
    tailnet: Option<&Tailnet>,
    allow: &[String],
    dialect: crate::model::Dialect,
) -> Vec<CodeActionOrCommand> {
    if doc.uri.as_str().ends_with(super::files::SIDECAR) {
        return Vec::new();
    }
    let tree = engine::tree(doc.text);
    let mut out = Vec::new();
    for d in engine::check_policy(doc.text, tailnet, allow, dialect).0 {
        if d.span.end < range.start || d.span.start > range.end {
            continue;
        }
        let fixes = [
            replace_suggestion(doc, &d),
            tree.as_ref().and_then(|t| remove_unused(doc, t, &d)),
            tree.as_ref().and_then(|t| add_tag_owner(doc, t, &d)),
        ];
        for (title, edits) in fixes.into_iter().flatten() {
            out.push(action(doc, &d, title, edits));
        }
    }
    out
}

fn action(
    doc: &Doc<'_>,
    d: &Diagnostic,
    title: String,
    edits: Vec<TextEdit>,
) -> CodeActionOrCommand {
    let mut changes = HashMap::new();
    changes.insert(doc.uri.clone(), edits);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![worker::to_lsp(d, doc.uri, doc.text, &doc.lines)]),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        }),
        is_preferred: Some(d.suggestion.is_some()),
        ..CodeAction::default()
    })
}

fn replace_suggestion(doc: &Doc<'_>, d: &Diagnostic) -> Option<(String, Vec<TextEdit>)> {
    let s = d.suggestion.as_ref()?;
    let within = doc.text.get(d.span.start..d.span.end)?;
    let at = d.span.start + within.find(s.wrong.as_str())?;
    let edit = TextEdit::new(
        doc.range(Span::new(at, at + s.wrong.len())),
        s.right.clone(),
    );
    Some((
        format!("Replace `{}` with `{}`", s.wrong, s.right),
        vec![edit],
    ))
}

/// The member of a top-level section whose key is at `span`.
fn member_at(tree: &Node, span: Span) -> Option<(&crate::syntax::hujson::Member, &str)> {
    let Value::Object(sections) = &tree.value else {
        return None;
    };
    sections
        .iter()
        .find_map(|section| match &section.value.value {
            Value::Object(members) => members
                .iter()
                .find(|m| m.key.span == span)
                .map(|m| (m, section.key.value.as_str())),
            _ => None,
        })
}

fn remove_unused(doc: &Doc<'_>, tree: &Node, d: &Diagnostic) -> Option<(String, Vec<TextEdit>)> {
    if !UNUSED.contains(&d.code) {
        return None;
    }
    let (member, section) = member_at(tree, d.span)?;
    let span = member_removal(doc.text, member.key.span.start, member.value.span.end);
    Some((
        format!("Remove the unused `{}` from `{section}`", member.key.value),
        vec![TextEdit::new(doc.range(span), String::new())],
    ))
}

/// What to delete to remove a member from `start` (its key) to `end` (its value's end):
/// its comma, and its whole line when it stands alone on it.
fn member_removal(text: &str, start: usize, end: usize) -> Span {
    let bytes = text.as_bytes();
    let line_start = text
        .get(..start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let alone = text
        .get(line_start..start)
        .is_some_and(|t| t.trim().is_empty());
    let skip_blanks = |mut i: usize| {
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    };
    let mut stop = skip_blanks(end);
    if bytes.get(stop) == Some(&b',') {
        stop = skip_blanks(stop + 1);
    }
    if alone {
        let line_end = text.get(stop..).and_then(|t| t.find('\n'));
        let rest_is_comment = text.get(stop..).is_some_and(|t| {
            let t = t.split('\n').next().unwrap_or_default();
            t.is_empty() || t.starts_with("//")
        });
        if rest_is_comment {
            return Span::new(line_start, line_end.map_or(text.len(), |n| stop + n + 1));
        }
    }
    Span::new(start, stop)
}

/// The tag a `tag not found` finding names: its string's alias (without the ports of an
/// ACL or test destination).
fn missing_tag(text: &str, span: Span) -> Option<String> {
    let literal = text.get(span.start..span.end)?;
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let role = super::roles::value_role(&super::context::at(text, span.start + 1).keys());
    let (range, kind) = super::roles::reference(role, inner)?;
    (kind == super::roles::Kind::Tag).then(|| inner.get(range).map(str::to_string))?
}

fn add_tag_owner(doc: &Doc<'_>, tree: &Node, d: &Diagnostic) -> Option<(String, Vec<TextEdit>)> {
    if d.code != TAG_NOT_FOUND {
        return None;
    }
    let tag = missing_tag(doc.text, d.span)?;
    let Value::Object(sections) = &tree.value else {
        return None;
    };
    let entry = format!("{tag:?}: []");
    let owners = sections
        .iter()
        .find(|m| m.key.value.eq_ignore_ascii_case("tagOwners"));
    let edit = match owners.map(|m| &m.value) {
        Some(Node {
            value: Value::Object(members),
            span,
        }) => match members.first() {
            Some(first) => insert_before(doc, first.key.span.start, &format!("{entry},")),
            None => TextEdit::new(doc.range(Span::new(span.start + 1, span.end - 1)), entry),
        },
        Some(_) => return None,
        None => match sections.first() {
            Some(first) => insert_before(
                doc,
                first.key.span.start,
                &format!("\"tagOwners\": {{{entry}}},"),
            ),
            None => TextEdit::new(
                doc.range(Span::new(tree.span.start + 1, tree.span.end - 1)),
                format!("\"tagOwners\": {{{entry}}}"),
            ),
        },
    };
    Some((
        format!("Define `{tag}` in `tagOwners` (owned by admins only)"),
        vec![edit],
    ))
}

/// Inserts `text` before the member at `at`, on its own line with the member's indentation
/// when the member starts its line.
fn insert_before(doc: &Doc<'_>, at: usize, text: &str) -> TextEdit {
    let line_start = doc
        .text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let indent = doc.text.get(line_start..at).unwrap_or_default();
    let new_text = if indent.trim().is_empty() {
        format!("{text}\n{indent}")
    } else {
        format!("{text} ")
    };
    TextEdit::new(doc.range(Span::new(at, at)), new_text)
}

/// `tailgrant fmt`'s output as one edit of the whole document (none when it is already
/// formatted); a text that does not parse is refused with the parser's error.
pub(crate) fn format(doc: &Doc<'_>) -> Result<Vec<TextEdit>, ResponseError> {
    let formatted = engine::format(doc.text).map_err(|d| {
        let (line, column) = {
            let p = doc.lines.position(doc.text, d.span.start);
            (p.line + 1, p.character + 1)
        };
        failure(
            ErrorCode::RequestFailed,
            format!(
                "not formatted: {} at {line}:{column} ({}); fix it first",
                d.message, d.code
            ),
        )
    })?;
    if formatted == doc.text {
        return Ok(Vec::new());
    }
    let whole = doc.range(Span::new(0, doc.text.len()));
    Ok(vec![TextEdit::new(whole, formatted)])
}
