//! Fuzzes the relay's packet decoders and its state machine.
//!
//! Run with `cargo +nightly fuzz run relay_packet` from the repository root.
//! The input is split into datagrams; a first real allocation and bind give
//! the state machine an endpoint to reach.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::RelayClient;
use tailgrant::relay::disco::{Envelope, Message};
use tailgrant::relay::geneve::GeneveHeader;
use tailgrant::relay::keys::DiscoKeyPair;
use tailgrant::relay::policy::StaticPolicy;
use tailgrant::relay::server::{RelayServer, ServerConfig};
use tailgrant::relay::stun;

fuzz_target!(|data: &[u8]| {
    let _ = GeneveHeader::decode(data);
    let _ = Message::decode(data);
    let _ = Envelope::parse(data);
    let _ = stun::is_binding(data);

    let t0 = Instant::now();
    let mut relay = RelayServer::new(
        ServerConfig {
            advertised: vec![std::net::SocketAddr::from(([127, 0, 0, 1], 7777))],
            ..ServerConfig::default()
        },
        DiscoKeyPair::from_secret_bytes([1; 32]),
        StdRng::seed_from_u64(0),
        t0,
    );
    let mut alice = RelayClient::new(
        DiscoKeyPair::from_secret_bytes([2; 32]),
        StdRng::seed_from_u64(2),
    );
    let policy = StaticPolicy::allow([alice.public_key()]);
    let a: SocketAddr = ([127, 0, 0, 1], 1).into();
    let mut out = Vec::new();
    let req = alice.allocate_request(relay.public_key(), &[3; 32], 1);
    relay.handle(a, &req, t0, &policy, &mut out);
    let Ok(ep) = alice.allocate_response(relay.public_key(), &out.clone(), 1) else {
        return;
    };
    let bind = alice.bind(&ep, 1);
    relay.handle(a, &bind, t0, &policy, &mut out);

    // Datagrams are separated by 0xff; the first byte of each picks a source and a time.
    for (i, chunk) in data.split(|&b| b == 0xff).enumerate() {
        let Some((&sel, packet)) = chunk.split_first() else {
            continue;
        };
        let src: SocketAddr = ([127, 0, 0, 1], u16::from(sel % 4)).into();
        let now = t0 + Duration::from_millis(u64::from(sel) * 1000 + i as u64);
        relay.handle(src, packet, now, &policy, &mut out);
        relay.expire(now);
    }
    relay.revoke(&policy);
});
