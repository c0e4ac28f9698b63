//! The relay daemon on loopback with real sockets.
#![cfg(feature = "relay")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::{data_packet, RelayClient};
use tailgrant::relay::daemon::{BoundRelay, Options, RelayError, RelayHandle};
use tailgrant::relay::disco::{DiscoKey, RelayEndpoint};
use tailgrant::relay::keys::DiscoKeyPair;
use tailgrant::relay::metrics::Metrics;
use tailgrant::relay::ping::{ping, PingError, PingOptions};
use tailgrant::relay::policy::{
    shared, AllocationPolicy, Denial, LoadedPolicy, SharedPolicy, StaticPolicy,
};
use tailgrant::relay::server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_millis(300);

fn key(n: u8) -> DiscoKeyPair {
    DiscoKeyPair::from_secret_bytes([n; 32])
}

struct Relay {
    addr: SocketAddr,
    key: DiscoKey,
    metrics: Arc<Metrics>,
    metrics_addr: Option<SocketAddr>,
    policy: SharedPolicy,
    handle: RelayHandle,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), RelayError>>,
}

impl Relay {
    async fn start(allowed: &[DiscoKey], tweak: impl FnOnce(&mut Options)) -> Self {
        let mut options = Options {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            static_endpoints: vec!["198.51.100.7:7777".parse().unwrap()],
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            sockets_per_address: 2,
            maintenance_interval: Duration::from_millis(20),
            ..Options::default()
        };
        tweak(&mut options);
        let policy = shared(LoadedPolicy::new(
            Arc::new(StaticPolicy::allow(allowed.iter().copied())),
            1,
            "first",
        ));
        let bound = BoundRelay::bind(options, key(1), policy.clone())
            .await
            .unwrap();
        let (tx, rx) = oneshot::channel();
        let relay = Relay {
            addr: bound.local_addrs()[0],
            key: bound.public_key(),
            metrics: bound.metrics(),
            metrics_addr: bound.metrics_addr(),
            handle: bound.handle(),
            policy,
            stop: Some(tx),
            task: tokio::spawn(bound.serve(async {
                let _ = rx.await;
            })),
        };
        relay
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap().unwrap();
    }

    fn metric(&self, needle: &str) -> bool {
        self.metrics.encode().contains(needle)
    }
}

struct Peer {
    client: RelayClient,
    socket: UdpSocket,
}

impl Peer {
    async fn new(n: u8) -> Self {
        Peer {
            client: RelayClient::new(key(n), StdRng::seed_from_u64(u64::from(n))),
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    async fn send(&self, relay: &Relay, packet: &[u8]) {
        self.socket.send_to(packet, relay.addr).await.unwrap();
    }

    async fn recv(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 2048];
        match tokio::time::timeout(WAIT, self.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
            _ => None,
        }
    }

    async fn allocate(&mut self, relay: &Relay, other: &DiscoKey) -> Option<RelayEndpoint> {
        let req = self.client.allocate_request(&relay.key, other, 7);
        self.send(relay, &req).await;
        let reply = self.recv().await?;
        Some(
            self.client
                .allocate_response(&relay.key, &reply, 7)
                .unwrap(),
        )
    }

    async fn bind(&mut self, relay: &Relay, ep: &RelayEndpoint) {
        let bind = self.client.bind(ep, 1);
        self.send(relay, &bind).await;
        let challenge = self.recv().await.expect("challenge");
        let answer = self.client.answer(ep, &challenge).unwrap();
        self.send(relay, &answer).await;
    }
}

/// Allocates with `a` for (a, b) and binds both legs.
async fn open(relay: &Relay, a: &mut Peer, b: &mut Peer) -> RelayEndpoint {
    let ep = a
        .allocate(relay, &b.client.public_key())
        .await
        .expect("allocation");
    a.bind(relay, &ep).await;
    b.bind(relay, &ep).await;
    // Answers have no reply: give the relay a moment.
    tokio::time::sleep(Duration::from_millis(20)).await;
    ep
}

#[tokio::test]
async fn allowed_allocation_forwards_data_both_ways() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |_| {}).await;
    let ep = open(&relay, &mut a, &mut b).await;
    assert_eq!(
        ep.addr_ports,
        vec!["198.51.100.7:7777".parse().unwrap(), relay.addr],
        "static endpoints first, then bound addresses"
    );
    let ping = data_packet(ep.vni, b"ping");
    a.send(&relay, &ping).await;
    assert_eq!(
        b.recv().await.as_deref(),
        Some(&ping[..]),
        "forwarded unchanged"
    );
    let pong = data_packet(ep.vni, b"pong");
    b.send(&relay, &pong).await;
    assert_eq!(a.recv().await.as_deref(), Some(&pong[..]));
    assert!(relay.metric(
        "tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp4\",transport_out=\"udp4\"} 2"
    ));
    assert!(relay.metric(
        "tailscaled_peer_relay_forwarded_bytes_total{transport_in=\"udp4\",transport_out=\"udp4\"} 24"
    ));
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(relay.metric("tailscaled_peer_relay_endpoints{state=\"open\"} 1"));
    assert!(relay.metric("tailgrant_relay_allocations_total{result=\"allowed\",reason=\"\"} 1"));
    relay.stop().await;
}

#[tokio::test]
async fn requester_not_allowed_is_denied() {
    let (mut a, b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[b.client.public_key()], |_| {}).await;
    assert!(a.allocate(&relay, &b.client.public_key()).await.is_none());
    assert!(relay.metric(
        "tailgrant_relay_allocations_total{result=\"denied\",reason=\"unknown_disco_key\"} 1"
    ));
    assert!(relay.metric("tailgrant_relay_decision_seconds_count 1"));
    relay.stop().await;
}

#[tokio::test]
async fn forged_replayed_and_misdirected_packets_are_dropped() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |_| {}).await;

    // A forged box: the claimed sender is `a`, the bytes are tampered.
    let mut forged = a
        .client
        .allocate_request(&relay.key, &b.client.public_key(), 7);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    a.send(&relay, &forged).await;
    assert!(a.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"bad_box\"} 1"));

    // A replay of a good request.
    let req = a
        .client
        .allocate_request(&relay.key, &b.client.public_key(), 7);
    a.send(&relay, &req).await;
    let reply = a.recv().await.expect("allocation");
    let ep = a.client.allocate_response(&relay.key, &reply, 7).unwrap();
    a.send(&relay, &req).await;
    assert!(a.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"replay\"} 1"));

    // A bind whose header VNI differs from the boxed one.
    let mut bind = a.client.bind(&ep, 1);
    bind[6] ^= 0x40;
    a.send(&relay, &bind).await;
    assert!(a.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"wrong_vni\"} 1"));

    // Data from an address that is not a bound leg.
    a.bind(&relay, &ep).await;
    b.bind(&relay, &ep).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stranger = Peer::new(9).await;
    stranger.send(&relay, &data_packet(ep.vni, b"sneak")).await;
    assert!(a.recv().await.is_none() && b.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"unbound_source\"} 1"));

    // Data for a VNI nobody holds.
    a.send(&relay, &data_packet(ep.vni + 100, b"x")).await;
    assert!(b.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"unknown_vni\"} 1"));
    relay.stop().await;
}

#[tokio::test]
async fn unknown_key_is_dropped() {
    let (mut a, b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[], |_| {}).await;
    assert!(a.allocate(&relay, &b.client.public_key()).await.is_none());
    assert!(relay.metric(
        "tailgrant_relay_allocations_total{result=\"denied\",reason=\"unknown_disco_key\"} 1"
    ));
    relay.stop().await;
}

#[tokio::test]
async fn unknown_senders_are_dropped_and_counted() {
    let (mut a, b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |_| {}).await;
    relay.policy.store(Arc::new(LoadedPolicy::new(
        Arc::new(StaticPolicy::allow([a.client.public_key()]).known_only()),
        2,
        "known only",
    )));
    relay.handle.apply_policy();
    let request = a
        .client
        .allocate_request(&relay.key, &b.client.public_key(), 7);
    // The claimed sender follows the 6-byte disco magic.
    for n in 0..50u8 {
        let mut forged = request.clone();
        forged[6..38].copy_from_slice(&[n.wrapping_add(100); 32]);
        b.send(&relay, &forged).await;
    }
    assert!(b.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_dropped_packets_total{reason=\"unknown_sender\"} 50"));
    // The known peer is served as before.
    assert!(a.allocate(&relay, &b.client.public_key()).await.is_some());
    relay.stop().await;
}

#[tokio::test]
async fn endpoints_expire() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |o| {
        o.server = ServerConfig {
            bind_lifetime: Duration::from_millis(150),
            steady_state_lifetime: Duration::from_millis(250),
            ..ServerConfig::default()
        };
    })
    .await;
    // Never bound: gone after the bind lifetime.
    let unbound = a.allocate(&relay, &[42; 32]).await.unwrap();
    // Bound and used, then idle.
    let ep = open(&relay, &mut a, &mut b).await;
    let pkt = data_packet(ep.vni, b"alive");
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_none(), "idle endpoint expired");
    let bind = a.client.bind(&unbound, 1);
    a.send(&relay, &bind).await;
    assert!(a.recv().await.is_none(), "unbound endpoint expired");
    assert!(relay.metric("tailgrant_relay_endpoints_closed_total{reason=\"expired\"} 2"));
    relay.stop().await;
}

#[tokio::test]
async fn reload_that_revokes_closes_the_endpoint() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |_| {}).await;
    let ep = open(&relay, &mut a, &mut b).await;
    let pkt = data_packet(ep.vni, b"before");
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());

    // A broken reload keeps the last good policy: traffic flows on.
    relay.metrics.reload(false);
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());

    // A reload that keeps `a` allowed keeps the endpoint.
    relay.policy.store(Arc::new(LoadedPolicy::new(
        Arc::new(StaticPolicy::allow([a.client.public_key()])),
        2,
        "second",
    )));
    tokio::time::sleep(Duration::from_millis(80)).await;
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());

    // A reload that revokes closes it.
    let denial = Denial::NoRelayGrant { node: "a".into() };
    relay.policy.store(Arc::new(LoadedPolicy::new(
        Arc::new(StaticPolicy::deny_all(denial)),
        3,
        "third",
    )));
    tokio::time::sleep(Duration::from_millis(80)).await;
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_none());
    assert!(relay.metric("tailgrant_relay_endpoints_closed_total{reason=\"revoked\"} 1"));
    assert!(relay.metric("tailgrant_relay_policy_reloads_total{reason=\"ok\"} 2"));
    assert!(relay.metric("tailgrant_relay_policy_reloads_total{reason=\"failed\"} 1"));
    assert!(relay.metric("tailgrant_relay_policy_generation 3"));
    assert!(relay.metric("tailgrant_relay_policy_info{hash=\"third\"} 1"));
    // New allocations are denied too.
    assert!(a.allocate(&relay, &b.client.public_key()).await.is_none());
    relay.stop().await;
}

#[tokio::test]
async fn apply_policy_closes_at_once() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |o| {
        o.maintenance_interval = Duration::from_secs(3600);
    })
    .await;
    let ep = open(&relay, &mut a, &mut b).await;
    relay.policy.store(Arc::new(LoadedPolicy::new(
        Arc::new(StaticPolicy::deny_all(Denial::RelayDisabled)),
        2,
        "off",
    )));
    assert_eq!(relay.handle.apply_policy(), 1);
    a.send(&relay, &data_packet(ep.vni, b"x")).await;
    assert!(b.recv().await.is_none());
    relay.stop().await;
}

/// Allows `a` and counts how often it is asked.
struct Counting {
    inner: StaticPolicy,
    asked: Arc<AtomicUsize>,
}

impl AllocationPolicy for Counting {
    fn authorize(&self, requester: &DiscoKey) -> Result<(), Denial> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.inner.authorize(requester)
    }
}

#[tokio::test]
async fn an_applied_policy_is_revoked_and_counted_once() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |_| {}).await;
    let ep = open(&relay, &mut a, &mut b).await;
    let asked = Arc::new(AtomicUsize::new(0));
    relay.policy.store(Arc::new(LoadedPolicy::new(
        Arc::new(Counting {
            inner: StaticPolicy::allow([a.client.public_key()]),
            asked: asked.clone(),
        }),
        2,
        "second",
    )));
    assert_eq!(relay.handle.apply_policy(), 0);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "one endpoint, one requester"
    );
    // Several maintenance ticks: the policy applied above is not revoked again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 1, "revoked a second time");
    assert!(relay.metric("tailgrant_relay_policy_reloads_total{reason=\"ok\"} 1"));
    assert!(relay.metric("tailgrant_relay_policy_generation 2"));
    // Applying again without a new policy does nothing.
    assert_eq!(relay.handle.apply_policy(), 0);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    let pkt = data_packet(ep.vni, b"still open");
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());
    relay.stop().await;
}

#[tokio::test]
async fn two_reloads_within_one_tick_count_twice() {
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let relay = Relay::start(&[a.client.public_key()], |o| {
        o.maintenance_interval = Duration::from_secs(3600);
    })
    .await;
    let ep = open(&relay, &mut a, &mut b).await;
    for (generation, hash) in [(2, "second"), (3, "third")] {
        relay.policy.store(Arc::new(LoadedPolicy::new(
            Arc::new(StaticPolicy::allow([a.client.public_key()])),
            generation,
            hash,
        )));
        assert_eq!(relay.handle.apply_policy(), 0);
    }
    assert!(relay.metric("tailgrant_relay_policy_reloads_total{reason=\"ok\"} 2"));
    assert!(relay.metric("tailgrant_relay_policy_generation 3"));
    assert!(relay.metric("tailgrant_relay_policy_info{hash=\"third\"} 1"));
    let pkt = data_packet(ep.vni, b"x");
    a.send(&relay, &pkt).await;
    assert!(b.recv().await.is_some());
    relay.stop().await;
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn health_endpoints_and_metrics_over_http() {
    let relay = Relay::start(&[], |_| {}).await;
    let m = relay.metrics_addr.unwrap();
    assert!(http_get(m, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(http_get(m, "/readyz").await.starts_with("HTTP/1.1 200"));
    let metrics = http_get(m, "/metrics").await;
    assert!(
        metrics.contains("tailscaled_peer_relay_forwarded_packets_total"),
        "{metrics}"
    );
    assert!(http_get(m, "/nope").await.starts_with("HTTP/1.1 404"));
    relay.policy.store(Arc::new(LoadedPolicy::none()));
    assert!(http_get(m, "/readyz").await.starts_with("HTTP/1.1 503"));
    relay.stop().await;
}

fn options_on(listen: SocketAddr) -> Options {
    Options {
        listen: vec![listen],
        static_endpoints: vec!["198.51.100.7:7777".parse().unwrap()],
        sockets_per_address: 2,
        ..Options::default()
    }
}

fn allow_none() -> SharedPolicy {
    shared(LoadedPolicy::new(Arc::new(StaticPolicy::allow([])), 1, "x"))
}

#[tokio::test]
async fn a_second_relay_on_a_held_port_refuses_to_start() {
    let relay = Relay::start(&[], |_| {}).await;
    let second = BoundRelay::bind(options_on(relay.addr), key(9), allow_none()).await;
    assert!(
        matches!(second, Err(RelayError::PortInUse(a)) if a == relay.addr),
        "{:?}",
        second.err()
    );
    relay.stop().await;
    // Any other holder of the port counts, with or without SO_REUSEPORT.
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap();
    let r = BoundRelay::bind(options_on(held), key(9), allow_none()).await;
    assert!(matches!(r, Err(RelayError::PortInUse(a)) if a == held));
    drop(holder);
    assert!(BoundRelay::bind(options_on(held), key(9), allow_none())
        .await
        .is_ok());
}

#[tokio::test]
async fn several_sockets_per_address_share_the_port_within_one_relay() {
    let relay = Relay::start(&[*key(2).public()], |o| o.sockets_per_address = 4).await;
    #[cfg(target_os = "linux")]
    assert_eq!(
        tailgrant::relay::exclusive::foreign_sockets(relay.addr, &[]),
        Some(4)
    );
    let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
    let ep = open(&relay, &mut a, &mut b).await;
    a.send(&relay, &data_packet(ep.vni, b"over four sockets"))
        .await;
    assert!(b.recv().await.unwrap().ends_with(b"over four sockets"));
    relay.stop().await;
}

/// Bound to `0.0.0.0` without a static endpoint, the relay advertises the
/// machine's interface addresses with its port, or does not start when there
/// is none. (The advertised addresses are only read, never sent to: the test
/// talks to the relay over loopback.)
#[tokio::test]
async fn a_wildcard_relay_advertises_the_interface_addresses_or_refuses_to_start() {
    let discovered = tailgrant::relay::advertise::interface_addresses().unwrap();
    let options = Options {
        listen: vec!["0.0.0.0:0".parse().unwrap()],
        static_endpoints: vec![],
        ..options_on("0.0.0.0:0".parse().unwrap())
    };
    let policy = shared(LoadedPolicy::new(
        Arc::new(StaticPolicy::allow([*key(2).public()])),
        1,
        "first",
    ));
    let bound = BoundRelay::bind(options, key(1), policy).await;
    // Only IPv4 addresses go with an IPv4 wildcard.
    let discovered: Vec<_> = discovered.into_iter().filter(|ip| ip.is_ipv4()).collect();
    if discovered.is_empty() {
        let err = bound.err().unwrap();
        assert!(matches!(err, RelayError::NoAddressToAdvertise(_)), "{err}");
        assert!(err.to_string().contains("--static-endpoint"), "{err}");
        return;
    }
    let bound = bound.unwrap();
    let port = bound.local_addrs()[0].port();
    let relay_key = bound.public_key();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(async {
        let _ = rx.await;
    }));
    let mut alice = RelayClient::new(key(2), StdRng::seed_from_u64(2));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let req = alice.allocate_request(&relay_key, key(3).public(), 7);
    socket
        .send_to(&req, SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let mut buf = vec![0u8; 2048];
    let (n, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let ep = alice.allocate_response(&relay_key, &buf[..n], 7).unwrap();
    let want: Vec<SocketAddr> = discovered
        .iter()
        .map(|&ip| SocketAddr::new(ip, port))
        .collect();
    assert!(!ep.addr_ports.is_empty());
    assert_eq!(ep.addr_ports, want);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn never_starts_without_a_valid_policy() {
    let r = BoundRelay::bind(Options::default(), key(1), shared(LoadedPolicy::none())).await;
    assert!(matches!(r, Err(RelayError::NoPolicy)));
}

#[tokio::test]
async fn the_relay_port_is_not_a_stun_reflector() {
    let relay = Relay::start(&[], |_| {}).await;
    let peer = Peer::new(2).await;
    let mut req = Vec::new();
    tailgrant::relay::stun::binding_request(&[3; 12], &mut req);
    peer.send(&relay, &req).await;
    assert_eq!(
        peer.recv().await,
        None,
        "a STUN binding request was answered"
    );
    assert!(
        relay.metric(r#"reason="stun""#),
        "{}",
        relay.metrics.encode()
    );
    relay.stop().await;
}

#[tokio::test]
async fn ping_through_the_relay() {
    let relay = Relay::start(&[*key(2).public()], |_| {}).await;
    let opts = PingOptions {
        relay: relay.addr,
        relay_key: relay.key,
        count: 5,
        timeout: Duration::from_millis(500),
        attempts: 2,
    };
    let report = ping(&opts, key(2), key(3)).await.unwrap();
    assert_eq!(report.rtts.len(), 5);
    assert_eq!(report.lost, 0);
    assert!(report.quantile(0.5).unwrap() < Duration::from_millis(100));
    // The other identity is not allowed to allocate.
    let opts = PingOptions {
        timeout: Duration::from_millis(100),
        ..opts
    };
    assert!(matches!(
        ping(&opts, key(3), key(2)).await,
        Err(PingError::NoAllocation)
    ));
    relay.stop().await;
}

/// A burst of datagrams of mixed sizes (GSO runs of equal sizes, a shorter last one,
/// a larger one) arrives datagram by datagram, unchanged and counted, on both I/O paths.
#[tokio::test]
async fn a_burst_of_mixed_sizes_is_forwarded_datagram_by_datagram() {
    for batched_io in [true, false] {
        let (mut a, mut b) = (Peer::new(2).await, Peer::new(3).await);
        let relay = Relay::start(&[a.client.public_key()], |o| o.batched_io = batched_io).await;
        let ep = open(&relay, &mut a, &mut b).await;
        let sizes = [1200, 1200, 1200, 700, 1200, 1400, 1400, 100, 100, 100];
        let packets: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| data_packet(ep.vni, &vec![i as u8; n]))
            .collect();
        for p in &packets {
            a.send(&relay, p).await;
        }
        for p in &packets {
            assert_eq!(
                b.recv().await.as_deref(),
                Some(&p[..]),
                "batched_io {batched_io}"
            );
        }
        let bytes: usize = packets.iter().map(Vec::len).sum();
        assert!(relay.metric(&format!(
            "tailscaled_peer_relay_forwarded_packets_total{{transport_in=\"udp4\",transport_out=\"udp4\"}} {}",
            packets.len()
        )));
        assert!(relay.metric(&format!(
            "tailscaled_peer_relay_forwarded_bytes_total{{transport_in=\"udp4\",transport_out=\"udp4\"}} {bytes}"
        )));
        relay.stop().await;
    }
}

/// The second leg's Answer and the first ping come from different addresses and may
/// be handled by different SO_REUSEPORT sockets in either order; the relay sends no
/// bind confirmation. `ping` probes until a packet crosses, so no ping is lost, on
/// either I/O path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ping_is_never_lost() {
    for batched_io in [true, false] {
        let relay = Relay::start(&[*key(2).public()], |o| {
            o.sockets_per_address = 8;
            o.batched_io = batched_io;
        })
        .await;
        let opts = PingOptions {
            relay: relay.addr,
            relay_key: relay.key,
            count: 1,
            timeout: Duration::from_secs(2),
            attempts: 2,
        };
        for _ in 0..20 {
            let report = ping(&opts, key(2), key(3)).await.unwrap();
            assert_eq!(
                (report.rtts.len(), report.lost),
                (1, 0),
                "batched_io {batched_io}"
            );
            assert!(report.rtts[0] < Duration::from_secs(1));
        }
        relay.stop().await;
    }
}

#[tokio::test]
async fn ipv4_and_ipv6_legs() {
    let Ok(probe) = UdpSocket::bind("[::1]:0").await else {
        return; // no IPv6 loopback here
    };
    drop(probe);
    let mut a = Peer::new(2).await;
    let mut b = Peer {
        client: RelayClient::new(key(3), StdRng::seed_from_u64(3)),
        socket: UdpSocket::bind("[::1]:0").await.unwrap(),
    };
    let relay = Relay::start(&[a.client.public_key()], |o| {
        o.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    })
    .await;
    let ep = a.allocate(&relay, &b.client.public_key()).await.unwrap();
    let v6 = *ep.addr_ports.iter().find(|a| a.is_ipv6()).unwrap();
    a.bind(&relay, &ep).await;
    let bind = b.client.bind(&ep, 1);
    b.socket.send_to(&bind, v6).await.unwrap();
    let challenge = b.recv().await.unwrap();
    let answer = b.client.answer(&ep, &challenge).unwrap();
    b.socket.send_to(&answer, v6).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pkt = data_packet(ep.vni, b"4to6");
    a.send(&relay, &pkt).await;
    assert_eq!(b.recv().await.as_deref(), Some(&pkt[..]));
    b.socket.send_to(&pkt, v6).await.unwrap();
    assert_eq!(a.recv().await.as_deref(), Some(&pkt[..]));
    assert!(relay.metric(
        "tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp4\",transport_out=\"udp6\"} 1"
    ));
    assert!(relay.metric(
        "tailscaled_peer_relay_forwarded_packets_total{transport_in=\"udp6\",transport_out=\"udp4\"} 1"
    ));
    relay.stop().await;
}
