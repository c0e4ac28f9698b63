//! HuJSON (JSON with `//` and `/* */` comments and trailing commas) parsed exactly as
//! Tailscale's control plane parses it, into a tree whose every key and value keeps its
//! byte span.
//!
//! The lexer and parser are written by hand (in its `syntax` module) from tailscale/hujson's
//! `parse.go`, because no Rust crate implements hujson's grammar: JSONC and JSON5 parsers
//! treat other characters as whitespace (form feed, U+00A0, U+2028...), end a `//` comment
//! at a lone CR, accept a `//` comment at the end of the input without a line feed, or
//! accept raw control characters in strings, and each of these changes what a policy means.
//! On top of the grammar this module adds what the policy needs: duplicate keys, a nesting
//! limit no lower than Tailscale's, and errors that name the offending place.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::span::{Span, Spanned};
use std::collections::HashMap;
use std::ops::Range;

pub(crate) mod literal;
pub(crate) mod syntax;

pub(crate) use syntax::MAX_DEPTH;
use syntax::{ErrorKind, SyntaxError};

/// Extra stack reserved before a recursive step over the tree, and how much more to grow by
/// when less is left: the tree may be [`MAX_DEPTH`] levels deep, more than a thread's stack
/// holds in frames of a debug build, so recursive walks run on a stack grown on demand.
pub(crate) const STACK_RED_ZONE: usize = 64 * 1024;
/// See [`STACK_RED_ZONE`].
pub(crate) const STACK_GROWTH: usize = 1024 * 1024;

/// A JSON value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub(crate) value: Value,
    /// Where it stands in the text.
    pub(crate) span: Span,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, members in source order (duplicates already reported).
    Object(Vec<Member>),
}

/// One `"key": value` of an object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member {
    /// The key, with the span of its quoted text.
    pub(crate) key: Spanned<String>,
    /// The value.
    pub(crate) value: Node,
}

impl Value {
    /// The JSON type name used in messages (`string`, `array`...).
    pub(crate) const fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }
}

impl Node {
    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (comments and spans dropped).
    pub fn to_json(&self) -> serde_json::Value {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || self.to_json_here())
    }

    /// The same value as `other`, spans aside: same kinds, numbers written alike, strings
    /// and keys equal, members in the same order.
    pub fn same_value(&self, other: &Node) -> bool {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_GROWTH, || {
            match (&self.value, &other.value) {
                (Value::Array(a), Value::Array(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_value(y))
                }
                (Value::Object(a), Value::Object(b)) => {
                    a.len() == b.len()
                        && a.iter().zip(b).all(|(x, y)| {
                            x.key.value == y.key.value && x.value.same_value(&y.value)
                        })
                }
                (a, b) => a == b,
            }
        })
    }

    fn to_json_here(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => {
                serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.clone()))
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Node::to_json).collect()),
            Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|m| (m.key.value.clone(), m.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses raw bytes: checks UTF-8 and rejects a byte-order mark before parsing.
pub fn parse_bytes(bytes: &[u8]) -> Result<(Node, Vec<Diagnostic>), Diagnostic> {
    parse(text_of(bytes)?)
}

/// The text of a policy file: UTF-8 without a byte-order mark.
pub fn text_of(bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Diagnostic::error(
            codes::BYTE_ORDER_MARK,
            "the file starts with a byte-order mark",
            Span::new(0, 3),
        )
        .with_label("byte-order mark")
        .with_help("save the file as UTF-8 without a BOM"));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error(
            codes::NOT_UTF8,
            "the file is not valid UTF-8",
            Span::new(at, at + e.error_len().unwrap_or(1)),
        )
        .with_label("not UTF-8")
        .with_help("policy files must be UTF-8 text")
    })
}

/// Parses HuJSON text. On success returns the tree and the non-fatal findings (duplicate
/// keys); a syntax error is returned as the `Err`.
pub fn parse(text: &str) -> Result<(Node, Vec<Diagnostic>), Diagnostic> {
    let mut builder = NodeBuilder {
        text,
        findings: Vec::new(),
        elements: Vec::new(),
        members: Vec::new(),
    };
    let node = syntax::parse_with(text, &mut builder).map_err(|e| syntax_error(text, &e))?;
    Ok((node, builder.findings))
}

/// The byte spans of the comments of HuJSON text, in order (a `//` comment's span includes
/// its line feed). A syntax error is returned as [`parse`] returns it.
pub fn comments(text: &str) -> Result<Vec<Span>, Diagnostic> {
    let tree = syntax::parse(text).map_err(|e| syntax_error(text, &e))?;
    let mut extras = Vec::new();
    tree.extras(&mut extras);
    let mut found = Vec::new();
    for extra in extras {
        syntax::comments_in(text, extra, &mut found);
    }
    let mut spans: Vec<Span> = found
        .into_iter()
        .map(|r| Span::new(r.start, r.end))
        .collect();
    spans.sort_unstable();
    Ok(spans)
}

/// The diagnostic of a syntax error.
pub(crate) fn syntax_error(text: &str, e: &SyntaxError) -> Diagnostic {
    let at = e.offset.min(text.len());
    let next = text
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8);
    let (code, message, span, label, help) = match &e.kind {
        ErrorKind::UnexpectedEnd("parsing value") if only_comments(text) => (
            codes::HUJSON_SYNTAX,
            "the file holds no JSON value".to_string(),
            Span::new(at, at),
            "empty",
            "a policy file is one JSON object: start with `{}`".to_string(),
        ),
        ErrorKind::UnexpectedEnd(context) => (
            codes::HUJSON_SYNTAX,
            format!("syntax error: unexpected end of input while {context}"),
            Span::new(at, at),
            "the text ends here",
            "close every string, `{` and `[`, and end the file after the policy's last `}`"
                .to_string(),
        ),
        ErrorKind::UnterminatedComment => {
            let line = text.get(at..).is_some_and(|s| s.starts_with("//"));
            (
                codes::HUJSON_SYNTAX,
                "syntax error: unterminated comment".to_string(),
                Span::new(at, at + 2),
                "comment starts here",
                if line {
                    "a `//` comment ends only at a line feed (LF): end the file with a newline"
                        .to_string()
                } else {
                    "close the comment with `*/`".to_string()
                },
            )
        }
        ErrorKind::InvalidCharacter { found, place } => (
            codes::HUJSON_SYNTAX,
            format!(
                "syntax error: invalid character {} {place}",
                describe_char(*found)
            ),
            Span::new(at, at + next),
            "here",
            invalid_character_help(*found, place).to_string(),
        ),
        ErrorKind::InvalidLiteral(range) => {
            let lit = text.get(range.clone()).unwrap_or("");
            (
                codes::HUJSON_SYNTAX,
                format!("syntax error: invalid literal {}", shorten(lit)),
                Span::new(range.start, range.end),
                "not valid JSON",
                literal_help(lit).to_string(),
            )
        }
        ErrorKind::TooDeep => (
            codes::NESTING_TOO_DEEP,
            format!("nesting deeper than {MAX_DEPTH} levels"),
            Span::new(at, at + 1),
            "too deep",
            "Tailscale's decoder accepts at most 10000 nested objects and arrays".to_string(),
        ),
    };
    Diagnostic::error(code, message, span)
        .with_label(label)
        .with_help(help)
}

/// The text is whitespace and comments only.
fn only_comments(text: &str) -> bool {
    let b = text.as_bytes();
    let mut n = 0;
    while n < b.len() {
        n += syntax::whitespace_len(&b[n..]);
        match b.get(n..).and_then(syntax::comment_len) {
            Some(0) | None => break,
            Some(len) => n += len,
        }
    }
    n >= b.len()
}

fn describe_char(c: char) -> String {
    if !(c.is_ascii_graphic() || c.is_alphanumeric()) {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

fn invalid_character_help(c: char, place: &str) -> &'static str {
    if c == '\'' {
        "single-quoted strings are not allowed: use double quotes"
    } else if place == "at start of object name" {
        "keys must be double-quoted strings"
    } else if c.is_whitespace() || c.is_control() || c == '\u{feff}' {
        "only space, tab, CR and LF are whitespace in HuJSON: remove this character"
    } else if place.starts_with("after object value") || place.starts_with("after array value") {
        "separate object members and array elements with `,`, and close every `{` with `}` and every `[` with `]`"
    } else if place == "after top-level value" {
        "a policy file is one JSON value; if its opening `{` or closing `}` ends a `//` comment line, move it to a line of its own"
    } else {
        "HuJSON is JSON plus `//` and `/* */` comments and trailing commas: check the brackets, colons and commas around here"
    }
}

fn literal_help(lit: &str) -> &'static str {
    if lit.starts_with('"') {
        "write control characters in strings as escapes (`\\t`, `\\n`, `\\u0000`); the escapes are `\\\"` `\\\\` `\\/` `\\b` `\\f` `\\n` `\\r` `\\t` `\\uXXXX`"
    } else if lit.starts_with("0x") || lit.starts_with("0X") {
        "write the number in decimal"
    } else if lit.eq_ignore_ascii_case("nan") || lit.contains("Infinity") {
        "write a finite decimal number"
    } else {
        "keys and strings must be double-quoted; literals are `true`, `false`, `null` and JSON numbers"
    }
}

/// A literal for a message, cut at 40 characters.
fn shorten(lit: &str) -> String {
    let mut out: String = lit.chars().take(40).collect();
    if out.len() < lit.len() {
        out.push_str("...");
    }
    out.escape_debug().to_string()
}

/// The most members of an object whose duplicate keys are found without a map.
const SMALL_OBJECT: usize = 8;

/// A map with a fast hasher (the keys are the policy's own, looked up once each).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Builds the tree of values as the parser reads it, reporting duplicate keys.
///
/// The items of every open array (and the members of every open object) wait on one shared
/// stack, and each is moved into a list of exactly its length when it closes: most lists
/// of a policy hold one to four items, and growing a list of its own for each would cost an
/// allocation per step.
struct NodeBuilder<'t> {
    text: &'t str,
    findings: Vec<Diagnostic>,
    /// The elements of the open arrays, innermost last.
    elements: Vec<Node>,
    /// The members of the open objects, innermost last.
    members: Vec<Member>,
}

/// An object or array being built.
struct OpenNode {
    start: usize,
    items: OpenItems,
}

enum OpenItems {
    /// Its elements are those of [`NodeBuilder::elements`] from `first` on.
    Array { first: usize },
    Object {
        /// Its members are those of [`NodeBuilder::members`] from `first` on.
        first: usize,
        /// The name read last, waiting for its value; `None` after a duplicate name, whose
        /// value is then dropped.
        key: Option<Spanned<String>>,
        /// After a duplicate name, the number of findings before its value: the value is
        /// dropped unread, and so are the findings within it.
        findings_before_value: usize,
        /// The first span of each key, once the object has more than [`SMALL_OBJECT`]
        /// members (a smaller one finds its keys among the members).
        seen: Option<FastMap<String, Span>>,
    },
}

impl syntax::Build for NodeBuilder<'_> {
    type Value = Node;
    type Open = OpenNode;

    fn literal(&mut self, _before: Range<usize>, at: Range<usize>) -> Node {
        let raw = self.text.get(at.clone()).unwrap_or("");
        let value = match raw {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            s if s.starts_with('"') => Value::String(literal::unquote(s)),
            s => Value::Number(s.to_string()),
        };
        Node {
            value,
            span: Span::new(at.start, at.end),
        }
    }

    fn open(&mut self, _before: Range<usize>, start: usize, is_object: bool) -> OpenNode {
        let items = if is_object {
            OpenItems::Object {
                first: self.members.len(),
                key: None,
                findings_before_value: 0,
                seen: None,
            }
        } else {
            OpenItems::Array {
                first: self.elements.len(),
            }
        };
        OpenNode { start, items }
    }

    fn push(&mut self, open: &mut OpenNode, value: Node, _after: Range<usize>, is_name: bool) {
        let (first, key, findings_before_value, seen) = match &mut open.items {
            OpenItems::Array { .. } => return self.elements.push(value),
            OpenItems::Object {
                first,
                key,
                findings_before_value,
                seen,
            } => (*first, key, findings_before_value, seen),
        };
        if !is_name {
            match key.take() {
                Some(key) => self.members.push(Member { key, value }),
                None => self.findings.truncate(*findings_before_value),
            }
            return;
        }
        let span = value.span;
        let Value::String(name) = value.value else {
            // The parser hands only strings as names.
            return;
        };
        let members = self.members.get(first..).unwrap_or_default();
        if seen.is_none() && members.len() >= SMALL_OBJECT {
            let mut map = FastMap::with_capacity_and_hasher(members.len() * 2, Default::default());
            for m in members {
                map.insert(m.key.value.clone(), m.key.span);
            }
            *seen = Some(map);
        }
        let earlier = match seen {
            Some(seen) => seen.get(&name).copied(),
            None => members
                .iter()
                .find(|m| m.key.value == name)
                .map(|m| m.key.span),
        };
        if let Some(first_span) = earlier {
            self.findings.push(
                Diagnostic::error(
                    codes::DUPLICATE_KEY,
                    format!("duplicate key `{name}`"),
                    span,
                )
                .with_label("duplicate")
                .with_related(first_span, "first defined here")
                .with_help("merge the two members or remove one"),
            );
            *findings_before_value = self.findings.len();
            return;
        }
        if let Some(seen) = seen {
            seen.insert(name.clone(), span);
        }
        *key = Some(Spanned::new(name, span));
    }

    fn close(
        &mut self,
        open: OpenNode,
        _inner: Range<usize>,
        _trailing_comma: bool,
        end: usize,
    ) -> Node {
        let value = match open.items {
            OpenItems::Array { first } => Value::Array(take_from(&mut self.elements, first)),
            OpenItems::Object { first, .. } => Value::Object(take_from(&mut self.members, first)),
        };
        Node {
            value,
            span: Span::new(open.start, end),
        }
    }

    fn finish(&mut self, value: Node, _after: Range<usize>) -> Node {
        value
    }
}

/// The items of `stack` from `first` on, moved into a list of their own of exactly their
/// length.
fn take_from<T>(stack: &mut Vec<T>, first: usize) -> Vec<T> {
    stack.split_off(first.min(stack.len()))
}

#[cfg(test)]
mod tests;
