//! Binding legs (bind, challenge, answer, generations) and forwarding between them.

use super::*;

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
