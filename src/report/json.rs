//! The json format: one object, `{"files": [{"path", "valid", "status", "diagnostics",
//! "omitted", "error"?}]}`, streamed to the writer (no document is built in memory).

use super::{FileReport, Options, Verdict};
use crate::diagnostic::Diagnostic;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::io::{self, Write};

pub(super) fn write(
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Doc { reports, options })?;
    writeln!(out)
}

struct Doc<'a> {
    reports: &'a [FileReport],
    options: &'a Options,
}

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        let files: Vec<File<'_>> = self
            .reports
            .iter()
            .map(|report| File {
                report,
                options: self.options,
            })
            .collect();
        map.serialize_entry("files", &files)?;
        map.end()
    }
}

struct File<'a> {
    report: &'a FileReport,
    options: &'a Options,
}

impl Serialize for File<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let verdict = self.report.verdict(self.options);
        let (_, omitted) = self.report.shown(self.options);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("path", &self.report.path)?;
        map.serialize_entry(
            "valid",
            &matches!(verdict, Verdict::Valid | Verdict::WarningsDenied),
        )?;
        map.serialize_entry("status", verdict.as_str())?;
        if let Some(error) = self.report.read_error() {
            map.serialize_entry("error", error)?;
        }
        map.serialize_entry("diagnostics", &Diagnostics(self))?;
        map.serialize_entry("omitted", &omitted)?;
        map.end()
    }
}

struct Diagnostics<'a>(&'a File<'a>);

impl Serialize for Diagnostics<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0.report;
        let (shown, _) = report.shown(self.0.options);
        s.collect_seq(shown.map(|d| Entry::new(report, d)))
    }
}

/// One diagnostic as written.
#[derive(Serialize)]
struct Entry<'a> {
    severity: &'static str,
    code: &'a str,
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    label: &'a str,
    help: Option<&'a str>,
    related: Vec<RelatedEntry<'a>>,
}

#[derive(Serialize)]
struct RelatedEntry<'a> {
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

impl<'a> Entry<'a> {
    fn new(report: &FileReport, d: &'a Diagnostic) -> Self {
        let p = report.position(d.span);
        Self {
            severity: d.severity.as_str(),
            code: d.code.id,
            message: &d.message,
            line: p.line,
            column: p.column,
            end_line: p.end_line,
            end_column: p.end_column,
            label: &d.label,
            help: d.help.as_deref(),
            related: d
                .related
                .iter()
                .map(|r| {
                    let p = report.position(r.span);
                    RelatedEntry {
                        message: &r.label,
                        line: p.line,
                        column: p.column,
                        end_line: p.end_line,
                        end_column: p.end_column,
                    }
                })
                .collect(),
        }
    }
}
