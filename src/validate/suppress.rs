//! Suppression comments: `// tailgrant-ignore TG1003: reason` silences the warnings of that
//! code that start on the comment's line or on the line after it.
//!
//! - Several codes may be named, separated by commas: `// tailgrant-ignore TG1001, TG1005: ...`.
//!   `/* tailgrant-ignore ... */` works the same; its line is the line where it starts.
//! - A reason after the colon is required: a suppression without one silences nothing and is
//!   reported ([`codes::INVALID_SUPPRESSION`]), so that every silenced finding says why in the file itself.
//! - Only warnings (the `TG1xxx` lints) can be silenced. An error is what Tailscale's control
//!   plane rejects the policy for: a comment does not make Tailscale accept it, so a
//!   suppression naming an error code is reported and the error stays.
//! - A suppression that silences nothing (its finding was fixed, or the code is misspelt) is
//!   reported ([`codes::UNUSED_SUPPRESSION`]), so that suppressions do not outlive their reason.
//!
//! The comments are found by a small scanner of their own: the parser's tree keeps no
//! comments, and a scanner that knows strings and comments is all that is needed (line
//! comments end at LF only, as in Tailscale's `hujson`).

use crate::codes;
use crate::diagnostic::{Diagnostic, Findings};
use crate::span::{LineIndex, Span};
use std::collections::HashMap;

/// The word that starts a suppression comment.
const MARKER: &str = "tailgrant-ignore";

/// One suppression comment.
struct Suppression<'t> {
    span: Span,
    /// 0-based line of the comment's start.
    line: usize,
    codes: Vec<&'t str>,
    /// Which of `codes` silenced something.
    used: Vec<bool>,
}

/// Removes from `findings` the warnings silenced by suppression comments in `text`, and adds
/// a warning for each suppression that is malformed, names an error, or silences nothing.
pub(crate) fn apply(text: &str, findings: &mut Findings) {
    // Every suppression names the marker: a text without it has none, and its findings are
    // only sorted (the common case, so no comment is looked for and no line is counted).
    if !text.contains(MARKER) {
        findings.sort();
        return;
    }
    let lines = LineIndex::new(text);
    let mut extra = Vec::new();
    let mut suppressions = Vec::new();
    for comment in comments(text) {
        match parse(&text[comment.start..comment.end]) {
            None => {}
            Some(Err(problem)) => extra.push(invalid(comment, problem)),
            Some(Ok(codes)) => suppressions.push(Suppression {
                span: comment,
                line: lines.line(comment.start),
                used: vec![false; codes.len()],
                codes,
            }),
        }
    }
    // (line, code) -> the suppressions that silence `code` on `line`.
    let mut by_line: HashMap<(usize, &str), Vec<(usize, usize)>> = HashMap::new();
    for (s, sup) in suppressions.iter().enumerate() {
        for (c, code) in sup.codes.iter().enumerate() {
            for line in [sup.line, sup.line + 1] {
                by_line.entry((line, code)).or_default().push((s, c));
            }
        }
    }
    findings.warnings.retain(|d| {
        let key = (lines.line(d.span.start), d.code.id);
        let Some(hits) = by_line.get(&key) else {
            return true;
        };
        for &(s, c) in hits {
            if let Some(used) = suppressions.get_mut(s).and_then(|s| s.used.get_mut(c)) {
                *used = true;
            }
        }
        false
    });
    for sup in &suppressions {
        for (code, used) in sup.codes.iter().zip(&sup.used) {
            if *used {
                continue;
            }
            extra.push(if !is_known(code) {
                invalid(sup.span, Problem::UnknownCode(code))
            } else if !is_warning(code) {
                invalid(sup.span, Problem::Error(code))
            } else {
                Diagnostic::warning(
                    codes::UNUSED_SUPPRESSION,
                    format!("this suppression of {code} silences nothing"),
                    sup.span,
                )
                .with_label("nothing to silence")
                .with_help(format!(
                    "no {code} finding starts on this line or the next: remove the code from the comment (or the comment)"
                ))
            });
        }
    }
    for d in extra {
        findings.push(d);
    }
    findings.sort();
}

/// Whether `code` is a warning's: a lint, or one of this module's. Only these are silenced.
pub fn is_warning(code: &str) -> bool {
    codes::ALL
        .iter()
        .any(|c| c.id == code && c.severity == codes::Severity::Warning)
}

/// Whether `code` is any code of tailgrant's.
pub fn is_known(code: &str) -> bool {
    codes::ALL.iter().any(|c| c.id == code)
}

/// What is wrong with a suppression.
enum Problem<'t> {
    NoReason,
    NoCode,
    UnknownCode(&'t str),
    Error(&'t str),
}

fn invalid(span: Span, problem: Problem<'_>) -> Diagnostic {
    let (message, help) = match problem {
        Problem::NoReason => (
            "this suppression gives no reason, so it silences nothing".to_string(),
            "say why after a colon: `// tailgrant-ignore TG1003: kept for the rule that comes back in May`"
                .to_string(),
        ),
        Problem::NoCode => (
            "this suppression names no code, so it silences nothing".to_string(),
            "name the codes to silence: `// tailgrant-ignore TG1003: reason`".to_string(),
        ),
        Problem::UnknownCode(code) => (
            format!("`{code}` is not a tailgrant code, so this suppression silences nothing"),
            "the code of each finding is printed with it; `TG1xxx` are the lints".to_string(),
        ),
        Problem::Error(code) => (
            format!("{code} is an error and cannot be silenced: Tailscale rejects the policy whatever the comment says"),
            "fix the error; only warnings (the `TG1xxx` lints) can be silenced".to_string(),
        ),
    };
    Diagnostic::warning(codes::INVALID_SUPPRESSION, message, span)
        .with_label("invalid suppression")
        .with_help(help)
}

/// Parses a comment (with its `//` or `/* */`): `None` when it is not a suppression, else its
/// codes or what is wrong with it.
fn parse(comment: &str) -> Option<Result<Vec<&str>, Problem<'_>>> {
    let body = comment.strip_prefix("//").or_else(|| {
        comment
            .strip_prefix("/*")
            .map(|c| c.strip_suffix("*/").unwrap_or(c))
    })?;
    let rest = body.trim_start().strip_prefix(MARKER)?;
    // `tailgrant-ignored` or `tailgrant-ignore-all` are other words.
    if !(rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == ':')) {
        return None;
    }
    let Some((codes, reason)) = rest.split_once(':') else {
        return Some(Err(Problem::NoReason));
    };
    let codes: Vec<&str> = codes
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|c| !c.is_empty())
        .collect();
    if codes.is_empty() {
        return Some(Err(Problem::NoCode));
    }
    if reason.trim().is_empty() {
        return Some(Err(Problem::NoReason));
    }
    Some(Ok(codes))
}

/// The spans of every comment in `text`, `//` ones without their line feed, as the exact
/// HuJSON parser finds them (a lone CR does not end a `//` comment).
///
/// Called only on text that parsed, where every byte outside a string that starts with `/`
/// starts a comment (a literal holds no `/`, and a string no unescaped `"`): one pass over the
/// bytes finds the same comments as the parser's tree, without building the tree again.
fn comments(text: &str) -> Vec<Span> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(&c) = b.get(n) {
        match c {
            b'"' => {
                n += 1;
                while let Some(&c) = b.get(n) {
                    n += if c == b'\\' { 2 } else { 1 };
                    if c == b'"' {
                        break;
                    }
                }
            }
            b'/' => {
                let (close, keep): (&[u8], usize) = match b.get(n + 1) {
                    Some(b'/') => (b"\n", 0),
                    Some(b'*') => (b"*/", 2),
                    _ => {
                        n += 1;
                        continue;
                    }
                };
                let body = b.get(n + 2..).unwrap_or_default();
                let end = body
                    .windows(close.len())
                    .position(|w| w == close)
                    .map_or(b.len(), |i| n + 2 + i + keep);
                out.push(Span::new(n, end));
                n = end + close.len() - keep;
            }
            _ => n += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Code;
    use crate::validate::{check_text, Options};

    /// The codes of the warnings `check` reports on `text`, in order.
    fn warnings(text: &str) -> Vec<&Code> {
        check_text(text, &Options::default())
            .findings
            .warnings
            .iter()
            .map(|d| d.code)
            .collect()
    }

    fn errors(text: &str) -> Vec<&Code> {
        check_text(text, &Options::default())
            .findings
            .errors
            .iter()
            .map(|d| d.code)
            .collect()
    }

    /// An unused group (TG1001, line 3) and a repeated grant (TG1005, line 7).
    const SAMPLE: &str = "{\n  \"groups\": {\n    \"group:a\": [\"alice@example.com\"],\n  },\n  \"grants\": [\n    {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]},\n    {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]},\n  ],\n}\n";

    /// `SAMPLE` with `comment` at the end of line `line` (1-based).
    fn with_comment(line: usize, comment: &str) -> String {
        let mut lines: Vec<String> = SAMPLE.lines().map(String::from).collect();
        lines[line - 1].push_str(&format!(" {comment}"));
        lines.join("\n") + "\n"
    }

    /// `SAMPLE` with `comment` on a line of its own before line `line` (1-based).
    fn with_comment_before(line: usize, comment: &str) -> String {
        let mut lines: Vec<String> = SAMPLE.lines().map(String::from).collect();
        lines.insert(line - 1, format!("    {comment}"));
        lines.join("\n") + "\n"
    }

    #[test]
    fn the_sample_has_the_findings_to_silence() {
        assert_eq!(
            warnings(SAMPLE),
            [codes::UNUSED_GROUP, codes::REDUNDANT_RULE]
        );
    }

    #[test]
    fn a_suppression_on_the_line_before_silences_that_code_only() {
        let text = with_comment_before(
            7,
            "// tailgrant-ignore TG1005: kept while the first is reviewed",
        );
        assert_eq!(warnings(&text), [codes::UNUSED_GROUP]);
        let text = with_comment_before(7, "// tailgrant-ignore TG1001: wrong code");
        assert_eq!(
            warnings(&text),
            [
                codes::UNUSED_GROUP,
                codes::UNUSED_SUPPRESSION,
                codes::REDUNDANT_RULE
            ]
        );
    }

    #[test]
    fn a_suppression_at_the_end_of_the_line_silences_it() {
        let text = with_comment(3, "// tailgrant-ignore TG1001: used by the next policy");
        assert_eq!(warnings(&text), [codes::REDUNDANT_RULE]);
        let block = with_comment(7, "/* tailgrant-ignore TG1005: kept */");
        assert_eq!(warnings(&block), [codes::UNUSED_GROUP]);
        let two = with_comment(
            6,
            "// tailgrant-ignore TG1005, TG1001: the line and the next",
        );
        assert_eq!(
            warnings(&two),
            [codes::UNUSED_GROUP, codes::UNUSED_SUPPRESSION]
        );
    }

    #[test]
    fn a_suppression_two_lines_above_silences_nothing() {
        let text = with_comment(5, "// tailgrant-ignore TG1005: too far");
        assert_eq!(
            warnings(&text),
            [
                codes::UNUSED_GROUP,
                codes::UNUSED_SUPPRESSION,
                codes::REDUNDANT_RULE
            ]
        );
    }

    #[test]
    fn a_suppression_without_a_reason_silences_nothing_and_says_so() {
        for comment in [
            "// tailgrant-ignore TG1005",
            "// tailgrant-ignore TG1005:",
            "// tailgrant-ignore TG1005:   ",
        ] {
            let text = with_comment(7, comment);
            let report = check_text(&text, &Options::default());
            let found: Vec<&Code> = report.findings.warnings.iter().map(|d| d.code).collect();
            assert_eq!(
                found,
                [
                    codes::UNUSED_GROUP,
                    codes::REDUNDANT_RULE,
                    codes::INVALID_SUPPRESSION
                ],
                "{comment}"
            );
            assert!(report.findings.warnings[2]
                .message
                .contains("gives no reason"));
        }
    }

    #[test]
    fn a_suppression_that_silences_nothing_is_reported() {
        let text = with_comment(7, "// tailgrant-ignore TG1005, TG1002: stale");
        let report = check_text(&text, &Options::default());
        let found: Vec<(&Code, &str)> = report
            .findings
            .warnings
            .iter()
            .map(|d| (d.code, d.message.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, codes::UNUSED_GROUP);
        assert_eq!(
            found[1],
            (
                codes::UNUSED_SUPPRESSION,
                "this suppression of TG1002 silences nothing"
            )
        );
    }

    #[test]
    fn an_error_cannot_be_silenced() {
        let text = "{\n  // tailgrant-ignore TG0201: we know\n  \"grants\": [{\"src\": [\"tag:ci\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}],\n}\n";
        assert_eq!(errors(text), [codes::TAG_NOT_FOUND]);
        let report = check_text(text, &Options::default());
        let invalid: Vec<&Diagnostic> = report
            .findings
            .warnings
            .iter()
            .filter(|d| d.code == codes::INVALID_SUPPRESSION)
            .collect();
        assert_eq!(invalid.len(), 1);
        assert!(invalid[0]
            .message
            .contains("TG0201 is an error and cannot be silenced"));
        assert!(
            !report.is_valid(),
            "a suppression made a rejected policy valid"
        );
    }

    #[test]
    fn an_unknown_code_is_reported() {
        let text = with_comment(7, "// tailgrant-ignore TG1800: typo");
        let report = check_text(&text, &Options::default());
        assert!(report
            .findings
            .warnings
            .iter()
            .any(|d| d.code == codes::INVALID_SUPPRESSION
                && d.message.contains("`TG1800` is not a tailgrant code")));
    }

    #[test]
    fn the_marker_inside_a_string_is_not_a_suppression() {
        let text = "{\"groups\": {\"group:a\": [\"// tailgrant-ignore TG1001: x\"]}}\n";
        assert!(comments(text).is_empty());
        let found = warnings(text);
        assert!(
            found.contains(&codes::UNUSED_GROUP) && !found.contains(&codes::UNUSED_SUPPRESSION),
            "{found:?}"
        );
    }

    #[test]
    fn other_words_are_not_suppressions() {
        assert!(parse("// tailgrant-ignored TG1003: x").is_none());
        assert!(parse("// see tailgrant-ignore TG1003: x").is_none());
        assert!(matches!(
            parse("// tailgrant-ignore: x"),
            Some(Err(Problem::NoCode))
        ));
    }

    /// The comments as the parser's tree holds them, `//` ones without their line feed.
    fn comments_of_the_tree(text: &str) -> Option<Vec<Span>> {
        let spans = crate::syntax::hujson::comments(text).ok()?;
        Some(
            spans
                .into_iter()
                .map(|s| match text.get(s.start..s.end) {
                    Some(c) if c.starts_with("//") => Span::new(s.start, s.end - 1),
                    _ => s,
                })
                .collect(),
        )
    }

    #[test]
    fn the_scanner_finds_the_comments_of_the_parsers_tree() {
        let mut texts: Vec<String> = [
            "{\"a\": \"//x\", /* b */ \"c\": [1, // d\n 2], // e\n}\n",
            "{\"a\\\"//\": \"\\\\\"/*x*/ /**/ /* / * */ [] //\r\r\n}// z\n",
            "/*//*/ {} //* y\n",
            "\"/\" // a\"b\n",
            SAMPLE,
        ]
        .map(String::from)
        .to_vec();
        for dir in [
            "fixtures",
            "fixtures/check",
            "fixtures/fmt",
            "policy-examples",
            "tests/lsp",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    texts.push(text);
                }
            }
        }
        let mut compared = 0;
        for text in &texts {
            if let Some(want) = comments_of_the_tree(text) {
                assert_eq!(comments(text), want, "{text}");
                compared += usize::from(!want.is_empty());
            }
        }
        assert!(
            compared >= 8,
            "only {compared} texts with comments compared"
        );
    }

    #[test]
    fn a_line_comment_ends_at_lf_only() {
        let spans = comments("// a\r\n{} /* b */ // c\n");
        assert_eq!(
            spans,
            [Span::new(0, 5), Span::new(9, 16), Span::new(17, 21)]
        );
    }
}
