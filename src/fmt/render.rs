//! Printing the layout tree.
//!
//! Every object and array is printed either on one line or expanded with one entry per line,
//! never half of each. It is expanded when a line break stood anywhere between its brackets
//! (comments included) or when its one-line form would be wider than [`MAX_INLINE_WIDTH`]
//! characters. Like Tailscale's `hujson.Format`, the width counts the value's own text, not
//! its indentation or key, so the decision does not depend on where the value sits; and since
//! an expanded value always comes out with line breaks and a one-line value never does, a
//! second run makes the same decisions (idempotence).

use super::tree::{Comment, Composite, Document, Entry, Item, Node};

/// Widest one-line object or array, in characters (Tailscale's `hujson` uses the same).
pub(super) const MAX_INLINE_WIDTH: usize = 80;

/// Prints the document: tabs for indentation, exactly one final newline.
pub(super) fn render(doc: &Document<'_>) -> String {
    let mut out = String::new();
    let mut after_line_comment = false;
    let separate = |out: &mut String, after_line_comment: bool, brk: bool, blank: bool| {
        if out.is_empty() {
            // Blank lines at the start of the file are dropped.
        } else if brk || after_line_comment {
            out.push_str(if blank { "\n\n" } else { "\n" });
        } else {
            out.push(' ');
        }
    };
    for c in &doc.before {
        separate(&mut out, after_line_comment, c.break_before, c.blank_before);
        out.push_str(c.text);
        after_line_comment = c.is_line;
    }
    let root = &doc.root;
    separate(
        &mut out,
        after_line_comment,
        root.break_before,
        root.blank_before,
    );
    let inline = inline_value(&root.value);
    write_value(&mut out, &root.value, 0, inline.as_deref());
    after_line_comment = false;
    for c in &doc.after {
        separate(&mut out, after_line_comment, c.break_before, c.blank_before);
        out.push_str(c.text);
        after_line_comment = c.is_line;
    }
    out.push('\n');
    out
}

/// The one-line form of a value, or `None` when it must be expanded.
fn inline_value(node: &Node<'_>) -> Option<String> {
    match node {
        Node::Scalar(s) => Some((*s).to_string()),
        Node::Composite(c) => inline_composite(c),
    }
}

fn inline_composite(c: &Composite<'_>) -> Option<String> {
    if c.items.is_empty() {
        return Some(format!("{}{}", c.open, c.close));
    }
    if c.has_break {
        return None;
    }
    let entries = c
        .items
        .iter()
        .filter(|i| matches!(i, Item::Entry(_)))
        .count();
    let (mut pieces, mut seen, mut comma_due) = (Vec::<String>::new(), 0, false);
    for item in &c.items {
        match item {
            // A comment written between a value and its comma stays before the comma.
            Item::Comment(cm) => {
                if comma_due && !cm.before_comma {
                    push_comma(&mut pieces);
                    comma_due = false;
                }
                pieces.push(cm.text.to_string());
            }
            Item::Entry(e) => {
                if comma_due {
                    push_comma(&mut pieces);
                }
                pieces.push(inline_entry(e)?);
                seen += 1;
                comma_due = seen < entries;
            }
        }
    }
    let text = format!("{}{}{}", c.open, pieces.join(" "), c.close);
    (text.chars().count() <= MAX_INLINE_WIDTH).then_some(text)
}

fn push_comma(pieces: &mut [String]) {
    if let Some(last) = pieces.last_mut() {
        last.push(',');
    }
}

fn inline_entry(e: &Entry<'_>) -> Option<String> {
    let mut out = String::new();
    if let Some(key) = e.key {
        out.push_str(key);
        for c in &e.key_comments {
            out.push(' ');
            out.push_str(c.text);
        }
        out.push(':');
        for c in &e.colon_comments {
            out.push(' ');
            out.push_str(c.text);
        }
        out.push(' ');
    }
    out.push_str(&inline_value(&e.value)?);
    Some(out)
}

fn indent(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n('\t', depth));
}

/// Prints a value whose line starts at indentation `depth`; `inline` is its one-line form.
fn write_value(out: &mut String, node: &Node<'_>, depth: usize, inline: Option<&str>) {
    match (inline, node) {
        (Some(text), _) => out.push_str(text),
        (None, Node::Composite(c)) => write_expanded(out, c, depth),
        (None, Node::Scalar(s)) => out.push_str(s),
    }
}

/// Where the current output line of an expanded body stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// The line of the opening bracket.
    Open,
    /// A body line holding only comments so far.
    Comments,
    /// A body line holding an entry.
    Entry,
}

/// For each item of an expanded body, whether it starts a new line: an entry does unless
/// only comments stand before it on its line (`/* note */ "key": 1` stays as written); a
/// comment does when a line break stood before it, else it stays on the line before it
/// (after the opening bracket or after the entry's comma).
fn line_starts(items: &[Item<'_>]) -> Vec<bool> {
    let (mut line, mut after_line_comment) = (Line::Open, false);
    items
        .iter()
        .map(|item| {
            let starts = match item {
                Item::Entry(e) => e.break_before || line != Line::Comments || after_line_comment,
                Item::Comment(c) => c.break_before || after_line_comment,
            };
            if starts {
                line = Line::Comments;
            }
            after_line_comment = false;
            match item {
                Item::Entry(_) => line = Line::Entry,
                Item::Comment(c) => after_line_comment = c.is_line,
            }
            starts
        })
        .collect()
}

/// Spaces to add after each member's colon so that the values of a run of consecutive
/// one-line members line up, as `hujson` does. A run is broken by a blank line, a comment on
/// its own line, or a member that cannot be aligned (multi-line value, comments between its
/// key and value, or not at the start of its line).
fn alignment(items: &[Item<'_>], starts: &[bool], inline: &[Option<String>]) -> Vec<usize> {
    let mut pads = vec![0; items.len()];
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize)>, pads: &mut Vec<usize>| {
        let widest = run.iter().map(|&(_, w)| w).max().unwrap_or(0);
        for &(i, w) in run.iter() {
            if let Some(p) = pads.get_mut(i) {
                *p = widest - w;
            }
        }
        run.clear();
    };
    for (i, item) in items.iter().enumerate() {
        let starts = starts.get(i).copied().unwrap_or(true);
        match item {
            Item::Comment(_) if starts => flush(&mut run, &mut pads),
            Item::Comment(_) => {}
            Item::Entry(e) => {
                let key = e.key.filter(|_| {
                    starts && !e.has_inner_comments() && inline.get(i).is_some_and(Option::is_some)
                });
                if key.is_none() || e.blank_before {
                    flush(&mut run, &mut pads);
                }
                if let Some(key) = key {
                    run.push((i, key.chars().count()));
                }
            }
        }
    }
    flush(&mut run, &mut pads);
    pads
}

/// Prints an object or array with one entry per line; its first line is at `depth`.
///
/// The exception, as in `hujson`: an array written `[{` with a single object or array
/// and no line break of its own keeps hugging it (`"ssh": [{` ... `}]`), the idiom of
/// Tailscale's documentation. (If the element fits on one line, the array is simply too wide.)
fn write_expanded(out: &mut String, c: &Composite<'_>, depth: usize) {
    if let Some(inner) = c.only_element().filter(|v| inline_value(v).is_none()) {
        out.push(c.open);
        write_value(out, inner, depth, None);
        out.push(c.close);
        return;
    }
    let starts = line_starts(&c.items);
    let inline: Vec<Option<String>> = c
        .items
        .iter()
        .map(|item| match item {
            Item::Entry(e) => inline_value(&e.value),
            Item::Comment(_) => None,
        })
        .collect();
    let pads = alignment(&c.items, &starts, &inline);
    out.push(c.open);
    let mut body_started = false;
    for (i, item) in c.items.iter().enumerate() {
        if starts.get(i).copied().unwrap_or(true) {
            let blank = match item {
                Item::Entry(e) => e.blank_before,
                Item::Comment(cm) => cm.blank_before,
            };
            // Blank lines are kept between body lines, at most one, never after `{`.
            out.push_str(if blank && body_started { "\n\n" } else { "\n" });
            indent(out, depth + 1);
            body_started = true;
        } else {
            out.push(' ');
        }
        match item {
            Item::Comment(cm) => out.push_str(cm.text),
            Item::Entry(e) => {
                let pad = pads.get(i).copied().unwrap_or(0);
                let inline = inline.get(i).and_then(Option::as_deref);
                write_entry(out, e, depth + 1, pad, inline);
                out.push(',');
            }
        }
    }
    out.push('\n');
    indent(out, depth);
    out.push(c.close);
}

/// Prints one entry of an expanded body (without its comma).
fn write_entry(out: &mut String, e: &Entry<'_>, depth: usize, pad: usize, inline: Option<&str>) {
    let Some(key) = e.key else {
        write_value(out, &e.value, depth, inline);
        return;
    };
    out.push_str(key);
    if e.has_inner_line_comment() {
        // A `//` comment between key and value: the comments follow the colon and the value
        // goes on the next line, one level deeper.
        out.push(':');
        let mut after_line_comment = false;
        for c in e.key_comments.iter().chain(&e.colon_comments) {
            next_piece(out, after_line_comment, depth + 1);
            out.push_str(c.text);
            after_line_comment = c.is_line;
        }
        next_piece(out, after_line_comment, depth + 1);
        write_value(out, &e.value, depth + 1, inline);
        return;
    }
    push_comments(out, &e.key_comments);
    out.push(':');
    push_comments(out, &e.colon_comments);
    out.push(' ');
    out.extend(std::iter::repeat_n(' ', pad));
    write_value(out, &e.value, depth, inline);
}

fn next_piece(out: &mut String, new_line: bool, depth: usize) {
    if new_line {
        out.push('\n');
        indent(out, depth);
    } else {
        out.push(' ');
    }
}

fn push_comments(out: &mut String, comments: &[Comment<'_>]) {
    for c in comments {
        out.push(' ');
        out.push_str(c.text);
    }
}
