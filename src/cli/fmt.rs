//! `tailgrant fmt`.

use super::output::{self, Format, Outcome};
use super::Status;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tailgrant::diagnostic::Findings;
use tailgrant::fsutil::{read_bounded_stamped, replace_if_unchanged, FileStamp};
use tailgrant::syntax::fmt::{format, unified_diff};

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

/// Runs `fmt`. A file that cannot be read or written is reported and the others are still
/// formatted; the run then exits 2.
pub fn run(args: &FmtArgs) -> Status {
    // Only a run that writes files in place needs the handlers; one that reads standard
    // input keeps the default action, so that Ctrl-C stops a read that waits for input.
    let writes_in_place = !args.check && args.files.iter().all(|p| p != Path::new("-"));
    let interrupted = if writes_in_place {
        catch_signals()
    } else {
        Arc::new(AtomicBool::new(false))
    };
    let mut status = Status::Clean;
    for path in &args.files {
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("error: interrupted: the remaining files were left as they were");
            return Status::Trouble;
        }
        match format_one(path, args.check, &interrupted) {
            Ok(Status::Clean) => {}
            Ok(s) => status = worse(status, s),
            Err(message) => {
                eprintln!("error: {message}");
                status = Status::Trouble;
            }
        }
    }
    status
}

/// The worse of two statuses: trouble over findings over clean.
fn worse(a: Status, b: Status) -> Status {
    match (a, b) {
        (Status::Trouble, _) | (_, Status::Trouble) => Status::Trouble,
        (Status::Findings, _) | (_, Status::Findings) => Status::Findings,
        _ => Status::Clean,
    }
}

/// Formats one file (or standard input); `Err` is an I/O error to report.
fn format_one(path: &Path, check: bool, interrupted: &AtomicBool) -> Result<Status, String> {
    let (bytes, stamp) =
        read_bounded_stamped(path, super::max_input()).map_err(|e| e.to_string())?;
    let shown = path.display().to_string();
    let result =
        tailgrant::syntax::hujson::text_of(&bytes).and_then(|text| format(text).map(|f| (text, f)));
    let (text, formatted) = match result {
        Ok(pair) => pair,
        Err(d) => {
            let mut findings = Findings::default();
            findings.push(d);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            output::print(Format::Human, &[Outcome::new(shown, text, findings)]);
            return Ok(Status::Findings);
        }
    };
    if check {
        if text == formatted {
            return Ok(Status::Clean);
        }
        out!("{}", unified_diff(text, &formatted, &shown));
        return Ok(Status::Findings);
    }
    let Some(stamp) = stamp else {
        // Standard input: the formatted text goes to standard output.
        out!("{formatted}");
        return Ok(Status::Clean);
    };
    if text == formatted {
        return Ok(Status::Clean);
    }
    write(path, &formatted, &stamp, interrupted)?;
    eprintln!("formatted {shown}");
    Ok(Status::Clean)
}

fn write(
    path: &Path,
    formatted: &str,
    stamp: &FileStamp,
    interrupted: &AtomicBool,
) -> Result<(), String> {
    replace_if_unchanged(path, formatted.as_bytes(), stamp, interrupted).map_err(|e| e.to_string())
}

/// From here on SIGINT and SIGTERM set the returned flag instead of killing the process, so
/// that a file being written is either replaced whole or left as it was, with no temporary
/// file behind; a second signal ends the process at once (exit 2; the temporary file it may
/// leave is removed by the next run, see `tailgrant::fsutil`). Where the handlers cannot be
/// installed the signals keep their default action.
fn catch_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The shutdown must be registered first: it fires only once the flag is set.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 2, Arc::clone(&flag));
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}
