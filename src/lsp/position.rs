//! Byte offsets to LSP positions and back, in the encoding the client negotiated.
//!
//! An LSP position is a 0-based line and a 0-based character offset in that line, counted in
//! UTF-16 code units by default, or in bytes (UTF-8) or code points (UTF-32) when both sides
//! agree on it at initialization (`positionEncoding`).

use lsp_types::{Position, PositionEncodingKind, Range};

/// The unit of an LSP position's `character`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Encoding {
    /// Bytes.
    Utf8,
    /// UTF-16 code units (the protocol's default).
    #[default]
    Utf16,
    /// Unicode code points.
    Utf32,
}

impl Encoding {
    /// The encoding to use among those a client offers (in its order of preference): UTF-8
    /// first, since spans are byte offsets, then UTF-32, else the default UTF-16.
    pub(crate) fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Self::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Self::Utf32
        } else {
            Self::Utf16
        }
    }

    /// The protocol's name of this encoding.
    pub(crate) fn kind(self) -> PositionEncodingKind {
        match self {
            Self::Utf8 => PositionEncodingKind::UTF8,
            Self::Utf16 => PositionEncodingKind::UTF16,
            Self::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, c: char) -> usize {
        match self {
            Self::Utf8 => c.len_utf8(),
            Self::Utf16 => c.len_utf16(),
            Self::Utf32 => 1,
        }
    }
}

/// A position that names no place of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadPosition {
    /// The position as the client sent it.
    pub(crate) position: Position,
    /// The number of lines of the document.
    pub(crate) lines: usize,
}

impl std::fmt::Display for BadPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} is past the end of the document ({} lines)",
            self.position.line, self.lines
        )
    }
}

/// The line starts of one text, for conversions in both directions.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    starts: Vec<usize>,
    encoding: Encoding,
}

impl Lines {
    /// Indexes `text`.
    pub(crate) fn new(text: &str, encoding: Encoding) -> Self {
        // memchr finds the line feeds of a 10,000-line text in tens of microseconds, several
        // times faster than `str::match_indices`; this runs on every edit.
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self { starts, encoding }
    }

    /// The position of byte `offset` (clamped to the text; an offset inside a character
    /// counts from that character's start).
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize = text
            .get(start..offset)
            .unwrap_or_default()
            .chars()
            .map(|c| self.encoding.width(c))
            .sum();
        Position::new(saturate(line), saturate(character))
    }

    /// The range of the byte span `start..end`.
    pub(crate) fn range(&self, text: &str, span: crate::span::Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    /// The byte offset of `position`. As the protocol says, a character past the end of its
    /// line means the end of the line; one inside a character (half of a UTF-16 surrogate
    /// pair, a byte inside a UTF-8 sequence) means the start of that character. A line past
    /// the last one is an error (the end of the text is the last line's end).
    pub(crate) fn offset(&self, text: &str, position: Position) -> Result<usize, BadPosition> {
        let line = position.line as usize;
        let bad = || BadPosition {
            position,
            lines: self.starts.len(),
        };
        let start = *self.starts.get(line).ok_or_else(bad)?;
        let next = self.starts.get(line + 1);
        let end = next.map_or(text.len(), |next| next - 1);
        let line_text = text.get(start..end).ok_or_else(bad)?;
        // The CR of a CR LF ends the line; a CR elsewhere is a character of it.
        let line_text = match next {
            Some(_) => line_text.strip_suffix('\r').unwrap_or(line_text),
            None => line_text,
        };
        let want = position.character as usize;
        let mut units = 0;
        for (i, c) in line_text.char_indices() {
            let next = units + self.encoding.width(c);
            if next > want {
                return Ok(start + i);
            }
            units = next;
        }
        Ok(start + line_text.len())
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    // "😀" is 4 bytes, 2 UTF-16 units, 1 code point; "é" is 2 bytes, 1 unit, 1 point.
    const TEXT: &str = "// 😀é\n{\"a\": 1}\n";

    #[test]
    fn characters_count_in_the_negotiated_unit() {
        let x = TEXT.find('é').unwrap_or_default();
        for (enc, col) in [
            (Encoding::Utf8, 7),
            (Encoding::Utf16, 5),
            (Encoding::Utf32, 4),
        ] {
            let lines = Lines::new(TEXT, enc);
            assert_eq!(lines.position(TEXT, x), Position::new(0, col), "{enc:?}");
            assert_eq!(lines.offset(TEXT, Position::new(0, col)), Ok(x), "{enc:?}");
        }
    }

    #[test]
    fn a_position_inside_a_surrogate_pair_is_the_start_of_the_character() {
        let lines = Lines::new(TEXT, Encoding::Utf16);
        assert_eq!(lines.offset(TEXT, Position::new(0, 4)), Ok(3));
    }

    #[test]
    fn a_character_past_the_line_end_is_the_line_end_and_a_line_past_the_text_an_error() {
        let lines = Lines::new(TEXT, Encoding::Utf16);
        assert_eq!(
            lines.offset(TEXT, Position::new(1, 999)),
            Ok(TEXT.len() - 1)
        );
        assert_eq!(lines.offset(TEXT, Position::new(2, 0)), Ok(TEXT.len()));
        assert!(lines.offset(TEXT, Position::new(3, 0)).is_err());
        assert!(lines
            .offset(TEXT, Position::new(u32::MAX, u32::MAX))
            .is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_character_boundary_survives_the_round_trip(text in "[a-z\\n😀é\r\"]{0,40}", pick in 0usize..64) {
            for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let lines = Lines::new(&text, enc);
                let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                let at = boundaries[pick % boundaries.len()];
                let p = lines.position(&text, at);
                // The CR of a CR LF ends its line: the places on it and after it are the end.
                let back = lines.offset(&text, p);
                proptest::prop_assert!(back.is_ok());
                let back = back.unwrap_or_default();
                let bytes = text.as_bytes();
                let cr_of_crlf = |i: usize| bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n');
                if !(cr_of_crlf(at) || at > 0 && cr_of_crlf(at - 1)) {
                    proptest::prop_assert_eq!(back, at, "{:?}", enc);
                }
            }
        }
    }

    #[test]
    fn utf8_is_chosen_when_offered_and_utf16_is_the_default() {
        let offered = [PositionEncodingKind::UTF16, PositionEncodingKind::UTF8];
        assert_eq!(Encoding::negotiate(Some(&offered)), Encoding::Utf8);
        assert_eq!(
            Encoding::negotiate(Some(&[PositionEncodingKind::UTF32])),
            Encoding::Utf32
        );
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
    }
}
