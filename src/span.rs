//! Byte spans into the policy text, and values that carry them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A half-open byte range `start..end` into the source text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub(crate) const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no byte.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        miette::SourceSpan::new(s.start.into(), s.len())
    }
}

/// A value with the span it came from. The span takes no part in equality or hashing, so two
/// parsed policies compare by meaning alone.
#[derive(Clone, Default)]
pub struct Spanned<T> {
    /// The value.
    pub(crate) value: T,
    /// Where it stands in the source.
    pub(crate) span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `value` with `span`.
    pub(crate) const fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }

    /// The same span around `f(value)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned::new(f(self.value), self.span)
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Spanned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// A spanned collection iterates as the collection does (`for x in &spanned_vec`).
impl<'a, T> IntoIterator for &'a Spanned<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&self.value).into_iter()
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Spanned<T> {}

impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// Maps byte offsets to 1-based line and column. Columns count Unicode characters (code
/// points), the unit of every output format.
///
/// Built in one pass over the text; a lookup is a binary search over the line starts plus a
/// scan of at most `LineIndex::BLOCK` bytes, so placing any number of findings on a line of
/// any length stays linear in the input.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    /// `chars_before_block[k]`: the number of characters in the first `k * BLOCK` bytes.
    chars_before_block: Vec<usize>,
}

/// True for the first byte of a UTF-8 sequence (any byte but a continuation byte).
const fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

impl LineIndex {
    /// Bytes between two checkpoints of the character count.
    pub(crate) const BLOCK: usize = 256;

    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut chars_before_block = Vec::with_capacity(text.len() / Self::BLOCK + 1);
        let mut count = 0;
        chars_before_block.push(0);
        for block in text.as_bytes().chunks(Self::BLOCK) {
            count += block.iter().filter(|&&b| starts_char(b)).count();
            chars_before_block.push(count);
        }
        Self {
            line_starts,
            chars_before_block,
        }
    }

    /// The number of characters in `text[..offset]` (a character cut by `offset` counts).
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        let block = offset / Self::BLOCK;
        let from = block * Self::BLOCK;
        let before = self.chars_before_block.get(block).copied().unwrap_or(0);
        let rest = text.as_bytes().get(from..offset).unwrap_or_default();
        before + rest.iter().filter(|&&b| starts_char(b)).count()
    }

    /// The byte offset where the 1-based `line` starts (the end of the text past the last).
    pub(crate) fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }

    /// The number of lines (a text ending in a newline has an empty last line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 1-based line of byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The 1-based (line, column) of byte `offset` in `text`.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self.chars_before(text, offset) - self.chars_before(text, start) + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\nçd\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), (1, 1));
        assert_eq!(idx.position(text, 3), (2, 1));
        assert_eq!(idx.position(text, 5), (2, 2));
        assert_eq!(idx.position(text, 7), (3, 1));
        assert_eq!(idx.position(text, 99), (3, 1));
    }

    #[test]
    fn columns_count_characters_across_checkpoints() {
        let text = format!("{}\n{}x", "é".repeat(300), "ü".repeat(700));
        let idx = LineIndex::new(&text);
        let x = text.len() - 1;
        assert_eq!(idx.position(&text, x), (2, 701));
        assert_eq!(idx.position(&text, 600), (1, 301));
        assert_eq!(idx.line_count(), 2);
        assert_eq!(idx.line_start(2), Some(601));
        assert_eq!(idx.line_start(3), None);
    }

    #[test]
    fn span_is_ignored_by_equality() {
        assert_eq!(
            Spanned::new(1, Span::new(0, 1)),
            Spanned::new(1, Span::new(5, 9))
        );
    }
}
