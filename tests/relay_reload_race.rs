//! A policy reload that denies a node while it floods allocation requests: no endpoint of
//! the denied node may survive the reload, on any of the relay's sockets.
#![cfg(feature = "relay")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::RelayClient;
use tailgrant::relay::daemon::{BoundRelay, Options};
use tailgrant::relay::disco::{DiscoKey, RelayEndpoint};
use tailgrant::relay::keys::DiscoKeyPair;
use tailgrant::relay::policy::{shared, Denial, LoadedPolicy, StaticPolicy};
use tailgrant::relay::server::ServerConfig;
use tokio::sync::oneshot;

const FLIPS: u64 = 40;
const FLOODERS: u64 = 4;

fn requester() -> DiscoKeyPair {
    DiscoKeyPair::from_secret_bytes([2; 32])
}

/// What the flooding threads share with the test.
#[derive(Default)]
struct Flood {
    stop: AtomicBool,
    /// Allocation responses received.
    answered: AtomicUsize,
    /// The endpoints of the responses received since the test last took them (at most
    /// [`RECENT`]).
    recent: Mutex<Vec<RelayEndpoint>>,
}

const RECENT: usize = 16;

/// Sends allocation requests for (requester, a new peer key) in bursts from two sockets of
/// its own (so the kernel spreads the flood over the relay's sockets) and reads the answers.
fn flood(relay: SocketAddr, relay_key: DiscoKey, seed: u64, state: Arc<Flood>) {
    let sockets = [(); 2].map(|()| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        socket
    });
    let mut client = RelayClient::new(requester(), StdRng::seed_from_u64(seed));
    let mut buf = vec![0u8; 2048];
    let mut n: u64 = 0;
    while !state.stop.load(Ordering::Relaxed) {
        for socket in &sockets {
            n += 1;
            let mut peer = [0xEE; 32];
            peer[..8].copy_from_slice(&seed.to_le_bytes());
            peer[8..16].copy_from_slice(&n.to_le_bytes());
            let request = client.allocate_request(&relay_key, &peer, 1);
            // A full send buffer only slows the flood down.
            let _ = socket.send_to(&request, relay);
            while let Ok((len, _)) = socket.recv_from(&mut buf) {
                if let Ok(endpoint) = client.allocate_response(&relay_key, &buf[..len], 1) {
                    let mut recent = state.recent.lock().unwrap();
                    if recent.len() == RECENT {
                        recent.remove(0);
                    }
                    recent.push(endpoint);
                    state.answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // Bursts with short pauses: the relay's loops keep contending for the core's lock
        // without starving the reloads of it.
        if n.is_multiple_of(16) {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// How many of `endpoints` the relay answers a Bind for with a Challenge: the first step of
/// binding a leg, which only an existing endpoint gets.
async fn challenged_binds(relay: SocketAddr, endpoints: &[RelayEndpoint]) -> usize {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut client = RelayClient::new(requester(), StdRng::seed_from_u64(99));
    for endpoint in endpoints {
        socket
            .send_to(&client.bind(endpoint, 1), relay)
            .await
            .unwrap();
    }
    let mut buf = vec![0u8; 2048];
    let mut challenged = 0;
    while let Ok(Ok((len, _))) =
        tokio::time::timeout(Duration::from_millis(50), socket.recv_from(&mut buf)).await
    {
        if endpoints
            .iter()
            .any(|e| client.answer(e, &buf[..len]).is_ok())
        {
            challenged += 1;
        }
    }
    challenged
}

/// The socket loops used to read the policy before taking the core's lock: a batch that
/// waited for the lock was handled under the old policy after the reload had revoked its
/// endpoints, and the revocation never ran again.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn no_endpoint_of_a_denied_node_survives_a_reload_during_an_allocation_flood() {
    let allow = || Arc::new(StaticPolicy::allow([*requester().public()]));
    let deny = || {
        Arc::new(StaticPolicy::deny_all(Denial::NoRelayGrant {
            node: "flooder".into(),
        }))
    };
    let policy = shared(LoadedPolicy::new(allow(), 1, "allow"));
    let options = Options {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        static_endpoints: vec!["198.51.100.7:7777".parse().unwrap()],
        sockets_per_address: 8,
        // Only the reloads below revoke.
        maintenance_interval: Duration::from_secs(3600),
        server: ServerConfig {
            allocation_rate: 1e9,
            allocation_burst: 1e9,
            max_endpoints_per_node: 1_000_000,
            ..ServerConfig::default()
        },
        ..Options::default()
    };
    let bound = BoundRelay::bind(
        options,
        DiscoKeyPair::from_secret_bytes([1; 32]),
        policy.clone(),
    )
    .await
    .unwrap();
    let (addr, relay_key, handle) = (bound.local_addrs()[0], bound.public_key(), bound.handle());
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve(async {
        let _ = stopped.await;
    }));

    let state = Arc::new(Flood::default());
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|seed| {
            let state = state.clone();
            std::thread::spawn(move || flood(addr, relay_key, seed, state))
        })
        .collect();

    let mut survivors = Vec::new();
    let mut generation = 1;
    for flip in 0..FLIPS {
        // Allowed: wait until the flood has been answered again.
        generation += 1;
        policy.store(Arc::new(LoadedPolicy::new(allow(), generation, "allow")));
        handle.apply_policy();
        let before = state.answered.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(5);
        while state.answered.load(Ordering::Relaxed) <= before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            state.answered.load(Ordering::Relaxed) > before,
            "flip {flip}: the flood got no allocation while allowed"
        );
        // Denied: nothing of the requester may be left, now or after the flood goes on.
        generation += 1;
        state.recent.lock().unwrap().clear();
        policy.store(Arc::new(LoadedPolicy::new(deny(), generation, "deny")));
        handle.apply_policy();
        let at_once = handle.endpoint_counts();
        tokio::time::sleep(Duration::from_millis(15)).await;
        let later = handle.endpoint_counts();
        // The endpoints answered around the reload, as the flooder saw them.
        let recent = std::mem::take(&mut *state.recent.lock().unwrap());
        let challenged = challenged_binds(addr, &recent).await;
        if at_once != (0, 0) || later != (0, 0) || challenged > 0 {
            survivors.push((flip, at_once, later, challenged));
        }
    }
    state.stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.join().unwrap();
    }
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    assert!(
        survivors.is_empty(),
        "per failing flip: endpoints (connecting, open) of the denied requester right after \
         and 15 ms after the deny reload, and how many endpoints answered around the reload \
         still took a bind: {survivors:?}"
    );
}
