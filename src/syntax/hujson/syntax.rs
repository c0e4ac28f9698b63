//! The lossless syntax tree and the parser that builds it.
//!
//! The grammar and every verdict follow tailscale/hujson's `parse.go`: whitespace is only
//! space, tab, CR and LF; a `//` comment runs to the next LF (a CR does not end it, and a
//! `//` comment not ended by LF before the end of the input is an error); a `/*` comment runs
//! to the next `*/`; a literal is the longest run of `[-+.a-zA-Z0-9]` (or a quoted string)
//! and must then be valid JSON (`json.Valid`), so raw control characters inside strings are
//! rejected; the name of an object member is parsed as any value and then required to be a
//! string. Errors carry the byte offset at which `parse.go` stops.
//!
//! The parser keeps its own stack of open objects and arrays instead of recursing, so the
//! input cannot overflow the call stack; nesting is bounded by [`MAX_DEPTH`].

use std::ops::Range;

/// Deepest nesting of objects and arrays accepted. Tailscale standardizes the HuJSON and
/// decodes it with Go's `encoding/json`, whose scanner allows 10,000 levels
/// (`maxNestingDepth` in Go's `encoding/json/scanner.go`); tailgrant accepts the same.
pub(crate) const MAX_DEPTH: usize = 10_000;

/// One value with the whitespace and comments around it, as `hujson.Value`.
///
/// `X` is how text is held: byte ranges into the source after parsing, owned strings while
/// formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Syn<X> {
    /// Whitespace and comments before the value (after `{`, `[`, `:`, `,` or the start).
    pub(crate) before: X,
    /// Byte offset of the value's first byte in the parsed text.
    pub(crate) start: usize,
    /// Byte offset after the value's last byte in the parsed text.
    pub(crate) end: usize,
    /// The value itself.
    pub(crate) kind: Kind<X>,
    /// Whitespace and comments after the value (before `:`, `,` or the end).
    pub(crate) after: X,
}

/// A literal, an object or an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind<X> {
    /// `null`, `true`, `false`, a number or a quoted string, as written.
    Literal(X),
    /// An object or an array.
    Composite(Box<Composite<X>>),
}

/// An object or an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Composite<X> {
    /// `true` for `{}`, `false` for `[]`.
    pub(crate) is_object: bool,
    /// The elements of an array; for an object, its names and values alternately
    /// (name, value, name, value...), the order in which `hujson` visits them.
    pub(crate) items: Vec<Syn<X>>,
    /// Whitespace and comments before the closing bracket (after the last comma, or after
    /// the last value when there is no trailing comma, or after the opening bracket).
    pub(crate) after: X,
    /// A comma follows the last entry. (In `hujson` this is "the last value's `AfterExtra`
    /// is not nil"; without a trailing comma that extra is always empty.)
    pub(crate) trailing_comma: bool,
}

impl<X> Composite<X> {
    /// The opening and closing brackets.
    pub(crate) const fn brackets(&self) -> (char, char) {
        if self.is_object {
            ('{', '}')
        } else {
            ('[', ']')
        }
    }
}

impl Syn<Range<usize>> {
    /// The same tree holding its own copies of the text.
    pub(crate) fn to_owned_text(&self, text: &str) -> Syn<String> {
        stacker::maybe_grow(super::STACK_RED_ZONE, super::STACK_GROWTH, || {
            let own = |r: &Range<usize>| text.get(r.clone()).unwrap_or("").to_string();
            Syn {
                before: own(&self.before),
                start: self.start,
                end: self.end,
                kind: match &self.kind {
                    Kind::Literal(r) => Kind::Literal(own(r)),
                    Kind::Composite(c) => Kind::Composite(Box::new(Composite {
                        is_object: c.is_object,
                        items: c.items.iter().map(|i| i.to_owned_text(text)).collect(),
                        after: own(&c.after),
                        trailing_comma: c.trailing_comma,
                    })),
                },
                after: own(&self.after),
            }
        })
    }
}

impl Syn<Range<usize>> {
    /// Every whitespace-and-comment range of the tree, in no particular order.
    pub(crate) fn extras(&self, out: &mut Vec<Range<usize>>) {
        let mut stack = vec![self];
        while let Some(v) = stack.pop() {
            out.push(v.before.clone());
            out.push(v.after.clone());
            if let Kind::Composite(c) = &v.kind {
                out.push(c.after.clone());
                stack.extend(&c.items);
            }
        }
    }
}

/// The comments in one extra (whitespace and comments), as byte ranges of the text.
pub(crate) fn comments_in(text: &str, extra: Range<usize>, out: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    let mut n = extra.start;
    while n < extra.end {
        n += whitespace_len(b.get(n..extra.end).unwrap_or_default());
        match b.get(n..extra.end).and_then(comment_len) {
            Some(len) if len > 0 => {
                out.push(n..n + len);
                n += len;
            }
            _ => break,
        }
    }
}

impl Syn<String> {
    /// The text of the tree (`hujson`'s `Pack`).
    pub(crate) fn pack(&self) -> String {
        let mut out = String::new();
        self.pack_into(&mut out);
        out
    }

    fn pack_into(&self, out: &mut String) {
        stacker::maybe_grow(super::STACK_RED_ZONE, super::STACK_GROWTH, || {
            out.push_str(&self.before);
            match &self.kind {
                Kind::Literal(s) => out.push_str(s),
                Kind::Composite(c) => {
                    let (open, close) = c.brackets();
                    out.push(open);
                    for (i, item) in c.items.iter().enumerate() {
                        item.pack_into(out);
                        let last = i + 1 == c.items.len();
                        if c.is_object && i % 2 == 0 {
                            out.push(':');
                        } else if !last || c.trailing_comma {
                            out.push(',');
                        }
                    }
                    out.push_str(&c.after);
                    out.push(close);
                }
            }
            out.push_str(&self.after);
        });
    }
}

/// Dropping a tree thousands of levels deep must not recurse once per level: the items are
/// moved to one list on the heap and dropped from there, each with no items left.
impl<X> Drop for Composite<X> {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.items);
        while let Some(mut item) = pending.pop() {
            if let Kind::Composite(c) = &mut item.kind {
                pending.append(&mut c.items);
            }
        }
    }
}

/// Why the text is not HuJSON, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where `parse.go` stops.
    pub(crate) offset: usize,
    /// What is wrong there.
    pub(crate) kind: ErrorKind,
}

/// The kinds of syntax error, one per message of `parse.go`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The text ends where `context` needs more (`parsing value`, `parsing string`...).
    UnexpectedEnd(&'static str),
    /// A `/*` comment without `*/`, or a `//` comment without a line feed after it.
    UnterminatedComment,
    /// The character `found` cannot stand `place` (`at start of value`...).
    InvalidCharacter {
        /// The offending character.
        found: char,
        /// Where it stands, in `parse.go`'s words.
        place: &'static str,
    },
    /// A literal that is not valid JSON (`+1`, `0x10`, `tru`, a string with a raw TAB...).
    InvalidLiteral(Range<usize>),
    /// More than [`MAX_DEPTH`] nested objects and arrays.
    TooDeep,
}

fn fail<T>(offset: usize, kind: ErrorKind) -> Result<T, SyntaxError> {
    Err(SyntaxError { offset, kind })
}

/// HuJSON whitespace: space, tab, CR, LF (and nothing else: no form feed, no U+00A0).
pub(crate) const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Length of the run of whitespace at the start of `b`.
pub(crate) fn whitespace_len(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| is_space(c)).count()
}

/// Length of the comment at the start of `b`: `Some(0)` when `b` does not start a comment,
/// `None` when the comment is not terminated.
pub(crate) fn comment_len(b: &[u8]) -> Option<usize> {
    let end: &[u8] = if b.starts_with(b"//") {
        b"\n"
    } else if b.starts_with(b"/*") {
        b"*/"
    } else {
        return Some(0);
    };
    let body = b.get(2..).unwrap_or_default();
    body.windows(end.len())
        .position(|w| w == end)
        .map(|i| 2 + i + end.len())
}

/// Skips whitespace and comments from `n`; returns where they end.
fn consume_extra(b: &[u8], mut n: usize) -> Result<usize, SyntaxError> {
    while let Some(&c) = b.get(n) {
        if is_space(c) {
            n += whitespace_len(&b[n..]);
        } else if c == b'/' {
            match comment_len(&b[n..]) {
                Some(0) => return Ok(n),
                Some(len) => n += len,
                None => return fail(n, ErrorKind::UnterminatedComment),
            }
        } else {
            return Ok(n);
        }
    }
    Ok(n)
}

fn char_at(text: &str, n: usize) -> char {
    text.get(n..)
        .and_then(|s| s.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn invalid_character<T>(text: &str, n: usize, place: &'static str) -> Result<T, SyntaxError> {
    fail(
        n,
        ErrorKind::InvalidCharacter {
            found: char_at(text, n),
            place,
        },
    )
}

/// What the parser makes of the values it reads. The parser owns the grammar and every
/// verdict; a builder only assembles: [`SynBuilder`] the lossless tree that `fmt` rewrites,
/// and the checker's own builder (in the parent module) the tree of values, in one pass
/// without the lossless tree in between.
pub(crate) trait Build {
    /// A finished value.
    type Value;
    /// An object or array still open.
    type Open;
    /// A literal at `at`, with the extra `before` it.
    fn literal(&mut self, before: Range<usize>, at: Range<usize>) -> Self::Value;
    /// An object (`is_object`) or array opens at `start`, with the extra `before` it.
    fn open(&mut self, before: Range<usize>, start: usize, is_object: bool) -> Self::Open;
    /// `value` is the next item of `open`: a member's name (`is_name`), a member's value or an
    /// element, with the extra `after` it.
    fn push(
        &mut self,
        open: &mut Self::Open,
        value: Self::Value,
        after: Range<usize>,
        is_name: bool,
    );
    /// `open` closes at `end` (after its closing bracket), with the extra `inner` before the
    /// bracket; `trailing_comma` when a comma follows its last item.
    fn close(
        &mut self,
        open: Self::Open,
        inner: Range<usize>,
        trailing_comma: bool,
        end: usize,
    ) -> Self::Value;
    /// The top-level value, with the extra after it to the end of the text.
    fn finish(&mut self, value: Self::Value, after: Range<usize>) -> Self::Value;
}

/// Builds the lossless tree.
pub(crate) struct SynBuilder;

impl Build for SynBuilder {
    type Value = Syn<Range<usize>>;
    type Open = Syn<Range<usize>>;

    fn literal(&mut self, before: Range<usize>, at: Range<usize>) -> Self::Value {
        Syn {
            before,
            start: at.start,
            end: at.end,
            kind: Kind::Literal(at.clone()),
            after: at.end..at.end,
        }
    }

    fn open(&mut self, before: Range<usize>, start: usize, is_object: bool) -> Self::Open {
        Syn {
            before,
            start,
            end: start,
            kind: Kind::Composite(Box::new(Composite {
                is_object,
                items: Vec::new(),
                after: 0..0,
                trailing_comma: false,
            })),
            after: 0..0,
        }
    }

    fn push(
        &mut self,
        open: &mut Self::Open,
        mut value: Self::Value,
        after: Range<usize>,
        _is_name: bool,
    ) {
        value.after = after;
        if let Kind::Composite(c) = &mut open.kind {
            c.items.push(value);
        }
    }

    fn close(
        &mut self,
        mut open: Self::Open,
        inner: Range<usize>,
        trailing_comma: bool,
        end: usize,
    ) -> Self::Value {
        if let Kind::Composite(c) = &mut open.kind {
            c.after = inner;
            c.trailing_comma = trailing_comma;
        }
        open.end = end;
        open.after = end..end;
        open
    }

    fn finish(&mut self, mut value: Self::Value, after: Range<usize>) -> Self::Value {
        value.after = after;
        value
    }
}

/// An object or array still open: what the grammar needs to know of it, and the builder's
/// part.
struct Open<O> {
    is_object: bool,
    /// Offset of its opening bracket.
    start: usize,
    /// Items read so far (for an object, names and values both).
    items: usize,
    built: O,
}

/// Parses HuJSON text into its lossless tree.
pub(crate) fn parse(text: &str) -> Result<Syn<Range<usize>>, SyntaxError> {
    parse_with(text, &mut SynBuilder)
}

/// Parses HuJSON text, handing each value to `builder`.
pub(crate) fn parse_with<B: Build>(text: &str, builder: &mut B) -> Result<B::Value, SyntaxError> {
    let b = text.as_bytes();
    let mut stack: Vec<Open<B::Open>> = Vec::new();
    let mut n = 0;
    'value: loop {
        // A value starts here: the extra before it, then its first byte.
        let before_start = n;
        n = consume_extra(b, n)?;
        let before = before_start..n;
        let start = n;
        // The value read, with where it starts and ends.
        let (mut value, mut value_start, mut value_end) = match b.get(n) {
            None => return fail(n, ErrorKind::UnexpectedEnd("parsing value")),
            Some(&c @ (b'{' | b'[')) => {
                if stack.len() >= MAX_DEPTH {
                    return fail(n, ErrorKind::TooDeep);
                }
                let is_object = c == b'{';
                stack.push(Open {
                    is_object,
                    start,
                    items: 0,
                    built: builder.open(before, start, is_object),
                });
                n += 1;
                continue 'value;
            }
            Some(&c @ (b'}' | b']')) => {
                // Where a name or an element could start (after `{`, `[` or a comma), the
                // closing bracket closes the object or array; anywhere else it is an error.
                let closes = stack.last().is_some_and(|open| {
                    if open.is_object {
                        c == b'}' && open.items % 2 == 0
                    } else {
                        c == b']'
                    }
                });
                let Some(open) = stack.pop().filter(|_| closes) else {
                    return invalid_character(text, n, "at start of value");
                };
                n += 1;
                let trailing_comma = open.items > 0;
                (
                    builder.close(open.built, before, trailing_comma, n),
                    open.start,
                    n,
                )
            }
            Some(b'"') => {
                n = string_end(b, n)?;
                check_string(b, start, n)?;
                (builder.literal(before, start..n), start, n)
            }
            Some(_) => {
                n += b[n..]
                    .iter()
                    .take_while(|&&c| matches!(c, b'-' | b'+' | b'.') || c.is_ascii_alphanumeric())
                    .count();
                if n == start {
                    return invalid_character(text, n, "at start of value");
                }
                if !is_valid_bare_literal(&b[start..n]) {
                    return fail(start, ErrorKind::InvalidLiteral(start..n));
                }
                (builder.literal(before, start..n), start, n)
            }
        };
        // A value is finished: read the extra after it and the punctuation that follows,
        // closing every object and array that ends here.
        loop {
            n = consume_extra(b, n)?;
            let after = value_end..n;
            let Some(open) = stack.last_mut() else {
                if n < b.len() {
                    return invalid_character(text, n, "after top-level value");
                }
                return Ok(builder.finish(value, after));
            };
            if open.is_object && open.items % 2 == 0 {
                // The value is a member's name.
                if b.get(value_start) != Some(&b'"') {
                    return invalid_character(text, value_start, "at start of object name");
                }
                match b.get(n) {
                    None => return fail(n, ErrorKind::UnexpectedEnd("parsing object after name")),
                    Some(b':') => {}
                    Some(_) => return invalid_character(text, n, "after object name"),
                }
                n += 1;
                builder.push(&mut open.built, value, after, true);
                open.items += 1;
                continue 'value;
            }
            let (close, context, place) = if open.is_object {
                (
                    b'}',
                    "parsing object after value",
                    "after object value (expecting `,` or `}`)",
                )
            } else {
                (
                    b']',
                    "parsing array after value",
                    "after array value (expecting `,` or `]`)",
                )
            };
            match b.get(n) {
                None => return fail(n, ErrorKind::UnexpectedEnd(context)),
                Some(b',') => {
                    n += 1;
                    builder.push(&mut open.built, value, after, false);
                    open.items += 1;
                    continue 'value;
                }
                Some(&c) if c == close => {
                    // Without a trailing comma, the extra after the last value is the
                    // composite's (as in `hujson`).
                    builder.push(&mut open.built, value, value_end..value_end, false);
                    n += 1;
                    let Some(open) = stack.pop() else {
                        return invalid_character(text, n, "after top-level value");
                    };
                    value = builder.close(open.built, after, false, n);
                    value_start = open.start;
                    value_end = n;
                }
                Some(_) => return invalid_character(text, n, place),
            }
        }
    }
}

/// Offset of the byte after the closing quote of the string starting at `n`.
fn string_end(b: &[u8], n: usize) -> Result<usize, SyntaxError> {
    let mut i = n + 1;
    let mut escaped = false;
    while let Some(&c) = b.get(i) {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            return Ok(i + 1);
        }
        i += 1;
    }
    fail(i, ErrorKind::UnexpectedEnd("parsing string"))
}

/// A quoted string as JSON defines it: no raw control character, only the escapes `\"`,
/// `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX`.
fn check_string(b: &[u8], start: usize, end: usize) -> Result<(), SyntaxError> {
    let body = b.get(start + 1..end - 1).unwrap_or_default();
    let mut i = 0;
    while let Some(&c) = body.get(i) {
        let ok = match c {
            0..=0x1f => false,
            b'\\' => match body.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                    i += 1;
                    true
                }
                Some(b'u') => {
                    let hex = body.get(i + 2..i + 6);
                    i += 5;
                    hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                }
                _ => false,
            },
            _ => true,
        };
        if !ok {
            return fail(start, ErrorKind::InvalidLiteral(start..end));
        }
        i += 1;
    }
    Ok(())
}

/// `null`, `true`, `false`, or a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_valid_bare_literal(lit: &[u8]) -> bool {
    if matches!(lit, b"null" | b"true" | b"false") {
        return true;
    }
    let digits = |s: &[u8], i: usize| {
        s.get(i..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut i = usize::from(lit.first() == Some(&b'-'));
    match lit.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(lit, i),
        _ => return false,
    }
    if lit.get(i) == Some(&b'.') {
        let d = digits(lit, i + 1);
        if d == 0 {
            return false;
        }
        i += 1 + d;
    }
    if matches!(lit.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(lit.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let d = digits(lit, i);
        if d == 0 {
            return false;
        }
        i += d;
    }
    i == lit.len()
}
