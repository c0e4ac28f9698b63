//! Command-line parsing and dispatch. Only this layer reads files and prints.

/// `print!` to standard output through [`emit`]: a closed pipe ends output quietly.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::emit(&format!($($arg)*))
    };
}

/// `println!` to standard output through [`emit`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod check;
mod diff;
mod engine;
mod fmt;
#[cfg(feature = "relay")]
mod keygen;
#[cfg(feature = "lsp")]
mod lsp;
mod output;
#[cfg(feature = "relay")]
mod ping;
#[cfg(feature = "relay")]
mod relay;
mod schema;

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::model::Dialect;

/// `--dialect`, the one definition every command that reads a policy flattens into its
/// arguments.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DialectArg {
    /// Whose rules decide: Tailscale's control plane, or Headscale's (the open-source
    /// control server).
    #[arg(long, value_enum, default_value_t = Dialect::Tailscale)]
    pub dialect: Dialect,
}

/// Offline compiler, validator and linter for Tailscale tailnet policy files.
#[derive(Debug, Parser)]
#[command(name = "tailgrant", version, about, long_about = None)]
pub struct Cli {
    /// The largest file (policy, tailnet, tests, key) any command reads, in bytes; a suffix
    /// K, M or G counts in KiB, MiB or GiB. A larger input is refused (exit 2) before it
    /// is parsed.
    #[arg(
        long,
        global = true,
        value_name = "BYTES",
        default_value = "32M",
        value_parser = parse_size
    )]
    max_input_size: u64,
    #[command(subcommand)]
    command: Command,
}

/// The `--max-input-size` of this run, set once by [`main`] before any command runs.
static MAX_INPUT: OnceLock<u64> = OnceLock::new();

/// Parses a size: a number of bytes, or a number followed by `K`, `M` or `G` (powers of
/// 1024, case-insensitive, an optional `iB`/`B` after it).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let unit_start = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(unit_start);
    let factor: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{t}` is not a size: give bytes, or a number with K, M or G"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{t}` is not a size: give bytes, or a number with K, M or G"))?;
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{t}` is too large"))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policy files: every error Tailscale would reject, and lints.
    Check(check::CheckArgs),
    /// Format policy files (HuJSON), keeping every comment.
    Fmt(fmt::FmtArgs),
    /// Compile a policy against a tailnet: per-node packet filters, or the decision table.
    Compile(engine::CompileArgs),
    /// Run the policy's `tests` and `sshTests` against a tailnet, each failure at its place.
    Test(engine::TestArgs),
    /// Explain what a source may do towards a destination, and which rules decide it.
    Explain(engine::ExplainArgs),
    /// Show who gained and who lost which access between two versions of a policy.
    Diff(diff::DiffArgs),
    /// Print the JSON Schema of the policy file (for editors), in a dialect's shape.
    Schema(DialectArg),
    /// Run the language server (Language Server Protocol on standard input and output).
    #[cfg(feature = "lsp")]
    Lsp,
    /// Run a peer relay that asks the policy on every allocation request.
    #[cfg(feature = "relay")]
    Relay(Box<relay::RelayArgs>),
    /// Allocate, bind and measure round trips through a relay.
    #[cfg(feature = "relay")]
    Ping(ping::PingArgs),
    /// Write a new disco private key and print its public key (or, with `--public`, print an existing key's).
    #[cfg(feature = "relay")]
    Keygen(keygen::KeygenArgs),
    /// Print shell completions for SHELL.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per subcommand into a directory.
    Man {
        /// Write `tailgrant.1`, `tailgrant-check.1`... into DIR (created if missing)
        /// instead of printing the main page.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

/// Exit status: 0 clean, 1 findings, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing to report.
    Clean,
    /// Errors, failed tests, or warnings with `--deny-warnings`.
    Findings,
    /// Bad usage or an unreadable file.
    Trouble,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        ExitCode::from(match s {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::Trouble => 2,
        })
    }
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Set once, here, before anything reads; a second set cannot happen.
    let _ = MAX_INPUT.set(cli.max_input_size);
    let status = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Compile(args) => engine::compile(&args),
        Command::Test(args) => engine::test(&args),
        Command::Explain(args) => engine::explain_cmd(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Schema(args) => schema::run(args.dialect),
        #[cfg(feature = "lsp")]
        Command::Lsp => lsp::run(),
        #[cfg(feature = "relay")]
        Command::Relay(args) => relay::run(&args),
        #[cfg(feature = "relay")]
        Command::Ping(args) => ping::run(&args),
        #[cfg(feature = "relay")]
        Command::Keygen(args) => keygen::run(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tailgrant", &mut text);
            emit(&String::from_utf8_lossy(&text));
            Status::Clean
        }
        Command::Man { dir } => man(dir.as_deref()),
    };
    if OUTPUT_FAILED.load(Ordering::Relaxed) {
        Status::Trouble.into()
    } else {
        status.into()
    }
}

/// Set once standard output is closed by its reader: later output is dropped.
static OUTPUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set once a write to standard output failed otherwise: the run ends with status 2.
static OUTPUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output. When the reader has closed it (`| head`), output ends
/// quietly, as `grep`'s does, and the command finishes with its own status; any other write
/// error (a full disk) is reported once and the run ends with status 2. Never panics, unlike
/// `print!`.
pub fn emit(text: &str) {
    if output_closed() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        output_failed(&e);
    }
}

/// True once standard output has been closed by its reader.
pub fn output_closed() -> bool {
    OUTPUT_CLOSED.load(Ordering::Relaxed)
}

/// Records a failed write to standard output (see [`emit`]).
pub fn output_failed(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        OUTPUT_CLOSED.store(true, Ordering::Relaxed);
    } else if !OUTPUT_FAILED.swap(true, Ordering::Relaxed) {
        OUTPUT_CLOSED.store(true, Ordering::Relaxed);
        let _ = writeln!(io::stderr(), "error: cannot write to standard output: {e}");
    }
}

/// `tailgrant man`: the main page on standard output, or every page into `dir`.
fn man(dir: Option<&Path>) -> Status {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        let mut text = Vec::new();
        return match clap_mangen::Man::new(cmd).render(&mut text) {
            Ok(()) => {
                emit(&String::from_utf8_lossy(&text));
                Status::Clean
            }
            Err(e) => fail(&format!("cannot write the man page: {e}")),
        };
    };
    let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
    match written {
        Ok(()) => {
            eprintln!("wrote the man pages to {}", dir.display());
            Status::Clean
        }
        Err(e) => fail(&format!(
            "cannot write the man pages to {}: {e}",
            dir.display()
        )),
    }
}

/// Prints an error about the run itself (not about a policy) and returns [`Status::Trouble`].
/// A closed standard error is ignored.
pub fn fail(message: &str) -> Status {
    let _ = writeln!(io::stderr(), "error: {message}");
    Status::Trouble
}

/// Reads a file, or standard input for `-`, refusing what is not a regular file and what is
/// larger than `--max-input-size` ([`tailgrant::fsutil::read_bounded`]).
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    tailgrant::fsutil::read_bounded(path, max_input()).map_err(|e| e.to_string())
}

/// The `--max-input-size` of this run.
pub fn max_input() -> u64 {
    MAX_INPUT
        .get()
        .copied()
        .unwrap_or(tailgrant::fsutil::DEFAULT_MAX_INPUT)
}

/// A policy file, read and checked.
pub struct CheckedPolicy {
    /// The path as given.
    pub path: String,
    /// The text (valid UTF-8 without a BOM).
    pub text: String,
    /// What `check` found, with the decoded policy.
    pub report: tailgrant::validate::Report,
}

impl CheckedPolicy {
    /// Prints findings in the human format, as `check` does, to `to`.
    pub fn print(&self, findings: tailgrant::diagnostic::Findings, to: FindingsTo) {
        show(
            to,
            output::Outcome::new(self.path.clone(), self.text.clone(), findings),
        );
    }
}

/// Where a command prints the findings about its input: `check` and `test` on standard
/// output (the findings are their report), the commands that answer from a policy
/// (`compile`, `explain`, `diff`) on standard error, so that their standard output holds the
/// answer alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsTo {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

fn show(to: FindingsTo, outcome: output::Outcome) {
    match to {
        FindingsTo::Stdout => output::print(output::Format::Human, &[outcome]),
        FindingsTo::Stderr => output::eprint(&[outcome]),
    }
}

pub use tailgrant::validate::is_test_failure;

/// Reads and checks a policy file exactly as `check` does (UTF-8, no BOM, then parse and
/// check). An unreadable file prints its error and gives [`Status::Trouble`]; a file that is
/// not text prints the diagnostic (to `to`) and gives [`Status::Findings`].
pub fn read_policy(
    path: &Path,
    tailnet: Option<&Tailnet>,
    dialect: Dialect,
    to: FindingsTo,
) -> Result<CheckedPolicy, Status> {
    let bytes = read_input(path).map_err(|e| fail(&e))?;
    let shown = path.display().to_string();
    match tailgrant::syntax::hujson::text_of(&bytes) {
        Ok(text) => {
            let report = tailgrant::validate::check_text(
                text,
                &tailgrant::validate::Options { tailnet, dialect },
            );
            Ok(CheckedPolicy {
                path: shown,
                text: text.to_string(),
                report,
            })
        }
        Err(d) => {
            let mut findings = tailgrant::diagnostic::Findings::default();
            findings.push(d);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            show(to, output::Outcome::new(shown, text, findings));
            Err(Status::Findings)
        }
    }
}

/// Reads a policy for a command that answers from it (`compile`, `explain`, `diff`). Its
/// errors are printed on standard error and give [`Status::Findings`]. Failing `tests` and
/// `sshTests` entries alone do not stop the answer: the control plane would refuse to save
/// such a policy, but what it grants is still well defined, and a reviewer wants to see it;
/// they are printed on standard error as warnings.
pub fn read_valid_policy(
    path: &Path,
    tailnet: Option<&Tailnet>,
    dialect: Dialect,
) -> Result<(CheckedPolicy, tailgrant::model::Validated), Status> {
    let mut checked = read_policy(path, tailnet, dialect, FindingsTo::Stderr)?;
    let errors = checked.report.findings.errors.clone();
    match std::mem::take(&mut checked.report).into_validated_rules() {
        Ok(policy) => {
            if !errors.is_empty() {
                let mut findings = tailgrant::diagnostic::Findings::default();
                for mut d in errors {
                    d.severity = tailgrant::diagnostic::Severity::Warning;
                    findings.push(d);
                }
                checked.print(findings, FindingsTo::Stderr);
                eprintln!(
                    "warning: {}: the policy's tests fail; answering for the policy as written (`tailgrant test` fails on them)",
                    checked.path
                );
            }
            Ok((checked, policy))
        }
        Err(findings) => {
            checked.print(findings, FindingsTo::Stderr);
            Err(Status::Findings)
        }
    }
}

/// Reads the `--tailnet` file.
pub fn read_tailnet(path: &Path) -> Result<Tailnet, String> {
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    Tailnet::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("32M"), Ok(32 << 20));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(
            parse_size("32M").ok(),
            Some(tailgrant::fsutil::DEFAULT_MAX_INPUT),
            "the documented default is the library's"
        );
    }

    #[test]
    fn a_size_that_is_not_one_is_refused() {
        for bad in ["", "M", "12T", "-1", "1.5M", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }
}
