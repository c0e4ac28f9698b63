//! Unit tests of the relay core: every message and every state change.

use super::*;
use crate::relay::client::{data_packet, RelayClient};
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
fn handshake_binds_both_legs_and_forwards() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    assert_eq!(f.relay.endpoint_counts(), (0, 1));
    let pkt = data_packet(ep.vni, b"hello");
    assert_eq!(f.send(A_ADDR, &pkt, f.at(1)), Action::Forward(addr(B_ADDR)));
    assert_eq!(f.send(B_ADDR, &pkt, f.at(1)), Action::Forward(addr(A_ADDR)));
}

#[test]
fn data_before_binding_is_dropped() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    f.bind('a', A_ADDR, &ep, f.t0);
    let pkt = data_packet(ep.vni, b"x");
    assert_eq!(
        f.send(A_ADDR, &pkt, f.t0),
        Action::Drop(DropReason::NotBound)
    );
}

#[test]
fn unbound_source_and_unknown_vni_are_dropped() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    let pkt = data_packet(ep.vni, b"x");
    assert_eq!(
        f.send("127.0.0.1:1003", &pkt, f.t0),
        Action::Drop(DropReason::UnboundSource)
    );
    let other = data_packet(ep.vni + 1, b"x");
    assert_eq!(
        f.send(A_ADDR, &other, f.t0),
        Action::Drop(DropReason::UnknownVni)
    );
}

#[test]
fn answer_from_another_address_is_refused() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let bind = f.alice.bind(&ep, 1);
    assert_eq!(
        f.send(A_ADDR, &bind, f.t0),
        Action::Reply(ReplyKind::Challenge)
    );
    let challenge = f.out.clone();
    let answer = f.alice.answer(&ep, &challenge).unwrap();
    assert_eq!(
        f.send("127.0.0.1:1999", &answer, f.t0),
        Action::Drop(DropReason::BadChallenge)
    );
}

#[test]
fn box_vni_must_match_the_header() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let mut bind = f.alice.bind(&ep, 1);
    bind[6] ^= 0x01; // the header's VNI, outside the box
    assert_eq!(
        f.send(A_ADDR, &bind, f.t0),
        Action::Drop(DropReason::WrongVni)
    );
}

#[test]
fn bind_for_an_unknown_endpoint_is_dropped() {
    let mut f = fixture();
    let mut ep = f.allocate(f.t0);
    ep.vni = 77;
    let bind = f.alice.bind(&ep, 1);
    assert_eq!(
        f.send(A_ADDR, &bind, f.t0),
        Action::Drop(DropReason::UnknownVni)
    );
}

fn challenge_packet(
    f: &mut Fixture,
    who: char,
    from: &str,
    ep: &RelayEndpoint,
    generation: u32,
) -> Vec<u8> {
    let bind = if who == 'a' {
        f.alice.bind(ep, generation)
    } else {
        f.bob.bind(ep, generation)
    };
    assert_eq!(
        f.send(from, &bind, f.t0),
        Action::Reply(ReplyKind::Challenge)
    );
    f.out.clone()
}

#[test]
fn an_answer_must_carry_the_generation_of_the_legs_bind_in_progress() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    // Two Binds: only the later one's generation is in progress, so the
    // answer to the first challenge (its MAC valid) is refused.
    let first = challenge_packet(&mut f, 'a', A_ADDR, &ep, 1);
    let second = challenge_packet(&mut f, 'a', A_ADDR, &ep, 2);
    let stale = f.alice.answer(&ep, &first).unwrap();
    assert_eq!(
        f.send(A_ADDR, &stale, f.t0),
        Action::Drop(DropReason::BadGeneration)
    );
    let answer = f.alice.answer(&ep, &second).unwrap();
    assert_eq!(
        f.send(A_ADDR, &answer, f.t0),
        Action::Bound {
            vni: ep.vni,
            open: false
        }
    );
    // The handshake is complete: no generation is in progress any more.
    let again = f.alice.answer(&ep, &second).unwrap();
    assert_eq!(
        f.send(A_ADDR, &again, f.t0),
        Action::Drop(DropReason::BadGeneration)
    );
}

#[test]
fn each_leg_keeps_its_own_bind_in_progress() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let alice_challenge = challenge_packet(&mut f, 'a', A_ADDR, &ep, 5);
    let bob_challenge = challenge_packet(&mut f, 'b', B_ADDR, &ep, 7);
    let bob_answer = f.bob.answer(&ep, &bob_challenge).unwrap();
    assert_eq!(
        f.send(B_ADDR, &bob_answer, f.t0),
        Action::Bound {
            vni: ep.vni,
            open: false
        }
    );
    let alice_answer = f.alice.answer(&ep, &alice_challenge).unwrap();
    assert_eq!(
        f.send(A_ADDR, &alice_answer, f.t0),
        Action::Bound {
            vni: ep.vni,
            open: true
        }
    );
}

/// The second half of Tailscale's `TestServer`: after both legs are bound, a
/// client handshakes again from a new address with a new generation and its
/// traffic follows it; the pair's allocation is still the same endpoint.
#[test]
fn a_leg_rebinds_from_a_new_address_with_a_new_generation() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    assert_eq!(f.allocate(f.at(1)), ep);
    let moved = "127.0.0.1:2001";
    let challenge = challenge_packet(&mut f, 'a', moved, &ep, 2);
    let answer = f.alice.answer(&ep, &challenge).unwrap();
    assert_eq!(
        f.send(moved, &answer, f.at(1)),
        Action::Bound {
            vni: ep.vni,
            open: true
        }
    );
    let pkt = data_packet(ep.vni, b"x");
    assert_eq!(f.send(moved, &pkt, f.at(2)), Action::Forward(addr(B_ADDR)));
    assert_eq!(f.send(B_ADDR, &pkt, f.at(2)), Action::Forward(addr(moved)));
    assert_eq!(
        f.send(A_ADDR, &pkt, f.at(2)),
        Action::Drop(DropReason::UnboundSource)
    );
}

#[test]
fn a_bind_of_generation_zero_is_dropped() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let bind = f.alice.bind(&ep, 0);
    assert_eq!(
        f.send(A_ADDR, &bind, f.t0),
        Action::Drop(DropReason::BadGeneration)
    );
    assert!(f.out.is_empty());
}

#[test]
fn a_pair_with_the_relays_own_key_is_refused() {
    let mut f = fixture();
    let relay_key = *f.relay.public_key();
    let req = f.alice.allocate_request(&relay_key, &relay_key, 3);
    assert_eq!(
        f.send(A_ADDR, &req, f.t0),
        Action::Drop(DropReason::ServerKeyInPair)
    );
    assert!(f.out.is_empty());
    assert_eq!(f.relay.endpoint_counts(), (0, 0));
}

#[test]
fn no_allocation_answer_without_an_address_to_advertise() {
    let mut f = fixture_with(ServerConfig::default());
    let relay_key = *f.relay.public_key();
    let req = f.alice.allocate_request(&relay_key, &f.bob.public_key(), 3);
    assert_eq!(
        f.send(A_ADDR, &req, f.t0),
        Action::Drop(DropReason::NotReady)
    );
    assert!(f.out.is_empty());
    assert_eq!(f.relay.endpoint_counts(), (0, 0));
    // Once an address is known, the same pair is served.
    f.relay.set_advertised(vec![addr("203.0.113.5:7777")]);
    assert_eq!(
        f.allocate(f.at(1)).addr_ports,
        vec![addr("203.0.113.5:7777")]
    );
}

#[test]
fn outsider_cannot_bind() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    let mut mallory = RelayClient::new(
        DiscoKeyPair::from_secret_bytes([66; 32]),
        StdRng::seed_from_u64(66),
    );
    let bind = mallory.bind(&ep, 1);
    assert_eq!(
        f.send(A_ADDR, &bind, f.t0),
        Action::Drop(DropReason::NotInPair)
    );
}

#[test]
fn unbound_endpoint_expires_after_bind_lifetime() {
    let mut f = fixture();
    let ep = f.allocate(f.t0);
    assert_eq!(f.relay.expire(f.at(30)), 0);
    assert_eq!(f.relay.expire(f.at(30) + Duration::from_nanos(1)), 1);
    let bind = f.alice.bind(&ep, 1);
    assert_eq!(
        f.send(A_ADDR, &bind, f.at(31)),
        Action::Drop(DropReason::UnknownVni)
    );
    // A new allocation for the pair gets a new endpoint.
    let again = f.allocate(f.at(31));
    assert_ne!(again.vni, ep.vni);
    assert_eq!(again.lamport_id, 2);
}

#[test]
fn open_endpoint_lives_while_both_legs_are_used() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    let pkt = data_packet(ep.vni, b"x");
    for t in [250, 500, 750] {
        assert_eq!(f.send(A_ADDR, &pkt, f.at(t)), Action::Forward(addr(B_ADDR)));
        assert_eq!(f.send(B_ADDR, &pkt, f.at(t)), Action::Forward(addr(A_ADDR)));
        assert_eq!(f.relay.expire(f.at(t + 50)), 0);
    }
    assert_eq!(
        f.send(B_ADDR, &pkt, f.at(1051)),
        Action::Drop(DropReason::UnknownVni)
    );
    assert_eq!(f.relay.endpoint_counts(), (0, 0));
}

#[test]
fn a_one_way_flow_expires_after_the_steady_state_lifetime() {
    let mut f = fixture();
    let ep = f.open_endpoint();
    let pkt = data_packet(ep.vni, b"x");
    // Alice sends all the time; Bob has been silent since he bound at 0.
    for t in [100, 200, 300] {
        assert_eq!(f.send(A_ADDR, &pkt, f.at(t)), Action::Forward(addr(B_ADDR)));
    }
    assert_eq!(
        f.send(A_ADDR, &pkt, f.at(301)),
        Action::Drop(DropReason::UnknownVni)
    );
    assert_eq!(f.relay.endpoint_counts(), (0, 0));
}

/// Tailscale's `TestServer_endpointGC` (`net/udprelay/server_test.go`) on
/// the core's clock: `(case, both legs bound, data sent (leg, second),
/// expire at second, removed)`. Lifetimes are 30 s to bind, 5 min per leg.
#[test]
fn endpoints_expire_per_leg_as_tailscales_gc_does() {
    type Case = (&'static str, bool, &'static [(char, u64)], u64, bool);
    let cases: [Case; 9] = [
        ("unbound, at the bind lifetime", false, &[], 30, false),
        ("unbound, past the bind lifetime", false, &[], 31, true),
        ("unbound_endpoint_expired", false, &[], 60, true),
        (
            "bound, both quiet up to the lifetime",
            true,
            &[],
            300,
            false,
        ),
        ("bound, both quiet past it", true, &[], 301, true),
        (
            "bound_endpoint_expired_a",
            true,
            &[('b', 100), ('b', 250)],
            301,
            true,
        ),
        (
            "bound_endpoint_expired_b",
            true,
            &[('a', 100), ('a', 250)],
            301,
            true,
        ),
        (
            "bound_endpoint_kept",
            true,
            &[('a', 250), ('b', 250)],
            500,
            false,
        ),
        (
            "kept, then a goes quiet",
            true,
            &[('a', 250), ('b', 250), ('b', 500)],
            551,
            true,
        ),
    ];
    for (name, bound, sends, at, removed) in cases {
        let mut f = fixture();
        let ep = if bound {
            f.open_endpoint()
        } else {
            f.allocate(f.t0)
        };
        let pkt = data_packet(ep.vni, b"x");
        for &(leg, t) in sends {
            let (from, to) = if leg == 'a' {
                (A_ADDR, B_ADDR)
            } else {
                (B_ADDR, A_ADDR)
            };
            assert_eq!(
                f.send(from, &pkt, f.at(t)),
                Action::Forward(addr(to)),
                "{name}"
            );
        }
        assert_eq!(f.relay.expire(f.at(at)), usize::from(removed), "{name}");
    }
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
