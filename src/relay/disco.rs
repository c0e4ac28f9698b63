//! Disco messages and their sealed envelope.
//!
//! A disco packet is `magic (6) | sender disco public key (32) | nonce (24) |
//! NaCl box`, the box holding `[type u8][version u8][body]`. Bodies are
//! big-endian and laid out exactly as Tailscale's `disco` package
//! (`disco/disco.go`) writes them, and read as its `Parse` reads them: the
//! bind handshake messages (0x04-0x06) ignore the version byte and accept any
//! generation (the server, not the decoder, drops a Bind of generation 0);
//! CallMeMaybeVia and the allocation messages (0x07-0x09) are read only at
//! version 0 (Tailscale returns them empty otherwise, which no handler can
//! use; here that is [`DiscoError::Version`]); fixed-size bodies may carry
//! trailing bytes; a relay endpoint carries at least one address. Decoding
//! never panics: every malformed input is a [`DiscoError`].

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::AeadInPlace;
use crypto_box::SalsaBox;

/// The six bytes every disco packet starts with (`TS💬`).
pub const DISCO_MAGIC: [u8; 6] = [0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac];
/// Length of a disco public key.
pub(crate) const KEY_LEN: usize = 32;
/// Length of a box nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag at the front of a box.
pub(crate) const TAG_LEN: usize = 16;
/// Bytes in front of the box: magic, sender key, nonce.
pub const ENVELOPE_HEADER_LEN: usize = DISCO_MAGIC.len() + KEY_LEN + NONCE_LEN;

/// A disco public key.
pub type DiscoKey = [u8; KEY_LEN];

const TYPE_BIND: u8 = 0x04;
const TYPE_CHALLENGE: u8 = 0x05;
const TYPE_ANSWER: u8 = 0x06;
const TYPE_CALL_ME_MAYBE_VIA: u8 = 0x07;
const TYPE_ALLOCATE_REQUEST: u8 = 0x08;
const TYPE_ALLOCATE_RESPONSE: u8 = 0x09;

const BIND_BODY_LEN: usize = 4 + 4 + KEY_LEN + 32;
const ALLOCATE_REQUEST_BODY_LEN: usize = 2 * KEY_LEN + 4;
const ENDPOINT_FIXED_LEN: usize = KEY_LEN + 2 * KEY_LEN + 8 + 4 + 8 + 8;
const ADDR_PORT_LEN: usize = 16 + 2;

/// Why a datagram is not a disco message we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DiscoError {
    /// The packet does not start with the disco magic.
    #[error("not a disco packet")]
    NotDisco,
    /// Too short to hold the envelope and a box.
    #[error("disco packet truncated")]
    Truncated,
    /// The box does not open with the key of its claimed sender.
    #[error("disco box does not open")]
    BadBox,
    /// A message type we do not know.
    #[error("unknown disco message type {0:#04x}")]
    UnknownType(u8),
    /// A version other than 0 on a message whose body Tailscale reads only
    /// at version 0.
    #[error("unsupported disco message version {0}")]
    Version(u8),
    /// The body is shorter than its type requires, or has a partial address.
    #[error("disco message body has a bad length")]
    BodyLength,
    /// A relay endpoint without any address to reach it at (Tailscale's
    /// decoder refuses it as too short).
    #[error("relay endpoint carries no address")]
    NoAddress,
    /// A negative lifetime.
    #[error("negative lifetime")]
    NegativeLifetime,
}

/// The body shared by Bind (0x04), Challenge (0x05) and Answer (0x06).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindBody {
    /// The endpoint's VNI; must equal the Geneve header's.
    pub(crate) vni: u32,
    /// The client's handshake generation: a new non-zero value for every
    /// handshake (the relay drops a Bind of generation 0).
    pub(crate) generation: u32,
    /// The disco key of the other client of the pair.
    pub(crate) remote_key: DiscoKey,
    /// Zero in Bind; the relay's MAC in Challenge, echoed in Answer.
    pub(crate) challenge: [u8; 32],
}

/// An allocation request (0x08): allocate an endpoint for this pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocateRequest {
    /// The two clients' disco keys.
    pub(crate) client_disco: [DiscoKey; 2],
    /// The requester's generation, echoed in the response.
    pub(crate) generation: u32,
}

/// A relay endpoint as the relay describes it to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEndpoint {
    /// The relay's disco key: Bind and Answer are boxed to it.
    pub server_disco: DiscoKey,
    /// The pair's disco keys, sorted.
    pub client_disco: [DiscoKey; 2],
    /// Orders allocations of the same relay.
    pub lamport_id: u64,
    /// The endpoint's VNI.
    pub vni: u32,
    /// How long the clients have to bind.
    pub bind_lifetime: Duration,
    /// How long a bound endpoint lives without traffic.
    pub steady_state_lifetime: Duration,
    /// Where to send: static endpoints first, then bound addresses.
    pub addr_ports: Vec<SocketAddr>,
}

/// An allocation response (0x09).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocateResponse {
    /// The request's generation.
    pub(crate) generation: u32,
    /// The allocated (or existing) endpoint.
    pub(crate) endpoint: RelayEndpoint,
}

/// A decoded disco message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// 0x04, client to relay.
    Bind(BindBody),
    /// 0x05, relay to client.
    Challenge(BindBody),
    /// 0x06, client to relay.
    Answer(BindBody),
    /// 0x07, between clients: "reach me via this relay endpoint".
    CallMeMaybeVia(RelayEndpoint),
    /// 0x08, client to relay.
    AllocateRequest(AllocateRequest),
    /// 0x09, relay to client.
    AllocateResponse(AllocateResponse),
}

impl Message {
    /// Appends `[type][version][body]` to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::Bind(b) => encode_bind(TYPE_BIND, b, out),
            Message::Challenge(b) => encode_bind(TYPE_CHALLENGE, b, out),
            Message::Answer(b) => encode_bind(TYPE_ANSWER, b, out),
            Message::CallMeMaybeVia(e) => {
                out.extend_from_slice(&[TYPE_CALL_ME_MAYBE_VIA, 0]);
                encode_endpoint(e, out);
            }
            Message::AllocateRequest(r) => {
                out.extend_from_slice(&[TYPE_ALLOCATE_REQUEST, 0]);
                out.extend_from_slice(&r.client_disco[0]);
                out.extend_from_slice(&r.client_disco[1]);
                out.extend_from_slice(&r.generation.to_be_bytes());
            }
            Message::AllocateResponse(r) => {
                out.extend_from_slice(&[TYPE_ALLOCATE_RESPONSE, 0]);
                out.extend_from_slice(&r.generation.to_be_bytes());
                encode_endpoint(&r.endpoint, out);
            }
        }
    }

    /// Decodes `[type][version][body]`. Fixed-size bodies may carry trailing
    /// bytes (ignored, for forward compatibility); variable ones may not.
    pub fn decode(plain: &[u8]) -> Result<Self, DiscoError> {
        let [ty, version, body @ ..] = plain else {
            return Err(DiscoError::Truncated);
        };
        if !(TYPE_BIND..=TYPE_ALLOCATE_RESPONSE).contains(ty) {
            return Err(DiscoError::UnknownType(*ty));
        }
        // `parseBindUDPRelayEndpoint*` never look at the version; the parsers
        // of 0x07-0x09 read nothing unless it is 0.
        if *ty >= TYPE_CALL_ME_MAYBE_VIA && *version != 0 {
            return Err(DiscoError::Version(*version));
        }
        let mut r = Reader(body);
        Ok(match *ty {
            TYPE_BIND => Message::Bind(decode_bind(&mut r)?),
            TYPE_CHALLENGE => Message::Challenge(decode_bind(&mut r)?),
            TYPE_ANSWER => Message::Answer(decode_bind(&mut r)?),
            TYPE_CALL_ME_MAYBE_VIA => Message::CallMeMaybeVia(decode_endpoint(&mut r)?),
            TYPE_ALLOCATE_REQUEST => {
                if body.len() < ALLOCATE_REQUEST_BODY_LEN {
                    return Err(DiscoError::BodyLength);
                }
                Message::AllocateRequest(AllocateRequest {
                    client_disco: [r.key()?, r.key()?],
                    generation: r.u32()?,
                })
            }
            _ => Message::AllocateResponse(AllocateResponse {
                generation: r.u32()?,
                endpoint: decode_endpoint(&mut r)?,
            }),
        })
    }
}

fn encode_bind(ty: u8, b: &BindBody, out: &mut Vec<u8>) {
    out.extend_from_slice(&[ty, 0]);
    out.extend_from_slice(&b.vni.to_be_bytes());
    out.extend_from_slice(&b.generation.to_be_bytes());
    out.extend_from_slice(&b.remote_key);
    out.extend_from_slice(&b.challenge);
}

fn decode_bind(r: &mut Reader<'_>) -> Result<BindBody, DiscoError> {
    if r.0.len() < BIND_BODY_LEN {
        return Err(DiscoError::BodyLength);
    }
    Ok(BindBody {
        vni: r.u32()?,
        generation: r.u32()?,
        remote_key: r.key()?,
        challenge: r.key()?,
    })
}

fn encode_endpoint(e: &RelayEndpoint, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.server_disco);
    out.extend_from_slice(&e.client_disco[0]);
    out.extend_from_slice(&e.client_disco[1]);
    out.extend_from_slice(&e.lamport_id.to_be_bytes());
    out.extend_from_slice(&e.vni.to_be_bytes());
    out.extend_from_slice(&duration_nanos(e.bind_lifetime).to_be_bytes());
    out.extend_from_slice(&duration_nanos(e.steady_state_lifetime).to_be_bytes());
    for a in &e.addr_ports {
        out.extend_from_slice(&mapped_ip(a.ip()).octets());
        out.extend_from_slice(&a.port().to_be_bytes());
    }
}

fn decode_endpoint(r: &mut Reader<'_>) -> Result<RelayEndpoint, DiscoError> {
    if r.0.len() < ENDPOINT_FIXED_LEN {
        return Err(DiscoError::BodyLength);
    }
    let server_disco = r.key()?;
    let client_disco = [r.key()?, r.key()?];
    let lamport_id = r.u64()?;
    let vni = r.u32()?;
    let bind_lifetime = r.duration()?;
    let steady_state_lifetime = r.duration()?;
    if !r.0.len().is_multiple_of(ADDR_PORT_LEN) {
        return Err(DiscoError::BodyLength);
    }
    if r.0.is_empty() {
        return Err(DiscoError::NoAddress);
    }
    let mut addr_ports = Vec::with_capacity(r.0.len() / ADDR_PORT_LEN);
    while !r.0.is_empty() {
        let ip = Ipv6Addr::from(r.array::<16>()?);
        let port = r.u16()?;
        let ip = match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(ip),
        };
        addr_ports.push(SocketAddr::new(ip, port));
    }
    Ok(RelayEndpoint {
        server_disco,
        client_disco,
        lamport_id,
        vni,
        bind_lifetime,
        steady_state_lifetime,
        addr_ports,
    })
}

/// An IP address as 16 bytes, IPv4 written as IPv4-mapped IPv6.
pub(crate) fn mapped_ip(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A cursor over a body; every read checks the length.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DiscoError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(DiscoError::BodyLength)?;
        self.0 = rest;
        Ok(*head)
    }
    fn key(&mut self) -> Result<DiscoKey, DiscoError> {
        self.array::<KEY_LEN>()
    }
    fn u16(&mut self) -> Result<u16, DiscoError> {
        self.array().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Result<u32, DiscoError> {
        self.array().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Result<u64, DiscoError> {
        self.array().map(u64::from_be_bytes)
    }
    fn duration(&mut self) -> Result<Duration, DiscoError> {
        let nanos = i64::from_be_bytes(self.array()?);
        u64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| DiscoError::NegativeLifetime)
    }
}

/// The parts of a sealed disco packet, before the box is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The sender's claimed disco key (proved only by opening the box).
    pub sender: DiscoKey,
    /// The box nonce.
    pub(crate) nonce: [u8; NONCE_LEN],
    /// Tag and ciphertext.
    pub(crate) sealed: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits a disco packet into its parts.
    pub fn parse(packet: &'a [u8]) -> Result<Self, DiscoError> {
        let Some(rest) = packet.strip_prefix(&DISCO_MAGIC) else {
            return Err(DiscoError::NotDisco);
        };
        let (sender, rest) = rest
            .split_first_chunk::<KEY_LEN>()
            .ok_or(DiscoError::Truncated)?;
        let (nonce, sealed) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(DiscoError::Truncated)?;
        if sealed.len() < TAG_LEN + 2 {
            return Err(DiscoError::Truncated);
        }
        Ok(Self {
            sender: *sender,
            nonce: *nonce,
            sealed,
        })
    }

    /// Opens the box with the shared key of (sender, us) and decodes the
    /// message. `scratch` is reused to avoid an allocation per packet.
    pub fn open(&self, shared: &SalsaBox, scratch: &mut Vec<u8>) -> Result<Message, DiscoError> {
        let (tag, ciphertext) = self
            .sealed
            .split_first_chunk::<TAG_LEN>()
            .ok_or(DiscoError::Truncated)?;
        scratch.clear();
        scratch.extend_from_slice(ciphertext);
        shared
            .decrypt_in_place_detached(
                GenericArray::from_slice(&self.nonce),
                b"",
                scratch,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| DiscoError::BadBox)?;
        Message::decode(scratch)
    }
}

/// Appends a sealed disco packet (envelope and box) holding `message` to `out`.
pub(crate) fn seal(
    shared: &SalsaBox,
    sender: &DiscoKey,
    nonce: &[u8; NONCE_LEN],
    message: &Message,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&DISCO_MAGIC);
    out.extend_from_slice(sender);
    out.extend_from_slice(nonce);
    let tag_at = out.len();
    out.extend_from_slice(&[0u8; TAG_LEN]);
    let body_at = out.len();
    message.encode(out);
    let tag =
        shared.encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", &mut out[body_at..]);
    // XSalsa20Poly1305 fails only for messages longer than 2^38 bytes.
    if let Ok(tag) = tag {
        out[tag_at..body_at].copy_from_slice(&tag);
    }
}

#[cfg(test)]
#[path = "disco_tests.rs"]
mod tests;
