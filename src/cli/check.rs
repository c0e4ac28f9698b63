//! `tailgrant check`.

use super::output::{self, Format, Outcome};
use super::{fail, read_input, read_tailnet, Status};
use std::path::PathBuf;
use tailgrant::check::{check_text, Options};
use tailgrant::diagnostic::Findings;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The tailnet (users and nodes) the policy is for; enables the tailnet-domain check,
    /// `tests` evaluation and node-aware lints.
    #[arg(long, value_name = "FILE")]
    tailnet: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Silence the warnings of CODE (a lint, e.g. TG1008) in every file of this run;
    /// repeatable. Errors cannot be allowed: Tailscale rejects the policy all the same.
    #[arg(long, value_name = "CODE", value_parser = parse_allowed)]
    allow: Vec<String>,
    /// Policy files (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Status {
    let tailnet = match args.tailnet.as_deref().map(read_tailnet).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let options = Options {
        tailnet: tailnet.as_ref(),
    };
    let mut outcomes = Vec::new();
    for path in &args.files {
        let bytes = match read_input(path) {
            Ok(b) => b,
            Err(e) => return fail(&e),
        };
        let mut outcome = check_bytes(path, &bytes, &options);
        outcome
            .findings
            .warnings
            .retain(|d| !args.allow.iter().any(|a| a == d.code));
        outcomes.push(outcome);
    }
    output::print(args.format, &outcomes);
    let failed = outcomes.iter().any(|o| {
        !o.findings.errors.is_empty() || (args.deny_warnings && !o.findings.warnings.is_empty())
    });
    if failed {
        Status::Findings
    } else {
        Status::Clean
    }
}

fn check_bytes(path: &std::path::Path, bytes: &[u8], options: &Options<'_>) -> Outcome {
    let path = path.display().to_string();
    match tailgrant::hujson::text_of(bytes) {
        Err(d) => {
            let mut findings = Findings::default();
            findings.push(d);
            Outcome::new(path, String::from_utf8_lossy(bytes).into_owned(), findings)
        }
        Ok(text) => Outcome::new(path, text.to_string(), check_text(text, options).findings),
    }
}

/// A code `--allow` accepts: a warning's.
fn parse_allowed(code: &str) -> Result<String, String> {
    use tailgrant::check::suppress::{is_known, is_warning};
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
