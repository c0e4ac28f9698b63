//! Recognizing STUN on the relay port, in order not to answer it.
//!
//! Tailscale's relay server (`net/udprelay/server.go`, `handlePacket`) takes a
//! datagram for STUN when `stun.Is(b) && b[1] == 0x01` (`net/stun/stun.go`:
//! at least a 20-byte header, the two top bits of the first byte clear, the
//! magic cookie at bytes 4..8; then the binding method): such a datagram goes
//! to the server's own netcheck client, which only reads responses to its own
//! requests, and is never answered. This relay does the same: it is not a
//! STUN reflector, so it cannot be used to learn or spoof mapped addresses.

/// Length of the STUN header.
pub(crate) const STUN_HEADER_LEN: usize = 20;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// The binding method's low byte, as Tailscale tests it in `b[1]`.
const BINDING_METHOD: u8 = 0x01;

/// Whether `packet` looks like STUN at all (`stun.Is`): the header fits, the
/// two top bits are clear and the magic cookie is in place.
pub(crate) fn looks_like_stun(packet: &[u8]) -> bool {
    packet.len() >= STUN_HEADER_LEN && packet[4..8] == MAGIC_COOKIE && packet[0] & 0xc0 == 0
}

/// Whether Tailscale's relay server takes `packet` for a STUN binding
/// message (a binding request, 0x0001, or success response, 0x0101) and
/// drops it. Its second
/// byte, 0x01, never starts a valid Geneve header, whose second byte has its
/// six reserved low bits clear.
pub fn is_binding(packet: &[u8]) -> bool {
    looks_like_stun(packet) && packet[1] == BINDING_METHOD
}

/// Appends a binding request with `txid` (to probe a relay in tests).
pub fn binding_request(txid: &[u8; 12], out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x00, BINDING_METHOD]);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(txid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_messages_are_recognized_as_tailscale_does() {
        let mut req = Vec::new();
        binding_request(&[7; 12], &mut req);
        // (bytes, stun.Is, taken for a binding message)
        let mut success = req.clone();
        success[0] = 0x01;
        let mut error = req.clone();
        error[0] = 0x01;
        error[1] = 0x11;
        let mut other_method = req.clone();
        other_method[1] = 0x02;
        let mut top_bits = req.clone();
        top_bits[0] = 0x40;
        let mut no_cookie = req.clone();
        no_cookie[4] = 0;
        let cases: [(&[u8], bool, bool); 7] = [
            (&req, true, true),
            (&success, true, true),
            // The binding error response (0x0111) has 0x11 in `b[1]`: Tailscale
            // leaves it to the Geneve decoder.
            (&error, true, false),
            (&other_method, true, false),
            (&top_bits, false, false),
            (&no_cookie, false, false),
            (&req[..19], false, false),
        ];
        for (i, (bytes, is_stun, is_binding_msg)) in cases.into_iter().enumerate() {
            assert_eq!(looks_like_stun(bytes), is_stun, "case {i}");
            assert_eq!(is_binding(bytes), is_binding_msg, "case {i}");
        }
    }
}
