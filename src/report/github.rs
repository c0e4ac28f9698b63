//! The github format: one workflow command per finding
//! (`::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`).

use super::{omitted_note, FileReport, Options};
use crate::diagnostic::Severity;
use std::io::{self, Write};

pub(super) fn write(
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    for report in reports {
        let file = escape_property(&report.path);
        if let Some(error) = report.read_error() {
            writeln!(
                out,
                "::error file={file},title=unreadable::{}",
                escape_data(error)
            )?;
            continue;
        }
        let (shown, omitted) = report.shown(options);
        for d in shown {
            let p = report.position(d.span);
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let mut message = d.message.clone();
            for r in &d.related {
                let at = report.position(r.span);
                message.push_str(&format!("\n{}:{}: {}", at.line, at.column, r.label));
            }
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            writeln!(
                out,
                "::{level} file={file},line={},col={},endLine={},endColumn={},title={}::{}",
                p.line,
                p.column,
                p.end_line,
                p.end_column,
                escape_property(d.code.id),
                escape_data(&message)
            )?;
        }
        if omitted > 0 {
            writeln!(
                out,
                "::notice file={file}::{}",
                escape_data(&omitted_note(omitted))
            )?;
        }
    }
    Ok(())
}

/// Escapes a workflow-command message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
