//! The layout tree: every token of the file, comments included, arranged by nesting.
//!
//! Why tokens and not the AST or the CST: `jsonc_parser`'s `Scanner` is the tokenizer that
//! [`crate::hujson::parse`] already runs, and it yields every comment as a token in source
//! order. Building the tree from that one stream means a comment cannot be dropped by an
//! attachment rule (the AST's comment map keys comments by neighbouring offsets, and the CST
//! hides them among whitespace nodes): each comment token becomes exactly one [`Comment`] in
//! the tree, and the renderer prints every one. Strings, numbers and keys are kept as the raw
//! source slice, so they come out byte for byte as written.

use crate::diagnostic::Diagnostic;
use crate::span::Span;
use jsonc_parser::tokens::Token;
use jsonc_parser::{Scanner, ScannerOptions};

/// A comment with what stood before it in the source.
#[derive(Debug, Clone)]
pub(super) struct Comment<'a> {
    /// The comment as written, `//` or `/* */` included; line comments lose trailing blanks.
    pub text: &'a str,
    /// `// ...`: nothing may follow it on its line.
    pub is_line: bool,
    /// A line break stood between the previous token and this comment.
    pub break_before: bool,
    /// A blank line stood between the previous token and this comment.
    pub blank_before: bool,
    /// The comment stood between a value and the comma after it.
    pub before_comma: bool,
}

/// One object member or array element.
#[derive(Debug, Clone)]
pub(super) struct Entry<'a> {
    /// The quoted key as written; `None` in arrays.
    pub key: Option<&'a str>,
    /// Comments between the key and the colon.
    pub key_comments: Vec<Comment<'a>>,
    /// Comments between the colon and the value.
    pub colon_comments: Vec<Comment<'a>>,
    /// The value.
    pub value: Node<'a>,
    /// A line break stood before the entry's first token.
    pub break_before: bool,
    /// A blank line stood before the entry's first token.
    pub blank_before: bool,
}

impl Entry<'_> {
    /// Comments sit between the key and the value.
    pub fn has_inner_comments(&self) -> bool {
        !self.key_comments.is_empty() || !self.colon_comments.is_empty()
    }

    /// A line comment sits between the key and the value, so the value goes on its own line.
    pub fn has_inner_line_comment(&self) -> bool {
        self.key_comments
            .iter()
            .chain(&self.colon_comments)
            .any(|c| c.is_line)
    }
}

/// What the body of an object or array holds, in source order.
#[derive(Debug, Clone)]
pub(super) enum Item<'a> {
    /// A comment.
    Comment(Comment<'a>),
    /// A member or element.
    Entry(Entry<'a>),
}

/// A JSON value.
#[derive(Debug, Clone)]
pub(super) enum Node<'a> {
    /// A string, number, `true`, `false` or `null`, as written.
    Scalar(&'a str),
    /// An object or array.
    Composite(Composite<'a>),
}

/// An object or array.
#[derive(Debug, Clone)]
pub(super) struct Composite<'a> {
    /// `{` or `[`.
    pub open: char,
    /// `}` or `]`.
    pub close: char,
    /// Comments and entries between the brackets.
    pub items: Vec<Item<'a>>,
    /// A line break stood somewhere between the brackets, at any depth (comments included).
    pub has_break: bool,
    /// A line break stood before one of its own entries, commas or its closing bracket.
    pub own_break: bool,
}

impl<'a> Composite<'a> {
    /// The only value of an array written `[{` ... `}]`, with nothing else between the
    /// brackets and no line break of its own.
    pub fn only_element(&self) -> Option<&Node<'a>> {
        match self.items.as_slice() {
            [Item::Entry(Entry {
                key: None,
                value: value @ Node::Composite(_),
                ..
            })] if self.open == '[' && !self.own_break => Some(value),
            _ => None,
        }
    }
}

/// The whole file: comments before the value, the value, comments after it.
#[derive(Debug, Clone)]
pub(super) struct Document<'a> {
    /// Comments before the value.
    pub before: Vec<Comment<'a>>,
    /// The value; its `break_before`/`blank_before` say what stood after the last comment.
    pub root: Entry<'a>,
    /// Comments after the value.
    pub after: Vec<Comment<'a>>,
}

/// One token with the whitespace that preceded it.
struct Tok<'a> {
    token: Token<'a>,
    text: &'a str,
    start: usize,
    break_before: bool,
    blank_before: bool,
}

/// Line breaks in a run of whitespace: `\n`, `\r\n` and a lone `\r` each count once.
fn line_breaks(ws: &str) -> usize {
    let bytes = ws.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

fn internal(message: &str, at: usize) -> Diagnostic {
    Diagnostic::error(
        "TG0001",
        format!("syntax error: {message}"),
        Span::new(at, at),
    )
    .with_label("here")
}

fn scan(text: &str) -> Result<Vec<Tok<'_>>, Diagnostic> {
    // The same strictness as `hujson::parse`, which has already accepted the text.
    let options = ScannerOptions {
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let mut scanner = Scanner::new(text, &options);
    let mut toks = Vec::new();
    let mut prev_end = 0;
    loop {
        let token = scanner.scan().map_err(|e| {
            let r = e.range();
            internal(&format!("{}", e.kind()).to_lowercase(), r.start)
        })?;
        let Some(token) = token else { break };
        let (start, end) = (scanner.token_start(), scanner.token_end());
        let breaks = line_breaks(text.get(prev_end..start).unwrap_or(""));
        let raw = text.get(start..end).unwrap_or("");
        let text = match token {
            Token::CommentLine(_) => raw.trim_end(),
            _ => raw,
        };
        toks.push(Tok {
            token,
            text,
            start,
            break_before: breaks > 0,
            blank_before: breaks > 1,
        });
        prev_end = end;
    }
    Ok(toks)
}

/// Builds the layout tree of text that [`crate::hujson::parse`] has accepted.
pub(super) fn build(text: &str) -> Result<Document<'_>, Diagnostic> {
    let mut parser = Parser {
        toks: scan(text)?,
        pos: 0,
        len: text.len(),
    };
    let before = parser.comments();
    let root = parser.entry(false)?;
    let after = parser.comments();
    if let Some(tok) = parser.toks.get(parser.pos) {
        return Err(internal("unexpected token after the value", tok.start));
    }
    Ok(Document {
        before,
        root,
        after,
    })
}

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    len: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.len, |t| t.start)
    }

    /// Takes the comments at the current position.
    fn comments(&mut self) -> Vec<Comment<'a>> {
        let mut out = Vec::new();
        while let Some(tok) = self.peek() {
            let is_line = match tok.token {
                Token::CommentLine(_) => true,
                Token::CommentBlock(_) => false,
                _ => break,
            };
            out.push(Comment {
                text: tok.text,
                is_line,
                break_before: tok.break_before,
                blank_before: tok.blank_before,
                before_comma: false,
            });
            self.pos += 1;
        }
        out
    }

    /// Parses `"key": value` when `keyed`, else a bare value.
    fn entry(&mut self, keyed: bool) -> Result<Entry<'a>, Diagnostic> {
        let (break_before, blank_before) = self
            .peek()
            .map_or((false, false), |t| (t.break_before, t.blank_before));
        let mut entry = Entry {
            key: None,
            key_comments: Vec::new(),
            colon_comments: Vec::new(),
            value: Node::Scalar(""),
            break_before,
            blank_before,
        };
        if keyed {
            match self.peek() {
                Some(Tok {
                    token: Token::String(_),
                    text,
                    ..
                }) => entry.key = Some(*text),
                _ => return Err(internal("expected a key", self.here())),
            }
            self.pos += 1;
            entry.key_comments = self.comments();
            match self.peek() {
                Some(Tok {
                    token: Token::Colon,
                    ..
                }) => self.pos += 1,
                _ => return Err(internal("expected a colon", self.here())),
            }
            entry.colon_comments = self.comments();
        }
        entry.value = self.value()?;
        Ok(entry)
    }

    fn value(&mut self) -> Result<Node<'a>, Diagnostic> {
        let at = self.here();
        let Some(tok) = self.peek() else {
            return Err(internal("expected a value", at));
        };
        let (open, close) = match tok.token {
            Token::OpenBrace => ('{', '}'),
            Token::OpenBracket => ('[', ']'),
            Token::String(_) | Token::Number(_) | Token::Boolean(_) | Token::Null => {
                let text = tok.text;
                self.pos += 1;
                return Ok(Node::Scalar(text));
            }
            _ => return Err(internal("expected a value", at)),
        };
        let first = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        let mut own_break = false;
        loop {
            items.extend(self.comments().into_iter().map(Item::Comment));
            match self.peek().map(|t| &t.token) {
                Some(Token::CloseBrace) if open == '{' => break,
                Some(Token::CloseBracket) if open == '[' => break,
                None => return Err(internal("unterminated object or array", at)),
                Some(_) => {}
            }
            let entry = self.entry(open == '{')?;
            own_break |= entry.break_before;
            items.push(Item::Entry(entry));
            let mut trailing = self.comments();
            let comma = matches!(self.peek().map(|t| &t.token), Some(Token::Comma));
            if comma {
                own_break |= self.peek().is_some_and(|t| t.break_before);
                self.pos += 1;
                for c in &mut trailing {
                    c.before_comma = true;
                }
            }
            items.extend(trailing.into_iter().map(Item::Comment));
            if !comma {
                match self.peek().map(|t| &t.token) {
                    Some(Token::CloseBrace | Token::CloseBracket) => {}
                    _ => return Err(internal("expected a comma", self.here())),
                }
            }
        }
        // The closing bracket: `self.pos` points at it.
        own_break |= self.peek().is_some_and(|t| t.break_before);
        let inside = self.toks.get(first + 1..=self.pos).unwrap_or_default();
        let has_break = inside.iter().any(|t| {
            t.break_before
                || matches!(t.token, Token::CommentLine(_))
                || (matches!(t.token, Token::CommentBlock(_)) && t.text.contains(['\n', '\r']))
        });
        self.pos += 1;
        Ok(Node::Composite(Composite {
            open,
            close,
            items,
            has_break,
            own_break,
        }))
    }
}
