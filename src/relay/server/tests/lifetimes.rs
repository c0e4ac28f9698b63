//! Endpoint lifetimes: bind lifetime, steady-state lifetime, per-leg expiry.

use super::*;

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
