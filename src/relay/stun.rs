//! The two STUN messages a relay needs (RFC 5389): recognize a binding request
//! and answer it with a binding success response carrying XOR-MAPPED-ADDRESS,
//! so clients learn the address the relay sees them at.

use std::net::{IpAddr, SocketAddr};

/// Length of the STUN header.
pub const STUN_HEADER_LEN: usize = 20;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
const BINDING_SUCCESS: [u8; 2] = [0x01, 0x01];
const ATTR_XOR_MAPPED_ADDRESS: [u8; 2] = [0x00, 0x20];

/// The transaction ID of `packet` if it is a well-formed binding request.
pub fn binding_request_txid(packet: &[u8]) -> Option<[u8; 12]> {
    let header = packet.get(..STUN_HEADER_LEN)?;
    if header[0..2] != BINDING_REQUEST || header[4..8] != MAGIC_COOKIE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len % 4 != 0 || len != packet.len() - STUN_HEADER_LEN {
        return None;
    }
    let mut txid = [0u8; 12];
    txid.copy_from_slice(&header[8..20]);
    Some(txid)
}

/// Whether `packet` looks like STUN at all (cookie in place), cheap enough to
/// run before the other decoders.
pub fn looks_like_stun(packet: &[u8]) -> bool {
    packet.len() >= STUN_HEADER_LEN && packet[4..8] == MAGIC_COOKIE && packet[0] & 0xc0 == 0
}

/// Appends a binding success response for `txid` telling the client it was
/// seen at `mapped`.
pub fn binding_response(txid: &[u8; 12], mapped: SocketAddr, out: &mut Vec<u8>) {
    let (family, addr_len) = match mapped.ip() {
        IpAddr::V4(_) => (0x01u8, 4usize),
        IpAddr::V6(_) => (0x02u8, 16usize),
    };
    let attr_len = 4 + addr_len;
    let body_len = 4 + attr_len;
    out.extend_from_slice(&BINDING_SUCCESS);
    out.extend_from_slice(&(body_len as u16).to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(txid);
    out.extend_from_slice(&ATTR_XOR_MAPPED_ADDRESS);
    out.extend_from_slice(&(attr_len as u16).to_be_bytes());
    out.extend_from_slice(&[0, family]);
    let port = mapped.port() ^ 0x2112;
    out.extend_from_slice(&port.to_be_bytes());
    let mut pad = [0u8; 16];
    pad[..4].copy_from_slice(&MAGIC_COOKIE);
    pad[4..].copy_from_slice(txid);
    match mapped.ip() {
        IpAddr::V4(v4) => {
            for (b, k) in v4.octets().iter().zip(pad) {
                out.push(b ^ k);
            }
        }
        IpAddr::V6(v6) => {
            for (b, k) in v6.octets().iter().zip(pad) {
                out.push(b ^ k);
            }
        }
    }
}

/// Reads the XOR-MAPPED-ADDRESS of a binding response for `txid` (client side).
pub fn parse_binding_response(packet: &[u8], txid: &[u8; 12]) -> Option<SocketAddr> {
    let header = packet.get(..STUN_HEADER_LEN)?;
    if header[0..2] != BINDING_SUCCESS || header[4..8] != MAGIC_COOKIE || header[8..20] != *txid {
        return None;
    }
    let mut attrs = packet.get(STUN_HEADER_LEN..)?;
    let mut pad = [0u8; 16];
    pad[..4].copy_from_slice(&MAGIC_COOKIE);
    pad[4..].copy_from_slice(txid);
    while attrs.len() >= 4 {
        let ty = [attrs[0], attrs[1]];
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + len)?;
        if ty == ATTR_XOR_MAPPED_ADDRESS && len >= 8 {
            let port = u16::from_be_bytes([value[2], value[3]]) ^ 0x2112;
            let ip = match (value[1], len) {
                (0x01, 8) => {
                    let mut o = [0u8; 4];
                    for (i, b) in o.iter_mut().enumerate() {
                        *b = value[4 + i] ^ pad[i];
                    }
                    IpAddr::from(o)
                }
                (0x02, 20) => {
                    let mut o = [0u8; 16];
                    for (i, b) in o.iter_mut().enumerate() {
                        *b = value[4 + i] ^ pad[i];
                    }
                    IpAddr::from(o)
                }
                _ => return None,
            };
            return Some(SocketAddr::new(ip, port));
        }
        let padded = (len + 3) & !3;
        attrs = attrs.get(4 + padded..)?;
    }
    None
}

/// Appends a binding request with `txid` (client side, and tests).
pub fn binding_request(txid: &[u8; 12], out: &mut Vec<u8>) {
    out.extend_from_slice(&BINDING_REQUEST);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(txid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_recognized() {
        let mut req = Vec::new();
        binding_request(&[7; 12], &mut req);
        assert!(looks_like_stun(&req));
        assert_eq!(binding_request_txid(&req), Some([7; 12]));
        assert_eq!(binding_request_txid(&req[..19]), None);
        req.push(0);
        assert_eq!(binding_request_txid(&req), None);
    }

    #[test]
    fn v4_response_matches_rfc_example_layout() {
        let mut out = Vec::new();
        let addr: SocketAddr = "192.0.2.1:32853".parse().unwrap();
        binding_response(&[1; 12], addr, &mut out);
        assert_eq!(out.len(), 32);
        assert_eq!(&out[..4], &[0x01, 0x01, 0x00, 0x0c]);
        // RFC 5769 2.2: port 32853 -> 0xa147, 192.0.2.1 -> e1 12 a6 43.
        assert_eq!(&out[24..32], &[0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]);
        assert_eq!(parse_binding_response(&out, &[1; 12]), Some(addr));
        assert_eq!(parse_binding_response(&out, &[2; 12]), None);
    }

    #[test]
    fn v6_response_round_trips() {
        let mut out = Vec::new();
        let addr: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap();
        binding_response(&[9; 12], addr, &mut out);
        assert_eq!(out.len(), 44);
        assert_eq!(parse_binding_response(&out, &[9; 12]), Some(addr));
    }
}
