//! Forwarded packets per second through the relay daemon on loopback, for 1
//! and 8 flows, next to a minimal blocking recv/send forwarder measured in the
//! same run (the ceiling on this machine); the relay with batched I/O (the
//! default: recvmmsg, GRO, GSO) and with one datagram per system call
//! (`relay_unbatched`); and the core's allocation latency (box open, policy
//! check, sealed response).
//!
//! `cargo bench --bench relay_forward`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// The binary's allocator (`src/main.rs`), so that the figures are what `tailgrant` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::{data_packet, RelayClient};
use tailgrant::relay::daemon::{BoundRelay, Options};
use tailgrant::relay::disco::DiscoKey;
use tailgrant::relay::keys::DiscoKeyPair;
use tailgrant::relay::policy::{shared, LoadedPolicy, StaticPolicy};
use tailgrant::relay::server::{RelayServer, ServerConfig};

const WINDOW: usize = 64;
const PAYLOAD: usize = 1200;

/// One unidirectional flow: `tx` sends `packet` to `via`, `rx` receives.
struct Flow {
    tx: UdpSocket,
    rx: UdpSocket,
    via: SocketAddr,
    packet: Vec<u8>,
}

impl Flow {
    /// Pushes `n` packets through with at most WINDOW in flight; lost ones
    /// are written off after a short timeout.
    fn run(&self, n: u64) {
        let mut buf = [0u8; 2048];
        let (mut sent, mut got, mut in_flight) = (0u64, 0u64, 0usize);
        while got < n {
            while in_flight < WINDOW && sent < n {
                self.tx.send_to(&self.packet, self.via).unwrap();
                sent += 1;
                in_flight += 1;
            }
            match self.rx.recv_from(&mut buf) {
                Ok(_) => {
                    got += 1;
                    in_flight -= 1;
                }
                Err(_) => {
                    // Timed out: count what is in flight as lost.
                    got += in_flight as u64;
                    in_flight = 0;
                }
            }
        }
    }
}

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    s
}

fn run_flows(flows: &[Flow], iters: u64) -> Duration {
    let per_flow = iters.div_ceil(flows.len() as u64);
    let start = Instant::now();
    std::thread::scope(|s| {
        for f in flows {
            s.spawn(move || f.run(per_flow));
        }
    });
    start.elapsed()
}

/// The ceiling: one blocking thread, recv_from then send_to the mapped peer.
fn minimal_forwarder(n_flows: usize) -> Vec<Flow> {
    let fwd = UdpSocket::bind("127.0.0.1:0").unwrap();
    let via = fwd.local_addr().unwrap();
    let flows: Vec<Flow> = (0..n_flows)
        .map(|_| Flow {
            tx: socket(),
            rx: socket(),
            via,
            packet: vec![7; PAYLOAD + 8],
        })
        .collect();
    let routes: HashMap<SocketAddr, SocketAddr> = flows
        .iter()
        .map(|f| (f.tx.local_addr().unwrap(), f.rx.local_addr().unwrap()))
        .collect();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        loop {
            let Ok((n, src)) = fwd.recv_from(&mut buf) else {
                return;
            };
            if let Some(to) = routes.get(&src) {
                let _ = fwd.send_to(&buf[..n], to);
            }
        }
    });
    flows
}

fn client(n: u8) -> RelayClient {
    RelayClient::new(
        DiscoKeyPair::from_secret_bytes([n; 32]),
        StdRng::seed_from_u64(u64::from(n)),
    )
}

fn exchange(s: &UdpSocket, to: SocketAddr, p: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    s.send_to(p, to).unwrap();
    let (n, _) = s.recv_from(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// The relay daemon on its own runtime, with `n_flows` open endpoints.
fn relay_flows(rt: &tokio::runtime::Runtime, n_flows: usize, batched_io: bool) -> Vec<Flow> {
    let senders: Vec<RelayClient> = (0..n_flows).map(|i| client(10 + i as u8)).collect();
    let allowed: Vec<DiscoKey> = senders.iter().map(|c| c.public_key()).collect();
    let policy = shared(LoadedPolicy::new(
        Arc::new(StaticPolicy::allow(allowed)),
        1,
        "bench",
    ));
    let options = Options {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        batched_io,
        ..Options::default()
    };
    let bound = rt
        .block_on(BoundRelay::bind(
            options,
            DiscoKeyPair::from_secret_bytes([1; 32]),
            policy,
        ))
        .unwrap();
    let via = bound.local_addrs()[0];
    let relay_key = bound.public_key();
    rt.spawn(bound.serve(std::future::pending()));
    senders
        .into_iter()
        .enumerate()
        .map(|(i, mut a)| {
            let mut b = client(100 + i as u8);
            let (tx, rx) = (socket(), socket());
            let req = a.allocate_request(&relay_key, &b.public_key(), 1);
            let ep = a
                .allocate_response(&relay_key, &exchange(&tx, via, &req), 1)
                .unwrap();
            for (c, s) in [(&mut a, &tx), (&mut b, &rx)] {
                let challenge = exchange(s, via, &c.bind(&ep, 1));
                s.send_to(&c.answer(&ep, &challenge).unwrap(), via).unwrap();
            }
            let flow = Flow {
                tx,
                rx,
                via,
                packet: data_packet(ep.vni, &[7; PAYLOAD]),
            };
            // The relay confirms no bind: probe until a packet crosses.
            let mut buf = [0u8; 2048];
            loop {
                flow.tx.send_to(&flow.packet, via).unwrap();
                if flow.rx.recv_from(&mut buf).is_ok() {
                    break;
                }
            }
            flow
        })
        .collect()
}

fn forwarding(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("forward");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(1));
    for n in [1usize, 8] {
        let baseline = minimal_forwarder(n);
        g.bench_function(format!("minimal_forwarder/{n}_flows"), |b| {
            b.iter_custom(|iters| run_flows(&baseline, iters))
        });
        let relay = relay_flows(&rt, n, true);
        g.bench_function(format!("relay/{n}_flows"), |b| {
            b.iter_custom(|iters| run_flows(&relay, iters))
        });
        let unbatched = relay_flows(&rt, n, false);
        g.bench_function(format!("relay_unbatched/{n}_flows"), |b| {
            b.iter_custom(|iters| run_flows(&unbatched, iters))
        });
    }
    g.finish();
}

fn allocation(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut relay = RelayServer::new(
        ServerConfig {
            allocation_rate: 1e12,
            allocation_burst: 1e12,
            advertised: vec!["127.0.0.1:7777".parse().unwrap()],
            ..ServerConfig::default()
        },
        DiscoKeyPair::from_secret_bytes([1; 32]),
        StdRng::seed_from_u64(0),
        t0,
    );
    let mut alice = client(2);
    let policy = StaticPolicy::allow([alice.public_key()]);
    let relay_key = *relay.public_key();
    let src: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut out = Vec::new();
    let mut g = c.benchmark_group("allocate");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    g.bench_function("request_to_response", |b| {
        b.iter_batched(
            || alice.allocate_request(&relay_key, &[3; 32], 1),
            |req| relay.handle(src, &req, t0, &policy, &mut out),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, forwarding, allocation);
criterion_main!(benches);
