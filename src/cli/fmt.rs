//! `tailgrant fmt`.

use super::output::{self, Format, Outcome};
use super::{fail, read_input, Status};
use std::path::{Path, PathBuf};
use tailgrant::diagnostic::Findings;
use tailgrant::fmt::{format, unified_diff};

/// Arguments of `fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Do not write: print a diff of what would change and exit 1 if anything would.
    #[arg(long)]
    check: bool,
    /// Policy files to format in place (`-` formats standard input to standard output).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `fmt`.
pub fn run(args: &FmtArgs) -> Status {
    let mut status = Status::Clean;
    for path in &args.files {
        let bytes = match read_input(path) {
            Ok(b) => b,
            Err(e) => return fail(&e),
        };
        let shown = path.display().to_string();
        let result =
            tailgrant::hujson::text_of(&bytes).and_then(|text| format(text).map(|f| (text, f)));
        let (text, formatted) = match result {
            Ok(pair) => pair,
            Err(d) => {
                let mut findings = Findings::default();
                findings.push(d);
                let text = String::from_utf8_lossy(&bytes).into_owned();
                output::print(Format::Human, &[Outcome::new(shown, text, findings)]);
                status = Status::Findings;
                continue;
            }
        };
        if args.check {
            if text != formatted {
                out!("{}", unified_diff(text, &formatted, &shown));
                status = Status::Findings;
            }
        } else if path == Path::new("-") {
            out!("{formatted}");
        } else if text != formatted {
            if let Err(e) = tailgrant::fsutil::write_atomic(path, formatted.as_bytes()) {
                return fail(&format!("cannot write {shown}: {e}"));
            }
            eprintln!("formatted {shown}");
        }
    }
    status
}
