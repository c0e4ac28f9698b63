//! `tailgrant ping`: allocate, bind both legs and measure round trips through a relay; when
//! the allocation goes unanswered, ask the policy why.

use super::keygen::read_key;
use super::relay::parse_duration;
use super::{fail, read_input, read_tailnet, Status};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tailgrant::relay::keys::parse_public;
use tailgrant::relay::ping::{ping, PingError, PingOptions, PingReport};
use tailgrant::relay::table_policy::TablePolicy;
use tailgrant::span::LineIndex;

/// Arguments of `ping`.
#[derive(Debug, clap::Args)]
pub struct PingArgs {
    /// The relay's UDP address.
    #[arg(long, value_name = "ADDR")]
    relay: SocketAddr,
    /// The relay's disco public key (`discokey:<64 hex>`, printed by `keygen` and by the
    /// relay at start). Default: the `disco_key` of `--node` in `--tailnet`.
    #[arg(long, value_name = "KEY")]
    relay_key: Option<String>,
    /// Private key file of the first client, which requests the allocation.
    #[arg(long, value_name = "FILE")]
    key_a: PathBuf,
    /// Private key file of the second client.
    #[arg(long, value_name = "FILE")]
    key_b: PathBuf,
    /// Round trips to measure.
    #[arg(long, value_name = "N", default_value_t = 5)]
    count: usize,
    /// How long to wait for each answer.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    timeout: Duration,
    /// Attempts per handshake step before giving up.
    #[arg(long, value_name = "N", default_value_t = 3)]
    attempts: usize,
    /// The relay's policy file: with `--tailnet` and `--node`, an unanswered allocation is
    /// explained by asking the decision table locally.
    #[arg(long, value_name = "FILE", requires_all = ["tailnet", "node"])]
    policy: Option<PathBuf>,
    /// The tailnet file (disco keys of the clients and of the relay).
    #[arg(long, value_name = "FILE")]
    tailnet: Option<PathBuf>,
    /// The relay's node in the tailnet file.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
}

/// Runs `ping`: 0 when round trips came back, 1 when the ping failed, 2 on bad usage.
pub fn run(args: &PingArgs) -> Status {
    let (a, b) = match (read_key(&args.key_a), read_key(&args.key_b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let relay_key = match relay_key(args) {
        Ok(k) => k,
        Err(e) => return fail(&e),
    };
    let options = PingOptions {
        relay: args.relay,
        relay_key,
        count: args.count,
        timeout: args.timeout,
        attempts: args.attempts,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let requester = *a.public();
    match runtime.block_on(ping(&options, a, b)) {
        Ok(report) => {
            print_report(args, &report);
            Status::Clean
        }
        Err(e) => {
            outln!("ping failed: {e}");
            if matches!(e, PingError::NoAllocation) {
                if let Some(why) = explain(args, &requester) {
                    outln!("{why}");
                }
            }
            Status::Findings
        }
    }
}

fn relay_key(args: &PingArgs) -> Result<[u8; 32], String> {
    if let Some(text) = &args.relay_key {
        return parse_public(text).map_err(|e| format!("--relay-key: {e}"));
    }
    let (Some(tailnet), Some(node)) = (&args.tailnet, &args.node) else {
        return Err("give --relay-key, or --tailnet and --node to read it from".into());
    };
    let t = read_tailnet(tailnet)?;
    let listed = t
        .nodes
        .get(node)
        .ok_or_else(|| format!("relay node `{node}` is not in {}", tailnet.display()))?
        .disco_key
        .as_deref()
        .ok_or_else(|| format!("node `{node}` has no `disco_key`: give --relay-key"))?;
    parse_public(listed).map_err(|e| format!("node `{node}`: {e}"))
}

fn millis(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".into(),
        |d| format!("{:.3} ms", d.as_secs_f64() * 1e3),
    )
}

fn print_report(args: &PingArgs, report: &PingReport) {
    outln!(
        "allocated vni {} on {} ({} advertised address(es))",
        report.endpoint.vni,
        args.relay,
        report.endpoint.addr_ports.len()
    );
    outln!(
        "{}/{} round trips, {} lost: min {}, median {}, p99 {}",
        report.rtts.len(),
        args.count,
        report.lost,
        millis(report.quantile(0.0)),
        millis(report.quantile(0.5)),
        millis(report.quantile(0.99)),
    );
}

/// The policy's view of an unanswered allocation, when the policy files were given.
fn explain(args: &PingArgs, requester: &[u8; 32]) -> Option<String> {
    let (policy_path, tailnet_path, node) = (
        args.policy.as_ref()?,
        args.tailnet.as_ref()?,
        args.node.as_ref()?,
    );
    let result = read_text(policy_path).and_then(|policy| {
        let tailnet = read_tailnet(tailnet_path)?;
        let table = TablePolicy::build(&policy, &tailnet, node)
            .map_err(|e| format!("cannot ask the policy: {e}"))?;
        Ok((policy, table))
    });
    let (text, table) = match result {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let why = table.explain(requester);
    if why.node.is_none() {
        return Some(format!(
            "denied: the public key of {} is no node's `disco_key` in {}",
            args.key_a.display(),
            tailnet_path.display()
        ));
    }
    let index = LineIndex::new(&text);
    let places: Vec<String> = why
        .grants
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                policy_path.display(),
                index.position(&text, s.start).0
            )
        })
        .collect();
    let places = places.join(", ");
    Some(match why.decision {
        Err(denial) if places.is_empty() => {
            format!("denied by policy: {denial}, no relay grant in the policy")
        }
        Err(denial) => format!("denied by policy: {denial}, grants considered at {places}"),
        Ok(()) => format!(
            "the policy allows `{}` (granted at {places}): the relay did not answer; check \
             --relay, --relay-key and the relay's log (rate and endpoint limits)",
            why.node.unwrap_or_default(),
        ),
    })
}

fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_input(path)?).map_err(|_| format!("{}: not UTF-8", path.display()))
}
