//! `tailgrant relay`: the peer-relay daemon, with the policy reloaded on SIGHUP and when
//! the policy or tailnet file changes.

use super::keygen::read_key;
use super::output::{self, Format, Outcome};
use super::{fail, read_input, Status};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tailgrant::model::tailnet::Tailnet;
use tailgrant::relay::daemon::{BoundRelay, Options, RelayHandle};
use tailgrant::relay::keys::{parse_public, public_text, DiscoKeyPair};
use tailgrant::relay::policy::{shared, LoadedPolicy, SharedPolicy};
use tailgrant::relay::server::ServerConfig;
use tailgrant::relay::table_policy::{input_hash, TablePolicy, TablePolicyError};
use tailgrant::span::LineIndex;

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

/// Reads one watched file: [`read_input`] (bounded; a FIFO, device or directory is refused
/// at once), or a stand-in in tests.
type ReadFile = dyn Fn(&Path) -> Result<Vec<u8>, String> + Send + Sync;

/// The two watched files and how they are read.
struct Source {
    policy: PathBuf,
    tailnet: PathBuf,
    node: String,
    read_file: Box<ReadFile>,
}

/// The texts of the policy and the tailnet file, read at one reload.
struct Inputs {
    policy: String,
    tailnet: String,
}

/// Modification time and length of the policy and the tailnet file, when they can be read.
type Stamp = [Option<(SystemTime, u64)>; 2];

/// A compile that failed: what to print or log.
struct LoadFailure {
    message: String,
    /// The hash of the inputs, when both files could be read.
    hash: Option<String>,
    /// The policy's text and findings, when the policy itself is at fault.
    findings: Option<(String, tailgrant::diagnostic::Findings)>,
}

impl Source {
    /// The files given on the command line, read with [`read_input`].
    fn new(policy: PathBuf, tailnet: PathBuf, node: String) -> Self {
        Self {
            policy,
            tailnet,
            node,
            read_file: Box::new(read_input),
        }
    }

    fn read(&self, path: &Path) -> Result<String, LoadFailure> {
        let failure = |message| LoadFailure {
            message,
            hash: None,
            findings: None,
        };
        let bytes = (self.read_file)(path).map_err(failure)?;
        String::from_utf8(bytes).map_err(|_| failure(format!("{}: not UTF-8", path.display())))
    }

    /// Reads both files.
    fn read_inputs(&self) -> Result<Inputs, LoadFailure> {
        Ok(Inputs {
            policy: self.read(&self.policy)?,
            tailnet: self.read(&self.tailnet)?,
        })
    }

    /// Reads both files and compiles them; `Ok(None)` when their hash is one of `skip`.
    /// The tailnet returned is the one the policy was compiled against (parsed once).
    fn load(
        &self,
        generation: u64,
        skip: &[&str],
    ) -> Result<Option<(LoadedPolicy, Tailnet)>, LoadFailure> {
        self.compile(self.read_inputs()?, generation, skip)
    }

    /// Compiles what [`read_inputs`](Self::read_inputs) read; `Ok(None)` when the inputs'
    /// hash is one of `skip`.
    fn compile(
        &self,
        inputs: Inputs,
        generation: u64,
        skip: &[&str],
    ) -> Result<Option<(LoadedPolicy, Tailnet)>, LoadFailure> {
        let Inputs { policy, tailnet } = inputs;
        let hash = input_hash(policy.as_bytes(), tailnet.as_bytes());
        if skip.contains(&hash.as_str()) {
            return Ok(None);
        }
        let (message, findings) =
            match TablePolicy::load_with_tailnet(&policy, &tailnet, &self.node, generation) {
                Ok(loaded) => return Ok(Some(loaded)),
                Err(TablePolicyError::InvalidPolicy { findings }) => (
                    format!("{}: the policy is not valid", self.policy.display()),
                    Some((policy, findings)),
                ),
                Err(e) => (format!("{}: {e}", self.tailnet.display()), None),
            };
        Err(LoadFailure {
            message,
            hash: Some(hash),
            findings,
        })
    }

    /// Modification time and length of both files: a cheap change detector.
    fn stamp(&self) -> Stamp {
        [&self.policy, &self.tailnet].map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
    }
}

impl LoadFailure {
    /// One line per error, `file:line:column: message`, for logs.
    fn lines(&self, policy_path: &Path) -> Vec<String> {
        let Some((text, findings)) = &self.findings else {
            return Vec::new();
        };
        let index = LineIndex::new(text);
        findings
            .errors
            .iter()
            .map(|d| {
                let (line, column) = index.position(text, d.span.start);
                format!("{}:{line}:{column}: {}", policy_path.display(), d.message)
            })
            .collect()
    }
}

/// Runs `relay` until SIGINT or SIGTERM.
pub fn run(args: &RelayArgs) -> Status {
    init_logging();
    let keys = match read_key(&args.key) {
        Ok(k) => k,
        Err(e) => return fail(&e),
    };
    let source = Source::new(args.policy.clone(), args.tailnet.clone(), args.node.clone());
    // Taken before the first read: a change made while it is read is seen by the first poll.
    let stamp = source.stamp();
    // The tailnet the first policy was compiled against also gives the listen and
    // static-endpoint defaults: one read, one parse, so both come from the same version.
    let (first, tailnet) = match source.load(1, &[]) {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return fail("internal: the first load was skipped"),
        Err(failure) => {
            if let Some((text, findings)) = failure.findings {
                let path = args.policy.display().to_string();
                output::print(Format::Human, &[Outcome::new(path, text, findings)]);
            }
            return fail(&format!("refusing to start the relay: {}", failure.message));
        }
    };
    warn_on_key_mismatch(&tailnet, &args.node, &keys);
    let options = args.options(&tailnet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let reload = Reload {
        poll: args.poll_interval,
        read_timeout: READ_TIMEOUT,
    };
    let status = runtime.block_on(serve(options, keys, first, source, stamp, reload));
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
    source: Source,
    stamp: Stamp,
    reload: Reload,
) -> Status {
    let policy = shared(first);
    let relay = match BoundRelay::bind(options, keys, policy.clone()).await {
        Ok(r) => r,
        Err(e) => {
            let cause = std::error::Error::source(&e).map(|c| format!(": {c}"));
            return fail(&format!("{e}{}", cause.unwrap_or_default()));
        }
    };
    // Printed for scripts and tests that start the relay on port 0.
    outln!("relay key {}", public_text(&relay.public_key()));
    for addr in relay.local_addrs() {
        outln!("relay listening on {addr}");
    }
    if let Some(addr) = relay.metrics_addr() {
        outln!("metrics listening on {addr}");
    }
    let reloader = tokio::spawn(reload_loop(
        source,
        stamp,
        policy,
        relay.handle(),
        reload,
        Hangup::new(),
    ));
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

/// Waits for SIGHUP (never completes where there is none).
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
    /// Hangups sent by a test instead of the signal.
    #[cfg(test)]
    sent: Option<tokio::sync::mpsc::UnboundedReceiver<()>>,
}

impl Hangup {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
            #[cfg(test)]
            sent: None,
        }
    }

    async fn recv(&mut self) {
        #[cfg(test)]
        if let Some(sent) = &mut self.sent {
            if sent.recv().await.is_some() {
                return;
            }
        }
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

/// How the reload loop runs.
#[derive(Debug, Clone, Copy)]
struct Reload {
    /// How often the files' modification times are looked at.
    poll: Duration,
    /// How long a read may take before it counts as failed ([`READ_TIMEOUT`]).
    read_timeout: Duration,
}

/// What a read job found: the files' stamp, and their texts when they were read.
type ReadOutcome = (Stamp, Option<Result<Inputs, LoadFailure>>);

/// Reloads on SIGHUP and when a file's modification time or length changes.
///
/// Polling, not inotify: configuration management and Kubernetes ConfigMaps replace files by
/// renaming or by swapping a symlink, which a watch on the file misses (and a watch on the
/// directory must then filter); two `stat` calls a second cost nothing, work on every
/// platform and file system (NFS included), and need no extra dependency. The content hash
/// then decides whether anything really changed.
///
/// Nothing here blocks the daemon: the `stat` calls and the reads run on the blocking pool
/// under [`Reload::read_timeout`], and the compile there too. A reload that cannot read
/// the files (refused, unreadable or stalled) keeps the last good policy and counts as
/// failed.
async fn reload_loop(
    source: Source,
    mut stamp: Stamp,
    policy: SharedPolicy,
    relay: RelayHandle,
    reload: Reload,
    mut hangup: Hangup,
) {
    let source = Arc::new(source);
    let mut tick = tokio::time::interval(reload.poll.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The hash of the last inputs tried, good or bad, so an unchanged broken file is not
    // logged every second.
    let mut last_tried = policy.load().hash.clone();
    // A read that outlived its timeout, with when it started.
    let mut stalled: Option<(tokio::task::JoinHandle<ReadOutcome>, Instant)> = None;
    // A SIGHUP that met a stalled read: the next read is forced too, so it is not lost.
    let mut pending_hangup = false;
    loop {
        let hung_up = tokio::select! {
            () = hangup.recv() => true,
            _ = tick.tick() => false,
        };
        let forced = hung_up || pending_hangup;
        if let Some((job, since)) = &stalled {
            if !job.is_finished() {
                pending_hangup |= hung_up;
                if hung_up {
                    relay.metrics().reload(false);
                    tracing::error!(
                        "reload failed, the last good policy stays: the read of the policy files started {:.1?} ago has not returned",
                        since.elapsed()
                    );
                }
                continue;
            }
            // Its result is stale: this tick reads again.
            stalled = None;
        }
        pending_hangup = false;
        let src = source.clone();
        let previous = stamp;
        let mut job = tokio::task::spawn_blocking(move || {
            let now = src.stamp();
            let changed = forced || now != previous;
            (now, changed.then(|| src.read_inputs()))
        });
        let read = match tokio::time::timeout(reload.read_timeout, &mut job).await {
            Ok(Ok((now, read))) => {
                stamp = now;
                read
            }
            Ok(Err(e)) => {
                relay.metrics().reload(false);
                tracing::error!(error = %e, "reload task failed, the last good policy stays");
                continue;
            }
            Err(_) => {
                relay.metrics().reload(false);
                tracing::error!(
                    "reload failed, the last good policy stays: reading {} and {} took longer than {:?} (a hung file system?)",
                    source.policy.display(),
                    source.tailnet.display(),
                    reload.read_timeout
                );
                stalled = Some((job, Instant::now()));
                // A forced read that stalled is forced again once the file system answers.
                pending_hangup = forced;
                continue;
            }
        };
        let Some(read) = read else {
            continue;
        };
        let current = policy.load_full();
        let generation = current.generation + 1;
        // Inputs equal to the loaded policy's are never recompiled; a file that failed is
        // tried again, and its diagnostics logged again, only on SIGHUP.
        let mut skip = vec![current.hash.clone()];
        if !forced {
            skip.push(last_tried.clone());
        }
        let src = source.clone();
        let outcome = match read {
            Ok(inputs) => tokio::task::spawn_blocking(move || {
                let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
                src.compile(inputs, generation, &skip)
            })
            .await
            .map_err(|e| e.to_string()),
            Err(failure) => Ok(Err(failure)),
        };
        match outcome {
            Ok(Ok(None)) => {
                tracing::debug!(forced, "policy inputs unchanged");
            }
            Ok(Ok(Some((loaded, _tailnet)))) => {
                last_tried = loaded.hash.clone();
                let hash = loaded.hash.clone();
                policy.store(Arc::new(loaded));
                // Revokes and counts the successful reload, once per policy.
                let closed = relay.apply_policy();
                tracing::info!(generation, %hash, closed, forced, "policy reloaded");
            }
            Ok(Err(failure)) => {
                relay.metrics().reload(false);
                if let Some(hash) = &failure.hash {
                    last_tried.clone_from(hash);
                }
                for line in failure.lines(&source.policy) {
                    tracing::error!("{line}");
                }
                tracing::error!(
                    generation = current.generation,
                    "reload failed, the last good policy stays: {}",
                    failure.message
                );
            }
            Err(e) => {
                relay.metrics().reload(false);
                tracing::error!(error = %e, "reload task failed, the last good policy stays");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
    fn one_load_gives_the_policy_and_the_tailnet_it_was_compiled_against() {
        let dir = tempfile::tempdir().unwrap();
        let source = Source::new(
            dir.path().join("policy.hujson"),
            dir.path().join("tailnet.json"),
            "relay".into(),
        );
        std::fs::write(&source.policy, "{}").unwrap();
        std::fs::write(&source.tailnet, TAILNET).unwrap();
        let (loaded, tailnet) = source.load(1, &[]).ok().flatten().unwrap();
        // The defaults come from the same read of the tailnet file as the policy's hash.
        assert_eq!(loaded.hash, input_hash(b"{}", TAILNET.as_bytes()));
        let o = parse(&[]).options(&tailnet);
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

    /// The files in `dir`, read by a stand-in that blocks while `stall` is set (at most
    /// 20 s), as a read on a hung network file system does.
    fn stalling_source(dir: &Path, stall: Arc<std::sync::atomic::AtomicBool>) -> Source {
        let mut source = Source::new(
            dir.join("policy.hujson"),
            dir.join("tailnet.json"),
            "relay".into(),
        );
        source.read_file = Box::new(move |path| {
            let until = Instant::now() + Duration::from_secs(20);
            while stall.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            read_input(path)
        });
        source
    }

    async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_read_keeps_the_last_good_policy_is_counted_once_and_blocks_nothing() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.hujson"), "{}").unwrap();
        std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
        let stall = Arc::new(AtomicBool::new(false));
        let source = stalling_source(dir.path(), stall.clone());
        let stamp = source.stamp();
        let (first, _) = source.load(1, &[]).ok().flatten().unwrap();
        let policy = shared(first);
        let options = Options {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            sockets_per_address: 1,
            ..Options::default()
        };
        let relay = BoundRelay::bind(
            options,
            DiscoKeyPair::from_secret_bytes([1; 32]),
            policy.clone(),
        )
        .await
        .unwrap();
        let metrics = relay.metrics();
        let reload = Reload {
            poll: Duration::from_millis(10),
            read_timeout: Duration::from_millis(100),
        };
        let reloader = tokio::spawn(reload_loop(
            source,
            stamp,
            policy.clone(),
            relay.handle(),
            reload,
            Hangup::new(),
        ));
        let failed = |n: usize| {
            metrics.encode().contains(&format!(
                "tailgrant_relay_policy_reloads_total{{reason=\"failed\"}} {n}"
            ))
        };

        stall.store(true, Ordering::SeqCst);
        std::fs::write(dir.path().join("policy.hujson"), r#"{"grants": []}"#).unwrap();
        wait_until("the stalled read to be counted", || failed(1)).await;
        assert_eq!(policy.load().generation, 1, "the last good policy stays");
        // The stalled read is counted once and no other read piles up behind it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(failed(1), "{}", metrics.encode());
        assert_eq!(policy.load().generation, 1);

        // Once the file system answers again, the change is applied.
        stall.store(false, Ordering::SeqCst);
        wait_until("the change to be applied", || policy.load().generation == 2).await;
        assert!(failed(1), "{}", metrics.encode());
        reloader.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sighup_that_meets_a_stalled_read_is_not_lost() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let policy_path = dir.path().join("policy.hujson");
        // Two policies of the same length: a rewrite with the old modification time put
        // back leaves the stamp unchanged, so only a forced reload can see it.
        let (old, new) = (r#"{"acls": [] }"#, r#"{"grants":[]}"#);
        assert_eq!(old.len(), new.len());
        std::fs::write(&policy_path, old).unwrap();
        std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
        let stall = Arc::new(AtomicBool::new(false));
        let source = stalling_source(dir.path(), stall.clone());
        let stamp = source.stamp();
        let (first, _) = source.load(1, &[]).ok().flatten().unwrap();
        let policy = shared(first);
        let relay = BoundRelay::bind(
            Options {
                listen: vec!["127.0.0.1:0".parse().unwrap()],
                sockets_per_address: 1,
                ..Options::default()
            },
            DiscoKeyPair::from_secret_bytes([1; 32]),
            policy.clone(),
        )
        .await
        .unwrap();
        let metrics = relay.metrics();
        let (send, sent) = tokio::sync::mpsc::unbounded_channel();
        let hangup = Hangup {
            sent: Some(sent),
            ..Hangup::new()
        };
        let reload = Reload {
            poll: Duration::from_millis(10),
            read_timeout: Duration::from_millis(100),
        };
        let reloader = tokio::spawn(reload_loop(
            source,
            stamp,
            policy.clone(),
            relay.handle(),
            reload,
            hangup,
        ));

        let modified = std::fs::metadata(&policy_path).unwrap().modified().unwrap();
        stall.store(true, Ordering::SeqCst);
        std::fs::write(&policy_path, new).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&policy_path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        send.send(()).unwrap();
        wait_until("the stalled forced read to be counted", || {
            metrics
                .encode()
                .contains("tailgrant_relay_policy_reloads_total{reason=\"failed\"} 1")
        })
        .await;
        assert_eq!(policy.load().generation, 1, "the last good policy stays");
        // The file system answers again: the forced reload is retried and sees the rewrite.
        stall.store(false, Ordering::SeqCst);
        wait_until("the rewrite to be applied", || {
            policy.load().generation == 2
        })
        .await;
        reloader.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fifo_at_the_policy_path_fails_the_reload_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let policy_path = dir.path().join("policy.hujson");
        std::fs::write(&policy_path, "{}").unwrap();
        std::fs::write(dir.path().join("tailnet.json"), TAILNET).unwrap();
        let source = Source::new(
            policy_path.clone(),
            dir.path().join("tailnet.json"),
            "relay".into(),
        );
        let stamp = source.stamp();
        let (first, _) = source.load(1, &[]).ok().flatten().unwrap();
        let policy = shared(first);
        let options = Options {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            sockets_per_address: 1,
            ..Options::default()
        };
        let relay = BoundRelay::bind(
            options,
            DiscoKeyPair::from_secret_bytes([1; 32]),
            policy.clone(),
        )
        .await
        .unwrap();
        let metrics = relay.metrics();
        let reload = Reload {
            poll: Duration::from_millis(10),
            // Far longer than the test waits: the refusal must not need it.
            read_timeout: Duration::from_secs(3600),
        };
        let reloader = tokio::spawn(reload_loop(
            source,
            stamp,
            policy.clone(),
            relay.handle(),
            reload,
            Hangup::new(),
        ));
        // Made beside it and renamed over it: one change, seen by one poll.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        std::fs::rename(&fifo, &policy_path).unwrap();
        wait_until("the refused read to be counted", || {
            metrics
                .encode()
                .contains("tailgrant_relay_policy_reloads_total{reason=\"failed\"} 1")
        })
        .await;
        assert_eq!(policy.load().generation, 1, "the last good policy stays");
        assert!(policy.load().valid);
        reloader.abort();
    }

    #[test]
    fn stopping_does_not_wait_for_a_stalled_read() {
        use std::sync::atomic::{AtomicBool, Ordering};
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
