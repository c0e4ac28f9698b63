//! `tailgrant check`.

use super::output::{self, Format, Outcome};
use super::{fail, read_input, read_tailnet, DialectArg, Status};
use std::path::PathBuf;
use tailgrant::diagnostic::Findings;
use tailgrant::report::{self, Verdict};
use tailgrant::validate::{check_text, Options};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The tailnet (users and nodes) the policy is for; enables the tailnet-domain check,
    /// `tests` evaluation and node-aware lints.
    ///
    /// Read as a tailnet file (see the README), as `tailscale status --json`, or as Headscale's
    /// `headscale nodes list -o json`, alone or with its users list as
    /// `{"users": <users list -o json>, "nodes": <nodes list -o json>}`.
    #[arg(long, value_name = "FILE")]
    tailnet: Option<PathBuf>,
    #[command(flatten)]
    dialect: DialectArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Write at most N findings per file (errors first), then the count of the rest; 0 writes
    /// all.
    #[arg(long, value_name = "N", default_value_t = report::DEFAULT_MAX_FINDINGS)]
    max_findings: usize,
    /// Print the documentation of a diagnostic code (e.g. `TG0201`), or of every code with
    /// `all`, and exit.
    #[arg(long, value_name = "CODE")]
    explain: Option<String>,
    /// Silence the warnings of CODE (a lint, e.g. TG1003) in every file of this run;
    /// repeatable. Errors cannot be allowed: Tailscale rejects the policy all the same.
    #[arg(long, value_name = "CODE", value_parser = parse_allowed)]
    allow: Vec<String>,
    /// Policy files (`-` for standard input).
    #[arg(required_unless_present = "explain", value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Status {
    if let Some(code) = &args.explain {
        return explain(code);
    }
    let tailnet = match args.tailnet.as_deref().map(read_tailnet).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let options = Options {
        tailnet: tailnet.as_ref(),
        dialect: args.dialect.dialect,
    };
    // An unreadable file is reported (here and in the report) and the others still checked.
    let outcomes: Vec<Outcome> = args
        .files
        .iter()
        .map(|path| match read_input(path) {
            Ok(bytes) => check_bytes(path, &bytes, &options, &args.allow),
            Err(e) => {
                fail(&e);
                Outcome::unreadable(path.display().to_string(), e)
            }
        })
        .collect();
    let report_options = report::Options {
        max_findings: Some(args.max_findings).filter(|&n| n > 0),
        deny_warnings: args.deny_warnings,
        color: output::color(),
    };
    output::print_with(args.format, &outcomes, &report_options);
    let verdicts: Vec<Verdict> = outcomes
        .iter()
        .map(|o| o.verdict(&report_options))
        .collect();
    if verdicts.contains(&Verdict::Unreadable) {
        Status::Trouble
    } else if verdicts.iter().any(|v| *v != Verdict::Valid) {
        Status::Findings
    } else {
        Status::Clean
    }
}

/// Prints the documentation of `code` (`all`: every code, as in `docs/codes.md`).
fn explain(code: &str) -> Status {
    if code.eq_ignore_ascii_case("all") {
        super::emit(&tailgrant::codes::markdown());
        return Status::Clean;
    }
    match tailgrant::codes::lookup(code.trim()) {
        Some(doc) => {
            super::emit(&doc.markdown());
            Status::Clean
        }
        None => fail(&format!(
            "unknown diagnostic code `{code}`; `tailgrant check --explain all` lists every code"
        )),
    }
}

/// Checks one file's bytes; the warnings of the `allow`ed codes are dropped.
fn check_bytes(
    path: &std::path::Path,
    bytes: &[u8],
    options: &Options<'_>,
    allow: &[String],
) -> Outcome {
    let path = path.display().to_string();
    match tailgrant::syntax::hujson::text_of(bytes) {
        Err(d) => {
            let mut findings = Findings::default();
            findings.push(d);
            Outcome::new(path, String::from_utf8_lossy(bytes).into_owned(), findings)
        }
        Ok(text) => {
            let mut findings = check_text(text, options).findings;
            findings
                .warnings
                .retain(|d| !allow.iter().any(|a| a.as_str() == d.code));
            Outcome::new(path, text.to_string(), findings)
        }
    }
}

/// A code `--allow` accepts: a warning's.
fn parse_allowed(code: &str) -> Result<String, String> {
    use tailgrant::validate::suppress::{is_known, is_warning};
    let code = code.trim().to_ascii_uppercase();
    if !is_known(&code) {
        return Err(format!(
            "`{code}` is not a tailgrant code; the lints are TG1xxx"
        ));
    }
    if !is_warning(&code) {
        return Err(format!(
            "`{code}` is an error (Tailscale rejects the policy), so it cannot be allowed; only warnings can"
        ));
    }
    Ok(code)
}
