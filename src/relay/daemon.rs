//! The relay daemon: a thin tokio shell around [`RelayServer`]. Several
//! `SO_REUSEPORT` UDP sockets per address family each run a receive loop that
//! hands datagrams to the core and sends what it says; a maintenance task
//! expires endpoints, refreshes gauges and, when the shared policy has been
//! swapped without [`RelayHandle::apply_policy`], applies it: closes the
//! endpoints the new policy no longer allows. Each stored policy is applied
//! (revoked, counted as a reload) exactly once, by whichever comes first; the
//! socket loops read the policy under the core's lock and apply a new one
//! before their first decision with it, so no allocation is ever decided by
//! a policy older than the last revocation.
//!
//! With [`Options::batched_io`] (the default) each loop receives up to
//! [`quinn_udp::BATCH_SIZE`] datagrams per system call (`recvmmsg`, and GRO
//! trains where the kernel coalesces), hands them to the core one by one under
//! a single lock, and sends consecutive forwards to one destination as one
//! GSO send. The core is the same either way: datagram in, action out.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use rand::rngs::StdRng;
use rand::SeedableRng;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

use super::advertise::{self, Advertised};
use super::disco::DiscoKey;
use super::exclusive;
use super::keys::{short_key, DiscoKeyPair};
use super::metrics::{serve_http, Metrics, Transport};
use super::policy::{AllocationPolicy, Denial, LoadedPolicy, SharedPolicy};
use super::refusals::RefusalLog;
use super::server::{Action, ClosedEndpoint, DropReason, RelayServer, ReplyKind, ServerConfig};

/// How the daemon runs. Plain data: the CLI maps its flags onto it.
#[derive(Debug, Clone)]
pub struct Options {
    /// UDP addresses to serve on, e.g. `0.0.0.0:7777` and `[::]:7777`.
    /// Port 0 picks a free port (shared by the sockets of one address). A
    /// wildcard address advertises the interface addresses
    /// ([`advertise`]); a port another process holds refuses the start
    /// ([`exclusive`]).
    pub listen: Vec<SocketAddr>,
    /// Addresses advertised to clients before the bound ones (relays behind
    /// NAT or a load balancer), like Tailscale's
    /// `--relay-server-static-endpoints`. Given, they replace the interface
    /// addresses of a wildcard listen address.
    pub static_endpoints: Vec<SocketAddr>,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`.
    pub metrics: Option<SocketAddr>,
    /// `SO_REUSEPORT` sockets per listen address; 0 means min(16, CPUs).
    pub sockets_per_address: usize,
    /// Kernel receive and send buffer size per socket, in bytes (the bounded
    /// queues); `None` keeps the system default.
    pub socket_buffer: Option<usize>,
    /// Limits and lifetimes of the protocol core.
    pub server: ServerConfig,
    /// How often endpoints are expired and a swapped policy is applied.
    pub maintenance_interval: Duration,
    /// Write client addresses and keys in logs instead of `[redacted]`.
    pub log_addresses: bool,
    /// Batched socket I/O: `recvmmsg` (and GRO) on receive, GSO on send,
    /// through `quinn-udp`. Off: one `recv_from` / `send_to` per datagram.
    pub batched_io: bool,
    /// How often refused allocations are summarized in the log: the first refusal per
    /// client and reason is logged, the others are counted until the summary (the metrics
    /// count each one).
    pub refusal_summary_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from(([0, 0, 0, 0], 7777)),
                SocketAddr::from(([0u16; 8], 7777)),
            ],
            static_endpoints: Vec::new(),
            metrics: None,
            sockets_per_address: 0,
            socket_buffer: None,
            server: ServerConfig::default(),
            maintenance_interval: Duration::from_secs(1),
            log_addresses: false,
            batched_io: true,
            refusal_summary_interval: Duration::from_secs(60),
        }
    }
}

/// Why the daemon cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A UDP socket could not be created or bound.
    #[error("cannot bind the relay socket to {1}")]
    BindSocket(#[source] io::Error, SocketAddr),
    /// Another process holds the UDP port; sharing it through
    /// `SO_REUSEPORT` would split the traffic between the two.
    #[error(
        "udp port {0} is already in use by another process: stop it (another relay?) or choose another `--listen` port"
    )]
    PortInUse(SocketAddr),
    /// Bound to wildcard addresses only, with no static endpoint, on a
    /// machine without an interface address to advertise.
    #[error(
        "no address to advertise: the relay listens on {0} and the machine has no usable interface address (only loopback, link-local or Tailscale ones); give `--static-endpoint IP:PORT` or `--listen` a specific address"
    )]
    NoAddressToAdvertise(String),
    /// The metrics listener could not be bound.
    #[error("cannot bind the metrics listener to {1}")]
    BindMetrics(#[source] io::Error, SocketAddr),
    /// `listen` is empty.
    #[error("no listen address is configured")]
    NoListenAddress,
    /// The daemon never starts without a valid policy.
    #[error("no valid policy is loaded")]
    NoPolicy,
}

/// A value shown in logs only when `log_addresses` is set.
struct Redact<T>(T, bool);

impl<T: fmt::Display> fmt::Display for Redact<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            self.0.fmt(f)
        } else {
            f.write_str("[redacted]")
        }
    }
}

/// The policy, timed for the decision-latency histogram.
struct TimedPolicy<'a> {
    inner: &'a dyn AllocationPolicy,
    metrics: &'a Metrics,
}

impl AllocationPolicy for TimedPolicy<'_> {
    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial> {
        let start = Instant::now();
        let decision = self.inner.authorize(requester);
        self.metrics.decision(start.elapsed());
        decision
    }

    fn knows(&self, key: &DiscoKey) -> bool {
        self.inner.knows(key)
    }
}

/// One UDP socket of the relay.
struct RelaySocket {
    io: UdpSocket,
    /// Set for batched I/O (it turns GRO on, so then every receive on this
    /// socket must go through it).
    batch: Option<UdpSocketState>,
}

impl RelaySocket {
    fn new(io: UdpSocket, batched: bool) -> Self {
        let batch = if batched {
            match UdpSocketState::new(UdpSockRef::from(&io)) {
                Ok(state) => Some(state),
                Err(e) => {
                    tracing::warn!(error = %e, "batched I/O unavailable on a socket, one datagram per call");
                    None
                }
            }
        } else {
            None
        };
        Self { io, batch }
    }

    /// How many datagrams one send may carry (GSO segments).
    fn max_segments(&self) -> usize {
        self.batch.as_ref().map_or(1, |s| s.max_gso_segments())
    }

    /// Sends `contents` to `to` without waiting: one datagram, or with
    /// `segment` several of that size (the last may be shorter).
    fn try_send(&self, to: SocketAddr, contents: &[u8], segment: Option<usize>) -> io::Result<()> {
        match &self.batch {
            Some(state) => self.io.try_io(Interest::WRITABLE, || {
                let transmit = Transmit {
                    destination: to,
                    ecn: None,
                    contents,
                    segment_size: segment,
                    src_ip: None,
                };
                state.try_send(UdpSockRef::from(&self.io), &transmit)
            }),
            None => self.io.try_send_to(contents, to).map(drop),
        }
    }
}

/// A socket of the relay: its family and index in that family's pool.
#[derive(Debug, Clone, Copy)]
struct SocketId(Transport, usize);

/// A policy just applied, with the endpoints its revocation closed.
type Applied = (Arc<LoadedPolicy>, Vec<ClosedEndpoint>);

/// What the socket loops share.
struct Shared {
    core: Mutex<RelayServer>,
    metrics: Arc<Metrics>,
    policy: SharedPolicy,
    /// The last policy whose revocation pass ran. Locked only under `core`.
    applied: Mutex<Arc<LoadedPolicy>>,
    v4: Vec<Arc<RelaySocket>>,
    v6: Vec<Arc<RelaySocket>>,
    log_addresses: bool,
    /// Which refusals are logged one by one.
    refusals: Mutex<RefusalLog>,
}

impl Shared {
    fn core(&self) -> MutexGuard<'_, RelayServer> {
        // The core does not panic; if it ever did, its state is still usable.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the stored policy unless it already was: asks it again about
    /// every endpoint (under the core lock, held by the caller as `core`) and
    /// records it as applied. `None` when there was nothing new to apply.
    fn apply_stored(&self, core: &mut RelayServer) -> Option<Applied> {
        let (_, newly) = self.policy_for_decisions(core);
        newly
    }

    /// The policy that decisions taken under the core lock (held by the caller
    /// as `core`) must use: the stored one, applied first when it was not yet.
    /// Read under the lock and revoked before its first decision, so a
    /// decision and the revocation always see one policy generation: a batch
    /// that waited for the lock can never decide with a policy older than the
    /// last revocation. The second value is what applying it closed, to be
    /// reported with [`report_applied`](Self::report_applied) after the lock.
    fn policy_for_decisions(&self, core: &mut RelayServer) -> (Arc<LoadedPolicy>, Option<Applied>) {
        let current = self.policy.load_full();
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::ptr_eq(&current, &applied) {
            return (current, None);
        }
        let closed = core.revoke(&*current.policy);
        *applied = current.clone();
        (current.clone(), Some((current, closed)))
    }

    /// Counts and logs a policy that [`apply_stored`](Self::apply_stored) applied.
    fn report_applied(&self, policy: &LoadedPolicy, closed: &[ClosedEndpoint]) {
        let metrics = &self.metrics;
        metrics.reload(true);
        metrics.set_policy(policy.generation, &policy.hash);
        metrics.closed("revoked", closed.len());
        for c in closed {
            tracing::info!(vni = c.vni, reason = %c.denial, "endpoint closed by policy reload");
        }
        tracing::info!(generation = policy.generation, hash = %policy.hash, revoked = closed.len(), "policy swapped in");
    }

    fn pool(&self, t: Transport) -> &[Arc<RelaySocket>] {
        if t == Transport::udp4 {
            &self.v4
        } else {
            &self.v6
        }
    }

    fn socket(&self, id: SocketId) -> Option<&RelaySocket> {
        self.pool(id.0).get(id.1).map(|s| &**s)
    }

    /// A socket of `to`'s family, preferring `own`, the one the packet came
    /// in on.
    fn socket_for(&self, to: &SocketAddr, own: SocketId) -> Option<SocketId> {
        let t = Transport::of(to);
        if t == own.0 {
            return Some(own);
        }
        let n = self.pool(t).len();
        (n > 0).then(|| SocketId(t, own.1 % n))
    }
}

/// A relay whose sockets are bound, ready to [`serve`](BoundRelay::serve).
pub struct BoundRelay {
    shared: Arc<Shared>,
    local_addrs: Vec<SocketAddr>,
    metrics_listener: Option<TcpListener>,
    maintenance_interval: Duration,
    advertise: Advertised,
}

impl BoundRelay {
    /// Binds the sockets and the metrics listener. Fails without a valid policy.
    pub async fn bind(
        options: Options,
        keys: DiscoKeyPair,
        policy: SharedPolicy,
    ) -> Result<Self, RelayError> {
        if !policy.load().valid {
            return Err(RelayError::NoPolicy);
        }
        if options.listen.is_empty() {
            return Err(RelayError::NoListenAddress);
        }
        let per_address = match options.sockets_per_address {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(16),
            n => n,
        };
        let (mut v4, mut v6, mut local_addrs) = (Vec::new(), Vec::new(), Vec::new());
        let mut inodes = Vec::new();
        for &addr in &options.listen {
            exclusive::probe(addr).map_err(|e| match e.kind() {
                io::ErrorKind::AddrInUse => RelayError::PortInUse(addr),
                _ => RelayError::BindSocket(e, addr),
            })?;
            let first = bind_udp(addr, options.socket_buffer)?;
            let bound = first
                .local_addr()
                .map_err(|e| RelayError::BindSocket(e, addr))?;
            let mut group = vec![first];
            for _ in 1..per_address {
                group.push(bind_udp(bound, options.socket_buffer)?);
            }
            local_addrs.push(bound);
            inodes.extend(group.iter().filter_map(exclusive::inode));
            for s in group {
                let s = Arc::new(RelaySocket::new(s, options.batched_io));
                if bound.is_ipv4() {
                    v4.push(s);
                } else {
                    v6.push(s);
                }
            }
        }
        // Another relay that passed its probe at the same instant as this one
        // (checked only when every socket of ours is known by its inode).
        let all_known = inodes.len() == v4.len() + v6.len();
        for &bound in local_addrs.iter().filter(|_| all_known) {
            if exclusive::foreign_sockets(bound, &inodes).is_some_and(|n| n > 0) {
                return Err(RelayError::PortInUse(bound));
            }
        }
        let advertise = Advertised::new(options.static_endpoints.clone(), local_addrs.clone());
        let advertised = advertise.addresses(&discover(&advertise));
        if advertised.is_empty() {
            let listen: Vec<String> = local_addrs.iter().map(ToString::to_string).collect();
            return Err(RelayError::NoAddressToAdvertise(listen.join(", ")));
        }
        tracing::info!(
            addrs = %Redact(format!("{advertised:?}"), options.log_addresses),
            "advertised addresses"
        );
        let mut server_cfg = options.server.clone();
        server_cfg.advertised = advertised;
        let metrics_listener = match options.metrics {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| RelayError::BindMetrics(e, addr))?,
            ),
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        {
            let p = policy.load();
            metrics.set_policy(p.generation, &p.hash);
        }
        let core = RelayServer::new(server_cfg, keys, StdRng::from_entropy(), Instant::now());
        let applied = Mutex::new(policy.load_full());
        Ok(Self {
            shared: Arc::new(Shared {
                core: Mutex::new(core),
                metrics,
                policy,
                applied,
                v4,
                v6,
                log_addresses: options.log_addresses,
                refusals: Mutex::new(RefusalLog::new(
                    options.refusal_summary_interval,
                    Instant::now(),
                )),
            }),
            local_addrs,
            metrics_listener,
            maintenance_interval: options.maintenance_interval,
            advertise,
        })
    }

    /// The bound UDP address of each listen address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The bound metrics address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The metrics (e.g. to count a failed reload with [`Metrics::reload`]).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// The relay's public disco key.
    pub fn public_key(&self) -> DiscoKey {
        *self.shared.core().public_key()
    }

    /// A handle to act on the running relay from a reloader.
    pub fn handle(&self) -> RelayHandle {
        RelayHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        let mut tasks = JoinSet::new();
        for t in [Transport::udp4, Transport::udp6] {
            for (i, s) in self.shared.pool(t).iter().enumerate() {
                let id = SocketId(t, i);
                if s.batch.is_some() {
                    tasks.spawn(batched_loop(self.shared.clone(), s.clone(), id));
                } else {
                    tasks.spawn(socket_loop(self.shared.clone(), s.clone(), id));
                }
            }
        }
        tasks.spawn(maintenance(self.shared.clone(), self.maintenance_interval));
        if self.advertise.discovers() {
            tasks.spawn(rediscover(self.shared.clone(), self.advertise));
        }
        if let Some(listener) = self.metrics_listener {
            tasks.spawn(serve_http(
                listener,
                self.shared.metrics.clone(),
                self.shared.policy.clone(),
            ));
        }
        tracing::info!(
            addrs = %Redact(format!("{:?}", self.local_addrs), self.shared.log_addresses),
            sockets = self.shared.v4.len() + self.shared.v6.len(),
            batched = self.shared.v4.iter().chain(&self.shared.v6).all(|s| s.batch.is_some()),
            "relay serving"
        );
        shutdown.await;
        tasks.shutdown().await;
        tracing::info!("relay stopped");
        Ok(())
    }
}

/// Acts on a running relay (cheap to clone).
#[derive(Clone)]
pub struct RelayHandle {
    shared: Arc<Shared>,
}

impl RelayHandle {
    /// Applies the currently stored policy now, rather than at the next
    /// maintenance tick: closes the endpoints it no longer allows and counts
    /// a successful reload. Call it right after storing a new policy. A
    /// policy is applied once: when maintenance got to it first, or it was
    /// already applied, nothing happens. Returns how many endpoints were
    /// closed.
    pub fn apply_policy(&self) -> usize {
        let applied = {
            let mut core = self.shared.core();
            self.shared.apply_stored(&mut core)
        };
        match applied {
            Some((policy, closed)) => {
                self.shared.report_applied(&policy, &closed);
                closed.len()
            }
            None => 0,
        }
    }

    /// The metrics (e.g. to count a failed reload with [`Metrics::reload`]).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Endpoints waiting for their legs, and endpoints with both legs bound,
    /// counted now (the gauges are refreshed at each maintenance tick).
    pub fn endpoint_counts(&self) -> (usize, usize) {
        self.shared.core().endpoint_counts()
    }
}

/// Binds the sockets and serves until `shutdown` completes.
pub async fn run(
    options: Options,
    keys: DiscoKeyPair,
    policy: SharedPolicy,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    BoundRelay::bind(options, keys, policy)
        .await?
        .serve(shutdown)
        .await
}

/// The interface addresses, when `advertise` needs them (an error is logged
/// and counts as none).
fn discover(advertise: &Advertised) -> Vec<std::net::IpAddr> {
    if !advertise.discovers() {
        return Vec::new();
    }
    advertise::interface_addresses().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot list the interface addresses");
        Vec::new()
    })
}

/// Looks at the interface addresses again every 20 to 26 s (Tailscale's
/// `addrDiscoveryLoop`) and advertises what it finds from then on; with none,
/// allocations get no answer until an address is back.
async fn rediscover(shared: Arc<Shared>, advertise: Advertised) {
    let mut rng = StdRng::from_entropy();
    loop {
        tokio::time::sleep(advertise::next_discovery(rand::Rng::gen(&mut rng))).await;
        let advertised = advertise.addresses(&discover(&advertise));
        let mut core = shared.core();
        if core.config().advertised == advertised {
            continue;
        }
        if advertised.is_empty() {
            tracing::warn!(
                "no interface address to advertise: allocations get no answer until one is back"
            );
        } else {
            tracing::info!(addrs = %Redact(format!("{advertised:?}"), shared.log_addresses), "advertised addresses changed");
        }
        core.set_advertised(advertised);
    }
}

fn bind_udp(addr: SocketAddr, buffer: Option<usize>) -> Result<UdpSocket, RelayError> {
    let err = |e| RelayError::BindSocket(e, addr);
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    #[cfg(unix)]
    socket.set_reuse_port(true).map_err(err)?;
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size).map_err(err)?;
        socket.set_send_buffer_size(size).map_err(err)?;
    }
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(socket.into()).map_err(err)
}

/// One datagram per system call: `recv_from`, then `send_to` what the core says.
async fn socket_loop(shared: Arc<Shared>, socket: Arc<RelaySocket>, id: SocketId) {
    let own_transport = id.0;
    let metrics = &shared.metrics;
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(2048);
    let mut handled = 0usize;
    loop {
        // As the batched loop yields after each batch, this one yields every batch's worth
        // of datagrams, so a flood cannot keep other tasks from running.
        handled = handled.wrapping_add(1);
        if handled.is_multiple_of(BATCH_SIZE) {
            tokio::task::yield_now().await;
        }
        let (n, src) = match socket.io.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "receive failed");
                continue;
            }
        };
        let packet = &buf[..n];
        let (action, applied) = {
            let mut core = shared.core();
            let (loaded, applied) = shared.policy_for_decisions(&mut core);
            let policy = TimedPolicy {
                inner: &*loaded.policy,
                metrics,
            };
            let action = core.handle(src, packet, Instant::now(), &policy, &mut out);
            (action, applied)
        };
        if let Some((policy, closed)) = applied {
            shared.report_applied(&policy, &closed);
        }
        match action {
            Action::Forward(to) => {
                let Some(out_socket) = shared.socket_for(&to, id).and_then(|i| shared.socket(i))
                else {
                    metrics.dropped("no_socket_for_family");
                    continue;
                };
                match out_socket.try_send(to, packet, None) {
                    Ok(()) => metrics.forwarded(own_transport, Transport::of(&to)).add(n),
                    Err(e) => count_send_error(metrics, &e, 1),
                }
            }
            Action::Reply(kind) => {
                count_reply(&shared, kind, src);
                if socket.try_send(src, &out, None).is_err() {
                    metrics.dropped("send_queue_full");
                }
            }
            other => account(&shared, other, src),
        }
    }
}

fn count_send_error(metrics: &Metrics, e: &io::Error, datagrams: usize) {
    let reason = if e.kind() == io::ErrorKind::WouldBlock {
        "send_queue_full"
    } else {
        "send_error"
    };
    for _ in 0..datagrams {
        metrics.dropped(reason);
    }
}

fn count_reply(shared: &Shared, kind: ReplyKind, src: SocketAddr) {
    if let ReplyKind::Allocated { vni, new } = kind {
        shared
            .metrics
            .allocation(if new { "allowed" } else { "existing" }, "");
        tracing::info!(vni, new, client = %Redact(src, shared.log_addresses), "allocated");
    }
}

/// Counts and logs an action that sends nothing.
fn account(shared: &Shared, action: Action, src: SocketAddr) {
    match action {
        Action::Bound { vni, open } => {
            tracing::debug!(vni, open, client = %Redact(src, shared.log_addresses), "leg bound");
        }
        Action::Drop(reason) => count_drop(shared, &reason, src),
        Action::Forward(_) | Action::Reply(_) => {}
    }
}

/// Bytes per receive slot: the largest UDP datagram, or the largest GRO train
/// (at most 64 segments in one 64 KiB buffer).
const SLOT: usize = 65_536;
/// The most bytes one GSO send carries (an IP packet is at most 65,535 bytes
/// with its headers).
const MAX_GSO_BYTES: usize = 65_000;

/// Consecutive forwards to one destination, back to back in
/// [`Outbox::data`]: one GSO send of `count` datagrams of `segment` bytes
/// (the last may be shorter).
struct Run {
    to: SocketAddr,
    via: SocketId,
    start: usize,
    end: usize,
    segment: usize,
    count: usize,
}

/// What one received batch turns into: filled under the core's lock, sent
/// and counted after it.
#[derive(Default)]
struct Outbox {
    data: Vec<u8>,
    runs: Vec<Run>,
    replies: Vec<u8>,
    /// Reply destination and end offset in `replies`.
    reply_ends: Vec<(SocketAddr, usize)>,
    /// Actions that send nothing, with their source.
    quiet: Vec<(SocketAddr, Action)>,
    /// Allocation replies to count, with their source.
    replied: Vec<(SocketAddr, ReplyKind)>,
    no_socket: usize,
}

impl Outbox {
    fn clear(&mut self) {
        self.data.clear();
        self.runs.clear();
        self.replies.clear();
        self.reply_ends.clear();
        self.quiet.clear();
        self.replied.clear();
        self.no_socket = 0;
    }

    /// Queues `datagram` for `to`, joining the previous run when one GSO send
    /// can carry both.
    fn forward(&mut self, to: SocketAddr, via: SocketId, max_segments: usize, datagram: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(datagram);
        let len = datagram.len();
        if let Some(run) = self.runs.last_mut() {
            let all_full = run.end - run.start == run.segment * run.count;
            if run.to == to
                && run.end == start
                && all_full
                && len > 0
                && len <= run.segment
                && run.count < max_segments
                && run.end - run.start + len <= MAX_GSO_BYTES
            {
                run.end += len;
                run.count += 1;
                return;
            }
        }
        self.runs.push(Run {
            to,
            via,
            start,
            end: start + len,
            segment: len,
            count: 1,
        });
    }
}

/// Batched I/O: up to [`BATCH_SIZE`] datagrams per receive call, one core
/// lock per batch, and one GSO send per run of forwards to one destination.
async fn batched_loop(shared: Arc<Shared>, socket: Arc<RelaySocket>, id: SocketId) {
    let Some(state) = socket.batch.as_ref() else {
        return socket_loop(shared, socket, id).await;
    };
    let own_transport = id.0;
    let metrics = &shared.metrics;
    let mut bufs: Vec<Vec<u8>> = (0..BATCH_SIZE).map(|_| vec![0u8; SLOT]).collect();
    let mut meta = vec![RecvMeta::default(); BATCH_SIZE];
    let mut reply = Vec::with_capacity(2048);
    let mut outbox = Outbox::default();
    loop {
        if let Err(e) = socket.io.readable().await {
            tracing::debug!(error = %e, "receive failed");
            continue;
        }
        let received = {
            let mut slices: Vec<IoSliceMut<'_>> =
                bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            socket.io.try_io(Interest::READABLE, || {
                state.recv(UdpSockRef::from(&socket.io), &mut slices, &mut meta)
            })
        };
        let n = match received {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::debug!(error = %e, "receive failed");
                continue;
            }
        };
        outbox.clear();
        let applied = {
            let mut core = shared.core();
            let (loaded, applied) = shared.policy_for_decisions(&mut core);
            let policy = TimedPolicy {
                inner: &*loaded.policy,
                metrics,
            };
            let now = Instant::now();
            for (m, buf) in meta.iter().zip(&bufs).take(n) {
                let filled = buf.get(..m.len).unwrap_or(buf);
                let stride = if m.stride == 0 { m.len } else { m.stride }.max(1);
                // One datagram, or a GRO train split at its stride (an empty
                // datagram still goes to the core, to be counted).
                let mut rest = filled;
                loop {
                    let (datagram, tail) = rest.split_at(stride.min(rest.len()));
                    rest = tail;
                    match core.handle(m.addr, datagram, now, &policy, &mut reply) {
                        Action::Forward(to) => match shared.socket_for(&to, id) {
                            Some(via) => {
                                let max = shared.socket(via).map_or(1, RelaySocket::max_segments);
                                outbox.forward(to, via, max, datagram);
                            }
                            None => outbox.no_socket += 1,
                        },
                        Action::Reply(kind) => {
                            outbox.replies.extend_from_slice(&reply);
                            outbox.reply_ends.push((m.addr, outbox.replies.len()));
                            outbox.replied.push((m.addr, kind));
                        }
                        other => outbox.quiet.push((m.addr, other)),
                    }
                    if rest.is_empty() {
                        break;
                    }
                }
            }
            applied
        };
        if let Some((policy, closed)) = applied {
            shared.report_applied(&policy, &closed);
        }
        send_outbox(&shared, &socket, own_transport, &mut outbox);
        // Under a flood the socket is always readable and the task would hold its worker
        // for many batches (tokio's budget counts readiness, not work); yielding after
        // each batch keeps the maintenance task, the reloads, the metrics server and the
        // signal handlers running.
        tokio::task::yield_now().await;
    }
}

/// Sends a batch's forwards and replies, then counts and logs the rest.
fn send_outbox(
    shared: &Shared,
    socket: &RelaySocket,
    own_transport: Transport,
    outbox: &mut Outbox,
) {
    let metrics = &shared.metrics;
    for run in &outbox.runs {
        let Some(via) = shared.socket(run.via) else {
            continue;
        };
        let contents = outbox.data.get(run.start..run.end).unwrap_or_default();
        let segment = (run.count > 1).then_some(run.segment);
        match via.try_send(run.to, contents, segment) {
            Ok(()) => metrics
                .forwarded(own_transport, Transport::of(&run.to))
                .add_many(run.count, contents.len()),
            Err(e) => count_send_error(metrics, &e, run.count),
        }
    }
    let mut start = 0;
    for &(to, end) in &outbox.reply_ends {
        let contents = outbox.replies.get(start..end).unwrap_or_default();
        start = end;
        if socket.try_send(to, contents, None).is_err() {
            metrics.dropped("send_queue_full");
        }
    }
    for _ in 0..outbox.no_socket {
        metrics.dropped("no_socket_for_family");
    }
    for &(src, kind) in &outbox.replied {
        count_reply(shared, kind, src);
    }
    for (src, action) in outbox.quiet.drain(..) {
        account(shared, action, src);
    }
}

fn count_drop(shared: &Shared, reason: &DropReason, src: SocketAddr) {
    let metrics = &shared.metrics;
    metrics.dropped(reason.label());
    let refusal = match reason {
        DropReason::Denied(denial) => ("denied", denial.label()),
        DropReason::RateLimited | DropReason::TooManyEndpoints | DropReason::TooManyForNode => {
            ("refused", reason.label())
        }
        _ => return,
    };
    let (result, label) = refusal;
    metrics.allocation(result, label);
    // Counted every time; logged the first time per client and reason in a summary period.
    let first = shared
        .refusals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(src.ip(), result, label);
    if !first {
        return;
    }
    let client = Redact(src, shared.log_addresses);
    if let DropReason::Denied(denial) = reason {
        tracing::info!(%client, reason = %denial, "allocation denied (further refusals of this client for this reason are summarized)");
    } else {
        tracing::info!(%client, reason = label, "allocation refused (further refusals of this client for this reason are summarized)");
    }
}

/// Logs the summary of refused allocations when its period is over.
fn summarize_refusals(shared: &Shared, now: Instant) {
    let summary = shared
        .refusals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .summary(now);
    if let Some(s) = summary {
        tracing::info!(
            refusals = %s.counts_text(),
            not_logged = s.unlogged,
            period = ?s.period,
            "allocation refusals in the last period"
        );
    }
}

async fn maintenance(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut core = shared.core();
        let expired = core.expire(Instant::now());
        // A policy stored without `apply_policy` (or not yet applied by it).
        let applied = shared.apply_stored(&mut core);
        let (connecting, open) = core.endpoint_counts();
        drop(core);
        shared.metrics.closed("expired", expired);
        shared.metrics.set_endpoints(connecting, open);
        summarize_refusals(&shared, Instant::now());
        if let Some((policy, closed)) = applied {
            shared.report_applied(&policy, &closed);
        }
    }
}

/// A disco key for logs, redacted unless asked.
pub fn log_key(key: &DiscoKey, show: bool) -> String {
    Redact(short_key(key), show).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn runs(sizes: &[usize], max_segments: usize) -> Vec<(u16, usize, usize)> {
        let via = SocketId(Transport::udp4, 0);
        let mut outbox = Outbox::default();
        for (i, &len) in sizes.iter().enumerate() {
            // Datagrams of 1000 bytes and up go to port 2, the others to port 1.
            let port = if len >= 1000 { 2 } else { 1 };
            let to = SocketAddr::from(([127, 0, 0, 1], port));
            outbox.forward(to, via, max_segments, &vec![i as u8; len]);
        }
        assert_eq!(outbox.data.len(), sizes.iter().sum::<usize>());
        outbox
            .runs
            .iter()
            .map(|r| {
                assert_eq!(r.end - r.start, outbox.data[r.start..r.end].len());
                (r.to.port(), r.segment, r.count)
            })
            .collect()
    }

    #[test]
    fn forwards_join_a_gso_run_only_when_one_send_can_carry_them() {
        // Equal sizes join; a shorter one ends the run; a longer one starts a new one.
        assert_eq!(
            runs(&[100, 100, 100, 50, 100, 200, 200], 64),
            vec![(1, 100, 4), (1, 100, 1), (1, 200, 2)]
        );
        // Another destination starts a new run.
        assert_eq!(
            runs(&[1200, 100, 1200, 1200], 64),
            vec![(2, 1200, 1), (1, 100, 1), (2, 1200, 2)]
        );
        // The kernel's segment limit, and the 65,000-byte cap.
        assert_eq!(
            runs(&[100; 5], 2),
            vec![(1, 100, 2), (1, 100, 2), (1, 100, 1)]
        );
        assert_eq!(runs(&[1200; 60], 64), vec![(2, 1200, 54), (2, 1200, 6)]);
        // Without GSO every datagram is its own send.
        assert_eq!(runs(&[100; 3], 1), vec![(1, 100, 1); 3]);
    }
}
