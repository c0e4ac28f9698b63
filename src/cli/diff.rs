//! `tailgrant diff`.

use super::{fail, read_tailnet, read_valid_policy, Status};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tailgrant::diff::{diff, PolicyDiff};
use tailgrant::policy::Policy;
use tailgrant::tailnet::Tailnet;

/// Output of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Plain text.
    Text,
    /// Markdown, fit for a pull-request comment.
    Markdown,
    /// JSON.
    Json,
}

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The tailnet: with it, changes are given per pair of nodes; without, per selector.
    #[arg(long, value_name = "FILE")]
    tailnet: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Exit 1 when any access is removed.
    #[arg(long)]
    fail_on_removed: bool,
    /// Exit 1 when a rule opens access to `*`.
    #[arg(long)]
    fail_on_wildcard: bool,
    /// The policy before.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The policy after.
    #[arg(value_name = "NEW")]
    new: PathBuf,
}

fn load(path: &Path, tailnet: Option<&Tailnet>) -> Result<Policy, Status> {
    read_valid_policy(path, tailnet).map(|(_, policy)| policy)
}

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> Status {
    let tailnet = match args.tailnet.as_deref().map(read_tailnet).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let (old, new) = match (
        load(&args.old, tailnet.as_ref()),
        load(&args.new, tailnet.as_ref()),
    ) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(s), _) | (_, Err(s)) => return s,
    };
    let d = diff(&old, &new, tailnet.as_ref());
    let text = match args.format {
        DiffFormat::Text => text(&d),
        DiffFormat::Markdown => markdown(&d),
        DiffFormat::Json => serde_json::to_string_pretty(&d)
            .map(|s| s + "\n")
            .unwrap_or_default(),
    };
    out!("{text}");
    let removed = d.changes.iter().any(tailgrant::diff::Change::removes);
    if (args.fail_on_removed && removed)
        || (args.fail_on_wildcard && !d.widened_to_wildcard.is_empty())
    {
        Status::Findings
    } else {
        Status::Clean
    }
}

fn text(d: &PolicyDiff) -> String {
    let mut out = String::new();
    if d.changes.is_empty() && d.widened_to_wildcard.is_empty() {
        out.push_str("no change in access\n");
        return out;
    }
    for c in &d.changes {
        let _ = writeln!(out, "{} -> {}", c.src, c.dst);
        for (sign, list) in [
            ("+", &c.gained_caps),
            ("-", &c.lost_caps),
            ("+", &c.gained_ports),
            ("-", &c.lost_ports),
        ] {
            for item in list {
                let _ = writeln!(out, "  {sign} {item}");
            }
        }
    }
    for w in &d.widened_to_wildcard {
        let _ = writeln!(out, "widened to *: {w}");
    }
    out
}

fn markdown(d: &PolicyDiff) -> String {
    let mut out = String::from("### Tailnet policy: change in access\n\n");
    if d.changes.is_empty() && d.widened_to_wildcard.is_empty() {
        out.push_str("No change in access.\n");
        return out;
    }
    let by = if d.per_node { "node" } else { "selector" };
    let _ = writeln!(
        out,
        "| source ({by}) | destination ({by}) | gained | lost |"
    );
    out.push_str("|---|---|---|---|\n");
    let cell = |caps: &[String], ports: &[String]| {
        let items: Vec<String> = caps.iter().chain(ports).map(|i| format!("`{i}`")).collect();
        if items.is_empty() {
            "".to_string()
        } else {
            items.join(", ")
        }
    };
    for c in &d.changes {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            c.src,
            c.dst,
            cell(&c.gained_caps, &c.gained_ports),
            cell(&c.lost_caps, &c.lost_ports)
        );
    }
    if !d.widened_to_wildcard.is_empty() {
        out.push_str("\n**Widened to `*`:**\n\n");
        for w in &d.widened_to_wildcard {
            let _ = writeln!(out, "- `{w}`");
        }
    }
    out
}
