//! The client side of the relay protocol, without I/O: build an allocation
//! request, read the response, bind a leg (Bind, then Answer to the relay's
//! Challenge) and frame data. Used by `tailgrant ping` and the tests.

use rand::rngs::StdRng;
use rand::RngCore;

use super::disco::{
    seal, AllocateRequest, AllocateResponse, BindBody, DiscoError, DiscoKey, Envelope, Message,
    RelayEndpoint, NONCE_LEN,
};
use super::geneve::{
    GeneveError, GeneveHeader, GENEVE_HEADER_LEN, PROTOCOL_DISCO, PROTOCOL_WIREGUARD,
};
use super::keys::{DiscoKeyPair, SharedKeyCache};

/// Why a relay's reply is not what the client expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The disco envelope or message is bad.
    #[error("bad disco message from the relay: {0}")]
    Disco(#[from] DiscoError),
    /// The Geneve header is bad.
    #[error("bad geneve header from the relay: {0}")]
    Geneve(#[from] GeneveError),
    /// The message was not boxed by the relay's key.
    #[error("message is not from the relay")]
    WrongSender,
    /// Another message type than expected.
    #[error("unexpected message from the relay")]
    Unexpected,
    /// A response to another request (generation or VNI differ).
    #[error("reply does not match the request")]
    Mismatch,
}

/// One client identity talking to relays.
pub struct RelayClient {
    keys: SharedKeyCache,
    rng: StdRng,
    scratch: Vec<u8>,
}

impl RelayClient {
    /// A client holding disco key pair `keys`.
    pub fn new(keys: DiscoKeyPair, rng: StdRng) -> Self {
        Self {
            keys: SharedKeyCache::new(keys, 16),
            rng,
            scratch: Vec::new(),
        }
    }

    /// Our public disco key.
    pub fn public_key(&self) -> DiscoKey {
        *self.keys.keys().public()
    }

    fn seal_to(&mut self, peer: &DiscoKey, msg: &Message, out: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill_bytes(&mut nonce);
        let me = self.public_key();
        seal(self.keys.get(peer), &me, &nonce, msg, out);
    }

    fn open_from(&mut self, peer: &DiscoKey, sealed: &[u8]) -> Result<Message, ClientError> {
        let env = Envelope::parse(sealed)?;
        if &env.sender != peer {
            return Err(ClientError::WrongSender);
        }
        let shared = self.keys.get(peer);
        Ok(env.open(shared, &mut self.scratch)?)
    }

    /// A sealed allocation request to `relay` for the pair (us, `peer`).
    pub fn allocate_request(
        &mut self,
        relay: &DiscoKey,
        peer: &DiscoKey,
        generation: u32,
    ) -> Vec<u8> {
        let msg = Message::AllocateRequest(AllocateRequest {
            client_disco: [self.public_key(), *peer],
            generation,
        });
        let mut out = Vec::new();
        self.seal_to(relay, &msg, &mut out);
        out
    }

    /// Reads the relay's allocation response to the request of `generation`.
    pub fn allocate_response(
        &mut self,
        relay: &DiscoKey,
        packet: &[u8],
        generation: u32,
    ) -> Result<RelayEndpoint, ClientError> {
        match self.open_from(relay, packet)? {
            Message::AllocateResponse(AllocateResponse {
                generation: g,
                endpoint,
            }) if g == generation => Ok(endpoint),
            Message::AllocateResponse(_) => Err(ClientError::Mismatch),
            _ => Err(ClientError::Unexpected),
        }
    }

    fn remote_of(&self, endpoint: &RelayEndpoint) -> DiscoKey {
        let me = self.public_key();
        if endpoint.client_disco[0] == me {
            endpoint.client_disco[1]
        } else {
            endpoint.client_disco[0]
        }
    }

    fn control(&mut self, endpoint: &RelayEndpoint, msg: &Message) -> Vec<u8> {
        let mut out = GeneveHeader {
            protocol: PROTOCOL_DISCO,
            vni: endpoint.vni,
            control: true,
        }
        .to_bytes()
        .to_vec();
        self.seal_to(&endpoint.server_disco, msg, &mut out);
        out
    }

    /// The Bind that starts our leg's handshake.
    pub fn bind(&mut self, endpoint: &RelayEndpoint, generation: u32) -> Vec<u8> {
        let body = BindBody {
            vni: endpoint.vni,
            generation,
            remote_key: self.remote_of(endpoint),
            challenge: [0; 32],
        };
        self.control(endpoint, &Message::Bind(body))
    }

    /// The Answer to the relay's Challenge `packet`.
    pub fn answer(
        &mut self,
        endpoint: &RelayEndpoint,
        packet: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let header = GeneveHeader::decode(packet)?;
        if !header.control || header.protocol != PROTOCOL_DISCO || header.vni != endpoint.vni {
            return Err(ClientError::Mismatch);
        }
        let sealed = &packet[GENEVE_HEADER_LEN..];
        match self.open_from(&endpoint.server_disco, sealed)? {
            Message::Challenge(body) if body.vni == endpoint.vni => {
                Ok(self.control(endpoint, &Message::Answer(body)))
            }
            Message::Challenge(_) => Err(ClientError::Mismatch),
            _ => Err(ClientError::Unexpected),
        }
    }
}

/// A data packet for `vni`: Geneve header (WireGuard, not control) and payload.
pub fn data_packet(vni: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = GeneveHeader {
        protocol: PROTOCOL_WIREGUARD,
        vni,
        control: false,
    }
    .to_bytes()
    .to_vec();
    out.extend_from_slice(payload);
    out
}
