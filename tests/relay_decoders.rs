//! Property tests: the relay's decoders and state machine never panic,
//! whatever the input.
#![cfg(feature = "relay-core")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tailgrant::relay::client::{data_packet, RelayClient};
use tailgrant::relay::disco::{Envelope, Message, DISCO_MAGIC};
use tailgrant::relay::geneve::GeneveHeader;
use tailgrant::relay::keys::DiscoKeyPair;
use tailgrant::relay::policy::StaticPolicy;
use tailgrant::relay::server::{RelayServer, ServerConfig};
use tailgrant::relay::stun;

fn prefixed() -> impl Strategy<Value = Vec<u8>> {
    let tail = proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        tail.clone(),
        tail.clone().prop_map(|t| [&DISCO_MAGIC[..], &t].concat()),
        tail.clone()
            .prop_map(|t| [&[0u8, 0x80, 0x7a, 0x11][..], &t].concat()),
        tail.clone()
            .prop_map(|t| [&[0u8, 0x00, 0x7a, 0x12, 0, 0, 1, 0][..], &t].concat()),
        tail.prop_map(|t| [&[0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42][..], &t].concat()),
    ]
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in prefixed()) {
        let _ = GeneveHeader::decode(&bytes);
        let _ = Message::decode(&bytes);
        if let Ok(env) = Envelope::parse(&bytes) {
            let shared = DiscoKeyPair::from_secret_bytes([1; 32]).shared_with(&env.sender);
            let _ = env.open(&shared, &mut Vec::new());
        }
        let _ = stun::is_binding(&bytes);
    }

    #[test]
    fn message_bodies_never_panic(ty in 4u8..=9, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let plain = [&[ty, 0][..], &body].concat();
        if let Ok(m) = Message::decode(&plain) {
            // What decodes re-encodes to a prefix of the input.
            let mut again = Vec::new();
            m.encode(&mut again);
            prop_assert!(plain.starts_with(&again));
        }
    }

}

proptest! {
    // Each case seals and opens boxes: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn state_machine_never_panics(
        packets in proptest::collection::vec((prefixed(), 0u8..3, 0u64..400), 0..20),
        mutate in proptest::collection::vec((0usize..200, any::<u8>()), 0..4),
    ) {
        let t0 = Instant::now();
        let mut relay = RelayServer::new(
            ServerConfig {
                advertised: vec!["127.0.0.1:7777".parse().unwrap()],
                ..ServerConfig::default()
            },
            DiscoKeyPair::from_secret_bytes([1; 32]),
            StdRng::seed_from_u64(0),
            t0,
        );
        let mut alice = RelayClient::new(DiscoKeyPair::from_secret_bytes([2; 32]), StdRng::seed_from_u64(2));
        let policy = StaticPolicy::allow([alice.public_key()]);
        let addrs: [SocketAddr; 3] = [
            "127.0.0.1:1".parse().unwrap(),
            "[::1]:2".parse().unwrap(),
            "10.0.0.1:3".parse().unwrap(),
        ];
        let mut out = Vec::new();
        // A real allocation and bind, then mutated copies of them and noise.
        let req = alice.allocate_request(relay.public_key(), &[3; 32], 1);
        relay.handle(addrs[0], &req, t0, &policy, &mut out);
        let ep = alice.allocate_response(relay.public_key(), &out.clone(), 1).unwrap();
        let mut valid = vec![req, alice.bind(&ep, 1), data_packet(ep.vni, b"x")];
        for (i, (at, byte)) in mutate.iter().enumerate() {
            let mut p = valid[i % valid.len()].clone();
            let len = p.len();
            p[at % len] ^= byte;
            valid.push(p);
        }
        for p in &valid {
            relay.handle(addrs[0], p, t0, &policy, &mut out);
        }
        for (p, from, secs) in &packets {
            let now = t0 + Duration::from_secs(*secs);
            relay.handle(addrs[usize::from(*from)], p, now, &policy, &mut out);
            relay.expire(now);
        }
        relay.revoke(&policy);
    }
}
