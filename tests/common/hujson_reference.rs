//! A reference implementation of tailscale/hujson's grammar, written from `parse.go` as
//! plainly as possible (recursive descent, one function per function of `parse.go`, its
//! sentinel errors for `}` and `]` at the start of a value), for the differential tests of
//! tailgrant's parser (`tests/hujson_differential.rs` and the `hujson_differential` fuzz
//! target). It reports what those tests compare: the verdict, the offset at which parsing
//! stops, and where every comment is. It recurses once per nesting level, so callers keep
//! inputs small (a few KB).

#![allow(dead_code)]

/// Why a value could not be parsed; the two sentinels are `parse.go`'s
/// `errInvalidObjectEnd` and `errInvalidArrayEnd`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    ObjectEnd,
    ArrayEnd,
    Invalid,
}

/// What `parseNext` returns besides the offset: the value's first byte (`None` when no value
/// was read) and where it started.
struct Parsed {
    kind: Option<u8>,
    start: usize,
}

struct Reference<'a> {
    b: &'a [u8],
    comments: Vec<(usize, usize)>,
}

/// Parses `text` as hujson does: `Ok` with the byte ranges of its comments in order, or
/// `Err` with the offset where `Parse` stops.
pub fn parse(text: &[u8]) -> Result<Vec<(usize, usize)>, usize> {
    let mut r = Reference {
        b: text,
        comments: Vec::new(),
    };
    match r.next(0) {
        (_, n, Ok(())) if n < text.len() => Err(n),
        (_, _, Ok(())) => {
            r.comments.sort_unstable();
            Ok(r.comments)
        }
        (_, n, Err(_)) => Err(n),
    }
}

impl Reference<'_> {
    /// `parseNext`: extra, value, extra.
    fn next(&mut self, n: usize) -> (Parsed, usize, Result<(), Stop>) {
        let mut parsed = Parsed {
            kind: None,
            start: n,
        };
        let n = match self.extra(n) {
            Ok(n) => n,
            Err(n) => return (parsed, n, Err(Stop::Invalid)),
        };
        parsed.start = n;
        let (kind, n, result) = self.trimmed(n);
        parsed.kind = kind;
        if result.is_err() {
            return (parsed, n, result);
        }
        match self.extra(n) {
            Ok(n) => (parsed, n, Ok(())),
            Err(n) => (parsed, n, Err(Stop::Invalid)),
        }
    }

    /// `parseNextTrimmed`.
    fn trimmed(&mut self, n: usize) -> (Option<u8>, usize, Result<(), Stop>) {
        let b = self.b;
        let Some(&first) = b.get(n) else {
            return (None, n, Err(Stop::Invalid));
        };
        match first {
            b'{' => self.object(n + 1),
            b'}' => (None, n, Err(Stop::ObjectEnd)),
            b'[' => self.array(n + 1),
            b']' => (None, n, Err(Stop::ArrayEnd)),
            b'"' => {
                let mut i = n + 1;
                let mut escaped = false;
                loop {
                    match b.get(i) {
                        None => return (None, i, Err(Stop::Invalid)),
                        Some(_) if escaped => escaped = false,
                        Some(b'\\') => escaped = true,
                        Some(b'"') => break,
                        Some(_) => {}
                    }
                    i += 1;
                }
                if valid_string(&b[n..=i]) {
                    (Some(b'"'), i + 1, Ok(()))
                } else {
                    (None, n, Err(Stop::Invalid))
                }
            }
            _ => {
                let mut i = n;
                while b
                    .get(i)
                    .is_some_and(|c| b"-+.".contains(c) || c.is_ascii_alphanumeric())
                {
                    i += 1;
                }
                let lit = &b[n..i];
                if !lit.is_empty()
                    && (matches!(lit, b"null" | b"true" | b"false") || valid_number(lit))
                {
                    (Some(first), i, Ok(()))
                } else {
                    (None, n, Err(Stop::Invalid))
                }
            }
        }
    }

    fn object(&mut self, mut n: usize) -> (Option<u8>, usize, Result<(), Stop>) {
        let me = Some(b'{');
        loop {
            let (name, m, result) = self.next(n);
            n = m;
            if let Err(stop) = result {
                if stop == Stop::ObjectEnd && name.kind.is_none() {
                    return (me, n + 1, Ok(()));
                }
                return (me, n, Err(stop));
            }
            if name.kind != Some(b'"') {
                return (me, name.start, Err(Stop::Invalid));
            }
            if self.b.get(n) != Some(&b':') {
                return (me, n, Err(Stop::Invalid));
            }
            let (_, m, result) = self.next(n + 1);
            n = m;
            if let Err(stop) = result {
                return (me, n, Err(stop));
            }
            match self.b.get(n) {
                Some(b',') => n += 1,
                Some(b'}') => return (me, n + 1, Ok(())),
                _ => return (me, n, Err(Stop::Invalid)),
            }
        }
    }

    fn array(&mut self, mut n: usize) -> (Option<u8>, usize, Result<(), Stop>) {
        let me = Some(b'[');
        loop {
            let (element, m, result) = self.next(n);
            n = m;
            if let Err(stop) = result {
                if stop == Stop::ArrayEnd && element.kind.is_none() {
                    return (me, n + 1, Ok(()));
                }
                return (me, n, Err(stop));
            }
            match self.b.get(n) {
                Some(b',') => n += 1,
                Some(b']') => return (me, n + 1, Ok(())),
                _ => return (me, n, Err(Stop::Invalid)),
            }
        }
    }

    /// `consumeExtra`: whitespace and comments; `Err` at the start of a bad comment.
    fn extra(&mut self, mut n: usize) -> Result<usize, usize> {
        let b = self.b;
        while let Some(&c) = b.get(n) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => n += 1,
                b'/' => {
                    let rest = &b[n..];
                    let end: &[u8] = if rest.starts_with(b"//") {
                        b"\n"
                    } else if rest.starts_with(b"/*") {
                        b"*/"
                    } else {
                        return Ok(n);
                    };
                    let body = &rest[2..];
                    let Some(at) = (0..body.len()).find(|&i| body[i..].starts_with(end)) else {
                        return Err(n);
                    };
                    let len = 2 + at + end.len();
                    if std::str::from_utf8(&rest[..len]).is_err() {
                        return Err(n);
                    }
                    self.comments.push((n, n + len));
                    n += len;
                }
                _ => return Ok(n),
            }
        }
        Ok(n)
    }
}

/// `json.Valid` for a quoted string: no byte below 0x20, only JSON's escapes.
fn valid_string(lit: &[u8]) -> bool {
    let body = &lit[1..lit.len() - 1];
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            0..=0x1f => return false,
            b'\\' => {
                let Some(&e) = body.get(i + 1) else {
                    return false;
                };
                if e == b'u' {
                    let hex = body.get(i + 2..i + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return false;
                    }
                    i += 6;
                    continue;
                }
                if !b"\"\\/bfnrt".contains(&e) {
                    return false;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    true
}

/// `json.Valid` for a number, as a state machine over RFC 8259's grammar.
fn valid_number(lit: &[u8]) -> bool {
    // States: 0 start, 1 after `-`, 2 after a leading `0`, 3 in the integer part, 4 after
    // `.`, 5 in the fraction, 6 after `e`, 7 after the exponent's sign, 8 in the exponent.
    let mut state = 0;
    for &c in lit {
        state = match (state, c) {
            (0, b'-') => 1,
            (0 | 1, b'0') => 2,
            (0 | 1, b'1'..=b'9') => 3,
            (3, b'0'..=b'9') => 3,
            (2 | 3, b'.') => 4,
            (4 | 5, b'0'..=b'9') => 5,
            (2 | 3 | 5, b'e' | b'E') => 6,
            (6, b'+' | b'-') => 7,
            (6..=8, b'0'..=b'9') => 8,
            _ => return false,
        };
    }
    matches!(state, 2 | 3 | 5 | 8)
}
