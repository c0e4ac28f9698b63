//! The layout rules of tailscale/hujson's `Format` (`format.go`), applied to the lossless
//! tree in the same passes and the same order, so that the output is byte for byte what
//! hujson writes:
//!
//! 1. the comments before the value are formatted and lose their leading whitespace;
//! 2. `normalize`: a string with a `\` escape is rewritten in the canonical form of RFC 8785
//!    (section 3.2.2.2); whitespace without comments between a name and its colon or a value
//!    and its comma is removed; an empty object or array without comments becomes `{}`/`[]`;
//! 3. `expand`: an object or array is expanded (one entry per line) when a line break stands
//!    after its opening bracket, a comma, or before its closing bracket, or when one of its
//!    lines would be wider than 80 bytes;
//! 4. `whitespace`: indentation with tabs, comments re-indented, at most one blank line, a
//!    trailing comma after the last entry of an expanded value (unless the input was
//!    standard JSON), none on one line;
//! 5. `align`: the values of consecutive one-line members line up;
//! 6. the comments after the value, and exactly one final newline.
//!
//! Widths are in bytes, as in hujson. Every walk grows its stack on demand, since the tree
//! may be [`crate::syntax::hujson::MAX_DEPTH`] levels deep.

use crate::syntax::hujson::literal::unquote;
use crate::syntax::hujson::syntax::{comment_len, whitespace_len, Composite, Kind, Syn};
use crate::syntax::hujson::{STACK_GROWTH, STACK_RED_ZONE};
use std::collections::HashSet;

/// Widest line, in bytes, that a one-line object or array may have (`punchCardWidth`).
const MAX_WIDTH: usize = 80;

type Tree = Syn<String>;

fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, f)
}

/// Identity of a composite while the tree is formatted: its boxes never move in these passes.
fn id(c: &Composite<String>) -> usize {
    std::ptr::from_ref(c) as usize
}

/// Formats the tree in place, as `hujson.Value.Format`.
pub(super) fn format(v: &mut Tree) {
    format_extra(&mut v.before, 0, Options::default());
    let ws = whitespace_len(v.before.as_bytes());
    v.before.drain(..ws);
    let standard = is_standard(v);
    normalize(v);
    let mut expanded = HashSet::new();
    expand(v, &mut expanded);
    whitespace(v, 0, &expanded, standard);
    let mut multiline = HashSet::new();
    find_multiline(v, &mut multiline);
    align(v, &multiline);
    format_extra(&mut v.after, 0, Options::default());
    let kept = v.after.trim_end().len();
    v.after.truncate(kept);
    v.after.push('\n');
}

fn has_newline(extra: &str) -> bool {
    extra.contains('\n')
}

fn has_comment(extra: &str) -> bool {
    whitespace_len(extra.as_bytes()) < extra.len()
}

/// No comment and no trailing comma anywhere (`IsStandard`).
fn is_standard(v: &Tree) -> bool {
    grow(|| {
        if has_comment(&v.before) || has_comment(&v.after) {
            return false;
        }
        match &v.kind {
            Kind::Literal(_) => true,
            Kind::Composite(c) => {
                !c.trailing_comma && !has_comment(&c.after) && c.items.iter().all(is_standard)
            }
        }
    })
}

fn normalize(v: &mut Tree) {
    grow(|| match &mut v.kind {
        Kind::Literal(s) => {
            if s.starts_with('"') && s.contains('\\') {
                *s = canonical_string(&unquote(s));
            }
        }
        Kind::Composite(c) => {
            if c.items.is_empty() {
                if !has_comment(&c.after) {
                    c.after.clear();
                }
                return;
            }
            for item in &mut c.items {
                if !has_comment(&item.after) {
                    item.after.clear();
                }
            }
            // In hujson a trailing comma is a non-nil extra after the last value; clearing
            // that extra drops the comma.
            if c.items.last().is_some_and(|last| last.after.is_empty()) {
                c.trailing_comma = false;
            }
            for item in &mut c.items {
                normalize(item);
            }
        }
    });
}

/// A JSON string literal in the form of RFC 8785, section 3.2.2.2 (hujson's `String`).
fn canonical_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Widths of the first and last line of a piece of output, and whether it spans lines.
#[derive(Clone, Copy, Default)]
struct LineStats {
    first: usize,
    last: usize,
    multiline: bool,
}

/// Decides which composites to expand (hujson's `expandComposites`); returns the line
/// widths of `v` as it would be printed.
fn expand(v: &Tree, expanded: &mut HashSet<usize>) -> LineStats {
    grow(|| {
        let c = match &v.kind {
            Kind::Literal(s) => {
                return LineStats {
                    first: s.len(),
                    last: s.len(),
                    multiline: false,
                }
            }
            Kind::Composite(c) => c,
        };
        let mut wide = false;
        let mut line = 1; // `{` or `[`
        let mut lines = Vec::new();
        let mut add = |s: LineStats, line: &mut usize| {
            *line += s.first;
            if s.multiline {
                lines.push(*line);
                *line = s.last;
            }
        };
        for (i, item) in c.items.iter().enumerate() {
            if !(c.is_object && i % 2 == 1) {
                wide |= has_newline(&item.before);
            }
            add(extra_stats(&item.before), &mut line);
            add(expand(item, expanded), &mut line);
            add(extra_stats(&item.after), &mut line);
            line += 2; // `: ` after a name, `, ` after a value
        }
        line += 1; // `}` or `]`
        if let Some(last) = c.items.last() {
            wide |= has_newline(&last.after);
        }
        wide |= has_newline(&c.after);
        lines.push(line);
        let first = lines.first().copied().unwrap_or(line);
        let last = lines.last().copied().unwrap_or(line);
        let multiline = lines.len() > 1;
        wide |= lines.iter().any(|&w| w > MAX_WIDTH);
        if wide {
            expanded.insert(id(c));
            let before_first = c.items.first().map_or(&c.after, |i| &i.before);
            return LineStats {
                first: 1 + extra_stats(before_first).first,
                last: 1,
                multiline: true,
            };
        }
        LineStats {
            first,
            last,
            multiline,
        }
    })
}

/// Line widths of whitespace and comments (hujson's `Extra.lineStats`).
fn extra_stats(extra: &str) -> LineStats {
    let length = |mut b: &[u8]| {
        let mut n = 0;
        loop {
            b = b.get(whitespace_len(b)..).unwrap_or_default();
            if b.starts_with(b"//") {
                return n + 1 + b.len();
            }
            if b.starts_with(b"/*") {
                match comment_len(b) {
                    Some(len) if len > 0 => {
                        n += 1 + len;
                        b = b.get(len..).unwrap_or_default();
                        continue;
                    }
                    _ => return n + 1 + b.len(),
                }
            }
            return if n > 0 { n + 1 } else { n };
        }
    };
    let b = extra.as_bytes();
    match (
        b.iter().position(|&c| c == b'\n'),
        b.iter().rposition(|&c| c == b'\n'),
    ) {
        (Some(first), Some(last)) => LineStats {
            first: length(&b[..first]),
            last: length(&b[last + 1..]),
            multiline: true,
        },
        _ => {
            let n = length(b);
            LineStats {
                first: n,
                last: n,
                multiline: false,
            }
        }
    }
}

/// Indents and spaces every extra and sets the trailing commas (`formatWhitespace`).
fn whitespace(v: &mut Tree, depth: usize, expanded: &HashSet<usize>, standard: bool) {
    grow(|| {
        let Kind::Composite(c) = &mut v.kind else {
            return;
        };
        let expand = expanded.contains(&id(c));
        let inner = Options {
            remove_leading_empty_lines: true,
            remove_trailing_empty_lines: true,
            ..Options::default()
        };
        if c.is_object {
            for (i, pair) in c.items.chunks_mut(2).enumerate() {
                let [name, value] = pair else { continue };
                format_extra(
                    &mut name.before,
                    depth + 1,
                    Options {
                        ensure_leading_newline: expand,
                        remove_leading_empty_lines: i == 0,
                        append_space_if_empty: i != 0,
                        ..Options::default()
                    },
                );
                format_extra(&mut name.after, depth + 2, inner);
                format_extra(
                    &mut value.before,
                    depth + 2,
                    Options {
                        append_space_if_empty: true,
                        ..inner
                    },
                );
                let offset = usize::from(expand)
                    + usize::from(has_newline(&name.after) || has_newline(&value.before));
                whitespace(value, depth + offset, expanded, standard);
                format_extra(&mut value.after, depth + 2, inner);
            }
        } else {
            for (i, value) in c.items.iter_mut().enumerate() {
                format_extra(
                    &mut value.before,
                    depth + 1,
                    Options {
                        ensure_leading_newline: expand,
                        remove_leading_empty_lines: i == 0,
                        append_space_if_empty: i != 0,
                        ..Options::default()
                    },
                );
                whitespace(value, depth + usize::from(expand), expanded, standard);
                format_extra(&mut value.after, depth + 2, inner);
            }
        }
        let empty = c.items.is_empty();
        format_extra(
            &mut c.after,
            depth + 1,
            Options {
                ensure_trailing_newline: expand,
                remove_leading_empty_lines: empty,
                remove_trailing_empty_lines: true,
                unindent_last_line: true,
                ..Options::default()
            },
        );
        let surrounded =
            c.items.last().is_some_and(|last| !last.after.is_empty()) && !c.after.is_empty();
        if !expand && !surrounded {
            remove_trailing_comma(c);
        } else if expand && !standard && !empty {
            c.trailing_comma = true;
        }
    });
}

/// hujson's `setTrailingComma(comp, false)`: the extra between the last value and the comma
/// joins the extra before the closing bracket.
fn remove_trailing_comma(c: &mut Composite<String>) {
    if !c.trailing_comma {
        return;
    }
    c.trailing_comma = false;
    if let Some(last) = c.items.last_mut() {
        let moved = std::mem::take(&mut last.after);
        c.after.insert_str(0, &moved);
    }
}

/// What [`format_extra`] does besides re-indenting (hujson's `formatOptions`).
#[derive(Clone, Copy, Default)]
struct Options {
    ensure_leading_newline: bool,
    ensure_trailing_newline: bool,
    remove_leading_empty_lines: bool,
    remove_trailing_empty_lines: bool,
    unindent_last_line: bool,
    append_space_if_empty: bool,
}

fn indent(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n('\t', depth));
}

/// Formats whitespace and comments at indentation `depth` (hujson's `Extra.format`).
fn format_extra(extra: &mut String, depth: usize, opts: Options) {
    if extra.contains('\r') {
        *extra = extra
            .replace("\r\n", "\n")
            .replace("\n\r", "\n")
            .replace('\r', " ");
    }
    let mut rest = extra.as_str();
    let mut out = String::new();
    if opts.ensure_leading_newline && !has_newline(rest) {
        out.push('\n');
    }
    while !rest.is_empty() {
        let ws = whitespace_len(rest.as_bytes());
        if ws > 0 {
            let newlines = rest[..ws].matches('\n').count().min(2);
            out.extend(std::iter::repeat_n('\n', newlines));
            rest = &rest[ws..];
            continue;
        }
        let n = match comment_len(rest.as_bytes()) {
            Some(n) if n > 0 => n,
            // Not a comment: the parser never leaves anything else in an extra.
            _ => return,
        };
        if out.ends_with('\n') {
            indent(&mut out, depth);
        } else {
            out.push(' ');
        }
        let comment = &rest[..n];
        let is_line = comment.starts_with("//");
        if is_line || !has_newline(comment) {
            out.push_str(comment.trim_end());
            // A line comment leaves its line feed to the whitespace that follows.
            rest = &rest[n - usize::from(is_line)..];
            continue;
        }
        block_comment(&mut out, comment, depth);
        rest = &rest[n..];
    }
    if opts.ensure_trailing_newline && !out.ends_with('\n') {
        out.push('\n');
    }
    while opts.remove_leading_empty_lines && out.starts_with("\n\n") {
        out.remove(0);
    }
    while opts.remove_trailing_empty_lines && out.ends_with("\n\n") {
        out.pop();
    }
    if out.ends_with('\n') {
        let last = if opts.unindent_last_line {
            depth.saturating_sub(1)
        } else {
            depth
        };
        indent(&mut out, last);
    } else if !out.is_empty() {
        out.push(' ');
    }
    if opts.append_space_if_empty && out.is_empty() {
        out.push(' ');
    }
    *extra = out;
}

/// A block comment over several lines, re-indented at `depth` keeping the lines' common
/// indentation (and a column of `*` aligned one space in).
fn block_comment(out: &mut String, comment: &str, depth: usize) {
    let mut lines: Vec<String> = comment
        .split('\n')
        .map(|l| l.trim_end().to_string())
        .collect();
    let has_empty_line = lines.iter().any(String::is_empty);
    let first_line = lines
        .iter()
        .skip(1)
        .find(|l| !l.is_empty())
        .cloned()
        .unwrap_or_default();
    // Byte-wise, as hujson: the prefix is only ever cut to its leading whitespace.
    let mut common: &[u8] = first_line.as_bytes();
    let mut last_line = None;
    for (i, line) in lines.iter().enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        let b = line.as_bytes();
        if b.ends_with(b"*/") && whitespace_len(b) + 2 == b.len() {
            // A last line of only `*/` takes the common indentation.
            last_line = Some(i);
            break;
        }
        let same = b.iter().zip(common).take_while(|(x, y)| x == y).count();
        if same < b.len().min(common.len()) {
            common = &common[..same];
        }
    }
    let prefix = whitespace_len(common);
    let star_aligned = !has_empty_line && common.get(prefix) == Some(&b'*');
    let prefix_text = String::from_utf8_lossy(&common[..prefix]).into_owned();
    if let Some(line) = last_line.and_then(|i| lines.get_mut(i)) {
        *line = format!("{prefix_text}*/");
    }
    if let Some(first) = lines.first() {
        out.push_str(first);
    }
    out.push('\n');
    for line in lines.iter().skip(1) {
        if !line.is_empty() {
            indent(out, depth);
            if star_aligned {
                out.push(' ');
            }
            out.push_str(line.get(prefix..).unwrap_or(line));
        }
        out.push('\n');
    }
    let kept = out.trim_end_matches('\n').len();
    out.truncate(kept);
}

/// Collects the composites in which a line break stands before or after some value at any
/// depth (hujson's `Value.hasNewline(false)`), so that [`align`] asks in constant time.
fn find_multiline(v: &Tree, found: &mut HashSet<usize>) -> bool {
    grow(|| {
        let own = has_newline(&v.before) || has_newline(&v.after);
        let Kind::Composite(c) = &v.kind else {
            return own;
        };
        let mut inner = false;
        for item in &c.items {
            inner |= find_multiline(item, found);
        }
        if inner {
            found.insert(id(c));
        }
        own || inner
    })
}

fn spans_lines(v: &Tree, multiline: &HashSet<usize>) -> bool {
    match &v.kind {
        Kind::Literal(_) => false,
        Kind::Composite(c) => multiline.contains(&id(c)),
    }
}

/// Aligns the values of consecutive one-line members (`alignObjectValues`).
fn align(v: &mut Tree, multiline: &HashSet<usize>) {
    grow(|| {
        let Kind::Composite(c) = &mut v.kind else {
            return;
        };
        if c.is_object {
            let mut rows: Vec<(usize, usize)> = Vec::new();
            for i in 0..c.items.len() / 2 {
                let (Some(name), Some(value)) = (c.items.get(2 * i), c.items.get(2 * i + 1)) else {
                    break;
                };
                let one_line = has_newline(&name.before)
                    && !has_newline(&name.after)
                    && !has_newline(&value.before)
                    && !spans_lines(value, multiline)
                    && !has_newline(&value.after);
                let new_block = name.before.matches('\n').count() > 1;
                let name_len = match &name.kind {
                    Kind::Literal(s) => s.len(),
                    Kind::Composite(_) => 0,
                };
                let width = name_len + name.after.len() + 1 + value.before.len();
                if !one_line || new_block {
                    pad_rows(&mut c.items, &mut rows);
                }
                if one_line {
                    rows.push((2 * i + 1, width));
                }
            }
            pad_rows(&mut c.items, &mut rows);
        }
        for item in &mut c.items {
            align(item, multiline);
        }
    });
}

/// Pads the extra before each row's value up to the widest row, and empties the rows.
fn pad_rows(items: &mut [Tree], rows: &mut Vec<(usize, usize)>) {
    let widest = rows.iter().map(|&(_, w)| w).max().unwrap_or(0);
    for &(i, w) in rows.iter() {
        if let Some(value) = items.get_mut(i) {
            value.before.extend(std::iter::repeat_n(' ', widest - w));
        }
    }
    rows.clear();
}
