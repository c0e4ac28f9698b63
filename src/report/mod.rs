//! Reports of `check`: the findings of each file rendered as text for people (`human`), one
//! JSON document (`json`), GitHub workflow annotations (`github`) or SARIF 2.1.0 (`sarif`).
//!
//! Every format costs time linear in the input and the findings: lines are indexed once per
//! file ([`LineIndex`]), the snippet echoed from a line is bounded, and at most
//! [`Options::max_findings`] findings are written per file, followed by the count of the rest.
//! Positions are 1-based; columns count Unicode characters (code points) in every format.
//!
//! Rendering writes to any [`std::io::Write`] and stops at the first write error, so that a
//! reader that closes its end early ends the run at once.

mod github;
mod human;
mod json;
mod sarif;

use crate::diagnostic::{Diagnostic, Findings};
use crate::span::{LineIndex, Span};
use std::io;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for people: each finding with a bounded snippet of its line.
    Human,
    /// One JSON object.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// The default of [`Options::max_findings`].
pub const DEFAULT_MAX_FINDINGS: usize = 200;

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// At most this many findings are written per file (errors first); `None` writes all.
    pub max_findings: Option<usize>,
    /// Warnings fail the run (the per-file verdict says so).
    pub deny_warnings: bool,
    /// ANSI colours in the human format.
    pub color: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_findings: Some(DEFAULT_MAX_FINDINGS),
            deny_warnings: false,
            color: false,
        }
    }
}

/// The report of one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as given (`-` for standard input).
    pub(crate) path: String,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Checked {
        text: String,
        findings: Findings,
        lines: LineIndex,
    },
    Unreadable(String),
}

/// The verdict on one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No error (warnings allowed).
    Valid,
    /// At least one error: Tailscale would reject the file.
    Invalid,
    /// No error, but warnings and `--deny-warnings`.
    WarningsDenied,
    /// The file could not be read.
    Unreadable,
}

impl Verdict {
    /// `valid`, `invalid`, `warnings denied` or `unreadable`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::WarningsDenied => "warnings denied",
            Self::Unreadable => "unreadable",
        }
    }
}

/// 1-based position of a span; columns count characters, the end is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// Line of the first character.
    pub(crate) line: usize,
    /// Column of the first character.
    pub(crate) column: usize,
    /// Line of the end.
    pub(crate) end_line: usize,
    /// Column just past the last character.
    pub(crate) end_column: usize,
}

impl FileReport {
    /// The findings of a file that was read.
    pub fn new(path: String, text: String, findings: Findings) -> Self {
        let lines = LineIndex::new(&text);
        Self {
            path,
            body: Body::Checked {
                text,
                findings,
                lines,
            },
        }
    }

    /// A file that could not be read, with the reason.
    pub fn unreadable(path: String, error: String) -> Self {
        Self {
            path,
            body: Body::Unreadable(error),
        }
    }

    /// The findings (none for an unreadable file).
    pub(crate) fn findings(&self) -> Option<&Findings> {
        match &self.body {
            Body::Checked { findings, .. } => Some(findings),
            Body::Unreadable(_) => None,
        }
    }

    /// Why the file could not be read.
    pub(crate) fn read_error(&self) -> Option<&str> {
        match &self.body {
            Body::Checked { .. } => None,
            Body::Unreadable(e) => Some(e),
        }
    }

    /// The verdict under `options`.
    pub fn verdict(&self, options: &Options) -> Verdict {
        match self.findings() {
            None => Verdict::Unreadable,
            Some(f) if !f.errors.is_empty() => Verdict::Invalid,
            Some(f) if options.deny_warnings && !f.warnings.is_empty() => Verdict::WarningsDenied,
            Some(_) => Verdict::Valid,
        }
    }

    /// The 1-based position of `span` in the file.
    pub(crate) fn position(&self, span: Span) -> Position {
        match &self.body {
            Body::Checked { text, lines, .. } => {
                let (line, column) = lines.position(text, span.start);
                let (end_line, end_column) = lines.position(text, span.end.max(span.start));
                Position {
                    line,
                    column,
                    end_line,
                    end_column,
                }
            }
            Body::Unreadable(_) => Position {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            },
        }
    }

    /// The findings to write under `options` (errors first, each in source order), and how
    /// many are left out.
    pub(crate) fn shown<'a>(
        &'a self,
        options: &Options,
    ) -> (impl Iterator<Item = &'a Diagnostic> + 'a, usize) {
        let all = self.findings().map(Findings::len).unwrap_or(0);
        let cap = options.max_findings.unwrap_or(usize::MAX).min(all);
        let iter = self
            .findings()
            .into_iter()
            .flat_map(Findings::all)
            .take(cap);
        (iter, all - cap)
    }
}

/// Writes `reports` in `format` to `out`; stops at the first write error.
pub fn write(
    format: Format,
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(reports, options, out),
        Format::Json => json::write(reports, options, out),
        Format::Github => github::write(reports, options, out),
        Format::Sarif => sarif::write(reports, options, out),
    }
}

/// The note written where findings were left out.
fn omitted_note(omitted: usize) -> String {
    format!("{omitted} more finding(s) not shown; `--max-findings 0` shows all")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    fn report(findings: usize) -> FileReport {
        let mut f = Findings::default();
        for i in 0..findings {
            f.push(Diagnostic::warning(
                codes::UNUSED_HOST,
                "unused",
                Span::new(i, i + 1),
            ));
        }
        FileReport::new("p".into(), "x".repeat(findings + 1), f)
    }

    #[test]
    fn the_cap_counts_what_it_leaves_out() {
        let r = report(5);
        let options = Options {
            max_findings: Some(2),
            ..Options::default()
        };
        let (shown, omitted) = r.shown(&options);
        assert_eq!(shown.count(), 2);
        assert_eq!(omitted, 3);
        let all = Options {
            max_findings: None,
            ..options
        };
        let (shown, omitted) = r.shown(&all);
        assert_eq!((shown.count(), omitted), (5, 0));
    }

    #[test]
    fn verdict_names_denied_warnings() {
        let r = report(1);
        assert_eq!(r.verdict(&Options::default()), Verdict::Valid);
        let deny = Options {
            deny_warnings: true,
            ..Options::default()
        };
        assert_eq!(r.verdict(&deny), Verdict::WarningsDenied);
        assert_eq!(
            FileReport::unreadable("q".into(), "gone".into()).verdict(&deny),
            Verdict::Unreadable
        );
    }
}
