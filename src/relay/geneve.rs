//! The Geneve header (RFC 8926) that frames every packet of a relay endpoint.
//!
//! Tailscale uses the fixed 8-byte form without options:
//!
//! ```text
//!  0                   1                   2                   3
//! |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//! |        Virtual Network Identifier (VNI)       |    Reserved   |
//! ```
//!
//! The control flag (`C`, 0x80 in byte 1 as Tailscale writes it) marks disco
//! control messages (bind, challenge, answer); the protocol type says whether
//! the payload is a disco message or a WireGuard packet.

/// Length of the header on the wire.
pub(crate) const GENEVE_HEADER_LEN: usize = 8;

/// Protocol type of a disco payload.
pub(crate) const PROTOCOL_DISCO: u16 = 0x7A11;
/// Protocol type of a WireGuard payload.
pub(crate) const PROTOCOL_WIREGUARD: u16 = 0x7A12;

/// The largest VNI that fits the 24-bit field.
pub(crate) const MAX_VNI: u32 = (1 << 24) - 1;

/// Control flag as it sits in byte 1.
const CONTROL_FLAG: u8 = 0x80;

/// A decoded Geneve header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveHeader {
    /// Payload protocol: [`PROTOCOL_DISCO`] or [`PROTOCOL_WIREGUARD`].
    pub(crate) protocol: u16,
    /// The endpoint's virtual network identifier (24 bits).
    pub(crate) vni: u32,
    /// Whether this is a control packet.
    pub(crate) control: bool,
}

/// Why a datagram is not a Geneve packet we handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GeneveError {
    /// Fewer than 8 bytes.
    #[error("geneve header truncated")]
    Truncated,
    /// Version field is not 0.
    #[error("geneve version {0} is not supported")]
    Version(u8),
    /// The header announces options, which Tailscale never sends.
    #[error("geneve options are not supported")]
    Options,
    /// A protocol other than disco or WireGuard.
    #[error("geneve protocol {0:#06x} is not supported")]
    Protocol(u16),
}

impl GeneveHeader {
    /// Reads the header at the start of `packet`.
    pub fn decode(packet: &[u8]) -> Result<Self, GeneveError> {
        let Some(h) = packet.get(..GENEVE_HEADER_LEN) else {
            return Err(GeneveError::Truncated);
        };
        let version = h[0] >> 6;
        if version != 0 {
            return Err(GeneveError::Version(version));
        }
        if h[0] & 0x3f != 0 {
            return Err(GeneveError::Options);
        }
        let protocol = u16::from_be_bytes([h[2], h[3]]);
        if protocol != PROTOCOL_DISCO && protocol != PROTOCOL_WIREGUARD {
            return Err(GeneveError::Protocol(protocol));
        }
        Ok(Self {
            protocol,
            vni: u32::from_be_bytes([0, h[4], h[5], h[6]]),
            control: h[1] & CONTROL_FLAG != 0,
        })
    }

    /// Writes the header into the first 8 bytes of `out`.
    ///
    /// Returns `None` when `out` is shorter than 8 bytes. The VNI is truncated
    /// to 24 bits.
    pub(crate) fn encode(&self, out: &mut [u8]) -> Option<()> {
        let h = out.get_mut(..GENEVE_HEADER_LEN)?;
        let vni = (self.vni & MAX_VNI).to_be_bytes();
        h[0] = 0;
        h[1] = if self.control { CONTROL_FLAG } else { 0 };
        h[2..4].copy_from_slice(&self.protocol.to_be_bytes());
        h[4..7].copy_from_slice(&vni[1..4]);
        h[7] = 0;
        Some(())
    }

    /// The header as an 8-byte array.
    pub fn to_bytes(&self) -> [u8; GENEVE_HEADER_LEN] {
        let mut out = [0u8; GENEVE_HEADER_LEN];
        // An 8-byte array always holds the header.
        let _ = self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_control_disco() {
        let h = GeneveHeader {
            protocol: PROTOCOL_DISCO,
            vni: 0x00ab_cdef,
            control: true,
        };
        let bytes = h.to_bytes();
        assert_eq!(bytes, [0x00, 0x80, 0x7a, 0x11, 0xab, 0xcd, 0xef, 0x00]);
        assert_eq!(GeneveHeader::decode(&bytes), Ok(h));
    }

    #[test]
    fn round_trip_wireguard_data() {
        let h = GeneveHeader {
            protocol: PROTOCOL_WIREGUARD,
            vni: 1,
            control: false,
        };
        let bytes = h.to_bytes();
        assert_eq!(bytes, [0, 0, 0x7a, 0x12, 0, 0, 1, 0]);
        assert_eq!(GeneveHeader::decode(&bytes), Ok(h));
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(GeneveHeader::decode(&[0; 7]), Err(GeneveError::Truncated));
        let mut b = GeneveHeader {
            protocol: PROTOCOL_DISCO,
            vni: 5,
            control: true,
        }
        .to_bytes();
        b[0] = 0x40;
        assert_eq!(GeneveHeader::decode(&b), Err(GeneveError::Version(1)));
        b[0] = 0x01;
        assert_eq!(GeneveHeader::decode(&b), Err(GeneveError::Options));
        b[0] = 0;
        b[2] = 0x08;
        b[3] = 0x00;
        assert_eq!(GeneveHeader::decode(&b), Err(GeneveError::Protocol(0x0800)));
    }

    #[test]
    fn encode_needs_room() {
        let h = GeneveHeader {
            protocol: PROTOCOL_DISCO,
            vni: 1,
            control: false,
        };
        assert!(h.encode(&mut [0u8; 4]).is_none());
    }
}
