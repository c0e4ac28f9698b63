//! Interning of the strings (tags, users, capability names) and spans (grants, ACL entries,
//! `nodeAttrs` entries) that the table refers to by number.
//!
//! Invariant: an id is the position of its value in the list that goes into the table; equal
//! values get one id, ids are dense and given in first-seen order.

use crate::span::Span;
use std::collections::HashMap;

/// A list position as a table id (lists longer than `u32::MAX` do not occur: the input
/// bounds keep every list far below it; saturating keeps this total).
pub(super) fn index(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Interned strings and spans.
#[derive(Default)]
pub(super) struct Interner {
    pub(super) strings: Vec<String>,
    by_string: HashMap<String, u32>,
    pub(super) spans: Vec<Span>,
    by_span: HashMap<Span, u32>,
}

impl Interner {
    pub(super) fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.by_string.get(s) {
            return i;
        }
        let i = index(self.strings.len());
        self.strings.push(s.to_string());
        self.by_string.insert(s.to_string(), i);
        i
    }

    pub(super) fn span(&mut self, s: Span) -> u32 {
        *self.by_span.entry(s).or_insert_with(|| {
            self.spans.push(s);
            index(self.spans.len() - 1)
        })
    }
}
