//! `tailgrant compile`, `tailgrant test` and `tailgrant explain`: the grant engine's commands.

use super::output::{self, Format, Outcome};
use super::{
    fail, is_test_failure, read_input, read_policy, read_tailnet, read_valid_policy, DialectArg,
    FindingsTo, Status,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tailgrant::diagnostic::{Diagnostic, Findings};
use tailgrant::engine::table::DecisionTable;
use tailgrant::model::policy::Policy;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::span::{LineIndex, Span};
use tailgrant::tools::explain::{explain, Question};

/// A policy that passed `check`, with its tailnet.
struct Loaded {
    path: String,
    text: String,
    policy: tailgrant::model::Validated,
    tailnet: Tailnet,
}

/// Reads and checks a policy against a tailnet; prints the errors and returns the exit
/// status when it is not valid.
fn load(policy: &Path, tailnet: &Path, dialect: DialectArg) -> Result<Loaded, Status> {
    let tailnet = read_tailnet(tailnet).map_err(|e| fail(&e))?;
    let (checked, policy) = read_valid_policy(policy, Some(&tailnet), dialect.dialect)?;
    Ok(Loaded {
        path: checked.path,
        text: checked.text,
        policy,
        tailnet,
    })
}

fn print_diagnostics(path: &str, text: &str, diagnostics: Vec<Diagnostic>) {
    let mut findings = Findings::default();
    diagnostics.into_iter().for_each(|d| findings.push(d));
    output::print(
        Format::Human,
        &[Outcome::new(path.to_string(), text.to_string(), findings)],
    );
}

/// Output of `compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompileFormat {
    /// Per node: the packet filter Tailscale would push and the WhoIs capability maps (JSON).
    Tailcfg,
    /// The decision table in its versioned, checksummed binary form (needs `-o`).
    Table,
}

/// Arguments of `compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The tailnet (users and nodes).
    ///
    /// Read as a tailnet file (see the README), as `tailscale status --json`, or as Headscale's
    /// `headscale nodes list -o json`, alone or with its users list as
    /// `{"users": <users list -o json>, "nodes": <nodes list -o json>}`.
    #[arg(long, value_name = "FILE")]
    tailnet: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompileFormat::Tailcfg)]
    format: CompileFormat,
    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    #[command(flatten)]
    dialect: DialectArg,
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs `compile`.
pub fn compile(args: &CompileArgs) -> Status {
    let loaded = match load(&args.file, &args.tailnet, args.dialect) {
        Ok(l) => l,
        Err(s) => return s,
    };
    let bytes = match args.format {
        CompileFormat::Tailcfg => {
            let compiled = tailgrant::engine::compile::compile(&loaded.policy, &loaded.tailnet);
            match serde_json::to_string_pretty(&compiled) {
                Ok(mut s) => {
                    s.push('\n');
                    s.into_bytes()
                }
                Err(e) => return fail(&format!("cannot encode the filters: {e}")),
            }
        }
        CompileFormat::Table => {
            if args.output.is_none() {
                return fail("`--format table` writes a binary file: give it with `-o FILE`");
            }
            DecisionTable::build(&loaded.policy, &loaded.tailnet).to_bytes()
        }
    };
    match &args.output {
        Some(out) => match tailgrant::fsutil::write_atomic(out, &bytes) {
            Ok(()) => Status::Clean,
            Err(e) => fail(&format!("cannot write {}: {e}", out.display())),
        },
        None => {
            out!("{}", String::from_utf8_lossy(&bytes));
            Status::Clean
        }
    }
}

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The tailnet (users and nodes) the tests run against.
    ///
    /// Read as a tailnet file (see the README), as `tailscale status --json`, or as Headscale's
    /// `headscale nodes list -o json`, alone or with its users list as
    /// `{"users": <users list -o json>, "nodes": <nodes list -o json>}`.
    #[arg(long, value_name = "FILE")]
    tailnet: PathBuf,
    /// Relay and capability assertions (a sidecar file Tailscale never sees); by default
    /// `NAME.tests.hujson` beside a policy `NAME.hujson`, when it exists.
    #[arg(long, value_name = "FILE")]
    assertions: Option<PathBuf>,
    #[command(flatten)]
    dialect: DialectArg,
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// The sidecar of `policy`: `NAME.tests.hujson` beside `NAME.hujson` (or `NAME.json`).
fn default_sidecar(policy: &Path) -> Option<PathBuf> {
    let stem = policy.file_stem()?.to_str()?;
    let path = policy.with_file_name(format!("{stem}.tests.hujson"));
    path.is_file().then_some(path)
}

/// Runs the assertions of `sidecar` and prints the failures; returns how many failed, or
/// the exit status for a malformed file.
fn run_sidecar(
    sidecar: &Path,
    policy_path: &str,
    policy_text: &str,
    policy: &Policy,
    tailnet: &Tailnet,
) -> Result<usize, Status> {
    let bytes = read_input(sidecar).map_err(|e| fail(&e))?;
    let shown = sidecar.display().to_string();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let failures = match tailgrant::tools::assertions::run_assertions(policy, tailnet, &text) {
        Ok(f) => f,
        Err(d) => {
            print_diagnostics(&shown, &text, vec![d]);
            return Err(Status::Findings);
        }
    };
    let policy_lines = LineIndex::new(policy_text);
    let diagnostics: Vec<Diagnostic> = failures
        .iter()
        .map(|f| {
            tailgrant::tools::assertions::failure_diagnostic(f, |span| {
                let (l, c) = policy_lines.position(policy_text, span.start);
                format!("{policy_path}:{l}:{c}")
            })
        })
        .collect();
    let count = diagnostics.len();
    if count > 0 {
        print_diagnostics(&shown, &text, diagnostics);
    }
    Ok(count)
}

/// Runs `test`: the policy's `tests` and `sshTests`, each failure at its place.
pub fn test(args: &TestArgs) -> Status {
    let tailnet = match read_tailnet(&args.tailnet) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let checked = match read_policy(
        &args.file,
        Some(&tailnet),
        args.dialect.dialect,
        FindingsTo::Stdout,
    ) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let (path, text, report) = (checked.path.clone(), checked.text.clone(), &checked.report);
    let Some(policy) = report.policy() else {
        checked.print(report.findings.clone(), FindingsTo::Stdout);
        return Status::Findings;
    };
    let total = policy.tests.len() + policy.ssh_tests.len();
    let mut findings = report.findings.clone();
    findings.warnings.clear();
    let failing = findings
        .errors
        .iter()
        .filter(|d| is_test_failure(d))
        .count();
    let other = findings.errors.len() - failing;
    if !findings.errors.is_empty() {
        output::print(
            Format::Human,
            &[Outcome::new(path.clone(), text.clone(), findings)],
        );
    }
    let others = if other > 0 {
        format!(", {other} other error(s)")
    } else {
        String::new()
    };
    outln!("{path}: {total} test entries, {failing} failure(s){others}");
    let mut assertion_failures = 0;
    if let Some(sidecar) = args
        .assertions
        .clone()
        .or_else(|| default_sidecar(&args.file))
    {
        if other == 0 {
            match run_sidecar(&sidecar, &path, &text, policy, &tailnet) {
                Ok(n) => {
                    outln!("{}: {n} assertion failure(s)", sidecar.display());
                    assertion_failures = n;
                }
                Err(status) => return status,
            }
        }
    }
    if failing + other + assertion_failures > 0 {
        Status::Findings
    } else {
        Status::Clean
    }
}

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The tailnet (users and nodes).
    ///
    /// Read as a tailnet file (see the README), as `tailscale status --json`, or as Headscale's
    /// `headscale nodes list -o json`, alone or with its users list as
    /// `{"users": <users list -o json>, "nodes": <nodes list -o json>}`.
    #[arg(long, value_name = "FILE")]
    tailnet: PathBuf,
    /// The source: a node name or an address.
    #[arg(long, value_name = "NODE|IP")]
    src: String,
    /// The destination: a node name or an address.
    #[arg(long, value_name = "NODE|IP")]
    dst: String,
    /// Ask about this capability (e.g. `tailscale.com/cap/relay`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["port", "relay"])]
    cap: Option<String>,
    /// Ask about this protocol and port (e.g. `tcp:443`, `udp:53`, `icmp:*`).
    #[arg(long, value_name = "PROTO:N", conflicts_with = "relay")]
    port: Option<String>,
    /// Ask whether the source may use the destination as its peer relay, with the whole
    /// checklist.
    #[arg(long)]
    relay: bool,
    #[command(flatten)]
    dialect: DialectArg,
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn parse_port_question(s: &str) -> Result<Question, String> {
    let (protos, port) = tailgrant::model::selector::parse_port_query(s)?;
    let proto = protos
        .first()
        .copied()
        .ok_or_else(|| format!("no protocol in `{s}`"))?;
    Ok(Question::Port { proto, port })
}

/// Runs `explain`.
pub fn explain_cmd(args: &ExplainArgs) -> Status {
    let question = if args.relay {
        Question::Relay
    } else if let Some(cap) = &args.cap {
        Question::Cap(cap.clone())
    } else if let Some(port) = &args.port {
        match parse_port_question(port) {
            Ok(q) => q,
            Err(e) => return fail(&e),
        }
    } else {
        Question::Any
    };
    // No answer from a policy that cannot be read or is invalid: exit 2, so that 1 keeps
    // meaning "denied".
    let Ok(loaded) = load(&args.file, &args.tailnet, args.dialect) else {
        return Status::Trouble;
    };
    let table = DecisionTable::build(&loaded.policy, &loaded.tailnet);
    let e = match explain(
        &loaded.policy,
        &loaded.tailnet,
        &table,
        &args.src,
        &args.dst,
        &question,
    ) {
        Ok(e) => e,
        Err(msg) => return fail(&msg),
    };
    let lines = LineIndex::new(&loaded.text);
    let place = |span: Span| {
        let (line, col) = lines.position(&loaded.text, span.start);
        let snippet = loaded.text.get(span.start..span.end).unwrap_or("");
        format!("{}:{line}:{col}  {}", loaded.path, one_line(snippet, 100))
    };
    let who = |p: &tailgrant::tools::explain::Party| match &p.node {
        Some(n) => format!("{n} ({})", p.addr),
        None => p.addr.to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(out, "src:      {}", who(&e.src));
    let _ = writeln!(out, "dst:      {}", who(&e.dst));
    let asked = match &question {
        Question::Any => "any access".to_string(),
        Question::Port { .. } => format!("port {}", args.port.as_deref().unwrap_or("")),
        Question::Cap(c) => format!("capability {c}"),
        Question::Relay => "peer relay".to_string(),
    };
    let _ = writeln!(out, "question: {asked}");
    let _ = writeln!(
        out,
        "decision: {}",
        if e.allowed { "allowed" } else { "denied" }
    );
    if e.caps.is_empty() {
        let _ = writeln!(out, "capabilities: none");
    } else {
        let _ = writeln!(out, "capabilities:");
        for (name, value) in &e.caps {
            let _ = writeln!(out, "  {name}: {value}");
        }
    }
    if e.origins.is_empty() {
        let _ = writeln!(
            out,
            "rules: no grant or ACL entry gives the source anything towards the destination"
        );
    } else {
        let _ = writeln!(out, "rules:");
        for span in &e.origins {
            let _ = writeln!(out, "  {}", place(*span));
        }
    }
    if !e.relay_checklist.is_empty() {
        let _ = writeln!(out, "relay checklist:");
        for item in &e.relay_checklist {
            let _ = writeln!(
                out,
                "  [{}] {}",
                if item.ok { "ok" } else { "FAIL" },
                item.what
            );
            for span in &item.spans {
                let _ = writeln!(out, "         {}", place(*span));
            }
        }
    }
    out!("{out}");
    if e.allowed {
        Status::Clean
    } else {
        Status::Findings
    }
}

/// The text on one line, comments dropped and whitespace collapsed, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let without_comments: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') || l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let collapsed = without_comments
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.chars().count() > max {
        let cut: String = collapsed.chars().take(max).collect();
        format!("{cut}...")
    } else {
        collapsed
    }
}
