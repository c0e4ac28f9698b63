//! Output formats for findings. Each format is one [`Render`] implementation.

use serde_json::json;
use std::fmt::Write as _;
use tailgrant::diagnostic::{Diagnostic, Findings, Severity};
use tailgrant::span::LineIndex;

/// The output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphical report with the source snippet.
    Human,
    /// One JSON object (see the README for the contract).
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// The findings of one file, with what is needed to place them.
pub struct Outcome {
    /// The path as given.
    pub path: String,
    /// The file's text.
    pub text: String,
    /// What was found.
    pub findings: Findings,
    lines: LineIndex,
}

impl Outcome {
    /// Bundles a file's findings.
    pub fn new(path: String, text: String, findings: Findings) -> Self {
        let lines = LineIndex::new(&text);
        Self {
            path,
            text,
            findings,
            lines,
        }
    }

    /// 1-based (line, column, end line, end column) of a diagnostic.
    pub fn position(&self, d: &Diagnostic) -> (usize, usize, usize, usize) {
        let (line, column) = self.lines.position(&self.text, d.span.start);
        let (end_line, end_column) = self.lines.position(&self.text, d.span.end);
        (line, column, end_line, end_column)
    }
}

/// Renders a list of outcomes to a string.
trait Render {
    fn render(&self, outcomes: &[Outcome]) -> String;
}

/// Prints outcomes in `format` to standard output.
pub fn print(format: Format, outcomes: &[Outcome]) {
    print!("{}", render(format, outcomes));
}

/// Prints outcomes in the human format to standard error, for the commands whose standard
/// output is their answer (`diff`, `explain`, `compile`).
pub fn eprint(outcomes: &[Outcome]) {
    eprint!("{}", render(Format::Human, outcomes));
}

fn render(format: Format, outcomes: &[Outcome]) -> String {
    match format {
        Format::Human => Human.render(outcomes),
        Format::Json => Json.render(outcomes),
        Format::Github => Github.render(outcomes),
        Format::Sarif => Sarif.render(outcomes),
    }
}

struct Human;

/// A diagnostic with its file, for miette's graphical handler.
struct WithSource<'a> {
    diagnostic: &'a Diagnostic,
    source: miette::NamedSource<String>,
}

impl std::fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        miette::Diagnostic::code(self.diagnostic)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diagnostic)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        miette::Diagnostic::help(self.diagnostic)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diagnostic)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
}

impl Render for Human {
    fn render(&self, outcomes: &[Outcome]) -> String {
        let theme = if std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none()
        {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        for o in outcomes {
            for d in o.findings.all() {
                let report = WithSource {
                    diagnostic: d,
                    source: miette::NamedSource::new(&o.path, o.text.clone()),
                };
                if handler.render_report(&mut out, &report).is_err() {
                    let (line, column, ..) = o.position(d);
                    let _ = writeln!(
                        out,
                        "{}:{line}:{column}: {}: {}",
                        o.path,
                        d.severity.as_str(),
                        d.message
                    );
                }
                out.push('\n');
            }
            let (e, w) = (o.findings.errors.len(), o.findings.warnings.len());
            let verdict = if e == 0 { "valid" } else { "invalid" };
            let _ = writeln!(out, "{}: {verdict}, {e} error(s), {w} warning(s)", o.path);
        }
        out
    }
}

struct Json;

impl Render for Json {
    fn render(&self, outcomes: &[Outcome]) -> String {
        let files: Vec<_> = outcomes
            .iter()
            .map(|o| {
                let diagnostics: Vec<_> = o
                    .findings
                    .all()
                    .map(|d| {
                        let (line, column, end_line, end_column) = o.position(d);
                        json!({
                            "severity": d.severity.as_str(),
                            "code": d.code,
                            "message": d.message,
                            "line": line,
                            "column": column,
                            "end_line": end_line,
                            "end_column": end_column,
                            "help": d.help,
                        })
                    })
                    .collect();
                json!({"path": o.path, "valid": o.findings.errors.is_empty(), "diagnostics": diagnostics})
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&json!({ "files": files })).unwrap_or_default();
        s.push('\n');
        s
    }
}

struct Github;

/// Escapes a workflow-command message.
fn gh_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn gh_escape_property(s: &str) -> String {
    gh_escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl Render for Github {
    fn render(&self, outcomes: &[Outcome]) -> String {
        let mut out = String::new();
        for o in outcomes {
            for d in o.findings.all() {
                let (line, column, end_line, end_column) = o.position(d);
                let level = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let mut message = d.message.clone();
                if let Some(help) = &d.help {
                    message.push_str("\nhelp: ");
                    message.push_str(help);
                }
                let _ = writeln!(
                    out,
                    "::{level} file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
                    gh_escape_property(&o.path),
                    gh_escape_property(d.code),
                    gh_escape_data(&message)
                );
            }
        }
        out
    }
}

struct Sarif;

impl Render for Sarif {
    fn render(&self, outcomes: &[Outcome]) -> String {
        let mut rules: Vec<&str> = outcomes
            .iter()
            .flat_map(|o| o.findings.all().map(|d| d.code))
            .collect();
        rules.sort_unstable();
        rules.dedup();
        let results: Vec<_> = outcomes
            .iter()
            .flat_map(|o| {
                o.findings.all().map(move |d| {
                    let (line, column, end_line, end_column) = o.position(d);
                    let mut text = d.message.clone();
                    if let Some(help) = &d.help {
                        text.push_str(". Help: ");
                        text.push_str(help);
                    }
                    json!({
                        "ruleId": d.code,
                        "level": d.severity.as_str(),
                        "message": {"text": text},
                        "locations": [{"physicalLocation": {
                            "artifactLocation": {"uri": sarif_uri(&o.path)},
                            "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}
                        }}]
                    })
                })
            })
            .collect();
        let doc = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "tailgrant",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/tailgrant/tailgrant",
                    "rules": rules.iter().map(|id| json!({"id": id, "shortDescription": {"text": tailgrant::diagnostic::describe_code(id)}})).collect::<Vec<_>>()
                }},
                "results": results
            }]
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The SARIF artifact URI of a path: relative paths as they are (code scanning resolves them
/// against the repository root), absolute ones as `file://` URIs, standard input as `stdin`.
fn sarif_uri(path: &str) -> String {
    match path {
        "-" => "stdin".to_string(),
        p if p.starts_with('/') => format!("file://{p}"),
        p => p.trim_start_matches("./").to_string(),
    }
}
