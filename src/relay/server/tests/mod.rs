//! Unit tests of the relay core: every message and every state change. The fixture and
//! the allocation, rate-limit, revocation and flood tests are here; binding and
//! forwarding are in `binding`, lifetimes and expiry in `lifetimes`.

use super::*;
use crate::relay::client::{data_packet, RelayClient};
use crate::relay::disco::DiscoError;
use crate::relay::policy::StaticPolicy;
use rand::SeedableRng;

const A_ADDR: &str = "127.0.0.1:1001";
const B_ADDR: &str = "[::1]:1002";

struct Fixture {
    relay: RelayServer,
    alice: RelayClient,
    bob: RelayClient,
    policy: StaticPolicy,
    t0: Instant,
    out: Vec<u8>,
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn fixture_with(cfg: ServerConfig) -> Fixture {
    let t0 = Instant::now();
    let relay = RelayServer::new(
        cfg,
        DiscoKeyPair::from_secret_bytes([1; 32]),
        StdRng::seed_from_u64(1),
        t0,
    );
    let alice = RelayClient::new(
        DiscoKeyPair::from_secret_bytes([2; 32]),
        StdRng::seed_from_u64(2),
    );
    let bob = RelayClient::new(
        DiscoKeyPair::from_secret_bytes([3; 32]),
        StdRng::seed_from_u64(3),
    );
    let policy = StaticPolicy::allow([alice.public_key()]);
    Fixture {
        relay,
        alice,
        bob,
        policy,
        t0,
        out: Vec::new(),
    }
}

/// The default configuration, with two addresses to advertise.
fn config() -> ServerConfig {
    ServerConfig {
        advertised: vec![addr("198.51.100.1:7777"), addr("127.0.0.1:7777")],
        ..ServerConfig::default()
    }
}

fn fixture() -> Fixture {
    fixture_with(config())
}

impl Fixture {
    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    fn send(&mut self, from: &str, packet: &[u8], now: Instant) -> Action {
        self.relay
            .handle(addr(from), packet, now, &self.policy, &mut self.out)
    }

    fn allocate(&mut self, now: Instant) -> RelayEndpoint {
        let relay_key = *self.relay.public_key();
        let req = self
            .alice
            .allocate_request(&relay_key, &self.bob.public_key(), 9);
        let action = self.send(A_ADDR, &req, now);
        assert!(
            matches!(action, Action::Reply(ReplyKind::Allocated { .. })),
            "{action:?}"
        );
        let reply = self.out.clone();
        self.alice.allocate_response(&relay_key, &reply, 9).unwrap()
    }

    fn bind(&mut self, who: char, from: &str, ep: &RelayEndpoint, now: Instant) -> Action {
        let client = if who == 'a' {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let bind = client.bind(ep, 1);
        let action = self
            .relay
            .handle(addr(from), &bind, now, &self.policy, &mut self.out);
        assert_eq!(action, Action::Reply(ReplyKind::Challenge));
        let client = if who == 'a' {
            &mut self.alice
        } else {
            &mut self.bob
        };
        let answer = client.answer(ep, &self.out).unwrap();
        self.relay
            .handle(addr(from), &answer, now, &self.policy, &mut self.out)
    }

    fn open_endpoint(&mut self) -> RelayEndpoint {
        let ep = self.allocate(self.t0);
        assert_eq!(
            self.bind('a', A_ADDR, &ep, self.t0),
            Action::Bound {
                vni: ep.vni,
                open: false
            }
        );
        assert_eq!(
            self.bind('b', B_ADDR, &ep, self.t0),
            Action::Bound {
                vni: ep.vni,
                open: true
            }
        );
        ep
    }
}

#[test]
fn allocation_describes_the_endpoint() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    assert_eq!(ep.vni, 1);
    assert_eq!(ep.lamport_id, 1);
    assert_eq!(ep.server_disco, *f.relay.public_key());
    let mut pair = [f.alice.public_key(), f.bob.public_key()];
    pair.sort();
    assert_eq!(ep.client_disco, pair);
    assert_eq!(ep.bind_lifetime, Duration::from_secs(30));
    assert_eq!(ep.steady_state_lifetime, Duration::from_secs(300));
    assert_eq!(
        ep.addr_ports,
        vec![addr("198.51.100.1:7777"), addr("127.0.0.1:7777")]
    );
    assert_eq!(f.relay.endpoint_counts(), (1, 0));
}

#[test]
fn repeated_allocation_returns_the_same_endpoint() {
    let mut f = fixture();
    let first = f.allocate(f.t0);
    let again = f.allocate(f.at(1));
    assert_eq!(first, again);
    // The other client of the pair asking (when allowed) gets it too.
    f.policy = StaticPolicy::allow([f.alice.public_key(), f.bob.public_key()]);
    let relay_key = *f.relay.public_key();
    let req = f.bob.allocate_request(&relay_key, &f.alice.public_key(), 4);
    let action = f.send(B_ADDR, &req, f.at(2));
    assert_eq!(
        action,
        Action::Reply(ReplyKind::Allocated {
            vni: first.vni,
            new: false
        })
    );
    let out = f.out.clone();
    assert_eq!(
        f.bob.allocate_response(&relay_key, &out, 4).unwrap().vni,
        first.vni
    );
}

#[test]
fn denied_requester_gets_nothing() {
    let mut f = fixture();
    let relay_key = *f.relay.public_key();
    let req = f.bob.allocate_request(&relay_key, &f.alice.public_key(), 1);
    let action = f.send(B_ADDR, &req, f.t0);
    assert_eq!(
        action,
        Action::Drop(DropReason::Denied(Denial::UnknownDiscoKey))
    );
    assert!(f.out.is_empty());
    assert_eq!(f.relay.endpoint_counts(), (0, 0));
}

#[test]
fn requester_must_be_in_the_pair() {
    let mut f = fixture();
    let relay_key = *f.relay.public_key();
    let mut req = Vec::new();
    let msg = Message::AllocateRequest(AllocateRequest {
        client_disco: [[8; 32], [9; 32]],
        generation: 1,
    });
    let shared = DiscoKeyPair::from_secret_bytes([2; 32]).shared_with(&relay_key);
    seal(&shared, &f.alice.public_key(), &[5; 24], &msg, &mut req);
    assert_eq!(
        f.send(A_ADDR, &req, f.t0),
        Action::Drop(DropReason::NotInPair)
    );
}

#[test]
fn forged_box_and_replay_are_dropped() {
    let mut f = fixture();
    let relay_key = *f.relay.public_key();
    let mut req = f.alice.allocate_request(&relay_key, &f.bob.public_key(), 1);
    let good = req.clone();
    let last = req.len() - 1;
    req[last] ^= 0x40;
    assert_eq!(
        f.send(A_ADDR, &req, f.t0),
        Action::Drop(DropReason::Disco(DiscoError::BadBox))
    );
    assert!(matches!(f.send(A_ADDR, &good, f.t0), Action::Reply(_)));
    assert_eq!(
        f.send(A_ADDR, &good, f.t0),
        Action::Drop(DropReason::Replay)
    );
}

#[test]
fn stun_binding_requests_are_not_answered() {
    let mut f = fixture();
    let mut req = Vec::new();
    stun::binding_request(&[4; 12], &mut req);
    assert_eq!(f.send(A_ADDR, &req, f.t0), Action::Drop(DropReason::Stun));
    assert!(f.out.is_empty());
}

#[test]
fn garbage_is_dropped() {
    let mut f = fixture();
    assert!(matches!(
        f.send(A_ADDR, b"\xff\xff", f.t0),
        Action::Drop(DropReason::Geneve(_))
    ));
    assert!(matches!(
        f.send(A_ADDR, &[0; 40], f.t0),
        Action::Drop(DropReason::Geneve(_))
    ));
}

#[test]
fn allocation_rate_is_limited_per_sender() {
    let mut f = fixture_with(ServerConfig {
        allocation_rate: 1.0,
        allocation_burst: 2.0,
        ..config()
    });
    let relay_key = *f.relay.public_key();
    let bob = f.bob.public_key();
    for _ in 0..2 {
        let req = f.alice.allocate_request(&relay_key, &bob, 1);
        assert!(matches!(f.send(A_ADDR, &req, f.t0), Action::Reply(_)));
    }
    let req = f.alice.allocate_request(&relay_key, &bob, 1);
    assert_eq!(
        f.send(A_ADDR, &req, f.t0),
        Action::Drop(DropReason::RateLimited)
    );
    let req = f.alice.allocate_request(&relay_key, &bob, 1);
    assert!(matches!(f.send(A_ADDR, &req, f.at(1)), Action::Reply(_)));
}

#[test]
fn endpoint_limits_hold() {
    let mut f = fixture_with(ServerConfig {
        max_endpoints: 3,
        max_endpoints_per_node: 2,
        ..config()
    });
    let relay_key = *f.relay.public_key();
    let results: Vec<Action> = (10u8..13)
        .map(|peer| {
            let req = f.alice.allocate_request(&relay_key, &[peer; 32], 1);
            f.send(A_ADDR, &req, f.t0)
        })
        .collect();
    assert!(matches!(results[1], Action::Reply(_)));
    assert_eq!(results[2], Action::Drop(DropReason::TooManyForNode));
    let mut carol = RelayClient::new(
        DiscoKeyPair::from_secret_bytes([4; 32]),
        StdRng::seed_from_u64(4),
    );
    f.policy = StaticPolicy::allow([f.alice.public_key(), carol.public_key()]);
    for (peer, expect_ok) in [(20u8, true), (21, false)] {
        let req = carol.allocate_request(&relay_key, &[peer; 32], 1);
        let action = f.send(A_ADDR, &req, f.t0);
        assert_eq!(matches!(action, Action::Reply(_)), expect_ok, "{action:?}");
    }
}

#[test]
fn revoke_closes_endpoints_the_policy_no_longer_allows() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    assert!(f.relay.revoke(&f.policy).is_empty());
    let denial = Denial::NoRelayGrant {
        node: "alice".into(),
    };
    let new_policy = StaticPolicy::deny_all(denial.clone());
    assert_eq!(
        f.relay.revoke(&new_policy),
        vec![ClosedEndpoint {
            vni: ep.vni,
            denial
        }]
    );
    let pkt = data_packet(ep.vni, b"x");
    assert_eq!(
        f.send(A_ADDR, &pkt, f.t0),
        Action::Drop(DropReason::UnknownVni)
    );
}

#[test]
fn challenge_survives_one_rotation_only() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let bind = f.alice.bind(&ep, 1);
    f.send(A_ADDR, &bind, f.t0);
    let challenge = f.out.clone();
    let answer = f.alice.answer(&ep, &challenge).unwrap();
    // Past the bind lifetime the endpoint is gone anyway; use a long one.
    let mut g = fixture_with(ServerConfig {
        bind_lifetime: Duration::from_secs(3600),
        ..config()
    });
    let ep = g.allocate(g.t0);
    let bind = g.alice.bind(&ep, 1);
    g.send(A_ADDR, &bind, g.t0);
    let c = g.out.clone();
    let late = g.alice.answer(&ep, &c).unwrap();
    // Another bind of the same generation at t0+250 rotates the key twice;
    // the old answer no longer works.
    let bind2 = g.alice.bind(&ep, 1);
    g.send(A_ADDR, &bind2, g.at(250));
    assert_eq!(
        g.send(A_ADDR, &late, g.at(250)),
        Action::Drop(DropReason::BadChallenge)
    );
    assert!(matches!(
        f.send(A_ADDR, &answer, f.at(10)),
        Action::Bound { .. }
    ));
}

#[test]
fn vnis_wrap_and_skip_used() {
    let mut f = fixture();
    f.relay.next_vni = MAX_VNI;
    let relay_key = *f.relay.public_key();
    let mut vnis = Vec::new();
    for peer in 30u8..33 {
        let req = f.alice.allocate_request(&relay_key, &[peer; 32], 1);
        if let Action::Reply(ReplyKind::Allocated { vni, .. }) = f.send(A_ADDR, &req, f.t0) {
            vnis.push(vni);
        }
    }
    assert_eq!(vnis, vec![MAX_VNI, 1, 2]);
}

/// Replaces the claimed sender of a disco message that starts at `at`.
fn with_sender(packet: &[u8], at: usize, sender: &DiscoKey) -> Vec<u8> {
    let mut p = packet.to_vec();
    let start = at + DISCO_MAGIC.len();
    p[start..start + 32].copy_from_slice(sender);
    p
}

#[test]
fn a_flood_of_unknown_senders_costs_no_key_exchange_and_evicts_nothing() {
    let mut f = fixture_with(ServerConfig {
        key_cache_capacity: 2,
        ..config()
    });
    // The policy knows alice only; bob is known to the relay as her chosen peer.
    f.policy = f.policy.clone().known_only();
    let ep = f.open_endpoint();
    let (alice, bob) = (f.alice.public_key(), f.bob.public_key());
    assert_eq!(f.relay.keys.len(), 2, "the cache is full");
    assert!(f.relay.keys.contains(&alice) && f.relay.keys.contains(&bob));

    let relay_key = *f.relay.public_key();
    let request = f.alice.allocate_request(&relay_key, &bob, 5);
    let bind = f.alice.bind(&ep, 2);
    let mut rng = StdRng::seed_from_u64(7);
    for i in 0..2_000 {
        let mut sender = [0u8; 32];
        rng.fill_bytes(&mut sender);
        let packet = if i % 2 == 0 {
            with_sender(&request, 0, &sender)
        } else {
            with_sender(&bind, GENEVE_HEADER_LEN, &sender)
        };
        assert_eq!(
            f.send(A_ADDR, &packet, f.t0),
            Action::Drop(DropReason::UnknownSender)
        );
    }
    assert_eq!(DropReason::UnknownSender.label(), "unknown_sender");
    // No key was computed for them, none of the peers' keys was evicted.
    assert_eq!(f.relay.keys.len(), 2);
    assert!(f.relay.keys.contains(&alice) && f.relay.keys.contains(&bob));

    // Being one of an endpoint's pair counts for binding, not for allocating.
    let from_bob = f.bob.allocate_request(&relay_key, &alice, 6);
    assert_eq!(
        f.send(B_ADDR, &from_bob, f.t0),
        Action::Drop(DropReason::UnknownSender)
    );
    assert_eq!(
        f.bind('b', B_ADDR, &ep, f.t0),
        Action::Bound {
            vni: ep.vni,
            open: true
        }
    );
    let data = data_packet(ep.vni, b"still here");
    assert_eq!(f.send(A_ADDR, &data, f.t0), Action::Forward(addr(B_ADDR)));
}

#[test]
fn a_closed_endpoint_no_longer_vouches_for_its_pair() {
    let mut f = fixture();
    f.policy = f.policy.clone().known_only();
    let ep = f.allocate(f.t0);
    assert!(f.relay.members.contains_key(&f.bob.public_key()));
    // Past the bind lifetime the endpoint is gone, and bob with it.
    assert_eq!(f.relay.expire(f.at(31)), 1);
    assert!(f.relay.members.is_empty());
    let bind = f.bob.bind(&ep, 1);
    assert_eq!(
        f.send(B_ADDR, &bind, f.at(31)),
        Action::Drop(DropReason::UnknownSender)
    );
}

mod binding;
mod lifetimes;
