//! The human format: each finding with a snippet of its line, a marker under the span, the
//! secondary places and the help; then a summary per file.
//!
//! Written here rather than with miette's graphical handler: that handler reads the source
//! from its start for every report (a cost of findings x file size), echoes whole lines
//! however long, and panics on a span past column 65,535. Here a line is found through the
//! file's [`LineIndex`](crate::span::LineIndex) and at most [`SNIPPET_CHARS`] characters of
//! it are echoed, so the cost of a finding does not depend on the size of the file.

use super::{omitted_note, Body, FileReport, Options, Verdict};
use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{LineIndex, Span};
use std::io::{self, Write};

/// The most characters echoed from one line of the policy.
pub(crate) const SNIPPET_CHARS: usize = 120;
/// Characters kept before the span when a long line is clipped.
const BEFORE_CHARS: usize = 40;
/// The most characters written of a message, label or help (they may quote the policy).
const TEXT_CHARS: usize = 400;
/// Columns a tab takes in a snippet.
const TAB_WIDTH: usize = 4;

pub(super) fn write(
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    for report in reports {
        let path = clean(&report.path, usize::MAX);
        let (text, findings, lines) = match &report.body {
            Body::Unreadable(error) => {
                writeln!(out, "{path}: unreadable: {}", clean(error, TEXT_CHARS))?;
                continue;
            }
            Body::Checked {
                text,
                findings,
                lines,
            } => (text.as_str(), findings, lines),
        };
        let source = Source {
            text,
            lines,
            path: &path,
        };
        let (shown, omitted) = report.shown(options);
        for d in shown {
            source.diagnostic(d, options, out)?;
        }
        if omitted > 0 {
            writeln!(out, "{path}: {}\n", omitted_note(omitted))?;
        }
        let verdict = report.verdict(options);
        let (e, w) = (findings.errors.len(), findings.warnings.len());
        let verdict = match verdict {
            Verdict::Valid | Verdict::Invalid | Verdict::Unreadable => verdict.as_str(),
            Verdict::WarningsDenied => "warnings denied (--deny-warnings)",
        };
        writeln!(out, "{path}: {verdict}, {e} error(s), {w} warning(s)")?;
    }
    Ok(())
}

/// One file's text with its index.
struct Source<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    path: &'a str,
}

/// A clipped line ready to print, with the marker's place in display columns.
struct Excerpt {
    line: usize,
    column: usize,
    shown: String,
    marker_at: usize,
    marker_len: usize,
    /// The previous line (clipped), when the excerpt starts at the start of its line.
    before: Option<String>,
}

impl Source<'_> {
    fn diagnostic(&self, d: &Diagnostic, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        let (severity, color) = match d.severity {
            Severity::Error => ("error", "\x1b[1;31m"),
            Severity::Warning => ("warning", "\x1b[1;33m"),
        };
        let (on, off) = if options.color {
            (color, "\x1b[0m")
        } else {
            ("", "")
        };
        writeln!(
            out,
            "{on}{severity}[{}]{off}: {}",
            d.code,
            clean(&d.message, TEXT_CHARS)
        )?;
        let primary = self.excerpt(d.span);
        let mut excerpts = vec![(primary, '^', d.label.as_str())];
        for r in &d.related {
            let mut e = self.excerpt(r.span);
            e.before = None;
            excerpts.push((e, '-', r.label.as_str()));
        }
        let width = excerpts
            .iter()
            .map(|(e, ..)| e.line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        for (i, (e, mark, label)) in excerpts.iter().enumerate() {
            let arrow = if i == 0 { "-->" } else { ":::" };
            writeln!(out, "{pad}{arrow} {}:{}:{}", self.path, e.line, e.column)?;
            writeln!(out, "{pad} |")?;
            if let Some(before) = &e.before {
                writeln!(out, "{:>width$} | {before}", e.line - 1)?;
            }
            writeln!(out, "{:>width$} | {}", e.line, e.shown)?;
            let marker = mark.to_string().repeat(e.marker_len);
            let label = clean(label, TEXT_CHARS);
            let sep = if label.is_empty() { "" } else { " " };
            writeln!(
                out,
                "{pad} | {}{on}{marker}{sep}{label}{off}",
                " ".repeat(e.marker_at)
            )?;
        }
        if let Some(help) = &d.help {
            writeln!(out, "{pad} = help: {}", clean(help, TEXT_CHARS))?;
        }
        writeln!(out)
    }

    /// The line of `span`'s start, clipped to [`SNIPPET_CHARS`] around the span.
    fn excerpt(&self, span: Span) -> Excerpt {
        let text = self.text;
        let start = floor_char_boundary(text, span.start);
        let (line, column) = self.lines.position(text, start);
        let line_start = self.lines.line_start(line).unwrap_or(0).min(start);
        let line_end = self
            .lines
            .line_start(line + 1)
            .map_or(text.len(), |next| next - 1)
            .max(start);
        let span_end = floor_char_boundary(text, span.end).clamp(start, line_end);
        let span_chars = chars_within(text, start, span_end, SNIPPET_CHARS);
        let clipped = column - 1 + span_chars.min(SNIPPET_CHARS / 2) > SNIPPET_CHARS;
        let left = if clipped {
            back_chars(text, start, BEFORE_CHARS).max(line_start)
        } else {
            line_start
        };
        let right = forward_chars(text, left, SNIPPET_CHARS)
            .min(line_end)
            .max(start);
        let (prefix, suffix) = (left > line_start, right < line_end);
        let mut shown = String::new();
        if prefix {
            shown.push('…');
        }
        let marker_at = usize::from(prefix) + push_shown(&mut shown, &text[left..start]);
        let marked_end = span_end.min(right);
        let marker_len = push_shown(&mut shown, &text[start..marked_end]).max(1);
        push_shown(&mut shown, text[marked_end..right].trim_end_matches('\r'));
        if suffix {
            shown.push('…');
        }
        let before = (!prefix && line > 1).then(|| {
            let prev_start = self.lines.line_start(line - 1).unwrap_or(0);
            let prev_end = line_start.saturating_sub(1).max(prev_start);
            let cut = forward_chars(text, prev_start, SNIPPET_CHARS).min(prev_end);
            let mut s = String::new();
            push_shown(&mut s, text[prev_start..cut].trim_end_matches('\r'));
            if cut < prev_end {
                s.push('…');
            }
            s
        });
        Excerpt {
            line,
            column,
            shown,
            marker_at,
            marker_len,
            before,
        }
    }
}

/// The largest char boundary at or before `i` (clamped to the text).
fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset `n` characters back from `at` (a char boundary).
fn back_chars(text: &str, at: usize, n: usize) -> usize {
    text[..at]
        .char_indices()
        .rev()
        .take(n)
        .last()
        .map_or(at, |(i, _)| i)
}

/// The byte offset `n` characters on from `at` (a char boundary).
fn forward_chars(text: &str, at: usize, n: usize) -> usize {
    text[at..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| at + i)
}

/// Characters between `from` and `to`, counting at most `cap`.
fn chars_within(text: &str, from: usize, to: usize, cap: usize) -> usize {
    text[from..to].chars().take(cap).count()
}

/// Appends `part` as it is shown (tabs expanded, control and bidirectional characters
/// replaced) and returns the columns it takes.
fn push_shown(out: &mut String, part: &str) -> usize {
    let mut columns = 0;
    for c in part.chars() {
        if c == '\t' {
            out.push_str(&" ".repeat(TAB_WIDTH));
            columns += TAB_WIDTH;
        } else {
            out.push(shown_char(c));
            columns += 1;
        }
    }
    columns
}

/// A character as the terminal gets it: control characters (escape sequences among them)
/// and bidirectional controls become U+FFFD, so a policy cannot rewrite the screen.
fn shown_char(c: char) -> char {
    let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if c.is_control() || bidi {
        '\u{FFFD}'
    } else {
        c
    }
}

/// `s` as one printable line of at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(shown_char).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::diagnostic::Findings;
    use crate::report::{write as render, Format};

    fn human(text: &str, d: Diagnostic) -> String {
        let mut f = Findings::default();
        f.push(d);
        let r = FileReport::new("p.hujson".into(), text.into(), f);
        let mut out = Vec::new();
        render(Format::Human, &[r], &Options::default(), &mut out).unwrap_or_default();
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn marker_sits_under_the_span_after_tabs() {
        let text = "{\n\t\"a\": 1,\n}";
        let out = human(
            text,
            Diagnostic::error(codes::UNKNOWN_FIELD, "unknown field `a`", Span::new(3, 6))
                .with_label("here"),
        );
        assert!(out.contains("--> p.hujson:2:2"), "{out}");
        assert!(out.contains("2 |     \"a\": 1,"), "{out}");
        assert!(out.contains("  |     ^^^ here"), "{out}");
        assert!(out.contains("1 | {"), "{out}");
    }

    #[test]
    fn snippet_of_a_huge_line_is_bounded() {
        let text = format!("{{\"x\": \"{}\", \"b\": 1}}", "y".repeat(200_000));
        let at = text.len() - 7;
        let out = human(
            &text,
            Diagnostic::error(codes::UNKNOWN_FIELD, "m", Span::new(at, at + 3)),
        );
        assert!(out.len() < 2_000, "{} bytes", out.len());
        assert!(out.contains(&format!("p.hujson:1:{}", at + 1)), "{out}");
        let line = out.lines().find(|l| l.contains('…')).unwrap_or_default();
        let marker = out.lines().find(|l| l.contains("^^^")).unwrap_or_default();
        let col = |s: &str, pat: &str| s.find(pat).map(|i| s[..i].chars().count());
        assert_eq!(col(line, "\"b\""), col(marker, "^^^"), "{out}");
    }

    #[test]
    fn escape_sequences_in_the_policy_never_reach_the_terminal() {
        let text = "{\"\x1b[2J\u{202E}\": 1}";
        let out = human(
            text,
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                "unknown field `\x1b[2J`",
                Span::new(1, 8),
            ),
        );
        assert!(
            !out.contains('\x1b') && !out.contains('\u{202E}'),
            "{out:?}"
        );
    }

    #[test]
    fn related_places_are_shown_with_their_note() {
        let text = "{\"a\": 1,\n \"a\": 2}";
        let d = Diagnostic::error(codes::DUPLICATE_KEY, "duplicate key `a`", Span::new(10, 13))
            .with_label("duplicate")
            .with_related(Span::new(1, 4), "first defined here");
        let out = human(text, d);
        assert!(out.contains("::: p.hujson:1:2"), "{out}");
        assert!(out.contains("--- first defined here"), "{out}");
    }
}
