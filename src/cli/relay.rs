//! `tailgrant relay`: a thin shell over the relay library. It maps the flags (and the relay
//! node's settings in the tailnet file) onto the daemon's [`Options`], refuses to start on a
//! policy with errors (printing them as `check` does), and runs the daemon with the
//! library's reload loop ([`Reloader`]: SIGHUP, file poll, never fail open) until SIGINT or
//! SIGTERM.

use super::keygen::read_key;
use super::output::{self, Format, Outcome};
use super::{fail, max_input, DialectArg, Status};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tailgrant::model::tailnet::Tailnet;
use tailgrant::relay::daemon::{BoundRelay, Options};
use tailgrant::relay::keys::{parse_public, public_text, DiscoKeyPair};
use tailgrant::relay::policy::{shared, LoadedPolicy};
use tailgrant::relay::reload::{FilesStamp, PolicyFiles, ReloadOptions, Reloader};
use tailgrant::relay::server::ServerConfig;

/// Arguments of `relay`.
///
/// These are not the library's [`Options`] themselves (the STYLE.md ideal) because several
/// defaults come from the tailnet file (the relay node's `relay.port` and
/// `static_endpoints`), so every flag here is "given or not" and is mapped onto
/// [`Options`] and [`ServerConfig`] in [`RelayArgs::options`].
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// The tailnet policy file (HuJSON). The relay never starts, and never swaps in, a
    /// policy with errors.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The tailnet file: users and nodes, each client node with its `disco_key`
    /// (`discokey:<64 hex>`), which is how an allocation request is mapped to a node.
    #[arg(long, value_name = "FILE")]
    tailnet: PathBuf,
    /// The relay's own node in the tailnet file: the policy is asked whether the requester
    /// holds `tailscale.com/cap/relay` towards it.
    #[arg(long, value_name = "NAME")]
    node: String,
    /// The relay's disco private key, as written by `tailgrant keygen`.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// UDP address to serve on (repeatable). Default: `0.0.0.0:PORT` and `[::]:PORT`, PORT
    /// being the node's `relay.port` in the tailnet file, or 7777. Port 0 picks a free one.
    /// A wildcard address advertises the machine's interface addresses with its port. A port
    /// that another process holds refuses the start.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Address advertised to clients before the bound ones (repeatable), for relays behind
    /// NAT or a load balancer; replaces the interface addresses of a wildcard listen
    /// address. Default: the node's `relay.static_endpoints`.
    #[arg(long = "static-endpoint", value_name = "IP:PORT")]
    static_endpoints: Vec<SocketAddr>,
    /// Serve Prometheus `/metrics`, `/healthz` and `/readyz` on this TCP address.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Write client addresses and keys in logs instead of `[redacted]`.
    #[arg(long)]
    log_addresses: bool,
    /// How often the policy and tailnet files are checked for changes.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    poll_interval: Duration,
    #[command(flatten)]
    dialect: DialectArg,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Limits and lifetimes; each defaults to Tailscale's value or a bound sized for a large
/// tailnet.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits and lifetimes")]
struct LimitArgs {
    /// How long a new endpoint waits for both legs to bind [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    bind_lifetime: Option<Duration>,
    /// How long a bound endpoint lives without traffic [default: 5m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    steady_state_lifetime: Option<Duration>,
    /// How often the bind challenge key rotates [default: 2m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    challenge_rotation: Option<Duration>,
    /// Endpoints in total [default: 100000].
    #[arg(long, value_name = "N")]
    max_endpoints: Option<usize>,
    /// Endpoints one requester may hold [default: 1000].
    #[arg(long, value_name = "N")]
    max_endpoints_per_node: Option<usize>,
    /// Allocation requests per second per sender [default: 10].
    #[arg(long, value_name = "RATE")]
    allocation_rate: Option<f64>,
    /// Allocation requests a sender may send in a burst [default: 20].
    #[arg(long, value_name = "N")]
    allocation_burst: Option<f64>,
    /// Senders whose shared key is cached [default: 65536].
    #[arg(long, value_name = "N")]
    key_cache: Option<usize>,
    /// Recent nonces remembered to drop replays [default: 65536].
    #[arg(long, value_name = "N")]
    replay_window: Option<usize>,
    /// SO_REUSEPORT sockets per listen address; 0 means min(16, CPUs) [default: 0].
    #[arg(long, value_name = "N")]
    sockets_per_address: Option<usize>,
    /// Kernel receive and send buffer per socket, in bytes [default: the system's].
    #[arg(long, value_name = "BYTES")]
    socket_buffer: Option<usize>,
    /// One datagram per system call instead of batches (recvmmsg, GRO, GSO).
    #[arg(long)]
    no_batched_io: bool,
    /// How often endpoints are expired and gauges refreshed [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    maintenance_interval: Option<Duration>,
    /// How often refused allocations are summarized in the log; in between, only the first
    /// refusal per client and reason is logged [default: 1m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    refusal_summary_interval: Option<Duration>,
}

/// Parses a Go-style duration (`500ms`, `30s`, `5m`, `1h30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let nanos = tailgrant::validate::check::duration::parse(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("duration {s:?} must be positive and below 584 years"))
}

impl RelayArgs {
    /// The daemon's options: flags first, then the relay node's settings in the tailnet.
    fn options(&self, tailnet: &Tailnet) -> Options {
        let settings = tailnet.nodes.get(&self.node).and_then(|n| n.relay.as_ref());
        let listen = if self.listen.is_empty() {
            let port = settings.map_or(7777, |s| s.port);
            vec![
                SocketAddr::from(([0, 0, 0, 0], port)),
                SocketAddr::from(([0u16; 8], port)),
            ]
        } else {
            self.listen.clone()
        };
        let static_endpoints = if self.static_endpoints.is_empty() {
            settings
                .map(|s| s.static_endpoints.clone())
                .unwrap_or_default()
        } else {
            self.static_endpoints.clone()
        };
        let mut o = Options {
            listen,
            static_endpoints,
            metrics: self.metrics,
            log_addresses: self.log_addresses,
            ..Options::default()
        };
        let l = &self.limits;
        let s: &mut ServerConfig = &mut o.server;
        set(&mut s.bind_lifetime, l.bind_lifetime);
        set(&mut s.steady_state_lifetime, l.steady_state_lifetime);
        set(&mut s.challenge_rotation, l.challenge_rotation);
        set(&mut s.max_endpoints, l.max_endpoints);
        set(&mut s.max_endpoints_per_node, l.max_endpoints_per_node);
        set(&mut s.allocation_rate, l.allocation_rate);
        set(&mut s.allocation_burst, l.allocation_burst);
        set(&mut s.key_cache_capacity, l.key_cache);
        set(&mut s.replay_window, l.replay_window);
        set(&mut o.sockets_per_address, l.sockets_per_address);
        set(&mut o.maintenance_interval, l.maintenance_interval);
        set(&mut o.refusal_summary_interval, l.refusal_summary_interval);
        o.socket_buffer = l.socket_buffer.or(o.socket_buffer);
        o.batched_io = !l.no_batched_io;
        o
    }
}

fn set<T>(field: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *field = v;
    }
}

/// Runs `relay` until SIGINT or SIGTERM.
pub fn run(args: &RelayArgs) -> Status {
    init_logging();
    let keys = match read_key(&args.key) {
        Ok(k) => k,
        Err(e) => return fail(&e),
    };
    let files = PolicyFiles::new(args.policy.clone(), args.tailnet.clone(), args.node.clone())
        .max_input(max_input())
        .with_dialect(args.dialect.dialect);
    // The tailnet the first policy was compiled against also gives the listen and
    // static-endpoint defaults: one read, one parse, so both come from the same version.
    let first = match files.load_first() {
        Ok(first) => first,
        Err(failure) => {
            let message = failure.message().to_owned();
            if let Some((text, findings)) = failure.into_findings() {
                let path = args.policy.display().to_string();
                output::print(Format::Human, &[Outcome::new(path, text, findings)]);
            }
            return fail(&format!("refusing to start the relay: {message}"));
        }
    };
    warn_on_key_mismatch(&first.tailnet, &args.node, &keys);
    let options = args.options(&first.tailnet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let reload = ReloadOptions {
        poll: args.poll_interval,
        read_timeout: READ_TIMEOUT,
        sighup: true,
    };
    let status = runtime.block_on(serve(
        options,
        keys,
        first.policy,
        files,
        first.stamp,
        reload,
    ));
    shut_down(runtime);
    status
}

/// How long a reload waits for the policy and tailnet files to be read (and their
/// modification times to be looked up). A read that takes longer, on a hung network file
/// system for instance, is counted as a failed reload; it is left to finish on its own
/// thread, and no other read starts until it has.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon waits, once stopped, for a file read still in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

/// Stops the runtime without waiting for a blocked file read: dropping a tokio runtime waits
/// for every blocking task, so a read stalled on a hung file system would keep the process
/// alive after SIGTERM.
fn shut_down(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAILGRANT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (never in the binary) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn warn_on_key_mismatch(tailnet: &Tailnet, node: &str, keys: &DiscoKeyPair) {
    let listed = tailnet.nodes.get(node).and_then(|n| n.disco_key.as_deref());
    if let Some(listed) = listed {
        if parse_public(listed).ok().as_ref() != Some(keys.public()) {
            tracing::warn!(
                node,
                key = %public_text(keys.public()),
                "the key file's public key is not the node's `disco_key` in the tailnet file"
            );
        }
    }
}

async fn serve(
    options: Options,
    keys: DiscoKeyPair,
    first: LoadedPolicy,
    files: PolicyFiles,
    stamp: FilesStamp,
    reload: ReloadOptions,
) -> Status {
    let policy = shared(first);
    let relay = match BoundRelay::bind(options, keys, policy.clone()).await {
        Ok(r) => r,
        Err(e) => {
            let cause = std::error::Error::source(&e).map(|c| format!(": {c}"));
            return fail(&format!("{e}{}", cause.unwrap_or_default()));
        }
    };
    // Made before the addresses are printed: SIGHUP is handled from then on.
    let reloader = Reloader::new(files, stamp, policy, relay.handle(), reload);
    // Printed for scripts and tests that start the relay on port 0.
    outln!("relay key {}", public_text(&relay.public_key()));
    for addr in relay.local_addrs() {
        outln!("relay listening on {addr}");
    }
    if let Some(addr) = relay.metrics_addr() {
        outln!("metrics listening on {addr}");
    }
    let reloader = tokio::spawn(reloader.run());
    let result = relay.serve(shutdown_signal()).await;
    reloader.abort();
    match result {
        Ok(()) => Status::Clean,
        Err(e) => fail(&e.to_string()),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use tailgrant::model::Dialect;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RelayArgs,
    }

    fn parse(extra: &[&str]) -> RelayArgs {
        let base = [
            "relay",
            "--policy",
            "p",
            "--tailnet",
            "t",
            "--node",
            "relay",
            "--key",
            "k",
        ];
        Wrapper::try_parse_from(base.iter().chain(extra))
            .unwrap()
            .args
    }

    const TAILNET: &str = r#"{"nodes": {"relay": {"ipv4": "100.64.0.3",
        "relay": {"port": 40000, "static_endpoints": ["203.0.113.7:40000"]}}}}"#;

    #[test]
    fn tailnet_settings_are_defaults_and_flags_win() {
        let t = Tailnet::from_text(TAILNET).unwrap();
        let o = parse(&[]).options(&t);
        assert_eq!(
            o.listen,
            [
                "0.0.0.0:40000".parse().unwrap(),
                "[::]:40000".parse().unwrap()
            ]
        );
        assert_eq!(o.static_endpoints, ["203.0.113.7:40000".parse().unwrap()]);
        let o = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--static-endpoint",
            "192.0.2.1:1",
        ])
        .options(&t);
        assert_eq!(o.listen, ["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(o.static_endpoints, ["192.0.2.1:1".parse().unwrap()]);
        let o = parse(&[]).options(&Tailnet::default());
        assert_eq!(o.listen[0].port(), 7777);
    }

    #[test]
    fn the_dialect_flag_reaches_the_policy_files() {
        assert_eq!(parse(&[]).dialect.dialect, Dialect::Tailscale);
        let args = parse(&["--dialect", "headscale"]);
        let files = PolicyFiles::new("p", "t", "relay").with_dialect(args.dialect.dialect);
        assert_eq!(files.dialect(), Dialect::Headscale);
    }

    #[test]
    fn one_load_gives_the_policy_and_the_defaults_from_the_same_tailnet() {
        let dir = tempfile::tempdir().unwrap();
        let files = PolicyFiles::new(
            dir.path().join("policy.hujson"),
            dir.path().join("tailnet.json"),
            "relay",
        );
        std::fs::write(files.policy_path(), "{}").unwrap();
        std::fs::write(files.tailnet_path(), TAILNET).unwrap();
        let first = files.load_first().unwrap();
        // The defaults come from the same read of the tailnet file as the policy's hash.
        assert_eq!(
            first.policy.hash,
            tailgrant::relay::table_policy::input_hash(b"{}", TAILNET.as_bytes())
        );
        let o = parse(&[]).options(&first.tailnet);
        assert_eq!(o.listen[0].port(), 40000);
        assert_eq!(o.static_endpoints, ["203.0.113.7:40000".parse().unwrap()]);
    }

    #[test]
    fn limit_flags_reach_the_config_and_documented_defaults_hold() {
        let t = Tailnet::default();
        let d = parse(&[]).options(&t);
        let s = ServerConfig::default();
        // The defaults written in the flag docs.
        assert_eq!(s.bind_lifetime, Duration::from_secs(30));
        assert_eq!(s.steady_state_lifetime, Duration::from_secs(300));
        assert_eq!(s.challenge_rotation, Duration::from_secs(120));
        assert_eq!(
            (s.max_endpoints, s.max_endpoints_per_node),
            (100_000, 1_000)
        );
        assert_eq!((s.allocation_rate, s.allocation_burst), (10.0, 20.0));
        assert_eq!((s.key_cache_capacity, s.replay_window), (65_536, 65_536));
        assert_eq!(d.maintenance_interval, Duration::from_secs(1));
        assert_eq!(d.refusal_summary_interval, Duration::from_secs(60));
        assert!(d.batched_io);
        let o = parse(&[
            "--bind-lifetime",
            "5s",
            "--max-endpoints",
            "7",
            "--allocation-rate",
            "0.5",
            "--maintenance-interval",
            "250ms",
            "--socket-buffer",
            "65536",
            "--no-batched-io",
        ])
        .options(&t);
        assert_eq!(o.server.bind_lifetime, Duration::from_secs(5));
        assert_eq!(o.server.max_endpoints, 7);
        assert_eq!(o.server.allocation_rate, 0.5);
        assert_eq!(o.maintenance_interval, Duration::from_millis(250));
        assert_eq!(o.socket_buffer, Some(65_536));
        assert!(!o.batched_io);
        assert!(Wrapper::try_parse_from(["relay", "--bind-lifetime", "-1s"]).is_err());
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn stopping_does_not_wait_for_a_stalled_read() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        runtime.spawn_blocking(move || {
            let _ = blocked.recv_timeout(Duration::from_secs(20));
            done.store(true, Ordering::SeqCst);
        });
        shut_down(runtime);
        assert!(
            !finished.load(Ordering::SeqCst),
            "the runtime waited for the blocked read"
        );
        drop(release);
    }
}
