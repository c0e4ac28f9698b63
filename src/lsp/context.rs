//! Where the cursor stands in a policy: the keys leading to it, whether it is at a key or a
//! value, and the string under it.
//!
//! Written as a small tolerant scanner rather than on the parsed tree, because completion
//! runs on text that does not parse yet (`"src": ["gr` has no closing quote or bracket): it
//! reads HuJSON's tokens up to the cursor (strings with escapes, `//` and `/* */` comments,
//! brackets) and keeps a stack of the open containers.

use crate::span::Span;

/// One step from a container into one of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The value of this key of an object.
    Key(String),
    /// An element of an array.
    Item,
}

/// What the cursor is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A key of the object the path leads to.
    Key,
    /// The value the path leads to.
    Value,
}

/// The string literal under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The literal with its quotes (to the end of the line when it is not closed yet).
    pub(crate) span: Span,
    /// The text between the quotes, as written.
    pub(crate) raw: String,
    /// The part of `raw` before the cursor.
    pub(crate) before: String,
}

/// The cursor's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    /// From the root to the key or value at the cursor.
    pub(crate) path: Vec<Step>,
    /// Key or value.
    pub(crate) slot: Slot,
    /// The string under the cursor, if any.
    pub(crate) token: Option<Token>,
}

impl Context {
    /// The keys of the path, lowercased (Tailscale reads field names without regard to
    /// case), items as `[]`.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.path
            .iter()
            .map(|s| match s {
                Step::Key(k) => k.to_ascii_lowercase(),
                Step::Item => "[]".to_string(),
            })
            .collect()
    }
}

enum Frame {
    Object {
        into: Option<Step>,
        key: Option<String>,
        after_colon: bool,
    },
    Array {
        into: Option<Step>,
    },
}

/// The context of byte `offset` of `text`.
pub(crate) fn at(text: &str, offset: usize) -> Context {
    let offset = offset.min(text.len());
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let mut token = None;
    while i < offset {
        match bytes[i] {
            b'"' => {
                let start = i;
                let (end, closed) = string_end(bytes, i + 1);
                if (closed && offset < end) || (!closed && offset <= end) {
                    let inner_end = if closed { end - 1 } else { end };
                    token = Some(Token {
                        span: Span::new(start, end),
                        raw: text
                            .get(start + 1..inner_end)
                            .unwrap_or_default()
                            .to_string(),
                        before: text.get(start + 1..offset).unwrap_or_default().to_string(),
                    });
                    break;
                }
                let value = text
                    .get(start + 1..end.saturating_sub(usize::from(closed)))
                    .unwrap_or_default();
                if let Some(Frame::Object {
                    key, after_colon, ..
                }) = stack.last_mut()
                {
                    if !*after_colon {
                        *key = Some(value.to_string());
                    }
                }
                i = end;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text
                    .get(i + 2..)
                    .and_then(|rest| rest.find("*/"))
                    .map_or(text.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'{' | b'[' => {
                let into = match stack.last() {
                    Some(Frame::Object { key, .. }) => key.clone().map(Step::Key),
                    Some(Frame::Array { .. }) => Some(Step::Item),
                    None => None,
                };
                stack.push(if bytes[i] == b'{' {
                    Frame::Object {
                        into,
                        key: None,
                        after_colon: false,
                    }
                } else {
                    Frame::Array { into }
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { after_colon, .. }) = stack.last_mut() {
                    *after_colon = true;
                }
            }
            b',' => {
                if let Some(Frame::Object {
                    key, after_colon, ..
                }) = stack.last_mut()
                {
                    *key = None;
                    *after_colon = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if token.is_none() {
        token = string_at(text, offset);
    }
    let mut path: Vec<Step> = stack
        .iter()
        .filter_map(|f| match f {
            Frame::Object { into, .. } | Frame::Array { into } => into.clone(),
        })
        .collect();
    let slot = match stack.last() {
        Some(Frame::Object {
            key, after_colon, ..
        }) => {
            if *after_colon {
                path.push(Step::Key(key.clone().unwrap_or_default()));
                Slot::Value
            } else {
                Slot::Key
            }
        }
        Some(Frame::Array { .. }) => {
            path.push(Step::Item);
            Slot::Value
        }
        None => Slot::Value,
    };
    Context { path, slot, token }
}

/// A string literal that starts exactly at `offset` (the cursor on its opening quote).
fn string_at(text: &str, offset: usize) -> Option<Token> {
    let bytes = text.as_bytes();
    if bytes.get(offset) != Some(&b'"') {
        return None;
    }
    let (end, closed) = string_end(bytes, offset + 1);
    let inner_end = if closed { end - 1 } else { end };
    Some(Token {
        span: Span::new(offset, end),
        raw: text.get(offset + 1..inner_end)?.to_string(),
        before: String::new(),
    })
}

/// One past the closing quote of a string whose contents start at `from`, and whether it
/// was closed (an unclosed string ends at its line's end).
fn string_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return (i + 1, true),
            b'\n' => return (i, false),
            _ => i += 1,
        }
    }
    (bytes.len(), false)
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(bytes.len(), |n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(marked: &str) -> Context {
        let offset = marked.find('|').unwrap_or_default();
        at(&marked.replace('|', ""), offset)
    }

    #[test]
    fn an_unclosed_selector_in_a_grant_is_a_src_item() {
        let c = ctx("{\"grants\": [{\"src\": [\"gr|\n");
        assert_eq!(c.keys(), ["grants", "[]", "src", "[]"]);
        assert_eq!(c.slot, Slot::Value);
        let t = c.token.unwrap_or_else(|| Token {
            span: Span::default(),
            raw: String::new(),
            before: String::new(),
        });
        assert_eq!((t.raw.as_str(), t.before.as_str()), ("gr", "gr"));
    }

    #[test]
    fn a_key_position_after_a_comma_and_a_comment() {
        let c = ctx("{\"acls\": [], // \"x\": [\n /* { */ \"ta|\"}");
        assert_eq!(c.keys(), Vec::<String>::new());
        assert_eq!(c.slot, Slot::Key);
        assert_eq!(c.token.map(|t| t.raw), Some("ta".to_string()));
    }

    #[test]
    fn the_whole_string_under_the_cursor_and_its_escapes() {
        let text = r#"{"groups": {"group:o\"ps": ["a@b.c"]}}"#;
        let c = at(text, text.find("o\\").unwrap_or_default());
        assert_eq!(c.keys(), ["groups"]);
        assert_eq!(c.slot, Slot::Key);
        let t = c.token.map(|t| (t.raw, t.span));
        assert_eq!(t, Some((r#"group:o\"ps"#.to_string(), Span::new(12, 25))));
    }

    proptest::proptest! {
        #[test]
        fn any_text_and_offset_give_a_context(text in "[{}\\[\\]\":,/*\\\\ a\n😀]{0,60}", at in 0usize..80) {
            let c = at_offset(&text, at);
            if let Some(t) = c.token {
                proptest::prop_assert!(t.span.start <= t.span.end && t.span.end <= text.len());
            }
        }
    }

    fn at_offset(text: &str, at: usize) -> Context {
        super::at(text, at)
    }

    #[test]
    fn a_value_after_a_colon() {
        let c = ctx(r#"{"acls": [{"action": "acc|ept"}]}"#);
        assert_eq!(c.keys(), ["acls", "[]", "action"]);
        assert_eq!(c.token.map(|t| t.before), Some("acc".to_string()));
    }
}
