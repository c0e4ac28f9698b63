//! `tailgrant diff`.

use super::{fail, read_tailnet, read_valid_policy, DialectArg, Status};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tailgrant::model::policy::Policy;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::tools::diff::{diff, Change, Kind, PolicyDiff};

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
    /// The tailnet: with it, changes are given per pair of nodes; without, per selector
    /// (groups, hosts and ipsets expanded).
    ///
    /// Read as a tailnet file (see the README), as `tailscale status --json`, or as Headscale's
    /// `headscale nodes list -o json`, alone or with its users list as
    /// `{"users": <users list -o json>, "nodes": <nodes list -o json>}`.
    #[arg(long, value_name = "FILE")]
    tailnet: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Exit 1 when a change takes access away: a port, capability, SSH login, approver or
    /// tag owner removed, or a node attribute that turns a feature off (`disable-*`) added.
    #[arg(long)]
    fail_on_removed: bool,
    /// Exit 1 when a rule opens access to `*`.
    #[arg(long)]
    fail_on_wildcard: bool,
    #[command(flatten)]
    dialect: DialectArg,
    /// The policy before.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The policy after.
    #[arg(value_name = "NEW")]
    new: PathBuf,
}

fn load(path: &Path, tailnet: Option<&Tailnet>, dialect: DialectArg) -> Result<Policy, Status> {
    // No report without both policies: a policy that cannot be read or is invalid exits 2,
    // so that 1 keeps meaning "a `--fail-on-*` condition holds".
    read_valid_policy(path, tailnet, dialect.dialect)
        .map(|(_, policy)| policy.into_policy())
        .map_err(|_| Status::Trouble)
}

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> Status {
    let tailnet = match args.tailnet.as_deref().map(read_tailnet).transpose() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let (old, new) = match (
        load(&args.old, tailnet.as_ref(), args.dialect),
        load(&args.new, tailnet.as_ref(), args.dialect),
    ) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(s), _) | (_, Err(s)) => return s,
    };
    let d = diff(&old, &new, tailnet.as_ref());
    let text = match args.format {
        DiffFormat::Text => text(&d),
        DiffFormat::Markdown => markdown(&d),
        DiffFormat::Json => match serde_json::to_string_pretty(&d) {
            Ok(s) => s + "\n",
            Err(e) => return fail(&format!("cannot encode the report: {e}")),
        },
    };
    out!("{text}");
    if (args.fail_on_removed && d.removes_access())
        || (args.fail_on_wildcard && !d.widened_to_wildcard.is_empty())
    {
        Status::Findings
    } else {
        Status::Clean
    }
}

/// The changes of one kind, in report order.
fn by_kind(d: &PolicyDiff) -> Vec<(Kind, Vec<&Change>)> {
    let mut out: Vec<(Kind, Vec<&Change>)> = Vec::new();
    for c in &d.changes {
        match out.last_mut() {
            Some((k, list)) if *k == c.kind => list.push(c),
            _ => out.push((c.kind, vec![c])),
        }
    }
    out
}

fn summary(d: &PolicyDiff) -> String {
    let removing = d.changes.iter().filter(|c| c.removes()).count();
    let by = if d.per_node {
        "per node"
    } else {
        "per selector"
    };
    format!(
        "{} change(s) in access {by}, {removing} taking access away",
        d.changes.len()
    )
}

fn text(d: &PolicyDiff) -> String {
    let mut out = String::new();
    if d.is_empty() {
        out.push_str("no change in access\n");
        return out;
    }
    let _ = writeln!(out, "{}", summary(d));
    for (kind, changes) in by_kind(d) {
        let _ = writeln!(out, "\n{}", kind.title());
        for c in changes {
            match &c.object {
                Some(dst) => {
                    let _ = writeln!(out, "  {} -> {dst}", c.subject);
                }
                None => {
                    let _ = writeln!(out, "  {}", c.subject);
                }
            }
            for (sign, list) in [("+", &c.added), ("-", &c.removed), ("~", &c.changed)] {
                for item in list {
                    let _ = writeln!(out, "    {sign} {item}");
                }
            }
        }
    }
    if !d.widened_to_wildcard.is_empty() {
        out.push_str("\nwidened to *\n");
        for w in &d.widened_to_wildcard {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

/// One item as inline code in a table cell (`|` escaped, as GitHub's tables need).
fn code(item: &str) -> String {
    let item = item.replace('|', "\\|");
    if item.contains('`') {
        format!("`` {item} ``")
    } else {
        format!("`{item}`")
    }
}

/// Items shown in one markdown cell; the rest are counted.
const CELL_ITEMS: usize = 50;

/// The length past which the markdown report stops adding rows: GitHub refuses a comment
/// longer than 65536 characters, and a report that cannot be posted helps nobody.
const MARKDOWN_BUDGET: usize = 60_000;

fn cell(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(CELL_ITEMS)
        .map(|i| code(i))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > CELL_ITEMS {
        let _ = write!(s, " and {} more", items.len() - CELL_ITEMS);
    }
    s
}

fn markdown(d: &PolicyDiff) -> String {
    let mut out = String::from("### Tailnet policy: change in access\n\n");
    if d.is_empty() {
        out.push_str("No change in access.\n");
        return out;
    }
    let _ = writeln!(out, "{}.", summary(d));
    let by = if d.per_node { "node" } else { "selector" };
    let mut left_out = 0;
    for (kind, changes) in by_kind(d) {
        if out.len() > MARKDOWN_BUDGET {
            left_out += changes.len();
            continue;
        }
        let mut title = kind.title().to_string();
        if let Some(first) = title.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let _ = writeln!(out, "\n#### {}\n", title.replace("Ssh", "SSH"));
        let head = match kind {
            Kind::Network => format!("| source ({by}) | destination ({by}) | gained | lost |"),
            Kind::Ssh => {
                format!("| source ({by}) | destination ({by}) | gained | lost | changed |")
            }
            Kind::NodeAttrs => format!("| {by} | added | removed |"),
            Kind::AutoApprovers => "| route | may now advertise | may no longer |".to_string(),
            Kind::TagOwners => "| tag | may now apply it | may no longer |".to_string(),
        };
        let columns = head.matches(" |").count();
        let _ = writeln!(out, "{head}\n|{}", "---|".repeat(columns));
        for c in changes {
            if out.len() > MARKDOWN_BUDGET {
                left_out += 1;
                continue;
            }
            let mut row = format!("| {} |", code(&c.subject));
            if let Some(dst) = &c.object {
                let _ = write!(row, " {} |", code(dst));
            }
            let _ = write!(row, " {} | {} |", cell(&c.added), cell(&c.removed));
            if kind == Kind::Ssh {
                let _ = write!(row, " {} |", cell(&c.changed));
            }
            let _ = writeln!(out, "{row}");
        }
    }
    if !d.widened_to_wildcard.is_empty() {
        out.push_str("\n**Widened to `*`:**\n\n");
        for w in d.widened_to_wildcard.iter().take(CELL_ITEMS) {
            let _ = writeln!(out, "- {}", code(w));
        }
        if d.widened_to_wildcard.len() > CELL_ITEMS {
            let _ = writeln!(
                out,
                "- and {} more",
                d.widened_to_wildcard.len() - CELL_ITEMS
            );
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n**{left_out} more change(s) not shown here** (a comment has a size limit): run `tailgrant diff` with `--format text` or `--format json` for all of them."
        );
    }
    out
}
