//! The sarif format: one SARIF 2.1.0 log with one run. Columns are Unicode code points
//! (`columnKind`); every rule carries its short and full description and a help URI; files
//! that could not be read and findings left out are tool execution notifications.

use super::{omitted_note, FileReport, Options, Position};
use crate::codes;
use crate::diagnostic::Diagnostic;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{self, Write};

pub(super) fn write(
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut rule_ids: Vec<&str> = reports
        .iter()
        .flat_map(|r| r.shown(options).0.map(|d| d.code.id))
        .collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids.iter().map(|id| rule(id)).collect();
    let mut notifications = Vec::new();
    for r in reports {
        let location = json!([{"physicalLocation": {"artifactLocation": {"uri": uri(&r.path)}}}]);
        if let Some(error) = r.read_error() {
            notifications
                .push(json!({"level": "error", "message": {"text": error}, "locations": location}));
        }
        let (_, omitted) = r.shown(options);
        if omitted > 0 {
            notifications.push(json!({"level": "note", "message": {"text": omitted_note(omitted)}, "locations": location}));
        }
    }
    let invocation = json!({
        "executionSuccessful": reports.iter().all(|r| r.read_error().is_none()),
        "toolExecutionNotifications": notifications,
    });
    let log = Log {
        tool: json!({"driver": {
            "name": "tailgrant",
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": "https://github.com/tailgrant/tailgrant",
            "rules": rules,
        }}),
        invocation,
        results: Results {
            reports,
            options,
            rule_ids: &rule_ids,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// The driver's description of one rule.
fn rule(id: &str) -> Value {
    let doc = codes::lookup(id);
    let short = doc.as_ref().map_or("", |d| d.summary);
    let full = doc
        .as_ref()
        .map_or(String::new(), codes::CodeDoc::full_text);
    let level = if id.starts_with("TG1") {
        "warning"
    } else {
        "error"
    };
    let mut rule = json!({
        "id": id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "helpUri": codes::help_uri(id),
        "defaultConfiguration": {"level": level},
    });
    if let (Some(name), Some(map)) = (doc.and_then(|d| d.name), rule.as_object_mut()) {
        map.insert("name".into(), Value::from(name));
    }
    rule
}

struct Log<'a> {
    tool: Value,
    invocation: Value,
    results: Results<'a>,
}

impl Serialize for Log<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("$schema", "https://json.schemastore.org/sarif-2.1.0.json")?;
        map.serialize_entry("version", "2.1.0")?;
        map.serialize_entry("runs", &[Run(self)])?;
        map.end()
    }
}

struct Run<'a>(&'a Log<'a>);

impl Serialize for Run<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("tool", &self.0.tool)?;
        map.serialize_entry("columnKind", "unicodeCodePoints")?;
        map.serialize_entry("invocations", &[&self.0.invocation])?;
        map.serialize_entry("results", &self.0.results)?;
        map.end()
    }
}

struct Results<'a> {
    reports: &'a [FileReport],
    options: &'a Options,
    rule_ids: &'a [&'a str],
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.reports.iter().flat_map(|r| {
            r.shown(self.options)
                .0
                .map(move |d| result(r, d, self.rule_ids))
        }))
    }
}

/// One finding as a SARIF result.
fn result(report: &FileReport, d: &Diagnostic, rule_ids: &[&str]) -> Value {
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str(". Help: ");
        text.push_str(help);
    }
    let related: Vec<Value> = d
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut loc = location(report, report.position(r.span));
            if let Some(map) = loc.as_object_mut() {
                map.insert("id".into(), Value::from(i));
                map.insert("message".into(), json!({"text": r.label}));
            }
            loc
        })
        .collect();
    let mut result = json!({
        "ruleId": d.code.id,
        "level": d.severity.as_str(),
        "message": {"text": text},
        "locations": [location(report, report.position(d.span))],
    });
    if let Some(map) = result.as_object_mut() {
        if let Ok(index) = rule_ids.binary_search(&d.code.id) {
            map.insert("ruleIndex".into(), Value::from(index));
        }
        if !related.is_empty() {
            map.insert("relatedLocations".into(), Value::from(related));
        }
    }
    result
}

fn location(report: &FileReport, p: Position) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(&report.path)},
        "region": {"startLine": p.line, "startColumn": p.column, "endLine": p.end_line, "endColumn": p.end_column}
    }})
}

/// The SARIF artifact URI of a path: relative paths as they are (code scanning resolves them
/// against the repository root), absolute ones as `file://` URIs, standard input as `stdin`.
fn uri(path: &str) -> String {
    match path {
        "-" => "stdin".to_string(),
        p if p.starts_with('/') => format!("file://{p}"),
        p => p.trim_start_matches("./").to_string(),
    }
}
