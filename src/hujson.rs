//! HuJSON (JSON with `//` and `/* */` comments and trailing commas) parsed into a tree whose
//! every key and value keeps its byte span.
//!
//! The tokenizer is `jsonc-parser`, run with every JSON5 extension turned off; this module
//! turns its borrowed AST into an owned tree and adds what the policy needs on top: duplicate
//! keys, a nesting limit, and errors that name the offending token.

use crate::diagnostic::Diagnostic;
use crate::span::{Span, Spanned};
use jsonc_parser::ast;
use jsonc_parser::errors::ParseErrorKind;
use std::collections::HashMap;

/// Deepest nesting accepted; a policy never needs more than a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// A JSON value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it stands in the text.
    pub span: Span,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
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
pub struct Member {
    /// The key, with the span of its quoted text.
    pub key: Spanned<String>,
    /// The value.
    pub value: Node,
}

impl Value {
    /// The JSON type name used in messages (`string`, `array`...).
    pub const fn kind(&self) -> &'static str {
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
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (comments and spans dropped).
    pub fn to_json(&self) -> serde_json::Value {
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
            "TG0002",
            "the file starts with a byte-order mark",
            Span::new(0, 3),
        )
        .with_label("byte-order mark")
        .with_help("save the file as UTF-8 without a BOM"));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error(
            "TG0003",
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
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: true,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    check_depth(text)?;
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options)
        .map_err(|e| syntax_error(text, &e))?;
    let Some(root) = parsed.value else {
        return Err(Diagnostic::error(
            "TG0001",
            "the file holds no JSON value",
            Span::new(0, text.len()),
        )
        .with_label("empty")
        .with_help("a policy file is one JSON object: start with `{}`"));
    };
    let mut findings = Vec::new();
    let node = convert(&root, &mut findings);
    Ok((node, findings))
}

/// Rejects nesting deeper than [`MAX_DEPTH`] before the recursive parser sees it.
fn check_depth(text: &str) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Diagnostic::error(
                        "TG0004",
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                        Span::new(i, i + 1),
                    )
                    .with_label("too deep")
                    .with_help("a policy file needs only a few levels of nesting"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn syntax_error(text: &str, e: &jsonc_parser::errors::ParseError) -> Diagnostic {
    let r = e.range();
    let span = Span::new(r.start.min(text.len()), r.end.min(text.len()));
    let token = text.get(span.start..span.end).unwrap_or("").trim();
    let (message, help) = match e.kind() {
        ParseErrorKind::SingleQuotedStringsNotAllowed => (
            "single-quoted strings are not allowed".to_string(),
            "use double quotes: HuJSON is JSON plus comments and trailing commas",
        ),
        ParseErrorKind::ExpectedStringObjectProperty | ParseErrorKind::UnexpectedWord
            if !token.is_empty() =>
        {
            (
                format!("unexpected `{token}`"),
                "keys and strings must be double-quoted; literals are `true`, `false` and `null`",
            )
        }
        ParseErrorKind::HexadecimalNumbersNotAllowed => (
            "hexadecimal numbers are not allowed".to_string(),
            "write the number in decimal",
        ),
        ParseErrorKind::NonFiniteNumbersNotAllowed => (
            "`NaN` and `Infinity` are not allowed".to_string(),
            "write a finite decimal number",
        ),
        ParseErrorKind::ExpectedComma => (
            "expected a comma".to_string(),
            "separate array elements and object members with `,`",
        ),
        ParseErrorKind::UnterminatedObject | ParseErrorKind::UnterminatedArray => (
            format!("{}", e.kind()).to_lowercase(),
            "close every `{` with `}` and every `[` with `]`",
        ),
        ParseErrorKind::MultipleRootJsonValues => (
            "a second value after the end of the policy".to_string(),
            "a policy file is one JSON object; if its opening `{` or closing `}` ends a `//` comment line, move it to a line of its own",
        ),
        ParseErrorKind::UnexpectedToken
        | ParseErrorKind::UnexpectedTokenInObject
        | ParseErrorKind::UnexpectedCloseBrace
        | ParseErrorKind::UnexpectedCloseBracket
        | ParseErrorKind::UnexpectedColon
        | ParseErrorKind::UnexpectedComma
            if !token.is_empty() =>
        (
            format!("unexpected `{token}`"),
            "HuJSON is JSON plus `//` and `/* */` comments and trailing commas: check the brackets, colons and commas around here",
        ),
        kind => (
            format!("{kind}").to_lowercase(),
            "HuJSON is JSON plus `//` and `/* */` comments and trailing commas",
        ),
    };
    Diagnostic::error("TG0001", format!("syntax error: {message}"), span)
        .with_label("here")
        .with_help(help)
}

fn convert(v: &ast::Value<'_>, findings: &mut Vec<Diagnostic>) -> Node {
    let span = |r: &jsonc_parser::common::Range| Span::new(r.start, r.end);
    match v {
        ast::Value::NullKeyword(n) => Node {
            value: Value::Null,
            span: span(&n.range),
        },
        ast::Value::BooleanLit(b) => Node {
            value: Value::Bool(b.value),
            span: span(&b.range),
        },
        ast::Value::NumberLit(n) => Node {
            value: Value::Number(n.value.to_string()),
            span: span(&n.range),
        },
        ast::Value::StringLit(s) => Node {
            value: Value::String(s.value.to_string()),
            span: span(&s.range),
        },
        ast::Value::Array(a) => Node {
            value: Value::Array(a.elements.iter().map(|e| convert(e, findings)).collect()),
            span: span(&a.range),
        },
        ast::Value::Object(o) => {
            let mut members: Vec<Member> = Vec::with_capacity(o.properties.len());
            // Keys borrowed from the syntax tree: one allocation per key (the member's own),
            // not two.
            let mut seen: HashMap<&str, Span> = HashMap::with_capacity(o.properties.len());
            for p in &o.properties {
                let (name, range): (&str, Span) = match &p.name {
                    ast::ObjectPropName::String(s) => (&s.value, span(&s.range)),
                    ast::ObjectPropName::Word(w) => (w.value, span(&w.range)),
                };
                if let Some(first_span) = seen.get(name).copied() {
                    findings.push(
                        Diagnostic::error("TG0005", format!("duplicate key `{name}`"), range)
                            .with_label("duplicate")
                            .with_related(first_span, "first defined here")
                            .with_help("merge the two members or remove one"),
                    );
                    continue;
                }
                seen.insert(name, range);
                members.push(Member {
                    key: Spanned::new(name.to_string(), range),
                    value: convert(&p.value, findings),
                });
            }
            Node {
                value: Value::Object(members),
                span: span(&o.range),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Diagnostic {
        match parse(text) {
            Err(e) => e,
            Ok(_) => Diagnostic::error("none", "parsed", Span::default()),
        }
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let (node, dups) = parse("// c\n{\"a\": [1, 2,], /* x */ \"b\": \"s\",}").unwrap();
        assert!(dups.is_empty());
        assert_eq!(node.to_json(), serde_json::json!({"a": [1, 2], "b": "s"}));
    }

    #[test]
    fn json5_extensions_are_rejected() {
        for text in [
            "{'a': 1}",
            "{a: 1}",
            "{\"a\": 0x10}",
            "{\"a\": NaN}",
            "{\"a\": +1}",
            "{\"a\": .5}",
        ] {
            assert_eq!(err(text).code, "TG0001", "{text}");
        }
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "{\"acls\": [\"x\"]}";
        let (node, _) = parse(text).unwrap();
        let Value::Object(m) = &node.value else {
            panic!("object")
        };
        assert_eq!(&text[m[0].key.span.start..m[0].key.span.end], "\"acls\"");
        assert_eq!(&text[m[0].value.span.start..m[0].value.span.end], "[\"x\"]");
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second() {
        let text = "{\"a\": 1, \"a\": 2}";
        let (_, dups) = parse(text).unwrap();
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].span.start, 9);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert_eq!(err(&text).code, "TG0004");
    }

    #[test]
    fn empty_bom_and_bad_utf8_are_errors() {
        assert_eq!(err("").code, "TG0001");
        assert_eq!(err("  // only a comment\n").code, "TG0001");
        assert_eq!(parse_bytes(b"\xEF\xBB\xBF{}").unwrap_err().code, "TG0002");
        assert_eq!(
            parse_bytes(b"{\"a\": \"\xff\"}").unwrap_err().code,
            "TG0003"
        );
    }
}
