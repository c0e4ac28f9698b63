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
//!
//! Here: the options, the start ([`BoundRelay::bind`]), the tasks ([`BoundRelay::serve`]),
//! the policy swap and revocation ([`RelayHandle::apply_policy`]) and maintenance. The
//! sockets and the unbatched loop are in `socket`, batched I/O in `batch`, counting and
//! logging in `accounting`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::advertise::{self, Advertised};
use super::disco::DiscoKey;
use super::exclusive;
use super::health::serve_http;
use super::keys::DiscoKeyPair;
use super::metrics::{Metrics, Transport};
use super::policy::{LoadedPolicy, SharedPolicy};
use super::refusals::RefusalLog;
use super::server::{ClosedEndpoint, RelayServer, ServerConfig};

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

mod accounting;
mod batch;
mod socket;

pub use accounting::log_key;
use accounting::{summarize_refusals, Redact};
use batch::batched_loop;
use socket::{bind_udp, socket_loop, RelaySocket, SocketId};

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
    pub(crate) fn metrics(&self) -> Arc<Metrics> {
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
