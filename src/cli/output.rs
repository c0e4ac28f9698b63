//! Printing reports of findings ([`tailgrant::report`]) to standard output.

use std::io::{self, IsTerminal, Write};
use tailgrant::report::{self, FileReport};

/// The output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Each finding with a snippet of its line (bounded), then a summary per file.
    Human,
    /// One JSON object (see the README for the contract).
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

impl From<Format> for report::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Human => Self::Human,
            Format::Json => Self::Json,
            Format::Github => Self::Github,
            Format::Sarif => Self::Sarif,
        }
    }
}

/// The findings of one file, with what is needed to place them.
pub type Outcome = FileReport;

/// True when the human format may use colours: standard output is a terminal and
/// `NO_COLOR` is not set.
pub fn color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Prints outcomes in `format` with the default options.
pub fn print(format: Format, outcomes: &[Outcome]) {
    let options = report::Options {
        color: color(),
        ..report::Options::default()
    };
    print_with(format, outcomes, &options);
}

/// Prints outcomes in the human format to standard error, for the commands whose standard
/// output is their answer (`diff`, `explain`, `compile`).
pub fn eprint(outcomes: &[Outcome]) {
    let options = report::Options {
        color: io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ..report::Options::default()
    };
    let stderr = io::stderr();
    let mut out = io::BufWriter::new(stderr.lock());
    // Standard error closed early: nothing more can be said anywhere.
    let _ = report::write(report::Format::Human, outcomes, &options, &mut out)
        .and_then(|()| out.flush());
}

/// Prints outcomes in `format` with `options`, as they are rendered (no whole document is
/// held in memory). A write error ends the output ([`super::output_failed`]).
pub fn print_with(format: Format, outcomes: &[Outcome], options: &report::Options) {
    if super::output_closed() {
        return;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written =
        report::write(format.into(), outcomes, options, &mut out).and_then(|()| out.flush());
    if let Err(e) = written {
        super::output_failed(&e);
    }
}
