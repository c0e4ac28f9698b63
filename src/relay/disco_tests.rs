//! Unit tests of the disco codec: every message round-trips, every malformed input is an
//! error, and the envelope opens only for its key.

use super::*;
use crypto_box::{PublicKey, SecretKey};

fn endpoint() -> RelayEndpoint {
    RelayEndpoint {
        server_disco: [1; 32],
        client_disco: [[2; 32], [3; 32]],
        lamport_id: 7,
        vni: 0x0012_3456,
        bind_lifetime: Duration::from_secs(30),
        steady_state_lifetime: Duration::from_secs(300),
        addr_ports: vec![
            "203.0.113.9:7777".parse().unwrap(),
            "[2001:db8::1]:7777".parse().unwrap(),
        ],
    }
}

fn all_messages() -> Vec<Message> {
    let bind = BindBody {
        vni: 9,
        generation: 1,
        remote_key: [4; 32],
        challenge: [0; 32],
    };
    vec![
        Message::Bind(bind),
        Message::Challenge(BindBody {
            challenge: [5; 32],
            ..bind
        }),
        Message::Answer(BindBody {
            challenge: [5; 32],
            ..bind
        }),
        Message::CallMeMaybeVia(endpoint()),
        Message::AllocateRequest(AllocateRequest {
            client_disco: [[2; 32], [3; 32]],
            generation: 42,
        }),
        Message::AllocateResponse(AllocateResponse {
            generation: 42,
            endpoint: endpoint(),
        }),
    ]
}

#[test]
fn every_message_round_trips() {
    for m in all_messages() {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(Message::decode(&buf), Ok(m));
    }
}

#[test]
fn bind_layout_is_big_endian() {
    let mut buf = Vec::new();
    Message::Bind(BindBody {
        vni: 0x0102_0304,
        generation: 0x0506_0708,
        remote_key: [0xaa; 32],
        challenge: [0; 32],
    })
    .encode(&mut buf);
    assert_eq!(&buf[..10], &[4, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(buf.len(), 2 + BIND_BODY_LEN);
}

#[test]
fn response_addresses_are_v4_mapped() {
    let mut buf = Vec::new();
    Message::AllocateResponse(AllocateResponse {
        generation: 1,
        endpoint: endpoint(),
    })
    .encode(&mut buf);
    let addr_at = 2 + 4 + ENDPOINT_FIXED_LEN;
    assert_eq!(
        &buf[addr_at..addr_at + 18],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 9, 0x1e, 0x61]
    );
    assert_eq!(buf.len(), addr_at + 2 * ADDR_PORT_LEN);
}

#[test]
fn malformed_bodies_are_errors() {
    assert_eq!(Message::decode(&[]), Err(DiscoError::Truncated));
    assert_eq!(Message::decode(&[0x01, 0]), Err(DiscoError::UnknownType(1)));
    assert_eq!(Message::decode(&[0x07, 1]), Err(DiscoError::Version(1)));
    assert_eq!(Message::decode(&[0x04, 0, 1]), Err(DiscoError::BodyLength));
    let mut buf = Vec::new();
    Message::CallMeMaybeVia(endpoint()).encode(&mut buf);
    buf.push(0);
    assert_eq!(Message::decode(&buf), Err(DiscoError::BodyLength));
    let mut neg = Vec::new();
    Message::CallMeMaybeVia(endpoint()).encode(&mut neg);
    neg[2 + 32 * 3 + 8 + 4] = 0xff;
    assert_eq!(Message::decode(&neg), Err(DiscoError::NegativeLifetime));
}

#[test]
fn seal_then_open() {
    let a = SecretKey::from([11; 32]);
    let b = SecretKey::from([22; 32]);
    let a_pub: DiscoKey = *a.public_key().as_bytes();
    let ab = SalsaBox::new(&b.public_key(), &a);
    let ba = SalsaBox::new(&PublicKey::from(a_pub), &b);
    let msg = &all_messages()[4];
    let mut pkt = Vec::new();
    seal(&ab, &a_pub, &[9; 24], msg, &mut pkt);
    let env = Envelope::parse(&pkt).unwrap();
    assert_eq!(env.sender, a_pub);
    let mut scratch = Vec::new();
    assert_eq!(env.open(&ba, &mut scratch).as_ref(), Ok(msg));
    // Any flipped bit in the box is caught.
    let last = pkt.len() - 1;
    pkt[last] ^= 1;
    let env = Envelope::parse(&pkt).unwrap();
    assert_eq!(env.open(&ba, &mut scratch), Err(DiscoError::BadBox));
}

#[test]
fn envelope_parse_errors() {
    assert_eq!(Envelope::parse(b"hello"), Err(DiscoError::NotDisco));
    let mut p = DISCO_MAGIC.to_vec();
    p.extend_from_slice(&[0; 40]);
    assert_eq!(Envelope::parse(&p), Err(DiscoError::Truncated));
}

/// A key with the given bytes set, the rest zero (as `disco_test.go`
/// writes `[]byte{1: 1, 2: 2, 30: 30, 31: 31}`).
fn key_with(set: &[usize]) -> DiscoKey {
    let mut k = [0; 32];
    for &i in set {
        k[i] = i as u8;
    }
    k
}

fn hex(s: &str) -> Vec<u8> {
    s.split(' ')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// The relay's messages of `TestMarshalAndParse` in Tailscale's
/// `disco/disco_test.go`: the same values encode to the same bytes, and
/// those bytes decode back to them.
#[test]
fn tailscale_vectors_encode_and_decode_byte_for_byte() {
    let common = BindBody {
        vni: 1,
        generation: 2,
        remote_key: key_with(&[1, 2, 30, 31]),
        challenge: std::array::from_fn(|i| i as u8),
    };
    let endpoint = RelayEndpoint {
        server_disco: key_with(&[1, 2, 30, 31]),
        client_disco: [key_with(&[1, 2, 3, 30, 31]), key_with(&[1, 2, 4, 30, 31])],
        lamport_id: 123,
        vni: 456,
        bind_lifetime: Duration::from_secs(1),
        steady_state_lifetime: Duration::from_secs(60),
        addr_ports: vec![
            "1.2.3.4:567".parse().unwrap(),
            "[2001::3456]:789".parse().unwrap(),
        ],
    };
    let common_hex = "00 00 00 01 00 00 00 02 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f";
    let endpoint_hex = "00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 01 02 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 01 02 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 00 00 00 00 00 00 7b 00 00 01 c8 00 00 00 00 3b 9a ca 00 00 00 00 0d f8 47 58 00 00 00 00 00 00 00 00 00 00 00 ff ff 01 02 03 04 02 37 20 01 00 00 00 00 00 00 00 00 00 00 00 00 34 56 03 15";
    let cases = [
        ("bind_udp_relay_endpoint", Message::Bind(common), format!("04 00 {common_hex}")),
        ("bind_udp_relay_endpoint_challenge", Message::Challenge(common), format!("05 00 {common_hex}")),
        ("bind_udp_relay_endpoint_answer", Message::Answer(common), format!("06 00 {common_hex}")),
        ("call_me_maybe_via", Message::CallMeMaybeVia(endpoint.clone()), format!("07 00 {endpoint_hex}")),
        (
            "allocate_udp_relay_endpoint_request",
            Message::AllocateRequest(AllocateRequest {
                client_disco: [key_with(&[1, 2, 3, 30, 31]), key_with(&[1, 2, 4, 30, 31])],
                generation: 1,
            }),
            "08 00 00 01 02 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 01 02 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 00 00 01".to_string(),
        ),
        (
            "allocate_udp_relay_endpoint_response",
            Message::AllocateResponse(AllocateResponse { generation: 1, endpoint }),
            format!("09 00 00 00 00 01 {endpoint_hex}"),
        ),
    ];
    for (name, message, want) in cases {
        let want = hex(&want);
        let mut got = b"foo".to_vec();
        message.encode(&mut got);
        assert_eq!(&got[..3], b"foo", "{name}: appends");
        assert_eq!(got[3..], want[..], "{name}: encoding");
        assert_eq!(Message::decode(&want), Ok(message), "{name}: decoding");
    }
}

/// How `disco.Parse` treats the version byte, a zero generation, trailing
/// bytes and an endpoint without an address, message by message.
#[test]
fn bodies_are_read_as_tailscales_parse_reads_them() {
    let bind = BindBody {
        vni: 9,
        generation: 0,
        remote_key: [4; 32],
        challenge: [6; 32],
    };
    let encoded = |m: &Message| {
        let mut b = Vec::new();
        m.encode(&mut b);
        b
    };
    let with = |m: &Message, version: u8, tail: &[u8]| {
        let mut b = encoded(m);
        b[1] = version;
        b.extend_from_slice(tail);
        b
    };
    let request = Message::AllocateRequest(AllocateRequest {
        client_disco: [[2; 32], [3; 32]],
        generation: 5,
    });
    let response = Message::AllocateResponse(AllocateResponse {
        generation: 5,
        endpoint: endpoint(),
    });
    let mut no_address = endpoint();
    no_address.addr_ports.clear();
    let cases: Vec<(&str, Vec<u8>, Result<Message, DiscoError>)> = vec![
        (
            "bind at version 1",
            with(&Message::Bind(bind), 1, &[]),
            Ok(Message::Bind(bind)),
        ),
        (
            "challenge at version 255",
            with(&Message::Challenge(bind), 255, &[]),
            Ok(Message::Challenge(bind)),
        ),
        (
            "answer at version 7",
            with(&Message::Answer(bind), 7, &[]),
            Ok(Message::Answer(bind)),
        ),
        (
            "bind with trailing bytes",
            with(&Message::Bind(bind), 0, &[1, 2, 3]),
            Ok(Message::Bind(bind)),
        ),
        (
            "bind one byte short",
            with(&Message::Bind(bind), 0, &[])[..2 + BIND_BODY_LEN - 1].to_vec(),
            Err(DiscoError::BodyLength),
        ),
        (
            "request at version 1",
            with(&request, 1, &[]),
            Err(DiscoError::Version(1)),
        ),
        (
            "request with trailing bytes",
            with(&request, 0, &[9; 5]),
            Ok(request.clone()),
        ),
        (
            "request one byte short",
            with(&request, 0, &[])[..2 + ALLOCATE_REQUEST_BODY_LEN - 1].to_vec(),
            Err(DiscoError::BodyLength),
        ),
        (
            "response at version 1",
            with(&response, 1, &[]),
            Err(DiscoError::Version(1)),
        ),
        (
            "response with a partial address",
            with(&response, 0, &[0; 5]),
            Err(DiscoError::BodyLength),
        ),
        (
            "response without an address",
            encoded(&Message::AllocateResponse(AllocateResponse {
                generation: 5,
                endpoint: no_address.clone(),
            })),
            Err(DiscoError::NoAddress),
        ),
        (
            "call-me-maybe-via at version 2",
            with(&Message::CallMeMaybeVia(endpoint()), 2, &[]),
            Err(DiscoError::Version(2)),
        ),
        (
            "call-me-maybe-via without an address",
            encoded(&Message::CallMeMaybeVia(no_address)),
            Err(DiscoError::NoAddress),
        ),
        (
            "ping (not a relay message)",
            vec![0x01, 0],
            Err(DiscoError::UnknownType(1)),
        ),
        ("one byte", vec![0x04], Err(DiscoError::Truncated)),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(Message::decode(&bytes), want, "{name}");
    }
}
